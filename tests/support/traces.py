"""Finding words in a live server's SQLite database and its files, in every way a column
could hold them (raw, JSON, a Yjs update or snapshot decoded): what an erasure must leave
nowhere."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from pycrdt import Array, Doc, Map, Text


def _yjs_text(data: bytes) -> str:
    """Everything a Yjs update holds, as text ("" if it is not Yjs): every root read as a
    map and as text, and as an array where it holds items that are not text."""
    try:
        names: Doc[Any] = Doc()
        names.apply_update(data)
    except Exception:
        return ""
    found = []
    for name in list(names.keys()):
        for kind in (Map, Text, Array):
            if kind is Array and str(_as_text(data, name)):
                continue  # text content read as an array can hang pycrdt
            doc: Doc[Any] = Doc()
            doc.apply_update(data)
            found.append(json.dumps(doc.get(name, type=kind).to_py(), ensure_ascii=False))
    return "\n".join(found)


def _as_text(data: bytes, name: str) -> Text:
    doc: Doc[Any] = Doc()
    doc.apply_update(data)
    return doc.get(name, type=Text)


def _readings(value: object) -> list[str]:
    """A column's value as text in every way it could hold a word: raw, JSON, Yjs."""
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace"), _yjs_text(value)]
    if isinstance(value, str):
        readings = [value]
        with contextlib.suppress(ValueError):
            readings.append(json.dumps(json.loads(value), ensure_ascii=False))
        return readings
    return [str(value)]


def database_traces(path: Path, needles: list[str]) -> set[str]:
    """Every table.column of the database where one of ``needles`` occurs."""
    found = set()
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if any(n in text for text in _readings(value) for n in needles):
                        found.add(f"{table}.{column}")
    return found


def file_traces(folder: Path, needles: list[str]) -> set[str]:
    """Which of the SQLite files hold one of ``needles`` in their raw bytes (as UTF-8 or as
    JSON escapes)."""
    forms = {n.encode() for n in needles} | {json.dumps(n)[1:-1].encode() for n in needles}
    return {
        name
        for name in ("kring.db", "kring.db-wal", "kring.db-shm")
        if (folder / name).exists() and any(f in (folder / name).read_bytes() for f in forms)
    }
