"""The meeting's decisions in the store, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from server.conference.refusals import refusal
from server.storage.store import NotFound, Store, StoreError
from tests.support.databases import add_coordinator


async def _conference(store: Store, phase: str = "information") -> tuple[str, dict[str, int]]:
    account = await add_coordinator(store)
    conference = await store.create_conference(account, "Sam Yılmaz", "Hoe blijft Sam thuis?")
    await store.set_phase(conference.id, phase)
    people = {}
    for name, role in (
        ("Sam", "client"),
        ("Ayşe", "network_member"),
        ("Sanne", "mandated_professional"),
        ("Iris", "mandated_professional"),
    ):
        people[name] = (await store.add_participant(conference.id, name, role)).id
    return conference.id, people


async def test_two_coordinators_moving_the_phase_at_once_move_it_once(store: Store) -> None:
    conference_id, _ = await _conference(store)
    results = await asyncio.gather(
        store.change_phase(conference_id, "information", "private_time"),
        store.change_phase(conference_id, "information", "private_time"),
    )
    assert sorted(r is None for r in results) == [False, True]
    moved = next(r for r in results if r is not None)
    assert moved.phase == "private_time"
    assert await store.change_phase(conference_id, "information", "presentation") is None
    stored = await store.conference(conference_id)
    assert stored is not None and stored.phase == "private_time"
    assert stored.phase_since == moved.phase_since


async def test_signals_count_from_when_the_phase_began(store: Store) -> None:
    conference_id, people = await _conference(store)
    await store.add_signal(conference_id, people["Sam"], "plan_ready")
    moved = await store.change_phase(conference_id, "information", "private_time")
    assert moved is not None
    assert await store.signals(conference_id, moved.phase_since) == []
    await store.add_signal(conference_id, people["Ayşe"], "question")
    since = await store.signals(conference_id, moved.phase_since)
    assert [(row.kind, name) for row, name in since] == [("question", "Ayşe")]
    assert len(await store.signals(conference_id)) == 2
    with pytest.raises(ValueError):
        await store.add_signal(conference_id, people["Sam"], "party")


async def test_plan_ready_is_taken_back_only_while_its_private_time_lasts(store: Store) -> None:
    """The family takes back "plan ready" while the coordinator moves on: one of the two
    wins, and a take-back that lost leaves no signal behind (it would show at the
    presentation as "not ready after all")."""
    conference_id, people = await _conference(store)
    private = await store.change_phase(conference_id, "information", "private_time")
    assert private is not None
    await store.add_signal(conference_id, people["Sam"], "plan_ready")
    taken_back = await store.withdraw_plan_ready(conference_id, people["Ayşe"], private.phase_since)
    assert taken_back is not None and taken_back.kind == "plan_withdrawn"
    await store.add_signal(conference_id, people["Sam"], "plan_ready")
    # Both at once: the take-back and the move to the presentation.
    results = await asyncio.gather(
        store.withdraw_plan_ready(conference_id, people["Ayşe"], private.phase_since),
        store.change_phase(conference_id, "private_time", "presentation"),
    )
    moved = await store.conference(conference_id)
    assert moved is not None and moved.phase == "presentation" and results[1] is not None
    later = [row.kind for row, _ in await store.signals(conference_id, moved.phase_since)]
    assert "plan_withdrawn" not in later, "nothing of private time lands in the presentation"
    # After the move, with the private time it read: refused, nothing stored.
    before = len(await store.signals(conference_id))
    assert (
        await store.withdraw_plan_ready(conference_id, people["Ayşe"], private.phase_since)
    ) is None
    assert len(await store.signals(conference_id)) == before


async def test_only_the_professional_who_set_a_condition_changes_it(store: Store) -> None:
    conference_id, people = await _conference(store)
    condition = await store.add_condition(conference_id, people["Sanne"], "Sam slaapt thuis.")
    with pytest.raises(NotFound):
        await store.check_condition(conference_id, condition.id, people["Iris"], "met", "")
    with pytest.raises(NotFound):
        await store.delete_condition(conference_id, condition.id, people["Iris"])
    other_id, other_people = await _conference(store)
    with pytest.raises(NotFound):  # an id of another conference is not found either
        await store.check_condition(other_id, condition.id, other_people["Sanne"], "met", "")
    with pytest.raises(ValueError):
        await store.check_condition(conference_id, condition.id, people["Sanne"], "maybe", "")
    await store.check_condition(
        conference_id, condition.id, people["Sanne"], "not_met", "Nog niet."
    )
    [(row, setter)] = await store.conditions(conference_id)
    assert (row.status, row.remark, setter.name) == ("not_met", "Nog niet.", "Sanne")


async def test_an_answer_replaces_the_previous_one(store: Store) -> None:
    conference_id, people = await _conference(store, "presentation")
    await store.set_answer(conference_id, people["Ayşe"], "not_yet", "Eerst overleggen.")
    await store.set_answer(conference_id, people["Ayşe"], "agree", "")
    answers = await store.answers(conference_id)
    assert list(answers) == [people["Ayşe"]]
    assert (answers[people["Ayşe"]].answer, answers[people["Ayşe"]].remark) == ("agree", "")


async def test_a_noted_answer_never_replaces_ones_own_and_ones_own_replaces_it(
    store: Store,
) -> None:
    conference_id, people = await _conference(store, "presentation")
    sam, ayse = people["Sam"], people["Ayşe"]
    await store.record_answer(conference_id, ayse, "not_yet", "", "coordinator:1")
    await store.record_answer(conference_id, ayse, "agree", "Zei ze net", "coordinator:1")
    noted = (await store.answers(conference_id))[ayse]
    assert (noted.answer, noted.remark, noted.by_coordinator) == ("agree", "Zei ze net", True)
    await store.set_answer(conference_id, ayse, "not_yet", "")
    await store.set_answer(conference_id, sam, "agree", "")
    for person in (ayse, sam):
        with pytest.raises(StoreError) as refused:
            await store.record_answer(conference_id, person, "agree", "", "coordinator:1")
        assert refused.value.reason.name == "OWN_ANSWER"
    answers = await store.answers(conference_id)
    assert {p: (a.answer, a.recorded_by) for p, a in answers.items()} == {
        ayse: ("not_yet", None),
        sam: ("agree", None),
    }
    # The same moment: the person's own answer stands, whichever comes first.
    iris = people["Iris"]
    results = await asyncio.gather(
        store.record_answer(conference_id, iris, "not_yet", "", "coordinator:1"),
        store.set_answer(conference_id, iris, "agree", ""),
        return_exceptions=True,
    )
    assert not isinstance(results[1], BaseException)
    assert (await store.answers(conference_id))[iris].answer == "agree"


async def test_the_action_team_is_exactly_who_was_chosen(store: Store) -> None:
    conference_id, people = await _conference(store, "presentation")
    other_id, other_people = await _conference(store, "presentation")
    team = await store.set_action_team(
        conference_id, {people["Sam"], people["Ayşe"], other_people["Sam"]}
    )
    assert team == {people["Sam"], people["Ayşe"]}  # never someone of another conference
    assert await store.action_team(other_id) == frozenset()
    assert await store.set_action_team(conference_id, {people["Sam"]}) == {people["Sam"]}
    assert await store.action_team(conference_id) == {people["Sam"]}


async def test_a_version_is_frozen_once_even_by_two_at_the_same_moment(store: Store) -> None:
    conference_id, _ = await _conference(store, "presentation")
    assert await store.plan_version(conference_id) is None
    results = await asyncio.gather(
        store.add_plan_version(conference_id, 1, b"\x00\x00", {"by": 1}, "coordinator:1"),
        store.add_plan_version(conference_id, 1, b"\x00\x00", {"by": 2}, "coordinator:2"),
        return_exceptions=True,
    )
    frozen = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(frozen) == 1 and len(refused) == 1
    assert isinstance(refused[0], StoreError) and "al vastgesteld" in refusal(refused[0])
    stored = await store.plan_version(conference_id)
    assert stored is not None and stored.content == frozen[0].content
    await store.add_plan_version(conference_id, 2, b"\x00\x00", {"by": 3}, "coordinator:1")
    latest = await store.plan_version(conference_id)
    assert latest is not None and latest.number == 2
    first = await store.plan_version(conference_id, 1)
    assert first is not None and first.content == frozen[0].content
    assert await store.plan_version(conference_id, 99) is None


async def test_once_the_plan_is_frozen_there_is_no_way_back_and_the_team_is_fixed(
    store: Store,
) -> None:
    conference_id, people = await _conference(store, "presentation")
    await store.set_action_team(conference_id, {people["Sam"]})
    await store.add_plan_version(conference_id, 1, b"\x00\x00", {}, "coordinator:1")
    # A "back to private time" that raced the freeze finds the plan frozen.
    assert await store.change_phase(conference_id, "presentation", "private_time") is None
    with pytest.raises(StoreError) as refused:
        await store.set_action_team(conference_id, {people["Ayşe"]})
    assert "actieteam" in refusal(refused.value)
    assert await store.action_team(conference_id) == {people["Sam"]}
    moved = await store.change_phase(conference_id, "presentation", "action_team")
    assert moved is not None and moved.plan_frozen_at is not None


async def test_version_1_is_frozen_only_at_the_presentation(store: Store) -> None:
    conference_id, _ = await _conference(store, "private_time")
    with pytest.raises(StoreError) as refused:
        await store.add_plan_version(conference_id, 1, b"\x00\x00", {}, "coordinator:1")
    assert "presentatie" in refusal(refused.value)
    assert await store.plan_version(conference_id) is None


# -- the action team's follow-up meetings -------------------------------------------------------


async def test_one_follow_up_at_a_time_and_a_close_freezes_exactly_one_version(
    store: Store,
) -> None:
    conference_id, people = await _conference(store, "action_team")
    await store.add_plan_version(conference_id, 2, b"", {"agreements": []}, "test")
    starts = await asyncio.gather(
        store.start_follow_up(conference_id, date(2027, 1, 4), "a"),
        store.start_follow_up(conference_id, date(2027, 1, 4), "b"),
        return_exceptions=True,
    )
    started = [s for s in starts if not isinstance(s, BaseException)]
    assert len(started) == 1 and started[0].number == 1
    assert all(isinstance(s, StoreError) for s in starts if isinstance(s, BaseException))
    meeting = started[0]

    with pytest.raises(StoreError) as refused:
        await store.close_follow_up(meeting.id, conference_id, b"", {}, "a")
    assert "wie er bij de bijeenkomst waren" in refusal(refused.value)
    await store.set_attendance(meeting.id, frozenset({people["Sam"], people["Ayşe"]}))
    closes = await asyncio.gather(
        store.close_follow_up(meeting.id, conference_id, b"", {"n": 1}, "a"),
        store.close_follow_up(meeting.id, conference_id, b"", {"n": 2}, "b"),
        return_exceptions=True,
    )
    versions = [c for c in closes if not isinstance(c, BaseException)]
    assert len(versions) == 1 and versions[0].number == 3
    assert [v.number for v in await store.plan_versions(conference_id)] == [2, 3]
    closed = await store.follow_up(conference_id, 1)
    assert closed is not None and closed.closed_at is not None and closed.version_number == 3
    with pytest.raises(StoreError) as refused_again:
        await store.set_attendance(meeting.id, frozenset())
    assert "al afgesloten" in refusal(refused_again.value)
    assert await store.attendance(meeting.id) == frozenset({people["Sam"], people["Ayşe"]})
    # The next one may start now, and gets the next number.
    assert (await store.start_follow_up(conference_id, date(2027, 2, 15), "a")).number == 2


async def test_closing_resets_a_date_the_coordinator_had_set(store: Store) -> None:
    conference_id, people = await _conference(store, "action_team")
    await store.set_next_follow_up(conference_id, date(2027, 3, 1))
    stored = await store.conference(conference_id)
    assert stored is not None and stored.next_follow_up_on == date(2027, 3, 1)
    meeting = await store.start_follow_up(conference_id, date(2027, 3, 1), "a")
    await store.set_attendance(meeting.id, frozenset({people["Sam"]}))
    await store.close_follow_up(meeting.id, conference_id, b"", {}, "a")
    stored = await store.conference(conference_id)
    assert stored is not None and stored.next_follow_up_on is None


async def test_version_1_is_not_frozen_while_a_condition_is_judged_not_met(store: Store) -> None:
    """The flow refuses first with a message naming it; this is the check under the lock, for
    a judgement that lands while the coordinator presses "finalise"."""
    conference_id, people = await _conference(store, "presentation")
    condition = await store.add_condition(conference_id, people["Sanne"], "Sam slaapt thuis.")
    await store.check_condition(conference_id, condition.id, people["Sanne"], "not_met", "")
    with pytest.raises(StoreError) as refused:
        await store.add_plan_version(conference_id, 1, b"\x00\x00", {}, "coordinator:1")
    assert "niet voldaan" in refusal(refused.value)
    conference = await store.conference(conference_id)
    assert conference is not None and conference.plan_frozen_at is None
    assert await store.plan_version(conference_id) is None
    await store.check_condition(conference_id, condition.id, people["Sanne"], "met", "")
    frozen = await store.add_plan_version(conference_id, 1, b"\x00\x00", {}, "coordinator:1")
    assert frozen.number == 1
