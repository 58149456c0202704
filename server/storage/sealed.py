"""Encrypted backup files: a stream of Fernet tokens (``cryptography``) under one key file.

A sealed file is ``MAGIC``, eight bytes that identify the key (so a wrong key is told apart
from a damaged file), then frames: a four-byte length and a Fernet token (AES-128-CBC with
HMAC-SHA256). Each token holds up to ``CHUNK`` bytes of the backup after its number and
whether it is the last one, so a file cut short, frames swapped or dropped, or bytes
appended are all noticed, not only a changed byte. The backup is streamed through: a
PostgreSQL dump never lies unencrypted on disk.

A key file holds one Fernet key (``kring backup --new-key FILE`` writes one, mode 0600).
Keep a copy of it away from the backups: without it they cannot be opened.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography.fernet import Fernet, InvalidToken

from server.storage.errors import BackupError

MAGIC = b"KRING-SEALED-1\n"
CHUNK = 1024 * 1024
_FRAME = struct.Struct(">I")
_HEADER = struct.Struct(">Q?")  # chunk number, last
_MAX_TOKEN = 2 * CHUNK  # a Fernet token of CHUNK bytes is about 1.4 MiB


@dataclass(frozen=True)
class Key:
    """A backup key: the Fernet key and the short id written into every file it seals."""

    fernet: Fernet = field(repr=False)
    ident: bytes


def _key(raw: bytes) -> Key:
    fernet = Fernet(raw)  # ValueError for anything but 32 url-safe base64 bytes
    ident = hmac.new(base64.urlsafe_b64decode(raw), b"kring backup key", hashlib.sha256)
    return Key(fernet, ident.digest()[:8])


def write_new_key(path: Path) -> None:
    """Write a fresh key file (mode 0600); an existing file is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} exists already; a key file is never overwritten") from None
    except OSError as exc:
        raise BackupError(f"cannot write the key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")


def read_key(path: Path) -> Key:
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise BackupError(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        return _key(raw)
    except ValueError:
        raise BackupError(
            f"{path} is not a Kring backup key (make one with `kring backup --new-key FILE`)"
        ) from None


def seal(chunks: Iterable[bytes], key: Key) -> Iterator[bytes]:
    """The sealed file, piece by piece, of the bytes ``chunks`` yields."""
    yield MAGIC + key.ident
    number, pending = 0, b""
    for chunk in chunks:
        pending += chunk
        while len(pending) > CHUNK:
            yield _frame(key, number, pending[:CHUNK], last=False)
            number, pending = number + 1, pending[CHUNK:]
    yield _frame(key, number, pending, last=True)


def _frame(key: Key, number: int, data: bytes, *, last: bool) -> bytes:
    token = key.fernet.encrypt(_HEADER.pack(number, last) + data)
    return _FRAME.pack(len(token)) + token


def unseal(source: BinaryIO, key: Key | None, name: str) -> Iterator[bytes]:
    """The backup inside a sealed file, piece by piece; BackupError naming ``name`` when the
    key is missing or wrong, or the file is damaged or cut short. The magic is read here."""
    head = source.read(len(MAGIC) + 8)
    if head[: len(MAGIC)] != MAGIC or len(head) < len(MAGIC) + 8:
        raise BackupError(f"{name} is not a sealed Kring backup")
    if key is None:
        raise BackupError(f"{name} is encrypted: give its key file with --key")
    if not hmac.compare_digest(head[len(MAGIC) :], key.ident):
        raise BackupError(f"{name} was encrypted with another key; this key cannot open it")
    number = 0
    while True:
        size = source.read(_FRAME.size)
        if len(size) < _FRAME.size:
            raise BackupError(f"{name} ends early: the copy is truncated")
        (length,) = _FRAME.unpack(size)
        token = source.read(length) if length <= _MAX_TOKEN else b""
        if not token or len(token) < length:
            raise BackupError(f"{name} ends early or is damaged: the copy is truncated")
        try:
            plain = key.fernet.decrypt(token)
            found, last = _HEADER.unpack_from(plain)
        except (InvalidToken, struct.error):
            raise BackupError(f"{name} is damaged: part {number + 1} does not decrypt") from None
        if found != number:
            raise BackupError(f"{name} is damaged: its parts are out of order")
        yield plain[_HEADER.size :]
        if last:
            break
        number += 1
    if source.read(1):
        raise BackupError(f"{name} is damaged: it has bytes after its end")
