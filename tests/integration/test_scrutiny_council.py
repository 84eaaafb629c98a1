"""The council-shaped data set (tests/data/council) gives exactly the scrutiny figures worked out
by hand below, on SQLite and on PostgreSQL.

The set mirrors the council's own report (seed 004): 63 contacts about 45 individuals, 7 people
who wrote more than once, 6 children who were the subject of more than one person's contact,
20 cases dealt with outside the framework, involvement from 1 to 25 years before the contact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from concerns.db.engine import make_engine
from concerns.db.models import Child, PersonMatchFlag, Respondent
from concerns.workflows.context import AppContext
from concerns.workflows.intake.mailbox import email_sources, ingest_email_files
from concerns.workflows.intake.register_import import import_register
from concerns.workflows.intake.submissions import IntakeResult, ingest_form
from concerns.workflows.learning.scrutiny_service import scrutiny_report
from concerns.workflows.people import list_flags
from tests.conftest import _truncate_all, make_settings
from tests.factories import create_staff

DATA = Path(__file__).resolve().parent.parent / "data" / "council"


def load_council(ctx: AppContext) -> list[IntakeResult]:
    """The register first, then the mailbox, then the web forms, as the IAT would."""
    results = import_register(ctx, (DATA / "register.csv").read_bytes(), "register.csv", "morgan")
    results += list(ingest_email_files(ctx, email_sources([DATA / "emails"]), "ian"))
    for path in sorted((DATA / "forms").glob("*.json")):
        results.append(ingest_form(ctx, path.read_bytes(), path.name, "ian"))
    return results


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def council(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppContext, list[IntakeResult]]]:
    """Loaded once per database for the whole module: the tests only read (or add nothing)."""
    folder = tmp_path_factory.mktemp("council")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'concerns.db'}"
        ctx = AppContext(make_settings(url, folder), make_engine(url))
        ctx.migrate()
    else:
        url = request.getfixturevalue("pg_database")
        _truncate_all(url)
        ctx = AppContext(make_settings(url, folder), make_engine(url))
    create_staff(ctx)
    yield ctx, load_council(ctx)
    ctx.engine.dispose()


# Worked out by hand from build.py:
# - contacts: 30 register rows + 18 emails + 15 forms = 63 (the auto-reply and the bounce are
#   set aside; the email without a sender and the form with wrong types are quarantined; the
#   register's totals row is not a record and is not stored).
# - individuals: 30 in the register + 5 by email + 3 by form (one of them a second "Tom
#   Williams", kept apart) + 7 who write more than once = 45, one case each (every repeat
#   contact finds its writer's open case).
# - repeat writers: Sarah O'Connor 5, Mohammed Khan 4, Zoë Smith-Jones 4, Jean-Paul Dubois 3,
#   Aisha Begum 3, Tom Williams 3, Patricia Hughes-Lloyd 3 = 25 contacts from 7 people.
# - children: 6 shared (Ellie Morgan, Jack Davies, Liam O'Connor, Chloe Evans, Amir Khan, Ruby
#   Smith) + 15 more in the register + Daniel Okafor + a second Ellie Morgan (another date of
#   birth) + Noah, Sami, Megan and Owen = 27.
# - outside the framework: 7 answered + 6 referred to complaints + 7 closed outside = 20;
#   learning reviews completed: the other 10 register rows.
# - open: the 15 cases opened by email and form, all still logged and long past their
#   acknowledgement deadline.
# - involvement: 2021 - 1996 = 25 years at the oldest, 2021 - 2020 = 1 at the newest.
EXPECTED = {
    "contacts": 63,
    "cases": 45,
    "respondents": 45,
    "respondents_with_multiple_contacts": 7,
    "children": 27,
    "children_with_contacts_from_several_people": 6,
    "outside_framework": 20,
    "learning_reviews_completed": 10,
    "open_cases": 15,
    "overdue": 15,
    "oldest_involvement_years": 25,
    "newest_involvement_years": 1,
    "contacts_by_month": [
        {"month": "2021-04", "contacts": 23},
        {"month": "2021-05", "contacts": 16},
        {"month": "2021-06", "contacts": 10},
        {"month": "2021-07", "contacts": 4},
        {"month": "2021-08", "contacts": 3},
        {"month": "2021-09", "contacts": 2},
        {"month": "2021-10", "contacts": 3},
        {"month": "2021-11", "contacts": 1},
        {"month": "2021-12", "contacts": 1},
    ],
    "contacts_by_channel": {"email": 18, "import": 30, "web": 15},
    # Three emails by single writers and eight by repeat writers came forwarded.
    "forwarded_contacts": 11,
    "quarantined": 2,
    "set_aside": 2,
}


def test_the_council_data_set_gives_exactly_the_expected_scrutiny_figures(
    council: tuple[AppContext, list[IntakeResult]],
) -> None:
    ctx, _ = council
    report = scrutiny_report(ctx, "audrey")
    assert {k: report[k] for k in EXPECTED} == EXPECTED
    # The learning and timeliness figures sit beside them under their own keys.
    assert {"timeliness", "newly_overdue", "themes", "actions", "escalations"} <= set(report)
    # The 15 open cases' acknowledgements ran out in 2021: long overdue, not newly.
    assert report["newly_overdue"]["cases"] == 0


def test_every_council_submission_ends_stored_set_aside_or_quarantined(
    council: tuple[AppContext, list[IntakeResult]],
) -> None:
    _, results = council
    statuses = Counter(r.status for r in results)
    assert statuses == {"new_case": 45, "added_to_case": 18, "quarantined": 2, "set_aside": 3}
    quarantined = sorted(r.reason or "" for r in results if r.status == "quarantined")
    assert quarantined == [
        "from: no sender that could be read (From, Reply-To or Sender); text is there",
        "respondent.name: expected text, got a number",
    ]
    assert ("register.csv:row 32", "not a record (a totals or notes row)") in {
        (r.source, r.reason) for r in results if r.status == "set_aside"}


def test_uncertain_people_are_flagged_for_the_iat_not_merged(
    council: tuple[AppContext, list[IntakeResult]],
) -> None:
    ctx, _ = council
    flags = list_flags(ctx, "alex")
    pairs = sorted(sorted([f["person"]["name"], f["candidate"]["name"]]) for f in flags)
    assert pairs == [["David Smith", "Karen Smith"], ["Tom Williams", "Tom Williams"]]
    with ctx.uow() as uow:
        s = uow.session
        assert s.scalar(select(func.count(Respondent.id))) == 45
        assert s.scalar(select(func.count(PersonMatchFlag.id))) == 2


def test_a_period_counts_only_what_was_received_in_it(
    council: tuple[AppContext, list[IntakeResult]],
) -> None:
    ctx, _ = council
    report = scrutiny_report(ctx, "audrey", date(2021, 7, 1), date(2021, 9, 30))
    # July 4, August 3, September 2 contacts, from nine different people: the two Tom
    # Williamses, Zoë Smith-Jones, Aisha Begum, Mohammed Khan, Grace Okafor, Patricia
    # Hughes-Lloyd, Jean-Paul Dubois and Sarah O'Connor. Only two cases began in the period,
    # although the Aisha Begum email of July was logged before her May form.
    assert report["contacts"] == 9
    assert report["respondents"] == 9
    assert report["respondents_with_multiple_contacts"] == 0
    assert report["cases"] == 2  # the second Tom Williams and Grace Okafor
    assert [m["month"] for m in report["contacts_by_month"]] == ["2021-07", "2021-08", "2021-09"]


def test_loading_the_council_again_stores_nothing_twice(
    council: tuple[AppContext, list[IntakeResult]],
) -> None:
    ctx, _ = council
    again = load_council(ctx)
    assert Counter(r.status for r in again) == {"duplicate": 67, "set_aside": 1}  # the totals row
    assert scrutiny_report(ctx, "audrey")["contacts"] == 63
    with ctx.uow() as uow:
        assert uow.session.scalar(select(func.count(Child.id))) == 27
