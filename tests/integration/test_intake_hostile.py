"""Hostile and broken input: every submission ends stored or quarantined with a reason, never in
a traceback, and what is stored plus what is quarantined always equals what was submitted."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from concerns.db.models import Attachment, RawSubmission, User
from concerns.workflows.context import AppContext
from concerns.workflows.intake.submissions import ingest_email, ingest_form
from concerns.workflows.queries import show_case
from tests.factories import create_staff, form_bytes

HOSTILE = "<script>alert(1)</script><b>x</b> {{ 7*7 }} {% raw %} ${x} =cmd|'/C calc'!A0 \u202e"


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def raw_statuses(ctx: AppContext) -> dict[str, int]:
    with ctx.uow() as uow:
        rows = uow.session.execute(
            select(RawSubmission.status, func.count()).group_by(RawSubmission.status)
        ).all()
    return {status: int(n) for status, n in rows}


def mail(body: str = "Concern.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Jane Smith <jane@example.com>")
    msg["Subject"] = headers.pop("Subject", "Concern")
    msg["Date"] = "Tue, 20 Apr 2021 10:15:00 +0100"
    msg["Message-ID"] = headers.pop("Message_ID", "<h1@example.com>")
    msg.set_content(body)
    return msg


def test_a_truncated_email_is_stored_with_a_flag_or_quarantined_never_lost(
    staffed: AppContext,
) -> None:
    msg = mail("The start of my concern.")
    msg.add_attachment(b"A" * 20000, maintype="application", subtype="pdf", filename="a.pdf")
    whole = msg.as_bytes()
    for i, cut in enumerate((len(whole) // 2, 120, 40)):
        raw = whole[:cut].replace(b"<h1@", f"<cut{i}@".encode())
        result = ingest_email(staffed, raw, f"cut{i}.eml", "ian")
        assert result.status in ("new_case", "added_to_case", "quarantined")
        if result.status == "quarantined":
            assert result.reason
    statuses = raw_statuses(staffed)
    assert sum(statuses.values()) == 3
    assert set(statuses) <= {"contact", "quarantined"}


def test_wrong_charsets_are_read_and_flagged(staffed: AppContext) -> None:
    raw = (
        b"From: =?koi8-r?b?8NLJ18XU?= <p@example.com>\r\nSubject: =?bogus?q?x?=\r\n"
        b"Date: Tue, 20 Apr 2021 10:15:00 +0100\r\nMessage-ID: <cs@x>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nCr\xe8che \x93quoted\x94\r\n"
    )
    result = ingest_email(staffed, raw, "cs.eml", "ian")
    assert result.status == "new_case" and result.reference
    contact = show_case(staffed, "alex", result.reference)["contacts"][0]
    assert contact["concern"] == "Crèche “quoted”"
    assert "body: text was not in its declared character set" in contact["flags"]


def test_a_20_mb_attachment_is_kept_with_the_contact(staffed: AppContext) -> None:
    content = bytes(range(256)) * (20 * 1024 * 1024 // 256)
    msg = mail("Records attached.")
    msg.add_attachment(content, maintype="application", subtype="pdf", filename="records.pdf")
    result = ingest_email(staffed, msg.as_bytes(), "big.eml", "ian")
    assert result.status == "new_case"
    with staffed.uow() as uow:
        stored = uow.session.scalars(select(Attachment)).one()
        assert stored.size == len(content)
        assert stored.content == content


@pytest.mark.parametrize(
    "data, field",
    [
        ({"respondent": "Jane", "concern": "x"}, "respondent"),
        ({"respondent": {"name": 42, "email": "a@b.co"}, "concern": "x"}, "respondent.name"),
        ({"respondent": {"name": "Jane", "email": "a@b.co"}, "concern": ["x"]}, "concern"),
        ({"respondent": {"name": "Jane"}, "concern": "x"}, "respondent"),
        ([1, 2, 3], "(file)"),
    ],
)
def test_json_with_wrong_types_is_quarantined_naming_the_field(
    staffed: AppContext, data: Any, field: str
) -> None:
    result = ingest_form(staffed, json.dumps(data).encode(), "bad.json", "ian")
    assert (result.status, result.field) == ("quarantined", field)
    assert raw_statuses(staffed) == {"quarantined": 1}


def test_html_and_template_syntax_in_every_text_field_is_stored_as_plain_text(
    staffed: AppContext,
) -> None:
    raw = form_bytes(name=HOSTILE[:90], email="h@example.com", phone=None, address=HOSTILE,
                     postcode=HOSTILE[:12], concern=HOSTILE, staff_named=[HOSTILE],
                     children=[{"name": HOSTILE, "date_of_birth": "{{ now }}"}],
                     involvement={"from_year": "{{ 1 }}", "to_year": "<b>"})
    result = ingest_form(staffed, raw, "h.json", "ian")
    assert result.status == "new_case" and result.reference
    case = show_case(staffed, "alex", result.reference)
    assert case["respondent"]["address"] == HOSTILE
    assert case["contacts"][0]["concern"] == HOSTILE
    assert case["children"][0]["name"] == " ".join(HOSTILE.split())
    assert "children[0].date_of_birth: expected YYYY-MM-DD" in case["contacts"][0]["flags"]


# --- property: nothing is ever lost -------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                               max_size=3),
    max_leaves=8,
)
text_or_junk = st.one_of(st.text(max_size=60), st.integers(), st.none(), json_values)
forms = st.fixed_dictionaries(
    {
        "respondent": st.one_of(
            json_values,
            st.fixed_dictionaries({
                "name": text_or_junk, "email": text_or_junk, "phone": text_or_junk,
                "postcode": text_or_junk, "relationship": text_or_junk,
            }),
        ),
        "concern": text_or_junk,
        "submitted_at": st.one_of(st.none(), st.text(max_size=30),
                                  st.just("2021-04-20T10:15:00+01:00")),
        "children": json_values,
        "involvement": json_values,
    }
)
emails = st.builds(
    lambda name, subject, body, charset: (
        f"From: {name} <p@example.com>\r\nSubject: {subject}\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n\r\n{body}"
    ).encode("utf-8", "surrogatepass"),
    st.text(max_size=30), st.text(max_size=30), st.text(max_size=200),
    st.sampled_from(["utf-8", "latin-1", "bogus", "utf-16"]),
)
submissions = st.lists(
    st.one_of(forms.map(lambda d: ("form", json.dumps(d).encode())),
              emails.map(lambda b: ("email", b)),
              st.binary(max_size=300).map(lambda b: ("email", b)),
              st.binary(max_size=300).map(lambda b: ("form", b))),
    min_size=1, max_size=6,
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=submissions)
def test_stored_plus_quarantined_always_equals_what_was_submitted(
    sqlite_ctx: AppContext, batch: list[tuple[str, bytes]]
) -> None:
    ctx = sqlite_ctx
    with ctx.uow() as uow:
        # Hypothesis runs every example on the one database of this test.
        first_example = uow.session.scalar(select(User.id).limit(1)) is None
    if first_example:
        create_staff(ctx)
    before = raw_statuses(ctx)
    seen_raw: set[tuple[str, bytes]] = set()
    new = 0
    for kind, raw in batch:
        ingest = ingest_form if kind == "form" else ingest_email
        result = ingest(ctx, raw, f"gen.{kind}", "ian")
        assert result.status in ("new_case", "added_to_case", "quarantined", "set_aside",
                                 "duplicate")
        if result.status == "quarantined":
            assert result.reason
        channel = "web" if kind == "form" else "email"
        if result.status != "duplicate" and (channel, raw) not in seen_raw:
            new += 1
        seen_raw.add((channel, raw))
    after = raw_statuses(ctx)
    assert after.get("new", 0) == 0  # nothing stored and left unread
    stored = sum(after.get(s, 0) - before.get(s, 0) for s in ("contact", "ignored"))
    quarantined = after.get("quarantined", 0) - before.get("quarantined", 0)
    assert stored + quarantined == new
