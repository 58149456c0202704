"""A CSV for spreadsheet apps: UTF-8 with a BOM, a header, and never a formula."""

from __future__ import annotations

import csv
import io

from server.formats.spreadsheet import spreadsheet_csv


def test_cells_that_a_spreadsheet_would_run_are_text() -> None:
    made = spreadsheet_csv(
        ["Wie", "Wat"],
        [
            ["=1+1", "+31 6"],
            ["-2", "@SUM(A1)"],
            ["\tTab", "\rReturn"],
            ["Ayşe Yılmaz", 'Zei "ja", toen'],
            ["1=1", "a-b"],
        ],
    )
    assert made.startswith(b"\xef\xbb\xbfWie,Wat\r\n")
    rows = list(csv.reader(io.StringIO(made.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["Wie", "Wat"],
        ["'=1+1", "'+31 6"],
        ["'-2", "'@SUM(A1)"],
        ["'\tTab", "'\rReturn"],
        ["Ayşe Yılmaz", 'Zei "ja", toen'],
        ["1=1", "a-b"],
    ]
