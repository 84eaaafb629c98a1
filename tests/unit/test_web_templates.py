"""The pages' templates: what a long list looks up instead of calling a macro per row writes
what the macro writes; a page made lets go of its context at once."""

from __future__ import annotations

import gc
import weakref

from concerns.web.templating import make_templates
from concerns.workflows.machine import STATES


def test_every_states_tag_in_a_list_is_the_one_the_state_tag_macro_writes() -> None:
    env = make_templates().env
    macro = env.from_string('{% from "_macros.html" import state_tag %}{{ state_tag(s) }}')
    looked_up = env.from_string("{{ state_tags[s] }}")
    for state in STATES:
        assert looked_up.render(s=state) == macro.render(s=state), state
    assert 'govuk-tag--orange">Waiting for sign-off</strong>' in looked_up.render(
        s="awaiting_signoff")


class _Row(dict[str, object]):
    """A row whose freeing a weak reference can watch (a plain dict cannot be referenced)."""


def test_a_page_lets_go_of_what_it_was_given_once_it_is_made() -> None:
    # GOV.UK's template.html defines macros whose closures hold the render's context: without
    # the cycle broken, the page's rows waited for the garbage collector.
    env = make_templates().env
    row = _Row(reference="CAC-2026-0001", state="awaiting_signoff", overdue=False, due=None)
    watched = weakref.ref(row)
    context = {"title": "Sign-off queue", "which": "director", "rows": [row], "forms": {},
               "to_post": [], "nav": [], "errors": {}, "errors_list": [], "user": None,
               "council": {"name": "A council"}, "csrf_token": "t" * 43, "cspNonce": "n"}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        page = env.get_template("queue.html").render(context)
        del row, context
        assert watched() is None
    finally:
        if was_enabled:
            gc.enable()
    assert "CAC-2026-0001" in page


def test_the_director_s_queue_rows_escape_every_value_and_say_what_to_do() -> None:
    env = make_templates().env
    page = env.get_template("queue.html").render(
        title="Sign-off queue", which="director", forms={}, to_post=[], nav=[], errors={},
        errors_list=[], user=None, council={"name": "A council"}, csrf_token="t" * 43,
        cspNonce="n",
        rows=[
            {"reference": "CAC-2026-0001", "state": "awaiting_signoff", "overdue": True,
             "due": "2026-03-07"},
            {"reference": '<b>&"', "state": "meeting_offered", "overdue": False, "due": None},
        ],
    )
    first = (
        '<tr class="govuk-table__row">\n'
        '      <td class="govuk-table__cell"><a class="govuk-link" href="/cases/CAC-2026-0001">'
        'CAC-2026-0001</a> <strong class="govuk-tag govuk-tag--red">Overdue</strong></td>\n'
        '      <td class="govuk-table__cell"><strong class="govuk-tag govuk-tag--orange">'
        "Waiting for sign-off</strong>\n</td>\n"
        '      <td class="govuk-table__cell" data-label="Due">7 March 2026</td>\n'
        '      <td class="govuk-table__cell">\n'
        '        <a class="govuk-link" href="/queue/director/CAC-2026-0001">'
        "Authorise the outcome or return it"
        '<span class="govuk-visually-hidden"> case CAC-2026-0001</span></a>\n'
    )
    assert first in page
    assert "<b>" not in page
    assert ('href="/cases/&lt;b&gt;&amp;&#34;">&lt;b&gt;&amp;&#34;</a></td>' in page)
    # Each link says the director's duty for the case's state, in the lifecycle table's words.
    assert (">Record how the meeting went<span class=\"govuk-visually-hidden\"> case "
            "&lt;b&gt;&amp;&#34;</span>") in page
    assert '<td class="govuk-table__cell" data-label="Due">–</td>' in page
    empty = env.get_template("queue.html").render(
        title="Sign-off queue", which="director", forms={}, to_post=[], nav=[], errors={},
        errors_list=[], user=None, council={"name": "A council"}, csrf_token="t" * 43,
        cspNonce="n", rows=[])
    assert "Nothing waiting." in empty


def test_every_state_on_the_directors_queue_links_with_her_duty_in_that_state() -> None:
    from concerns.web.templating import DIRECTOR_ACTIONS
    from concerns.workflows.queries import QUEUES

    for state in QUEUES["director"]:
        assert DIRECTOR_ACTIONS[state] != "Open", state
