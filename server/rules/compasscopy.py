"""The client's own copy of their network compass: as plain data (``compass.json``) and as
the values its printable copy (``formats/compasspdf.py``) sets on paper. Pure.

Both are read from the compass document's state with ``rules/compass.py`` (answers,
strengths, priorities, questions) and ``rules/networkmap.py`` (the map); the words of the
printable copy are in the current language (the caller's: the reader's own). Who may have a
copy is the permission table's (``rules/phases.py``): whoever may read the compass now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.rules.compass import ANSWERS, read_compass
from server.rules.networkmap import describe, legend_labels, map_svg, read_map
from server.rules.plan import area_label

FORMAT = "kring-network-compass"
FORMAT_VERSION = 1


def compass_file(state: bytes, client_name: str, made_at: datetime) -> dict[str, Any]:
    """The compass as JSON-ready data: what ``read_compass`` reads (answers by key, strengths
    and priorities by life area, the questions, the map's entries with every field), under
    a name and version of its format, whose it is and when it was made."""
    return {
        "format": {"name": FORMAT, "version": FORMAT_VERSION},
        "client_name": client_name,
        "made_at": made_at.isoformat(),
        **read_compass(state),
    }


@dataclass(frozen=True)
class CompassCopy:
    """What the printable copy shows, every label already in the reader's language."""

    client_name: str
    made_at: datetime
    answers: tuple[tuple[str, str], ...]  # (the compass's question, the client's answer)
    strengths: tuple[tuple[str, str], ...]  # (life area, in the client's words)
    priorities: tuple[str, ...]  # the life areas that come first
    questions: tuple[tuple[str, bool], ...]  # (question, goes to the conference)
    people: tuple[tuple[str, str], ...]  # (name as the map shows it, what they are to the client)
    map_svg: str  # the map drawn (a standalone SVG); "" when nobody is on it yet


def compass_copy(state: bytes, client_name: str, made_at: datetime) -> CompassCopy:
    """The printable copy's values, in the current language."""
    compass = read_compass(state)
    entries = read_map(state)
    labels = legend_labels()
    return CompassCopy(
        client_name=client_name,
        made_at=made_at,
        answers=tuple((ANSWERS[key], text) for key, text in compass["answers"].items()),
        strengths=tuple((area_label(area), text) for area, text in compass["strengths"].items()),
        priorities=tuple(area_label(area) for area in compass["priorities"]),
        questions=tuple((q["text"], q["to_conference"]) for q in compass["questions"]),
        people=tuple((entry.shown_name, describe(entry, labels)) for entry in entries),
        map_svg=map_svg(entries, client_name, labels) if entries else "",
    )
