"""The command line's text output in words from the lifecycle table: the lists, queues, what an
event did, what one may do and the refusals name states, tasks, roles and fields in words; an
event's name appears only in a command to type (`concerns case act REF EVENT`), a value's key
and choices only as the option to give (`--set KEY=a|b`). `--json` keeps the codes."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_cli_lifecycle import log
from tests.integration.test_web_words import codes_in

# What to type: the command with the event's name, and `--set KEY[=a|b]` (the option named
# after the field, and the values a choice takes).
COMMAND = re.compile(r"concerns case act \S+ \S+|--set [\w.]+(=[\w|]+)?")

WALK: list[tuple[str, str, tuple[str, ...]]] = [
    ("acknowledge", "alex", ()),
    ("record_complaints_triage", "priya", ("meets_criteria=no", "reason=time_limit_passed")),
    ("record_legal_triage", "lee", ("proceedings=none",)),
    ("assign_reviewer", "morgan", ("reviewer=alex",)),
    ("start_review", "alex", ()),
    ("submit_outcome", "alex", ("summary=Records read.", "wording=We are sorry.",
                                "finding.communication_with_families=Nobody wrote.")),
    ("authorise", "dana", ()),
    ("prepare_letter", "erin", ()),
    ("sign", "dana", ()),
    ("send", "erin", ("method=post",)),
]
# Who looks at their list after each step: the owner of what comes next.
LOOKS = {"acknowledge": ("priya", "lee"), "record_legal_triage": ("morgan",),
         "submit_outcome": ("dana",), "authorise": ("erin",), "prepare_letter": ("dana",)}


def test_lists_queues_events_and_refusals_on_the_command_line_are_in_words(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, name="Robin Words")
    found: dict[str, list[str]] = {}

    def look(where: str, text: str) -> None:
        codes = codes_in(COMMAND.sub("", text))
        if codes:
            found[where] = codes

    # Refusals: a missing value, a wrong choice, a state, a role.
    for args, user in (
        (("request_information",), "alex"),
        (("record_complaints_triage", "--set", "meets_criteria=maybe", "--set",
          "reason=other"), "priya"),
        (("sign",), "dana"),
        (("record_legal_triage", "--set", "proceedings=none"), "alex"),
    ):
        refused = cli("case", "act", ref, *args, as_user=user)
        assert refused.code in (2, 3) and "Traceback" not in refused.err
        look(f"refusing {args[0]}", refused.err)
    wrong = cli("case", "act", ref, "record_complaints_triage", "--set", "meets_criteria=maybe",
                "--set", "reason=other", as_user="priya").err
    # The field and its choices in words, and what to type.
    assert wrong.startswith("error: --set meets_criteria: Does it meet the formal complaints")
    assert "choose one of: Yes; No (type --set meets_criteria=yes|no)" in wrong

    for event, user, values in WALK:
        sets = [x for v in values for x in ("--set", v)]
        done = cli.ok("case", "act", ref, event, *sets, as_user=user).out
        look(f"{event} done", done)
        for who in LOOKS.get(event, ()):
            look(f"{who}'s list after {event}", cli.ok("case", "list", as_user=who).out)
            look(f"{who}'s own queue after {event}", cli.ok("queue", "mine", as_user=who).out)
    look("events", cli.ok("case", "events", ref, as_user="alex").out)
    look("director's queue", cli.ok("queue", "director", as_user="dana").out)
    look("assistant's queue", cli.ok("queue", "assistant", as_user="erin").out)
    shown = cli.ok("case", "list", as_user="morgan").out
    assert "Response sent" in shown and "Reply window" not in shown
    assert found == {}

    # Scripts keep the codes.
    [row] = [r for r in cli.ok("case", "list", "--json", as_user="morgan").json()
             if r["reference"] == ref]
    assert row["state"] == "responded"
