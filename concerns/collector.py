"""Python's cyclic garbage collector, held off for a while and let go again, counted.

Two moments in this product allocate a great many objects and free none of them: loading the
modules a command needs (SQLAlchemy and the models are a few hundred thousand objects, and the
collector's passes over them were a twentieth of a command's start-up), and holding SQLite's
write lock (a full pass over everything loaded took 75 ms and more while every other writer
waited). Holds are counted, so threads and nested holds let the collector go only when the last
one ends, and only if it was on when the first began. Imports nothing heavy: `concerns --help`
uses it.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_holds = 0
_was_enabled = False
_keep_what_loads = False


def hold() -> None:
    """Hold the collector off until the matching `release`."""
    global _holds, _was_enabled
    with _lock:
        if _holds == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holds += 1


def release() -> None:
    global _holds
    with _lock:
        _holds -= 1
        if _holds == 0 and _was_enabled:
            gc.enable()


def held() -> bool:
    """Whether something in this process holds the collector off."""
    return _holds > 0


def keep_what_loads() -> None:
    """For a process that runs one command (`concerns …`): what `loading` loads stays for the
    life of the process, so it is moved out of the collector's sight (gc.freeze) instead of
    being looked over again by its next passes (about a tenth of `concerns case show`). Not in
    the test runner, where a frozen object would never be collected."""
    global _keep_what_loads
    _keep_what_loads = True


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Modules loading in the body of the `with`, with the collector held off."""
    hold()
    try:
        yield
    finally:
        if _keep_what_loads:
            gc.freeze()
        release()
