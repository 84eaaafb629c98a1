"""The IAT manager's conflicts of interest: staff perhaps named in a concern, each confirmed (they
stay out of the case) or cleared (they may open it) with a reason kept in the audit trail. The
same service functions as `concerns conflict list|clear|confirm`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from concerns.web.deps import StaffUser, render, signed_in, state
from concerns.web.security import require_csrf
from concerns.workflows.access import conflicts
from concerns.workflows.errors import BadInput

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffUser, Depends(signed_in)]
Reference = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
Username = Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9._-]*$")]
PAGE = "/conflicts"
DECISIONS = {
    "confirm": ("It is them: they stay out of the case", "confirmed: they stay out of the case"),
    "clear": ("It is not them: they may open the case", "cleared: they may open the case"),
}
SOURCES = {"staff_named": "Staff named in the concern", "concern_text": "The concern's text"}
STATUSES = {"open": "Waiting for a decision", "confirmed": "Confirmed", "cleared": "Cleared"}


@router.get(PAGE)
def conflicts_page(
    request: Request, user: Staff, every: Annotated[str | None, Query(alias="all",
                                                                     max_length=3)] = None,
) -> Response:
    """Possible conflicts waiting for a decision (with ?all=yes, every finding)."""
    rows = conflicts.list_conflicts(state(request).ctx, user.username,
                                    open_only=every != "yes")
    return render(request, "conflicts.html", "Conflicts of interest", rows=rows,
                  every=every == "yes", sources=SOURCES, statuses=STATUSES)


def _decide_page(request: Request, user: StaffUser, reference: str, username: str, *,
                 errors: list[tuple[str, str]] | None = None,
                 typed: dict[str, str] | None = None, status_code: int = 200) -> Response:
    found = conflicts.conflict_for(state(request).ctx, user.username, reference, username)
    return render(request, "conflict_decide.html",
                  f"Possible conflict of interest: case {found.reference}",
                  status_code=status_code, errors=errors, found=found, typed=typed or {},
                  decisions=[(k, v[0]) for k, v in DECISIONS.items()], sources=SOURCES,
                  statuses=STATUSES)


@router.get(PAGE + "/{reference}/{username}")
def decide_page(request: Request, user: Staff, reference: Reference,
                username: Username) -> Response:
    return _decide_page(request, user, reference, username)


@router.post(PAGE + "/{reference}/{username}", dependencies=[Depends(require_csrf)])
async def decide_post(request: Request, user: Staff, reference: Reference,
                      username: Username) -> Response:
    form = await request.form()
    typed = {"decision": str(form.get("decision") or ""), "reason": str(form.get("reason") or "")}
    # Both blanks are named at once; every other refusal is the service's own.
    errors: list[tuple[str, str]] = []
    if typed["decision"] not in DECISIONS:
        errors.append(("decision-confirm", "Choose whether it is them or not"))
    if not typed["reason"].strip():
        errors.append(("reason", "Enter the reason for the decision"))
    if not errors:
        try:
            info = conflicts.decide_conflict(state(request).ctx, user.username, reference,
                                             username, typed["decision"], typed["reason"])
        except BadInput as exc:
            errors.append(("reason" if exc.field == "reason" else "decision-confirm",
                           exc.message))
        else:
            request.session["flash"] = (f"Case {info.reference}: {info.full_name or info.username}"
                                        f" {DECISIONS[typed['decision']][1]}.")
            return RedirectResponse(PAGE, status_code=303)
    return _decide_page(request, user, reference, username, errors=errors, typed=typed,
                        status_code=400)
