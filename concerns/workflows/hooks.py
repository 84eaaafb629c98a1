"""Extra work other modules add to a lifecycle event, inside the event's own transaction.

A hook gets an `EventContext` after the event's own effects and before the audit row is written;
it may add rows (a letter, an outbox email) and put what it did into `data` for the audit trail.
Hooks do the work of one use case, never commit, and raise ServiceError subclasses to refuse.

Slow work (rendering a letter's PDF) must not run inside the write transaction, which on SQLite
holds the database's only write lock. A *preparer* (`prepares(...)`) runs first, in a read-only
transaction on the case as it stands, and leaves its result in `ec.prepared`; the event's write
transaction then checks the case's version is unchanged and the hook uses the prepared result if
it still fits what the event did (else it does the work itself).

A *check* (`checks(...)`) refuses an event's values that only the case can judge (a learning
theme, an action's due date), storing nothing: the hook that stores them calls it too, and a
letter's preview runs it first, so a page never shows a letter the event would then refuse.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from concerns.db.models import Case
from concerns.workflows.context import AppContext
from concerns.workflows.machine import Step

if TYPE_CHECKING:
    from concerns.workflows.access.readers import ActingUser

# Modules that register hooks; imported once, on first use.
HOOK_MODULES = (
    "concerns.workflows.letters_service",
    "concerns.workflows.records.retention",
    "concerns.workflows.learning.outcome",
)


@dataclass
class EventContext:
    ctx: AppContext
    session: Session
    case: Case
    step: Step
    user: ActingUser
    values: dict[str, Any]
    note: str | None
    at: datetime
    from_state: str
    data: dict[str, Any] = field(default_factory=dict)
    # What this event's preparers made before the write transaction (see the module docstring).
    prepared: dict[str, Any] = field(default_factory=dict)
    # SHA-256 of the letter HTML the member of staff was shown: the letter made must be it.
    letter_seen: str | None = None
    # Usernames of the staff this event has read, by id: the guards' facts after it name the
    # case's reviewer and submitter from here rather than read them again.
    usernames: dict[int, str] = field(default_factory=dict)


Hook = Callable[[EventContext], None]
_HOOKS: dict[str, list[Hook]] = {}
_PREPARERS: dict[str, list[Hook]] = {}
_CHECKS: dict[str, list[Hook]] = {}
_loaded = False


def _registrar(table: dict[str, list[Hook]], events: tuple[str, ...]) -> Callable[[Hook], Hook]:
    def register(fn: Hook) -> Hook:
        for event in events:
            hooks = table.setdefault(event, [])
            if fn not in hooks:
                hooks.append(fn)
        return fn

    return register


def on_event(*events: str) -> Callable[[Hook], Hook]:
    return _registrar(_HOOKS, events)


def prepares(*events: str) -> Callable[[Hook], Hook]:
    """Register slow work done for EVENTS before their write transaction, in a read-only one."""
    return _registrar(_PREPARERS, events)


def checks(*events: str) -> Callable[[Hook], Hook]:
    """Register a check of EVENTS' values that stores nothing (see the module docstring)."""
    return _registrar(_CHECKS, events)


def run_checks(ec: EventContext) -> None:
    load_modules()
    for check in list(_CHECKS.get(ec.step.event, [])):
        check(ec)


def load_modules() -> None:
    """Import the modules that register hooks (once): what a caller that sets hooks aside and
    puts them back (a bench) must do first."""
    global _loaded
    if _loaded:
        return
    for name in HOOK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    _loaded = True


def run_hooks(ec: EventContext) -> None:
    load_modules()
    for hook in list(_HOOKS.get(ec.step.event, [])):
        hook(ec)


def has_hooks(event: str) -> bool:
    load_modules()
    return bool(_HOOKS.get(event))


def needs_preparing(event: str) -> bool:
    load_modules()
    # Only while the event's hooks are on (a bench may switch them off).
    return bool(_PREPARERS.get(event)) and bool(_HOOKS.get(event))


def run_preparers(ec: EventContext) -> None:
    load_modules()
    for preparer in list(_PREPARERS.get(ec.step.event, [])):
        preparer(ec)
