"""The pages' templates: what a long list looks up instead of calling a macro per row writes
what the macro writes."""

from __future__ import annotations

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
