"""Letters that go by post: listed for the executive assistant, recorded once as posted.

Runs on a real SQLite file and on the real PostgreSQL.
"""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from concerns.db.models import Case, Event, Letter, Notification
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed, NotFound, ServiceError
from concerns.workflows.intake.submissions import ingest_form
from concerns.workflows.posting import letters_to_post, mark_posted
from concerns.workflows.queries import queue
from tests.factories import act, create_staff, walk_to_signoff


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def log(
    ctx: AppContext,
    *,
    name: str = "Rowan Hale",
    email: str | None = None,
    address: str | None = "3 Mill Lane, Bromyard",
    staff_named: list[str] | None = None,
) -> str:
    """A concern from a person who gave a postal address and, unless told, no email."""
    respondent = {"name": name, "address": address, "postcode": "HR7 4AA", "email": email,
                  "phone": "01885 555010", "relationship": "parent"}
    form = {
        "submitted_at": "2026-11-02T10:15:00+00:00",
        "channel": "web",
        "respondent": {k: v for k, v in respondent.items() if v is not None},
        "children": [{"name": "Alfie Hale", "date_of_birth": "2013-05-09"}],
        "involvement": {"from_year": 2019, "to_year": 2021},
        "staff_named": staff_named or [],
        "concern": "Our family was never told who the new social worker was.",
        "consent_to_contact": True,
    }
    result = ingest_form(ctx, json.dumps(form).encode(), "posting-test.json", "ian")
    assert result.reference is not None, result
    return result.reference


def case_letters(ctx: AppContext, reference: str) -> list[Letter]:
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(Letter)
            .join(Case, Case.id == Letter.case_id)
            .where(Case.reference == reference)
            .order_by(Letter.id)
        ).all()
        uow.session.expunge_all()
        return list(rows)


def posted_events(ctx: AppContext) -> list[Event]:
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(Event).where(Event.event == "letter_posted").order_by(Event.id)
        ).all()
        uow.session.expunge_all()
        return list(rows)


