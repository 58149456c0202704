"""Fuzz the websocket decoder and the presence checks with generated and mutated frames.

Every frame goes through what the server does with a device's binary message before any room
state changes: ``protocol.decode``, then, for presence, ``presence.from_device`` (and
``presence.from_process``, which another process's relay goes through), and what is kept is
encoded again as it would be relayed. Frames are real valid ones (sync step 1 and 2, updates,
presence as browsers send it, query, the "saved" message) mutated in many ways (bytes flipped,
cut, inserted, repeated, varints stretched, presence states replaced by hostile JSON, clocks
pushed past the limit) and plain random bytes. The only outcomes allowed are "accepted" and a
``ProtocolError`` with a named close code; anything else escaping is a bug, printed and
counted (exit status 1). Pure functions, no server.

    .venv/bin/python bench/fuzz_protocol.py                    # 100,000 frames, seed 1
    .venv/bin/python bench/fuzz_protocol.py --frames 20000 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pycrdt import Doc, Text  # noqa: E402

from server.rooms import presence, protocol  # noqa: E402
from server.rooms.protocol import AwarenessState, CloseCode  # noqa: E402

HSL = "hsl(204, 60%, 38%)"
POSITION = {"type": None, "tname": None, "item": {"client": 1234, "clock": 7}, "assoc": 0}
BROWSER_STATE = {
    "user": {"name": "Ayşe", "color": HSL, "colorLight": f"{HSL}33", "role": "network_member"},
    "cursor": {"anchor": POSITION, "head": POSITION},
    "editing": "a1b2c3d4e5f6",
}

# JSON a hostile device might send as its state (and fragments to splice into valid ones).
HOSTILE_STATES = [
    "[" * 40 + "]" * 40,
    '{"a":' * 33 + "1" + "}" * 33,
    "[" * 5000,
    '{"user":NaN}',
    '{"user":{"name":Infinity}}',
    '{"user":{"name":"\\ud800"}}',
    '{"cursor":{"anchor":{},"head":{}}}',
    '{"cursor":{"anchor":{"item":{"client":"x","clock":[]}},"head":null}}',
    '{"cursor":{"anchor":{"type":{"client":1e400,"clock":-1}},"head":{"tname":5}}}',
    '{"user":{"color":"red;background:url(javascript:x)"}}',
    '{"user":"' + "x" * 9000 + '"}',
    '{"n":' + "9" * 5000 + "}",
    '{"a":"\\\\"' + ",[" * 40 + "]" * 40 + "}",
    '{"a":1,"a":2}',
    "1e999",
    '"just text"',
    "",
    "{",
    "\x00",
]
CLOCKS = [0, 1, 2**31, 2**32, protocol.MAX_CLOCK, protocol.MAX_VAR_UINT]


def seed_frames() -> list[bytes]:
    """Valid frames of every kind a device sends (and the server's own)."""
    doc: Doc[Any] = Doc(client_id=42)
    doc["text"] = text = Text()
    text.insert(0, "Oma haalt Sam op woensdag. ")
    update = doc.get_update()
    state_vector = doc.get_state()
    text.insert(0, "Ayşe: ")
    delta = doc.get_update(state_vector)
    states = [
        AwarenessState(7, 1, json.dumps(BROWSER_STATE)),
        AwarenessState(8, 12, json.dumps({"user": {"name": "Sam"}, "cursor": None})),
        AwarenessState(9, protocol.MAX_CLOCK, None),
    ]
    messages: list[protocol.Message] = [
        protocol.SyncStep1(state_vector),
        protocol.SyncStep1(b"\x00"),
        protocol.SyncStep2(update),
        protocol.Update(delta),
        protocol.Update(b"\x00\x00"),
        protocol.Awareness(protocol.encode_awareness(states[:1])),
        protocol.Awareness(protocol.encode_awareness(states)),
        protocol.Awareness(protocol.encode_awareness([])),
        protocol.QueryAwareness(),
        protocol.AuthDenied("Je kunt dit document nu alleen lezen."),
        protocol.Saved(state_vector),
    ]
    return [protocol.encode(message) for message in messages]


def _random_bytes(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))


def _hostile_awareness(rng: random.Random) -> bytes:
    entries = []
    for _ in range(rng.randint(1, 3)):
        state: str | None = rng.choice(HOSTILE_STATES)
        if rng.random() < 0.3:
            value = json.loads(json.dumps(BROWSER_STATE))
            key = rng.choice(["user", "cursor", "editing", "extra"])
            value[key] = rng.choice([None, 5, "x", [], {}, {"anchor": 1}, {"name": 1}])
            state = json.dumps(value)
        elif rng.random() < 0.1:
            state = None
        client = rng.choice([0, 1, 7, 2**32, protocol.MAX_VAR_UINT])
        entries.append(AwarenessState(client, rng.choice(CLOCKS), state))
    payload = bytearray(protocol.write_var_uint(len(entries)))
    for entry in entries:  # by hand: encode_awareness cannot write a lone surrogate
        payload += protocol.write_var_uint(entry.client_id)
        payload += protocol.write_var_uint(entry.clock)
        text = "null" if entry.state is None else entry.state
        payload += protocol.write_var_bytes(text.encode("utf-8", "surrogatepass"))
    return protocol.encode(protocol.Awareness(bytes(payload)))


