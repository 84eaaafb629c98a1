"""The web's pure form logic: HTML fields → the web-form submission, every problem at once, and
event forms built from the lifecycle table."""

from __future__ import annotations

from datetime import UTC, datetime

from concerns.web import concern_form, date_input, event_forms
from concerns.workflows.machine import fields_of

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _check(**form: str) -> concern_form.CheckedForm:
    return concern_form.check(form, NOW, max_concern=1000)


def test_a_complete_form_becomes_the_submission_intake_form_reads() -> None:
    checked = _check(**{
        "name": "  Sam   Public ", "email": "sam@example.org", "relationship": "parent",
        "child-0-name": "Kim", "child-0-dob-day": "3", "child-0-dob-month": "4",
        "child-0-dob-year": "2012", "from-year": "2015", "to-year": "2020",
        "staff-named": "A Worker\n\n  B Worker  ", "concern": "What happened.", "consent": "yes",
    })
    assert checked.errors == ()
    assert checked.submission is not None
    assert checked.submission.respondent.name == "Sam Public"
    assert checked.mapping["children"] == [{"name": "Kim", "date_of_birth": "2012-04-03"}]
    assert checked.mapping["involvement"] == {"from_year": 2015, "to_year": 2020}
    assert checked.mapping["staff_named"] == ["A Worker", "B Worker"]
    assert checked.mapping["consent_to_contact"] is True
    assert checked.mapping["submitted_at"] == NOW.isoformat()


def test_every_hard_error_is_listed_not_only_the_first() -> None:
    checked = _check(name="", concern="")
    assert [(e.field, e.input_id) for e in checked.errors] == [
        ("respondent.name", "name"), ("respondent", "email"), ("concern", "concern"),
    ]
    assert checked.submission is None


def test_a_malformed_email_is_named_rather_than_the_missing_way_to_reply() -> None:
    checked = _check(name="Sam", email="sam@", concern="x")
    assert [(e.input_id, e.message) for e in checked.errors] == [
        ("email", "Enter an email address in the correct format, like name@example.com"),
    ]


def test_malformed_optional_fields_are_shown_against_their_inputs() -> None:
    checked = _check(**{
        "name": "Sam", "phone": "12", "address": "1 Street", "concern": "x",
        "child-1-name": "Lee", "child-1-dob-day": "31", "child-1-dob-month": "2",
        "child-1-dob-year": "2010", "from-year": "2020", "to-year": "2015x",
    })
    assert [e.input_id for e in checked.errors] == ["phone", "child-1-dob-day", "to-year"]
    assert checked.submission is None


def test_years_in_the_wrong_order_are_refused_on_the_from_year() -> None:
    checked = _check(name="Sam", email="s@example.org", concern="x",
                     **{"from-year": "2020", "to-year": "2010"})
    assert [e.input_id for e in checked.errors] == ["from-year"]


def test_the_received_date_must_be_a_real_date_in_the_past() -> None:
    tz = "Europe/London"
    assert isinstance(concern_form.received_at({}, tz, NOW), str)
    bad = {"received-day": "30", "received-month": "2", "received-year": "2026"}
    assert concern_form.received_at(bad, tz, NOW) == "The date received must include a real day"
    month = {"received-day": "3", "received-month": "13", "received-year": "2026"}
    assert concern_form.received_at(month, tz, NOW) == (
        "The date received must include a real month")
    no_year = {"received-day": "3", "received-month": "2"}
    assert concern_form.received_at(no_year, tz, NOW) == "The date received must include a year"
    future = {"received-day": "3", "received-month": "3", "received-year": "2026"}
    assert "past" in str(concern_form.received_at(future, tz, NOW))
    today = {"received-day": "2", "received-month": "3", "received-year": "2026"}
    assert concern_form.received_at(today, tz, NOW) == NOW
    earlier = concern_form.received_at(
        {"received-day": "27", "received-month": "2", "received-year": "2026"}, tz, NOW
    )
    assert isinstance(earlier, datetime) and earlier.date().isoformat() == "2026-02-27"


def test_form_values_show_a_missing_field_as_blank() -> None:
    values = concern_form.FormValues({"name": "Sam"})
    assert values.get("name") == "Sam" and values.get("concern") == ""


def test_event_forms_have_an_input_for_each_value_the_table_lists() -> None:
    forms = event_forms.build(["record_complaints_triage", "authorise", "nonsense"])
    assert [f.event for f in forms] == ["record_complaints_triage", "authorise"]
    triage = forms[0]
    assert [i.name for i in triage.inputs] == list(fields_of("record_complaints_triage"))
    assert triage.inputs[0].kind == "choice"
    assert triage.inputs[0].choices == (("yes", "Yes"), ("no", "No"))
    assert triage.inputs[0].label == "Does it meet the formal complaints criteria?"
    assert forms[1].inputs[0].kind == "longtext"
    assert forms[1].inputs[0].label == "Wording in the letter (optional)"


