"""Milliseconds per one-page PDF letter, against rendering the same letter to HTML alone.

The baseline is the Jinja2 step on its own (sandboxed, autoescaped, checked templates); "ours"
is the whole letter as stored: that HTML laid out on A4 with embedded fonts by WeasyPrint. The
aim is at most 50 ms per PDF. Both are measured in this run, after one warm-up letter (the first
PDF loads the fonts).

The record goes to bench/results.json through bench/common.py, like every benchmark's.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pypdf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402
from concerns.letters import LetterContent, Letterhead, LetterRenderer, Recipient  # noqa: E402

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
    """Median CPU milliseconds of one call.

    CPU time of this process (rendering is single-threaded), so other work on a shared machine
    does not inflate it; the median resists a stray garbage collection.
    """
    times = []
    for _ in range(rounds):
        started = time.process_time()
        fn()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    renderer = LetterRenderer(LETTERHEAD)
    warm = renderer.pdf(LETTER)
    pages = len(pypdf.PdfReader(io.BytesIO(warm)).pages)
    if pages != 1:
        print(f"bench_letters: expected a one-page letter, got {pages} pages", file=sys.stderr)
        return 1
    html_ms = per_call_ms(lambda: renderer.html(LETTER))
    pdf_ms = per_call_ms(lambda: renderer.pdf(LETTER))
    record("letters: one-page PDF letter (vs the same letter as HTML only)", pdf_ms, html_ms, "ms")
    verdict = "within" if pdf_ms <= AIM_MS else "over"
    print(f"PDF letter: {pdf_ms:.1f} ms, {verdict} the {AIM_MS:.0f} ms aim")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
