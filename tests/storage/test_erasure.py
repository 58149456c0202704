"""Erasing a conference in the store, on SQLite and PostgreSQL: it is marked first, and from
then on no way in finds it, exactly as after its erasure; then every row of it goes, in steps
of a bounded size with the other conferences' typing committed in between, and nothing of
another conference; a crash half-way leaves it refused and the next start-up or purge finishes
it; the database files are cleaned; the document log's group commit neither fails for others
nor brings rows back; and `kring purge` erases only what closed longer ago than the retention
period."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pycrdt import Doc, Text
from sqlalchemy import func, select, text

from server.conference import erasure
from server.conference.erasure import due_for_purge, months_before
from server.storage.documents import CommitFailed, DocumentLog
from server.storage.models import Account, Base, Conference, DocUpdate
from server.storage.store import ERASED_TABLES, NotFound, Store
from tests.support.databases import add_coordinator, migrated_sqlite, opened_store
from tests.support.live import wait_until
from tests.support.server import Instance


def _update(text: str) -> bytes:
    doc: Doc[Text] = Doc()
    doc["text"] = Text(text)
    return doc.get_update()


async def _filled_conference(store: Store, log: DocumentLog, name: str) -> str:
    """A conference with a row in every table that holds anything of a conference."""
    account = await add_coordinator(store)
    conference = await store.create_conference(account, name, f"Vraag van {name}")
    cid = conference.id
    client = await store.add_participant(cid, name, "client")
    sanne = await store.add_participant(cid, "Sanne Smit", "mandated_professional")
    invitation = await store.issue_invitation(client.id, f"hash-{cid}")
    await store.create_session(f"session-{cid}", invitation_id=invitation.id)
    condition = await store.add_condition(cid, sanne.id, "Geen alcohol in huis")
    await store.check_condition(cid, condition.id, sanne.id, "met", "")
    await store.add_signal(cid, client.id, "plan_ready")
    await store.add_question(cid, "Wie haalt Sam op?")
    await store.copy_conference_questions(cid, ["Hoe blijft Sam thuis wonen?"])
    await store.set_answer(cid, client.id, "agree", "")
    await store.propose_invitee(cid, client.id, "Oom Kees", "oom", "Hij kookt", open_limit=20)
    await store.set_phase(cid, "presentation")
    await store.add_plan_version(cid, 1, _update(name), {"client_name": name}, "test")
    await store.set_phase(cid, "action_team")
    meeting = await store.start_follow_up(cid, date.today(), "test")
    await store.set_attendance(meeting.id, frozenset({client.id}))
    await store.close_follow_up(meeting.id, cid, _update(name), {"client_name": name}, "test")
    await store.set_rating(cid, client.id, 0, 8, 9)
    assert await store.claim_reminder(cid, f"participant:{client.id}", date.today())
    upto = await log.append(cid, "plan", _update(f"{name} typt"), lambda _id: None)
    await log.append(cid, "plan", _update("nog meer"), lambda _id: None)
    await log.compact(cid, "plan", _update(f"{name} typt"), upto)
    await store.audit(cid, "test", "conference_edited", {"fields": ["client_name"]})
    invited = await store.invite_account(f"co-{cid}@example.org", "Co Coördinator")
    soon = datetime.now(UTC) + timedelta(hours=1)
    await store.create_account_link(
        invited.id, "invite", f"link-{cid}", expires_at=soon, created_by="test", conference_id=cid
    )
    return cid


# Tables whose rows belong to a conference without a conference_id of their own.
_THROUGH = {
    "conference": "SELECT count(*) FROM conference WHERE id = :cid",
    "invitation": "SELECT count(*) FROM invitation JOIN participant p ON p.id = participant_id "
    "WHERE p.conference_id = :cid",
    "session": "SELECT count(*) FROM session JOIN invitation i ON i.id = invitation_id "
    "JOIN participant p ON p.id = i.participant_id WHERE p.conference_id = :cid",
    "follow_up_attendance": "SELECT count(*) FROM follow_up_attendance "
    "JOIN follow_up f ON f.id = follow_up_id WHERE f.conference_id = :cid",
}


async def _rows_per_table(store: Store, conference_id: str) -> dict[str, int]:
    """How many rows of each table belong to the conference, asked of every table in the
    schema (not of the erasure's own list)."""
    counts = {}
    async with store.engine.connect() as conn:
        for name, table in Base.metadata.tables.items():
            if "conference_id" in table.c:
                query = f"SELECT count(*) FROM {name} WHERE conference_id = :cid"
            elif name in _THROUGH:
                query = _THROUGH[name]
            else:
                continue
            counts[name] = int(await conn.scalar(text(query), {"cid": conference_id}) or 0)
    return counts


@pytest.fixture
async def log(store: Store) -> AsyncIterator[DocumentLog]:
    document_log = DocumentLog(store.engine)
    document_log.start()
    yield document_log
    await document_log.close()


async def test_every_table_that_holds_a_conference_is_erased() -> None:
    # accounts are people's logins (with their second factor), not a conference's
    kept = {"account", "login_throttle", "second_factor", "recovery_code", "login_step"}
    kept |= {"instance_setting"}  # the admin's choices for the whole instance
    kept |= {"lease"}  # work between processes
    assert set(Base.metadata.tables) - kept == set(ERASED_TABLES)


async def test_erasing_deletes_every_row_of_the_conference_and_nothing_else(
    store: Store, log: DocumentLog
) -> None:
    erased = await _filled_conference(store, log, "Zoë Erase")
    other = await _filled_conference(store, log, "Other Family")
    before = await _rows_per_table(store, erased)
    assert all(before.values()), f"the test conference lacks rows in {before}"
    others = await _rows_per_table(store, other)

    await log.forgotten(erased)
    result = await store.erase_conference(erased, "coordinator:1", turn=log.turn)

    assert {table: n for table, n in result.rows.items() if table in before} == before
    assert set((await _rows_per_table(store, erased)).values()) == {0}
    assert await _rows_per_table(store, other) == others
    assert await store.conference(erased) is None
    assert (await store.conference(other)) is not None
    # The erasure is recorded without anything of the conference but its id.
    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Base.metadata.tables["audit_event"]).where(
                    Base.metadata.tables["audit_event"].c.kind == "conference_erased"
                )
            )
        ).all()
    event = next(row for row in rows if row.detail["conference_id"] == erased)
    assert event.conference_id is None and event.actor == "coordinator:1"
    assert "Zoë" not in str(event.detail) and "Vraag" not in str(event.detail)

    scrubbed = await store.scrub_deleted()
    assert scrubbed.done, scrubbed.how
    dialect = store.engine.dialect.name
    assert scrubbed.how.startswith("VACUUM" if dialect == "postgresql" else "wal_checkpoint")

    with pytest.raises(NotFound):
        await store.erase_conference(erased, "coordinator:1")


