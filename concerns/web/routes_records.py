"""The information officer's pages: the retention review queue (decisions in bulk, anonymising
the cases to be destroyed). The same service functions as `concerns retention …`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from concerns.web.deps import StaffUser, render, signed_in, state
from concerns.web.security import require_csrf
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.records.retention import DECISIONS, anonymise_due, decide, list_schedule

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


def _day(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput("until", "enter the date as YYYY-MM-DD") from None


@router.post(f"{QUEUE}/decide", dependencies=[Depends(require_csrf)])
async def decide_post(request: Request, user: Staff) -> Response:
    form = await request.form()
    refs = [str(v) for v in form.getlist("refs")]
    decision = str(form.get("decision", ""))
    reason = str(form.get("reason", ""))
    until = str(form.get("until", ""))
    typed = {"refs": refs, "decision": decision, "reason": reason, "until": until}
    try:
        if not refs:
            raise BadInput("refs", "choose at least one case")
        done = decide(state(request).ctx, user.username, refs, decision, reason, _day(until))
    except (BadInput, NotAllowed) as exc:
        field = exc.field if isinstance(exc, BadInput) else "refs"
        anchor = {"decision": "decision", "reason": "reason", "until": "until"}.get(
            field, "refs")
        return _queue(request, user, status_code=exc.http_status,
                      errors=[(anchor, exc.message)], typed=typed)
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
