"""The `concerns` command (docs/cli.md). Every command calls one service function in workflows/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli import (
    action_cmd,
    conflict_cmd,
    entry,
    intake_cmd,
    letters_cmd,
    people_cmd,
    records_cmd,
    remind_cmd,
    report_cmd,
)
from concerns.cli.common import (
    GLOBALS,
    AsOpt,
    ConfigOpt,
    JsonOpt,
    RefArg,
    call,
    configure_logging,
    emit,
    fail,
    handled,
    table,
)
from concerns.cli.lazy import lazy_import
from concerns.workflows.errors import BadInput
from concerns.workflows.machine import (
    PARTS,
    choice_label,
    clock_label,
    event_label,
    fields_of,
    label,
    state_label,
)

# The services are loaded when a command first calls one: `concerns --help` loads none.
if TYPE_CHECKING:
    from concerns.workflows import admin, lifecycle, person_details, queries
    from concerns.workflows.access import users
else:
    admin = lazy_import("concerns.workflows.admin")
    lifecycle = lazy_import("concerns.workflows.lifecycle")
    person_details = lazy_import("concerns.workflows.person_details")
    queries = lazy_import("concerns.workflows.queries")
    users = lazy_import("concerns.workflows.access.users")

app = typer.Typer(
    help="Concerns about Care: the Independent Assurance Team's register and workflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: formatting it with Rich would load Rich, the slowest part of `--help`.
    rich_markup_mode=None,
)
user_app = typer.Typer(help="Staff accounts and roles.", no_args_is_help=True)
case_app = typer.Typer(help="Cases on the register.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(intake_cmd.app, name="intake")
app.add_typer(people_cmd.app, name="people")
app.add_typer(report_cmd.app, name="report")
app.add_typer(remind_cmd.app, name="remind")
app.add_typer(remind_cmd.calendar_app, name="calendar")
app.add_typer(letters_cmd.app, name="letters")
records_cmd.register(app)  # retention …, backup, restore
app.add_typer(conflict_cmd.app, name="conflict")
app.add_typer(action_cmd.app, name="action")

for _name, _module, _attr in (
    ("scheduler", remind_cmd, "scheduler"),
    ("serve", __import__("concerns.cli.serve_cmd", fromlist=["serve"]), "serve"),
    ("doctor", __import__("concerns.cli.doctor_cmd", fromlist=["doctor"]), "doctor"),
):
    if hasattr(_module, _attr):
        app.command(_name)(getattr(_module, _attr))


@app.callback()
def root(json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """Options given before the command apply to it too."""
    GLOBALS.json, GLOBALS.as_user, GLOBALS.config = json_out, as_user, config


@app.command()
@handled
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Load sample staff and cases.")] = False,
    admin_name: Annotated[str | None, typer.Option(
        "--admin", help="Create the first account, an administrator, with this username.")] = None,
    full_name: Annotated[str, typer.Option("--full-name", help="The administrator's name.")] = "",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the administrator's password from stdin.")] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create or migrate the database; --demo loads sample users and cases."""
    c = call(json_out, as_user, config)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        fail("password: nothing was read from stdin", 2)
    first = (admin_name, full_name, password) if admin_name else None
    result = admin.init_database(c.ctx, demo=demo, first_admin=first)
    data = {
        "database": "up to date" if result.already_current else "created or upgraded",
        "users_created": result.created_users,
        "demo_cases": result.demo_cases,
        "demo_password": users.DEMO_PASSWORD if demo and result.created_users else None,
    }

    def human(d: dict[str, Any]) -> str:
        lines = [f"Database {d['database']}."]
        if d["users_created"] and d["demo_password"]:
            lines.append(
                f"Demo staff: {', '.join(d['users_created'])} (password: {d['demo_password']})."
            )
        elif d["users_created"]:
            lines.append(f"Administrator: {', '.join(d['users_created'])}.")
        if d["demo_cases"]:
            lines.append(f"Demo cases: {', '.join(d['demo_cases'])}.")
        return "\n".join(lines)

    emit(c, data, human)


# --- users ----------------------------------------------------------------------------------