async def test_an_update_pending_when_the_erasure_starts_fails_alone_and_stays_gone(
    store: Store, log: DocumentLog
) -> None:
    erased = await _filled_conference(store, log, "Pending Family")
    other = await _filled_conference(store, log, "Busy Family")
    # Both wait for the writer, which has not taken them yet: one batch once it does.
    late = log.submit(erased, "plan", _update("typed just before"), lambda _id: None)
    meanwhile = log.submit(other, "plan", _update("typed by others"), lambda _id: None)
    await log.forgotten(erased)
    await store.erase_conference(erased, "coordinator:1", turn=log.turn)
    with pytest.raises(CommitFailed):
        await asyncio.wait_for(late, 10)
    assert await asyncio.wait_for(meanwhile, 10) > 0  # the other conference's edit is stored
    with pytest.raises(CommitFailed):
        log.submit(erased, "plan", _update("and after"), lambda _id: None)
    assert await log.compact(erased, "plan", _update("x"), 10**9) == 0
    async with store.engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(DocUpdate).where(DocUpdate.conference_id == erased)
        )
    assert left == 0
    assert "typed by others" in str(_text(await log.state(other, "plan")))


# -- in steps --------------------------------------------------------------------------------


async def _ways_in(store: Store, conference_id: str, owner: Account, admin: Account) -> set[str]:
    """Every way the store finds a conference by, that finds this one (see _filled_conference)."""
    found = set()
    if await store.conference(conference_id) is not None:
        found.add("its pages, API and export")
    sign_in = await store.session_by_hash(f"session-{conference_id}")
    if sign_in is not None:
        found.add("a participant's sign-in")
        if await store.sessions_by_id([sign_in.session.id]):
            found.add("the check of open connections")
    link = await store.invitation_by_hash(f"hash-{conference_id}")
    if link is not None:
        found.add("a personal link")
        if await store.first_invitation(link.participant.id) is not None:
            found.add("a calendar feed")
    if await store.account_link_by_hash(f"link-{conference_id}") is not None:
        found.add("a co-coordinator's invitation")
    for who, account in (("the owner's", owner), ("an admin's", admin)):
        if conference_id in {s.conference.id for s in await store.conferences_for(account)}:
            found.add(f"{who} list")
        if conference_id in {f.conference_id for f in await store.outcome_facts(account)}:
            found.add(f"{who} outcomes")
    if conference_id in {c.id for c in await store.conferences_in_phase("action_team")}:
        found.add("the reminders")
    return found


