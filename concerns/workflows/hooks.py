"""Extra work other modules add to a lifecycle event, inside the event's own transaction.

A hook gets an `EventContext` after the event's own effects and before the audit row is written;
it may add rows (a letter, an outbox email) and put what it did into `data` for the audit trail.
Hooks do the work of one use case, never commit, and raise ServiceError subclasses to refuse.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from concerns.db.models import Case, User
from concerns.workflows.context import AppContext
from concerns.workflows.machine import Step

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
    user: User
    values: dict[str, Any]
    note: str | None
    at: datetime
    from_state: str
    data: dict[str, Any] = field(default_factory=dict)


Hook = Callable[[EventContext], None]
_HOOKS: dict[str, list[Hook]] = {}
_loaded = False


def on_event(*events: str) -> Callable[[Hook], Hook]:
    def register(fn: Hook) -> Hook:
        for event in events:
            hooks = _HOOKS.setdefault(event, [])
            if fn not in hooks:
                hooks.append(fn)
        return fn

    return register


def _load() -> None:
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
    _load()
    for hook in list(_HOOKS.get(ec.step.event, [])):
        hook(ec)
