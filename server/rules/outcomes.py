"""The outcomes of plans, per conference and across an organisation (pure, no I/O).

What the method is known for, counted from the plan versions the conferences froze and the
marks people gave, beside the research figures of the first 50 Dutch conferences (WESP,
2000-2001; :class:`Reference` holds them). The definitions, so that every figure can be
checked by hand:

- participants: the conference's people, the coordinator not counted;
- agreements and life areas: in version 1, the plan as agreed at the presentation;
- an agreement is a request to a professional when it names one or asks one something
  (``request_to`` or ``request``); every other agreement is carried by the family's own
  network;
- done within three months: an agreement of version 1 whose status is ``done`` in the last
  version frozen within three calendar months of version 1 (matched by the agreement's id).
  Only conferences whose version 1 is at least three months old count here;
- marks: at the presentation (the conference and the plan) and at follow-up meetings (the
  meeting and the plan), each 1-10. An average is shown only when at least
  :data:`MIN_RATINGS` people gave one, so nobody's own mark can be read off it.

Averages across conferences are over the conferences with an agreed plan (version 1);
shares are over all their agreements together.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from server.rules.schedule import local_date

MIN_RATINGS = 3
REQUEST_KEYS = ("request_to", "request")


@dataclass(frozen=True)
class Reference:
    """The research figures of the first 50 Dutch family group conferences (WESP, 2000-2001)."""

    participants: float = 15
    agreements: float = 18
    life_areas: float = 4
    plans_with_network: float = 0.80
    requests: float = 0.20
    done_in_three_months: float = 0.55
    conference_rating: float = 7.4
    plan_rating: float = 7.9


REFERENCE = Reference()


# What the outcomes read of one agreement of a frozen version: (id, life area, whether it is
# a request to a professional, status). Stored with each version (``plan_version.summary``),
# so the dashboard never decodes whole plans.
AgreementFact = tuple[str, str, bool, str]


def summarise(content: dict[str, Any]) -> list[AgreementFact]:
    """The agreements of a version's content as the outcomes count them."""
    return [
        (
            str(a.get("id") or ""),
            str(a.get("life_area") or ""),
            is_request(a),
            str(a.get("status") or "open"),
        )
        for a in content.get("agreements", [])
        if isinstance(a, dict)
    ]


@dataclass(frozen=True)
class VersionFacts:
    """What the outcomes need of one frozen plan version."""

    number: int
    frozen_at: datetime
    agreements: Sequence[Sequence[Any]]  # AgreementFact (a JSON list once stored)


@dataclass(frozen=True)
class Marks:
    """One person's marks for one occasion (0: the presentation, N: follow-up N)."""

    occasion: int
    meeting: int
    plan: int


@dataclass(frozen=True)
class ConferenceFacts:
    """One conference as the outcomes see it. ``versions`` needs only those of
    :func:`versions_needed` (any others are ignored)."""

    conference_id: str
    client_name: str
    phase: str
    participants: int
    versions: Sequence[VersionFacts]
    ratings: Ratings


@dataclass(frozen=True)
class Average:
    """A mean of marks, or None when fewer than MIN_RATINGS people gave one."""

    count: int
    total: int

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count >= MIN_RATINGS else None

    def __add__(self, other: Average) -> Average:
        return Average(self.count + other.count, self.total + other.total)


NO_MARKS = Average(0, 0)


@dataclass(frozen=True)
class Ratings:
    conference: Average = NO_MARKS  # the conference itself, at the presentation
    plan_presented: Average = NO_MARKS  # the plan, at the presentation
    follow_ups: Average = NO_MARKS  # the follow-up meetings
    plan_followed_up: Average = NO_MARKS  # the plan, at the follow-up meetings

    def __add__(self, other: Ratings) -> Ratings:
        return Ratings(
            self.conference + other.conference,
            self.plan_presented + other.plan_presented,
            self.follow_ups + other.follow_ups,
            self.plan_followed_up + other.plan_followed_up,
        )


@dataclass(frozen=True)
class ConferenceOutcome:
    conference_id: str
    client_name: str
    phase: str
    participants: int
    agreed: bool  # version 1 exists
    agreements: int
    life_areas: int
    network_agreements: int  # carried by the family's own network
    requests: int  # requests to professionals
    done_in_three_months: int | None  # None: version 1 is not three months old yet
    ratings: Ratings

    @property
    def network_share(self) -> float | None:
        return self.network_agreements / self.agreements if self.agreements else None

    @property
    def request_share(self) -> float | None:
        return self.requests / self.agreements if self.agreements else None

    @property
    def done_share(self) -> float | None:
        if self.done_in_three_months is None or not self.agreements:
            return None
        return self.done_in_three_months / self.agreements