def _mutations() -> list[Callable[[random.Random, bytes], bytes]]:
    def flip(rng: random.Random, data: bytes) -> bytes:
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            if out:
                out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)

    def set_byte(rng: random.Random, data: bytes) -> bytes:
        out = bytearray(data)
        if out:
            out[rng.randrange(len(out))] = rng.choice([0x00, 0x7F, 0x80, 0xFF, 0x22, 0x5B])
        return bytes(out)

    def truncate(rng: random.Random, data: bytes) -> bytes:
        return data[: rng.randrange(len(data) + 1)]

    def insert(rng: random.Random, data: bytes) -> bytes:
        at = rng.randrange(len(data) + 1)
        return data[:at] + _random_bytes(rng, rng.randint(1, 8)) + data[at:]

    def delete(rng: random.Random, data: bytes) -> bytes:
        at = rng.randrange(len(data) + 1)
        return data[:at] + data[at + rng.randint(1, 8) :]

    def repeat(rng: random.Random, data: bytes) -> bytes:
        at = rng.randrange(len(data) + 1)
        end = min(len(data), at + rng.randint(1, 16))
        return data[:end] + data[at:end] * rng.randint(1, 4) + data[end:]

    def long_varint(rng: random.Random, data: bytes) -> bytes:
        at = rng.randrange(len(data) + 1)
        return data[:at] + b"\xff" * rng.randint(1, 10) + data[at:]

    def append(rng: random.Random, data: bytes) -> bytes:
        return data + _random_bytes(rng, rng.randint(1, 4))

    return [flip, set_byte, truncate, insert, delete, repeat, long_varint, append]


MUTATIONS = _mutations()


def frames(count: int, seed: int) -> list[bytes]:
    """``count`` frames, the same for the same seed."""
    rng = random.Random(seed)
    valid = seed_frames()
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.10:
            frame = _random_bytes(rng, rng.randint(0, 64))
        elif roll < 0.30:
            frame = _hostile_awareness(rng)
            if rng.random() < 0.3:
                frame = rng.choice(MUTATIONS)(rng, frame)
        else:
            frame = rng.choice(valid)
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                frame = rng.choice(MUTATIONS)(rng, frame)
        out.append(frame)
    return out


def outcome(frame: bytes) -> str:
    """What the server makes of one device's frame: ``accepted <kind>`` or the close code.

    Raises whatever else escapes (that is the bug the fuzzer looks for)."""
    try:
        message = protocol.decode(frame)
        if isinstance(message, protocol.Awareness):
            from_process = presence.from_process(message.payload)
            protocol.encode_awareness(from_process)  # relayed on: must encode
            kept = presence.from_device(message.payload)
            relayed = protocol.encode_awareness(kept)
            for entry in protocol.decode_awareness(relayed):  # and every device can read it
                if entry.state is not None:
                    json.loads(entry.state, parse_constant=_refuse_constant)
    except protocol.ProtocolError as exc:
        return f"closed {int(CloseCode(exc.code))} {exc.code.name}"
    return f"accepted {type(message).__name__}"


def _refuse_constant(name: str) -> object:
    raise AssertionError(f"relayed a state with {name}, which browsers cannot parse")


@dataclass
class Report:
    frames: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    escaped: list[tuple[bytes, str]] = field(default_factory=list)


def fuzz(count: int, seed: int = 1) -> Report:
    report = Report()
    batch = frames(count, seed)
    started = time.perf_counter()
    for frame in batch:
        try:
            report.outcomes[outcome(frame)] += 1
        except Exception as exc:  # what the fuzzer looks for
            report.outcomes[f"ESCAPED {type(exc).__name__}"] += 1
            report.escaped.append((frame, traceback.format_exc()))
    report.seconds = time.perf_counter() - started
    report.frames = len(batch)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    made = time.perf_counter()
    report = fuzz(args.frames, args.seed)
    total = time.perf_counter() - made
    print(f"{report.frames} frames (seed {args.seed}) through decode and the presence checks")
    for name, n in sorted(report.outcomes.items()):
        print(f"  {n:>7}  {name}")
    rate = report.frames / report.seconds if report.seconds else 0
    print(
        f"checking: {report.seconds:.2f} s ({rate:,.0f} frames/s); with generating: {total:.2f} s"
    )
    for frame, trace in report.escaped[:5]:
        print(f"\nescaped on {frame[:80]!r}:\n{trace}")
    print(f"escaped: {len(report.escaped)}")
    return 1 if report.escaped else 0


if __name__ == "__main__":
    sys.exit(main())
