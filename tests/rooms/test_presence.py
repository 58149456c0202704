"""Presence (awareness) states: what is refused on arrival, and what is kept of the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.rooms import presence, protocol
from server.rooms.protocol import (
    MAX_CLOCK,
    MAX_JSON_DEPTH,
    Awareness,
    AwarenessState,
    CloseCode,
    ProtocolError,
    decode,
    decode_awareness,
    encode,
    encode_awareness,
)

HSL = "hsl(204, 60%, 38%)"
ITEM = {"client": 1234, "clock": 7}
POSITION = {"type": None, "tname": None, "item": ITEM, "assoc": 0}  # as the browser sends it
FULL = {"type": None, "tname": None, "item": None, "assoc": 0}
BROWSER = {
    "user": {"name": "Ayşe", "color": HSL, "colorLight": f"{HSL}33", "role": "network_member"},
    "cursor": {"anchor": POSITION, "head": POSITION},
    "editing": "a1b2c3d4e5f6",
}


def awareness(clock: int, state: str) -> bytes:
    return encode(Awareness(encode_awareness([AwarenessState(7, clock, state)])))


# -- refused on arrival: the connection is closed ------------------------------------------


@pytest.mark.parametrize(
    ("clock", "state", "code", "reason"),
    [
        (MAX_CLOCK + 1, "{}", CloseCode.INVALID_PAYLOAD, "clock out of range"),
        (MAX_CLOCK + 1, "null", CloseCode.INVALID_PAYLOAD, "clock out of range"),
        (1, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), 1007, "nested too deeply"),
        (1, '{"a":' * 5000 + "1" + "}" * 5000, 1008, "too large"),  # refused before parsing
        (1, '{"a":' * 1000 + "1" + "}" * 1000, 1007, "nested too deeply"),
        (1, "[" * 100_000, CloseCode.POLICY_VIOLATION, "too large"),
        (1, '{"user":NaN}', 1007, "not JSON"),
        (1, '{"x":Infinity}', 1007, "not JSON"),
        (1, "{x}", 1007, "not JSON"),
    ],
    ids=[
        "clock-2^53-1",
        "leaving-clock-2^53-1",
        "depth-33",
        "deep-and-large",
        "depth-1000",
        "huge",
        "nan",
        "infinity",
        "not-json",
    ],
)
def test_a_presence_that_cannot_be_relayed_closes_its_connection(
    clock: int, state: str, code: int, reason: str
) -> None:
    with pytest.raises(ProtocolError, match=reason) as caught:
        message = decode(awareness(clock, state))
        assert isinstance(message, Awareness)
        presence.from_device(message.payload)
    assert caught.value.code == code


def test_a_message_speaking_for_many_clients_is_refused_before_any_state_is_read() -> None:
    """A 2 MB presence message of hundreds of worst-case states would cost a writer's
    server a fraction of a second each; it is refused on its count alone."""
    deep = "[" * 4000  # would be refused as too deep if it were read at all
    entries = [AwarenessState(1000 + i, 1, deep) for i in range(presence.MAX_DEVICE_ENTRIES + 1)]
    with pytest.raises(ProtocolError, match="too many clients") as caught:
        presence.from_device(encode_awareness(entries))
    assert caught.value.code == CloseCode.POLICY_VIOLATION


@pytest.mark.parametrize(
    "state",
    [
        "{}",
        json.dumps(BROWSER),
        "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH,
        '{"a":"' + "[" * 100 + '"}',  # brackets inside a string do not nest
        '{"a":"\\\\","b":' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}",
    ],
    ids=["empty", "browser", "depth-32", "brackets-in-string", "escaped-backslash"],
)
def test_a_presence_within_the_limits_decodes(state: str) -> None:
    assert presence.from_device(encode_awareness([AwarenessState(7, MAX_CLOCK, state)]))


def test_a_withdrawal_may_carry_the_last_clock_between_processes_and_to_devices() -> None:
    payload = encode_awareness(
        [AwarenessState(7, MAX_CLOCK + 1, None), AwarenessState(8, MAX_CLOCK + 1, "{}")]
    )
    assert decode_awareness(payload)  # what a device reads from the server
    assert presence.from_process(payload) == [AwarenessState(7, MAX_CLOCK + 1, None)]


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ('"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["', False),
        ('["\\"' + "[" * 40 + '"]', False),  # an escaped quote does not end the string
        ('["\\\\"' + ",[" * 40 + "]" * 40 + "]", True),  # an escaped backslash does
        ("]" * 40 + "[" * 40, False),  # unbalanced: the parser refuses it
        ("{" * 33 + "}" * 33, True),
    ],
)
def test_depth_is_counted_outside_strings(text: str, deep: bool) -> None:
    assert protocol.json_too_deep(text) is deep


# -- cleaned: what is kept of a state -------------------------------------------------------


def cleaned(state: Any) -> Any:
    return json.loads(presence.clean(json.dumps(state)))


@pytest.mark.parametrize(
    ("state", "kept"),
    [
        pytest.param(BROWSER, BROWSER, id="browser-state-untouched"),
        pytest.param({"user": {"name": "Sam"}}, {"user": {"name": "Sam"}}, id="name-only"),
        pytest.param(5, {}, id="not-an-object"),
        pytest.param([BROWSER], {}, id="array"),
        pytest.param({"evil": "<script>", "x": 1}, {}, id="unknown-keys"),
        pytest.param({"user": "Sam"}, {}, id="user-not-object"),
        pytest.param({"user": {"name": "S" * 201}}, {"user": {}}, id="name-too-long"),
        pytest.param({"user": {"name": "S" * 200}}, {"user": {"name": "S" * 200}}, id="name-200"),
        pytest.param({"user": {"name": ["Sam"]}}, {"user": {}}, id="name-not-text"),
        pytest.param({"user": {"name": "\ud800"}}, {"user": {}}, id="lone-surrogate"),
        pytest.param({"user": {"color": "#abc"}}, {"user": {"color": "#abc"}}, id="rgb"),
        pytest.param({"user": {"color": "#a1b2c3"}}, {"user": {"color": "#a1b2c3"}}, id="rrggbb"),
        pytest.param(
            {"user": {"colorLight": "#a1b2c333"}},
            {"user": {"colorLight": "#a1b2c333"}},
            id="rrggbbaa",
        ),
        pytest.param({"user": {"color": "red;x:url(y)"}}, {"user": {}}, id="colour-css"),
        pytest.param({"user": {"color": "#abc "}}, {"user": {}}, id="colour-trailing"),
        pytest.param({"user": {"role": "admin"}}, {"user": {}}, id="unknown-role"),
        pytest.param({"user": {"name": "Sam", "extra": 1}}, {"user": {"name": "Sam"}}, id="extra"),
        pytest.param({"cursor": None}, {"cursor": None}, id="cursor-null"),
        pytest.param({"cursor": {"anchor": {}, "head": {}}}, {}, id="cursor-names-nothing"),
        pytest.param({"cursor": {"anchor": POSITION}}, {}, id="cursor-no-head"),
        pytest.param({"cursor": "x"}, {}, id="cursor-text"),
        pytest.param(
            {"cursor": {"anchor": POSITION, "head": POSITION, "x": 1}}, {}, id="cursor-extra"
        ),
        pytest.param(
            {"cursor": {"anchor": {"item": ITEM}, "head": {"tname": "text", "assoc": -1}}},
            {
                "cursor": {
                    "anchor": FULL | {"item": ITEM},
                    "head": FULL | {"tname": "text", "assoc": -1},
                }
            },
            id="cursor-json-form-completed",
        ),
        pytest.param(
            {"cursor": {"anchor": {"type": ITEM}, "head": {"type": ITEM}}},
            {"cursor": {"anchor": FULL | {"type": ITEM}, "head": FULL | {"type": ITEM}}},
            id="cursor-type",
        ),
        pytest.param(
            {"cursor": {"anchor": {"item": {"client": "1", "clock": 2}}, "head": POSITION}},
            {},
            id="item-client-text",
        ),
        pytest.param(
            {"cursor": {"anchor": {"item": {"client": 1, "clock": -2}}, "head": POSITION}},
            {},
            id="item-clock-negative",
        ),
        pytest.param(
            {"cursor": {"anchor": {"item": {"client": True, "clock": 2}}, "head": POSITION}},
            {},
            id="item-bool",
        ),
        pytest.param(
            {"cursor": {"anchor": {"item": {"client": 1, "clock": 2.5}}, "head": POSITION}},
            {},
            id="item-float",
        ),
        pytest.param(
            {"cursor": {"anchor": {"item": {"client": 2**60, "clock": 2}}, "head": POSITION}},
            {},
            id="item-past-2^53",
        ),
        pytest.param(
            {"cursor": {"anchor": POSITION | {"assoc": "0"}, "head": POSITION}},
            {},
            id="assoc-text",
        ),
        pytest.param(
            {"cursor": {"anchor": POSITION | {"evil": 1}, "head": POSITION}},
            {},
            id="position-extra-key",
        ),
        pytest.param(
            {"cursor": {"anchor": POSITION | {"tname": 5}, "head": POSITION}},
            {},
            id="tname-number",
        ),
        pytest.param({"editing": None}, {"editing": None}, id="editing-null"),
        pytest.param({"editing": {"id": 1}}, {}, id="editing-object"),
        pytest.param({"editing": "x" * 101}, {}, id="editing-too-long"),
        pytest.param(
            {"user": {"name": "Sam"}, "cursor": 3, "editing": "abc"},
            {"user": {"name": "Sam"}, "editing": "abc"},
            id="bad-key-dropped-rest-kept",
        ),
    ],
)
def test_a_state_keeps_only_what_browsers_can_show(state: Any, kept: Any) -> None:
    assert cleaned(state) == kept


def test_a_cleaned_state_can_always_be_sent() -> None:
    # json.dumps escapes a lone surrogate; it must never reach the UTF-8 encoder as one.
    text = presence.clean('{"user":{"name":"\\ud800"},"editing":"\\udfff"}')
    assert encode_awareness([AwarenessState(1, 1, text)])


def test_leaving_entries_pass_unchanged() -> None:
    entries = [AwarenessState(1, 3, None), AwarenessState(2, 4, '{"user":{"name":"Sam"},"x":1}')]
    assert presence.clean_entries(entries) == [
        AwarenessState(1, 3, None),
        AwarenessState(2, 4, '{"user":{"name":"Sam"}}'),
    ]
