"""Staff pages: my work, the case list and the case page with its event forms, the director's
and the assistant's queues, and logging a contact received by phone, letter or in person.

Each page is one or two calls to the service layer; the role and conflict-of-interest checks
and the audit of every case view happen there, on every request.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from concerns.web import concern_form, date_input, event_forms
from concerns.web.deps import StaffUser, render, require_role, signed_in, state
from concerns.web.security import posted_number, require_csrf
from concerns.workflows import (
    letter_previews,
    letters_service,
    lifecycle,
    person_details,
    posting,
    queries,
)
from concerns.workflows.access import conflicts, users
from concerns.workflows.errors import BadInput, ConcurrentChange, NotAllowed, NotFound
from concerns.workflows.intake import submissions
from concerns.workflows.intake.attachments import contact_attachment
from concerns.workflows.machine import (
    ACTION_ROLES,
    CASE_READERS,
    CONFIRM_EVENTS,
    EVENTS,
    ROLES,
    STATES,
    closes_with,
    label,
)

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffUser, Depends(signed_in)]

# Events that close the case: their confirmation button warns.
QUEUE_TITLES = {"director": "Sign-off queue", "assistant": "Letters queue"}
LOG_CHANNELS = {"phone": "Phone call", "letter": "Letter", "in_person": "In person"}


# First: FastAPI tries a router's routes in order, twice a request, and the director's queue
# is the most read page (at the end it was matched against every route before it).
@router.get("/queue/{which}")
def queue_page(request: Request, user: Staff, which: str) -> Response:
    if which not in QUEUE_TITLES:
        return render(request, "message.html", "Page not found", status_code=404,
                      heading="Page not found", message="There is no such queue.")
    return _queue_page(request, user, which)


def _queue_page(
    request: Request,
    user: StaffUser,
    which: str,
    *,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    rows = queries.queue(state(request).ctx, user.username, which, actor=user.actor,
                         user_id=user.id)
    forms = {
        row["reference"]: event_forms.build(row.get("events", []))
        for row in rows
    } if which == "assistant" else {}
    to_post = [
        {**letter, "reference": row["reference"]}
        for row in rows
        for letter in row.get("letters_to_post", [])
    ]
    to_post.sort(key=lambda letter: (letter["made_at"], letter["letter_id"]))
    return render(request, "queue.html", QUEUE_TITLES[which], rows=rows, which=which,
                  forms=forms, to_post=to_post, errors=errors, status_code=status_code)


@router.get("/my-work")
def my_work(request: Request, user: Staff) -> Response:
    if not user.roles & {"iat_officer", "iat_manager", "information_officer", "legal",
                         "director", "executive_assistant"}:
        return RedirectResponse(_home_for(user), status_code=303)
    rows = queries.queue(state(request).ctx, user.username, "mine", actor=user.actor,
                         user_id=user.id)
    # The earliest deadline first; work without a running clock last.
    rows.sort(key=lambda row: (row.get("due") is None, row.get("due") or ""))
    return render(request, "my_work.html", "My work", rows=rows)


@router.get("/team")
def team_page(
    request: Request,
    user: Staff,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    state_: Annotated[str | None, Query(alias="state", max_length=40)] = None,
    clock: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The IAT manager's view of every open case: who must act, by when, overdue first."""
    view = queries.team_view(
        state(request).ctx, user.username, owner=owner or None, state=state_ or None,
        clock=clock or None,
    )
    # Possible conflicts of interest waiting for her: the staff concerned cannot open the case.
    waiting = len(conflicts.list_conflicts(state(request).ctx, user.username))
    return render(
        request, "team.html", "Team's open cases", view=view, states=STATES,
        filters={"owner": owner or "", "state": state_ or "", "clock": clock or ""},
        conflicts_waiting=waiting,
    )


def _home_for(user: StaffUser) -> str:
    if "intake" in user.roles:
        return "/log-contact"
    if "auditor" in user.roles:
        return "/reports/scrutiny"
    return "/users"


ACCOUNT_ACTIONS = {
    "disable": ("Disable (a leaver: sessions end, their work goes to their role)",
                users.disable_user),
    "enable": ("Enable again", users.enable_user),
    "unlock": ("Lift sign-in delays", users.unlock_user),
    "reset-second-factor": ("Remove the second factor (a lost phone)",
                            users.reset_second_factor),
}


# The staff page's fields a refusal may point at (the rest are about the account as a whole).
ACCOUNT_FIELDS = ("username", "action", "role", "reason", "password", "full-name")


