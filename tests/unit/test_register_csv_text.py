"""A CSV register as councils' machines save it: a stray NUL never loses the file (the stored raw
bytes keep it, the text drops it), Excel's "Unicode text" (UTF-16) is read, a binary file is not."""

from __future__ import annotations

import pytest

from concerns.triage.register.sheets import read_sheets
from concerns.triage.submission import SubmissionError

REGISTER = "Name,Concern\nTom Harris,Nobody rang back\nAmy Bloggs,Visits stopped\n"


def _values(data: bytes) -> list[list[str]]:
    [sheet] = read_sheets(data, "register.csv")
    return [row.values for row in sheet.rows]


def test_a_stray_nul_is_dropped_and_every_row_is_read() -> None:
    data = REGISTER.replace("Nobody", "No\x00body").replace("Amy", "A\x00my").encode()
    assert _values(data) == [["Name", "Concern"], ["Tom Harris", "Nobody rang back"],
                             ["Amy Bloggs", "Visits stopped"]]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_excels_unicode_text_is_read(codec: str) -> None:
    data = ("\ufeff" if codec == "utf-16-be" else "") + REGISTER.replace(",", "\t")
    assert _values(data.encode(codec))[1] == ["Tom Harris", "Nobody rang back"]


def test_a_binary_file_named_csv_is_refused_as_not_text() -> None:
    with pytest.raises(SubmissionError, match="mostly NUL bytes"):
        read_sheets(b"\xd0\xcf\x11\xe0" + b"\x00" * 4096 + b"Tom Harris", "register.csv")
