"""The store keeps conferences, people and their links, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from server.conference.auth import hash_token, new_token
from server.storage.base import POOL_SIZE
from server.storage.migrate import head_revision
from server.storage.models import utcnow
from server.storage.store import DuplicateEmail, NotFound, Reason, Store, StoreError
from tests.support.databases import add_coordinator, migrated_sqlite, opened_store


async def test_migrations_bring_a_new_database_to_the_newest_schema(store: Store) -> None:
    assert await store.schema_revision() == head_revision()


async def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path)  # Alembic runs its own event loop
    async with opened_store(url) as store, store.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_a_database_in_memory_still_opens(tmp_path: Path) -> None:
    """The pool's fixed size is for a database file or server: SQLite in memory lives in one
    connection that SQLAlchemy shares (StaticPool), which takes no pool size at all."""
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        async with opened_store(url) as store:
            await store.ping()
    async with opened_store(f"sqlite+aiosqlite:///{tmp_path}/kring.db") as store:
        assert store.pool_use()["limit"] == POOL_SIZE


async def test_an_email_address_has_one_account_whatever_its_capitals(store: Store) -> None:
    account = await add_coordinator(store)
    with pytest.raises(DuplicateEmail):
        await store.create_account(account.email.upper(), "Someone Else", "x")
    found = await store.account_by_email(f"  {account.email.upper()} ")
    assert found is not None and found.id == account.id


async def test_a_new_conference_has_its_coordinator_as_participant(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(
        account, "Ayşe Kaya", "Hoe kan Ayşe thuis wonen?", meeting_date=date(2026, 12, 1)
    )
    rows = await store.participants(conference.id)
    assert [(r.participant.name, r.participant.role) for r in rows] == [
        ("Coördinator Test", "coordinator")
    ]
    loaded = await store.conference(conference.id)
    assert loaded is not None
    assert (loaded.client_name, loaded.phase, loaded.meeting_date) == (
        "Ayşe Kaya",
        "preparation",
        date(2026, 12, 1),
    )


async def test_coordinators_see_their_own_conferences_and_admins_see_all(store: Store) -> None:
    alice, bob = await add_coordinator(store), await add_coordinator(store)
    admin = await add_coordinator(store, role="admin")
    mine = await store.create_conference(alice, "Client A", "Vraag A")
    theirs = await store.create_conference(bob, "Client B", "Vraag B")
    await store.add_participant(mine.id, "Oma", "network_member")

    alice_sees = {s.conference.id: s.participant_count for s in await store.conferences_for(alice)}
    assert alice_sees == {mine.id: 2}
    admin_sees = {s.conference.id for s in await store.conferences_for(admin)}
    assert {mine.id, theirs.id} <= admin_sees


async def test_a_new_link_adds_one_and_revoking_ends_them_all_with_their_sessions(
    store: Store,
) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Vraag")
    person = await store.add_participant(conference.id, "Derya", "network_member")
    first, second = hash_token("k" * 32, new_token()), hash_token("k" * 32, new_token())
    old = await store.issue_invitation(person.id, first)
    session_hash = hash_token("k" * 32, new_token())
    await store.create_session(session_hash, invitation_id=old.id)

    new = await store.issue_invitation(person.id, second)

    for token_hash in (first, second):
        match = await store.invitation_by_hash(token_hash)
        assert match is not None and match.invitation.revoked_at is None
    assert await store.session_by_hash(session_hash) is not None, "its device stays in"
    rows = [r for r in await store.participants(conference.id) if r.participant.id == person.id]
    assert len(rows) == 1 and rows[0].has_link, "one row per person, however many links"
    feed = await store.first_invitation(person.id)
    assert feed is not None and feed.invitation.id == old.id

    assert await store.revoke_invitation(person.id) == 2
    for token_hash in (first, second):
        match = await store.invitation_by_hash(token_hash)
        assert match is not None and match.invitation.revoked_at is not None
    assert await store.session_by_hash(session_hash) is None
    assert await store.first_invitation(person.id) is None
    assert new.id != old.id


async def test_ending_one_link_ends_only_it_and_its_sign_ins(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Vraag")
    person = await store.add_participant(conference.id, "Derya", "network_member")
    other = await store.add_participant(conference.id, "Bert", "network_member")
    sent = await store.issue_invitation(person.id, hash_token("k" * 32, new_token()))
    card = await store.issue_invitation(person.id, "c" * 64, channel="card")
    on_sent = await store.create_participant_session("sent", sent.id)
    await store.create_participant_session("card", card.id)
    with pytest.raises(ValueError):
        await store.issue_invitation(person.id, "d" * 64, channel="pigeon")

    with pytest.raises(NotFound):  # not Bert's link
        await store.end_invitation(conference.id, other.id, sent.id)
    ended, sessions = await store.end_invitation(conference.id, person.id, sent.id)
    assert (ended.id, ended.channel, sessions) == (sent.id, "message", [on_sent.id])
    with pytest.raises(StoreError) as twice:
        await store.end_invitation(conference.id, person.id, sent.id)
    assert twice.value.reason is Reason.LINK_ENDED
    assert await store.session_by_hash("sent") is None
    assert await store.session_by_hash("card") is not None
    [row] = [r for r in await store.participants(conference.id) if r.participant.id == person.id]
    assert [(link.id, link.channel) for link in row.links] == [(card.id, "card")]


async def test_a_sign_in_waits_in_private_time_and_is_ended_when_it_is_over(
    store: Store,
) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Vraag")
    person = await store.add_participant(conference.id, "Derya", "network_member")
    invitation = await store.issue_invitation(person.id, hash_token("k" * 32, new_token()))
    before = await store.create_participant_session("before", invitation.id)
    await store.set_phase(conference.id, "private_time")
    waiting = await store.create_participant_session("waiting", invitation.id)
    refused = await store.create_participant_session("refused", invitation.id)
    assert (before.admission, waiting.admission) == ("in", "waiting")
    assert [s.id for s, _p in await store.waiting_sessions(conference.id)] == [
        waiting.id,
        refused.id,
    ]

    assert await store.decide_admission(conference.id, refused.id, "refused", "participant:1")
    assert not await store.decide_admission(conference.id, refused.id, "in", "participant:1")
    assert sorted(await store.end_unadmitted_sessions(conference.id)) == [waiting.id, refused.id]
    assert await store.session_by_hash("before") is not None
    assert await store.session_by_hash("waiting") is None


async def test_removing_someone_revokes_their_link(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Vraag")
    person = await store.add_participant(conference.id, "Buurman", "network_member")
    token_hash = hash_token("k" * 32, new_token())
    await store.issue_invitation(person.id, token_hash)

    await store.remove_participant(conference.id, person.id)

    assert person.id not in [r.participant.id for r in await store.participants(conference.id)]
    match = await store.invitation_by_hash(token_hash)
    assert match is not None and match.invitation.revoked_at is not None
    assert match.participant.removed_at is not None
    with pytest.raises(NotFound):
        await store.remove_participant(conference.id, person.id)


async def test_a_participant_is_only_found_in_their_own_conference(store: Store) -> None:
    account = await add_coordinator(store)
    one = await store.create_conference(account, "Een", "Vraag")
    other = await store.create_conference(account, "Twee", "Vraag")
    person = await store.add_participant(one.id, "Tante", "network_member")
    assert await store.participant(one.id, person.id) is not None
    assert await store.participant(other.id, person.id) is None


async def test_login_attempts_are_counted_per_address_and_window(store: Store) -> None:
    key = f"someone-{new_token()[:6]}@example.org"
    now = utcnow()
    assert [await store.count_login_attempt(key, now) for _ in range(3)] == [1, 2, 3]
    assert await store.count_login_attempt(f"other-{key}", now) == 1
    later = now + timedelta(minutes=16)
    assert await store.count_login_attempt(key, later) == 1, "a new window starts afresh"
    await store.clear_login_failures(key)
    assert await store.count_login_attempt(key, later) == 1


async def test_parallel_login_attempts_are_all_counted(store: Store) -> None:
    key = f"parallel-{new_token()[:6]}@example.org"
    now = utcnow()
    counts = await asyncio.gather(*(store.count_login_attempt(key, now) for _ in range(8)))
    assert sorted(counts) == list(range(1, 9))


async def test_setting_a_password_ends_every_session_of_that_account(store: Store) -> None:
    account = await add_coordinator(store)
    session_hash = hash_token("k" * 32, new_token())
    await store.create_session(session_hash, account_id=account.id)
    assert await store.set_password(account.email, "new-hash")
    assert await store.session_by_hash(session_hash) is None
    assert not await store.set_password("nobody@example.org", "new-hash")


async def test_closing_a_conference_records_when(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Vraag")
    closed = await store.set_phase(conference.id, "closed")
    assert closed.closed_at is not None
    reopened = await store.set_phase(conference.id, "action_team")
    assert reopened.closed_at is None
    with pytest.raises(ValueError, match="unknown phase"):
        await store.set_phase(conference.id, "mode2")


async def test_audit_events_are_kept_in_order(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Vraag")
    await store.audit(conference.id, "coordinator:1", "conference_created")
    await store.audit(conference.id, "participant:2", "link_opened", {"device": "tablet"})
    events = await store.audit_events(conference.id)
    assert [(e.kind, e.detail) for e in events] == [
        ("conference_created", {}),
        ("link_opened", {"device": "tablet"}),
    ]


async def test_expired_coordinator_sessions_are_forgotten(store: Store) -> None:
    account = await add_coordinator(store)
    old, fresh = hash_token("k" * 32, new_token()), hash_token("k" * 32, new_token())
    now = utcnow()
    await store.create_session(old, account_id=account.id, expires_at=now - timedelta(days=1))
    await store.create_session(fresh, account_id=account.id, expires_at=now + timedelta(days=1))
    assert await store.delete_expired_sessions(now) >= 1
    assert await store.session_by_hash(old) is None
    assert await store.session_by_hash(fresh) is not None


async def test_a_session_id_is_never_handed_out_again(store: Store) -> None:
    """Open connections are checked against their sign-in by id: an ended session's id that
    came back for someone else's sign-in would keep the ended one's sockets open."""
    account = await add_coordinator(store)
    hashes = [secrets.token_hex(32) for _ in range(3)]  # tests share a PostgreSQL database
    first = await store.create_session(hashes[0], account_id=account.id)
    newest = await store.create_session(hashes[1], account_id=account.id)
    await store.delete_session(hashes[1])  # the newest ends (a password reset, a logout)
    after = await store.create_session(hashes[2], account_id=account.id)
    assert after.id > newest.id > first.id
    assert await store.sessions_by_id([newest.id]) == {}


def test_a_conference_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """``kring export -zzDie-20N1d`` would read the id as an option (one id in 64 did)."""
    from server.storage import conferences

    monkeypatch.setattr(conferences.secrets, "token_urlsafe", lambda n: "-zzDie-20N1d")
    assert conferences.new_conference_id() == "kzzDie-20N1d"
