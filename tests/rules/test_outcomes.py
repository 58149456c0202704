"""The outcomes of plans, worked out from plain values (server/rules/outcomes.py): calendar
months, what counts as done within three months, what is a request to a professional, and a
mark shown only once enough people gave one. Pure: no server, no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from server.clock import time_zone
from server.rules import outcomes
from tests.support.plans import agreement

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 3, date(2026, 4, 30)),  # April has 30 days
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # over the year's end, into February
        (date(2027, 11, 30), 3, date(2028, 2, 29)),  # a leap year
        (date(2026, 3, 15), 3, date(2026, 6, 15)),
    ],
)
def test_three_months_are_calendar_months(day: date, months: int, expected: date) -> None:
    assert outcomes.add_months(day, months) == expected


def _facts(versions: list[tuple[int, int, list[dict[str, Any]]]], marks: Sequence[Any] = ()) -> Any:
    """A conference with versions given as (number, days ago, agreements)."""
    return outcomes.ConferenceFacts(
        "c",
        "Cliënt",
        "action_team",
        5,
        [
            outcomes.VersionFacts(
                n, NOW - timedelta(days=ago), outcomes.summarise({"agreements": a})
            )
            for n, ago, a in versions
        ],
        outcomes.ratings_of(list(marks)),
    )


def test_done_within_three_months_counts_the_last_version_before_the_deadline() -> None:
    first = [agreement("a", "housing"), agreement("b", "health"), agreement("c", "housing")]
    at_two_months = [
        agreement("a", "housing", "done"),
        agreement("b", "health", "on_track"),
        agreement("c", "housing", "done"),
    ]
    after_deadline = [agreement(k, "housing", "done") for k in "abc"]
    facts = _facts([(1, 120, first), (2, 60, at_two_months), (3, 10, after_deadline)])
    outcome = outcomes.conference_outcome(facts, NOW.date(), time_zone())
    assert (outcome.agreements, outcome.life_areas, outcome.done_in_three_months) == (3, 2, 2)
    # Too young to count: not "0 done" but "not yet".
    young = _facts([(1, 30, first), (2, 10, after_deadline)])
    assert outcomes.conference_outcome(young, NOW.date(), time_zone()).done_in_three_months is None


def test_an_agreement_asking_a_professional_is_a_request_whichever_way_it_asks() -> None:
    facts = _facts(
        [
            (
                1,
                5,
                [
                    agreement("a", "finances", request_to="12"),
                    agreement("b", "finances", request="Help met de formulieren"),
                    agreement("c", "finances", request="  "),
                ],
            )
        ]
    )
    outcome = outcomes.conference_outcome(facts, NOW.date(), time_zone())
    assert (outcome.requests, outcome.network_agreements) == (2, 1)


def test_a_mark_is_shown_only_once_enough_people_gave_one() -> None:
    two = [outcomes.Marks(0, 9, 8), outcomes.Marks(0, 3, 4)]
    outcome = outcomes.conference_outcome(_facts([(1, 5, [])], two), NOW.date(), time_zone())
    assert outcome.ratings.conference.value is None  # two marks would give each one away
    three = [*two, outcomes.Marks(0, 6, 6)]
    outcome = outcomes.conference_outcome(_facts([(1, 5, [])], three), NOW.date(), time_zone())
    assert outcome.ratings.conference.value == 6.0 and outcome.ratings.plan_presented.value == 6.0
    assert outcome.ratings.follow_ups.value is None
