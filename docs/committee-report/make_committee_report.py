"""Builds a small half-year register through the services (27 cases, January to June 2026) and
writes the committee report, staff version and version for publication, into this folder.

    .venv/bin/python docs/committee-report/make_committee_report.py

The PNG pages beside it were rendered from the PDF with pypdfium2 and looked at page by page.
"""
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import shutil

from freezegun import freeze_time

from concerns.reports.scrutiny import to_html, to_pdf
from concerns.workflows.learning.scrutiny_service import scrutiny_report
from concerns.workflows.lifecycle import fire_event
from tests.conftest import _sqlite_ctx
from tests.factories import act, create_staff, log_concern, walk_to_review

folder = Path("var/committee-report-demo"); shutil.rmtree(folder, ignore_errors=True); folder.mkdir()
ctx = _sqlite_ctx(folder)
create_staff(ctx)
themes = ["communication_with_families", "record_keeping", "consent", "timeliness_of_visits",
          "assessment_accuracy", "management_oversight", "multi_agency_working"]
n = 0
for month in range(1, 7):
    for k in range(2 + (6 - month)):
        n += 1
        at = datetime(2026, month, 3 + k * 3, 10, 0, tzinfo=UTC)
        with freeze_time(at):
            ref = log_concern(ctx, submitted_at=at, phone=None)
        if n % 7 == 0:
            continue  # still logged
        with freeze_time(at + timedelta(days=1 + n % 5)):
            walk_to_review(ctx, ref)
        if n % 5 == 0:
            with freeze_time(at + timedelta(days=3)):
                act(ctx, ref, "raise_escalation", "alex", severity="safeguarding" if n % 2 else "practice", to="MASH")
            with freeze_time(at + timedelta(days=3, hours=2 + n % 9)):
                act(ctx, ref, "resolve_escalation", "morgan")
        done = at + timedelta(days=20 + n % 25)
        values = {"summary": "Records read.", "wording": "We are sorry.",
                  f"finding.{themes[n % 7]}": "The plan was not explained to the family.",
                  f"finding.{themes[(n * 3) % 7]}": "Case notes were not written up for weeks."}
        if n % 3 == 0:
            values |= {"action.1.what": "Written summary after each meeting.",
                       "action.1.owner": "Children in Need service",
                       "action.1.theme": themes[n % 7],
                       "action.1.due": ctx.calendar.add_working_days(done.date(), 30).isoformat()}
        with freeze_time(done):
            fire_event(ctx, ref, "submit_outcome", "alex", values)
        if n % 4 != 0:
            with freeze_time(done + timedelta(days=2 + n % 6)):
                act(ctx, ref, "authorise", "dana")
print("cases", n)
with freeze_time(datetime(2026, 7, 10, 9, tzinfo=UTC)):
    for publish, name in ((False, "staff"), (True, "publication")):
        report = scrutiny_report(ctx, "morgan", date(2026, 1, 1), date(2026, 6, 30), publish=publish)
        pdf = to_pdf(to_html(report, ctx.settings.council.name, ctx.now()))
        Path(f"docs/committee-report/committee-report-{name}.pdf").write_bytes(pdf)

import pypdfium2 as pdfium  # noqa: E402

document = pdfium.PdfDocument("docs/committee-report/committee-report-publication.pdf")
for i in range(len(document)):
    document[i].render(scale=1.0).to_pil().save(f"docs/committee-report/page-{i + 1}.png")