@dataclass(frozen=True)
class Totals:
    conferences: int
    agreed: int  # with version 1
    matured: int  # with version 1 at least three months old
    participants: float | None  # average per agreed conference
    agreements: float | None
    life_areas: float | None
    plans_with_network: float | None  # share of agreed plans with a network agreement
    network_share: float | None  # of all agreements of agreed plans
    request_share: float | None
    done_share: float | None  # of all agreements of matured plans
    ratings: Ratings


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (the month's last day if it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def three_months_after(first_frozen_at: datetime, zone: tzinfo) -> date:
    """The last day a version may be frozen on to count for "done within three months"."""
    return add_months(local_date(first_frozen_at, zone), 3)


def versions_needed(frozen: Sequence[tuple[int, datetime]], zone: tzinfo) -> set[int]:
    """Of a conference's versions (number, frozen at), the ones whose content the outcomes
    read: version 1 and the last one frozen within three months of it."""
    first = next((at for number, at in frozen if number == 1), None)
    if first is None:
        return set()
    deadline = three_months_after(first, zone)
    within = [number for number, at in frozen if local_date(at, zone) <= deadline]
    return {1, max(within)}


def is_request(agreement: dict[str, Any]) -> bool:
    return any(str(agreement.get(key) or "").strip() for key in REQUEST_KEYS)


def ratings_of(marks: Sequence[Marks]) -> Ratings:
    """The averages of single marks (the store sums them in SQL instead)."""

    def average(values: list[int]) -> Average:
        return Average(len(values), sum(values))

    presented = [m for m in marks if m.occasion == 0]
    followed = [m for m in marks if m.occasion > 0]
    return Ratings(
        conference=average([m.meeting for m in presented]),
        plan_presented=average([m.plan for m in presented]),
        follow_ups=average([m.meeting for m in followed]),
        plan_followed_up=average([m.plan for m in followed]),
    )


def conference_outcome(facts: ConferenceFacts, today: date, zone: tzinfo) -> ConferenceOutcome:
    """The outcomes of one conference as of ``today`` (a day in the meetings' time zone,
    ``zone``)."""
    versions = sorted(facts.versions, key=lambda v: v.number)
    first = versions[0] if versions and versions[0].number == 1 else None
    agreements = [tuple(a) for a in first.agreements] if first else []
    requests = sum(1 for _id, _area, request, _status in agreements if request)
    done: int | None = None
    if first is not None:
        deadline = three_months_after(first.frozen_at, zone)
        if today >= deadline:
            within = [v for v in versions if local_date(v.frozen_at, zone) <= deadline]
            status = {a[0]: a[3] for a in within[-1].agreements if a[0]}
            done = sum(1 for key, *_rest in agreements if key and status.get(key) == "done")
    return ConferenceOutcome(
        conference_id=facts.conference_id,
        client_name=facts.client_name,
        phase=facts.phase,
        participants=facts.participants,
        agreed=first is not None,
        agreements=len(agreements),
        life_areas=len({area for _id, area, _request, _status in agreements if area}),
        network_agreements=len(agreements) - requests,
        requests=requests,
        done_in_three_months=done,
        ratings=facts.ratings,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def totals(outcomes: Sequence[ConferenceOutcome]) -> Totals:
    """The figures across conferences (see the module's docstring for what averages what)."""
    agreed = [o for o in outcomes if o.agreed]
    matured = [o for o in agreed if o.done_in_three_months is not None]
    agreements = sum(o.agreements for o in agreed)
    ratings = Ratings()
    for outcome in outcomes:
        ratings += outcome.ratings
    return Totals(
        conferences=len(outcomes),
        agreed=len(agreed),
        matured=len(matured),
        participants=_mean([o.participants for o in agreed]),
        agreements=_mean([o.agreements for o in agreed]),
        life_areas=_mean([o.life_areas for o in agreed]),
        plans_with_network=_share(sum(1 for o in agreed if o.network_agreements), len(agreed)),
        network_share=_share(sum(o.network_agreements for o in agreed), agreements),
        request_share=_share(sum(o.requests for o in agreed), agreements),
        done_share=_share(
            sum(o.done_in_three_months or 0 for o in matured),
            sum(o.agreements for o in matured),
        ),
        ratings=ratings,
    )
