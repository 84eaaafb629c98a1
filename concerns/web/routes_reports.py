"""The scrutiny report with its chart and downloads, and the quarantine of unreadable
submissions: both read through the same service functions as `concerns report scrutiny` and
`concerns intake quarantine`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from concerns.reports.scrutiny import FIGURES, LABELS, to_csv, to_html, to_pdf
from concerns.web.deps import StaffUser, render, signed_in, state

# The case page with a refused form on it, shown again (one place builds that page).
from concerns.web.routes_staff import _case_page as case_page_response
from concerns.web.security import require_csrf
from concerns.workflows import intake
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.learning import actions
from concerns.workflows.learning.scrutiny_service import parse_day, scrutiny_report

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffUser, Depends(signed_in)]
Day = Annotated[str | None, Query(max_length=10)]

CHART_WIDTH = 600
BAR_HEIGHT = 22


def _report(request: Request, user: StaffUser, start: str | None, end: str | None
            ) -> dict[str, Any]:
    return scrutiny_report(
        state(request).ctx, user.username, parse_day(start, "from"), parse_day(end, "to")
    )


def _chart(months: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars sized in SVG attributes (the CSP allows no inline styles)."""
    peak = max((m["contacts"] for m in months), default=0) or 1
    label_width = 80
    bars = [
        {"month": m["month"], "contacts": m["contacts"], "y": i * BAR_HEIGHT,
         "width": round((CHART_WIDTH - label_width - 40) * m["contacts"] / peak),
         "x": label_width}
        for i, m in enumerate(months)
    ]
    return {"bars": bars, "width": CHART_WIDTH, "height": max(1, len(bars)) * BAR_HEIGHT,
            "label_width": label_width}


@router.get("/reports/scrutiny")
def scrutiny_page(
    request: Request, user: Staff, start: Annotated[str | None, Query(alias="from",
                                                                      max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    try:
        report = _report(request, user, start, end)
    except BadInput as exc:
        field = "from" if exc.field == "from" else "to"
        report = _report(request, user, None, None)
        return render(
            request, "scrutiny.html", "Scrutiny report", status_code=422,
            errors=[(field, exc.message)], report=report, chart=_chart(report["contacts_by_month"]),
            figures=[(LABELS[n], report[n]) for n in FIGURES], start=start or "", end=end or "",
        )
    return render(
        request, "scrutiny.html", "Scrutiny report", report=report,
        chart=_chart(report["contacts_by_month"]),
        figures=[(LABELS[n], report[n]) for n in FIGURES], start=start or "", end=end or "",
    )


@router.get("/reports/scrutiny.{fmt}")
def scrutiny_download(
    request: Request, user: Staff, fmt: str,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    if fmt not in ("csv", "pdf"):
        raise BadInput("format", "one of csv, pdf")
    report = _report(request, user, start, end)
    ctx = state(request).ctx
    if fmt == "csv":
        data = to_csv(report).encode("utf-8")
        media = "text/csv; charset=utf-8"
    else:
        data = to_pdf(to_html(report, ctx.settings.council.name, ctx.now()))
        media = "application/pdf"
    return Response(
        data, media_type=media,
        headers={"content-disposition": f'attachment; filename="scrutiny-report.{fmt}"'},
    )


@router.get("/quarantine")
def quarantine_page(request: Request, user: Staff) -> Response:
    rows = intake.list_quarantine(state(request).ctx, user.username, include_set_aside=True)
    return render(request, "quarantine.html", "Quarantine", rows=rows)


@router.post("/actions/{action_id:int}/complete", dependencies=[Depends(require_csrf)])
async def complete_action(request: Request, user: Staff, action_id: int) -> Response:
    """Close an action arising with its evidence (the same service as `concerns action
    complete`); refused, the case page comes back with the evidence as typed."""
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    ctx = state(request).ctx
    try:
        done = actions.complete_action(ctx, user.username, action_id, posted.get("evidence", ""))
    except (BadInput, NotAllowed) as exc:
        reference = actions.reference_of(ctx, user.username, action_id)
        return case_page_response(
            request, user, reference, status_code=exc.http_status,
            errors=[(f"action-{action_id}-evidence", exc.message)],
        )
    request.session["flash"] = f"Action {done['id']} completed."
    return RedirectResponse(f"/cases/{done['reference']}#action-{done['id']}", status_code=303)
