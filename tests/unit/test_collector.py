"""Python's collector is held off while modules load and let go after, counted; a command's
process keeps what loaded out of its sight, the test runner never does."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from concerns import collector
from concerns.cli.lazy import lazy_import


def test_loading_holds_the_collector_off_and_lets_it_go_after(collector_on: None) -> None:
    with collector.loading():
        assert not gc.isenabled() and collector.held()
        with collector.loading():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer load still runs"
    assert gc.isenabled() and not collector.held()


def test_loading_leaves_a_collector_switched_off_by_someone_else_off(collector_on: None) -> None:
    gc.disable()
    with collector.loading():
        pass
    assert not gc.isenabled()


def test_a_failed_load_lets_the_collector_go(collector_on: None) -> None:
    with pytest.raises(ImportError), collector.loading():
        raise ImportError("no such module")
    assert gc.isenabled() and not collector.held()


def test_the_test_runner_freezes_nothing(collector_on: None) -> None:
    frozen = gc.get_freeze_count()
    with collector.loading():
        [object() for _ in range(10)]
    assert gc.get_freeze_count() == frozen


def test_a_lazy_module_loads_with_the_collector_off_on_first_use(
    collector_on: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_probe_module.py").write_text(
        "import gc\nCOLLECTOR_ON_WHILE_LOADING = gc.isenabled()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_probe_module", raising=False)
    module = lazy_import("lazy_probe_module")
    assert module.COLLECTOR_ON_WHILE_LOADING is False
    assert gc.isenabled()
    # Its source is still found through the loader the module keeps.
    assert "COLLECTOR_ON_WHILE_LOADING" in (module.__loader__.get_source("lazy_probe_module")
                                            or "")
    monkeypatch.delitem(sys.modules, "lazy_probe_module")


PROBE = """
import gc, sys
from concerns.cli import start
sys.argv = ["concerns", "--help"]
try:
    start.main()
except SystemExit:
    pass
print(gc.isenabled(), gc.get_freeze_count() > 1000, file=sys.stderr)
"""


def test_a_command_runs_with_the_collector_on_and_what_loaded_kept_out_of_its_sight() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)
    assert done.stderr.split() == ["True", "True"]


def test_the_loader_a_lazy_module_keeps_can_be_copied() -> None:
    import copy
    import importlib.util

    from concerns.cli.lazy import _LoadsPaused

    spec = importlib.util.find_spec("concerns.collector")
    assert spec is not None and spec.loader is not None
    copied = copy.copy(_LoadsPaused(spec.loader))
    assert copied.loader is spec.loader
