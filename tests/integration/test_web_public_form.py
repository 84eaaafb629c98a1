"""The public concern form never loses what a person typed: a refused post (expired session, rate
limit) shows the form again with every value, an over-large body is refused before it is read,
only accepted submissions count against the limit, and X-Forwarded-For is believed only from the
proxies config.toml lists."""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from concerns.db.models import Case, Deadline, Notification, PublicFormSend, RawSubmission
from concerns.letters.templating import long_date
from concerns.web.security import client_address
from concerns.workflows import scheduler
from concerns.workflows.access.public_form_limit import Sender, TooManySends
from concerns.workflows.context import AppContext
from concerns.workflows.intake import submissions
from tests.factories import form_bytes
from tests.integration.web_helpers import client_for, csrf_of, public_form

TYPED = "The social worker did not return my calls for months — 三个月没有回音."


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    yield sqlite_ctx


def limited(ctx: AppContext, per_hour: int, **web: object) -> AppContext:
    settings = replace(ctx.settings, web=replace(ctx.settings.web, public_form_per_hour=per_hour,
                                                 **web))  # type: ignore[arg-type]
    return AppContext(settings, ctx.engine)


def stored(ctx: AppContext) -> int:
    with ctx.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(RawSubmission)) or 0)


def shows_every_value(page: str, form: dict[str, str]) -> bool:
    text = html.unescape(page)
    return all(value in text for key, value in form.items() if key not in ("csrf_token", "action"))


def test_an_expired_session_shows_the_form_again_with_everything_typed(web: AppContext) -> None:
    client = client_for(web)
    client.get("/concern")
    form = public_form("not-the-sessions-token", concern=TYPED)
    refused = client.post("/concern", data=form)
    assert refused.status_code == 403
    assert "Your concern has not been sent yet" in refused.text
    assert shows_every_value(refused.text, form)
    assert stored(web) == 0
    # The page carries a fresh token: sending it again goes through.
    again = client.post("/concern", data=public_form(csrf_of(refused.text), concern=TYPED))
    assert again.status_code == 303
    assert stored(web) == 1


def test_the_rate_limit_shows_the_form_again_and_counts_only_accepted_submissions(
    web: AppContext,
) -> None:
    client = client_for(limited(web, 2))
    csrf = csrf_of(client.get("/concern").text)
    # Refused for a missing name: not counted.
    for _ in range(3):
        assert client.post("/concern", data=public_form(csrf, name="")).status_code == 400
    statuses = [client.post("/concern", data=public_form(csrf, concern=f"Concern {i}"))
                .status_code for i in range(2)]
    assert statuses == [303, 303]
    form = public_form(csrf, concern=TYPED)
    refused = client.post("/concern", data=form)
    assert refused.status_code == 429
    assert shows_every_value(refused.text, form)
    assert "try again in an hour" in refused.text
    assert stored(web) == 2


def test_x_forwarded_for_does_not_get_round_the_limit_when_no_proxy_is_trusted(
    web: AppContext,
) -> None:
    client = client_for(limited(web, 1))
    csrf = csrf_of(client.get("/concern").text)
    first = client.post("/concern", data=public_form(csrf, concern="One"),
                        headers={"X-Forwarded-For": "203.0.113.1"})
    second = client.post("/concern", data=public_form(csrf, concern="Two"),
                         headers={"X-Forwarded-For": "203.0.113.2"})
    assert (first.status_code, second.status_code) == (303, 429)


def request_from(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "POST", "path": "/concern", "headers": headers,
                    "client": (peer, 50000)})


def test_the_forwarded_address_is_believed_only_from_a_listed_proxy() -> None:
    assert client_address(request_from("127.0.0.1", "203.0.113.9"), ()) == "127.0.0.1"
    assert client_address(request_from("198.51.100.7", "203.0.113.9"), ("10.0.0.0/8",)) \
        == "198.51.100.7"
    assert client_address(request_from("10.0.0.5", "203.0.113.9"), ("10.0.0.0/8",)) \
        == "203.0.113.9"
    # A client cannot hide behind an address it adds itself in front of the proxy's.
    assert client_address(request_from("10.0.0.5", "1.1.1.1, 203.0.113.9, 10.0.0.6"),
                          ("10.0.0.0/8",)) == "203.0.113.9"


