"""The first hour with a new install: every mistake a newcomer makes gets one line on stderr
naming the problem and the fix, the right exit status, no traceback and nothing left behind."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.e2e.conftest import Cli, Result
from tests.services import (
    PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    postgres_reachable,
    unavailable,
)


def one_line_error(result: Result, code: int, *needles: str) -> str:
    """The command failed with CODE and said, on one line, everything in NEEDLES."""
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err + result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def with_config(cli: Cli, text_: str) -> Cli:
    (cli.home / "config.toml").write_text(text_, encoding="utf-8")
    return cli


# --- the acting user ---------------------------------------------------------------------------


def test_a_command_without_an_acting_user_is_bad_input_naming_the_option(staffed: Cli) -> None:
    result = staffed("case", "list")
    one_line_error(result, 2, "--as", "no acting user", "CONCERNS_USER")


def test_a_misspelt_acting_user_is_bad_input_with_the_closest_username(staffed: Cli) -> None:
    line = one_line_error(staffed("case", "list", as_user="alxe"), 2,
                          "--as", "no such user 'alxe'", "did you mean 'alex'?")
    assert "Usage" not in line
    # $CONCERNS_USER is read the same way as --as.
    staffed.env["CONCERNS_USER"] = "moragn"
    one_line_error(staffed("queue", "mine"), 2, "--as", "did you mean 'morgan'?")


def test_an_acting_user_like_nobody_on_the_staff_says_to_give_one(staffed: Cli) -> None:
    line = one_line_error(staffed("case", "list", as_user="zzqx"), 2, "--as",
                          "no such user 'zzqx'", "give the username of an active member")
    assert "did you mean" not in line


def test_a_disabled_acting_user_is_not_allowed(staffed: Cli) -> None:
    staffed.ok("user", "disable", "sam", "--reason", "Left the council", as_user="admin")
    one_line_error(staffed("case", "list", as_user="sam"), 3, "sam", "disabled")
    # A disabled account is not offered as the closest username either.
    line = one_line_error(staffed("case", "list", as_user="sma"), 2, "no such user 'sma'")
    assert "'sam'" not in line


def test_a_misspelt_account_for_an_admin_is_the_same_wording(staffed: Cli) -> None:
    one_line_error(
        staffed("user", "disable", "smm", "--reason", "Left", as_user="admin"), 2,
        "username: no such user", "did you mean 'sam'?")


# --- the database URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://user@localhost/concerns", "mysql://"),
        ("mssql+pyodbc://user@server/concerns", "mssql+pyodbc://"),
        ("notaurl", "'notaurl' is not a database URL"),
        ("sqlite://", "no database name or file"),
    ],
)
def test_an_unsupported_database_url_names_itself_and_what_is_supported(
    cli: Cli, url: str, named: str
) -> None:
    cli.env["CONCERNS_DATABASE_URL"] = url
    line = one_line_error(cli("init"), 2, "$CONCERNS_DATABASE_URL", named)
    assert "sqlite:///PATH" in line and "postgresql+psycopg://" in line


def test_a_bad_url_in_config_toml_is_named_as_database_url(cli: Cli) -> None:
    del cli.env["CONCERNS_DATABASE_URL"]
    with_config(cli, '[database]\nurl = "mysql://u@h/db"\n')
    one_line_error(cli("init"), 2, "database.url", "mysql://")


def test_no_database_yet_names_the_file_and_says_run_init_leaving_nothing_behind(
    cli: Cli,
) -> None:
    database = cli.home / "var" / "concerns.db"
    for argv in (("case", "list"), ("audit", "verify"), ("queue", "mine")):
        line = one_line_error(cli(*argv, as_user="alex"), 1, str(database), "concerns init")
        assert "relative path" in line
    assert not (cli.home / "var").exists()
    assert sorted(p.name for p in cli.home.iterdir()) == ["config.toml"]
    cli.ok("init")
    assert database.is_file()


def test_a_relative_sqlite_path_is_read_from_the_config_files_folder(
    cli: Cli, tmp_path: Path
) -> None:
    del cli.env["CONCERNS_DATABASE_URL"]
    elsewhere = tmp_path / "settings"
    elsewhere.mkdir()
    config = elsewhere / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///data/register.db"\n', encoding="utf-8")
    cli.env["CONCERNS_CONFIG"] = str(config)
    one_line_error(cli("case", "list", as_user="alex"), 1, str(elsewhere / "data" / "register.db"))
    cli.ok("init")
    assert (elsewhere / "data" / "register.db").is_file()
    assert not (cli.home / "data").exists()


@pytest.fixture
def pg_name() -> Iterator[str]:
    reason = postgres_reachable()
    if reason:
        unavailable(reason)
    name = f"concerns_first_hour_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield name
    drop_pg_database(make_url(PG_ADMIN_URL).set(database=name).render_as_string(False))


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql", "postgres"])
def test_init_creates_a_postgresql_database_that_does_not_exist_yet(
    cli: Cli, pg_name: str, scheme: str
) -> None:
    admin = make_url(PG_ADMIN_URL)
    cli.env["CONCERNS_DATABASE_URL"] = (
        f"{scheme}://{admin.username}@{admin.host}:{admin.port}/{pg_name}"
    )
    one_line_error(
        cli("case", "list", as_user="alex"), 1, f"database {pg_name!r} does not exist",
        "concerns init",
    )
    assert cli.ok("init", "--json").json()["database"] == "created or upgraded"
    assert cli.ok("audit", "verify", "--json").json()["ok"] is True


@pytest.mark.postgres
def test_init_says_the_createdb_command_when_the_user_may_not_create_databases(
    cli: Cli, pg_name: str
) -> None:
    admin_engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    role = f"{pg_name}_user"
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOCREATEDB'))
    try:
        admin = make_url(PG_ADMIN_URL)
        cli.env["CONCERNS_DATABASE_URL"] = (
            f"postgresql+psycopg://{role}@{admin.host}:{admin.port}/{pg_name}"
        )
        one_line_error(
            cli("init"),
            1,
            f"{pg_name!r} does not exist",
            f"createdb -h {admin.host} -p {admin.port} -U {role} {pg_name}",
        )
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin_engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_server_that_does_not_answer_is_named_with_its_port(cli: Cli) -> None:
    cli.env["CONCERNS_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/concerns"
    one_line_error(cli("case", "list", as_user="alex"), 1, "127.0.0.1:1", "could not be reached")


@pytest.mark.postgres
def test_an_existing_but_empty_postgresql_database_is_not_initialised(cli: Cli) -> None:
    reason = postgres_reachable()
    if reason:
        unavailable(reason)
    url = create_pg_database("concerns_empty")
    try:
        cli.env["CONCERNS_DATABASE_URL"] = url
        one_line_error(cli("case", "list", as_user="alex"), 1, "not initialised", "concerns init")
    finally:
        drop_pg_database(url)


# --- config.toml ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "named", "suggested"),
    [
        ("[remniders]\ndays_before_due = 2\n", "[remniders]: unknown section", "'reminders'"),
        ('[councl]\nname = "X"\n', "[councl]: unknown section", "'council'"),
        ("[smpt]\nport = 25\n", "[smpt]: unknown section", "'smtp'"),
        ("[reminders]\ndays_befor_due = 2\n", "reminders.days_befor_due", "'days_before_due'"),
        ('[database]\nuri = "sqlite:///x.db"\n', "database.uri", "'url'"),
        ("[clocks.acknowlege]\ntarget = 3\n", "clocks.acknowlege", "'acknowledge'"),
        ("[clocks.review]\ntargte = 3\n", "clocks.review.targte", "'target'"),
    ],
)
def test_a_misspelt_section_or_setting_is_refused_with_a_suggestion(
    cli: Cli, toml: str, named: str, suggested: str
) -> None:
    with_config(cli, toml)
    one_line_error(cli("init"), 2, "config:", named, f"did you mean {suggested}?")
    assert not (cli.home / "var").exists()


def test_an_unknown_section_with_nothing_close_lists_the_known_ones(cli: Cli) -> None:
    with_config(cli, "[zzzz]\na = 1\n")
    line = one_line_error(cli("init"), 2, "[zzzz]: unknown section")
    assert "did you mean" not in line
    assert "[reminders]" in line and "[web]" in line


# --- commands, events and values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "suggested"),
    [(("cse", "list"), "'case'"), (("case", "lst"), "'list'"), (("audit", "verfy"), "'verify'")],
)
def test_a_misspelt_command_suggests_the_right_one(
    cli: Cli, argv: tuple[str, ...], suggested: str
) -> None:
    one_line_error(cli(*argv), 2, "No such command", f"Did you mean {suggested}?", "--help")


def test_a_missing_argument_is_one_line_naming_it(cli: Cli) -> None:
    one_line_error(cli("case", "act", "CAC-2026-0001"), 2, "EVENT", "concerns case act --help")


def test_a_misspelt_event_suggests_the_right_one(staffed: Cli, tmp_path: Path) -> None:
    form = tmp_path / "form.json"
    form.write_text(
        json.dumps(
            {"respondent": {"name": "Ann Example", "email": "ann@example.com"},
             "concern": "Nobody called back."}
        ),
        encoding="utf-8",
    )
    ref = staffed.ok("intake", "form", str(form), "--json", as_user="ian").json()[0]["reference"]
    line = one_line_error(
        staffed("case", "act", ref, "acknowlege", as_user="alex"),
        2,
        "event: no such event 'acknowlege'",
        "did you mean 'acknowledge'?",
        "case events",
    )
    assert "record_meeting" not in line  # no longer all the events in one breath
    one_line_error(
        staffed("case", "act", ref, "zzz", as_user="alex"), 2, "no such event 'zzz'"
    )


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (("2026-02-30", "3"), ("DATE", "not a real date")),
        (("2026-2-3", "3"), ("DATE", "expected a date as YYYY-MM-DD")),
        (("tomorrow", "3"), ("DATE", "expected a date as YYYY-MM-DD")),
        (("2026-02-02", "-3"), ("N", "-3 is negative", "counts forward")),
        (("2026-02-02", "three"), ("N", "whole number")),
    ],
)
def test_calendar_add_says_what_is_wrong_with_the_date_or_the_number(
    cli: Cli, argv: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    one_line_error(cli("calendar", "add", *argv), 2, *needles)


def test_calendar_add_still_adds(cli: Cli) -> None:
    assert cli.ok("calendar", "add", "2026-02-02", "0").out.strip() == "2026-02-02"
    assert cli.ok("calendar", "add", "2026-02-06", "1").out.strip() == "2026-02-09"


def test_intake_form_on_a_folder_or_a_missing_file_stores_nothing(
    staffed: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "forms"
    folder.mkdir()
    good = folder / "good.json"
    good.write_text(
        json.dumps({"respondent": {"name": "Bo Example", "phone": "01432 555 111"},
                    "concern": "A concern."}),
        encoding="utf-8",
    )
    one_line_error(
        staffed("intake", "form", str(folder), as_user="ian"), 2, "is a folder", "*.json"
    )
    one_line_error(
        staffed("intake", "form", str(good), str(folder / "missing.json"), as_user="ian"),
        2,
        "missing.json: no such file",
    )
    # Nothing was logged, and nothing shown as quarantined.
    assert staffed.ok("case", "list", "--json", as_user="alex").json() == []
    assert staffed.ok("intake", "quarantine", "--json", as_user="ian").json() == []


# --- help screens -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [(), ("case", "act"), ("case", "show"), ("intake", "form"), ("letters", "render"),
     ("calendar", "add"), ("user", "add")],
)
def test_help_screens_use_plain_names_without_placeholders(
    cli: Cli, argv: tuple[str, ...]
) -> None:
    result = cli.ok(*argv, "--help")
    for noise in ("<str>", "<bool>", "<int>", "list[", "{", "╭", "│"):
        assert noise not in result.out, (noise, result.out)
    assert "--as USER" in result.out and "--config PATH" in result.out


def test_case_act_help_names_its_arguments_plainly(cli: Cli) -> None:
    out = cli.ok("case", "act", "--help").out
    assert "Usage: concerns case act [OPTIONS] REF EVENT" in out
    assert "--set KEY=VALUE" in out and "--note TEXT" in out
