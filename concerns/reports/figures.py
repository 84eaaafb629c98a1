"""Pure helpers of the scrutiny report: months and quarters in words, percentiles from a count
histogram, the small-number rule for publication, and hand-written SVG bar charts.

No database and no I/O: the numbers come from reports/scrutiny.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from markupsafe import Markup, escape

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def month_words(key: str) -> str:
    """2021-04 → April 2021."""
    year, month = key.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def quarter_of(month_key: str) -> str:
    """2021-04 → 2021-Q2 (calendar quarters)."""
    year, month = month_key.split("-")
    return f"{year}-Q{(int(month) - 1) // 3 + 1}"


def quarter_words(key: str) -> str:
    """2021-Q2 → April to June 2021."""
    year, q = key.split("-Q")
    first = (int(q) - 1) * 3
    return f"{MONTHS[first]} to {MONTHS[first + 2]} {year}"


def day_words(value: str | date | None) -> str:
    if value is None:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def months_between(first: str, last: str) -> list[str]:
    """Every month key from FIRST to LAST inclusive."""
    y, m = int(first[:4]), int(first[5:])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def nearest_rank(histogram: Mapping[int, int], share: float) -> int | None:
    """The value at the nearest rank ⌈share × n⌉ of a {value: count} histogram (None if empty):
    the median is share 0.5, the 90th percentile 0.9."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(share * n))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # pragma: no cover - the loop always reaches rank


# --- the small-number rule ------------------------------------------------------------------

# Whole numbers in the report that are not counts of cases or people: never suppressed.
NOT_COUNTS = frozenset({
    "oldest_involvement_years", "newest_involvement_years", "target_days", "median_days",
    "p90_days", "median_hours", "p90_hours", "extension_days", "publish_threshold",
})
# Figures worked out from the count named beside them: hidden when that count is small.
DERIVED_FROM = {
    "on_time_share": "completed", "median_days": "completed", "p90_days": "completed",
    "extension_days": "extended", "median_hours": "resolved", "p90_hours": "resolved",
}
# Parts of the staff version that name cases or carry free text: left out of publication.
STAFF_ONLY = ("staff_findings", "overdue_items", "references")


def fewer_than(threshold: int) -> str:
    return f"fewer than {threshold}"


def suppress(value: Any, threshold: int) -> Any:
    """Counts from 1 to THRESHOLD - 1 become "fewer than THRESHOLD" (zero stays zero), in the
    report and everything nested in it; staff-only parts are dropped."""
    if isinstance(value, list):
        return [suppress(v, threshold) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in STAFF_ONLY:
            continue
        basis = DERIVED_FROM.get(key)
        if basis is not None and isinstance(value.get(basis), int) and (
            0 < value[basis] < threshold
        ):
            out[key] = None
        elif isinstance(item, bool) or key in NOT_COUNTS:
            out[key] = item
        elif isinstance(item, int) and 0 < item < threshold:
            out[key] = fewer_than(threshold)
        else:
            out[key] = suppress(item, threshold)
    return out


def shown(value: Any) -> str:
    """A figure as printed: – for none, the words for a suppressed count."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{round(value * 100)}%"
    return str(value)


# --- charts ---------------------------------------------------------------------------------

BLUE = "#1d70b8"
GREY = "#b1b4b6"
INK = "#0b0c0c"


def bar_chart(
    title: str, rows: Iterable[tuple[str, Any]], *, width: int = 640, label_width: int = 230,
    percent: bool = False, chart_id: str = "chart",
) -> Markup:
    """A horizontal bar chart in SVG (attributes only: the pages' CSP allows no inline style).
    A value that is not a number (a suppressed count) gets no bar, only its words."""
    items = list(rows)
    numbers = [v for _, v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    peak = 1.0 if percent else float(max(numbers, default=0) or 1)
    bar_h, gap = 18, 8
    height = max(1, len(items)) * (bar_h + gap) + 8
    room = width - label_width - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" font-family="Arial, Helvetica, sans-serif">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * (bar_h + gap)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 14}" font-size="13" text-anchor="end" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        length = round(room * float(value) / peak) if is_number and peak else 0
        if is_number:
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{max(length, 1 if value else 0)}" '
                f'height="{bar_h}" fill="{BLUE}"></rect>'
            )
        text = shown(value) if not is_number or not percent else f"{round(float(value) * 100)}%"
        parts.append(
            f'<text x="{label_width + length + 6}" y="{y + 14}" font-size="13" '
            f'fill="{INK if is_number else "#505a5f"}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
