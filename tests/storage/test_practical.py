"""The practical side and the conference's questions from the compass in the store, on SQLite
and PostgreSQL: the questions are copied once however often or however many requests at the
same moment ask, and a child's supporter is someone else on the list who is no child."""

from __future__ import annotations

import asyncio

import pytest

from server.storage.store import NotFound, Store
from tests.support.databases import add_coordinator


async def test_the_questions_are_copied_once_even_by_two_requests_at_the_same_moment(
    store: Store,
) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Hoe verder?")
    questions = ["Hoe blijf ik thuis wonen?", "Wie helpt met de post?"]
    assert await store.copy_conference_questions(conference.id, []) == 0
    added = await asyncio.gather(
        store.copy_conference_questions(conference.id, questions),
        store.copy_conference_questions(conference.id, questions),
    )
    assert sorted(added) == [0, 2]
    assert await store.copy_conference_questions(conference.id, ["Nog een?"]) == 0
    rows = await store.conference_questions(conference.id)
    assert [(q.position, q.text) for q in rows] == [(1, questions[0]), (2, questions[1])]


async def test_a_childs_supporter_is_an_adult_of_the_same_conference(store: Store) -> None:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam", "Hoe verder?")
    other = await store.create_conference(account, "Jop", "Hoe verder?")
    sam = await store.add_participant(conference.id, "Sam", "client")
    ans = await store.add_participant(conference.id, "Ans", "network_member")
    jop = await store.add_participant(conference.id, "Jop", "network_member")
    stranger = await store.add_participant(other.id, "Bram", "network_member")

    async def child(who: int, supporter: int | None) -> None:
        await store.set_participant_practical(
            conference.id,
            who,
            interpreter_language="Pools",
            interpreter_arranged=False,
            age=9,
            supported_by_id=supporter,
        )

    await child(jop.id, ans.id)
    for supporter in (jop.id, stranger.id, jop.id + 1000):  # himself, elsewhere, nobody
        with pytest.raises(NotFound):
            await child(sam.id, supporter)
    with pytest.raises(NotFound):  # another child
        await child(sam.id, jop.id)
    await store.remove_participant(conference.id, ans.id)
    with pytest.raises(NotFound):  # taken off the list
        await child(sam.id, ans.id)
    found = await store.participant(conference.id, jop.id)
    assert found is not None
    assert (found.age, found.supported_by_id, found.interpreter_language) == (9, ans.id, "Pools")
    assert (await store.participant(conference.id, sam.id)).age is None  # type: ignore[union-attr]