def _users_page(request: Request, user: StaffUser, errors: list[tuple[str, str]] | None = None,
                values: dict[str, Any] | None = None, status: int = 200) -> Response:
    rows = users.list_users(state(request).ctx, user.username)
    return render(request, "users.html", "Staff accounts", rows=rows, errors=errors,
                  status_code=status, values=values or {},
                  manage="admin" in user.roles, roles=ROLES,
                  actions=[(k, v[0]) for k, v in ACCOUNT_ACTIONS.items()])


@router.get("/users")
def users_page(request: Request, user: Staff) -> Response:
    """Staff accounts, roles and last sign-in; an admin also manages them here (the same
    services as `concerns user disable|enable|roles|reset-password|rename|unlock|
    reset-second-factor`)."""
    return _users_page(request, user)


@router.post("/users", dependencies=[Depends(require_csrf)])
async def users_manage(request: Request, user: Staff) -> Response:
    form = await request.form()
    username = str(form.get("username") or "")
    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "")
    picked = [str(r) for r in form.getlist("role")]
    full_name = str(form.get("full_name") or "")
    values = {"username": username, "action": action, "reason": reason, "role": picked,
              "full_name": full_name}
    ctx = state(request).ctx
    try:
        if action == "roles":
            done = users.set_roles(ctx, user.username, username, picked, reason)
        elif action == "reset-password":
            # The new password is never echoed back onto the page, refused or not.
            password = str(form.get("password") or "")
            done = users.reset_password(ctx, user.username, username, password, reason)
        elif action == "rename":
            done = users.rename_user(ctx, user.username, username, full_name, reason)
        elif action in ACCOUNT_ACTIONS:
            done = ACCOUNT_ACTIONS[action][1](ctx, user.username, username, reason)
        else:
            raise BadInput("action", "choose what to do")
    except (BadInput, NotFound, NotAllowed) as exc:
        if isinstance(exc, NotAllowed) and "admin" not in user.roles:
            raise  # no form to show it on: the refusal is a page of its own
        # Shown on the form, by the field at fault, with what was chosen ("this is the last
        # active admin" by the account's name).
        field = getattr(exc, "field", "")
        if field not in ACCOUNT_FIELDS:
            field = "username"  # about the account itself (its name, its being the last admin)
        # By its field the problem is said alone, as a sentence ("full-name: give …" is the
        # command line's way of naming the field).
        words = exc.problem if isinstance(exc, BadInput) else exc.message
        return _users_page(request, user, [(f"account-{field}", words[:1].upper() + words[1:])],
                           values, exc.http_status if isinstance(exc, NotAllowed) else 400)
    request.session["flash"] = f"{done.username}: done ({action.replace('-', ' ')})."
    return RedirectResponse("/users", status_code=303)


