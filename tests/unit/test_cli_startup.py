"""`concerns --help` starts at once: it loads none of the heavy libraries, which only the
commands that use them load."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "weasyprint", "openpyxl", "alembic", "fastapi", "uvicorn", "imap_tools",
         "jinja2", "rich")

PROBE = """
import sys
from typer.testing import CliRunner
from concerns.cli.main import app
for args in (["--help"], ["case", "--help"], ["letters", "--help"], ["retention", "--help"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_help_of_every_command_group_loads_no_heavy_library() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_a_command_that_needs_the_database_still_loads_it() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from concerns.cli.main import app\n"
        "result = CliRunner().invoke(app, ['case', 'list', '--as', 'nobody'],"
        " env={'CONCERNS_DATABASE_URL': 'sqlite:///:memory:'})\n"
        "print(result.exit_code, 'sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    code, loaded = done.stdout.split()
    assert loaded == "True"
    assert code != "0"  # no such table / no such user: refused with a message, not a crash


def test_a_command_with_only_text_options_and_flags_does_not_load_pydantic() -> None:
    # Typer would coerce every option through a pydantic adapter; cli/common passes strings and
    # flags through as given, so reading a case does not pay for loading pydantic.
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from concerns.cli.main import app\n"
        "result = CliRunner().invoke(app, ['--json', 'case', 'show', 'CAC-2026-0001', '--as',"
        " 'nobody'], env={'CONCERNS_DATABASE_URL': 'sqlite:///:memory:'})\n"
        "print(result.exit_code, 'pydantic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    code, loaded = done.stdout.split()
    assert loaded == "False"
    assert code != "0"


def test_only_the_command_that_runs_is_built_and_help_and_mistakes_see_the_whole_tree() -> None:
    from concerns.cli.entry import only_what_runs
    from concerns.cli.main import app

    def names(typer_app: object) -> list[str]:
        groups = [g.name for g in typer_app.registered_groups]  # type: ignore[attr-defined]
        commands = [c.name or c.callback.__name__  # type: ignore[attr-defined]
                    for c in typer_app.registered_commands]  # type: ignore[attr-defined]
        return sorted(str(n) for n in groups + commands)

    pruned = only_what_runs(app, ["--as", "alex", "--json", "case", "show", "CAC-2026-0001"])
    assert names(pruned) == ["case"]
    assert names(pruned.registered_groups[0].typer_instance) == ["show"]
    whole = names(app)
    assert names(only_what_runs(app, [])) == whole
    assert names(only_what_runs(app, ["--help"])) == whole
    assert names(only_what_runs(app, ["cas", "show"])) == whole  # "did you mean 'case'?"
    case_group = only_what_runs(app, ["case", "--help"]).registered_groups[0].typer_instance
    assert len(names(case_group)) > 1
