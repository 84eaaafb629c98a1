"""Plain English from the lifecycle table: no page, error message, letter or `case show` text
carries one of the table's codes; a note never reaches a letter; every letter is seen by a
member of staff before it goes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from concerns.cli.main import _render_case
from concerns.db.models import Case, Letter
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput
from concerns.workflows.letters_service import LetterChanged, preview_event_letter
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.machine import (
    CHOICE_LABELS,
    CLOCKS,
    EVENTS,
    FIELD_LABELS,
    ROLE_LABELS,
    STATES,
    fields_of,
    steps_for,
)
from concerns.workflows.queries import show_case
from tests.factories import act, create_staff, log_concern
from tests.integration.web_helpers import PASSWORD, client_for, fire, sign_in

# Every identifier of the table that could only be a code (one word ones read as English).
CODES = sorted(
    {c for c in (*STATES, *EVENTS, *CLOCKS, *CHOICE_LABELS, *ROLE_LABELS,
                 *(k.split(".")[-1] for k in FIELD_LABELS)) if "_" in c},
    key=len, reverse=True,
)
CODE_RE = re.compile(r"\b(" + "|".join(map(re.escape, CODES)) + r")\b")


def visible_text(page: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return html.unescape(page)


def codes_in(text: str) -> list[str]:
    return sorted(set(CODE_RE.findall(text)))


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


WALK = [
    ("acknowledge", "alex", {}),
    ("record_complaints_triage", "priya", {"meets_criteria": "no", "reason": "time_limit_passed"}),
    ("record_legal_triage", "lee", {"proceedings": "in_progress", "comment": "A hearing."}),
    ("assign_reviewer", "morgan", {"reviewer": "sam"}),
    ("start_review", "alex", {}),
    ("add_review_note", "sam", {"kind": "interview_staff"}),
    ("raise_escalation", "sam", {"severity": "safeguarding", "to": "morgan"}),
    ("resolve_escalation", "morgan", {}),
    ("submit_outcome", "sam", {"summary": "Found gaps.", "wording": "We are sorry.",
                        "finding.record_keeping": "Notes were missing."}),
    ("return_for_changes", "dana", {}),
    ("submit_outcome", "sam", {"summary": "Found gaps.", "wording": "We are sorry.",
                        "finding.record_keeping": "Notes were missing."}),
    ("authorise", "dana", {}),
    ("prepare_letter", "erin", {}),
    ("return_letter", "dana", {}),
    ("prepare_letter", "erin", {}),
    ("sign", "dana", {}),
    ("send", "erin", {"method": "email"}),
    ("record_dissatisfaction", "alex", {}),
    ("offer_meeting", "dana", {"wording": "We would like to meet you."}),
    ("record_meeting", "dana", {"result": "declined"}),
]
ROLES_TO_LOOK = ("alex", "morgan", "priya", "lee", "sam", "dana", "erin")


def test_no_page_error_letter_or_case_text_shows_a_code_of_the_table(web: AppContext) -> None:
    ref = log_concern(web)
    clients = {}
    for username in ROLES_TO_LOOK:
        clients[username] = client_for(web)
        sign_in(clients[username], username)
    found: dict[str, list[str]] = {}
    tried: set[str] = set()

    def look(where: str, text: str) -> None:
        codes = codes_in(text)
        if codes:
            found[where] = codes

    for event, actor, values in WALK:
        for username, client in clients.items():
            page = client.get(f"/cases/{ref}")
            look(f"case page as {username} before {event}", visible_text(page.text))
            for other in re.findall(r'href="/cases/[^/]+/events/([a-z_]+)"', page.text):
                form = client.get(f"/cases/{ref}/events/{other}")
                look(f"{other} page as {username}", visible_text(form.text))
        first_time = event not in tried
        tried.add(event)
        needs = any(f.required for f in fields_of(event).values()) or any(
            s.note_required for s in steps_for(event))
        if first_time and needs:
            # A form sent with nothing in it: the errors are in words, by the field.
            client = clients[actor]
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get(f"/cases/{ref}/events/{event}").text)
            assert token
            empty = client.post(f"/cases/{ref}/events/{event}",
                                data={"csrf_token": token.group(1)})
            assert empty.status_code == 422, event
            look(f"{event} sent empty", visible_text(empty.text))
        act(web, ref, event, actor, "A note.", **values)
        # The command to type is the one place an event's name is shown, after its words.
        shown = _render_case(show_case(web, "morgan", ref))
        look(f"case show after {event}", re.sub(r"concerns case act \S+ \S+", "", shown))
    for path in ("/team", "/my-work", "/cases"):
        look(path, visible_text(clients["morgan"].get(path).text))
    with web.sessions() as session:
        for letter in session.scalars(select(Letter)):
            look(f"letter {letter.kind}", visible_text(letter.html))
    assert found == {}


SECRET = "NOTE-NEVER-PRINTED"
LETTER_WALK = [
    ("request_information", "alex", {"wording": "Which dates?"}),
    ("information_received", "alex", {}),
    ("acknowledge", "alex", {}),
    ("record_complaints_triage", "priya", {"meets_criteria": "yes", "reason": "within_time_limit"}),
    ("record_legal_triage", "lee", {"proceedings": "none", "comment": f"{SECRET} legal"}),
    ("offer_complaints_route", "alex", {"wording": "You may complain formally."}),
    ("assign_reviewer", "morgan", {"reviewer": "sam"}),
    ("decline_complaints_route", "erin", {}),
    ("add_review_note", "sam", {"kind": "records_examined"}),
    ("submit_outcome", "sam", {"summary": f"{SECRET} summary", "wording": "We are sorry.",
                        "finding.record_keeping": "Notes were missing."}),
    ("authorise", "dana", {}),
    ("prepare_letter", "erin", {}),
    ("sign", "dana", {}),
    ("send", "erin", {"method": "email"}),
    ("record_dissatisfaction", "alex", {}),
    ("offer_meeting", "dana", {"wording": "We would like to meet."}),
]


def test_a_note_never_appears_in_any_letter(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    answered = log_concern(ctx)
    act(ctx, answered, "answer_query", "alex", f"{SECRET} answer", wording="Here is the answer.")
    for event, actor, values in LETTER_WALK:
        preview = preview_event_letter(ctx, actor, ref, event, values)
        assert preview is None or SECRET not in preview.html
        act(ctx, ref, event, actor, f"{SECRET} {event}", **values)
    with ctx.sessions() as session:
        letters = session.scalars(select(Letter)).all()
        kinds = {letter.kind for letter in letters}
        assert kinds == {"acknowledgement", "information_request", "answer", "complaints_offer",
                         "outcome", "meeting_offer"}
        for letter in letters:
            assert SECRET not in letter.html, letter.kind
            assert SECRET.encode() not in bytes(letter.pdf or b""), letter.kind


def test_the_meeting_offer_prints_its_wording_field_and_not_its_note(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    for event, actor, values in LETTER_WALK:
        if event == "offer_meeting":
            break
        act(ctx, ref, event, actor, "A note.", **values)
    with pytest.raises(BadInput, match="date: The meeting date must be after today"):
        act(ctx, ref, "offer_meeting", "dana", date="2020-01-06")
    # Refused before a letter with that date is shown, too (a Saturday as well as a past day).
    saturday = ctx.calendar.local_date(ctx.now()) + timedelta(days=7)
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    for day, problem in (("2020-01-06", "after today"), (saturday.isoformat(), "a working day")):
        with pytest.raises(BadInput, match=f"date: The meeting date must be {problem}"):
            preview_event_letter(ctx, "dana", ref, "offer_meeting", {"date": day})
    act(ctx, ref, "offer_meeting", "dana", "Dana prefers mornings.",
        wording="Please come to Plough Lane.")
    with ctx.sessions() as session:
        letter = session.scalars(select(Letter).where(Letter.kind == "meeting_offer")).one()
        assert "Please come to Plough Lane." in letter.html
        assert "prefers mornings" not in letter.html


def test_a_letter_event_from_the_web_goes_only_after_its_letter_was_shown(
    web: AppContext,
) -> None:
    ref = log_concern(web)
    client = client_for(web)
    token = sign_in(client, "alex")
    shown = client.post(f"/cases/{ref}/events/acknowledge", data={"csrf_token": token})
    assert shown.status_code == 200 and "Check the letter before it goes" in shown.text
    with web.sessions() as session:
        assert session.scalars(select(Case.state).where(Case.reference == ref)).one() == "logged"
        assert session.scalars(select(Letter)).all() == []
    # A letter other than the one shown is refused (as if the case changed in between).
    forged = client.post(f"/cases/{ref}/events/acknowledge",
                         data={"csrf_token": token, "letter_seen": "0" * 64})
    assert forged.status_code == 200 and "Check the letter before it goes" in forged.text
    with pytest.raises(LetterChanged):
        fire_event(web, ref, "acknowledge", "alex", {}, None, letter_seen="0" * 64)
    assert fire(client, token, ref, "acknowledge").status_code == 303
    with web.sessions() as session:
        assert [x.kind for x in session.scalars(select(Letter))] == ["acknowledgement"]


def test_closing_events_ask_first_and_keep_what_was_typed(web: AppContext) -> None:
    ref = log_concern(web)
    client = client_for(web)
    token = sign_in(client, "morgan")
    data = {"csrf_token": token, "reason": "withdrawn", "note": "She wrote to withdraw."}
    asked = client.post(f"/cases/{ref}/events/close_outside_framework", data=data)
    assert asked.status_code == 200 and "Are you sure?" in asked.text
    assert "Withdrawn by the person" in asked.text and "She wrote to withdraw." in asked.text
    changed = client.post(f"/cases/{ref}/events/close_outside_framework",
                          data={**data, "step": "change"})
    assert "She wrote to withdraw." in changed.text
    assert fire(client, token, ref, "close_outside_framework", reason="withdrawn",
                note="She wrote to withdraw.").status_code == 303
    with web.sessions() as session:
        assert session.scalars(select(Case.state).where(Case.reference == ref)).one() == "closed"


def test_closing_early_asks_for_the_reason_without_calling_it_optional(web: AppContext) -> None:
    ref = log_concern(web)
    for event, actor, values in LETTER_WALK:
        act(web, ref, event, actor, "A note.", **values)
        if event == "send":
            break
    client = client_for(web)
    token = sign_in(client, "morgan")
    page = client.get(f"/cases/{ref}/events/close").text
    assert "Reason for closing before the reply window ends" in visible_text(page)
    assert "(optional)" not in visible_text(page).split("Internal note")[0]
    refused = client.post(f"/cases/{ref}/events/close", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Enter the reason for closing before the reply window ends" in visible_text(
        refused.text)
    with web.sessions() as session:
        assert session.scalars(select(Case.state).where(Case.reference == ref)).one() == (
            "responded")


def test_recording_the_meeting_asks_first_and_warns_only_when_it_closes(web: AppContext) -> None:
    ref = log_concern(web)
    for event, actor, values in LETTER_WALK:
        act(web, ref, event, actor, "A note.", **values)
    client = client_for(web)
    token = sign_in(client, "dana")
    url = f"/cases/{ref}/events/record_meeting"
    further = client.post(url, data={"csrf_token": token, "result": "further_action"})
    assert "Are you sure?" in further.text and "This closes the case" not in further.text
    declined = client.post(url, data={"csrf_token": token, "result": "declined"})
    assert "Are you sure?" in declined.text and "This closes the case" in declined.text
    with web.sessions() as session:
        assert session.scalars(select(Case.state).where(Case.reference == ref)).one() == (
            "meeting_offered")
    assert fire(client, token, ref, "record_meeting", result="declined").status_code == 303
    with web.sessions() as session:
        assert session.scalars(select(Case.state).where(Case.reference == ref)).one() == "closed"


def test_a_part_the_reader_may_not_see_is_left_out_not_shown_as_not_recorded(
    web: AppContext,
) -> None:
    ref = log_concern(web)
    for event, actor, values in WALK:
        if event == "prepare_letter":
            break
        act(web, ref, event, actor, "A note.", **values)
    assistant, director = client_for(web), client_for(web)
    sign_in(assistant, "erin")
    sign_in(director, "dana")
    page = assistant.get(f"/cases/{ref}").text
    keys = re.findall(r'<dt class="govuk-summary-list__key">([^<]+)</dt>', page)
    # The assistant does not see the triage or the concern: no row says they are missing.
    assert {"Complaints triage", "Legal triage", "Involvement"}.isdisjoint(keys), keys
    hers = visible_text(page)
    for wrong in ("Not recorded", "Not given", "()", "Does not meet the criteria"):
        assert wrong not in hers, wrong
    # The director, who may, reads them.
    shown = visible_text(director.get(f"/cases/{ref}").text)
    assert "Does not meet the criteria (The time limit has passed)" in " ".join(shown.split())
    assert "2010 to 2015" in shown


def test_returned_and_blocked_work_shows_on_the_case_page_and_in_case_show(
    web: AppContext,
) -> None:
    ref = log_concern(web)
    for event, actor, values in WALK[:5]:  # to the review, with Sam as reviewer
        act(web, ref, event, actor, "A note.", **values)
    act(web, ref, "add_review_note", "sam", "Met the team manager.", kind="interview_staff")
    act(web, ref, "raise_escalation", "sam", "A bruise was seen at the last visit.",
        severity="safeguarding", to="morgan")
    reviewer = client_for(web)
    sign_in(reviewer, "sam")

    def page() -> str:
        return " ".join(visible_text(reviewer.get(f"/cases/{ref}").text).split())

    def text() -> str:
        return _render_case(show_case(web, "sam", ref))

    # Blocked: a banner on the page, and in `case show` with the escalation and its note.
    assert "A safeguarding escalation is open: the outcome cannot go to the director" in page()
    shown = text()
    assert "BLOCKED: an open safeguarding escalation stops the outcome going on." in shown
    assert "Escalations:" in shown and "A bruise was seen at the last visit." in shown
    # A review note shows its kind, on the page and in `case show`.
    assert "Interview with staff Met the team manager." in page()
    assert "Kind: Interview with staff\n    Met the team manager." in shown

    act(web, ref, "resolve_escalation", "morgan")
    act(web, ref, "submit_outcome", "sam", **WALK[8][2])
    act(web, ref, "return_for_changes", "dana", "Please say sorry plainly.")
    # Returned: the director's note in a banner, and in `case show`.
    assert "Returned for changes" in page() and "Please say sorry plainly." in page()
    shown = text()
    assert "RETURNED FOR CHANGES by" in shown and "Please say sorry plainly." in shown
    # The review clock started again: the earlier one is history, not a second row.
    deadlines = shown.split("Deadlines:")[1].split("Earlier deadlines:")
    assert len(deadlines) == 2, shown
    assert deadlines[0].count("Learning review:") == 1
    assert "Learning review:" in deadlines[1]
    assert "Earlier deadlines" in page()


def test_reviewers_recipients_and_deadlines_are_choices_by_name_not_typed(
    web: AppContext,
) -> None:
    from concerns.workflows.lifecycle import form_choices

    ref = log_concern(web, staff_named=["Jo Bloggs"])
    for event, actor, values in WALK[:3]:
        act(web, ref, event, actor, "A note.", **values)
    choices = form_choices(web, "morgan", ref)
    # IAT staff by full name, never one named in the concern.
    reviewers = dict(choices["reviewer"])
    assert reviewers.get("sam") == "Sam Patel" and reviewers.get("alex") == "Alex Morgan"
    assert "jo" not in reviewers and "priya" not in reviewers
    # Escalations go to the safeguarding services or to staff by name and role.
    recipients = [words for _, words in choices["to"]]
    assert "LADO (Local Authority Designated Officer)" in recipients
    assert "Morgan Reid (IAT manager)" in recipients
    assert not any("Jo Bloggs" in r for r in recipients)
    # The deadlines that may be extended are those running, in words.
    assert ("allocation", "Assigning a reviewer") in choices["clock"]
    client = client_for(web)
    sign_in(client, "morgan")
    page = client.get(f"/cases/{ref}/events/assign_reviewer").text
    assert "Sam Patel" in page and 'value="sam"' in page and "Jo Bloggs" not in page
