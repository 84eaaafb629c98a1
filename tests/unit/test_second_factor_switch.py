"""The demo server (`make run`) turns the second factor off for its one process; config.toml keeps
it on for every real install, and a mistyped switch is refused rather than read as off."""

from __future__ import annotations

from pathlib import Path

import pytest

from concerns.workflows.settings import SettingsError, load_settings

CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def test_a_real_install_asks_for_a_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONCERNS_SECOND_FACTOR", raising=False)
    assert load_settings(CONFIG).web.second_factor is True


def test_the_demo_process_may_turn_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCERNS_SECOND_FACTOR", "off")
    assert load_settings(CONFIG).web.second_factor is False


def test_a_mistyped_switch_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCERNS_SECOND_FACTOR", "no")
    with pytest.raises(SettingsError, match=r"CONCERNS_SECOND_FACTOR: expected on or off"):
        load_settings(CONFIG)