def test_required_fields_are_never_labelled_optional() -> None:
    from concerns.workflows.machine import EVENTS, fields_of

    for form in event_forms.build(EVENTS):
        for spec in form.inputs:
            # Needed in some cases (a reason to close early, say: the hint says when).
            sometimes = fields_of(form.event)[spec.name].conditional
            needed = spec.required or sometimes or form.event == "submit_outcome"
            assert spec.label.endswith("(optional)") != needed, (form.event, spec.name)
            assert "_" not in spec.label + spec.hint
        assert form.note_label.endswith("(optional)") == (form.note == "optional")


def test_the_directors_wording_is_prefilled_from_the_case() -> None:
    (form,) = event_forms.build(["authorise"], {"outcome_wording": "We are sorry."})
    assert form.inputs[0].value == "We are sorry."
    (again,) = event_forms.build(
        ["authorise"], {"outcome_wording": "We are sorry."},
        posted={"authorise": {"wording": "Edited."}},
    )
    assert again.inputs[0].value == "Edited."


def test_the_reviewer_choice_lists_the_reviewers_given_by_full_name() -> None:
    people = {"reviewer": [("alex", "Alex Morgan"), ("sam", "Sam Patel")]}
    (form,) = event_forms.build(["assign_reviewer"], choices=people)
    assert form.inputs[0].kind == "choice"
    assert form.inputs[0].choices == (("alex", "Alex Morgan"), ("sam", "Sam Patel"))


def test_the_deadline_to_extend_is_chosen_by_its_name_not_typed() -> None:
    running = {"clock": [("review", "Learning review")]}
    (form,) = event_forms.build(["extend_deadline"], choices=running)
    assert form.inputs[0].kind == "choice" and form.inputs[0].choices == tuple(running["clock"])


def test_a_refused_form_keeps_the_note_typed() -> None:
    (form,) = event_forms.build(["return_for_changes"], posted={
        "return_for_changes": {"note": "Add the dates."}})
    assert form.note_value == "Add the dates."


def test_a_note_is_required_where_the_table_says_so() -> None:
    (ret,) = event_forms.build(["return_for_changes"])
    (auth,) = event_forms.build(["authorise"])
    assert ret.note == "required" and auth.note == "optional"


def test_posted_values_keep_only_the_events_keys_and_drop_blanks() -> None:
    values, note = event_forms.values_from(
        "send", {"method": "post", "csrf_token": "t", "version": "3", "note": "  "}
    )
    assert values == {"method": "post"} and note is None


def test_an_error_is_linked_to_its_input_or_to_the_form() -> None:
    assert event_forms.error_target("send", "method") == "send-method"
    assert event_forms.error_target("send", "note") == "send-note"
    assert event_forms.error_target("submit_outcome", "") == "event-submit-outcome"


def test_a_date_of_birth_without_a_name_asks_for_the_name() -> None:
    checked = _check(name="Sam", email="s@example.org", concern="x", **{
        "child-2-dob-day": "1", "child-2-dob-month": "2", "child-2-dob-year": "2010"})
    assert [(e.input_id, e.message) for e in checked.errors] == [
        ("child-2-name", "Enter child 3's name, or leave their date of birth blank"),
    ]


def test_a_future_birth_date_is_refused_and_only_the_wrong_part_of_a_date_is_named() -> None:
    checked = _check(**{
        "name": "Sam", "email": "sam@example.org", "concern": "x",
        "child-0-name": "Kim", "child-0-dob-day": "3", "child-0-dob-month": "4",
        "child-0-dob-year": "2027",
        "child-1-name": "Lee", "child-1-dob-day": "40", "child-1-dob-month": "4",
        "child-1-dob-year": "2012",
        "child-2-name": "Ash", "child-2-dob-day": "3", "child-2-dob-month": "4",
        "child-2-dob-year": "12",
    })
    assert [(e.input_id, e.message) for e in checked.errors] == [
        ("child-0-dob-day", "Child 1's date of birth must be today or in the past"),
        ("child-1-dob-day", "Child 2's date of birth must include a real day"),
        ("child-2-dob-year", "Child 3's date of birth must include a real year"),
    ]
    form = {"child-1-dob-day": "40", "child-1-dob-month": "4", "child-1-dob-year": "2012",
            "child-2-dob-day": "3", "child-2-dob-month": "4", "child-2-dob-year": "12"}
    form |= {"child-0-dob-day": "3", "child-0-dob-month": "4", "child-0-dob-year": "2027"}
    # Only the wrong part is marked; a real date that is not allowed, all three.
    assert [date_input.highlight(form, f"child-{i}-dob") for i in range(3)] == [
        ["day", "month", "year"], ["day"], ["year"]]


def test_a_child_without_a_name_and_with_an_impossible_date_gets_both_errors_at_once() -> None:
    checked = _check(**{"name": "Sam", "email": "sam@example.org", "concern": "x",
                        "child-0-dob-day": "3", "child-0-dob-month": "13",
                        "child-0-dob-year": "2012"})
    assert [e.input_id for e in checked.errors] == ["child-0-name", "child-0-dob-month"]
