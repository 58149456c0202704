"""Invitations in the store, on SQLite and PostgreSQL: one participant per network map entry
whoever asks at the same moment (the database enforces it, not only the store's look first),
where an invitation stands and whose answer it is, and proposals decided once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from server.storage.models import Participant
from server.storage.store import DatabaseError, NotFound, Reason, Store, StoreError
from tests.support.databases import add_coordinator


async def _conference(store: Store) -> str:
    account = await add_coordinator(store)
    return (await store.create_conference(account, "Sam", "Hoe gaat het thuis?")).id


async def test_one_participant_per_map_entry_however_many_ask_at_once(store: Store) -> None:
    cid, other = await _conference(store), await _conference(store)
    made = await asyncio.gather(
        *(store.invite_from_map(cid, "oma", "Oma Truus", "network_member") for _ in range(4))
    )
    assert sum(created for _person, created in made) == 1
    assert len({person.id for person, _created in made}) == 1
    first = made[0][0]

    # The database itself refuses a second row for the entry, past the store's own look.
    with pytest.raises(DatabaseError):
        async with store._sessions() as db:
            db.add(Participant(conference_id=cid, name="Truus", role="client", map_entry="oma"))
            await db.commit()
    # Another conference's map may use the same id; a hand-added person has no entry at all.
    _elsewhere, created = await store.invite_from_map(other, "oma", "Oma", "network_member")
    assert created
    await store.add_participant(cid, "Ayşe", "network_member")
    await store.add_participant(cid, "Mehmet", "network_member")

    # Taken off the list, the entry is free: inviting them again makes a new participant.
    await store.remove_participant(cid, first.id)
    again, created = await store.invite_from_map(cid, "oma", "Oma Truus", "network_member")
    assert created and again.id != first.id
    assert (await store.invited_from_map(cid, "oma")).id == again.id  # type: ignore[union-attr]


async def test_an_invitation_stands_as_set_and_an_answer_is_the_persons_own(store: Store) -> None:
    cid = await _conference(store)
    ans = await store.add_participant(cid, "Ans", "network_member")
    assert ans.invitation_status == "to_invite"

    # Sending an invitation sets "invited" only over "to invite" (never over an answer).
    assert await store.set_invitation_status(
        ans.id, "invited", by="coordinator:1", only_if=("to_invite",)
    )
    assert await store.set_invitation_status(ans.id, "coming", by=f"participant:{ans.id}")
    assert not await store.set_invitation_status(
        ans.id, "invited", by="coordinator:1", only_if=("to_invite",)
    )
    row = await store.participant(cid, ans.id)
    assert row is not None and row.invitation_status == "coming"
    assert row.invitation_answered_at is not None and row.invitation_note == ""

    # The coordinator's word replaces it, with a note, and it is theirs again.
    assert await store.set_invitation_status(
        ans.id, "maybe", "Belt morgen terug", by="coordinator:1"
    )
    row = await store.participant(cid, ans.id)
    assert row is not None and (row.invitation_status, row.invitation_note) == (
        "maybe",
        "Belt morgen terug",
    )
    assert row.invitation_answered_at is None

    with pytest.raises(ValueError):
        await store.set_invitation_status(ans.id, "gone", by="coordinator:1")
    with pytest.raises(NotFound):
        await store.set_invitation_status(ans.id, "coming", by="x", conference_id="elsewhere")
    # The database holds no status outside the list either.
    with pytest.raises(DatabaseError):
        async with store._sessions() as db:
            await db.execute(
                update(Participant).where(Participant.id == ans.id).values(invitation_status="gone")
            )
            await db.commit()


async def test_proposals_are_capped_and_decided_once(store: Store) -> None:
    cid = await _conference(store)
    sam = await store.add_participant(cid, "Sam", "client")
    first = await store.propose_invitee(cid, sam.id, "Oom Kees", "oom", "", open_limit=2)
    second = await store.propose_invitee(cid, sam.id, "Trainer Bas", "", "", open_limit=2)
    with pytest.raises(StoreError) as full:
        await store.propose_invitee(cid, sam.id, "Nog een", "", "", open_limit=2)
    assert full.value.reason is Reason.TOO_MANY_PROPOSALS

    # Two taps on "invite" at the same moment: one participant, the other tap is told.
    outcomes = await asyncio.gather(
        *(store.accept_proposal(cid, first.id, "network_member", by="coordinator:1") for _ in "ab"),
        return_exceptions=True,
    )
    accepted = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, StoreError)]
    assert len(accepted) == 1 and len(refused) == 1
    assert refused[0].reason is Reason.PROPOSAL_DECIDED
    names = [r.participant.name for r in await store.participants(cid)]
    assert names.count("Oom Kees") == 1

    declined = await store.decline_proposal(cid, second.id, "Eerst bespreken", by="coordinator:1")
    assert (declined.decision, declined.reason) == ("declined", "Eerst bespreken")
    with pytest.raises(StoreError):
        await store.accept_proposal(cid, second.id, "network_member", by="coordinator:1")
    with pytest.raises(NotFound):
        await store.decline_proposal("elsewhere", second.id, "", by="coordinator:1")
    # Decided ones no longer count: room for a new one.
    await store.propose_invitee(cid, sam.id, "Nog een", "", "", open_limit=2)
    mine = await store.proposals(cid, proposed_by=sam.id)
    assert [(p.name, p.decision) for p, _who in mine] == [
        ("Oom Kees", "invited"),
        ("Trainer Bas", "declined"),
        ("Nog een", None),
    ]
    assert mine[0][0].participant_id is not None
