"""Email intake: real-world shapes of .eml files, read without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concerns.triage.email_intake import (
    SetAside,
    html_to_text,
    message_id_of,
    parse_email,
    parse_mail_date,
)
from concerns.triage.submission import Submission, SubmissionError

RECEIVED = datetime(2021, 5, 1, 9, 0, tzinfo=UTC)


def build(
    body: str = "My son was let down by social care.",
    *,
    sender: str = "Jane Smith <jane.smith@example.com>",
    subject: str = "Concern about my son",
    date: str | None = "Tue, 20 Apr 2021 10:15:00 +0100",
    message_id: str = "<m1@example.com>",
    html: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = "concerns@council.gov.uk"
    msg["Subject"] = subject
    if date:
        msg["Date"] = date
    msg["Message-ID"] = message_id
    for key, value in (extra_headers or {}).items():
        msg[key] = value
    if body:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg


def read(raw: bytes | EmailMessage, **kwargs: object) -> Submission:
    data = raw.as_bytes(policy=SMTP) if isinstance(raw, EmailMessage) else raw
    result = parse_email(data, received_at=RECEIVED, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Submission), result
    return result


def test_a_plain_email_gives_the_sender_date_subject_text_and_message_id() -> None:
    sub = read(build())
    assert sub.channel == "email"
    assert sub.respondent.name == "Jane Smith"
    assert sub.respondent.email == "jane.smith@example.com"
    assert sub.submitted_at == datetime(2021, 4, 20, 9, 15, tzinfo=UTC)
    assert sub.subject == "Concern about my son"
    assert sub.concern == "My son was let down by social care."
    assert sub.message_id == "<m1@example.com>"
    assert sub.route is None
    assert sub.flags == ()


def test_encoded_headers_and_a_windows_1252_body_are_read_correctly() -> None:
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9_=C3=81lvarez?= <Jose@Example.com>\r\n"
        b"Subject: =?iso-8859-1?q?Concern_about_my_son=92s_care?=\r\n"
        b"Date: Tue, 20 Apr 2021 10:15:00 +0100\r\n"
        b"Message-ID: <abc@example.com>\r\n"
        b"Content-Type: text/plain; charset=windows-1252\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"I\x92m worried about \x93my son\x94 \x80.\r\n"
    )
    sub = read(raw)
    assert sub.respondent.name == "José Álvarez"
    assert sub.respondent.email == "jose@example.com"
    assert sub.subject == "Concern about my son’s care"
    assert sub.concern == "I’m worried about “my son” €."
    assert sub.flags == ()


def test_a_body_not_in_its_declared_charset_is_still_read_and_flagged() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nDate: Tue, 20 Apr 2021 10:15:00 +0100\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Caf\xe9 and cr\xe8che\r\n"
    )
    sub = read(raw)
    assert sub.concern == "Café and crèche"
    assert "body: text was not in its declared character set" in sub.flags


def test_an_unknown_charset_is_read_as_utf8_and_flagged() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nDate: Tue, 20 Apr 2021 10:15:00 +0100\r\n"
        b"Content-Type: text/plain; charset=x-made-up\r\n\r\n"
        b"Gr\xc3\xbc\xc3\x9fe\r\n"
    )
    sub = read(raw)
    assert sub.concern == "Grüße"
    assert any(f.startswith("body: unknown character set") for f in sub.flags)


def test_html_only_mail_is_stripped_to_text_without_scripts_styles_or_markup() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>t</title></head><body>"
        "<p>Dear team,</p><p>My daughter &amp; I were <b>ignored</b>.<script>alert(1)</script>"
        "</p><ul><li>first</li><li>second</li></ul>{{ 7*7 }}<br>Thanks</body></html>"
    )
    sub = read(build("", html=html))
    assert sub.concern == (
        "Dear team,\n\nMy daughter & I were ignored.\n\n- first\n- second\n{{ 7*7 }}\nThanks"
    )
    assert "<" not in sub.concern and "alert" not in sub.concern and "color" not in sub.concern


def test_multipart_alternative_prefers_the_plain_text_part() -> None:
    sub = read(build("Plain words.", html="<p>HTML words.</p>"))
    assert sub.concern == "Plain words."


def test_an_empty_plain_part_falls_back_to_the_html_part() -> None:
    sub = read(build(" ", html="<p>Only the HTML says it.</p>"))
    assert sub.concern == "Only the HTML says it."


def test_attachments_are_kept_with_their_names_types_and_bytes() -> None:
    msg = build()
    msg.add_attachment(b"%PDF-1.4 letter", maintype="application", subtype="pdf",
                       filename="letter from school.pdf")
    msg.add_attachment(b"\x89PNG photo", maintype="image", subtype="png",
                       filename="../../etc/passwd.png")
    sub = read(msg)
    assert [(a.filename, a.content_type, a.content) for a in sub.attachments] == [
        ("letter from school.pdf", "application/pdf", b"%PDF-1.4 letter"),
        ("passwd.png", "image/png", b"\x89PNG photo"),
    ]
    assert sub.concern == "My son was let down by social care."


def test_an_attachment_over_the_limit_is_flagged_and_left_in_the_raw_email() -> None:
    msg = build()
    msg.add_attachment(b"x" * 2000, maintype="application", subtype="octet-stream",
                       filename="big.bin")
    sub = read(msg, max_attachment_bytes=1000)
    assert sub.attachments == ()
    assert "attachments[1]: larger than 1000 bytes, kept only in the raw email" in sub.flags


def test_a_20_mb_attachment_is_kept_whole() -> None:
    content = bytes(range(256)) * (20 * 1024 * 1024 // 256)
    msg = build()
    msg.add_attachment(content, maintype="application", subtype="pdf", filename="records.pdf")
    sub = read(msg)
    assert len(sub.attachments) == 1
    assert sub.attachments[0].content == content


OUTLOOK_FORWARD = """Please log this one, thanks.

