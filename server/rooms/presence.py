"""What a presence (awareness) state may hold when Kring relays it: pure, no I/O.

A state arrives as JSON text that ``protocol.decode_awareness`` already parsed safely (not
too large, not too deep, standard JSON). This module keeps only what Kring's browsers set
and read, each in the shape they can use, and drops the rest, so one device's odd state can
neither break another device's editor nor smuggle content to readers:

============  ================================================================================
key           kept when
============  ================================================================================
user          an object; of it ``name`` (text, at most 200 characters), ``color`` and
              ``colorLight`` (``#`` and 3 to 8 hex digits, or ``hsl(h, s%, l%)`` with an
              optional ``33``, as ``web/src/sync.js`` accepts) and ``role`` (a known role)
cursor        null, or ``{anchor, head}``, each a Yjs relative position (``type``/``item``:
              ``{client, clock}``, ``tname``: text, ``assoc``: integer, at least one of the
              first three); relayed with all four keys, as y-codemirror.next reads them
editing       null, or the id of an agreement (text, at most 100 characters)
============  ================================================================================

A bad known key, or a bad field of ``user``, is dropped and the rest kept; unknown keys are
dropped; a state that is not an object becomes ``{}`` (the device is still present).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.rooms import protocol
from server.rules.phases import ROLES

if TYPE_CHECKING:
    from server.rooms.connection import Connection

# Presence another process relayed is forgotten unless renewed (y-protocols renews every 15 s
# and drops a state after 30 s): a process that died leaves no cursor behind for long.
REMOTE_PRESENCE_SECONDS = 30.0

MAX_NAME_CHARS = 200  # as long as a participant's or an account's stored name may be
MAX_ID_CHARS = 100
MAX_INT = protocol.MAX_VAR_UINT
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}|hsl\(\d{1,3}, \d{1,3}%, \d{1,3}%\)(?:33)?")


def _text(value: Any, limit: int) -> str | None:
    """``value`` if it is text of at most ``limit`` characters that UTF-8 can carry."""
    if not isinstance(value, str) or len(value) > limit:
        return None
    try:
        value.encode("utf-8")  # a lone surrogate (JSON allows "\ud800") cannot be sent on
    except UnicodeEncodeError:
        return None
    return value


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _colour(value: Any) -> str | None:
    if isinstance(value, str) and COLOUR.fullmatch(value):
        return value
    return None


def _user(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    user: dict[str, Any] = {}
    fields = (
        ("name", _text(value.get("name"), MAX_NAME_CHARS)),
        ("color", _colour(value.get("color"))),
        ("colorLight", _colour(value.get("colorLight"))),
        ("role", value.get("role") if value.get("role") in ROLES else None),
    )
    for key, checked in fields:
        if checked is not None:
            user[key] = checked
    return user


def _id(value: Any) -> dict[str, int] | None:
    """A Yjs ID: exactly ``{client, clock}``, both whole numbers a client can read."""
    if not isinstance(value, dict) or set(value) != {"client", "clock"}:
        return None
    client = _int(value["client"], 0, MAX_INT)
    clock = _int(value["clock"], 0, MAX_INT)
    if client is None or clock is None:
        return None
    return {"client": client, "clock": clock}


_MISSING = object()


def relative_position(value: Any) -> dict[str, Any] | None:
    """A relative position in full (``type``, ``tname``, ``item``, ``assoc``), or None."""
    if not isinstance(value, dict) or not set(value) <= {"type", "tname", "item", "assoc"}:
        return None
    out: dict[str, Any] = {"type": None, "tname": None, "item": None, "assoc": 0}
    for key, check in (
        ("type", _id),
        ("item", _id),
        ("tname", lambda v: _text(v, MAX_ID_CHARS)),
    ):
        raw = value.get(key)
        if raw is None:
            continue
        checked = check(raw)
        if checked is None:
            return None
        out[key] = checked
    assoc = value.get("assoc", _MISSING)
    if assoc is not _MISSING and assoc is not None:
        checked_assoc = _int(assoc, -MAX_INT, MAX_INT)
        if checked_assoc is None:
            return None
        out["assoc"] = checked_assoc
    if out["type"] is None and out["tname"] is None and out["item"] is None:
        return None  # Yjs throws on a position that names nothing
    return out


def _cursor(value: Any) -> tuple[bool, dict[str, Any] | None]:
    """(kept, value): null is a valid cursor (none)."""
    if value is None:
        return True, None
    if not isinstance(value, dict) or set(value) != {"anchor", "head"}:
        return False, None
    anchor = relative_position(value["anchor"])
    head = relative_position(value["head"])
    if anchor is None or head is None:
        return False, None
    return True, {"anchor": anchor, "head": head}


def clean_value(state: Any) -> dict[str, Any]:
    """The parts of one parsed state that are relayed (see the module's table)."""
    if not isinstance(state, dict):
        return {}
    out: dict[str, Any] = {}
    if "user" in state:
        user = _user(state["user"])
        if user is not None:
            out["user"] = user
    if "cursor" in state:
        kept, cursor = _cursor(state["cursor"])
        if kept:
            out["cursor"] = cursor
    if "editing" in state:
        editing = state["editing"]
        if editing is None:
            out["editing"] = None
        elif _text(editing, MAX_ID_CHARS) is not None:
            out["editing"] = editing
    return out


def clean(text: str) -> str:
    """The JSON text to relay for one state as it arrived (not ``null``); raise
    ``protocol.InvalidPayload`` if it is not a state at all (see ``protocol.parse_json``)."""
    return json.dumps(
        clean_value(protocol.parse_json(text)), ensure_ascii=False, separators=(",", ":")
    )


MAX_DEVICE_ENTRIES = 8  # a device speaks for its own client id (a few, after reloads)


def from_device(payload: bytes) -> list[protocol.AwarenessState]:
    """A device's awareness update as it is kept and relayed; raise ``ProtocolError`` (the
    device is closed) for one that cannot be: not decodable, a state too large, too deep or
    not JSON, a clock past ``protocol.MAX_CLOCK`` (its withdrawal could not be counted), or
    more entries than one device has client ids (checked before any state is parsed, so a
    large message of many states costs nothing to refuse)."""
    entries = protocol.decode_awareness(payload, MAX_DEVICE_ENTRIES)
    if any(entry.clock > protocol.MAX_CLOCK for entry in entries):
        raise protocol.InvalidPayload("awareness clock out of range")
    return clean_entries(entries)


def from_process(payload: bytes) -> list[protocol.AwarenessState]:
    """Presence another process accepted, checked again: the same cleaning, and a state at a
    clock no withdrawal could follow is left out (a withdrawal itself may carry that clock).
    Raises ``ProtocolError`` for a payload that does not decode."""
    entries = protocol.decode_awareness(payload)
    return clean_entries([e for e in entries if e.state is None or e.clock <= protocol.MAX_CLOCK])


def clean_entries(
    entries: list[protocol.AwarenessState],
) -> list[protocol.AwarenessState]:
    """Each entry with its state cleaned (a client leaving, ``None``, stays as it is)."""
    return [
        entry
        if entry.state is None
        else protocol.AwarenessState(entry.client_id, entry.clock, clean(entry.state))
        for entry in entries
    ]


@dataclass
class Held:
    """A presence state relayed in a room: its clock, its state and who holds it."""

    clock: int
    state: str | None
    owner: Connection | None  # None: a device on another process
    seen: float = 0.0  # when another process last relayed it (monotonic)

    def stale(self, now: float) -> bool:
        return self.owner is None and now - self.seen > REMOTE_PRESENCE_SECONDS


def withdrawn(client_id: int, clock: int) -> protocol.AwarenessState:
    """The entry that tells everyone a client left (its clock + 1, which clients require)."""
    return protocol.AwarenessState(client_id, min(clock + 1, protocol.MAX_VAR_UINT), None)


def message(states: list[protocol.AwarenessState]) -> bytes:
    return protocol.encode(protocol.Awareness(protocol.encode_awareness(states)))
