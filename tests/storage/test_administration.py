"""Keeping accounts whole on SQLite and PostgreSQL: two admins who take each other's role or
turn each other off at the same moment still leave one admin who can log in."""

from __future__ import annotations

import asyncio
import secrets

from server.storage.store import Store, StoreError

ROUNDS = 10  # each round is one race; without a lock PostgreSQL loses nearly every one


async def test_two_admins_at_once_never_leave_the_instance_without_one(store: Store) -> None:
    for _round in range(ROUNDS):
        one, two = [
            await store.create_account(f"{who}-{secrets.token_hex(3)}@x.org", who, "h", "admin")
            for who in ("Anna", "Bert")
        ]
        for other in await store.all_accounts():  # a shared database holds other admins
            if other.role == "admin" and other.id not in (one.id, two.id):
                await store.set_account_role(other.id, "coordinator")
        outcomes = await asyncio.gather(
            store.set_account_role(one.id, "coordinator"),
            store.deactivate_account(two.id),
            return_exceptions=True,
        )
        assert sum(isinstance(o, StoreError) for o in outcomes) == 1, outcomes
        left = [
            a
            for a in await store.all_accounts()
            if a.role == "admin" and a.deactivated_at is None and a.password_hash
        ]
        assert len(left) == 1, "one of the two stays an admin who can log in"


async def test_two_hand_overs_at_once_leave_one_coordinator_running_the_conference(
    store: Store,
) -> None:
    for _round in range(ROUNDS):
        first, second, third = [
            await store.create_account(f"{who}-{secrets.token_hex(3)}@x.org", who, "h")
            for who in ("Anna", "Bert", "Cor")
        ]
        conference = await store.create_conference(first, "Sam", "Hoe gaat het thuis?")
        handed = await asyncio.gather(
            store.hand_over_conference(conference.id, second.id),
            store.hand_over_conference(conference.id, third.id),
        )
        assert first.id in handed, "one of the two took it from Anna"
        running = {
            row.participant.account_id
            for row in await store.participants(conference.id)
            if row.participant.role == "coordinator"
        }
        now = await store.conference(conference.id)
        assert now is not None
        assert running == {now.owner_id}, "only the last one handed it runs it"
