"""Links and cookies: unguessable, stored hashed, expiring, revocable; cross-site refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.responses import Response

from server.conference.auth import (
    _DUMMY_HASH,
    LinkProblem,
    hash_password,
    hash_token,
    invitation_problem,
    new_token,
    verify_password,
)
from server.settings import Settings
from server.storage.models import Conference, Invitation, Participant
from server.views.identity import PARTICIPANT_COOKIE, origin_allowed, set_session_cookie

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ALLOWED = frozenset({"https://kring.example.org"})


def test_tokens_carry_at_least_128_bits_and_never_repeat() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert min(len(t) for t in tokens) >= 43  # 32 random bytes, base64url


def test_the_stored_hash_depends_on_the_instance_key() -> None:
    token = new_token()
    assert hash_token("a" * 32, token) == hash_token("a" * 32, token)
    assert hash_token("a" * 32, token) != hash_token("b" * 32, token)
    assert token not in hash_token("a" * 32, token)


async def test_an_unknown_email_costs_a_full_password_check_and_matches_nothing() -> None:
    """Logging in with an email nobody has checks the password against a stand-in hash, so
    that a wrong email takes as long as a wrong password (no one learns who has an account):
    it has the same parameters as a real one, and no password, not even an empty one,
    matches it."""
    real = await hash_password("correct horse battery")
    assert _DUMMY_HASH.rsplit("$", 2)[0] == real.rsplit("$", 2)[0]  # algorithm, version, cost
    assert len(_DUMMY_HASH) == len(real)
    for password in ("correct horse battery", "", _DUMMY_HASH):
        assert await verify_password(_DUMMY_HASH, password) is False
    assert await verify_password(real, "correct horse battery") is True


def _link(
    *,
    revoked: bool = False,
    expires: timedelta | None = None,
    removed: bool = False,
    closed: timedelta | None = None,
) -> tuple[Invitation, Participant, Conference]:
    invitation = Invitation(
        revoked_at=NOW if revoked else None,
        expires_at=NOW + expires if expires is not None else None,
    )
    participant = Participant(removed_at=NOW if removed else None)
    conference = Conference(closed_at=NOW - closed if closed is not None else None)
    return invitation, participant, conference


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        (_link(), None),
        (_link(revoked=True), LinkProblem.REVOKED),
        (_link(expires=timedelta(seconds=-1)), LinkProblem.EXPIRED),
        (_link(expires=timedelta(days=1)), None),
        (_link(removed=True, revoked=True), LinkProblem.REMOVED),
        (_link(closed=timedelta(days=29)), None),
        (_link(closed=timedelta(days=30)), LinkProblem.EXPIRED),
    ],
    ids=[
        "fresh",
        "revoked",
        "past-expiry",
        "before-expiry",
        "removed",
        "closed-29-days",
        "closed-30-days",
    ],
)
def test_a_link_works_until_revoked_or_30_days_after_closing(
    link: tuple[Invitation, Participant, Conference], problem: LinkProblem | None
) -> None:
    assert invitation_problem(*link, now=NOW, grace_days=30) is problem


@pytest.mark.parametrize(
    ("method", "headers", "allowed"),
    [
        ("GET", {}, True),
        ("GET", {"origin": "https://evil.example"}, True),
        ("POST", {"origin": "https://kring.example.org"}, True),
        ("POST", {"origin": "https://evil.example"}, False),
        ("POST", {"origin": "null"}, False),
        ("POST", {"sec-fetch-site": "cross-site"}, False),
        ("POST", {"sec-fetch-site": "same-site"}, False),
        ("POST", {"sec-fetch-site": "same-origin"}, True),
        ("POST", {}, True),
        ("GET", {"upgrade": "websocket", "origin": "https://evil.example"}, False),
        ("GET", {"upgrade": "websocket", "origin": "https://kring.example.org"}, True),
    ],
)
def test_cross_site_writes_are_refused(method: str, headers: dict[str, str], allowed: bool) -> None:
    assert origin_allowed(method, headers, ALLOWED) is allowed


@pytest.mark.parametrize(
    ("base_url", "secure"), [("https://kring.example.org", True), ("http://127.0.0.1:8000", False)]
)
def test_session_cookies_are_httponly_lax_and_secure_under_https(
    tmp_path: Path, base_url: str, secure: bool
) -> None:
    settings = Settings.from_env({"KRING_INSTANCE_DIR": str(tmp_path), "KRING_BASE_URL": base_url})
    response = Response()
    set_session_cookie(response, settings, PARTICIPANT_COOKIE, "token")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert ("secure" in cookie) is secure
