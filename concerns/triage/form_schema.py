"""The web-form submission's JSON Schema (docs/form-schema.json is a generated copy).

The parser in forms.py decides what is kept; the schema documents the same rules for people
writing submissions, is served by the web app at /concern/form-schema.json, and is checked by
`intake form`: whatever the schema finds wrong that the parser did not already flag is flagged
too, so the two can never silently disagree about a submission.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA_PATH = Path(__file__).with_name("form.schema.json")


@functools.cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(schema(), validate_formats=True)


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def schema_problems(data: Any) -> list[str]:
    """'path: problem' for everything in DATA the schema refuses, in document order."""
    problems = []
    for error in _validator().iter_errors(data):
        # The validator's own message quotes the value, which may be personal data: name the
        # rule instead.
        rule = str(error.schema_path[-1]) if error.schema_path else "schema"
        problems.append(f"{_path(error.instance_path)}: does not fit the form schema ({rule})")
    return list(dict.fromkeys(problems))
