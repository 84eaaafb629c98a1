"""The information officer's pages: the retention review queue (decisions in bulk, anonymising
the cases to be destroyed) and subject access requests (review the redactions, release the
bundle). The same service functions as `concerns retention …` and `concerns people export`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from concerns.web import date_input
from concerns.web.deps import StaffUser, render, signed_in, state
from concerns.web.security import posted_number, require_csrf
from concerns.workflows.errors import BadInput, NotAllowed, NotFound, day_field
from concerns.workflows.records import subject_access as sar
from concerns.workflows.records.decisions import DECISIONS
from concerns.workflows.records.retention import anonymise_due, decide, list_schedule

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffUser, Depends(signed_in)]
QUEUE = "/records/retention"
DECISION_LABELS = {
    "retain": "Retain until a date (for example a legal hold)",
    "review": "Review again on a date",
    "destroy": "Destroy (anonymise)",
}


def _queue(request: Request, user: StaffUser, *, status_code: int = 200,
           errors: list[tuple[str, str]] | None = None,
           typed: dict[str, Any] | None = None) -> Response:
    rows = list_schedule(state(request).ctx, user.username)
    return render(
        request, "records_retention.html", "Retention review", status_code=status_code,
        errors=errors, rows=rows, typed=typed or {"refs": []},
        decisions=[(k, DECISION_LABELS[k]) for k in DECISIONS],
        to_destroy=sum(1 for r in rows if r.state == "to_be_destroyed"),
    )


@router.get(QUEUE)
def retention_page(request: Request, user: Staff) -> Response:
    return _queue(request, user)


UNTIL_WORDS = "The date to review it again"


def _until_words(problem: str) -> str:
    """The service's refusal of the review date, as a sentence naming it."""
    if problem[:1].isupper():
        return problem
    if problem.startswith("required"):
        return "Enter the date to review it again: a case is retained until then"
    if problem.startswith("must"):
        return f"{UNTIL_WORDS} {problem}"
    return f"{UNTIL_WORDS}: {problem}"


def _day(value: str) -> date | None:
    return day_field(value, "until")


@router.post(f"{QUEUE}/decide", dependencies=[Depends(require_csrf)])
async def decide_post(request: Request, user: Staff) -> Response:
    form = await request.form()
    refs = [str(v) for v in form.getlist("refs")]
    decision = str(form.get("decision", ""))
    reason = str(form.get("reason", ""))
    boxes = {f"until-{p}": str(form.get(f"until-{p}", "")) for p in date_input.PARTS}
    until = date_input.joined(boxes, "until") or str(form.get("until", ""))
    typed: dict[str, Any] = {"refs": refs, "decision": decision, "reason": reason, **boxes}
    try:
        if not refs:
            raise BadInput("refs", "choose at least one case")
        wrong = date_input.problem(boxes, "until", UNTIL_WORDS)
        if wrong is not None:
            raise BadInput("until", wrong)
        done = decide(state(request).ctx, user.username, refs, decision, reason, _day(until))
    except (BadInput, NotAllowed) as exc:
        field = exc.field if isinstance(exc, BadInput) else "refs"
        anchor = {"decision": "decision", "reason": "reason"}.get(field, "refs")
        message = exc.message
        if isinstance(exc, BadInput) and field == "until":
            # The date's own box, and its name in words.
            anchor = date_input.target("until", boxes, "until")
            message = _until_words(exc.problem)
        return _queue(request, user, status_code=exc.http_status,
                      errors=[(anchor, message)], typed=typed)
    request.session["flash"] = (
        f"{len(done)} case(s): {DECISION_LABELS[decision].split(' (')[0].lower()}.")
    return RedirectResponse(QUEUE, status_code=303)


@router.post(f"{QUEUE}/anonymise", dependencies=[Depends(require_csrf)])
async def anonymise_post(request: Request, user: Staff) -> Response:
    form = await request.form()
    reason = str(form.get("anonymise_reason", ""))
    try:
        if not reason.strip():
            raise BadInput("anonymise_reason", "say why these cases are anonymised now")
        done = anonymise_due(state(request).ctx, user.username, reason)
    except (BadInput, NotAllowed) as exc:
        return _queue(request, user, status_code=exc.http_status,
                      errors=[("anonymise-reason", exc.message)])
    request.session["flash"] = f"{len(done)} case(s) anonymised."
    return RedirectResponse(QUEUE, status_code=303)


# --- subject access -------------------------------------------------------------------------

SAR = "/records/subject-access"


def _sar_page(request: Request, user: StaffUser, request_id: int, *, status_code: int = 200,
              errors: list[tuple[str, str]] | None = None, words: str = "") -> Response:
    shown = sar.review(state(request).ctx, user.username, request_id)
    return render(request, "records_subject_access.html",
                  f"Subject access request {request_id}", status_code=status_code,
                  errors=errors, sar=shown, words=words)


@router.post(f"{SAR}/open", dependencies=[Depends(require_csrf)])
async def sar_open(request: Request, user: Staff) -> Response:
    form = await request.form()
    raw = str(form.get("person", "")).strip()
    try:
        person = posted_number(raw)
        if person is None:
            raise BadInput("person", "enter the person's id (a number, as on the case page)")
        opened = sar.open_request(state(request).ctx, user.username, person)
    except (BadInput, NotAllowed, NotFound) as exc:
        return _queue(request, user, status_code=exc.http_status,
                      errors=[("person", exc.message)])
    if opened["opened_now"]:
        request.session["flash"] = (f"Request {opened['request']} opened: respond by "
                                    f"{opened['due']}.")
    return RedirectResponse(f"{SAR}/{opened['request']}", status_code=303)


@router.get(SAR + "/{request_id:id}")
def sar_review(request: Request, user: Staff, request_id: int) -> Response:
    return _sar_page(request, user, request_id)


@router.post(SAR + "/{request_id:id}/redactions", dependencies=[Depends(require_csrf)])
async def sar_redact(request: Request, user: Staff, request_id: int) -> Response:
    form = await request.form()
    ctx = state(request).ctx
    words = str(form.get("words", ""))
    toggle = str(form.get("toggle", ""))
    try:
        if toggle:
            rid, _, action = toggle.partition(":")
            redaction = posted_number(rid)
            if redaction is None:
                raise NotFound(f"request {request_id} has no such redaction")
            sar.set_redaction(ctx, user.username, request_id, redaction, action == "on")
        else:
            sar.add_redaction(ctx, user.username, request_id, words)
    except (BadInput, NotAllowed) as exc:
        return _sar_page(request, user, request_id, status_code=exc.http_status,
                         errors=[("words", exc.message)], words=words)
    return RedirectResponse(f"{SAR}/{request_id}", status_code=303)


@router.post(SAR + "/{request_id:id}/release", dependencies=[Depends(require_csrf)])
async def sar_release(request: Request, user: Staff, request_id: int) -> Response:
    try:
        done = sar.release(state(request).ctx, user.username, request_id)
    except NotAllowed as exc:
        return _sar_page(request, user, request_id, status_code=exc.http_status,
                         errors=[("release", exc.message)])
    return Response(done.data, media_type="application/zip", headers={
        "content-disposition": f'attachment; filename="{done.filename}"'})
