"""`concerns doctor`: is this install fit to use? Each check says what it found and, when
something is wrong, what to do about it.

Read-only: a check never creates a file, a table or a message. Statuses: `ok`; `warning`
(works, but something will bite later, or a part is not set up); `problem` (something people
rely on does not work now). The command exits 1 when any check is a problem.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import socket
import stat
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from concerns.db.engine import DatabaseMissing, schema_is_current, sqlite_path
from concerns.db.models import Event, Notification
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext

OK, WARNING, PROBLEM = "ok", "warning", "problem"
# The letter stylesheet's fonts, in its order of preference (concerns/letters/templates).
LETTER_FONTS = ("DejaVu Sans", "Liberation Sans")
# The scheduler is "not seen" after this many sweep intervals without a heartbeat.
MISSED_SWEEPS = 3
NETWORK_TIMEOUT_SECONDS = 5
GOVUK_ASSETS = Path(__file__).resolve().parent.parent / "web" / "static" / "govuk"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    found: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status != PROBLEM for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


# --- the scheduler's heartbeat -----------------------------------------------------------------


def heartbeat_path(ctx: AppContext) -> Path:
    return ctx.settings.var_dir / "scheduler_heartbeat.json"


def write_heartbeat(ctx: AppContext, ok: bool) -> None:
    """Record that a scheduler cycle ran (called by the scheduler after every cycle)."""
    path = heartbeat_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "at": ctx.now().isoformat(),
        "host": socket.gethostname()[:60],
        "pid": os.getpid(),
        "cycle_ok": ok,
    }
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    temporary.replace(path)  # atomic: doctor never reads half a file


# --- the checks -------------------------------------------------------------------------------


def check_database(ctx: AppContext) -> Check:
    where = sqlite_path(ctx.engine) or ctx.engine.url.render_as_string(hide_password=True)
    try:
        current = schema_is_current(ctx.engine)
    except DatabaseMissing:
        return Check("database", PROBLEM, f"no database at {where}", "run `concerns init`")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", "") or type(exc).__name__).splitlines()[0][:200]
        return Check(
            "database",
            PROBLEM,
            f"{where} could not be used: {reason}",
            "check database.url in config.toml (or $CONCERNS_DATABASE_URL) and that the server "
            "runs; `concerns init` creates a database that does not exist",
        )
    if not current:
        return Check(
            "database",
            PROBLEM,
            f"{where} is reachable but its schema is not the newest",
            "run `concerns init` (it applies the missing migrations)",
        )
    return Check("database", OK, f"{where} is reachable and its migrations are current")


def check_audit_chain(ctx: AppContext) -> Check:
    try:
        with ctx.read() as read:
            report = verify_chain(read.session)
            head = read.session.scalar(select(Event.hash).order_by(Event.id.desc()).limit(1))
    except (SQLAlchemyError, DatabaseMissing):
        return Check("audit_chain", WARNING, "not checked: the database cannot be used",
                     "fix the database first")
    if report.broken_at is not None:
        return Check(
            "audit_chain",
            PROBLEM,
            f"broken at event row {report.broken_at}: {report.problem}",
            "the audit trail was edited outside the application: keep the database as it is "
            "and restore the row from a backup (`concerns audit verify` names it)",
        )
    head_text = f"; head {head[:16]}…" if head else ""
    return Check("audit_chain", OK, f"{report.rows} rows verify{head_text}")


def check_fonts(_ctx: AppContext, fc_list: str | None = None) -> Check:
    tool = fc_list or shutil.which("fc-list")
    if tool is None:
        return Check(
            "letter_fonts",
            PROBLEM,
            "fontconfig (fc-list) is missing, so letters cannot find their fonts",
            "install fontconfig and fonts-dejavu-core (apt-get install fontconfig "
            "fonts-dejavu-core)",
        )
    try:
        families = subprocess.run(
            [tool, ":", "family"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        families = ""
    present = [font for font in LETTER_FONTS if font in families]
    if not present:
        return Check(
            "letter_fonts",
            PROBLEM,
            f"none of the letter fonts ({', '.join(LETTER_FONTS)}) is installed",
            "install fonts-dejavu-core (apt-get install fonts-dejavu-core)",
        )
    return Check("letter_fonts", OK, f"{present[0]} is installed")


def check_letter_templates(ctx: AppContext) -> Check:
    from concerns.letters.templating import check_templates
    from concerns.workflows.letters_service import templates_dir

    folder = templates_dir(ctx)
    if folder is not None and not folder.is_dir():
        return Check(
            "letter_templates",
            PROBLEM,
            f"council.letter_templates names {folder}, which is not a folder",
            "create the folder or empty council.letter_templates in config.toml",
        )
    from concerns.letters import LetterError, Letterhead

    try:
        # The logo and the director's signature are read into every letter.
        Letterhead.from_council(ctx.settings.council, ctx.settings.base_dir)
    except LetterError as exc:
        return Check(
            "letter_templates", PROBLEM, f"{exc.field}: {exc.problem}",
            f"point {exc.field} in config.toml at a PNG, JPEG or SVG file, or empty it",
        )
    problems = check_templates(folder)
    if problems:
        first = problems[0]
        where = f"{first.template}, line {first.line}" if first.line else first.template
        return Check(
            "letter_templates",
            PROBLEM,
            f"{len(problems)} problem(s); first: {where}: {first.problem}",
            "run `concerns letters check` for all of them and correct the templates",
        )
    return Check(
        "letter_templates", OK, f"the {'edited' if folder else 'built-in'} templates render"
    )


def check_outbox(ctx: AppContext) -> Check:
    try:
        with ctx.read() as read:
            rows = read.session.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            ).all()
            counts: dict[str, int] = {status: n for status, n in rows}
        failed, pending = counts.get("failed", 0), counts.get("pending", 0)
    except (SQLAlchemyError, DatabaseMissing):
        return Check("outbox", WARNING, "not checked: the database cannot be used",
                     "fix the database first")
    if failed:
        return Check(
            "outbox",
            PROBLEM,
            f"{failed} notification(s) failed and wait for someone; {pending} pending",
            "see `concerns remind outbox --status failed --as USER`; correct the address and "
            "`concerns remind retry ID`",
        )
    return Check("outbox", OK, f"no failed notifications; {pending} pending")


def check_smtp(ctx: AppContext) -> Check:
    smtp = ctx.settings.smtp
    if not smtp.host:
        return Check("smtp", WARNING, "smtp.host is empty: no email is sent",
                     "set [smtp] host and port in config.toml")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=NETWORK_TIMEOUT_SECONDS) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.username:
                server.login(smtp.username, smtp.password)
            server.noop()
    except smtplib.SMTPAuthenticationError:
        return Check("smtp", PROBLEM, f"{smtp.host}:{smtp.port} refused smtp.username",
                     "check smtp.username and smtp.password in config.toml")
    except (OSError, smtplib.SMTPException) as exc:
        return Check(
            "smtp",
            PROBLEM,
            f"{smtp.host}:{smtp.port} could not be reached ({type(exc).__name__})",
            "start the mail relay or correct [smtp] host and port in config.toml; "
            "reminders and letter emails wait in the outbox meanwhile",
        )
    return Check("smtp", OK, f"{smtp.host}:{smtp.port} answers")


def check_scheduler(ctx: AppContext) -> Check:
    path = heartbeat_path(ctx)
    start = "start `concerns scheduler` (or `concerns serve --with-scheduler`)"
    if not path.is_file():
        return Check("scheduler", WARNING, "no scheduler has run with this var/ folder",
                     f"{start}: reminders go out only while one runs")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seen = datetime.fromisoformat(data["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return Check("scheduler", WARNING, f"{path} cannot be read", f"delete it and {start}")
    age = ctx.now() - (seen if seen.tzinfo else seen.replace(tzinfo=UTC))
    allowed = timedelta(seconds=MISSED_SWEEPS * ctx.settings.reminders.sweep_interval_seconds)
    ago = f"{int(age.total_seconds() // 60)} minute(s) ago"
    if age > allowed:
        return Check("scheduler", PROBLEM, f"last seen {ago} on {data.get('host', '?')}",
                     f"{start}; reminders are not going out")
    if data.get("cycle_ok") is False:
        return Check("scheduler", PROBLEM, f"seen {ago}, but its last cycle failed",
                     "run `concerns remind run-once` to see the error")
    return Check("scheduler", OK, f"last seen {ago} on {data.get('host', '?')}")


def check_mailbox(ctx: AppContext) -> Check:
    box = ctx.settings.mailbox
    if box.kind == "imap":
        if not box.host:
            return Check("mailbox", WARNING, "mailbox.kind is imap but mailbox.host is empty",
                         "set [mailbox] host, username and password in config.toml")
        return _check_imap(ctx)
    if box.kind != "maildir":
        return Check("mailbox", PROBLEM, f"mailbox.kind {box.kind!r} is unknown",
                     "set mailbox.kind to \"maildir\" or \"imap\"")
    folder = Path(box.path)
    folder = folder if folder.is_absolute() else ctx.settings.base_dir / folder
    if not folder.exists():
        return Check("mailbox", WARNING, f"not set up: no maildir at {folder}",
                     "point mailbox.path at the maildir, or set kind = \"imap\"; "
                     "`concerns intake email` still reads files")
    if not all((folder / sub).is_dir() for sub in ("new", "cur", "tmp")):
        return Check("mailbox", PROBLEM, f"{folder} is not a maildir (no new/, cur/, tmp/)",
                     "point mailbox.path at a maildir")
    return Check("mailbox", OK, f"maildir {folder}")


def _check_imap(ctx: AppContext) -> Check:
    from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

    from concerns.workflows.intake.mailbox import _loopback

    box = ctx.settings.mailbox
    client: MailBox | MailBoxStartTls | MailBoxUnencrypted
    try:
        if box.port == 993:
            client = MailBox(box.host, box.port, timeout=NETWORK_TIMEOUT_SECONDS)
        elif _loopback(box.host):
            client = MailBoxUnencrypted(box.host, box.port, timeout=NETWORK_TIMEOUT_SECONDS)
        else:
            client = MailBoxStartTls(box.host, box.port, timeout=NETWORK_TIMEOUT_SECONDS)
        with client.login(box.username, box.password, initial_folder=box.folder):
            pass
    except Exception as exc:  # imap_tools raises many kinds; each means "cannot read mail"
        return Check(
            "mailbox",
            PROBLEM,
            f"IMAP {box.host}:{box.port} folder {box.folder}: {type(exc).__name__}",
            "check [mailbox] host, port, username, password and folder in config.toml",
        )
    return Check("mailbox", OK, f"IMAP {box.host}:{box.port} folder {box.folder} signs in")


def check_secret_key(ctx: AppContext) -> Check:
    if ctx.settings.web.secret_key:
        return Check("secret_key", OK, "web.secret_key is set in config.toml (keep that file "
                     "readable by the service user only)")
    path = ctx.settings.var_dir / "secret_key"
    if not path.exists():
        return Check("secret_key", WARNING, f"no {path} yet",
                     "the first `concerns serve` makes it (mode 0600); with several web "
                     "workers on several hosts set web.secret_key instead")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Check("secret_key", PROBLEM,
                     f"{path} may be read by other users (mode {mode:o})",
                     f"chmod 600 {path}")
    return Check("secret_key", OK, f"{path} is readable by its owner only")


def check_govuk_assets(_ctx: AppContext, folder: Path = GOVUK_ASSETS) -> Check:
    if not (folder / "application.css").is_file():
        return Check("govuk_assets", WARNING,
                     "the GOV.UK Frontend styles are not built: pages use the plain stylesheet",
                     "install npm and run `npm install && npm run build` (or `make install`)")
    return Check("govuk_assets", OK, f"built in {folder}")


CHECKS: tuple[Callable[[AppContext], Check], ...] = (
    check_database,
    check_audit_chain,
    check_letter_templates,
    check_fonts,
    check_outbox,
    check_smtp,
    check_scheduler,
    check_mailbox,
    check_secret_key,
    check_govuk_assets,
)


def diagnose(ctx: AppContext) -> Report:
    """Every check, in order; a check that breaks unexpectedly is itself reported."""
    checks: list[Check] = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            checks.append(check(ctx))
        except Exception as exc:
            checks.append(Check(name, PROBLEM, f"the check failed: {type(exc).__name__}",
                                "run with CONCERNS_LOG_LEVEL=DEBUG and report it"))
    return Report(checks)