@user_app.command("add")
@handled
def user_add(
    name: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[list[str], typer.Option("--role", help="A role; repeat for several.")],
    full_name: Annotated[
        str, typer.Option("--full-name", help="Their name as letters show it.")
    ] = "",
    email: Annotated[str, typer.Option("--email", help="Where reminders are sent.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a sign-in password from stdin.")
    ] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add a member of staff (the first account may be added by anyone; then admins only)."""
    c = call(json_out, as_user, config)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        fail("password: nothing was read from stdin", 2)
    info = users.add_user(
        c.ctx, c.user, name, role, full_name=full_name, email=email, password=password
    )
    emit(c, info.__dict__, f"Added {info.username} ({', '.join(info.roles)}).")


@user_app.command("list")
@handled
def user_list(json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """List staff accounts, with their roles and last sign-in."""
    c = call(json_out, as_user, config)
    rows = [
        {**u.__dict__, "roles": ",".join(u.roles)} if not c.json else u.__dict__
        for u in users.list_users(c.ctx, c.user)
    ]
    emit(c, rows, lambda r: table(
        r, ["username", "full_name", "roles", "email", "active", "last_sign_in"]))


ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]
UserArg = Annotated[str, typer.Argument(help="Username.")]


def _account_done(c: Any, info: users.UserInfo, what: str) -> None:
    emit(c, info.__dict__, f"{info.username}: {what}.")


@user_app.command("disable")
@handled
def user_disable(name: UserArg, reason: ReasonOpt, json_out: JsonOpt = False,
                 as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """Disable a leaver's account: no sign-in, sessions ended, their work back to their role."""
    c = call(json_out, as_user, config)
    _account_done(c, users.disable_user(c.ctx, c.user, name, reason), "disabled")


@user_app.command("enable")
@handled
def user_enable(name: UserArg, reason: ReasonOpt, json_out: JsonOpt = False,
                as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """Enable a disabled account again."""
    c = call(json_out, as_user, config)
    _account_done(c, users.enable_user(c.ctx, c.user, name, reason), "enabled")


@user_app.command("roles")
@handled
def user_roles(
    name: UserArg,
    role: Annotated[list[str], typer.Option("--role", help="A role; repeat for several.")],
    reason: ReasonOpt,
    json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None,
) -> None:
    """Replace an account's roles (its sessions end, so the change applies at once)."""
    c = call(json_out, as_user, config)
    info = users.set_roles(c.ctx, c.user, name, role, reason)
    _account_done(c, info, "roles " + ", ".join(info.roles))


@user_app.command("reset-password")
@handled
def user_reset_password(
    name: UserArg,
    reason: ReasonOpt,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
    ] = False,
    json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None,
) -> None:
    """Set a new password (from stdin); every session of the account ends."""
    c = call(json_out, as_user, config)
    if not password_stdin:
        fail("password: give --password-stdin and the new password on standard input", 2)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("password: nothing was read from stdin", 2)
    _account_done(c, users.reset_password(c.ctx, c.user, name, password, reason),
                  "password reset, sessions ended")


@user_app.command("reset-second-factor")
@handled
def user_reset_second_factor(name: UserArg, reason: ReasonOpt, json_out: JsonOpt = False,
                             as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """Remove an account's second factor (a lost phone): set up again at the next sign-in."""
    c = call(json_out, as_user, config)
    _account_done(c, users.reset_second_factor(c.ctx, c.user, name, reason),
                  "second factor removed, sessions ended")


@user_app.command("rename")
@handled
def user_rename(
    name: UserArg,
    full_name: Annotated[str, typer.Option("--full-name", help="Their name as letters show it.")],
    reason: ReasonOpt,
    json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None,
) -> None:
    """Set an account's full name; every case is checked again for a conflict of interest."""
    c = call(json_out, as_user, config)
    _account_done(c, users.rename_user(c.ctx, c.user, name, full_name, reason), "name changed")


@user_app.command("unlock")
@handled
def user_unlock(name: UserArg, reason: ReasonOpt, json_out: JsonOpt = False,
                as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """Lift the sign-in delays built up by failed attempts at this username."""
    c = call(json_out, as_user, config)
    _account_done(c, users.unlock_user(c.ctx, c.user, name, reason), "unlocked")


# --- cases ----------------------------------------------------------------------------------


@case_app.command("list")
@handled
def case_list(
    state: Annotated[
        str | None, typer.Option("--state", help="Only cases in this state, e.g. triage.")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only cases with a deadline missed.")
    ] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only cases waiting on this user or role.")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Only the case with this reference, or people whose name "
                     "contains this text."),
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Cases you may see in a list now (your role's need to know), newest first."""
    c = call(json_out, as_user, config)
    rows = queries.list_cases(c.ctx, c.user, state=state, overdue=overdue, owner=owner,
                              search=search or None)
    emit(c, rows, _case_rows)


def _case_rows(rows: list[dict[str, Any]], *extra: str, received: bool = True) -> str:
    """Cases as a table in words (the JSON keeps the codes): the state's label, what must happen
    next, who must do it and by when ("overdue" when any of its deadlines is missed)."""
    return table(
        [
            {
                "Reference": r["reference"],
                "State": state_label(r["state"]),
                "Received": str(r.get("received_at") or "")[:10],
                "Person": r.get("respondent_name") or "",
                "Next step": r.get("task") or "",
                "With": r.get("owner_label") or "",
                "Due": " ".join(filter(None, (r.get("due"), "overdue" if r.get("overdue")
                                              else ""))),
                **{name: r.get(name, "") for name in extra},
            }
            for r in rows
        ],
        ["Reference", "State", *(["Received"] if received else []), "Person", "Next step",
         "With", "Due", *extra],
    )


@case_app.command("show")
@handled
def case_show(
    reference: RefArg, json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None
) -> None:
    """A case in full: contacts, people, deadlines (with how each date was worked out), letters,
    history."""
    c = call(json_out, as_user, config)
    emit(c, queries.show_case(c.ctx, c.user, reference), _render_case)


def _render_case(d: dict[str, Any]) -> str:
    """The case in words (labels from the lifecycle table); event names appear only as the
    command to type."""
    lines = [
        f"{d['reference']}  {state_label(d['state'])}  received {d['received_at'][:16]}",
        f"Person: {d['respondent']['name'] or '–'}"
        + (f" <{d['respondent']['email']}>" if d["respondent"]["email"] else ""),
    ]
    for child in d["children"]:
        rel = f" (also in {', '.join(child['related_cases'])})" if child["related_cases"] else ""
        lines.append(f"Child: {child['name']} {child['date_of_birth'] or ''}{rel}")
    if d["reviewer"]:
        lines.append(f"Reviewer: {d.get('reviewer_name') or d['reviewer']}")
    lines.append(f"Contacts: {len(d['contacts'])}")
    if d.get("returned"):
        back = d["returned"]
        lines.append(f"RETURNED FOR CHANGES by {back['by']} on {back['at'][:16]}:")
        lines.extend(f"  {line}" for line in back["note"].splitlines())
    if d.get("blocked"):
        lines.append("BLOCKED: an open safeguarding escalation stops the outcome going on.")
    if d.get("next_steps"):
        lines.append("Next:")
        for step in d["next_steps"]:
            due = f", by {step['due']}" if step["due"] else ""
            late = " (OVERDUE)" if step["status"] == "overdue" else ""
            lines.append(f"  {step['task']}: {step['owner_label']}{due}{late}")
    lines.append("Deadlines:")
    for dl in d["deadlines"]:
        if dl.get("superseded"):
            continue
        ex = dl.get("explanation") or {}
        how = f"\n{'':<6}{ex['text']}" if ex.get("text") else ""
        lines.append(
            f"  {clock_label(dl['clock'])}: due {dl['due']}, {choice_label(dl['status']).lower()}"
            f"{how}"
        )
    earlier = [dl for dl in d["deadlines"] if dl.get("superseded")]
    if earlier:
        lines.append("Earlier deadlines:")
        for dl in earlier:
            lines.append(f"  {clock_label(dl['clock'])}: due {dl['due']}, "
                         f"{choice_label(dl['status']).lower()}")
    if d["letters"]:
        lines.append("Letters:")
        for letter in d["letters"]:
            lines.append(
                f"  {label(letter['kind'])}: sha256 {letter['sha256'] or '-'}"
                f", signed {letter['signed_at'] or '-'}, sent {letter['sent_at'] or '-'}"
            )
    learning = d.get("learning") or {}
    if learning.get("findings"):
        lines.append("Learning themes:")
        for f in learning["findings"]:
            lines.append(f"  {f['theme_label']}: {f['finding']}")
    if learning.get("actions"):
        lines.append("Actions arising:")
        for a in learning["actions"]:
            lines.append(
                f"  #{a['id']} {a['status']:<9} due {a['due']}  {a['owner_service']}: {a['what']}"
            )
    hidden = [p for p in PARTS if p not in d.get("parts", PARTS)]
    if hidden:
        lines.append("Not shown to your role now: " + ", ".join(hidden).replace("_", " "))
    if d.get("escalations"):
        lines.append("Escalations:")
        for e in d["escalations"]:
            status = f"resolved {e['resolved_at'][:16]}" if e["resolved_at"] else "OPEN"
            lines.append(
                f"  {choice_label(e['severity'])} to {e['to']}, raised {e['raised_at'][:16]} "
                f"by {e['raised_by']}: {status}"
            )
            if e.get("note"):
                lines.extend(f"    {line}" for line in e["note"].splitlines())
    lines.append("History:")
    for h in d["history"]:
        move = ""
        if h["to"] and h["from"] != h["to"]:
            move = f" ({state_label(h['from']) if h['from'] else 'new'} to {state_label(h['to'])})"
        lines.append(f"  {h['at'][:16]}  {event_label(h['event'])}{move}, by "
                     f"{h.get('actor_name') or h['actor']}")
        kind = (h.get("data") or {}).get("kind") if h["event"] == "add_review_note" else None
        if kind:
            lines.append(f"    Kind: {choice_label(kind)}")
        if h.get("note"):
            lines.extend(f"    {line}" for line in h["note"].splitlines())
    ref = d["reference"]
    lines.append("You may now:" + ("" if d["events_available"] else " nothing"))
    for event in d["events_available"]:
        lines.append(f"  {event_label(event)}: concerns case act {ref} {event}")
    return "\n".join(lines)


@case_app.command("events")
@handled
def case_events(
    reference: RefArg, json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None
) -> None:
    """The events you may fire on the case now, with the values each takes."""
    c = call(json_out, as_user, config)
    rows = queries.events_for(c.ctx, c.user, reference)

    def human(rs: list[dict[str, Any]]) -> str:
        if not rs:
            return "Nothing you may do on this case now."
        out = []
        for r in rs:
            keys = " ".join(
                f"{'' if f['required'] else '['}--set {f['name']}{_set_value(f)}"
                f"{'' if f['required'] else ']'}"
                for f in r["fields"]
            )
            note = " --note TEXT" if r["note_required"] else ""
            # The event's name appears only in the command to type.
            command = f"concerns case act {reference.strip().upper()} {r['event']} {keys}{note}"
            out.append(f"{event_label(r['event'])}: {r['description']}\n    {command.rstrip()}")
        return "\n".join(out)

    emit(c, rows, human)


def _set_value(f: dict[str, Any]) -> str:
    if f["kind"] == "findings":
        return ".THEME=TEXT (one per theme found; themes in config.toml [learning.themes])"
    if f["kind"] == "actions":
        return ".N.what=TEXT .N.owner=SERVICE .N.due=DATE .N.theme=THEME"
    return "=" + ("|".join(f["choices"]) if f["choices"] else f["kind"].upper())


def _as_typed(event: str, values: dict[str, str], exc: BadInput) -> BadInput:
    """A refused value as the command line takes it: the option to give, and for a choice the
    values to type (the message itself names the field and the choices in words)."""
    if exc.field == "note":
        return BadInput("--note", exc.problem)
    spec = fields_of(event).get(exc.field.partition(".")[0])
    if spec is None:
        return exc
    problem = exc.problem
    if spec.kind == "choice" and values.get(spec.name, "").strip() not in spec.choices:
        problem += f" (type --set {spec.name}={'|'.join(spec.choices)})"
    return BadInput(f"--set {exc.field}", problem)


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--set: expected KEY=VALUE, got {pair[:40]!r}", 2)
        if key.strip() in values:
            fail(f"--set: {key.strip()} given twice", 2)
        values[key.strip()] = value
    return values


@case_app.command("act")
@handled
def case_act(
    reference: RefArg,
    event: Annotated[
        str,
        typer.Argument(
            metavar="EVENT", help="What to do, e.g. acknowledge (see `case events REF`)."
        ),
    ],
    note: Annotated[str | None, typer.Option("--note", help="Free text for the record.")] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE; repeat for several.")
    ] = None,
    expected_version: Annotated[
        int | None, typer.Option("--expect-version", help="Refuse if the case changed since.")
    ] = None,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Show the letter EVENT would make with these values (for submit_outcome, the "
            "outcome letter around the wording) without doing it: nothing is sent or stored.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="With --preview: write the letter to FILE (.html, .pdf or "
                     ".docx) instead of printing its text."),
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Fire EVENT on the case (see `case events REF` for what you may do), or --preview the
    letter it would make."""
    c = call(json_out, as_user, config)
    if out is not None and not preview:
        fail("--out: only with --preview (the letter an event makes is stored with the case)", 2)
    values = _parse_sets(sets or [])
    try:
        if preview:
            letters_cmd.preview_event(c, reference, event, values, expected_version, out)
            return
        result = lifecycle.fire_event(
            c.ctx, reference, event, c.user, values, note, expected_version=expected_version
        )
    except BadInput as exc:
        raise _as_typed(event, values, exc) from None
    moved = (f"{state_label(result.from_state)} to {state_label(result.to_state)}"
             if result.to_state != result.from_state else state_label(result.to_state))
    emit(c, result.__dict__, f"{result.reference}: {event_label(result.event)} ({moved}).")


@case_app.command("correct")
@handled
def case_correct(
    reference: RefArg,
    note: Annotated[str, typer.Option("--note", help="Why the details are corrected.")],
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="email=, phone=, address= or postcode=; repeat for several."),
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Correct the contact details of the person who raised the case (an empty value removes
    one); audited with the reason, never the values."""
    c = call(json_out, as_user, config)
    result = person_details.correct_respondent_details(
        c.ctx, c.user, reference, _parse_sets(sets or []), note
    )
    emit(c, result.to_dict(), f"{result.reference}: corrected {', '.join(result.changed)}.")


@app.command("queue")
@handled
def queue_cmd(
    which: Annotated[str, typer.Argument(help="director, assistant or mine")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Work waiting for the director, the assistant, or for me."""
    c = call(json_out, as_user, config)
    rows = queries.queue(c.ctx, c.user, which)
    # The assistant's queue also names the letters she has to post (by the number that
    # `letters posted REF LETTER_ID` takes).
    to_post = ("Letters to post",) if which == "assistant" else ()
    emit(
        c,
        rows,
        lambda r: _case_rows(
            [
                {
                    **x,
                    "task": x.get("task") or "; ".join(event_label(e) for e in x["events"]),
                    "Letters to post": ", ".join(
                        str(p["letter_id"]) for p in x.get("letters_to_post", [])),
                }
                for x in r
            ],
            *to_post,
            received=False,
        ),
    )


@audit_app.command("verify")
@handled
def audit_verify(
    json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None
) -> None:
    """Check the audit chain: exits 1 and names the first broken row if any was edited."""
    c = call(json_out, as_user, config)
    report = admin.verify_audit(c.ctx, c.user)
    data = {
        "ok": report.broken_at is None,
        "rows": report.rows,
        "broken_at": report.broken_at,
        "problem": report.problem,
    }
    if report.broken_at is None:
        emit(c, data, f"Audit chain intact: {report.rows} rows verified.")
        return
    if c.json:
        emit(c, data)
    fail(
        f"audit chain broken at event row {report.broken_at}: {report.problem} "
        f"({report.rows} rows before it verified)",
        1,
    )


@app.command("diagram")
@handled
def diagram(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """The lifecycle as a Mermaid state diagram, generated from the lifecycle table."""
    from concerns.workflows.machine import diagram_markdown

    text = diagram_markdown()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def main() -> None:
    configure_logging()
    entry.main(app)


if __name__ == "__main__":
    main()
