"""Forwards from staff outside the council's own mail domain, named in config.toml."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from concerns.triage.submission import Submission
from concerns.workflows.intake.parsing import read_email, staff_addresses
from concerns.workflows.settings import IntakeSettings, load_settings
from tests.unit.test_email_intake import OUTLOOK_FORWARD, build

CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
RECEIVED = datetime(2021, 4, 21, 9, 0, tzinfo=UTC)


def test_the_councils_own_domain_is_always_a_staff_forwarder() -> None:
    assert staff_addresses(load_settings(CONFIG)) == ("example.gov.uk",)


def test_a_forward_from_a_configured_partner_mailbox_is_read_for_the_original_sender() -> None:
    raw = build(OUTLOOK_FORWARD, sender="Comms Team <comms@partner.example>",
                subject="FW: My daughter's care").as_bytes()
    plain = load_settings(CONFIG)
    as_sent = read_email(plain, raw, RECEIVED)
    assert isinstance(as_sent, Submission) and as_sent.respondent.email == "comms@partner.example"

    settings = replace(plain, intake=replace(IntakeSettings(),
                                             staff_forwarders=("Partner.Example",)))
    unwrapped = read_email(settings, raw, RECEIVED)
    assert isinstance(unwrapped, Submission)
    assert unwrapped.respondent.email == "jane.obrien@example.com"
    assert unwrapped.route == "comms@partner.example"
