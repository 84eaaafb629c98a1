"""Builds the council-shaped test data set in this folder (run it after changing the people).

    .venv/bin/python tests/data/council/build.py

45 people, 63 contacts: the legacy register (30 rows, April-May 2021, all closed), 18 emails
(most forwarded by the communications team or the executive assistant, in the shapes Outlook,
Gmail, Apple Mail and attached messages take) and 15 web forms. Seven people write more than
once with their name, email and phone typed differently; six children are raised by two
different people. Extra files that must not become contacts: an auto-reply, a bounce, an email
without a sender, a form with wrong types and the register's totals row.

The expected scrutiny figures are worked out by hand in tests/integration/test_scrutiny_council.py;
this script only writes the files.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
LONDON = ZoneInfo("Europe/London")
COMMS = "Communications Team <communications@example.gov.uk>"
EA = "Executive Assistant to the DCS <dcs.assistant@example.gov.uk>"
IAT = "concernsaboutcare@example.gov.uk"

REGISTER_HEADINGS = [
    "Ref", "Date received", "Name", "E-mail", "Telephone", "Postcode", "Relationship",
    "Child's name", "Child DOB", "Years involved", "Staff named", "Concern", "How received",
    "Stage", "Outcome", "Learning review", "Date closed",
]

# (name, email, phone, postcode, relationship, child, child dob, years, stage, outcome, review)
REGISTER = [
    ("Helen Morgan", "helen.morgan@example.com", "07700 900101", "HR1 1AA", "Parent",
     "Ellie Morgan", "11/02/2009", "1996-2001", "Answered", "", "No"),
    ("Margaret Morgan", "m.morgan@example.org", "01432 555101", "HR1 1AB", "Grandparent",
     "Ellie Morgan", "11/02/2009", "2005-2012", "Answered", "", "No"),
    ("Gareth Davies", "gareth.d@example.com", "07700 900103", "HR2 2AA", "Parent",
     "Jack Davies", "30/07/2005", "2006-2010", "Answered", "", "No"),
    ("Rhian Davies", "rhian.davies@example.net", "07700 900104", "HR2 2AB", "Carer",
     "Jack Davies", "30/07/2005", "2007-2011", "Answered", "", "No"),
    ("Bridget O'Connor", "bridget.oc@example.com", "07700 900105", "HR3 3AA", "Grandparent",
     "Liam O'Connor", "05/05/2011", "2012-2017", "Answered", "", "No"),
    ("Sian Evans", "sian.evans@example.com", "07700 900106", "HR4 4AA", "Parent",
     "Chloe Evans", "01/12/2003", "2004-2009", "Answered", "", "No"),
    ("Owen Evans", "owen.evans@example.org", "07700 900107", "HR4 4AB", "Parent",
     "Chloe Evans", "01/12/2003", "2004-2009", "Answered", "", "No"),
    ("Farida Khan", "farida.k@example.com", "07700 900108", "HR5 5AA", "Grandparent",
     "Amir Khan", "09/09/2008", "2010-2018", "Referred to complaints", "", "No"),
    ("Karen Smith", "smithfamily@example.com", "07700 900109", "HR6 6AA", "Parent",
     "Ruby Smith", "10/10/2010", "2011-2016", "Referred to complaints", "", "No"),
    ("David Smith", "smithfamily@example.com", "07700 900110", "HR6 6AA", "Parent",
     "Ruby Smith", "10/10/2010", "2011-2016", "Referred to complaints", "", "No"),
    ("Linda Price", "linda.price@example.com", "07700 900111", "HR7 7AA", "Parent",
     "Sophie Price", "12/03/2006", "2007-2013", "Referred to complaints", "", "No"),
    ("Robert Jenkins", "rob.jenkins@example.com", "07700 900112", "HR8 8AA", "Parent",
     "Dylan Jenkins", "14/04/2004", "2005-2012", "Referred to complaints", "", "No"),
    ("Angela Wood", "angela.wood@example.com", "07700 900113", "HR9 9AA", "Carer",
     "Kayleigh Wood", "15/05/2002", "2003-2008", "Referred to complaints", "", "No"),
    ("Peter Bowen", "p.bowen@example.com", "07700 900114", "WR1 1AA", "Parent",
     "Callum Bowen", "16/06/2001", "2002-2010", "Closed", "Dealt with outside framework",
     "No"),
    ("Julie Harris", "julie.harris@example.com", "07700 900115", "WR2 2AA", "Parent",
     "Megan Harris", "17/07/2007", "2008-2014", "Closed", "Dealt with outside framework",
     "No"),
    ("Steven Clarke", "steve.clarke@example.com", "07700 900116", "WR3 3AA", "Parent",
     "Jordan Clarke", "18/08/2008", "2009-2015", "Closed", "Dealt with outside framework",
     "No"),
    ("Nicola Turner", "nicola.t@example.com", "07700 900117", "WR4 4AA", "Grandparent",
     "Ella Turner", "19/09/2009", "2010-2017", "Closed", "Dealt with outside framework",
     "No"),
    ("Paul Edwards", "paul.edwards@example.com", "07700 900118", "WR5 5AA", "Parent",
     "Ryan Edwards", "20/10/2000", "2001-2007", "Closed", "Dealt with outside framework",
     "No"),
    ("Deborah Hall", "deb.hall@example.com", "07700 900119", "WR6 6AA", "Parent",
     "Lily Hall", "21/11/2011", "2012-2018", "Closed", "Dealt with outside framework",
     "No"),
    ("Mark Lewis", "mark.lewis@example.com", "07700 900120", "WR7 7AA", "Parent",
     "Ben Lewis", "22/12/2002", "2003-2010", "Closed", "Dealt with outside framework", "No"),
    ("Joanne Roberts", "jo.roberts@example.com", "07700 900121", "GL1 1AA", "Parent",
     "Holly Roberts", "02/01/2006", "2007-2014", "Closed", "Responded", "Yes"),
    ("Christopher Ward", "chris.ward@example.com", "07700 900122", "GL2 2AA", "Parent",
     "Kieran Ward", "03/02/2003", "2004-2011", "Closed", "Responded", "Yes"),
    ("Amanda Hughes", "amanda.h@example.com", "07700 900123", "GL3 3AA", "Carer",
     "Jade Hughes", "04/03/2009", "2010-2016", "Closed", "Responded", "Yes"),
    ("Gary Phillips", "gary.p@example.com", "07700 900124", "GL4 4AA", "Parent",
     "Tyler Phillips", "05/04/2005", "2006-2012", "Closed", "Responded", "Yes"),
    ("Tracey Morris", "tracey.morris@example.com", "07700 900125", "GL5 5AA", "Grandparent",
     "Amber Morris", "06/05/2010", "2011-2018", "Closed", "Responded", "Yes"),
    ("Andrew James", "andrew.james@example.com", "07700 900126", "SY1 1AA", "Parent",
     "", "", "2000-2006", "Closed", "Responded", "Yes"),
    ("Claire Thomas", "claire.thomas@example.com", "07700 900127", "SY2 2AA", "Parent",
     "", "", "2003-2009", "Closed", "Responded", "Yes"),
    ("Ian Watkins", "ian.watkins@example.com", "07700 900128", "SY3 3AA", "Professional",
     "", "", "2008-2013", "Closed", "Responded", "Yes"),
    ("Lisa Powell", "lisa.powell@example.com", "07700 900129", "SY4 4AA", "Parent",
     "", "", "2005-2015", "Closed", "Responded", "Yes"),
    ("Martin Griffiths", "martin.g@example.com", "07700 900130", "SY5 5AA", "Young person",
     "", "", "1999-2010", "Closed", "Responded", "Yes"),
]
# April 2021 from the Tuesday after Easter Monday, then May: one register row a working day.
REGISTER_DAYS = [
    "06/04/2021", "07/04/2021", "08/04/2021", "09/04/2021", "12/04/2021", "13/04/2021",
    "14/04/2021", "15/04/2021", "16/04/2021", "19/04/2021", "20/04/2021", "21/04/2021",
    "22/04/2021", "23/04/2021", "26/04/2021", "27/04/2021", "28/04/2021", "29/04/2021",
    "30/04/2021", "04/05/2021", "05/05/2021", "06/05/2021", "07/05/2021", "10/05/2021",
    "11/05/2021", "12/05/2021", "13/05/2021", "14/05/2021", "17/05/2021", "18/05/2021",
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def write_register() -> None:
    with (HERE / "register.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REGISTER_HEADINGS)
        for i, (row, day) in enumerate(zip(REGISTER, REGISTER_DAYS, strict=True), start=1):
            (name, email, phone, postcode, rel, child, dob, years, stage, outcome,
             review) = row
            concern = f"Concern about how the family was treated ({years})."
            if i == 21:
                # A register cell that a spreadsheet would run as a formula: kept as data.
                concern = '=HYPERLINK("http://example.invalid","see notes") ' + concern
            closed = "" if stage == "" else day.replace("/2021", "/2021")
            writer.writerow([
                f"IAT/{i:03d}", day, name, email, phone, postcode, rel, child, dob, years,
                "", concern, "", stage, outcome, review, closed,
            ])
        # The totals row registers end with: not a record, so not stored.
        writer.writerow(["Total", "", "30", "", "", "", "", "", "", "", "", "", "", "", "", "",
                         ""])


def email(
    name: str, sender: str, when: str, body: str, *, subject: str = "My concern",
    html: bool = False,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = IAT
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at(when))
    msg["Message-ID"] = f"<{name}@mail.example>"
    if html:
        msg.set_content(body, subtype="html")
    else:
        msg.set_content(body)
    return msg


def outlook_forward(original: str, sent: str, subject: str, text: str) -> str:
    return (
        "Please log this on the register.\n\nThanks\nExecutive Assistant\n\n"
        "________________________________\n"
        f"From: {original}\nSent: {sent}\nTo: Communications <communications@example.gov.uk>\n"
        f"Subject: {subject}\n\n{text}\n"
    )


def gmail_forward(original: str, date: str, subject: str, text: str) -> str:
    return (
        "Forwarding for the IAT.\n\n---------- Forwarded message ---------\n"
        f"From: {original}\nDate: {date}\nSubject: {subject}\nTo: <{IAT}>\n\n{text}\n"
    )


def apple_forward(original: str, date: str, subject: str, text: str) -> str:
    return (
        "See below.\n\nBegin forwarded message:\n\n"
        f"From: {original}\nSubject: {subject}\nDate: {date}\nTo: {IAT}\n\n{text}\n"
    )


def attached_forward(
    name: str, forwarder: str, when: str, original: EmailMessage
) -> EmailMessage:
    outer = email(name, forwarder, when, "Forwarded as an attachment for the IAT.",
                  subject=f"FW: {original['Subject']}")
    outer.add_attachment(original)
    return outer


def write_emails() -> None:
    folder = HERE / "emails"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    mails: dict[str, EmailMessage] = {}
    # R1 Sarah O'Connor: forwarded inline (Outlook HTML), attached, then direct in capitals.
    mails["2021-04-08-r1"] = email(
        "r1a", EA, "2021-04-09T09:00",
        "<p>Please log.</p><div style='border-top:solid #E1E1E1 1.0pt'>"
        "<p><b>From:</b> Sarah O'Connor &lt;sarah.oconnor@example.com&gt;<br>"
        "<b>Sent:</b> 08 April 2021 10:15<br><b>To:</b> Communications<br>"
        "<b>Subject:</b> My son</p></div><p>My son was placed far from home in 2012.</p>",
        subject="FW: My son", html=True)
    inner = email("r1c-original", "\"O'Connor, Sarah\" <sarah.oconnor@example.com>",
                  "2021-05-06T10:15", "Further to my earlier message, I have more to add.",
                  subject="Further information")
    mails["2021-05-06-r1"] = attached_forward("r1c", COMMS, "2021-05-07T08:30", inner)
    mails["2021-06-10-r1"] = email("r1d", "SARAH O CONNOR <SARAH.OCONNOR@EXAMPLE.COM>",
                                   "2021-06-10T10:15", "I am still waiting to hear back.")
    # R2 Mohammed Khan: Gmail forward with another spelling, then direct.
    mails["2021-05-12-r2"] = email("r2b", COMMS, "2021-05-12T15:00", gmail_forward(
        "Mohammad Khan <M.Khan@example.net>", "Wed, 12 May 2021 at 10:15", "Amir",
        "I want to add what happened at the review meeting."), subject="Fwd: Amir")
    mails["2021-08-03-r2"] = email("r2d", "Mohammed Khan <m.khan@example.net>",
                                   "2021-08-03T10:15", "Any news on my concern?")
    # R3 Zoë Smith-Jones: attached forward without the accent, Apple Mail forward.
    inner3 = email("r3b-original", "Zoe Smith Jones <ZOE.SJ@example.com>", "2021-05-25T10:15",
                   "Noah's school was not told about the move.", subject="Noah")
    mails["2021-05-25-r3"] = attached_forward("r3b", EA, "2021-05-26T09:00", inner3)
    mails["2021-10-19-r3"] = email("r3d", COMMS, "2021-10-19T16:00", apple_forward(
        "Zoë Smith-Jones <zoe.sj@example.com>", "19 October 2021 at 10:15:00 BST", "Noah",
        "A last point about Noah's care plan."), subject="Fwd: Noah")
    # R4 Jean-Paul Dubois: direct, then Outlook plain-text forward as "J-P Dubois".
    mails["2021-05-18-r4"] = email("r4a", "Jean-Paul Dubois <jp.dubois@example.fr>",
                                   "2021-05-18T10:15", "I raise a concern about 2009-2014.")
    mails["2021-06-29-r4"] = email("r4b", EA, "2021-06-30T09:00", outlook_forward(
        "J-P Dubois <jp.dubois@example.fr>", "Tuesday, 29 June 2021 10:15", "Follow up",
        "Following up my email of May."), subject="FW: Follow up")
    # R5 Aisha Begum writes once by email between two forms.
    mails["2021-07-20-r5"] = email("r5b", "Aisha Begum <A.Begum@example.org>",
                                   "2021-07-20T10:15", "Sami's contact arrangements again.")
    # R6 Tom Williams: Gmail forward, later direct as "T. Williams".
    mails["2021-06-02-r6"] = email("r6a", COMMS, "2021-06-02T14:00", gmail_forward(
        "Tom Williams <tom.w@example.co.uk>", "Wed, 2 Jun 2021 at 10:15", "Concern",
        "I was in care in the 1990s and 2000s."), subject="Fwd: Concern")
    mails["2021-12-07-r6"] = email("r6c", "T. Williams <tom.w@example.co.uk>",
                                   "2021-12-07T10:15", "Is there any update?")
    # R7 Patricia Hughes-Lloyd, forwarded by the executive assistant.
    mails["2021-10-26-r7"] = email("r7c", EA, "2021-10-27T09:00", outlook_forward(
        "Patricia Hughes-Lloyd <pat.hl@example.com>", "26 October 2021 10:15", "Megan",
        "Megan would like to be involved in the review."), subject="FW: Megan")
    # Single contacts by email: three forwarded, two direct (one HTML-only with markup).
    mails["2021-06-01-p31"] = email("p31", COMMS, "2021-06-01T15:00", gmail_forward(
        "Rachel Green <rachel.green@example.com>", "Tue, 1 Jun 2021 at 10:15", "Concern",
        "My daughter's care in 2015 was poor."), subject="Fwd: Concern")
    mails["2021-06-03-p32"] = email("p32", EA, "2021-06-04T09:00", outlook_forward(
        "Simon Baker <simon.baker@example.com>", "03 June 2021 10:15", "Complaint",
        "I want to know why my son was moved."), subject="FW: Complaint")
    inner33 = email("p33-original", "Yvonne Fletcher <yvonne.f@example.org>",
                    "2021-06-08T10:15", "My grandchildren were separated.", subject="Help")
    mails["2021-06-08-p33"] = attached_forward("p33", COMMS, "2021-06-08T16:00", inner33)
    mails["2021-06-15-p34"] = email(
        "p34", "Kevin Marsh <kevin.marsh@example.com>", "2021-06-15T10:15",
        "<html><body><p>Dear team,</p><p>I was <b>never</b> listened to."
        "<script>alert('x')</script></p><p>{{ 7*7 }} {% if x %}</p></body></html>",
        subject="Never listened to", html=True)
    mails["2021-06-22-p35"] = email("p35", "Naomi Reid <naomi.reid@example.com>",
                                    "2021-06-22T10:15", "Concern about a foster placement.")
    # Not concerns: an out-of-office reply, a bounce, and a message with no sender at all.
    ooo = email("ooo", "Social Worker <sw@example.gov.uk>", "2021-06-05T10:00",
                "I am out of the office until Monday.", subject="Automatic reply: Concern")
    ooo["Auto-Submitted"] = "auto-replied"
    mails["zz-auto-reply"] = ooo
    mails["zz-bounce"] = email("bounce", "Mail Delivery System <MAILER-DAEMON@mx.example>",
                               "2021-06-06T10:00", "Your message could not be delivered.",
                               subject="Undeliverable: Your concern")
    nosender = email("nosender", "", "2021-06-07T10:00", "Text with no sender.")
    del nosender["From"]
    mails["zz-no-sender"] = nosender
    for name, msg in mails.items():
        (folder / f"{name}.eml").write_bytes(msg.as_bytes())


def form(
    when: str, name: str, *, email_: str | None = None, phone: str | None = None,
    postcode: str | None = None, children: list[dict[str, str]] | None = None,
    years: tuple[int, int] | None = None, concern: str = "I have a concern about my care.",
    relationship: str = "parent",
) -> dict[str, object]:
    data: dict[str, object] = {
        "submitted_at": at(when).isoformat(),
        "channel": "web",
        "respondent": {"name": name, "email": email_, "phone": phone, "postcode": postcode,
                       "relationship": relationship},
        "children": children or [],
        "concern": concern,
        "consent_to_contact": True,
    }
    if years:
        data["involvement"] = {"from_year": years[0], "to_year": years[1]}
    return data


def write_forms() -> None:
    folder = HERE / "forms"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    liam = {"name": "Liam O'Connor", "date_of_birth": "2011-05-05"}
    amir = {"name": "Amir Khan", "date_of_birth": "2008-09-09"}
    noah = {"name": "Noah Smith-Jones", "date_of_birth": "2014-03-03"}
    megan = {"name": "Megan Hughes-Lloyd", "date_of_birth": "2007-01-15"}
    forms = {
        "2021-04-14-r2": form("2021-04-14T10:15", "Mohammed Khan", email_="m.khan@example.net",
                              phone="01432 260111", children=[amir], years=(2012, 2019)),
        "2021-04-20-r1": form("2021-04-20T10:15", "sarah oconnor",
                              email_="Sarah.OConnor@Example.com", phone="07700 900001",
                              children=[liam], years=(2010, 2016)),
        "2021-04-27-r3": form("2021-04-27T10:15", "Zoë Smith-Jones", email_="zoe.sj@example.com",
                              postcode="HR2 7AB", children=[noah], years=(2015, 2020)),
        # Just after midnight on 1 May in British Summer Time: still 30 April in UTC.
        "2021-05-01-r5": form("2021-05-01T00:30", "Aisha Begum", email_="a.begum@example.org",
                              phone="07700 900555",
                              children=[{"name": "Sami Begum", "date_of_birth": "2016-06-06"}],
                              years=(2017, 2019)),
        "2021-06-17-r2": form("2021-06-17T10:15", "MOHAMMED KHAN", phone="+44 1432 260111",
                              children=[amir]),
        "2021-06-24-r7": form("2021-06-24T10:15", "Patricia Hughes-Lloyd",
                              email_="pat.hl@example.com", children=[megan], years=(2008, 2015)),
        "2021-07-06-p36": form("2021-07-06T10:15", "Tom Williams",
                               email_="twilliams@example.com", phone="01432 555999",
                               years=(2001, 2004)),
        "2021-07-13-r3": form("2021-07-13T10:15", "zoe smith jones", email_="zoe.sj@example.com",
                              children=[{"name": "Noah Smith-Jones"}]),
        "2021-07-27-r6": form("2021-07-27T10:15", "Tom Williams", email_="Tom.W@example.co.uk",
                              phone="07700 900777"),
        "2021-08-10-p37": form(
            "2021-08-10T10:15", "Grace Okafor", email_="grace.okafor@example.com",
            children=[{"name": "Daniel Okafor", "date_of_birth": "2012-02-02"}],
            years=(2013, 2018),
            concern="<b>Bold</b> claims and {{ config }} {% for x in y %} - all just text."),
        "2021-08-24-r7": form("2021-08-24T10:15", "Pat Hughes Lloyd", email_="Pat.HL@example.com",
                              children=[megan, {"name": "Owen Hughes-Lloyd",
                                                "date_of_birth": "2010-04-04"}]),
        "2021-09-07-r4": form("2021-09-07T10:15", "Jean Paul Dubois",
                              email_="JP.Dubois@example.fr", years=(2009, 2014)),
        "2021-09-14-r1": form("2021-09-14T10:15", "Mrs S O'Connor",
                              email_="sarah.oconor@example.com", phone="+44 7700 900001"),
        # Same name as a child in the register, another date of birth: a different child.
        "2021-10-05-p38": form(
            "2021-10-05T10:15", "Hannah Lee", email_="hannah.lee@example.com",
            children=[{"name": "Ellie Morgan", "date_of_birth": "2010-08-08"}],
            years=(2011, 2017)),
        "2021-11-02-r5": form("2021-11-02T10:15", "aisha  begum", phone="+44 (0)7700 900555"),
    }
    for name, data in forms.items():
        (folder / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    bad = form("2021-07-01T10:15", "x", email_="bad@example.com")
    bad["respondent"] = {"name": 12345, "email": ["not", "text"]}
    bad["concern"] = {"html": "<script>"}
    (folder / "zz-wrong-types.json").write_text(json.dumps(bad), encoding="utf-8")


if __name__ == "__main__":
    write_register()
    write_emails()
    write_forms()
