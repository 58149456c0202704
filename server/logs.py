"""How Kring logs: plain lines, or one JSON object per line (``KRING_LOG_FORMAT=json``).

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; an access
line also ``client``, ``method``, ``path`` (its secrets cut off, see :class:`SecretPaths`)
and ``status``; a line about a failure its ``exception``; and
whatever plain extra fields a call passed (``log.info(..., extra={...})``), except any whose
name says it could hold a secret or content.

``KRING_LOG_LEVEL=debug`` turns on Kring's own debug lines only. The libraries below it stay
at info, because their debug output holds what must never reach a log: the websocket server
writes every request header of a handshake there (the session cookie) and every frame (what
people type in the plan), the SQLite driver every statement with its values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from server.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# What every record has: not extra fields. (uvicorn adds color_message, a copy of the message.)
_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime", "taskName", "color_message"}
# An extra field whose name holds one of these is left out, whatever it holds.
_UNSAFE = ("token", "password", "secret", "cookie", "key", "auth", "text", "data", "payload")
_MAX_FIELD = 500  # characters of one extra text field


def _safe_extra(name: str, value: object) -> bool:
    lowered = name.lower()
    return not any(word in lowered for word in _UNSAFE) and (
        value is None or isinstance(value, bool | int | float | str)
    )


# What stands in a logged path where a secret was.
MARK = "…"
# A secret in a path: what follows /i/ (a personal link), /password/ (a password link) or
# /feeds/p|a/<id>/ (a calendar feed's key), up to the next separator. The slashes may be
# percent-encoded: a link pasted on "switch person" travels in the query
# (/switch?link=http%3A%2F%2F…%2Fi%2F<token>), and scan.js sends a scanned card's path there.
_SLASH = "(?:/|%2F)"
_SECRET_PATH = re.compile(
    rf"({_SLASH}(?:i|password|feeds{_SLASH}[pa]{_SLASH}\d+){_SLASH})[^/?&#%+\s\"]+",
    re.IGNORECASE,
)


def without_secrets(text: str) -> str:
    """A path (or a line holding one) with each secret in it replaced by :data:`MARK`."""
    return _SECRET_PATH.sub(rf"\1{MARK}", text)


class SecretPaths(logging.Filter):
    """Keep the secrets some paths hold out of uvicorn's lines (the access log, and the
    websocket handshakes uvicorn logs as ``uvicorn.error``): /i/<token> is logged as /i/…,
    /password/<token> as /password/…, /feeds/p/7/<key>.ics as /feeds/p/7/…, and a link in a
    query likewise; the rest of the line stays. The record's arguments are changed, so the
    text and the JSON format (which reads them for ``path``) both hold the mark."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = without_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_secrets(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, status = args
            entry |= {"client": str(client), "method": str(method), "path": str(path)}
            entry["status"] = status
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry and _safe_extra(name, value):
                entry[name] = value[:_MAX_FIELD] if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _KringHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler Kring puts on the root logger (found again when the app is made again)."""


def configure(settings: Settings) -> None:
    """Set levels and the format for this process (again, when an app is made again)."""
    own = logging.getLevelNamesMapping()[settings.log_level.upper()]
    libraries = max(own, logging.INFO)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _KringHandler)), None)
    if handler is None:
        handler = _KringHandler(sys.stderr)
        root.addHandler(handler)
    as_json = settings.log_format == "json"
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(TEXT_FORMAT))
    root.setLevel(libraries)
    logging.getLogger("kring").setLevel(own)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        if name in ("uvicorn.error", "uvicorn.access") and not any(
            isinstance(f, SecretPaths) for f in logger.filters
        ):
            logger.addFilter(SecretPaths())
        if logger.level < libraries:  # uvicorn sets its own from its --log-level
            logger.setLevel(libraries)
        if as_json:  # uvicorn's own text handlers give way to the one JSON handler
            logger.handlers.clear()
            logger.propagate = True
