"""A letter being checked before it goes is held in the database, so that with several web
workers the check page's frame finds it whichever worker serves it; only its own member of
staff sees it, the event that sends the letter deletes it, and the scheduler deletes it once
expired."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import func, select

from concerns.db.engine import make_engine
from concerns.db.models import LetterPreview
from concerns.workflows.context import AppContext
from concerns.workflows.queries import show_case
from concerns.workflows.scheduler import run_cycle
from tests.factories import create_staff, log_concern, walk_to_review
from tests.integration.web_helpers import (
    LETTER_SEEN_RE,
    PASSWORD,
    client_for,
    fire,
    sign_in,
)

FRAME_RE = re.compile(r'src="(/cases/[^"]+/previews/[^"]+\.html)"')


def _previews(ctx: AppContext) -> int:
    with ctx.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(LetterPreview)) or 0)


def test_a_preview_made_by_one_worker_is_shown_by_another(ctx: AppContext) -> None:
    create_staff(ctx, PASSWORD)
    ref = log_concern(ctx)
    # Two web workers: two apps, each with its own engine and memory, over one database.
    other = AppContext(ctx.settings, make_engine(ctx.settings.database_url))
    try:
        first, second = client_for(ctx), client_for(other)
        csrf = sign_in(first, "alex")
        second.cookies = first.cookies  # the browser's next request reaches the other worker
        shown = first.post(f"/cases/{ref}/events/acknowledge", data={"csrf_token": csrf})
        assert shown.status_code == 200 and "Check the letter before it goes" in shown.text
        found = FRAME_RE.search(shown.text)
        assert found, "no letter frame on the check page"
        frame = second.get(found.group(1))
        assert frame.status_code == 200, frame.text
        # Exactly the letter the check page vouches for.
        seen = LETTER_SEEN_RE.search(shown.text)
        assert seen and hashlib.sha256(frame.content).hexdigest() == seen.group(1)
        assert frame.headers["cache-control"] == "no-store"
        assert _previews(ctx) == 1

        # Only for the member of staff it was made for, and only on its case.
        morgan = client_for(other)
        sign_in(morgan, "morgan")
        assert morgan.get(found.group(1)).status_code == 404
        assert second.get(found.group(1).replace(ref, "CAC-2000-0001")).status_code == 404
        assert second.get(f"/cases/{ref}/previews/not-a-token.html").status_code == 404

        # Sending the letter (through the other worker) deletes the preview it answers.
        assert fire(second, csrf, ref, "acknowledge").status_code == 303
        assert _previews(ctx) == 0
        assert second.get(found.group(1)).status_code == 404
    finally:
        other.engine.dispose()


def test_an_expired_preview_is_not_shown_and_the_scheduler_deletes_it(ctx: AppContext) -> None:
    create_staff(ctx, PASSWORD)
    ref = log_concern(ctx)
    client = client_for(ctx)
    csrf = sign_in(client, "alex")
    shown = client.post(f"/cases/{ref}/events/acknowledge", data={"csrf_token": csrf})
    found = FRAME_RE.search(shown.text)
    assert found
    now = ctx.now()
    assert run_cycle(ctx, now, deliver=False).previews_forgotten == 0
    with freeze_time(now + timedelta(minutes=31)):
        assert client.get(found.group(1)).status_code == 404
    result = run_cycle(ctx, now + timedelta(minutes=31), deliver=False)
    assert result.previews_forgotten == 1
    assert result.to_dict()["previews_forgotten"] == 1
    assert _previews(ctx) == 0


def test_the_reviewer_sees_the_outcome_letter_around_her_wording_before_it_goes_on(
    ctx: AppContext,
) -> None:
    create_staff(ctx, PASSWORD)
    ref = log_concern(ctx)
    walk_to_review(ctx, ref)
    client = client_for(ctx)
    csrf = sign_in(client, "alex")
    page = client.get(f"/cases/{ref}/events/submit_outcome")
    assert "Check the letter" in page.text
    form = {"csrf_token": csrf, "summary": "Records read.",
            "wording": "We are sorry the plan was not shared with you.",
            "finding.communication_with_families": "The plan was not shared.",
            "note": "Internal: spoke to the team manager."}
    shown = client.post(f"/cases/{ref}/events/submit_outcome", data=form)
    assert shown.status_code == 200 and "Check your wording in the letter" in shown.text
    assert "We are sorry the plan was not shared with you." in shown.text  # kept, in hidden fields
    found = FRAME_RE.search(shown.text)
    assert found
    letter = client.get(found.group(1)).text
    # Her wording in place, with the template's own words around it, and never the note.
    opening = letter.index("Thank you for raising your concern")
    assert opening < letter.index("We are sorry the plan was not shared with you.") < letter.index(
        "If you are not happy with this outcome")
    assert "Internal" not in letter
    # Nothing is stored yet: the case is still in review, with no wording on it.
    assert show_case(ctx, "alex", ref)["state"] == "in_review"
    # Changing the wording brings the form back with everything typed.
    again = client.post(f"/cases/{ref}/events/submit_outcome", data={**form, "step": "change"})
    assert "We are sorry the plan was not shared with you." in again.text
    assert "Internal: spoke to the team manager." in again.text
    assert fire(client, csrf, ref, "submit_outcome", **{
        k: v for k, v in form.items() if k != "csrf_token"}).status_code == 303
    assert show_case(ctx, "alex", ref)["state"] == "awaiting_signoff"
    assert _previews(ctx) == 0  # the drafts she read are deleted once used
