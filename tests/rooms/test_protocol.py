"""The y-websocket protocol, byte for byte, and every way a message can be broken."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Text, create_awareness_message, create_sync_message, create_update_message

from server.rooms.protocol import (
    MAX_VAR_UINT,
    AuthDenied,
    Awareness,
    AwarenessState,
    CloseCode,
    ProtocolError,
    QueryAwareness,
    Reader,
    Saved,
    SyncStep1,
    SyncStep2,
    Update,
    decode,
    decode_awareness,
    encode,
    encode_awareness,
    write_var_uint,
)
from server.rooms.readers import TooManyRanges, decode_deletions, encode_deletions


def typed_doc(text: str = "Oma haalt Sam op woensdag") -> Doc:
    doc = Doc()
    doc["plan"] = Text(text)
    return doc


# -- agreement with the reference implementation (pycrdt, which mirrors y-protocols) --------


def test_sync_step_1_matches_the_reference_encoding() -> None:
    doc = typed_doc()
    reference = create_sync_message(doc)
    assert decode(reference) == SyncStep1(doc.get_state())
    assert encode(SyncStep1(doc.get_state())) == reference


def test_an_update_matches_the_reference_encoding() -> None:
    update = typed_doc().get_update()
    reference = create_update_message(update)
    assert decode(reference) == Update(update)
    assert encode(Update(update)) == reference


def test_an_awareness_message_matches_the_reference_encoding() -> None:
    payload = encode_awareness([AwarenessState(7, 1, '{"user":{"name":"Ayşe"}}')])
    assert encode(Awareness(payload)) == create_awareness_message(payload)
    assert decode(create_awareness_message(payload)) == Awareness(payload)


def test_known_bytes() -> None:
    assert encode(QueryAwareness()) == b"\x03"
    assert encode(SyncStep2(b"\x00\x00")) == b"\x00\x01\x02\x00\x00"
    assert encode(AuthDenied("nee")) == b"\x02\x00\x03nee"
    assert encode(Saved(b"\x01\x02\x03")) == b"\x64\x03\x01\x02\x03"
    assert write_var_uint(300) == b"\xac\x02"
    assert Reader(b"\xac\x02").var_uint() == 300


# -- round trips ----------------------------------------------------------------------------

blobs = st.binary(max_size=300)
messages = st.one_of(
    st.builds(SyncStep1, blobs),
    st.builds(SyncStep2, blobs),
    st.builds(Update, blobs),
    st.builds(Saved, blobs),
    st.builds(AuthDenied, st.text(max_size=80)),
    st.just(QueryAwareness()),
)
awareness_states = st.lists(
    st.builds(
        AwarenessState,
        st.integers(0, 2**32),
        st.integers(0, 2**32),
        st.one_of(
            st.none(),
            st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(
                lambda d: __import__("json").dumps(d)
            ),
        ),
    ),
    max_size=5,
)


@given(st.integers(0, MAX_VAR_UINT))
def test_every_var_uint_round_trips(value: int) -> None:
    reader = Reader(write_var_uint(value))
    assert reader.var_uint() == value
    reader.end()


@given(messages)
def test_every_message_round_trips(message: object) -> None:
    assert decode(encode(message)) == message  # type: ignore[arg-type]


@given(awareness_states)
def test_every_awareness_update_round_trips(states: list[AwarenessState]) -> None:
    payload = encode_awareness(states)
    assert decode_awareness(payload) == states
    assert decode(encode(Awareness(payload))) == Awareness(payload)


@given(st.binary(max_size=64))
def test_random_bytes_either_parse_or_raise_a_protocol_error(data: bytes) -> None:
    try:
        message = decode(data)
    except ProtocolError as exc:
        assert exc.code in (
            CloseCode.PROTOCOL_ERROR,
            CloseCode.UNSUPPORTED_DATA,
            CloseCode.INVALID_PAYLOAD,
        )
        assert exc.reason and len(exc.reason) < 100
    else:
        assert encode(message) == data, "whatever parses, encodes back to the same bytes"


# -- broken messages: each gets a specific error and close code -----------------------------


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"", CloseCode.PROTOCOL_ERROR, "truncated"),
        (b"\x80", CloseCode.PROTOCOL_ERROR, "truncated"),
        (b"\x00\x02\x05ab", CloseCode.PROTOCOL_ERROR, "points past its end"),
        (b"\x00\x02\x01ab", CloseCode.PROTOCOL_ERROR, "after the end"),
        (b"\xff" * 9, CloseCode.PROTOCOL_ERROR, "too long"),
        (b"\xff\xff\xff\xff\xff\xff\xff\x7f", CloseCode.PROTOCOL_ERROR, "too large"),
        (b"\x07", CloseCode.UNSUPPORTED_DATA, "unknown message type 7"),
        (b"\x00\x09\x00", CloseCode.UNSUPPORTED_DATA, "unknown sync message type 9"),
        (b"\x02\x01\x00", CloseCode.UNSUPPORTED_DATA, "unknown auth"),
        (b"\x02\x00\x02\xc3\x28", CloseCode.INVALID_PAYLOAD, "not valid UTF-8"),
        (b"\x01\x05\x01\x01\x01\x03{x", CloseCode.PROTOCOL_ERROR, "truncated"),
        (b"\x01\x07\x01\x01\x01\x03{x}", CloseCode.INVALID_PAYLOAD, "not JSON"),
        (b"\x01\x02\x7f\x00", CloseCode.PROTOCOL_ERROR, "more entries"),
        (b"\x03\x00", CloseCode.PROTOCOL_ERROR, "after the end"),
    ],
    ids=[
        "empty",
        "cut-varint",
        "length-past-end",
        "trailing",
        "varint-too-long",
        "varint-too-large",
        "unknown-type",
        "unknown-sync",
        "unknown-auth",
        "bad-utf8",
        "awareness-truncated",
        "awareness-not-json",
        "awareness-count",
        "query-trailing",
    ],
)
def test_a_broken_message_names_what_is_wrong(data: bytes, code: CloseCode, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason) as caught:
        decode(data)
    assert caught.value.code == code


def test_out_of_range_numbers_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="out of range"):
        write_var_uint(-1)
    with pytest.raises(ValueError, match="out of range"):
        write_var_uint(MAX_VAR_UINT + 1)


# -- the websocket frame a broadcast is written in (kring serve's fast path) ----------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 200_000])
def test_a_broadcast_frame_is_what_a_websocket_client_reads(size: int) -> None:
    """Every length encoding of RFC 6455 (7-bit, 16-bit, 64-bit), read back by the client
    side of websockets' own protocol: one whole binary message, byte for byte."""
    from websockets.client import ClientProtocol
    from websockets.frames import Opcode
    from websockets.protocol import State
    from websockets.uri import parse_uri

    from server.rooms.connection import binary_frame

    message = bytes(range(256)) * (size // 256) + bytes(size % 256)
    client = ClientProtocol(parse_uri("ws://kring.test/"), state=State.OPEN, max_size=None)
    client.receive_data(binary_frame(message))
    (frame,) = client.events_received()
    assert frame.opcode is Opcode.BINARY and frame.fin
    assert frame.data == message


def test_a_delete_set_reads_as_the_ranges_each_client_deleted() -> None:
    doc: Doc = Doc()
    doc["text"] = text = Text()
    text.insert(0, "Oma haalt Sam op.")
    state = doc.get_state()
    del text[0:4]  # "Oma "
    del text[5:9]  # " Sam" of "haalt Sam op.": characters 9-12 as first typed
    deletions = decode_deletions(doc.get_update(state), 10)
    assert deletions == {doc.client_id: [(0, 4), (9, 4)]}
    assert encode_deletions(deletions) == doc.get_update(state)  # and back
    with pytest.raises(TooManyRanges):
        decode_deletions(doc.get_update(state), 1)
    with pytest.raises(ProtocolError):
        decode_deletions(doc.get_update(), 10)  # it holds structs, not only deletions
    with pytest.raises(ProtocolError):
        decode_deletions(doc.get_update(state)[:-1], 10)  # cut short
