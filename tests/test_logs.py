"""Logs as JSON lines (``KRING_LOG_FORMAT=json``): one object per line, and never what people
type, a password or a token, not even at ``KRING_LOG_LEVEL=debug``; the access log keeps each
path but not the secret a personal link, a password link or a feed holds, in either format."""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server.logs import JsonFormatter, SecretPaths
from tests.support.feeds import feed_url_on, fetch
from tests.support.live import connected
from tests.support.people import demo_conference
from tests.support.server import make_instance, serving

PASSWORD = "correct horse battery"
ACCOUNT_LINK = re.compile(r'<code id="account-link-url">([^<]+)</code>')


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


def _access(*args: object, msg: str = '%s - "%s %s HTTP/%s" %d') -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_the_filter_cuts_the_secret_out_of_a_path_and_keeps_the_rest() -> None:
    cases = {
        "/i/S3cr3tT0k3n-abc?x=1": "/i/…?x=1",
        "/password/Pw-T0k3n": "/password/…",
        "/feeds/p/7/k3yk3y.ics": "/feeds/p/7/…",
        "/switch?link=http%3A%2F%2Fkring.example%2Fi%2FS3cr3t&x=1": (
            "/switch?link=http%3A%2F%2Fkring.example%2Fi%2F…&x=1"
        ),
        "/switch?link=%2Fi%2FS3cr3t": "/switch?link=%2Fi%2F…",
        "/account/password": "/account/password",  # no secret: left as it is
        "/conferences/AB12/participants/3/links/9/end": (
            "/conferences/AB12/participants/3/links/9/end"
        ),
    }
    for path, logged in cases.items():
        record = _access("127.0.0.1:5000", "GET", path, "1.1", 200)
        assert SecretPaths().filter(record)
        assert record.getMessage() == f'127.0.0.1:5000 - "GET {logged} HTTP/1.1" 200'
        assert json.loads(JsonFormatter().format(record))["path"] == logged
    password = _access("POST /password/Pw-T0k3n", msg="%s")
    assert SecretPaths().filter(password)
    assert password.getMessage() == "POST /password/…"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_access_log_of_a_real_server_keeps_each_path_without_its_secret(
    tmp_path: Path, log_format: str
) -> None:
    instance = make_instance(tmp_path, KRING_LOG_FORMAT=log_format, KRING_LOG_LEVEL="info")
    with serving(instance) as server:
        conference = await demo_conference(server, "information")
        link = conference.person("client")["invitation_url"]
        instance.cli(
            "coordinator", "add", "ada@example.org", "--admin", "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        with server.client() as admin, server.client() as device:
            assert (
                admin.post(
                    "/login", data={"email": "ada@example.org", "password": PASSWORD}
                ).status_code
                == 303
            )
            invited = admin.post("/admin/invite", data={"name": "Kim", "email": "kim@example.org"})
            found = ACCOUNT_LINK.search(invited.text)
            assert found, "the admin is shown the new coordinator's password link"
            password_link = html.unescape(found[1])
            feed = feed_url_on(admin.get("/conferences"))
            # Each secret in the path of a request that works: the link, pasted on "switch
            # person" (its query) and opened, the password link, the calendar feed.
            assert device.get("/switch", params={"link": link}).status_code == 303
            assert device.get(urlsplit(link).path).status_code == 200
            assert device.post(urlsplit(link).path).status_code == 303
            assert device.get(urlsplit(password_link).path).status_code == 200
            assert fetch(feed).status_code == 200
    text = (tmp_path / "server.log").read_text()
    secrets_seen = {
        "personal link": link.rsplit("/", 1)[1],
        "password link": password_link.rsplit("/", 1)[1],
        "feed key": feed.rsplit("/", 1)[1].removesuffix(".ics"),
    }
    assert [what for what, value in secrets_seen.items() if value in text] == []
    feed_path = urlsplit(feed).path.rsplit("/", 1)[0] + "/…"
    if log_format == "json":
        paths = {
            (e["method"], e["path"], e["status"])
            for e in map(json.loads, text.splitlines())
            if e["logger"] == "uvicorn.access"
        }
    else:
        paths = {
            (m[1], m[2], int(m[3]))
            for m in re.finditer(r'"(GET|POST) (\S+) HTTP/1\.1" (\d+)', text)
        }
    switched = [p for m, p, s in paths if p.startswith("/switch?link=http%3A%2F%2F")]
    assert len(switched) == 1 and switched[0].endswith("%2Fi%2F…"), switched
    assert {
        ("GET", "/i/…", 200),
        ("POST", "/i/…", 303),
        ("GET", "/password/…", 200),
        ("GET", feed_path, 200),
        ("POST", "/admin/invite", 200),  # a path with no secret stays whole
    } <= paths