def test_a_forwarded_address_with_no_proxy_listed_is_warned_of_once_without_the_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A careless install behind a proxy nobody listed counts every client as the proxy: the
    server says so in its log, once, without any address."""
    from concerns.web import security

    security._warn_untrusted_proxy.cache_clear()
    with caplog.at_level(logging.WARNING, logger="concerns.web"):
        client_address(request_from("127.0.0.1", None), ())
        assert not caplog.records
        for _ in range(3):
            client_address(request_from("127.0.0.1", "203.0.113.9"), ())
    [warning] = caplog.records
    assert "web.trusted_proxies" in warning.getMessage()
    assert "203.0.113.9" not in warning.getMessage() and "127.0.0.1" not in warning.getMessage()


def test_a_body_over_the_cap_is_refused_unread_with_a_clear_page(web: AppContext) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    big = public_form(csrf, concern="x" * (5 * 1024 * 1024))
    refused = client.post("/concern", data=big)
    assert refused.status_code == 413
    assert "too long to accept" in refused.text
    assert "back button" in refused.text
    assert stored(web) == 0


def test_a_chunked_body_over_the_cap_is_refused_as_it_passes_the_cap(web: AppContext) -> None:
    client = client_for(limited(web, 20, max_body_bytes=64 * 1024))

    def chunks() -> Iterator[bytes]:
        yield b"concern="
        for _ in range(100):
            yield b"x" * 4096

    refused = client.post("/concern", content=chunks(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 413
    assert stored(web) == 0


def test_the_confirmation_gives_the_reference_the_reply_by_date_and_a_receipt_by_email(
    web: AppContext,
) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    assert client.post("/concern", data=public_form(csrf, concern=TYPED)).status_code == 303
    page = html.unescape(re.sub(r"<[^>]+>", "", client.get("/concern/sent").text))
    with web.uow() as uow:
        case_id, reference = uow.session.execute(select(Case.id, Case.reference)).one()
        due = uow.session.scalars(select(Deadline.due_date).where(
            Deadline.case_id == case_id, Deadline.clock == "acknowledge")).one()
        receipt = uow.session.execute(select(
            Notification.kind, Notification.to_address, Notification.status,
            Notification.subject, Notification.body)).one()
    assert reference in page
    # The date comes from the working-day calendar (the acknowledgement clock), not a phrase.
    assert f"We will reply by {long_date(due)}" in page
    assert "We have sent a receipt" in page
    assert (receipt.kind, receipt.to_address, receipt.status) == (
        "receipt", "sam@example.org", "pending")
    assert reference in receipt.subject and long_date(due) in receipt.body
    assert TYPED not in receipt.body  # what the person wrote is not sent back by email


def test_no_receipt_is_promised_without_an_email_address(web: AppContext) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    form = public_form(csrf, email="", phone="01632 960001")
    assert client.post("/concern", data=form).status_code == 303
    page = client.get("/concern/sent").text
    assert "We will reply by" in page and "receipt" not in page
    with web.uow() as uow:
        assert uow.session.scalars(select(Notification)).all() == []


def test_the_form_links_to_a_privacy_notice(web: AppContext) -> None:
    client = client_for(web)
    form = client.get("/concern").text
    assert 'href="/privacy"' in form
    notice = client.get("/privacy")
    assert notice.status_code == 200
    assert "Privacy notice" in notice.text and "How long we keep it" in notice.text


def test_a_future_birth_date_and_a_wrong_month_are_named_with_every_other_problem_at_once(
    web: AppContext,
) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    response = client.post("/concern", data=public_form(csrf, name="", concern="", **{
        "child-0-dob-year": "2099",
        "child-1-name": "Alex Public", "child-1-dob-day": "3", "child-1-dob-month": "13",
        "child-1-dob-year": "2015",
    }))
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert "Child 1's date of birth must be today or in the past" in text
    assert "Child 2's date of birth must include a real month" in text
    assert "Enter your full name" in text and "Enter your concern" in text
    # Only the month of child 2's date is marked wrong; all of child 1's (a future date).
    for part, wrong in (("day", False), ("month", True), ("year", False)):
        marked = f'govuk-input--error" id="child-1-dob-{part}"'
        assert (marked in text) is wrong, part
    assert 'govuk-input--error" id="child-0-dob-year"' in text


def test_nothing_is_sent_until_the_answers_have_been_checked(web: AppContext) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    form = public_form(csrf, action="check", concern=TYPED)
    check = client.post("/concern", data=form)
    assert check.status_code == 200
    assert "Check your answers before sending your concern" in check.text
    assert shows_every_value(check.text, form)
    assert stored(web) == 0
    back = client.post("/concern", data={**form, "action": "change"})
    assert back.status_code == 200 and shows_every_value(back.text, form)
    assert 'id="concern"' in back.text
    assert stored(web) == 0


def test_a_message_attached_by_the_public_is_downloaded_from_the_case_page_as_eml(
    web: AppContext,
) -> None:
    from concerns.workflows.intake.submissions import ingest_email
    from tests.factories import create_staff
    from tests.integration.test_mail_corpus import CORPUS
    from tests.integration.web_helpers import PASSWORD, sign_in

    create_staff(web, PASSWORD)
    raw = (CORPUS / "public-attached-email.eml").read_bytes()
    reference = ingest_email(web, raw, "att.eml", "ian").reference
    other = ingest_email(web, (CORPUS / "nul-bytes.eml").read_bytes(), "n.eml", "ian").reference
    client = client_for(web)
    sign_in(client, "alex")
    page = client.get(f"/cases/{reference}").text
    link = re.search(rf'href="(/cases/{reference}/attachments/\d+)"', page)
    assert link is not None and "message-1.eml" in page
    download = client.get(link.group(1))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("message/rfc822")
    assert "attachment;" in download.headers["content-disposition"]
    assert b"We cannot discuss the safeguarding referral with you." in download.content
    # The same attachment through another case is not found.
    elsewhere = link.group(1).replace(str(reference), str(other))
    assert client.get(elsewhere).status_code == 404


def test_every_web_process_counts_the_same_sends_from_one_address(ctx: AppContext) -> None:
    # Two apps over one database stand for two `serve --workers` processes: the limit is the
    # council's, not each process's.
    shared = limited(ctx, 2)
    first, second = client_for(shared), client_for(shared)
    csrf_first = csrf_of(first.get("/concern").text)
    csrf_second = csrf_of(second.get("/concern").text)
    statuses = [
        first.post("/concern", data=public_form(csrf_first, concern="One")).status_code,
        second.post("/concern", data=public_form(csrf_second, concern="Two")).status_code,
        first.post("/concern", data=public_form(csrf_first, concern="Three")).status_code,
        second.post("/concern", data=public_form(csrf_second, concern="Four")).status_code,
    ]
    assert statuses == [303, 303, 429, 429]
    assert stored(ctx) == 2


def test_the_limit_keeps_no_address_and_forgets_sends_after_an_hour(ctx: AppContext) -> None:
    client = client_for(limited(ctx, 1))
    csrf = csrf_of(client.get("/concern").text)
    assert client.post("/concern", data=public_form(csrf, concern="One")).status_code == 303
    with ctx.uow() as uow:
        keys = list(uow.session.scalars(select(PublicFormSend.address_key)))
    assert len(keys) == 1 and "testclient" not in keys[0] and len(keys[0]) == 64
    # Within the hour the next send is refused; the scheduler's cycle an hour on forgets it.
    assert client.post("/concern", data=public_form(csrf, concern="Two")).status_code == 429
    later = ctx.now() + timedelta(hours=1, seconds=1)
    assert scheduler.run_cycle(ctx, later, deliver=False).throttle_rows_forgotten == 1
    with ctx.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(PublicFormSend)) == 0


def sends(ctx: AppContext) -> int:
    with ctx.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(PublicFormSend)) or 0)


REFUSE_STORING = {
    "sqlite": ["CREATE TRIGGER refuse BEFORE INSERT ON raw_submissions "
               "BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE INSERT ON raw_submissions "
        "FOR EACH ROW EXECUTE FUNCTION refuse()"],
}


def test_the_send_is_counted_in_the_transaction_that_stores_the_concern(ctx: AppContext) -> None:
    """One use case, one transaction: a concern the database refuses to store is not counted
    against the sender, and a stored one always is."""
    sender = Sender("203.0.113.9", "secret", per_hour=5)
    with ctx.engine.begin() as conn:
        for statement in REFUSE_STORING[conn.dialect.name]:
            conn.exec_driver_sql(statement)
    with pytest.raises(Exception, match="refused"):
        submissions.ingest_form(ctx, form_bytes(concern="One"), "public web form", None,
                           public=True, sender=sender)
    assert (stored(ctx), sends(ctx)) == (0, 0)
    with ctx.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse" + (
            " ON raw_submissions" if conn.dialect.name == "postgresql" else ""))
    raw = form_bytes(concern="One")
    submissions.ingest_form(ctx, raw, "public web form", None, public=True, sender=sender)
    assert (stored(ctx), sends(ctx)) == (1, 1)
    # The very same bytes again are stored once, and counted once.
    again = submissions.ingest_form(ctx, raw, "public web form", None, public=True, sender=sender)
    assert again.status == "duplicate"
    assert (stored(ctx), sends(ctx)) == (1, 1)


def test_sends_at_the_same_moment_from_one_address_cannot_pass_the_limit_together(
    ctx: AppContext,
) -> None:
    sender = Sender("203.0.113.10", "secret", per_hour=2)
    start = threading.Barrier(6)

    def send(i: int) -> str:
        start.wait()
        try:
            submissions.ingest_form(ctx, form_bytes(concern=f"Concern number {i}"),
                               "public web form", None, public=True, sender=sender)
        except TooManySends:
            return "refused"
        return "sent"

    with ThreadPoolExecutor(6) as pool:
        outcomes = sorted(pool.map(send, range(6)))
    assert outcomes == ["refused"] * 4 + ["sent"] * 2
    assert (stored(ctx), sends(ctx)) == (2, 2)
