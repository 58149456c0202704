"""A table as a CSV file for spreadsheet apps (RFC 4180): UTF-8 with a byte order mark, so
Excel reads names such as Ayşe or Yılmaz as they are written, a header row, CRLF line ends.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) would be
run as a formula by the spreadsheet app: a name like ``=HYPERLINK(...)`` typed into Kring must
come out as text. Such a cell gets a leading apostrophe, which the app shows as text and
hides (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """``value`` as a cell that a spreadsheet app shows as text, never runs."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([text_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([text_cell(cell) for cell in row])
    return (BOM + out.getvalue()).encode("utf-8")
