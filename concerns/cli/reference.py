"""The reference pages in docs/, generated so they cannot drift from the code.

    python -m concerns.cli.reference docs      # or `make docs`

writes docs/cli.md (every command's help, from the Typer app, and the --set keys of every event,
from the lifecycle table), docs/configuration.md (every setting with its default, from the
settings dataclasses, described by the comments in config.toml) and docs/form-schema.json (the
web-form schema `intake form` checks against). tests/unit/test_reference_docs.py fails when a
committed page differs from what this makes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

from typer._click.core import Context

from concerns.cli import entry
from concerns.triage.form_schema import SCHEMA_PATH
from concerns.workflows import settings as settings_module

WIDTH = 100
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"

CLI_HEADER = """# The `concerns` command

Generated from the command itself by `make docs`; do not edit by hand.

Every command takes `--json` for machine-readable output, `--as USER` for the acting user
(default `$CONCERNS_USER`) and `--config PATH` (default `./config.toml` or `$CONCERNS_CONFIG`),
and honours `$CONCERNS_DATABASE_URL` (`sqlite:///PATH` or `postgresql+psycopg://USER@HOST/NAME`).
Options given before the command (`concerns --as alex case list`) apply to it too.

Errors go to stderr, one line starting `error:` that names the problem and what to do, never a
traceback. Exit statuses:

| status | meaning |
|---|---|
| 0 | done |
| 1 | anything else: no database yet, a server that cannot be reached, a case that changed \
meanwhile, a check that found problems (`audit verify`, `doctor`) |
| 2 | bad input: a value, option or setting that is wrong or missing (the message names it), \
no acting user, a misspelt command, event or username (`--as`; with the closest one) |
| 3 | not allowed: role, state, guard, separation of duties, a disabled acting user |

