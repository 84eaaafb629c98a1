"""The legacy register as councils keep it: sheets (`sheets`), the mapping from its headings
and values to our fields and stages (`mapping`, written and read as TOML), values as people type
them (`values`), and one row read into a submission at its stage (`rows`). Pure: no database.
"""

from concerns.triage.register.mapping import Mapping, from_toml, to_toml
from concerns.triage.register.reader import Register, propose, read_register
from concerns.triage.register.rows import (
    NotARecord,
    RegisterEntry,
    RegisterRow,
    parse_row,
)

__all__ = [
    "Mapping",
    "NotARecord",
    "Register",
    "RegisterEntry",
    "RegisterRow",
    "from_toml",
    "parse_row",
    "propose",
    "read_register",
    "to_toml",
]