async def _owner(store: Store, conference_id: str) -> Account:
    conference = await store.conference(conference_id)
    owner = None if conference is None else await store.account(conference.owner_id)
    assert owner is not None
    return owner


async def test_a_conference_being_erased_is_found_no_way_in_exactly_as_an_erased_one(
    store: Store, log: DocumentLog
) -> None:
    cid = await _filled_conference(store, log, "Marked Family")
    other = await _filled_conference(store, log, "Other Family")
    owner, others_owner = await _owner(store, cid), await _owner(store, other)
    admin = await add_coordinator(store, role="admin")
    await store.create_session(f"coordinator-{cid}", account_id=owner.id)
    every_way = await _ways_in(store, cid, owner, admin)
    assert len(every_way) == 11, every_way  # the test sees each way find it
    old = await _closed(store, "Old Family", datetime.now(UTC) - timedelta(days=400))

    await store.mark_erasing(cid, "coordinator:1")
    await store.mark_erasing(old, "retention")

    assert await _ways_in(store, cid, owner, admin) == set()
    assert await _ways_in(store, other, others_owner, admin) == every_way  # the others go on
    assert old not in {c for c, _closed_at in await due_for_purge(store, 12, datetime.now(UTC))}
    with pytest.raises(NotFound):  # erased once, by whoever marked it
        await store.mark_erasing(cid, "retention")
    with pytest.raises(NotFound):
        await store.hand_over_conference(cid, admin.id)
    # The coordinator's own sign-in is theirs, not the conference's: it holds.
    assert await store.session_by_hash(f"coordinator-{cid}") is not None

    erased = await store.erase_marked(cid, turn=log.turn)
    assert erased.actor == "coordinator:1" and not erased.resumed
    await store.erase_marked(old)
    assert await _ways_in(store, cid, owner, admin) == set()  # the same as while being erased
    assert await store.session_by_hash(f"coordinator-{cid}") is not None


async def _typed(log: DocumentLog, conference_id: str, updates: int) -> None:
    """A plan typed in ``updates`` separate edits (stored in a few group commits)."""
    edits = [_update(f"letter {n}") for n in range(updates)]
    await asyncio.gather(*(log.submit(conference_id, "plan", e, lambda _id: None) for e in edits))


class Crash(Exception):
    """The process died."""


def _crashing(
    log: DocumentLog, after: int
) -> Callable[[], contextlib.AbstractAsyncContextManager[None]]:
    """The document log's turn, for an erasure whose process dies after ``after`` steps."""
    taken = 0

    @contextlib.asynccontextmanager
    async def turn() -> AsyncIterator[None]:
        nonlocal taken
        if taken == after:
            raise Crash
        taken += 1
        async with log.turn():
            yield

    return turn


async def _erasure_records(store: Store, conference_id: str) -> list[tuple[str, dict[str, object]]]:
    async with store.engine.connect() as conn:
        table = Base.metadata.tables["audit_event"]
        rows = (await conn.execute(select(table).where(table.c.kind == "conference_erased"))).all()
    return [(row.actor, row.detail) for row in rows if row.detail["conference_id"] == conference_id]


