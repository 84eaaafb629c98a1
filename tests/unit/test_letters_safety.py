"""Letters are made safely: hostile text stays text; missing data, broken templates refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from concerns.letters import (
    KINDS,
    LetterError,
    LetterRenderer,
    Recipient,
    TemplateProblem,
    check_templates,
)
from tests.unit.letters_support import LETTERHEAD, RECIPIENT, docx_text, letter, pdf_flat_text

RENDERER = LetterRenderer(LETTERHEAD)
HOSTILE = "<script>alert('x')</script> <b>bold</b> {{ 7 * 7 }} {% if true %}run{% endif %} &amp;"


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_text_is_printed_literally_in_every_kind_and_format(kind: str) -> None:
    field = "concern" if kind == "acknowledgement" else "wording"
    content = letter(kind, recipient=Recipient(HOSTILE, ("1 <i>Lane</i>",)), **{field: HOSTILE})
    html = RENDERER.html(content)
    assert "<script>" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "{{ 7 * 7 }}" in html
    assert "49" not in html
    assert "&amp;amp;" in html
    pdf = pdf_flat_text(RENDERER.pdf(content))
    assert HOSTILE in pdf
    assert "1 <i>Lane</i>" in pdf
    word = docx_text(RENDERER.docx(content))
    assert HOSTILE in word


def test_a_posted_letter_without_an_address_is_refused_naming_the_field() -> None:
    content = letter("outcome", recipient=Recipient("Morgan Ellery", email="m@example.org"))
    with pytest.raises(LetterError) as refused:
        RENDERER.pdf(content)
    assert refused.value.field == "recipient.address"
    assert "posted letter needs an address" in str(refused.value)


def test_an_emailed_letter_without_an_email_address_is_refused() -> None:
    content = letter("answer", delivery="email", recipient=Recipient("Morgan", ("1 Lane",)))
    with pytest.raises(LetterError) as refused:
        RENDERER.html(content)
    assert refused.value.field == "recipient.email"


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("outcome", "wording"),
        ("answer", "wording"),
        ("information_request", "wording"),
        ("information_chase", "wording"),
        ("information_chase", "requested_on"),
        ("acknowledgement", "received_on"),
    ],
)
def test_a_letter_missing_what_its_kind_needs_is_refused_naming_the_field(
    kind: str, missing: str
) -> None:
    blank = "   " if missing == "wording" else None
    with pytest.raises(LetterError) as refused:
        RENDERER.docx(letter(kind, **{missing: blank}))
    assert refused.value.field == missing
    assert kind.replace("_", " ") in refused.value.problem


def test_refusals_never_repeat_personal_data() -> None:
    nameless = Recipient("   ", ("1 Lane",))
    with pytest.raises(LetterError) as no_name:
        RENDERER.html(letter("outcome", recipient=nameless))
    assert no_name.value.field == "recipient.name"
    with pytest.raises(LetterError) as no_address:
        RENDERER.html(letter("outcome", recipient=Recipient("Morgan Ellery", email="m@x.org")))
    for refusal in (no_name.value, no_address.value):
        assert "Morgan" not in str(refusal)
        assert RECIPIENT.address[0] not in str(refusal)


def test_an_unknown_kind_or_delivery_method_is_refused() -> None:
    with pytest.raises(LetterError) as kind:
        RENDERER.html(letter("apology"))
    assert kind.value.field == "kind"
    with pytest.raises(LetterError) as delivery:
        RENDERER.html(letter("outcome", delivery="pigeon"))
    assert delivery.value.field == "delivery"


def test_the_built_in_templates_pass_their_own_check() -> None:
    assert check_templates() == []


def _edited(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_an_edited_template_with_a_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = _edited(
        tmp_path,
        "outcome.html",
        '{% extends "_layout.html" %}\n{% block body %}\n<p>Hello</p>\n'
        "{% if wording %}\n{{ wording|paragraphs }}\n{% endblock %}\n",
    )
    problems = check_templates(folder)
    assert len(problems) == 1
    assert problems[0].template == "outcome.html"
    assert problems[0].line == 6
    assert "endblock" in problems[0].problem
    assert "outcome.html, line 6" in str(problems[0])


def test_a_broken_template_is_refused_before_any_letter_is_made(tmp_path: Path) -> None:
    folder = _edited(tmp_path, "answer.html", '{% extends "_layout.html" %}\n{% block body %}\n')
    with pytest.raises(TemplateProblem) as refused:
        LetterRenderer(LETTERHEAD, folder)
    assert refused.value.template == "answer.html"
    assert refused.value.line is not None


def test_a_template_naming_a_value_letters_do_not_have_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    folder = _edited(
        tmp_path,
        "outcome.html",
        '{% extends "_layout.html" %}\n{% block body %}\n<p>Hi</p>\n'
        "{% if reply_by %}\n<p>{{ recipent.name }}</p>\n{% endif %}\n{% endblock %}\n",
    )
    [problem] = check_templates(folder)
    assert problem.template == "outcome.html"
    assert problem.line == 5
    assert "recipent" in problem.problem


def test_a_mistake_on_the_branch_for_a_missing_value_is_found_too(tmp_path: Path) -> None:
    folder = _edited(
        tmp_path,
        "meeting_offer.html",
        '{% extends "_layout.html" %}\n{% block body %}\n'
        "{% if meeting_date %}<p>{{ meeting_date|long_date }}</p>\n"
        "{% else %}\n<p>{{ meeting_date.day }}</p>\n{% endif %}\n{% endblock %}\n",
    )
    [problem] = check_templates(folder)
    assert problem.template == "meeting_offer.html"
    assert problem.line == 5


def test_a_template_reaching_into_python_internals_is_refused_by_the_sandbox(
    tmp_path: Path,
) -> None:
    folder = _edited(
        tmp_path,
        "answer.html",
        '{% extends "_layout.html" %}\n{% block body %}\n'
        "{{ recipient.__class__.__mro__ }}\n{% endblock %}\n",
    )
    [problem] = check_templates(folder)
    assert problem.line == 3
    assert "may not do" in problem.problem


def test_a_misnamed_template_file_is_reported_rather_than_silently_ignored(
    tmp_path: Path,
) -> None:
    folder = _edited(tmp_path, "acknowledgment.html", '{% extends "_layout.html" %}\n')
    [problem] = check_templates(folder)
    assert problem.template == "acknowledgment.html"
    assert "acknowledgement" in problem.problem


def test_a_missing_template_folder_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(LetterError) as refused:
        LetterRenderer(LETTERHEAD, tmp_path / "nowhere")
    assert refused.value.field == "council.letter_templates"


def test_an_edited_template_replaces_the_built_in_one_and_shares_the_letterhead(
    tmp_path: Path,
) -> None:
    folder = _edited(
        tmp_path,
        "answer.html",
        '{% extends "_layout.html" %}\n{% block body %}\n'
        "<p>Our own words for {{ reference }}.</p>\n{{ wording|paragraphs }}\n{% endblock %}\n",
    )
    renderer = LetterRenderer(LETTERHEAD, folder)
    text = pdf_flat_text(renderer.pdf(letter("answer")))
    assert "Our own words for CAC-2026-0042." in text
    assert "Plough Lane" in text
    outcome = pdf_flat_text(renderer.pdf(letter("outcome")))
    assert "What we found" in outcome


def test_an_edited_template_is_checked_again_after_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "answer.html"
    path.write_text(
        '{% extends "_layout.html" %}\n{% block body %}{{ wording|paragraphs }}{% endblock %}\n'
    )
    LetterRenderer(LETTERHEAD, tmp_path)
    path.write_text('{% extends "_layout.html" %}\n{% block body %}{% if %}{% endblock %}\n')
    with pytest.raises(TemplateProblem):
        LetterRenderer(LETTERHEAD, tmp_path)


def test_a_letter_fetches_nothing_from_outside_itself(tmp_path: Path) -> None:
    outside = tmp_path / "outside.css"
    outside.write_text('h1::after { content: " LEAKED-FROM-DISK"; }')
    folder = tmp_path / "templates"
    folder.mkdir()
    _edited(
        folder,
        "answer.html",
        '{% extends "_layout.html" %}\n{% block body %}\n'
        f'<link rel="stylesheet" href="{outside.as_uri()}">\n'
        f'<img src="{outside.as_uri()}">\n'
        "{{ wording|paragraphs }}\n{% endblock %}\n",
    )
    text = pdf_flat_text(LetterRenderer(LETTERHEAD, folder).pdf(letter("answer")))
    assert "LEAKED-FROM-DISK" not in text
    assert "Our reply to your concern" in text
