"""What a scenario starts from: rooms with their devices' cookies, and typed documents.

For Kring a room is a conference made straight through server.storage.store, with one
participant per device, each signed in the way opening a personal link signs in; for the
reference a room is just a name (it has no auth).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Text

from server.conference import auth
from server.settings import Settings
from server.storage.documents import DocumentLog
from server.storage.store import Store
from server.views.identity import PARTICIPANT_COOKIE

from .servers import KringServer, Server


@dataclass
class Conference:
    """One room: its id (Kring's conference id, or the reference's room name) and one cookie
    per device ("" for the reference)."""

    id: str
    cookies: list[str]


async def make_rooms(
    server: Server, rooms: int, people: int, phase: str = "private_time"
) -> list[Conference]:
    if isinstance(server, KringServer):
        return await make_conferences(server.settings, rooms, people, phase)
    tag = secrets.token_hex(3)
    return [Conference(f"room-{tag}-{r}", [""] * people) for r in range(rooms)]


async def make_conferences(
    settings: Settings, conferences: int, people: int, phase: str = "private_time"
) -> list[Conference]:
    """Conferences with ``people`` family members each, every one signed in on one device.

    Does what opening a personal link does (auth.start_participant_session): an invitation
    whose token hash is stored, and a session row holding the HMAC of the cookie's token.
    """
    store = Store.connect(settings.database_url)
    try:
        account = await store.create_account(
            f"bench-{secrets.token_hex(4)}@kring.example", "Bench Coördinator", "!unusable"
        )
        made = []
        for c in range(conferences):
            conference = await store.create_conference(
                account, f"Cliënt {c}", "Hoe houden we het plan bij?", location="Bench"
            )
            await store.set_phase(conference.id, phase)
            cookies = []
            for p in range(people):
                role = "client" if p == 0 else "network_member"
                person = await store.add_participant(conference.id, f"Lid {c}.{p}", role)
                invitation = await store.issue_invitation(
                    person.id, auth.hash_token(settings.secret_key, auth.new_token())
                )
                token = auth.new_token()
                await store.create_session(
                    auth.hash_token(settings.secret_key, token), invitation_id=invitation.id
                )
                cookies.append(f"{PARTICIPANT_COOKIE}={token}")
            made.append(Conference(conference.id, cookies))
        return made
    finally:
        await store.close()


@functools.lru_cache(maxsize=4)
def typing_updates(count: int, seed: int, authors: int = 4) -> tuple[tuple[bytes, ...], str]:
    """``count`` Yjs updates of people typing a plan: one edit per update, several authors.

    Mostly typing at or near the end, sometimes elsewhere, sometimes deleting; the authors
    take turns (each catches up before typing, as a synced tablet would). Cached: the run
    against the reference gets the same document as the run against Kring.
    """
    rnd = random.Random(seed)
    docs: list[Doc[Any]] = [Doc(client_id=rnd.getrandbits(32)) for _ in range(authors)]
    texts = [d.get("plan", type=Text) for d in docs]
    updates: list[bytes] = []
    catching_up = False

    def record(event: Any) -> None:
        if not catching_up:
            updates.append(event.update)

    subscriptions = [d.observe(record) for d in docs]
    words = "we spreken af dat oma op dinsdag kookt en Sam naar school brengt .".split()  # noqa: SIM905
    current = 0
    for _ in range(count):
        if rnd.random() < 0.03:  # another person takes over
            nxt = rnd.randrange(authors)
            if nxt != current:
                catching_up = True
                docs[nxt].apply_update(docs[current].get_update(docs[nxt].get_state()))
                catching_up = False
                current = nxt
        text = texts[current]
        length = len(text)
        roll = rnd.random()
        if roll < 0.85 or length < 40:
            at = max(0, length - rnd.choice((0, 0, 0, 1, 3, 12)))
            text.insert(
                at, rnd.choice(words) + " " if rnd.random() < 0.3 else rnd.choice("aeiostn ")
            )
        elif roll < 0.93:
            text.insert(rnd.randrange(length), rnd.choice(words) + " ")
        else:
            at = rnd.randrange(length - 3)
            del text[at : at + rnd.randint(1, 3)]
    final = str(texts[current])
    for d, s in zip(docs, subscriptions, strict=True):
        d.unobserve(s)
    return tuple(updates), final


def marker_updates(first: int, count: int) -> list[tuple[int, bytes]]:
    """``count`` small updates of one device, each appending one marker ``[m000000042]``
    (numbered from ``first``), made before a burst so that the burst only sends."""
    doc: Doc[Any] = Doc(client_id=random.getrandbits(32))
    text = doc.get("plan", type=Text)
    out: list[tuple[int, bytes]] = []
    last: list[bytes] = []
    subscription = doc.observe(lambda event: last.append(event.update))
    for marker in range(first, first + count):
        text.insert(len(text), f"[m{marker:09d}]")
        out.append((marker, last.pop()))
    doc.unobserve(subscription)
    return out


async def write_log(settings: Settings, docs: dict[tuple[str, str], list[bytes]]) -> float:
    """Write updates straight into doc_update through DocumentLog (group commit); seconds."""
    store = Store.connect(settings.database_url)
    log = DocumentLog(store.engine)
    log.start()
    t0 = time.perf_counter()
    try:
        for (conference_id, document), updates in docs.items():
            for i in range(0, len(updates), 500):
                await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            log.append(conference_id, document, u, lambda _id: None)
                            for u in updates[i : i + 500]
                        )
                    ),
                    60,
                )
        return time.perf_counter() - t0
    finally:
        await log.close()
        await store.close()


def copy_rows(server: KringServer, source: str, targets: list[str]) -> None:
    """Copy one document's log to other conferences, in log order, straight in SQLite."""
    with contextlib.closing(sqlite3.connect(server.db_path)) as db:
        db.execute("PRAGMA synchronous=FULL")
        for target in targets:
            db.execute(
                "INSERT INTO doc_update (conference_id, document, data, created_at) "
                "SELECT ?, document, data, created_at FROM doc_update "
                "WHERE conference_id = ? ORDER BY id",
                (target, source),
            )
        db.commit()