Executive Assistant to the DCS

________________________________
From: Jane O'Brien <Jane.OBrien@example.com>
Sent: Tuesday, 20 April 2021 10:15
To: Communications <comms@council.gov.uk>
Subject: My daughter's care

Dear Sir or Madam,

My daughter was moved without notice in 2009.
"""


def test_an_inline_forward_gives_the_original_sender_date_and_text_and_the_forwarder_as_route(
) -> None:
    sub = read(build(OUTLOOK_FORWARD, sender="Executive Assistant <ea@council.gov.uk>",
                     subject="FW: My daughter's care", date="Wed, 21 Apr 2021 09:00:00 +0100"))
    assert sub.respondent.name == "Jane O'Brien"
    assert sub.respondent.email == "jane.obrien@example.com"
    assert sub.submitted_at == datetime(2021, 4, 20, 9, 15, tzinfo=UTC)
    assert sub.concern == (
        "Dear Sir or Madam,\n\nMy daughter was moved without notice in 2009."
    )
    assert sub.subject == "My daughter's care"
    assert sub.route == "ea@council.gov.uk"
    assert sub.message_id == "<m1@example.com>"


def test_an_html_outlook_forward_without_a_marker_line_is_read_from_its_header_block() -> None:
    html = (
        "<p>Please log</p><div style='border-top:solid #E1E1E1 1.0pt'>"
        "<p><b>From:</b> Jane O'Brien &lt;jane@example.com&gt;</p>"
        "<p><b>Sent:</b> 20 April 2021 10:15</p><p><b>To:</b> Comms</p>"
        "<p><b>Subject:</b> My daughter</p></div><p>Dear Sir,</p><p>It went wrong.</p>"
    )
    sub = read(build("", html=html, sender="ea@council.gov.uk", subject="FW: My daughter"))
    assert (sub.respondent.name, sub.respondent.email) == ("Jane O'Brien", "jane@example.com")
    assert sub.concern == "Dear Sir,\n\nIt went wrong."
    assert sub.route == "ea@council.gov.uk"


@pytest.mark.parametrize(
    "marker, block",
    [
        (
            "---------- Forwarded message ---------",
            "From: Jane Smith <jane@example.com>\nDate: Tue, 20 Apr 2021 at 10:15\n"
            "Subject: Help\nTo: <comms@council.gov.uk>",
        ),
        (
            "Begin forwarded message:\n",
            "From: Jane Smith <jane@example.com>\nSubject: Help\n"
            "Date: 20 April 2021 at 10:15:00 BST\nTo: comms@council.gov.uk",
        ),
        (
            "-------- Forwarded Message --------",
            "Subject: Help\nDate: Tue, 20 Apr 2021 10:15:00 +0100\n"
            "From: Jane Smith <jane@example.com>\nTo: comms@council.gov.uk",
        ),
    ],
    ids=["gmail", "apple-mail", "thunderbird"],
)
def test_forward_markers_of_the_common_mail_programs_are_read(marker: str, block: str) -> None:
    body = f"FYI\n\n{marker}\n{block}\n\nI need help with my grandson's case.\n"
    sub = read(build(body, sender="Comms Team <comms@council.gov.uk>", subject="Fwd: Help"))
    assert sub.respondent.email == "jane@example.com"
    assert sub.respondent.name == "Jane Smith"
    assert sub.submitted_at == datetime(2021, 4, 20, 9, 15, tzinfo=UTC)
    assert sub.concern == "I need help with my grandson's case."
    assert sub.route == "comms@council.gov.uk"


def original_message() -> EmailMessage:
    inner = build("The original concern text.", sender="Mary Jones <mary@example.org>",
                  subject="Concern", date="Mon, 19 Apr 2021 08:30:00 +0100",
                  message_id="<orig@example.org>")
    inner.add_attachment(b"scan", maintype="application", subtype="pdf", filename="scan.pdf")
    return inner


def test_a_forward_as_an_attached_message_reads_the_attached_original() -> None:
    outer = build("See attached.", sender="comms@council.gov.uk", subject="FW: Concern")
    outer.add_attachment(original_message())
    sub = read(outer)
    assert sub.respondent.email == "mary@example.org"
    assert sub.respondent.name == "Mary Jones"
    assert sub.submitted_at == datetime(2021, 4, 19, 7, 30, tzinfo=UTC)
    assert sub.concern == "The original concern text."
    assert sub.route == "comms@council.gov.uk"
    # The outer Message-ID is what was received; the original's attachment travels with it.
    assert sub.message_id == "<m1@example.com>"
    assert [a.filename for a in sub.attachments] == ["scan.pdf"]


def test_a_forward_forwarded_again_by_the_executive_assistant_records_both_forwarders() -> None:
    middle = build("Over to you.", sender="comms@council.gov.uk", subject="FW: Concern",
                   message_id="<mid@council.gov.uk>")
    middle.add_attachment(original_message())
    outer = build("For the IAT.", sender="ea@council.gov.uk", subject="FW: FW: Concern")
    outer.add_attachment(middle)
    sub = read(outer)
    assert sub.respondent.email == "mary@example.org"
    assert sub.route == "comms@council.gov.uk → ea@council.gov.uk"
    assert sub.subject == "Concern"


def test_a_member_of_the_public_forwarding_someone_elses_email_is_the_respondent() -> None:
    body = (
        "This is what the social worker sent me.\n\n---------- Forwarded message ---------\n"
        "From: Social Worker <sw@council.gov.uk>\nDate: Tue, 20 Apr 2021 at 10:15\n"
        "Subject: Visit\n\nWe will visit on Friday.\n"
    )
    sub = read(build(body, sender="Jane Smith <jane@example.com>", subject="Fwd: Visit"),
                staff=["council.gov.uk"])
    assert sub.respondent.email == "jane@example.com"
    assert sub.route is None
    assert "We will visit on Friday." in sub.concern


def test_a_reply_quoting_an_earlier_message_is_not_read_as_a_forward() -> None:
    body = (
        "Thank you, but I am still unhappy.\n\n-----Original Message-----\n"
        "From: IAT <iat@council.gov.uk>\nSent: 20 April 2021 10:15\nSubject: Your concern\n\n"
        "We have received your concern.\n"
    )
    sub = read(build(body, subject="RE: Your concern"))
    assert sub.respondent.email == "jane.smith@example.com"
    assert sub.route is None
    assert sub.concern.startswith("Thank you, but I am still unhappy.")


def test_a_forward_whose_original_date_cannot_be_read_uses_the_forward_date_and_says_so(
) -> None:
    body = (
        "---------- Forwarded message ---------\nFrom: Jane <jane@example.com>\n"
        "Date: sometime last week\n\nHello.\n"
    )
    sub = read(build(body, sender="comms@council.gov.uk", subject="Fwd: x"))
    assert sub.submitted_at == datetime(2021, 4, 20, 9, 15, tzinfo=UTC)
    assert "forwarded.date: the original date could not be read" in sub.flags


def test_a_forward_whose_original_sender_cannot_be_read_is_refused() -> None:
    body = "---------- Forwarded message ---------\nFrom:\nDate: 20 April 2021 10:15\n\nHi\n"
    with pytest.raises(SubmissionError) as err:
        read(build(body, sender="comms@council.gov.uk", subject="Fwd: x"))
    assert err.value.field == "forwarded.from"


@pytest.mark.parametrize(
    "headers, subject, reason",
    [
        ({"Auto-Submitted": "auto-replied"}, "Automatic reply: Concern", "automatic reply"),
        ({}, "Automatic reply: Your letter", "automatic reply"),
        ({"Auto-Submitted": "auto-replied"}, "Out of Office: Concern", "out-of-office notice"),
        ({"X-Autoreply": "yes"}, "I am away", "automatic reply"),
        ({"Precedence": "auto_reply"}, "Re: Concern", "automatic reply"),
        ({}, "Undeliverable: Your concern", "delivery failure"),
        ({}, "Mail delivery failed: returning message to sender", "delivery failure"),
    ],
)
def test_auto_replies_out_of_office_notices_and_delivery_failures_are_set_aside(
    headers: dict[str, str], subject: str, reason: str
) -> None:
    result = parse_email(build(subject=subject, extra_headers=headers).as_bytes(policy=SMTP))
    assert result == SetAside(reason, "<m1@example.com>")


def test_a_bounce_from_the_mailer_daemon_is_a_delivery_failure() -> None:
    msg = build(sender="Mail Delivery System <MAILER-DAEMON@mx.example.com>", subject="Failure")
    assert parse_email(msg.as_bytes()) == SetAside("delivery failure", "<m1@example.com>")


def test_a_delivery_status_report_is_a_delivery_failure() -> None:
    raw = (
        b"From: mx@example.com\r\nSubject: Returned\r\nMessage-ID: <b@x>\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n--XX--\r\n"
    )
    assert parse_email(raw) == SetAside("delivery failure", "<b@x>")


def test_a_concern_about_out_of_office_hours_care_is_not_set_aside() -> None:
    sub = read(build(subject="Out of office hours duty team"))
    assert sub.subject == "Out of office hours duty team"


def test_a_truncated_email_keeps_what_could_be_read_and_is_flagged() -> None:
    msg = build()
    msg.add_attachment(b"A" * 5000, maintype="application", subtype="pdf", filename="a.pdf")
    raw = msg.as_bytes(policy=SMTP)
    cut = raw[: len(raw) - 3000]
    sub = read(cut)
    assert sub.concern == "My son was let down by social care."
    assert any(f.startswith("email: the message is damaged") for f in sub.flags)


def test_an_email_without_any_sender_is_refused_naming_the_from_field() -> None:
    with pytest.raises(SubmissionError) as err:
        read(build(sender=""))
    assert err.value.field == "from"


def test_bytes_that_are_not_an_email_are_refused() -> None:
    with pytest.raises(SubmissionError) as err:
        parse_email(b"\x00\x01\x02 not an email at all")
    assert err.value.field == "(file)"
    with pytest.raises(SubmissionError):
        parse_email(b"   \n")


def test_an_email_with_neither_text_nor_attachments_is_refused() -> None:
    with pytest.raises(SubmissionError) as err:
        read(build(" \n "))
    assert err.value.field == "body"


def test_an_email_with_only_an_attachment_is_kept_and_says_so() -> None:
    msg = build(" ")
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="letter.pdf")
    sub = read(msg)
    assert sub.concern == "(no message text: see the attached files)"
    assert "body: no text, see attachments" in sub.flags


def test_a_sender_without_a_display_name_gets_a_name_from_the_address_and_a_flag() -> None:
    sub = read(build(sender="mary.jones42@example.com"))
    assert sub.respondent.name == "Mary Jones42"
    assert "respondent.name: taken from the email address" in sub.flags


def test_a_missing_date_uses_the_time_received_and_says_so() -> None:
    sub = read(build(date=None))
    assert sub.submitted_at == RECEIVED
    assert "date: missing or unreadable, the time received is used" in sub.flags


def test_nul_and_control_characters_are_removed_from_the_text() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: x\r\nDate: Tue, 20 Apr 2021 10:15:00 +0100\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nline\x00one\x07\r\nline two\r\n"
    )
    assert read(raw).concern == "lineone\nline two"


def test_a_very_long_body_is_cut_to_the_limit_and_flagged() -> None:
    sub = read(build("a" * 500), max_concern=100)
    assert len(sub.concern) == 100
    assert any(f.startswith("concern: longer than 100 characters") for f in sub.flags)


def test_message_id_of_reads_the_header_without_parsing_the_body() -> None:
    assert message_id_of(build().as_bytes()) == "<m1@example.com>"
    assert message_id_of(b"Subject: none\r\n\r\nbody") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tue, 20 Apr 2021 10:15:00 +0100", datetime(2021, 4, 20, 9, 15, tzinfo=UTC)),
        ("Tuesday, April 20, 2021 10:15 AM", datetime(2021, 4, 20, 9, 15, tzinfo=UTC)),
        ("Tuesday, 20 April 2021 10:15", datetime(2021, 4, 20, 9, 15, tzinfo=UTC)),
        ("20/04/2021 10:15", datetime(2021, 4, 20, 9, 15, tzinfo=UTC)),
        ("Tue, 20 Apr 2021 at 10:15", datetime(2021, 4, 20, 9, 15, tzinfo=UTC)),
        ("20 January 2021 at 10:15:00 GMT", datetime(2021, 1, 20, 10, 15, tzinfo=UTC)),
        ("Wed, 20 Jan 2021 10:15 UTC", datetime(2021, 1, 20, 10, 15, tzinfo=UTC)),
    ],
)
def test_dates_in_forwarded_headers_are_read_in_london_time(text: str, expected: datetime) -> None:
    parsed = parse_mail_date(text)
    assert parsed is not None and parsed == expected


def test_unreadable_dates_give_none() -> None:
    assert parse_mail_date("next Tuesday-ish") is None
    assert parse_mail_date("") is None


def test_html_to_text_keeps_entities_as_text_and_drops_comments() -> None:
    assert html_to_text("<p>a &lt;b&gt; &#163;5</p><!-- hidden -->") == "a <b> £5"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_end_as_a_submission_a_set_aside_or_a_named_refusal(raw: bytes) -> None:
    try:
        result = parse_email(raw, received_at=RECEIVED)
    except SubmissionError as exc:
        assert exc.field
        return
    assert isinstance(result, Submission | SetAside)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=300),
    st.text(max_size=60),
    st.text(max_size=60),
    st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "utf-16", "koi8-r", "bogus"]),
)
def test_generated_emails_with_any_text_and_charset_never_end_in_a_traceback(
    body: str, name: str, subject: str, charset: str
) -> None:
    head = (
        f"From: {name} <p@example.com>\r\nSubject: {subject}\r\n"
        f"Date: Tue, 20 Apr 2021 10:15:00 +0100\r\n"
        f"Content-Type: text/html; charset={charset}\r\n\r\n"
    )
    raw = head.encode("utf-8", "surrogatepass") + body.encode("utf-8", "surrogatepass")
    try:
        result = parse_email(raw, received_at=RECEIVED)
    except SubmissionError as exc:
        assert exc.field in {"body", "from", "(file)"}
        return
    assert isinstance(result, Submission | SetAside)
