"""The imported rows to check: what the legacy register import flagged (a stage it could not
place, a date that could be read two ways, a row with no name...), read through the same service
as `concerns intake import --report`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from concerns.web.deps import StaffUser, render, signed_in, state
from concerns.workflows.intake.register_import import rows_to_check

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffUser, Depends(signed_in)]


@router.get("/imported-rows")
def imported_rows_page(request: Request, user: Staff) -> Response:
    rows = rows_to_check(state(request).ctx, user.username)
    return render(request, "imported_rows.html", "Imported rows to check", rows=rows)
