"""Need to know: every role x every state x every part of a case, through the service the CLI
and pages use (show_case) and through the JSON API, against a table written out here (not read
from the lifecycle table, so a change there has to change this too); and the same table for the
lists: a case is in a reader's lists, queues and search (by name or reference) only with the
"listing" part."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from concerns.db.models import Case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.learning.scrutiny_service import figure_cases
from concerns.workflows.letters_service import render_case_letter
from concerns.workflows.machine import PARTS, STATES
from concerns.workflows.queries import list_cases, queue, show_case, team_view
from tests.factories import act, create_staff, log_concern
from tests.integration.web_helpers import PASSWORD, client_for, sign_in

EVERYTHING = set(PARTS)
TRIAGE = {"listing", "concern", "children", "triage_summary", "history"}
SIGNOFF_ON = {"awaiting_signoff", "authorised", "letter_ready", "signed", "responded",
              "dissatisfied", "meeting_offered", "closed"}


def expected(username: str, state: str) -> set[str] | None:
    """What each member of staff may read in each state (None: not the case at all)."""
    if username in ("alex", "morgan"):
        return EVERYTHING
    if username == "priya":
        return TRIAGE if state in ("triage", "awaiting_information") else {"triage_summary"}
    if username == "lee":
        return (TRIAGE if state in ("triage", "awaiting_information", "in_review")
                else {"triage_summary"})
    if username == "erin":
        return {"listing", "contact_details", "outcome", "letters", "history"}
    if username == "dana":
        return EVERYTHING if state in SIGNOFF_ON else {"triage_summary"}
    return None


NAME = "Robin Quill-Hartley"
READERS = ("alex", "morgan", "priya", "lee", "erin", "dana", "audrey", "ian", "admin")

# How each part shows in the case as a reader gets it.
SEEN: dict[str, Callable[[dict[str, Any]], bool]] = {
    "listing": lambda c: c["respondent"]["name"] is not None,
    "concern": lambda c: bool(c["contacts"]) and bool(c["staff_named"]),
    "contact_details": lambda c: c["respondent"]["email"] is not None,
    "children": lambda c: bool(c["children"]),
    "triage_summary": lambda c: bool(c["triage"]),
    "review_notes": lambda c: any(h["event"] == "add_review_note" for h in c["history"]),
    "escalations": lambda c: any(h["event"] == "raise_escalation" for h in c["history"]),
    "outcome": lambda c: c["outcome_summary"] is not None,
    "letters": lambda c: bool(c["letters"]),
    "history": lambda c: bool(c["history"]),
}


@pytest.fixture
def full_case(sqlite_ctx: AppContext) -> Iterator[tuple[AppContext, str]]:
    """One case with every part filled: walked through triage, a review with a note and a
    safeguarding escalation, to sign-off; then put in each state in turn."""
    ctx = sqlite_ctx
    create_staff(ctx, PASSWORD)
    ref = log_concern(ctx, children=[{"name": "Kim Child", "date_of_birth": "2012-04-03"}],
                      staff_named=["Chris Worker"], name=NAME)
    act(ctx, ref, "acknowledge", "alex")
    act(ctx, ref, "record_complaints_triage", "priya", meets_criteria="no",
        reason="time_limit_passed")
    act(ctx, ref, "record_legal_triage", "lee", proceedings="none")
    act(ctx, ref, "assign_reviewer", "morgan", reviewer="sam")
    act(ctx, ref, "start_review", "alex")
    act(ctx, ref, "add_review_note", "sam", "Interviewed the social worker.",
        kind="interview_staff")
    act(ctx, ref, "raise_escalation", "sam", severity="safeguarding", to="LADO")
    act(ctx, ref, "resolve_escalation", "morgan")
    act(ctx, ref, "submit_outcome", "sam", summary="Records read.", wording="We are sorry.",
        **{"finding.record_keeping": "The reasons for decisions were not written down."})
    yield ctx, ref


def _put_in(ctx: AppContext, ref: str, state: str) -> None:
    with ctx.sessions() as s:
        s.execute(update(Case).where(Case.reference == ref).values(state=state))
        s.commit()


def _seen(case: dict[str, Any]) -> set[str]:
    return {part for part, shows in SEEN.items() if shows(case)}


def test_every_role_state_and_part_through_the_service_and_the_api(
    full_case: tuple[AppContext, str],
) -> None:
    ctx, ref = full_case
    clients: dict[str, TestClient] = {}
    for username in READERS:
        clients[username] = client_for(ctx)
        sign_in(clients[username], username)
    checked = 0
    for state in STATES:
        _put_in(ctx, ref, state)
        for username in READERS:
            want = expected(username, state)
            response = clients[username].get(f"/api/cases/{ref}")
            if want is None:
                with pytest.raises(NotAllowed):
                    show_case(ctx, username, ref)
                assert response.status_code == 403
                continue
            through_service = show_case(ctx, username, ref)
            assert response.status_code == 200
            through_api = response.json()
            for part in PARTS:
                shown = part in want
                assert (part in _seen(through_service)) is shown, (username, state, part)
                assert (part in _seen(through_api)) is shown, (username, state, part, "api")
                assert (part in through_service["parts"]) is shown
                checked += 1
            # Nothing of a hidden part: not the person's name without the listing.
            if "listing" not in want:
                assert NAME not in str(through_service) and NAME not in response.text
            if "children" not in want:
                assert "2012-04-03" not in str(through_service)
            if "escalations" not in want:
                assert "LADO" not in str(through_service) and "LADO" not in response.text
            if "review_notes" not in want:
                assert "Interviewed" not in str(through_service)
    assert checked == len(STATES) * 6 * len(PARTS)


def test_a_role_without_the_letters_part_cannot_fetch_a_letter(
    full_case: tuple[AppContext, str],
) -> None:
    ctx, ref = full_case
    _put_in(ctx, ref, "closed")
    with pytest.raises(NotAllowed, match="part of the case"):
        render_case_letter(ctx, "priya", ref, "acknowledgement", "pdf")
    assert render_case_letter(ctx, "erin", ref, "acknowledgement", "pdf").data


def _refs(rows: list[dict[str, Any]]) -> set[str]:
    return {str(row["reference"]) for row in rows}


def test_every_role_and_state_in_the_lists_and_search_through_the_service_and_the_api(
    full_case: tuple[AppContext, str],
) -> None:
    """A case is in a reader's lists, and found by the person's name or its reference, exactly
    when the table gives them its listing; the rows then carry the name. The same through the
    service (the CLI's `case list [--search]`), the JSON API and the case list page; the queues,
    the team view and the scrutiny report's cases behind a figure show no other."""
    ctx, ref = full_case
    clients: dict[str, TestClient] = {}
    for username in READERS:
        clients[username] = client_for(ctx)
        sign_in(clients[username], username)
    checked = 0
    for state in STATES:
        _put_in(ctx, ref, state)
        for username in READERS:
            want = expected(username, state)
            api = clients[username]
            if want is None:
                with pytest.raises(NotAllowed):
                    list_cases(ctx, username, search="Quill")
                assert api.get("/api/cases", params={"q": "Quill"}).status_code == 403
                continue
            listed = "listing" in want
            searches = {
                "list": list_cases(ctx, username),
                "by name": list_cases(ctx, username, search="quill-hart"),
                "by reference": list_cases(ctx, username, search=ref),
                "in its state": list_cases(ctx, username, state=state),
            }
            for how, rows in searches.items():
                assert (ref in _refs(rows)) is listed, (username, state, how)
                assert all(row["respondent_name"] == NAME for row in rows)
            for params in ({}, {"q": "Quill"}, {"q": ref}, {"state": state}):
                response = api.get("/api/cases", params=params)
                assert response.status_code == 200
                assert (ref in _refs(response.json())) is listed, (username, state, params)
                assert (NAME in response.text) is listed
            page = api.get("/cases", params={"q": "Quill"})
            assert page.status_code == 200
            assert (ref in page.text) is listed and (NAME in page.text) is listed, (username, state)
            # Queues: never a case the reader may not list.
            queues = ["mine", *{"dana": ["director"], "erin": ["assistant"]}.get(username, [])]
            for which in queues:
                if not listed:
                    assert ref not in _refs(queue(ctx, username, which)), (username, state, which)
                    assert ref not in api.get(f"/api/queue/{which}").text
            if username in ("alex", "morgan", "dana"):  # the scrutiny report's drill-down
                drill = figure_cases(ctx, username, "cases")
                assert (ref in {c["reference"] for c in drill["cases"]}) is listed
                assert drill["not_shown"] == (0 if listed else 1)
            if username == "morgan" and state != "closed":
                assert ref in _refs(team_view(ctx, username)["rows"])
            checked += 1
    assert checked == len(STATES) * 6


def test_an_open_escalation_is_in_no_next_step_or_deadline_of_a_reader_without_escalations(
    sqlite_ctx: AppContext,
) -> None:
    """A safeguarding escalation's clock is the escalations part: Legal (still in the review)
    and the executive assistant see the case in their lists, but neither its next step nor its
    deadline, in the row, on the case or through the API."""
    ctx = sqlite_ctx
    create_staff(ctx, PASSWORD)
    ref = log_concern(ctx)
    act(ctx, ref, "acknowledge", "alex")
    act(ctx, ref, "record_complaints_triage", "priya", meets_criteria="no",
        reason="time_limit_passed")
    act(ctx, ref, "record_legal_triage", "lee", proceedings="none")
    act(ctx, ref, "assign_reviewer", "morgan", reviewer="sam")
    act(ctx, ref, "start_review", "alex")
    act(ctx, ref, "raise_escalation", "sam", severity="safeguarding", to="LADO")
    for username, sees in (("alex", True), ("morgan", True), ("lee", False), ("erin", False)):
        [row] = [r for r in list_cases(ctx, username) if r["reference"] == ref]
        case = show_case(ctx, username, ref)
        client = client_for(ctx)
        sign_in(client, username)
        api_row = next(r for r in client.get("/api/cases").json() if r["reference"] == ref)
        api_case = client.get(f"/api/cases/{ref}").json()
        for shown in (row["next_steps"], case["next_steps"], case["deadlines"],
                      api_case["next_steps"], api_case["deadlines"]):
            assert any(x["clock"] == "escalation" for x in shown) is sees, username
        if not sees:
            assert "escalation" not in str(api_row).lower()
            for page in (client.get("/cases").text, client.get(f"/cases/{ref}").text,
                         client.get("/my-work").text):
                assert "escalation" not in page.lower(), username


def _outcome_with_an_action(ctx: AppContext, ref: str) -> None:
    """Walk a logged case to its outcome, with one action arising."""
    act(ctx, ref, "acknowledge", "alex")
    act(ctx, ref, "record_complaints_triage", "priya", meets_criteria="no",
        reason="time_limit_passed")
    act(ctx, ref, "record_legal_triage", "lee", proceedings="none")
    act(ctx, ref, "assign_reviewer", "morgan", reviewer="sam")
    act(ctx, ref, "start_review", "alex")
    due = ctx.calendar.add_working_days(ctx.calendar.local_date(ctx.now()), 20)
    act(ctx, ref, "submit_outcome", "sam", summary="Records read.", wording="We are sorry.",
        **{"finding.record_keeping": "The reasons for decisions were not written down.",
           "action.1.what": "Write to families after every review meeting.",
           "action.1.owner": "Children in Need service", "action.1.due": due.isoformat(),
           "action.1.theme": "record_keeping"})


def test_the_actions_arising_and_the_files_sent_follow_the_table_in_every_state(
    sqlite_ctx: AppContext,
) -> None:
    """An action arising is the case's outcome, and a file sent with a contact is its concern:
    the action list (`concerns action list`) shows an action only to those who may read the
    outcome in the case's state, and a file downloads (service and page) only for those who may
    read the concern."""
    from concerns.db.models import Attachment, Contact
    from concerns.workflows.intake.attachments import contact_attachment
    from concerns.workflows.intake.submissions import ingest_email
    from concerns.workflows.learning.actions import list_actions
    from tests.integration.test_mail_corpus import CORPUS

    ctx = sqlite_ctx
    create_staff(ctx, PASSWORD)
    raw = (CORPUS / "public-attached-email.eml").read_bytes()
    ref = ingest_email(ctx, raw, "att.eml", "ian").reference
    assert ref is not None
    _outcome_with_an_action(ctx, ref)
    with ctx.uow() as uow:
        attachment_id = uow.session.scalars(
            select(Attachment.id).join(Contact, Contact.id == Attachment.contact_id)).first()
    assert attachment_id is not None
    clients = {}
    for username in READERS:
        clients[username] = client_for(ctx)
        sign_in(clients[username], username)
    for state in STATES:
        _put_in(ctx, ref, state)
        for username in READERS:
            want = expected(username, state) or set()
            try:
                listed = {a["reference"] for a in list_actions(ctx, username)}
            except NotAllowed:
                listed = set()
            assert (ref in listed) is ("outcome" in want), (username, state)
            page = clients[username].get(f"/cases/{ref}/attachments/{attachment_id}")
            if "concern" in want:
                assert contact_attachment(ctx, username, ref, attachment_id).data
                assert page.status_code == 200, (username, state)
            else:
                with pytest.raises(NotAllowed):
                    contact_attachment(ctx, username, ref, attachment_id)
                assert page.status_code == 403, (username, state)
                assert b"safeguarding referral" not in page.content
