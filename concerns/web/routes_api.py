"""The JSON API under /api: the same service calls as the pages and the CLI's --json output.

Signed in with the same session cookie as the pages; every state-changing call needs the
session's CSRF token in the X-CSRF-Token header.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from concerns.web.deps import StaffUser, signed_in, state
from concerns.web.security import csrf_token, require_csrf
from concerns.workflows import lifecycle, queries
from concerns.workflows.machine import STATES

router = APIRouter(prefix="/api", tags=["cases"])
Staff = Annotated[StaffUser, Depends(signed_in)]
Reference = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


class Me(BaseModel):
    username: str
    full_name: str
    roles: list[str]
    csrf_token: str = Field(description="Send as X-CSRF-Token on every POST.")


class CaseSummary(BaseModel):
    reference: str
    state: str
    received_at: str
    respondent_name: str
    owner: str | None
    overdue: bool
    version: int


class QueueItem(CaseSummary):
    events: list[str]
    due: str | None


class EventField(BaseModel):
    name: str
    kind: str
    choices: list[str]
    required: bool


class AvailableEvent(BaseModel):
    event: str
    description: str
    note_required: bool
    fields: list[EventField]


class EventRequest(BaseModel):
    values: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=20_000)]] = (
        Field(default_factory=dict, description="The --set values, as text.")
    )
    note: Annotated[str | None, Field(max_length=20_000)] = None
    version: int | None = Field(
        default=None, ge=1, description="The case version you read; refused (409) if it changed."
    )


class EventResponse(BaseModel):
    reference: str
    event: str
    from_state: str
    to_state: str
    version: int
    data: dict[str, Any]


class Problem(BaseModel):
    error: str
    field: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not signed in"},
    403: {"model": Problem, "description": "Not allowed: role, guard or conflict of interest"},
    404: {"model": Problem, "description": "No such case"},
    422: {"model": Problem, "description": "Bad input: names the field"},
}


@router.get("/me", response_model=Me, responses=ERRORS)
def me(request: Request, user: Staff) -> Me:
    return Me(username=user.username, full_name=user.full_name, roles=sorted(user.roles),
              csrf_token=csrf_token(request))


@router.get("/cases", response_model=list[CaseSummary], responses=ERRORS)
def list_cases(
    request: Request,
    user: Staff,
    state_: Annotated[
        str | None, Query(alias="state", max_length=40, description="One of " + ", ".join(STATES))
    ] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[dict[str, Any]]:
    return queries.list_cases(
        state(request).ctx, user.username, state=state_, owner=owner or None, overdue=overdue,
        search=q or None, limit=limit,
    )


@router.get("/cases/{reference}", responses=ERRORS)
def show_case(request: Request, user: Staff, reference: Reference) -> dict[str, Any]:
    """The case in full, as `concerns case show --json`; the view is audited."""
    return queries.show_case(state(request).ctx, user.username, reference, actor=user.actor)


@router.get("/cases/{reference}/events", response_model=list[AvailableEvent], responses=ERRORS)
def case_events(request: Request, user: Staff, reference: Reference) -> list[dict[str, Any]]:
    return queries.events_for(state(request).ctx, user.username, reference)


@router.post(
    "/cases/{reference}/events/{event}",
    response_model=EventResponse,
    responses={**ERRORS, 409: {"model": Problem, "description": "The case changed: reload"}},
    dependencies=[Depends(require_csrf)],
)
def fire_event(
    request: Request,
    user: Staff,
    reference: Reference,
    event: Annotated[str, Path(max_length=60, pattern=r"^[a-z_]+$")],
    body: EventRequest,
) -> dict[str, Any]:
    result = lifecycle.fire_event(
        state(request).ctx, reference, event, user.username, body.values, body.note,
        expected_version=body.version,
    )
    return {
        "reference": result.reference, "event": result.event, "from_state": result.from_state,
        "to_state": result.to_state, "version": result.version, "data": result.data,
    }


@router.get("/queue/{which}", response_model=list[QueueItem], responses=ERRORS)
def queue(
    request: Request, user: Staff, which: Literal["director", "assistant", "mine"]
) -> list[dict[str, Any]]:
    return queries.queue(state(request).ctx, user.username, which, actor=user.actor,
                         user_id=user.id)