@pytest.mark.parametrize("finished_by", ["start-up", "purge"])
async def test_an_erasure_stopped_half_way_stays_refused_and_is_finished_later(
    database_url: str, finished_by: str
) -> None:
    store = Store.connect(database_url)
    log = DocumentLog(store.engine)
    log.start()
    try:
        cid = await _filled_conference(store, log, "Crashed Family")
        other = await _filled_conference(store, log, "Other Family")
        await _typed(log, cid, 450)
        before = await _rows_per_table(store, cid)
        others = await _rows_per_table(store, other)
        await store.mark_erasing(cid, "coordinator:7")
        await log.forgotten(cid)
        # 14 tables of a row or two each, then 2 of doc_update's 5 steps; then it dies.
        with pytest.raises(Crash):
            await store.erase_marked(cid, batch_rows=100, turn=_crashing(log, after=16))
    finally:
        await log.close()
        await store.close()

    store = Store.connect(database_url)  # the process starts again
    try:
        half = await _rows_per_table(store, cid)
        assert half["participant"] == before["participant"] and half["doc_snapshot"] == 0
        assert 0 < half["doc_update"] < before["doc_update"], (half, before)
        assert await store.conference(cid) is None  # and it is refused meanwhile
        assert await store.invitation_by_hash(f"hash-{cid}") is None

        if finished_by == "start-up":
            done = await erasure.finish_interrupted(store)
        else:  # (keeping every closed conference: PostgreSQL's is shared with other tests)
            purged = await erasure.purge(store, 0, "retention")
            assert (cid, None) in [(p.conference_id, p.closed_at) for p in purged]
            done = [p.erasure for p in purged if p.erasure is not None]
        [finished] = [e for e in done if e.erased.conference_id == cid]
        assert finished.scrubbed.done, finished.scrubbed.how

        assert set((await _rows_per_table(store, cid)).values()) == {0}
        assert await _rows_per_table(store, other) == others
        [(actor, detail)] = await _erasure_records(store, cid)
        assert actor == "coordinator:7" and detail["resumed"] is True  # as by whoever began it
        assert "Crashed" not in str(detail)
        assert cid not in await store.being_erased()  # nothing is left to finish
    finally:
        await store.close()


async def test_typing_elsewhere_is_committed_between_the_steps_of_an_erasure(
    store: Store, log: DocumentLog
) -> None:
    big = await _filled_conference(store, log, "Big Family")
    await _typed(log, big, 2000)
    other = await _filled_conference(store, log, "Typing Family")
    order: list[str] = []  # "step" of the erasure, "commit" of the other family's typing

    @contextlib.asynccontextmanager
    async def turn() -> AsyncIterator[None]:
        async with log.turn():
            order.append("step")
            yield

    stop = asyncio.Event()

    async def type_along() -> int:
        typed = 0
        while not stop.is_set():
            edit = _update(f"letter {typed}")
            await log.append(other, "plan", edit, lambda _id: order.append("commit"))
            typed += 1
        return typed

    typist = asyncio.create_task(type_along())
    await wait_until(lambda: "commit" in order)
    del order[:]
    await store.mark_erasing(big, "coordinator:1")
    await log.forgotten(big)
    erased = await store.erase_marked(big, batch_rows=100, turn=turn)
    stop.set()
    typed = await asyncio.wait_for(typist, 10)

    assert erased.rows["doc_update"] == 2001  # and one left by _filled_conference
    steps = [i for i, what in enumerate(order) if what == "step"]
    assert len(steps) >= 35  # 21 of doc_update, one or two per other table, the conference
    gaps = list(itertools.pairwise(steps))
    with_commits = [gap for gap in gaps if "commit" in order[gap[0] : gap[1]]]
    # The typing got in between every two steps, not after the whole erasure.
    assert with_commits == gaps, order
    assert typed >= len(with_commits)
    assert set((await _rows_per_table(store, big)).values()) == {0}
    [(actor, _detail)] = await _erasure_records(store, big)
    assert actor == "coordinator:1"


