"""Settings: `config.toml` read once, every value with its default.

The defaults live in the `config.toml` shipped with the package's repository; a missing file or
missing keys fall back to the values below, so the product starts with nothing configured.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from concerns.workflows.errors import did_you_mean

DEFAULT_DATABASE_URL = "sqlite:///var/concerns.db"


class SettingsError(ValueError):
    """A setting in config.toml is missing its right shape; names the key."""


@dataclass(frozen=True)
class ClockSetting:
    name: str
    target: int
    owner: str
    working: bool = True
    max_working_days: int | None = None
    chase_after: int | None = None


DEFAULT_CLOCKS: dict[str, ClockSetting] = {
    c.name: c
    for c in [
        ClockSetting("acknowledge", 3, "iat_officer"),
        ClockSetting("complaints_triage", 10, "information_officer"),
        ClockSetting("legal_triage", 10, "legal"),
        ClockSetting("route", 5, "iat_officer"),
        ClockSetting("allocation", 5, "iat_manager"),
        ClockSetting("offer_reply", 20, "iat_officer"),
        ClockSetting("information_wait", 20, "iat_officer", chase_after=10),
        ClockSetting("review", 25, "reviewer", max_working_days=65),
        ClockSetting("signoff", 5, "director"),
        ClockSetting("letter", 2, "executive_assistant"),
        ClockSetting("signature", 2, "director"),
        ClockSetting("dispatch", 1, "executive_assistant"),
        ClockSetting("reply_window", 20, "iat_officer"),
        ClockSetting("meeting_offer", 10, "director"),
        ClockSetting("meeting", 20, "director"),
        ClockSetting("escalation", 1, "iat_manager", working=False),
        # The information officer decides on a case whose retention review date has come.
        ClockSetting("retention_review", 20, "information_officer"),
        # An action arising from a learning review runs to the due date the reviewer sets (the
        # target is only the default offered); max_working_days caps it and its extensions.
        ClockSetting("action", 40, "reviewer", max_working_days=130),
        # A subject access request: one calendar month (its target is worked out by
        # WorkingCalendar.one_calendar_month, not counted in days).
        ClockSetting("subject_access", 30, "information_officer"),
    ]
}

# The briefing's learning themes (seed 004): key (stored, never renamed) and the words shown.
DEFAULT_THEMES: tuple[tuple[str, str], ...] = (
    ("communication_with_families", "Communication with families"),
    ("record_keeping", "Record keeping"),
    ("consent", "Consent"),
    ("timeliness_of_visits", "Timeliness of visits"),
    ("assessment_accuracy", "Assessment accuracy"),
    ("management_oversight", "Management oversight"),
    ("access_to_records", "Access to records"),
    ("multi_agency_working", "Multi-agency working"),
    ("other", "Other"),
)


@dataclass(frozen=True)
class Council:
    name: str = "Herefordshire Council"
    department: str = "Children and Families Directorate"
    team: str = "Independent Assurance Team"
    address: tuple[str, ...] = ("Plough Lane", "Hereford", "HR4 0LE")
    email: str = "concernsaboutcare@example.gov.uk"
    phone: str = "01432 260000"
    logo: str = ""
    # The demo's director; a council sets its own (printed above the title when signing).
    director_name: str = "Dana Whitfield"
    director_title: str = "Director of Children's Services"
    # Image of the director's signature (relative to config.toml), printed once she has signed.
    director_signature: str = ""
    reference_prefix: str = "CAC"
    # Folder of edited letter templates (relative to config.toml); empty: the built-in ones.
    letter_templates: str = ""


@dataclass(frozen=True)
class CalendarSettings:
    timezone: str = "Europe/London"
    country: str = "GB"
    subdivision: str = "ENG"
    closure_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class ReminderSettings:
    days_before_due: int = 1
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    sweep_interval_seconds: int = 300
    director_clocks: tuple[str, ...] = ("signoff", "signature")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    username: str = ""
    password: str = ""
    sender: str = "concernsaboutcare@example.gov.uk"
    max_attempts: int = 8
    retry_base_seconds: int = 60


@dataclass(frozen=True)
class MailboxSettings:
    kind: str = "maildir"
    path: str = "var/mailbox"
    host: str = ""
    port: int = 993
    username: str = ""
    password: str = ""
    folder: str = "INBOX"


@dataclass(frozen=True)
class IntakeSettings:
    max_concern_characters: int = 100_000
    max_attachment_bytes: int = 25 * 1024 * 1024
    default_phone_region: str = "GB"
    # Addresses or domains (besides the council's own) whose forwards are read for the original
    # sender, e.g. the communications team's shared mailbox at another domain.
    staff_forwarders: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    secure_cookies: bool = False
    # A session ends this long after sign-in (absolute), or after this long unused (idle).
    session_minutes: int = 480
    session_idle_minutes: int = 60
    # Sign-in throttling: failures of a username from one address (in the window) before
    # attempts are held, the longest hold, and failures from one address before it is refused.
    sign_in_free_failures: int = 3
    sign_in_max_delay_seconds: int = 10
    sign_in_window_minutes: int = 15
    sign_in_address_limit: int = 50
    # Strict-Transport-Security max-age when cookies are secure (HTTPS only).
    hsts_seconds: int = 31536000
    # Staff who read case content, and administrators, give a code from an authenticator app
    # (TOTP) after their password. On unless config.toml turns it off (a demo).
    second_factor: bool = True
    public_form_per_hour: int = 20
    # Largest request body read (bytes): a bigger one is refused before it is read.
    max_body_bytes: int = 1_048_576
    # Proxies (IP addresses or networks) whose X-Forwarded-For is believed for the rate limit.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordsSettings:
    # Years after closure before a case is reviewed for destruction (anonymisation).
    retention_years: int = 6
    # Longer when a safeguarding escalation was raised on the case.
    safeguarding_retention_years: int = 15
    # The erased-people list kept beside the database (relative to config.toml's folder), so a
    # restore from an older backup can re-apply every anonymisation done since.
    erasure_log: str = "var/erasures.jsonl"


@dataclass(frozen=True)
class LearningSettings:
    themes: tuple[tuple[str, str], ...] = DEFAULT_THEMES
    # Counts from 1 to this minus one show as "fewer than N" in the version for publication.
    publish_threshold: int = 5
    # `report scrutiny` lists what became overdue in this many days unless --overdue-since says.
    newly_overdue_days: int = 7

    @property
    def theme_labels(self) -> dict[str, str]:
        return dict(self.themes)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    council: Council = field(default_factory=Council)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    clocks: dict[str, ClockSetting] = field(default_factory=lambda: dict(DEFAULT_CLOCKS))
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    mailbox: MailboxSettings = field(default_factory=MailboxSettings)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    web: WebSettings = field(default_factory=WebSettings)
    records: RecordsSettings = field(default_factory=RecordsSettings)
    learning: LearningSettings = field(default_factory=LearningSettings)
    # Folder that relative paths (the SQLite file, the mailbox, var/) are resolved from.
    base_dir: Path = field(default_factory=Path.cwd)

    def clock(self, name: str) -> ClockSetting:
        try:
            return self.clocks[name]
        except KeyError:
            raise SettingsError(f"clocks.{name}: no such clock") from None

    @property
    def var_dir(self) -> Path:
        return self.base_dir / "var"


def _time(key: str, value: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise SettingsError(f"{key}: expected HH:MM, got {value!r}") from None


def _date(key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SettingsError(f"{key}: expected YYYY-MM-DD, got {value!r}") from None


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"[{name}]: expected a table")
    return value


def known_sections() -> tuple[str, ...]:
    """The [sections] config.toml may have: one per group of settings, and [database]."""
    own = ("database_url", "base_dir")
    return ("database", *(f.name for f in fields(Settings) if f.name not in own))


def _check_sections(data: dict[str, Any]) -> None:
    known = known_sections()
    for name in data:
        if name not in known:
            raise SettingsError(
                f"[{name}]: unknown section{did_you_mean(name, known)}; "
                f"config.toml may have {', '.join(f'[{k}]' for k in known)}"
            )


def _check_keys(section: str, values: dict[str, Any], known: Iterable[str]) -> None:
    known = tuple(known)
    for key in values:
        if key not in known:
            raise SettingsError(f"{section}.{key}: unknown setting{did_you_mean(key, known)}")


def _typed(cls: type, section: str, values: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys the dataclass knows, checking each against its default's type."""
    defaults = cls()
    _check_keys(section, values, (f.name for f in fields(cls)))
    out: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(defaults, key)
        if isinstance(default, bool) and not isinstance(value, bool):
            raise SettingsError(f"{section}.{key}: expected true or false")
        if (
            isinstance(default, int)
            and not isinstance(default, bool)
            and (not isinstance(value, int) or isinstance(value, bool))
        ):
            raise SettingsError(f"{section}.{key}: expected a whole number")
        if isinstance(default, str) and not isinstance(value, str):
            raise SettingsError(f"{section}.{key}: expected text")
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise SettingsError(f"{section}.{key}: expected a list")
            value = tuple(value)
        out[key] = value
    return out


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from PATH, $CONCERNS_CONFIG or ./config.toml; env overrides the database."""
    explicit = path is not None or "CONCERNS_CONFIG" in os.environ
    config_path = Path(path or os.environ.get("CONCERNS_CONFIG") or "config.toml")
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{config_path}: not valid TOML ({exc})") from None
    elif explicit:
        raise SettingsError(f"--config: no such file: {config_path}")
    base_dir = config_path.resolve().parent if config_path.exists() else Path.cwd()

    _check_sections(data)
    database = _section(data, "database")
    _check_keys("database", database, ("url",))
    from_env = os.environ.get("CONCERNS_DATABASE_URL")
    url = from_env or database.get("url") or DEFAULT_DATABASE_URL
    if not isinstance(url, str):
        raise SettingsError("database.url: expected text")
    # Loaded here, not with the module: it brings SQLAlchemy, which `concerns --help` never needs.
    from concerns.db.engine import DatabaseUrlError, check_database_url

    try:
        url = check_database_url(url)
    except DatabaseUrlError as exc:
        problem = str(exc).removeprefix("database.url: ")
        raise SettingsError(
            f"{'$CONCERNS_DATABASE_URL' if from_env else 'database.url'}: {problem}"
        ) from None
    url = _resolve_sqlite_path(url, base_dir)

    council = _typed(Council, "council", _section(data, "council"))
    cal = _typed(CalendarSettings, "calendar", _section(data, "calendar"))
    if "closure_days" in cal:
        cal["closure_days"] = tuple(_date("calendar.closure_days", d) for d in cal["closure_days"])

    clocks = dict(DEFAULT_CLOCKS)
    for name, values in _section(data, "clocks").items():
        if not isinstance(values, dict):
            raise SettingsError(f"clocks.{name}: expected a table")
        base = clocks.get(name)
        if base is None:
            raise SettingsError(f"clocks.{name}: unknown clock{did_you_mean(name, clocks)}")
        merged = {**base.__dict__}
        _check_keys(f"clocks.{name}", values, (k for k in merged if k != "name"))
        for key, value in values.items():
            if key in ("target", "max_working_days", "chase_after") and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise SettingsError(f"clocks.{name}.{key}: expected a whole number of days")
            merged[key] = value
        clocks[name] = ClockSetting(**merged)

    rem_raw = dict(_section(data, "reminders"))
    rem_times: dict[str, Any] = {
        k: _time(f"reminders.{k}", rem_raw.pop(k))
        for k in ("working_hours_start", "working_hours_end")
        if k in rem_raw
    }
    reminders: dict[str, Any] = {**_typed(ReminderSettings, "reminders", rem_raw), **rem_times}

    return Settings(
        database_url=url,
        council=Council(**council),
        calendar=CalendarSettings(**cal),
        clocks=clocks,
        reminders=ReminderSettings(**reminders),
        smtp=SmtpSettings(**_typed(SmtpSettings, "smtp", _section(data, "smtp"))),
        mailbox=MailboxSettings(**_typed(MailboxSettings, "mailbox", _section(data, "mailbox"))),
        intake=IntakeSettings(**_typed(IntakeSettings, "intake", _section(data, "intake"))),
        web=_web(_section(data, "web")),
        records=RecordsSettings(**_typed(RecordsSettings, "records", _section(data, "records"))),
        learning=_learning(_section(data, "learning")),
        base_dir=base_dir,
    )


def _web(values: dict[str, Any]) -> WebSettings:
    web = WebSettings(**_typed(WebSettings, "web", values))
    # `make run` serves the demo register, whose staff have no authenticator app: it turns the
    # second factor off for that one process, leaving config.toml's setting for every real install.
    switch = os.environ.get("CONCERNS_SECOND_FACTOR")
    if switch is None:
        return web
    if switch not in ("on", "off"):
        raise SettingsError("$CONCERNS_SECOND_FACTOR: expected on or off")
    return replace(web, second_factor=switch == "on")


_THEME_KEY = re.compile(r"[a-z][a-z0-9_]{0,59}")


def _learning(values: dict[str, Any]) -> LearningSettings:
    raw = dict(values)
    themes_raw = raw.pop("themes", None)
    out = _typed(LearningSettings, "learning", raw)
    for key in ("publish_threshold", "newly_overdue_days"):
        if key in out and out[key] < 1:
            raise SettingsError(f"learning.{key}: expected a whole number of 1 or more")
    if themes_raw is not None:
        if not isinstance(themes_raw, dict) or not themes_raw:
            raise SettingsError("learning.themes: expected a table of key = \"words shown\"")
        themes = []
        for key, label in themes_raw.items():
            if not _THEME_KEY.fullmatch(key):
                raise SettingsError(
                    f"learning.themes.{key}: a key is lower-case letters, digits and _"
                )
            if not isinstance(label, str) or not label.strip():
                raise SettingsError(f"learning.themes.{key}: expected the words to show")
            themes.append((key, label.strip()))
        out["themes"] = tuple(themes)
    return LearningSettings(**out)


def _resolve_sqlite_path(url: str, base_dir: Path) -> str:
    """A relative SQLite path is relative to the config file's folder, not the shell's."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        if rest and rest != ":memory:" and not rest.startswith("/"):
            return prefix + str((base_dir / rest).resolve())
    return url
