"""What a read-only device's update would change in a document: nothing is stored of it
either way, but a device that changed something is told it may only read (the plan editor
then shows its copy as the server's again), while a reconnect that only repeats what the
document holds is no edit to refuse.

A reader's handshake carries its copy's whole delete set. Deleting adds no struct, so a
removal (an agreement, a word) shows only there; and a browser keeps deletions of structs
it never received, waiting for them, which Yrs does not encode and which change nothing.
Yrs compares the delete sets first, whatever their size; they are read in Python, range by
range, only when they differ, and then at most MAX_READER_RANGES of them.
"""

from __future__ import annotations

import logging
from typing import Any

from pycrdt import Doc, get_update, merge_updates

from server.rooms.protocol import ProtocolError, Reader, decode_state_vector, write_var_uint

log = logging.getLogger("kring.rooms")

# Read one by one at most: Python's part of the check stays within a few ms (Yrs's part
# grows with the message, bounded by its size as validating it is).
MAX_READER_RANGES = 2_000


def would_change(doc: Doc[Any], update: bytes, key: str) -> bool:
    """Whether ``update`` holds something ``doc`` lacks: a struct, or a deletion of
    something it holds and has not deleted."""
    state = doc.get_state()
    try:
        theirs = get_update(update, state)  # what the document lacks, and the deletions
    except ValueError:
        return False  # (validated as it came in: not expected)
    if theirs[:1] != b"\x00":  # a struct: a diff with none starts with a zero count
        return True
    here = merge_updates(doc.get_update(state))  # the document's delete set, in one form
    if merge_updates(here, theirs) == here:
        return False
    try:  # only what the document holds counts
        deletions = decode_deletions(theirs, MAX_READER_RANGES)
    except TooManyRanges:  # no reader's edit is this: dropped, with no notice
        log.info("%s: a reader's update of over %d deletions", key, MAX_READER_RANGES)
        return False
    except ProtocolError:  # (Yrs encoded it itself: not expected)
        return True
    reached = decode_state_vector(state)
    held: dict[int, list[tuple[int, int]]] = {}
    for client, ranges in deletions.items():
        limit = reached.get(client, 0)
        kept = [(at, min(length, limit - at)) for at, length in ranges if at < limit]
        if kept:
            held[client] = kept
    return bool(held) and merge_updates(here, encode_deletions(held)) != here


class TooManyRanges(ProtocolError):
    """A delete set of more ranges than the caller would read one by one."""


def decode_deletions(update: bytes, max_ranges: int) -> dict[int, list[tuple[int, int]]]:
    """The delete set of a Yjs update (v1) that holds no struct, as Yrs encodes the diff of an
    update against a state that has all its structs: for each client id, the (clock, length)
    ranges it deletes. ProtocolError for an update with structs or cut short, TooManyRanges
    (before reading them) for one of more than ``max_ranges`` ranges."""
    reader = Reader(update)
    if reader.var_uint() != 0:
        raise ProtocolError("the update holds structs")
    count = reader.var_uint()
    if count > len(update):
        raise ProtocolError("delete set announces more clients than it holds")
    deletions: dict[int, list[tuple[int, int]]] = {}
    total = 0
    for _ in range(count):
        client = reader.var_uint()
        ranges = reader.var_uint()
        total += ranges
        if total > max_ranges:
            raise TooManyRanges(f"delete set of more than {max_ranges} ranges")
        found = deletions.setdefault(client, [])
        for _ in range(ranges):
            clock = reader.var_uint()
            found.append((clock, reader.var_uint()))
    reader.end()
    return deletions


def encode_deletions(deletions: dict[int, list[tuple[int, int]]]) -> bytes:
    """A Yjs update (v1) of no struct and these deletions (what decode_deletions reads)."""
    out = bytearray(b"\x00")
    out += write_var_uint(len(deletions))
    for client, ranges in deletions.items():
        out += write_var_uint(client) + write_var_uint(len(ranges))
        for clock, length in ranges:
            out += write_var_uint(clock) + write_var_uint(length)
    return bytes(out)