`--json` output: `intake …` prints a list, one object per submission: `source`, `status`
(`new_case`, `added_to_case`, `duplicate`, `quarantined`, `set_aside`), `reference`, `reason`.
`case list` a list of cases (`reference`, `state`, `received_at`, `respondent_name`, `owner`,
`overdue`); `case show` the case (`reference`, `state`, `received_at`, `respondent`, `children`,
`contacts`, `deadlines` each with `clock`, `due`, `status`, `letters`, `history`); `calendar add`
`{"date", "skipped"}`; `doctor` `{"ok", "checks": [{"name", "status", "found", "fix"}]}`.
The web-form submission read by `intake form` is described by
[form-schema.json](form-schema.json) (also served at `/concern/form-schema.json`).
"""


def _help(command: Any, path: list[str], parent: Context | None) -> tuple[str, Context]:
    ctx = Context(
        command, info_name=path[-1], parent=parent, max_content_width=WIDTH, terminal_width=WIDTH
    )
    return command.get_help(ctx), ctx


def _walk(command: Any, path: list[str], parent: Context | None, out: list[str]) -> None:
    text, ctx = _help(command, path, parent)
    subcommands = getattr(command, "commands", None)
    if subcommands and len(path) > 1:
        out.append(f"## `{' '.join(path)}`\n\n```\n{text.rstrip()}\n```\n")
    elif not subcommands:
        level = "###" if len(path) > 2 else "##"
        out.append(f"{level} `{' '.join(path)}`\n\n```\n{text.rstrip()}\n```\n")
    if subcommands:
        for name in sorted(subcommands):
            _walk(subcommands[name], [*path, name], ctx, out)


def _event_keys() -> str:
    from concerns.workflows.machine import STEPS

    rows = ["| event | what it does | `--set` keys | `--note` |", "|---|---|---|---|"]
    seen: set[str] = set()
    for step in STEPS:
        if step.event in seen:
            continue
        seen.add(step.event)
        keys = []
        for field in step.fields:
            value = "\\|".join(field.choices) if field.choices else field.kind.upper()
            key = f"`{field.name}={value}`"
            keys.append(key if field.required else f"{key} (optional)")
        note = "required" if step.note_required else ""
        description = step.description.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{step.event}` | {description} | {', '.join(keys)} | {note} |")
    return (
        "## Events and the values they take\n\n"
        "From the lifecycle table (`concerns/workflows/machine.py`); `concerns case events REF` "
        "lists the ones the acting user may fire on a case now.\n\n" + "\n".join(rows) + "\n"
    )


def cli_markdown() -> str:
    from concerns.cli.main import app

    root = entry.build(app)
    out: list[str] = [CLI_HEADER]
    text, ctx = _help(root, ["concerns"], None)
    out.append(f"## `concerns`\n\n```\n{text.rstrip()}\n```\n")
    for name in sorted(root.commands):
        _walk(root.commands[name], ["concerns", name], ctx, out)
    out.append(_event_keys())
    return "\n".join(out)


# --- configuration -------------------------------------------------------------------------------


def _comments(config_text: str) -> dict[str, str]:
    """'section.key' → the comment above the key, or beside it, in config.toml."""
    found: dict[str, str] = {}
    section = ""
    above: list[str] = []
    for line in config_text.splitlines():
        stripped = line.strip()
        header = re.fullmatch(r"\[([^\]]+)\]", stripped)
        if header:
            section = header.group(1)
            if above:
                found[section] = " ".join(above)
            above = []
        elif stripped.startswith("#"):
            above.append(stripped.lstrip("# ").strip())
        elif "=" in stripped:
            key = stripped.split("=", 1)[0].strip()
            beside = stripped.split("#", 1)[1].strip() if " #" in stripped else ""
            found[f"{section}.{key}"] = " ".join([*above, beside]).strip()
            above = []
        else:
            above = []
    return found


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps([_show(v) if not isinstance(v, str) else v for v in value])
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def configuration_markdown() -> str:
    comments = _comments(REPO_CONFIG.read_text(encoding="utf-8"))
    defaults = settings_module.Settings()
    out = [
        "# Configuration\n",
        "Generated from the settings (`concerns/workflows/settings.py`) by `make docs`; do not "
        "edit by hand. `config.toml` in the repository lists the same settings with the same "
        "defaults.\n",
        "The file is `./config.toml`, or the one named by `--config PATH` or `$CONCERNS_CONFIG`. "
        "A missing file or a missing setting takes the default below. An unknown section or "
        "setting is refused with its name and the closest known one (\"did you mean\"), and a "
        "value of the wrong kind names its setting: `concerns` exits 2.\n",
        "**Relative paths** (the SQLite file in `database.url`, `mailbox.path`, `council.logo`, "
        "`council.director_signature`, `council.letter_templates` and the `var/` folder) are "
        "read from the folder that holds `config.toml`, not from the folder the command runs "
        "in. With no config file they are read from the working directory.\n",
        "`$CONCERNS_DATABASE_URL`, when set, replaces `database.url`.\n",
        "## [database]\n",
        "| setting | default | meaning |",
        "|---|---|---|",
        f"| `url` | `{_show(settings_module.DEFAULT_DATABASE_URL)}` | "
        f"{comments.get('database.url', '')} |",
        "",
    ]
    for field in dataclasses.fields(settings_module.Settings):
        if field.name in ("database_url", "base_dir"):
            continue
        value = getattr(defaults, field.name)
        if field.name == "clocks":
            out += [
                "## [clocks.NAME]\n",
                comments.get("clocks.acknowledge", "") + "\n",
                "| clock | target | working days | owner | most working days | chase after |",
                "|---|---|---|---|---|---|",
            ]
            for clock in value.values():
                out.append(
                    f"| `{clock.name}` | {clock.target} | {_show(clock.working)} | "
                    f"`{clock.owner}` | {clock.max_working_days or ''} | "
                    f"{clock.chase_after or ''} |"
                )
            out.append("")
            continue
        out += [f"## [{field.name}]\n"]
        if comments.get(field.name):
            out.append(comments[field.name] + "\n")
        out += ["| setting | default | meaning |", "|---|---|---|"]
        for sub in dataclasses.fields(value):
            default = getattr(value, sub.name)
            shown = default.strftime("%H:%M") if hasattr(default, "strftime") else _show(default)
            meaning = comments.get(f"{field.name}.{sub.name}", "").replace("|", "\\|")
            out.append(f"| `{sub.name}` | `{shown}` | {meaning} |")
        out.append("")
    return "\n".join(out)


def pages() -> dict[str, str]:
    """docs/ file name → its generated text."""
    return {
        "cli.md": cli_markdown(),
        "configuration.md": configuration_markdown(),
        "form-schema.json": SCHEMA_PATH.read_text(encoding="utf-8"),
    }


def write(folder: Path) -> list[Path]:
    written = []
    for name, text in pages().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(path)
