"""The scrutiny report with its chart and downloads, and the quarantine of unreadable
submissions: both read through the same service functions as `concerns report scrutiny` and
`concerns intake quarantine`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from concerns.reports import drilldown
from concerns.reports.figures import bar_chart, month_words
from concerns.reports.scrutiny import FIGURES, LABELS, to_csv, to_html, to_pdf
from concerns.web import date_input
from concerns.web.deps import StaffUser, render, signed_in, state

# The case page with a refused form on it, shown again (one place builds that page).
from concerns.web.routes_staff import _case_page as case_page_response
from concerns.web.security import require_csrf
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.errors import day_field as parse_day
from concerns.workflows.intake import submissions
from concerns.workflows.learning import actions
from concerns.workflows.learning.scrutiny_service import (
    DRILL_ROLES,
    figure_cases,
    scrutiny_report,
)
from concerns.workflows.reminders import clock_label

router = APIRouter(include_in_schema=False)
Staff = Annotated[StaffUser, Depends(signed_in)]

Day = Annotated[str | None, Query(max_length=10)]


# The report's period on its page, by the name each date input and link uses.
PERIOD_WORDS = {"from": "The start of the period", "to": "The end of the period",
                "since": "Newly overdue since"}


def _query(start: str | None, end: str | None, since: str | None) -> dict[str, str]:
    return {"from": start or "", "to": end or "", "since": since or ""}


def _report(request: Request, user: StaffUser, query: dict[str, str], publish: bool = False
            ) -> dict[str, Any]:
    return scrutiny_report(
        state(request).ctx, user.username, parse_day(query["from"], "from"),
        parse_day(query["to"], "to"), publish=publish,
        overdue_since=parse_day(query["since"], "since"),
    )


def _charts(report: dict[str, Any]) -> dict[str, Any]:
    timeliness = [(t["label"][:1].upper() + t["label"][1:], t["on_time_share"])
                  for t in report["timeliness"].values() if t["on_time_share"] is not None]
    return {
        "months": bar_chart("Contacts received each month",
                            [(month_words(m["month"]), m["contacts"])
                             for m in report["contacts_by_month"]], chart_id="chart-months"),
        "timeliness_rows": timeliness,
        "timeliness": bar_chart("Share of deadlines met on time, by stage", timeliness,
                                percent=True, chart_id="chart-timeliness"),
        "themes": bar_chart("Findings by learning theme",
                            [(t["label"], t["findings"])
                             for t in report["themes"]["by_theme"].values()],
                            chart_id="chart-themes"),
    }


def _page(request: Request, user: StaffUser, report: dict[str, Any], query: dict[str, str],
          errors: list[tuple[str, str]] | None = None, status_code: int = 200,
          boxes: dict[str, str] | None = None) -> Response:
    return render(
        request, "scrutiny.html", "Scrutiny report", status_code=status_code, errors=errors,
        boxes=boxes or {}, periods=PERIOD_WORDS,
        report=report, charts=_charts(report), query=query, qs=urlencode(query),
        figures=[(n, LABELS[n], report[n]) for n in FIGURES],
        may_drill=bool(user.roles & DRILL_ROLES), drill_figures=drilldown.FIGURES,
    )


@router.get("/reports/scrutiny")
def scrutiny_page(
    request: Request, user: Staff, start: Annotated[str | None, Query(alias="from",
                                                                      max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    since: Day = None,
) -> Response:
    # The form's GOV.UK date inputs (from-day, from-month, from-year, …); links carry the
    # dates as YYYY-MM-DD.
    boxes = {f"{name}-{p}": request.query_params.get(f"{name}-{p}", "")[:10]
             for name in PERIOD_WORDS for p in date_input.PARTS}
    given = {name: date_input.joined(boxes, name) for name in PERIOD_WORDS}
    query = _query(given["from"] or start, given["to"] or end, given["since"] or since)
    for name in PERIOD_WORDS:
        if not any(date_input.typed(boxes, name)):
            boxes |= {f"{name}-{p}": v for p, v in date_input.split(query[name]).items()}
    try:
        for name, words in PERIOD_WORDS.items():
            wrong = date_input.problem(boxes, name, words)
            if wrong is not None:
                raise BadInput(name, wrong)
        report = _report(request, user, query)
    except BadInput as exc:
        field = exc.field if exc.field in PERIOD_WORDS else "from"
        message = exc.problem if exc.problem[:1].isupper() else (
            f"{PERIOD_WORDS[field]}: {exc.problem}")
        return _page(request, user, _report(request, user, _query(None, None, None)), query,
                     errors=[(date_input.target(field, boxes, field), message)],
                     status_code=422, boxes=boxes)
    return _page(request, user, report, query, boxes=boxes)


@router.get("/reports/scrutiny/cases")
def scrutiny_cases(
    request: Request, user: Staff,
    figure: Annotated[str, Query(max_length=60)],
    key: Annotated[str | None, Query(max_length=60)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    since: Day = None,
) -> Response:
    """The cases behind one figure (staff who may read cases)."""
    query = _query(start, end, since)
    found = figure_cases(
        state(request).ctx, user.username, figure, key or None, parse_day(query["from"], "from"),
        parse_day(query["to"], "to"), parse_day(query["since"], "since"),
    )
    return render(request, "scrutiny_cases.html", "Cases behind a figure", found=found,
                  query=query, title_words=_figure_words(figure, key, request))


def _figure_words(figure: str, key: str | None, request: Request) -> str:
    settings = state(request).ctx.settings
    words = LABELS.get(figure) or figure.replace("_", " ").capitalize()
    if key:
        key_words = (settings.learning.theme_labels.get(key) or clock_label(key))
        words += f": {key_words}"
    return words


@router.get("/reports/scrutiny.{fmt}")
def scrutiny_download(
    request: Request, user: Staff, fmt: str,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    since: Day = None,
    publish: Annotated[str | None, Query(max_length=3)] = None,
) -> Response:
    if fmt not in ("csv", "pdf"):
        raise BadInput("format", "one of csv, pdf")
    public = publish == "yes"
    report = _report(request, user, _query(start, end, since), publish=public)
    ctx = state(request).ctx
    if fmt == "csv":
        data = to_csv(report).encode("utf-8")
        media = "text/csv; charset=utf-8"
    else:
        data = to_pdf(to_html(report, ctx.settings.council.name, ctx.now()))
        media = "application/pdf"
    name = f"scrutiny-report{'-for-publication' if public else ''}.{fmt}"
    return Response(
        data, media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/quarantine")
def quarantine_page(request: Request, user: Staff) -> Response:
    rows = submissions.list_quarantine(state(request).ctx, user.username, include_set_aside=True)
    return render(request, "quarantine.html", "Quarantine", rows=rows)


@router.post("/actions/{action_id:id}/complete", dependencies=[Depends(require_csrf)])
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
