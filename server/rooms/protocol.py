"""The y-websocket wire protocol, sans I/O: bytes in, typed messages out, and back.

Framing (lib0 encoding, as the JS ``y-websocket`` provider and ``y-protocols`` write it)::

    message   = varUint(type) payload
    type 0    sync:       varUint(0) varBytes(state vector)   sync step 1
                          varUint(1) varBytes(update)         sync step 2
                          varUint(2) varBytes(update)         update
    type 1    awareness:  varBytes(varUint(n) n * [varUint(client) varUint(clock) varString(json)])
    type 2    auth:       varUint(0) varString(reason)        permission denied
    type 3    query awareness (no payload)
    type 100  Kring's "saved": varBytes(committed state vector); only sent to clients that
              asked for it (``?saved=1``), so standard Yjs clients never see it.

Decoding is strict: a truncated or over-long varint, a length past the end, trailing bytes,
an unknown type, invalid UTF-8, or an awareness state that is too large, not standard JSON
(``NaN`` is not) or nested deeper than ``MAX_JSON_DEPTH`` raise a ``ProtocolError`` that
carries the websocket close code and a reason safe to show (it never quotes the bytes).
Whether an update is a valid Yjs update is the CRDT's business, not this module's, and what
an awareness state may hold is presence.py's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import IntEnum

# lib0 reads varUints into a JS number; anything past 2**53 is not a value a client can mean.
MAX_VAR_UINT = 2**53 - 1
_MAX_VAR_UINT_BYTES = 8  # ceil(53 / 7)
# The largest awareness clock a device may send (presence.py): withdrawing a state sends its
# clock + 1, which must still be a number a client can read (and this codec can write).
MAX_CLOCK = MAX_VAR_UINT - 1
# How deeply an awareness state may nest (a cursor needs four levels): deeper is refused
# before parsing, so no state can make the parser recurse without bound.
MAX_JSON_DEPTH = 32
# A whole string (escapes and all) or one bracket; a quote alone starts a string never closed.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|["\[\]{}]', re.DOTALL)
# The largest awareness state (as text) anyone is sent: a name, a colour, a cursor fit many
# times over. Refused before parsing, so parsing and checking one state is cheap.
MAX_STATE_CHARS = 8 * 1024


class CloseCode(IntEnum):
    """Websocket close codes (RFC 6455 and Kring's own 4xxx)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    LOST_ACCESS = 4001
    FORBIDDEN = 4403


class ProtocolError(ValueError):
    """A message that is not valid y-websocket; the connection that sent it is closed."""

    code: CloseCode = CloseCode.PROTOCOL_ERROR

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedMessage(ProtocolError):
    code = CloseCode.UNSUPPORTED_DATA


class InvalidPayload(ProtocolError):
    code = CloseCode.INVALID_PAYLOAD


class TooLarge(ProtocolError):
    code = CloseCode.POLICY_VIOLATION


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    SAVED = 100


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True)
class Update:
    update: bytes


@dataclass(frozen=True)
class Awareness:
    """An awareness update, kept as its raw payload so that it is relayed byte for byte."""

    payload: bytes


@dataclass(frozen=True)
class QueryAwareness:
    pass


@dataclass(frozen=True)
class AuthDenied:
    reason: str


@dataclass(frozen=True)
class Saved:
    state_vector: bytes


Message = SyncStep1 | SyncStep2 | Update | Awareness | QueryAwareness | AuthDenied | Saved


@dataclass(frozen=True)
class AwarenessState:
    """One client's entry in an awareness update; ``state`` is None when the client left."""

    client_id: int
    clock: int
    state: str | None  # JSON text as sent; "null" means the client is gone


# -- lib0 primitives ------------------------------------------------------------------------


