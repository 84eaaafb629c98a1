"""`concerns doctor`: what is wrong with this install, and what to do about each thing."""

from __future__ import annotations

from typing import Any

import typer

from concerns.cli.common import ConfigOpt, JsonOpt, call, emit, handled

MARKS = {"ok": "ok     ", "warning": "warning", "problem": "PROBLEM"}


@handled
def doctor(json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Check the install: the database and its migrations, the audit chain, letter templates and
    fonts, the outbox and SMTP, the scheduler, the mailbox, the secret key and the GOV.UK
    styles. Each finding says how to fix it; exits 1 when any is a problem."""
    from concerns.workflows.doctor import diagnose

    c = call(json_out, None, config)
    report = diagnose(c.ctx)

    def human(d: dict[str, Any]) -> str:
        lines = []
        for check in d["checks"]:
            lines.append(f"{MARKS[check['status']]}  {check['name']:<17} {check['found']}")
            if check["fix"] and check["status"] != "ok":
                lines.append(f"{'':<28}fix: {check['fix']}")
        lines.append("All is well." if d["ok"] else "Some checks found problems (see fix:).")
        return "\n".join(lines)

    emit(c, report.to_dict(), human)
    if not report.ok:
        raise typer.Exit(1)
