"""Scrutiny exports without a database: CSV safe against formula injection, HTML escaped,
periods in London time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest

from concerns.reports.scrutiny import FIGURES, Period, csv_safe, to_csv, to_html


def report(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {name: 1 for name in FIGURES}
    data.update({
        "period": {"from": "2021-04-01", "to": "2021-04-30"},
        "contacts_by_month": [{"month": "2021-04", "contacts": 3}],
        "contacts_by_channel": {"email": 2, "web": 1},
        "forwarded_contacts": 1, "quarantined": 0, "set_aside": 0,
    })
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("-1", "-1"),
        ("-1.5", "-1.5"),
        (25, "25"),
        (None, ""),
        ("plain", "plain"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_made_text(value: object, expected: str) -> None:
    assert csv_safe(value) == expected


def test_the_csv_lists_every_figure_and_month_and_never_starts_a_cell_with_a_formula() -> None:
    text = to_csv(report(contacts_by_channel={"=HYPERLINK(\"x\")": 1}))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["figure", "value"]
    names = [r[0] for r in rows]
    assert all(name in names for name in FIGURES)
    assert ["contacts_by_month:2021-04", "3"] in rows
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_the_html_escapes_whatever_it_is_given() -> None:
    html = to_html(report(contacts_by_channel={"<script>alert(1)</script>": 1}),
                   "<b>Council</b>", datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;Council&lt;/b&gt;" in html


def test_a_period_runs_from_london_midnight_to_london_midnight_inclusive() -> None:
    lo, hi = Period(date(2021, 5, 1), date(2021, 5, 31)).bounds()
    assert lo == datetime(2021, 4, 30, 23, 0, tzinfo=UTC)
    assert hi == datetime(2021, 5, 31, 23, 0, tzinfo=UTC)
    assert Period(None, None).bounds() == (None, None)
