"""The second factor's "use once", on SQLite and PostgreSQL: two requests with the same code
at the same moment, one succeeds; the requirement for everyone ends the sign-ins without one."""

from __future__ import annotations

import asyncio

from server.storage.store import Store
from tests.support.databases import add_coordinator


async def test_a_code_step_and_a_recovery_code_are_spent_once_even_at_once(store: Store) -> None:
    account = await add_coordinator(store)
    await store.begin_second_factor(account.id, "sealed")
    assert not await store.use_code_step(account.id, 100), "not on until it is confirmed"
    assert await store.confirm_second_factor(account.id, 100, ["h1", "h2"], "test")
    assert not await store.confirm_second_factor(account.id, 101, ["h3"], "test")
    both = await asyncio.gather(*(store.use_code_step(account.id, 101) for _ in range(2)))
    assert sorted(both) == [False, True]
    assert not await store.use_code_step(account.id, 100), "older than the step used"
    spent = await asyncio.gather(*(store.use_recovery_code(account.id, "h1") for _ in range(2)))
    assert sorted(spent, key=str) == [1, None]
    assert await store.recovery_codes_left(account.id) == 1


async def test_requiring_a_second_factor_ends_the_sign_ins_of_accounts_without_one(
    store: Store,
) -> None:
    with_one, without = await add_coordinator(store), await add_coordinator(store)
    await store.begin_second_factor(with_one.id, "sealed")
    await store.confirm_second_factor(with_one.id, 1, [], "test")
    for account, token in ((with_one, "a" * 64), (without, "b" * 64)):
        await store.create_session(token, account_id=account.id)
    ended = await store.require_two_factor(True, "test")
    assert len(ended) >= 1
    assert await store.session_by_hash("a" * 64) is not None
    assert await store.session_by_hash("b" * 64) is None
    assert await store.two_factor_required()
    assert await store.require_two_factor(False, "test") == []
    assert not await store.two_factor_required()