def _text(state: bytes) -> str:
    doc: Doc[Text] = Doc()
    doc.apply_update(state)
    return str(doc.get("text", type=Text))


async def test_sqlite_connections_overwrite_what_they_delete(tmp_path: Path) -> None:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path)  # Alembic runs its own event loop
    async with opened_store(url) as store, store.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar() == 1


# -- retention ---------------------------------------------------------------------------------


def test_months_are_counted_on_the_calendar() -> None:
    moment = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert months_before(moment, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert months_before(moment, 15) == datetime(2024, 12, 31, 12, 0, tzinfo=UTC)
    assert months_before(moment, 0) == moment


async def _closed(store: Store, client_name: str, closed_at: datetime | None) -> str:
    account = await add_coordinator(store)
    phase = "closed" if closed_at else "action_team"
    conference = await store.create_conference(account, client_name, "Vraag", phase=phase)
    if closed_at is not None:
        async with store._sessions() as db:
            row = await db.get(Conference, conference.id)
            assert row is not None
            row.closed_at = closed_at
            await db.commit()
    return conference.id


async def test_only_conferences_closed_longer_ago_than_the_retention_are_due(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    old = await _closed(store, "Old", now - timedelta(days=400))
    recent = await _closed(store, "Recent", now - timedelta(days=30))
    await _closed(store, "Still running", None)
    due = [cid for cid, _closed_at in await due_for_purge(store, 12, now)]
    assert old in due and recent not in due
    assert await due_for_purge(store, 0, now) == []


def test_kring_purge_erases_only_the_old_conferences_and_dry_run_nothing(
    instance: Instance,
) -> None:
    instance.env["KRING_RETENTION_MONTHS"] = "6"
    instance.cli("db", "upgrade")
    now = datetime.now(UTC)

    async def seed() -> dict[str, str]:
        store = Store.connect(instance.database_url)
        try:
            return {
                "old": await _closed(store, "Ouder Gezin", now - timedelta(days=300)),
                "older": await _closed(store, "Oudste Gezin", now - timedelta(days=900)),
                "recent": await _closed(store, "Recent Gezin", now - timedelta(days=20)),
                "running": await _closed(store, "Lopend Gezin", None),
            }
        finally:
            await store.close()

    ids = asyncio.run(seed())
    database = instance.folder / "kring.db"

    def stored() -> set[str]:
        with sqlite3.connect(database) as db:
            return {row[0] for row in db.execute("SELECT id FROM conference")}

    dry = instance.cli("purge", "--dry-run")
    assert f"would erase {ids['old']}" in dry.stdout and f"would erase {ids['older']}" in dry.stdout
    assert ids["recent"] not in dry.stdout and ids["running"] not in dry.stdout
    assert stored() == set(ids.values())

    done = instance.cli("purge")
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all("files scrubbed" in line for line in lines)
    assert lines[0].startswith(f"erased {ids['older']} (closed ")  # oldest first
    assert "Gezin" not in done.stdout + done.stderr  # ids and dates, never a name
    assert stored() == {ids["recent"], ids["running"]}
    assert instance.cli("purge").stdout == ""  # nothing left to erase

    # An erasure that stopped half-way is finished even when every conference is kept.
    async def interrupted() -> None:
        store = Store.connect(instance.database_url)
        try:
            await store.mark_erasing(ids["running"], "coordinator:1")
        finally:
            await store.close()

    asyncio.run(interrupted())
    instance.env["KRING_RETENTION_MONTHS"] = "0"
    dry = instance.cli("purge", "--dry-run")
    assert dry.stdout == f"would finish erasing {ids['running']} (interrupted)\n"
    assert "1 interrupted erasure(s) would be finished" in dry.stderr
    assert ids["running"] in stored()
    kept = instance.cli("purge")
    assert "1 interrupted erasure(s) finished" in kept.stderr
    assert "every conference is kept" in kept.stderr
    assert kept.stdout.startswith(f"erased {ids['running']} (interrupted): ")
    assert "files scrubbed" in kept.stdout
    assert stored() == {ids["recent"]}