def test_a_letter_to_a_person_without_email_waits_to_be_posted_and_is_not_emailed(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = case_letters(staffed, ref)
    [waiting] = letters_to_post(staffed, "erin")
    assert (waiting.letter_id, waiting.reference, waiting.kind, waiting.state) == (
        letter.id,
        ref,
        "acknowledgement",
        "triage",
    )
    assert waiting.recipient_name == "Rowan Hale"
    with staffed.uow() as uow:
        emails = uow.session.scalars(select(Notification).where(Notification.kind == "letter"))
        assert emails.all() == []


def test_letters_emailed_at_their_event_are_not_waiting_to_be_posted(
    staffed: AppContext,
) -> None:
    ref = log(staffed, email="rowan.hale@example.org")
    act(staffed, ref, "acknowledge", "alex")
    assert case_letters(staffed, ref)[0].sent_method == "email"
    assert letters_to_post(staffed, "erin") == []


def test_recording_a_letter_as_posted_stores_it_once_and_audits_it(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = case_letters(staffed, ref)
    done = mark_posted(staffed, "erin", ref, letter.id)
    assert (done.reference, done.letter_id, done.kind) == (ref, letter.id, "acknowledgement")
    [after] = case_letters(staffed, ref)
    assert after.sent_method == "post" and after.sent_at is not None
    assert letters_to_post(staffed, "erin") == []
    [event] = posted_events(staffed)
    assert event.actor == "erin"
    assert event.data == {"letter_id": letter.id, "kind": "acknowledgement",
                          "sha256": letter.sha256}
    assert event.from_state == event.to_state == "triage"
    with pytest.raises(NotAllowed, match=f"letter {letter.id} was already sent \\(post\\)"):
        mark_posted(staffed, "erin", ref, letter.id)
    assert len(posted_events(staffed)) == 1
    with staffed.uow() as uow:
        assert verify_chain(uow.session).broken_at is None


def test_only_the_executive_assistant_may_record_a_posting(staffed: AppContext) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = case_letters(staffed, ref)
    for user in ("alex", "morgan", "dana", "admin", "audrey"):
        with pytest.raises(NotAllowed, match="only the executive assistant"):
            mark_posted(staffed, user, ref, letter.id)
    # The IAT manager may see what is waiting; roles without case content may not.
    assert [x.letter_id for x in letters_to_post(staffed, "morgan")] == [letter.id]
    for user in ("alex", "audrey", "admin"):
        with pytest.raises(NotAllowed):
            letters_to_post(staffed, user)
    assert case_letters(staffed, ref)[0].sent_at is None
    assert posted_events(staffed) == []


def test_the_outcome_letter_is_left_to_the_send_event(staffed: AppContext) -> None:
    ref = log(staffed)
    walk_to_signoff(staffed, ref)
    act(staffed, ref, "authorise", "dana")
    act(staffed, ref, "prepare_letter", "erin")
    act(staffed, ref, "sign", "dana")
    acknowledgement, outcome = case_letters(staffed, ref)
    assert outcome.kind == "outcome"
    assert [x.letter_id for x in letters_to_post(staffed, "erin")] == [acknowledgement.id]
    with pytest.raises(NotAllowed, match="send --set method=post"):
        mark_posted(staffed, "erin", ref, outcome.id)
    assert act(staffed, ref, "send", "erin", method="post") == "responded"
    assert case_letters(staffed, ref)[1].sent_method == "post"


def test_a_letter_of_another_case_or_none_at_all_is_not_found(staffed: AppContext) -> None:
    first = log(staffed)
    second = log(staffed, name="Jess Arden", address="9 Bridge Street, Kington")
    act(staffed, first, "acknowledge", "alex")
    act(staffed, second, "acknowledge", "alex")
    [letter] = case_letters(staffed, first)
    with pytest.raises(NotFound, match=f"has no letter {letter.id}"):
        mark_posted(staffed, "erin", second, letter.id)
    with pytest.raises(NotFound):
        mark_posted(staffed, "erin", first, 999_999)
    with pytest.raises(NotFound):
        mark_posted(staffed, "erin", "CAC-1999-0001", letter.id)
    assert len(letters_to_post(staffed, "erin")) == 2


def test_a_posting_on_a_case_naming_the_assistant_is_neither_listed_nor_allowed(
    staffed: AppContext,
) -> None:
    ref = log(staffed, staff_named=["Erin Clarke"])
    act(staffed, ref, "acknowledge", "alex")
    [letter] = case_letters(staffed, ref)
    assert letters_to_post(staffed, "erin") == []
    with pytest.raises(NotAllowed, match="you cannot open this case"):
        mark_posted(staffed, "erin", ref, letter.id)
    assert [x.letter_id for x in letters_to_post(staffed, "morgan")] == [letter.id]


def test_the_assistant_queue_shows_cases_with_letters_to_post_in_any_state(
    staffed: AppContext,
) -> None:
    in_triage = log(staffed)
    act(staffed, in_triage, "acknowledge", "alex")
    answered = log(staffed, name="Jess Arden", address="9 Bridge Street, Kington")
    act(staffed, answered, "answer_query", "alex", wording="Your records are held at Plough Lane.")
    emailed = log(staffed, name="Kai Moss", email="kai.moss@example.org")
    act(staffed, emailed, "acknowledge", "alex")

    rows = {row["reference"]: row for row in queue(staffed, "erin", "assistant")}
    assert set(rows) == {in_triage, answered}
    assert rows[answered]["state"] == "closed"
    assert [x["kind"] for x in rows[answered]["letters_to_post"]] == ["answer"]
    assert [x["kind"] for x in rows[in_triage]["letters_to_post"]] == ["acknowledgement"]
    assert set(rows[in_triage]) >= {"reference", "state", "events", "due", "owner", "overdue"}

    [letter] = case_letters(staffed, in_triage)
    mark_posted(staffed, "erin", in_triage, letter.id)
    assert [row["reference"] for row in queue(staffed, "erin", "assistant")] == [answered]


def test_the_assistant_queue_keeps_its_lifecycle_work_with_nothing_to_post(
    staffed: AppContext,
) -> None:
    ref = log(staffed, email="rowan.hale@example.org")
    walk_to_signoff(staffed, ref)
    act(staffed, ref, "authorise", "dana")
    [row] = queue(staffed, "erin", "assistant")
    assert row["reference"] == ref
    assert row["events"] == ["prepare_letter"]
    assert row["letters_to_post"] == []


def test_two_assistants_recording_the_same_posting_at_once_record_it_once(
    staffed: AppContext,
) -> None:
    from concerns.workflows.access.users import add_user

    add_user(staffed, "admin", "eve", ("executive_assistant",), full_name="Eve Lowe")
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = case_letters(staffed, ref)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def record(user: str) -> None:
        start.wait()
        try:
            mark_posted(staffed, user, ref, letter.id)
            outcomes.append("posted")
        except ServiceError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=record, args=(u,)) for u in ("erin", "eve")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["NotAllowed", "posted"]
    assert len(posted_events(staffed)) == 1
    with staffed.uow() as uow:
        assert verify_chain(uow.session).broken_at is None
