"""Modules the commands load only when a command runs (`concerns --help` loads none of them).

The services pull in SQLAlchemy, and some of them WeasyPrint, openpyxl, Alembic or imap-tools:
together most of a second. Each command module names the service modules it calls with
`lazy_import`; the module is loaded, by the standard library's `importlib.util.LazyLoader`, the
first time one of its attributes is used.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """Module NAME, loaded on first use of any of its attributes."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name, name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
