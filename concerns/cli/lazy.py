"""Modules the commands load only when a command runs (`concerns --help` loads none of them).

The services pull in SQLAlchemy, and some of them WeasyPrint, openpyxl, Alembic or imap-tools:
together most of a second. Each command module names the service modules it calls with
`lazy_import`; the module is loaded, by the standard library's `importlib.util.LazyLoader`, the
first time one of its attributes is used, with Python's collector held off meanwhile
(concerns.collector: loading makes a few hundred thousand objects and no garbage).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

from concerns import collector


class _LoadsPaused(importlib.abc.Loader):
    """LOADER, loading with the collector held off."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with collector.loading():
            self.loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        # The module keeps this as its loader: source and resources come from the real one.
        if name == "loader":  # not set yet (a copy being made): no endless lookup
            raise AttributeError(name)
        return getattr(self.loader, name)


def lazy_import(name: str) -> ModuleType:
    """Module NAME, loaded on first use of any of its attributes."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name, name=name)
    loader = importlib.util.LazyLoader(_LoadsPaused(spec.loader))
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