@router.get("/cases")
def case_list(
    request: Request,
    user: Staff,
    state_: Annotated[str | None, Query(alias="state", max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[str | None, Query(max_length=5)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    rows = queries.list_cases(
        state(request).ctx, user.username, state=state_ or None, owner=owner or None,
        overdue=overdue == "yes", search=q or None,
    )
    return render(
        request, "cases.html", "Cases", rows=rows, states=STATES,
        filters={"state": state_ or "", "owner": owner or "", "overdue": overdue == "yes",
                 "q": q or ""},
    )


def _choices(
    request: Request, user: StaffUser, reference: str, events: list[str]
) -> dict[str, list[tuple[str, str]]] | None:
    if not set(events) & {"assign_reviewer", "raise_escalation", "extend_deadline"}:
        return None
    return lifecycle.form_choices(state(request).ctx, user.username, reference)


def _primary(case: dict[str, Any]) -> str | None:
    """The next-step panel's one button: the first event of the first next step (soonest due)
    that this user may fire now."""
    allowed = case.get("events_available", [])
    for step in case.get("next_steps", []):
        for event in step["events"]:
            if event in allowed:
                return str(event)
    return None


def _case_page(
    request: Request,
    user: StaffUser,
    reference: str,
    *,
    template: str = "case.html",
    errors: list[tuple[str, str]] | None = None,
    posted: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
    return_to: str = "",
    details: dict[str, str] | None = None,
    event: str | None = None,
) -> Response:
    case = queries.show_case(state(request).ctx, user.username, reference, actor=user.actor)
    events = list(case.get("events_available", []))
    primary = _primary(case)
    # The sign-off page shows every form: the next step's own first (its one green button).
    first = [primary] if primary in events else []
    shown = [event] if event else (
        first + [e for e in events if e != primary] if template == "signoff.html" else [])
    forms = event_forms.build(
        shown, case, _choices(request, user, reference, shown), posted,
        themes=state(request).ctx.settings.learning.themes,
    )
    title = f"{label(event)}: case {case['reference']}" if event else f"Case {case['reference']}"
    return render(
        request, template, title, status_code=status_code,
        errors=errors, case=case, forms=forms, return_to=return_to,
        may_correct=bool(user.roles & person_details.CORRECTORS),
        may_complete_actions=bool(user.roles & ACTION_ROLES),
        details=details if details is not None else case["respondent"],
        primary=primary, secondary=[e for e in events if e != primary],
        makes_letter=bool(event and (event in letters_service.LETTER_EVENTS
                                     or event in letters_service.DRAFT_LETTERS)),
    )


@router.get("/cases/{reference}")
def case_page(request: Request, user: Staff, reference: str) -> Response:
    return _case_page(request, user, reference)


@router.get("/cases/{reference}/events/{event}")
def event_page(request: Request, user: Staff, reference: str, event: str) -> Response:
    """One event on a page of its own, with a back link to the case."""
    if event not in EVENTS:
        return render(request, "message.html", "Page not found", status_code=404,
                      heading="Page not found", message="There is no such step.")
    case = queries.show_case(state(request).ctx, user.username, reference)
    if event not in case.get("events_available", []):
        return RedirectResponse(f"/cases/{case['reference']}", status_code=303)
    return _case_page(request, user, reference, template="event.html", event=event)


def _local(target: str | None, fallback: str) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target if not urlsplit(target).netloc else fallback


# Hidden fields that carry a form's answers through the preview and confirmation pages.
CARRIED = ("version", "return_to", "note")


@router.post("/cases/{reference}/events/{event}", dependencies=[Depends(require_csrf)])
async def fire(request: Request, user: Staff, reference: str, event: str) -> Response:
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values, note = event_forms.values_from(event, posted)
    version = posted.get("version", "")
    return_to = _local(posted.get("return_to"), f"/cases/{reference}")
    ctx = state(request).ctx
    step = posted.get("step", "")
    try:
        if step == "change":
            raise _ShowFormAgain()
        unreadable = event_forms.date_problems(event, posted)
        if unreadable:
            # A date that cannot be read: refused by the box at fault, everything typed kept.
            return _form_again(request, user, reference, event, posted, return_to, unreadable,
                               422)
        expected = posted_number(version)
        preview = letters_service.preview_event_letter(
            ctx, user.username, reference, event, values, expected_version=expected
        )
        if preview is not None and posted.get("letter_seen") != preview.sha256:
            # Every letter is seen before it goes: show it, with the answers kept.
            return _check_page(request, user, reference, event, posted, preview)
        if preview is None and event in CONFIRM_EVENTS and posted.get("confirmed") != "yes":
            # The answers are checked before the question is asked.
            lifecycle.check_values(event, values, note, ctx=ctx, reference=reference,
                                   actor_name=user.username)
            return _check_page(request, user, reference, event, posted, None)
        result = lifecycle.fire_event(
            ctx, reference, event, user.username, values, note,
            expected_version=expected,
            letter_seen=preview.sha256 if preview is not None and not preview.draft else None,
        )
    except _ShowFormAgain:
        return _form_again(request, user, reference, event, posted, return_to, [], 200)
    except (BadInput, NotAllowed, ConcurrentChange, letters_service.LetterChanged) as exc:
        # Shown on the form again, by the field at fault, with everything typed; nothing stored.
        field = exc.field if isinstance(exc, BadInput) else ""
        target = event_forms.error_target(event, field, posted)
        message = (event_forms.error_words(event, field, exc.problem)
                   if isinstance(exc, BadInput) else exc.message)
        return _form_again(request, user, reference, event, posted, return_to,
                           [(target, message)], exc.http_status)
    request.session["flash"] = (
        f"{label(event)}: done. Case {result.reference} is now "
        f"{label(result.to_state).lower()}."
    )
    return RedirectResponse(return_to, status_code=303)


class _ShowFormAgain(Exception):
    """The user chose to change their answers on the preview or confirmation page."""


def _form_again(
    request: Request, user: StaffUser, reference: str, event: str, posted: dict[str, str],
    return_to: str, errors: list[tuple[str, str]], status_code: int,
) -> Response:
    if return_to.startswith("/queue/director"):
        return _case_page(
            request, user, reference, template="signoff.html", errors=errors,
            posted={event: posted}, status_code=status_code, return_to=return_to,
        )
    return _case_page(
        request, user, reference, template="event.html", event=event, errors=errors,
        posted={event: posted}, status_code=status_code, return_to=return_to,
    )


def _check_page(
    request: Request, user: StaffUser, reference: str, event: str, posted: dict[str, str],
    preview: letters_service.LetterPreview | None,
) -> Response:
    """The letter as it will go (preview) or the question "are you sure" (confirm), with the
    answers carried in hidden fields so nothing typed is lost."""
    case = queries.show_case(state(request).ctx, user.username, reference)
    (form,) = event_forms.build([event], case, None, {event: posted})
    token = (letter_previews.hold(state(request).ctx, user.username, case["reference"], event,
                                  preview.html) if preview else "")
    carried = {k: v for k, v in posted.items() if k not in ("csrf_token", "step", "confirmed",
                                                             "letter_seen")}
    asks = "Are you sure" if preview is None else (
        "Check the wording" if preview.draft else "Check the letter")
    return render(
        request, "check.html", f"{asks}: {label(event)}", case=case, form=form, event=event,
        carried=carried, answers=event_forms.answers(form, posted), preview=preview, token=token,
        closes=closes_with(event, event_forms.values_from(event, posted)[0]),
    )


@router.get("/cases/{reference}/previews/{token}.html")
def letter_preview_file(request: Request, user: Staff, reference: str, token: str) -> Response:
    """A letter being checked before it goes, shown in the check page's frame (only to the
    member of staff it was made for, for a short while; held where every worker finds it)."""
    html = letter_previews.held(state(request).ctx, user.username, reference, token)
    if html is None:
        return render(request, "message.html", "Page not found", status_code=404,
                      heading="Page not found", message="That preview has expired.")
    return Response(
        html.encode("utf-8"), media_type="text/html; charset=utf-8",
        headers={"content-security-policy": LETTER_CSP, "x-frame-options": "SAMEORIGIN",
                 "cache-control": "no-store"},
    )


# The input on the case page's correction form that each refused field points at.
DETAIL_INPUTS = {field: f"details-{field}" for field in (*person_details.FIELDS, "note")}


@router.post("/cases/{reference}/details", dependencies=[Depends(require_csrf)])
async def correct_details(request: Request, user: Staff, reference: str) -> Response:
    """Correct the person's contact details from the case page (the same service as
    `concerns case correct`)."""
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    changes = {field: posted[field] for field in person_details.FIELDS if field in posted}
    try:
        done = person_details.correct_respondent_details(
            state(request).ctx, user.username, reference, changes, posted.get("note", "")
        )
    except (BadInput, NotAllowed) as exc:
        # Shown on the form again with what was typed; nothing was stored.
        field = exc.field if isinstance(exc, BadInput) else ""
        return _case_page(
            request, user, reference, status_code=exc.http_status, details=posted,
            errors=[(DETAIL_INPUTS.get(field, "details-email"), exc.message)],
        )
    request.session["flash"] = f"Contact details corrected: {', '.join(done.changed)}."
    return RedirectResponse(f"/cases/{done.reference}", status_code=303)


LETTER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


@router.get("/cases/{reference}/letters/{letter_id:id}.{fmt}")
def stored_letter_file(
    request: Request, user: Staff, reference: str, letter_id: int, fmt: str
) -> Response:
    """One stored letter by its id, byte for byte (the assistant prints it to post)."""
    letter = letters_service.stored_letter(
        state(request).ctx, user.username, reference, letter_id, fmt
    )
    return _letter_response(letter)


def _letter_response(letter: letters_service.LetterFile) -> Response:
    if letter.format == "html":
        # Shown inside the case page's frame: its own inline styles, nothing else.
        return Response(
            letter.data, media_type="text/html; charset=utf-8",
            headers={"content-security-policy": LETTER_CSP, "x-frame-options": "SAMEORIGIN"},
        )
    return Response(
        letter.data, media_type=letter.media_type,
        headers={"content-disposition": f'attachment; filename="{letter.filename}"'},
    )


@router.get("/cases/{reference}/attachments/{attachment_id:id}")
def attachment_file(request: Request, user: Staff, reference: str, attachment_id: int) -> Response:
    """A file that came with a contact, downloaded as it was received (an attached message as
    .eml); never shown inline, so nothing in it runs on this site."""
    found = contact_attachment(state(request).ctx, user.username, reference, attachment_id)
    name = quote(found.filename, safe="")
    return Response(found.data, media_type=found.media_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{name}"})


@router.get("/cases/{reference}/letters/{kind}.{fmt}")
def letter_file(request: Request, user: Staff, reference: str, kind: str, fmt: str) -> Response:
    """A case's letter as stored (or a preview): HTML shown framed, PDF and Word downloaded."""
    try:
        letter = letters_service.render_case_letter(
            state(request).ctx, user.username, reference, kind, fmt
        )
    except BadInput as exc:
        if exc.field != "kind":
            raise
        # A path, not a form: an unknown letter (or an id too large to be one) is not found.
        raise NotFound(f"case {reference} has no letter {kind[:40]}") from None
    return _letter_response(letter)


@router.post(
    "/cases/{reference}/letters/{letter_id:id}/posted", dependencies=[Depends(require_csrf)]
)
def letter_posted(request: Request, user: Staff, reference: str, letter_id: int) -> Response:
    """The assistant records a letter as posted, from her queue."""
    try:
        done = posting.mark_posted(state(request).ctx, user.username, reference, letter_id)
    except (BadInput, NotAllowed, NotFound) as exc:
        if queries.QUEUE_ROLES["assistant"] not in user.roles:
            raise  # no queue to show it on: the refusal is a page of its own
        # Shown on the queue above the letters; nothing was recorded.
        return _queue_page(request, user, "assistant", errors=[("letters-to-post", exc.message)],
                           status_code=exc.http_status)
    request.session["flash"] = (
        f"Letter {done.letter_id} ({done.kind.replace('_', ' ')}) for case {done.reference} "
        "recorded as posted."
    )
    return RedirectResponse("/queue/assistant", status_code=303)


@router.get("/queue/director/{reference}")
def signoff_page(request: Request, user: Staff, reference: str) -> Response:
    require_role(user, frozenset({"director"}), "the sign-off queue")
    return _case_page(request, user, reference, template="signoff.html",
                      return_to="/queue/director")


@router.get("/log-contact")
def log_contact_page(request: Request, user: Staff) -> Response:
    require_role(user, submissions.INTAKE_ROLES, "logging a contact")
    return _log_form(request, {}, [])


def _log_form(
    request: Request, values: dict[str, str], errors: list[tuple[str, str]], status: int = 200
) -> Response:
    return render(
        request, "log_contact.html", "Log a contact", status_code=status, errors=errors,
        values=concern_form.FormValues(values), relationships=concern_form.RELATIONSHIP_LABELS,
        children=range(concern_form.LOGGED_CHILD_BLOCKS), channels=LOG_CHANNELS,
    )


@router.post("/log-contact", dependencies=[Depends(require_csrf)])
async def log_contact(request: Request, user: Staff) -> Response:
    require_role(user, submissions.INTAKE_ROLES, "logging a contact")
    ctx = state(request).ctx
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    errors: list[tuple[str, str]] = []
    channel = values.get("channel", "")
    if channel not in LOG_CHANNELS:
        errors.append(("channel", "Select how the concern was received"))
    received = concern_form.received_at(values, ctx.settings.calendar.timezone, ctx.now())
    if isinstance(received, str):
        errors.append((date_input.target("received", values, "received"), received))
        received_at = ctx.now()
    else:
        received_at = received
    checked = concern_form.check(
        values, received_at, max_concern=ctx.settings.intake.max_concern_characters
    )
    errors.extend((e.input_id, e.message) for e in checked.errors)
    if errors:
        return _log_form(request, values, errors, status=400)
    mapping: dict[str, Any] = {**checked.mapping, "channel": channel}
    raw = json.dumps(mapping, ensure_ascii=False).encode("utf-8")
    outcome = submissions.ingest_form(ctx, raw, source=f"logged by {user.username}",
                                 actor_name=user.username)
    request.session["flash"] = {
        "new_case": f"Logged as new case {outcome.reference}.",
        "added_to_case": f"Added to the open case {outcome.reference}.",
        "duplicate": f"Already logged (case {outcome.reference}).",
    }.get(outcome.status, "Could not be read: it is in the quarantine.")
    readable = bool(user.roles & CASE_READERS) and outcome.reference
    target = f"/cases/{outcome.reference}" if readable else "/log-contact"
    return RedirectResponse(target, status_code=303)