def write_var_uint(value: int) -> bytes:
    if not 0 <= value <= MAX_VAR_UINT:
        raise ValueError(f"varUint out of range: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_var_bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def write_var_string(text: str) -> bytes:
    return write_var_bytes(text.encode("utf-8"))


class Reader:
    """A cursor over one message; every read checks the bounds."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        value = 0
        shift = 0
        for _ in range(_MAX_VAR_UINT_BYTES):
            if self.pos >= len(self.data):
                raise ProtocolError("truncated message (a number was cut off)")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if value > MAX_VAR_UINT:
                    raise ProtocolError("number too large")
                return value
            shift += 7
        raise ProtocolError("number too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("truncated message (a length points past its end)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidPayload("text is not valid UTF-8") from None

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("unexpected bytes after the end of the message")


# -- messages -------------------------------------------------------------------------------


def decode(data: bytes) -> Message:
    """Parse one binary websocket message; raise ProtocolError if it is not one."""
    reader = Reader(data)
    kind = reader.var_uint()
    message: Message
    if kind == MessageType.SYNC:
        sync = reader.var_uint()
        if sync == SyncType.STEP1:
            message = SyncStep1(reader.var_bytes())
        elif sync == SyncType.STEP2:
            message = SyncStep2(reader.var_bytes())
        elif sync == SyncType.UPDATE:
            message = Update(reader.var_bytes())
        else:
            raise UnsupportedMessage(f"unknown sync message type {sync}")
    elif kind == MessageType.AWARENESS:
        payload = reader.var_bytes()
        decode_awareness(payload)  # validate now: a broken payload must not be relayed
        message = Awareness(payload)
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    elif kind == MessageType.AUTH:
        if reader.var_uint() != 0:
            raise UnsupportedMessage("unknown auth message type")
        message = AuthDenied(reader.var_string())
    elif kind == MessageType.SAVED:
        message = Saved(reader.var_bytes())
    else:
        raise UnsupportedMessage(f"unknown message type {kind}")
    reader.end()
    return message


def encode(message: Message) -> bytes:
    """The bytes of one message, exactly as y-protocols writes them."""
    match message:
        case SyncStep1(state_vector):
            return bytes([MessageType.SYNC, SyncType.STEP1]) + write_var_bytes(state_vector)
        case SyncStep2(update):
            return bytes([MessageType.SYNC, SyncType.STEP2]) + write_var_bytes(update)
        case Update(update):
            return bytes([MessageType.SYNC, SyncType.UPDATE]) + write_var_bytes(update)
        case Awareness(payload):
            return bytes([MessageType.AWARENESS]) + write_var_bytes(payload)
        case QueryAwareness():
            return bytes([MessageType.QUERY_AWARENESS])
        case AuthDenied(reason):
            return bytes([MessageType.AUTH, 0]) + write_var_string(reason)
        case Saved(state_vector):
            return write_var_uint(MessageType.SAVED) + write_var_bytes(state_vector)
    raise TypeError(f"not a message: {message!r}")


def decode_awareness(payload: bytes, max_entries: int | None = None) -> list[AwarenessState]:
    """Parse an awareness update; each state must be JSON (``null`` when a client left). With
    ``max_entries``, more entries than that are refused before any state is parsed."""
    reader = Reader(payload)
    count = reader.var_uint()
    if count > len(payload):  # each entry needs at least three bytes; refuse absurd counts
        raise ProtocolError("awareness update announces more entries than it holds")
    if max_entries is not None and count > max_entries:
        raise TooLarge("presence for too many clients")
    states = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        text = reader.var_string()
        if len(text) > MAX_STATE_CHARS:
            raise TooLarge("presence state too large")
        parsed = parse_json(text)
        states.append(AwarenessState(client_id, clock, None if parsed is None else text))
    reader.end()
    return states


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON ``text`` nests more than ``limit`` arrays and objects deep.

    Counts brackets outside strings in one pass (a string is skipped whole by the regular
    expression) without recursion and without parsing, so it is safe and linear on any input;
    unbalanced or unterminated text is left for the parser to refuse.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = text[token.start()]
        if char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return True
        elif char == "]" or char == "}":
            depth -= 1
            if depth < 0:
                return False
        elif token.end() - token.start() == 1:
            return False  # a string that never ends: the parser refuses it
    return False


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> object:
    """Parse one awareness state as standard JSON, or raise InvalidPayload.

    ``NaN`` and ``Infinity`` are refused (a browser's ``JSON.parse`` throws on them, which
    would stop it reading any presence), and so is nesting past ``MAX_JSON_DEPTH``.
    """
    if json_too_deep(text):
        raise InvalidPayload("awareness state is nested too deeply")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:  # cannot happen after the depth check; never let it escape
        raise InvalidPayload("awareness state is nested too deeply") from None
    except ValueError:
        raise InvalidPayload("awareness state is not JSON") from None


def decode_state_vector(data: bytes) -> dict[int, int]:
    """A Yjs state vector: for each client id, the clock it has reached."""
    reader = Reader(data)
    count = reader.var_uint()
    if count > len(data):
        raise ProtocolError("state vector announces more entries than it holds")
    vector = {}
    for _ in range(count):
        client = reader.var_uint()
        vector[client] = reader.var_uint()
    reader.end()
    return vector


def encode_awareness(states: list[AwarenessState]) -> bytes:
    out = bytearray(write_var_uint(len(states)))
    for entry in states:
        out += write_var_uint(entry.client_id)
        out += write_var_uint(entry.clock)
        out += write_var_string("null" if entry.state is None else entry.state)
    return bytes(out)
