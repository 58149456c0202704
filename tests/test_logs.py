"""Logs as JSON lines (``KRING_LOG_FORMAT=json``): one object per line, and never what people
type, a password or a token, not even at ``KRING_LOG_LEVEL=debug``."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

from server.logs import JsonFormatter
from tests.support.live import connected
from tests.support.people import demo_conference
from tests.support.server import make_instance, serving


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "kring.rooms", logging.WARNING, __file__, 1, "%s: refused %s", ("c1/plan", "client#3"), None
    )
    record.__dict__.update(extra)
    return record


def test_a_json_line_holds_the_message_and_only_safe_extra_fields() -> None:
    line = JsonFormatter().format(
        _record(conference="c1", count=3, session_token="s3cret", typed_text="Oma", payload=b"x")
    )
    entry = json.loads(line)
    assert "\n" not in line
    assert entry.pop("time").endswith("+00:00")
    assert entry == {
        "level": "warning",
        "logger": "kring.rooms",
        "message": "c1/plan: refused client#3",
        "conference": "c1",
        "count": 3,
    }


def test_a_failure_is_one_line_with_its_exception() -> None:
    try:
        raise RuntimeError("the database went away")
    except RuntimeError:
        record = _record()
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    assert "RuntimeError: the database went away" in json.loads(line)["exception"]


async def test_logs_parse_line_by_line_and_hold_no_typed_text_password_or_token(
    tmp_path: Path,
) -> None:
    instance = make_instance(tmp_path, KRING_LOG_FORMAT="json", KRING_LOG_LEVEL="debug")
    typed = f"Oma haalt Sam op {secrets.token_hex(4)}"
    with serving(instance) as server:
        conference = await demo_conference(server, "information")
        password = conference.data["coordinator"]["password"]
        coordinator = conference.coordinator_cookie()  # a login with the password
        family = conference.cookie("client")  # the personal link, opened on a device
        link = urlsplit(conference.person("client")["invitation_url"]).path.rsplit("/", 1)[1]
        writer = conference.device("information", family, saved=True)
        reader = conference.device("information", coordinator)
        async with connected(writer, reader):
            writer.text().insert(0, typed)
            await writer.wait_for(writer.all_saved)
            await reader.wait_for(lambda: typed in str(reader.text()))
    lines = (tmp_path / "server.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
    secrets_seen = {
        "typed text": typed.split()[-1],
        "password": password,
        "coordinator's session token": coordinator.split("=", 1)[1],
        "family's session token": family.split("=", 1)[1],
        "personal link": link,
        "secret key": instance.env.get("KRING_SECRET_KEY")
        or (tmp_path / "secret_key").read_text().strip(),
    }
    leaked = [what for what, value in secrets_seen.items() for line in lines if value in line]
    assert leaked == []
    # ... while the lines of that work are there: the login, the websockets, the room.
    messages = [(e["logger"], e["message"]) for e in entries]
    assert any(
        e["logger"] == "uvicorn.access" and e["path"] == "/login" and e["status"] == 303
        for e in entries
    )
    assert any("WebSocket" in message and "[accepted]" in message for _, message in messages)
    assert any(name == "kring.rooms" and "loaded" in message for name, message in messages)
