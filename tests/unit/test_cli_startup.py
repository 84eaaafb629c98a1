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

