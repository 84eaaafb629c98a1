"""The reference pages in docs/ are generated from the code and committed: they must match it,
and nothing in the repository may send a reader to a document that is not in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from concerns.cli.reference import pages
from concerns.triage.form_schema import schema, schema_problems
from concerns.triage.forms import form_from_mapping
from concerns.triage.submission import SubmissionError
from concerns.workflows.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["cli.md", "configuration.md", "form-schema.json"])
def test_each_generated_page_is_in_step_with_the_code(name: str) -> None:
    committed = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert committed == pages()[name], f"docs/{name} is out of date: run `make docs`"


def test_the_command_reference_lists_every_command_and_event() -> None:
    text = pages()["cli.md"]
    for command in ("concerns case act", "concerns intake form", "concerns doctor",
                    "concerns calendar add", "concerns audit verify", "concerns init"):
        assert f"`{command}`" in text, command
    assert "| `assign_reviewer` |" in text and "`reviewer=USER`" in text
    assert "<str>" not in text and "{reference}" not in text


def test_the_configuration_page_gives_every_setting_its_default() -> None:
    text = pages()["configuration.md"]
    defaults = Settings()
    assert f"| `days_before_due` | `{defaults.reminders.days_before_due}` |" in text
    assert '| `host` | `"127.0.0.1"` |' in text
    assert "| `acknowledge` | 3 | true | `iat_officer` |" in text
    assert "folder that holds `config.toml`" in text


def test_the_shipped_config_toml_holds_exactly_the_defaults() -> None:
    shipped = load_settings(REPO / "config.toml")
    defaults = Settings()
    for name in ("council", "calendar", "clocks", "reminders", "smtp", "mailbox", "intake", "web"):
        assert getattr(shipped, name) == getattr(defaults, name), name


def test_no_reference_to_a_design_document_outside_the_repository() -> None:
    outside = re.compile(r"DESIGN\s*§|DESIGN\.md")
    found = [
        str(path.relative_to(REPO))
        for folder in ("concerns", "docs", "tests", "bench")
        for path in (REPO / folder).rglob("*")
        if path.suffix in {".py", ".md", ".html", ".toml", ".json"}
        and "node_modules" not in path.parts
        and path.name != "test_reference_docs.py"
        and outside.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert not outside.search(readme)
    assert found == []


# --- the form schema agrees with the parser -------------------------------------------------


VALID = [
    schema()["examples"][0],
    {"respondent": {"name": "Bo", "phone": "01432 555 111"}, "concern": "No reply."},
    {"respondent": {"name": "Cy", "address": "2 Lane, Hereford"}, "concern": "x",
     "children": [], "staff_named": ["Jo Bloggs"], "consent_to_contact": False},
    # A child whose birth date the person does not know (the public form sends null).
    {"respondent": {"name": "Gil", "email": "gil@example.com"}, "concern": "x",
     "children": [{"name": "Hal", "date_of_birth": None}, {"name": "Ivy"}]},
    # Anything optional given as null is read as not given (as the parser reads it).
    {"submitted_at": None, "respondent": {"name": "Jo", "email": None, "phone": "01432 555 222",
     "address": None, "postcode": None, "relationship": None}, "concern": "x", "children": None,
     "involvement": {"from_year": 2019, "to_year": None}, "staff_named": None,
     "consent_to_contact": None},
    {"respondent": {"name": "Kit", "email": "kit@example.com"}, "concern": "x",
     "involvement": None},
]
REFUSED = [
    ({"concern": "x"}, "respondent"),
    ({"respondent": {"name": "Di"}, "concern": "x"}, "respondent"),
    ({"respondent": {"name": "Di", "email": None, "phone": None}, "concern": "x"}, "respondent"),
    ({"respondent": {"name": "", "email": "d@example.com"}, "concern": "x"}, "respondent.name"),
    ({"respondent": {"name": "Di", "email": "d@example.com"}}, "concern"),
    ({"respondent": {"name": "Di", "email": "d@example.com"}, "concern": 5}, "concern"),
    ([], "(file)"),
]
FLAGGED = [
    ({"respondent": {"name": "Ed", "email": "ed@example.com", "relationship": "uncle"},
      "concern": "x"}, "respondent.relationship"),
    ({"respondent": {"name": "Ed", "email": "ed@example.com"}, "concern": "x",
      "children": [{"name": "Fi", "date_of_birth": "2010-02-30"}]}, "children[0]"),
    ({"respondent": {"name": "Ed", "email": "ed@example.com"}, "concern": "x",
      "involvement": {"from_year": "long ago"}}, "involvement"),
    ({"respondent": {"name": "Ed", "email": "ed@example.com"}, "concern": "x",
      "consent_to_contact": "yes"}, "consent_to_contact"),
]


@pytest.mark.parametrize("data", VALID)
def test_a_submission_the_schema_accepts_is_read_without_flags(data: object) -> None:
    assert schema_problems(data) == []
    assert form_from_mapping(data).flags == ()


@pytest.mark.parametrize(("data", "field"), REFUSED)
def test_a_submission_missing_what_is_required_fails_both_naming_the_field(
    data: object, field: str
) -> None:
    assert schema_problems(data), "the schema accepted what the parser refuses"
    with pytest.raises(SubmissionError) as refused:
        form_from_mapping(data)
    assert str(refused.value).startswith(field)


@pytest.mark.parametrize(("data", "field"), FLAGGED)
def test_what_the_schema_finds_wrong_elsewhere_is_flagged_not_refused(
    data: object, field: str
) -> None:
    problems = schema_problems(data)
    assert problems and all(field in p for p in problems), problems
    flags = form_from_mapping(data).flags
    assert any(f.startswith(field) for f in flags), flags


def test_schema_problems_never_quote_the_value() -> None:
    data = {"respondent": {"name": "Ed", "email": "secret-address"}, "concern": "x"}
    assert schema_problems(data) == ["respondent.email: does not fit the form schema (pattern)"]
    assert json.dumps(schema_problems(data)).find("secret-address") == -1
