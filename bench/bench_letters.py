"""Milliseconds per one-page PDF letter, against rendering the same letter to HTML alone.

The baseline is the Jinja2 step on its own (sandboxed, autoescaped, checked templates); "ours"
is the whole letter as stored: that HTML laid out on A4 with embedded fonts by WeasyPrint. The
aim is at most 50 ms per PDF. Both are measured in this run, after one warm-up letter (the first
PDF loads the fonts).

Records go to bench/results.json (replacing earlier records of the same name) and are printed.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pypdf

from concerns.letters import LetterContent, Letterhead, LetterRenderer, Recipient

RESULTS = Path(__file__).resolve().parent / "results.json"
ROUNDS = 40
AIM_MS = 50.0

LETTERHEAD = Letterhead(
    council_name="Herefordshire Council",
    department="Children and Families Directorate",
    team="Independent Assurance Team",
    address=("Plough Lane", "Hereford", "HR4 0LE"),
    email="concernsaboutcare@example.gov.uk",
    phone="01432 260000",
    director_name="Dana Whitfield",
    director_title="Director of Children's Services",
)
LETTER = LetterContent(
    kind="outcome",
    reference="CAC-2026-0042",
    letter_date=date(2026, 11, 23),
    recipient=Recipient("Morgan Ellery", ("14 Orchard Row", "Leominster"), "HR6 8AB"),
    children=("Riley Ellery",),
    reply_by=date(2026, 12, 21),
    wording=(
        "Thank you for telling us about your experience. We have read all the records of our "
        "work with your family. We found that the reasons for our decisions were not written "
        "down for you, and we are sorry.\n\nSince 2019 every family receives a written summary "
        "after each review meeting."
    ),
)


def per_call_ms(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Median milliseconds of one call: the median resists a stray pause on a busy machine."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def record(records: list[dict[str, object]]) -> None:
    """Append to bench/results.json, replacing earlier records with the same names."""
    existing: list[dict[str, object]] = []
    if RESULTS.exists():
        try:
            loaded = json.loads(RESULTS.read_text())
            existing = loaded if isinstance(loaded, list) else []
        except json.JSONDecodeError:
            existing = []
    names = {r["name"] for r in records}
    kept = [r for r in existing if r.get("name") not in names]
    RESULTS.write_text(json.dumps(kept + records, indent=2) + "\n")


def main() -> int:
    renderer = LetterRenderer(LETTERHEAD)
    warm = renderer.pdf(LETTER)
    pages = len(pypdf.PdfReader(io.BytesIO(warm)).pages)
    if pages != 1:
        print(f"bench_letters: expected a one-page letter, got {pages} pages", file=sys.stderr)
        return 1
    html_ms = per_call_ms(lambda: renderer.html(LETTER))
    pdf_ms = per_call_ms(lambda: renderer.pdf(LETTER))
    row = {
        "name": "letters: one-page PDF letter vs HTML only",
        "ours": round(pdf_ms, 3),
        "baseline": round(html_ms, 3),
        "unit": "ms",
        "ratio": round(pdf_ms / html_ms, 1) if html_ms else None,
    }
    record([row])
    print(f"{'name':45} {'ours':>9} {'baseline':>9} {'unit':>4} {'ratio':>7}")
    print(f"{row['name']:45} {pdf_ms:9.2f} {html_ms:9.3f} {'ms':>4} {row['ratio']:>7}")
    verdict = "within" if pdf_ms <= AIM_MS else "over"
    print(f"PDF letter: {pdf_ms:.1f} ms, {verdict} the {AIM_MS:.0f} ms aim")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
