"""The conference meeting: phase changes, the family's signals, conditions, answers, the
action team, freezing the plan and the participants' marks. Pages and the JSON API both call
these; the rules come from ``rules/phases.py`` and nothing here decides access on its own.

A phase change is committed first, then applied to every open connection at once
(``hub.phase_changed``), then written to the audit log and announced on the console.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from server import metrics
from server.conference import compassfeed, sessions
from server.conference.auth import Person
from server.conference.conditions import ConditionsOfTheMeeting
from server.conference.events import CHANGED, Event, Events
from server.conference.followups import follow_up
from server.conference.plancopy import checked_plan
from server.conference.refusals import FlowError, checked_text, refusal
from server.i18n import N_, Labels, _, ngettext
from server.rooms.hub import RoomHub
from server.rules import phases
from server.rules.refusal import Refusal
from server.storage.models import (
    ANSWERS,
    RATING_SCORES,
    Conference,
    Participant,
    PlanVersion,
    Rating,
    Signal,
    utcnow,
)
from server.storage.store import Reason, Store, StoreError

log = logging.getLogger("kring.meeting")

# An answer as a sentence says it ("Sam heeft zelf geantwoord (eens)").
ANSWER_WORDS = Labels({"agree": N_("eens"), "not_yet": N_("nog niet")})

SIGNAL_REPEAT_SECONDS = 30  # the same signal from the same person again within this: one signal


@dataclass(frozen=True)
class Meeting(ConditionsOfTheMeeting):
    """The meeting's decisions, each checked against the permission table, committed, audited
    and announced (the mandated professionals' conditions in ``conditions.py``)."""

    store: Store
    hub: RoomHub
    events: Events

    # -- phases -------------------------------------------------------------------------

    async def plan_ready_since(self, conference: Conference) -> Signal | None:
        """The family's "plan ready" that stands now: the first given since the current phase
        began or since the family last took it back, if any."""
        ready = None
        for row, _name in await self.store.signals(conference.id, conference.phase_since):
            if row.kind == "plan_ready" and ready is None:
                ready = row
            elif row.kind == "plan_withdrawn":
                ready = None
        return ready

    async def change_phase(
        self, person: Person, target: str, override_reason: str = ""
    ) -> Conference:
        conference = person.conference
        if target not in phases.PHASES:
            message = _("Een fase %(phase)r bestaat niet.", phase=target)
            raise FlowError(Refusal.INVALID, message, "unknown_phase")
        if not phases.may_move_phase(person.role):
            message = _("Alleen de coördinator zet de conferentie in een andere fase.")
            raise FlowError(Refusal.FORBIDDEN, message)
        override_reason = checked_text(override_reason.strip(), N_("De reden"))
        plan_ready = conference.phase == "private_time" and (
            await self.plan_ready_since(conference) is not None
        )
        problem = phases.transition_problem(
            conference.phase,
            target,
            plan_ready=plan_ready,
            override_reason=override_reason,
            plan_frozen=conference.plan_frozen_at is not None,
        )
        if problem is not None:
            raise FlowError(Refusal.CONFLICT, problem, "illegal_transition")
        # Read before the change: nothing may be awaited between committing the phase and
        # applying it to the open connections. (The team is fixed once the plan is frozen,
        # which the action-team phase requires.)
        team = await self.store.action_team(conference.id)
        supporters = await self.store.supporters(conference.id)
        overridden = conference.phase == "private_time" and not plan_ready
        back_reason = None
        if conference.phase == "presentation" and target == "private_time":
            back_reason = await self._back_reason(conference, override_reason)
        changed = await self.store.change_phase(
            conference.id,
            conference.phase,
            target,
            override_reason=override_reason if overridden else None,
            back_reason=back_reason,
        )
        if changed is None:
            raise FlowError(
                Refusal.CONFLICT,
                _("De fase is net door iemand anders veranderd. Kijk opnieuw."),
                "phase_moved",
            )
        metrics.PHASE_CHANGES.labels(target).inc()
        # At once: nobody keeps what the new phase does not give them. The change is
        # committed: whatever applying it does, it is audited and announced, and the request
        # succeeds (the hub closes any connection it could not update).
        since = changed.phase_since.timestamp()
        try:
            self.hub.phase_changed(conference.id, target, team, since, supporters)
        except Exception:
            log.exception("%s: applying the change to %s failed", conference.id, target)
        # A supporter marked or unmarked between reading them and this commit told the rooms
        # the phase before this one: tell them the supporters again, with this phase.
        latest = await self.store.supporters(conference.id)
        if latest != supporters:
            try:
                self.hub.phase_changed(conference.id, target, team, since, latest)
            except Exception:
                log.exception("%s: applying the supporters to %s failed", conference.id, target)
        detail: dict[str, Any] = {"from": conference.phase, "to": target}
        if overridden:
            detail["override_reason"] = override_reason
        if back_reason:
            detail["back_reason"] = back_reason
        kind = "private_time_overridden" if overridden else "phase_changed"
        await self.store.audit(conference.id, person.actor, kind, detail)
        if conference.phase == "preparation":  # before the pages reload on the phase event
            await compassfeed.copy_marked_questions(
                self.store, self.hub, conference.id, person.actor
            )
        # Devices the family did not let in are signed out when private time ends (they sign
        # in again as usual): their rows go first, so the reload the phase event causes finds
        # them signed out, then their streams and sockets are closed.
        unadmitted = []
        if conference.phase == "private_time":
            unadmitted = await self.store.end_unadmitted_sessions(conference.id)
        self.events.publish(conference.id, Event("phase", {"phase": target}))
        if unadmitted:
            self.hub.end_sessions(unadmitted, sessions.PRIVATE_TIME_OVER)
        if conference.phase == "private_time" or target == "private_time":
            self.events.publish(conference.id, Event("admission"))
        return changed

    async def _back_reason(self, conference: Conference, typed: str) -> str | None:
        """What the family reads when the presentation goes back to private time: each
        condition judged not met (what the plan must still change), then the coordinator's
        own words if any. None when there is neither."""
        lines = [
            _("Niet voldaan volgens %(name)s: %(text)s", name=p.name, text=c.text)
            + (f"\n{c.remark}" if c.remark else "")
            for c, p in await self.store.conditions(conference.id)
            if c.status == "not_met"
        ]
        if typed:
            lines.append(typed)
        return "\n\n".join(lines) if lines else None

    # -- the family's signals -------------------------------------------------------------

    async def signal(self, person: Person, kind: str) -> Signal:
        conference = person.conference
        if kind not in ("question", "plan_ready"):
            raise FlowError(
                Refusal.INVALID, _("Een signaal is 'question' of 'plan_ready'."), "bad_signal"
            )
        if not phases.may("signal", conference.phase, person.role):
            if person.role in phases.FAMILY:
                raise FlowError(
                    Refusal.CONFLICT, _("Signalen geef je tijdens de privétijd."), "wrong_phase"
                )
            raise FlowError(
                Refusal.FORBIDDEN, _("Alleen de familie en het netwerk geven een signaal.")
            )
        since = utcnow().timestamp() - SIGNAL_REPEAT_SECONDS
        pressed = None
        for row, _name in await self.store.signals(conference.id, conference.phase_since):
            if (
                row.kind == kind
                and row.participant_id == person.participant_id
                and row.at.timestamp() > since
            ):
                pressed = row
            elif row.kind == "plan_withdrawn":
                pressed = None  # taken back since: saying it again counts
        if pressed is not None:
            return pressed  # pressed twice: the coordinator already has it
        row = await self.store.add_signal(conference.id, person.participant_id, kind)
        await self.store.audit(conference.id, person.actor, "signal", {"kind": kind})
        self.events.publish(
            conference.id,
            Event("signal", {"kind": kind, "at": row.at.isoformat()}),
        )
        return row

    async def withdraw_plan_ready(self, person: Person) -> Signal:
        """The family takes its "plan ready" back (it is not ready after all), as long as the
        coordinator has not acted on it: the console's button for the presentation goes, and
        leaving private time needs the override's reason again."""
        conference = person.conference
        if not phases.may("signal", conference.phase, person.role):
            if person.role in phases.FAMILY:
                raise FlowError(
                    Refusal.CONFLICT,
                    _(
                        "De coördinator is al verdergegaan naar %(phase)s. 'Ons plan is klaar' "
                        "kan niet meer worden teruggenomen; zeg het de coördinator als jullie "
                        "meer tijd nodig hebben.",
                        phase=phases.PHASE_LABELS.get(conference.phase, conference.phase),
                    ),
                    "too_late",
                )
            raise FlowError(
                Refusal.FORBIDDEN, _("Alleen de familie en het netwerk geven een signaal.")
            )
        if await self.plan_ready_since(conference) is None:
            raise FlowError(
                Refusal.CONFLICT,
                _("Jullie hebben niet gezegd dat het plan klaar is; er is niets terug te nemen."),
                "not_ready",
            )
        row = await self.store.withdraw_plan_ready(
            conference.id, person.participant_id, conference.phase_since
        )
        if row is None:
            # The coordinator moved on at the same moment: the "plan ready" was acted on, and
            # nothing was stored or audited.
            raise FlowError(
                Refusal.CONFLICT,
                _("De coördinator ging net verder; 'Ons plan is klaar' is niet teruggenomen."),
                "too_late",
            )
        await self.store.audit(conference.id, person.actor, "signal", {"kind": "plan_withdrawn"})
        self.events.publish(conference.id, CHANGED)
        return row

    # -- the presentation ------------------------------------------------------------------

    @staticmethod
    def _require_open_plan(conference: Conference) -> None:
        """Answers are about the plan before it is frozen: version 1 holds them as they were."""
        if conference.plan_frozen_at is not None:
            raise FlowError(
                Refusal.CONFLICT,
                _(
                    "Het plan is al vastgesteld als versie 1; de antwoorden staan op de kopie "
                    "zoals ze toen waren."
                ),
                "plan_frozen",
            )

    async def answer(self, person: Person, answer: str, remark: str) -> None:
        self._require(
            person, "answer", N_("Of je het eens bent met het plan, zeg je bij de presentatie.")
        )
        self._require_open_plan(person.conference)
        assert person.participant_id is not None
        remark = checked_text(remark, N_("De toelichting"))
        await self.store.set_answer(person.conference.id, person.participant_id, answer, remark)
        await self.store.audit(person.conference.id, person.actor, "answered", {"answer": answer})
        self.events.publish(person.conference.id, CHANGED)

    async def record_answer(
        self, person: Person, participant_id: int, answer: str, remark: str = ""
    ) -> Participant:
        """The coordinator notes "agree" / "not yet" for someone in the room without a device
        of their own. Marked as noted by the coordinator on the copy; never over the person's
        own answer (refused, naming it), and the person's own answer later replaces it."""
        self._require(
            person,
            "record_answer",
            N_(
                "Een antwoord voor iemand zonder apparaat noteert de coördinator, bij de "
                "presentatie."
            ),
        )
        conference = person.conference
        self._require_open_plan(conference)
        if answer not in ANSWERS:
            raise FlowError(Refusal.INVALID, _("Kies 'eens' of 'nog niet'."), "bad_answer")
        remark = checked_text(remark, N_("De toelichting"))
        who = next(
            (
                row.participant
                for row in await self.store.participants(conference.id)
                if row.participant.id == participant_id
                and phases.may("answer", conference.phase, row.participant.role)
            ),
            None,
        )
        if who is None:
            raise FlowError(
                Refusal.MISSING, _("Deze deelnemer staat niet (meer) op de lijst."), "no_person"
            )
        try:
            await self.store.record_answer(
                conference.id, participant_id, answer, remark, person.actor
            )
        except StoreError as exc:
            if exc.reason is not Reason.OWN_ANSWER:
                raise
            own = (await self.store.answers(conference.id)).get(participant_id)
            raise FlowError(
                Refusal.CONFLICT,
                _(
                    "%(name)s heeft zelf geantwoord (%(answer)s). Dat antwoord verandert "
                    "alleen %(name)s, op de eigen pagina.",
                    name=who.name,
                    answer=ANSWER_WORDS[own.answer] if own else "",
                ),
                "own_answer",
            ) from None
        await self.store.audit(
            conference.id,
            person.actor,
            "answer_recorded",
            {"participant_id": participant_id, "answer": answer},
        )
        self.events.publish(conference.id, CHANGED)
        return who

    async def record_attendance(self, person: Person, participant_ids: set[int]) -> int:
        """The coordinator notes who is at the conference (exactly those ticked), until the
        plan is agreed (then refused: version 1 holds who was there); the copy counts the
        answers among them. Returns how many."""
        self._require(
            person,
            "record_attendance",
            N_(
                "Wie er bij de conferentie is, noteert de coördinator in de informatiefase of "
                "bij de presentatie."
            ),
        )
        conference = person.conference
        try:
            present = await self.store.set_conference_attendance(conference.id, participant_ids)
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "plan_frozen") from None
        await self.store.audit(
            conference.id, person.actor, "attendance_recorded", {"count": len(present)}
        )
        self.events.publish(conference.id, CHANGED)
        return len(present)

    async def ask_question(self, person: Person, text: str) -> None:
        self._require(
            person,
            "ask_questions",
            N_("Verhelderende vragen noteert de coördinator bij de presentatie."),
        )
        await self.store.add_question(person.conference.id, checked_text(text, N_("De vraag")))
        await self.store.audit(person.conference.id, person.actor, "question_recorded")
        self.events.publish(person.conference.id, CHANGED)

    async def choose_action_team(self, person: Person, participant_ids: set[int]) -> frozenset[int]:
        self._require(person, "choose_action_team", N_("Het actieteam kies je bij de presentatie."))
        conference = person.conference
        try:
            # Membership counts from the action-team phase on, which starts after this.
            team = await self.store.set_action_team(conference.id, participant_ids)
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "plan_frozen") from None
        await self.store.audit(
            conference.id, person.actor, "action_team_chosen", {"participant_ids": sorted(team)}
        )
        self.events.publish(conference.id, CHANGED)
        return team

    async def finalise(self, person: Person) -> PlanVersion:
        """Freeze the plan as agreed: version 1, with who agreed and the conditions' status."""
        self._require(
            person, "finalise", N_("Het plan stelt de coördinator vast bij de presentatie.")
        )
        conference = person.conference
        store = self.store
        if conference.plan_frozen_at is not None:
            raise FlowError(Refusal.CONFLICT, _("Het plan is al vastgesteld."), "already_frozen")
        conditions = await store.conditions(conference.id)
        refused = [(c, p) for c, p in conditions if c.status == "not_met"]
        if refused:
            # Each condition marked on its own: Babel skips a marked call inside another one.
            named = [
                _("“%(text)s” (%(name)s)", text=shortened(c.text), name=p.name) for c, p in refused
            ]
            raise FlowError(
                Refusal.CONFLICT,
                _(
                    "Het plan kan niet vastgesteld worden: niet voldaan aan %(conditions)s. "
                    "Ga terug naar de privétijd, zodat de familie het plan aanpast; daarna "
                    "beoordeelt de professional de voorwaarde opnieuw.",
                    conditions="; ".join(named),
                ),
                "condition_not_met",
            )
        unchecked = [c for c, _p in conditions if c.status is None]
        answers = await store.answers(conference.id)
        everyone = [row.participant for row in await store.participants(conference.id)]
        people = [p for p in everyone if p.role != "coordinator"]
        not_yet = [p.name for p in people if p.id in answers and answers[p.id].answer == "not_yet"]
        problems = []
        if unchecked:
            problems.append(
                ngettext(
                    "%(num)s voorwaarde is nog niet beoordeeld",
                    "%(num)s voorwaarden zijn nog niet beoordeeld",
                    len(unchecked),
                )
            )
        if not_yet:
            problems.append(_("nog niet eens: %(names)s", names=", ".join(not_yet)))
        if not any(a.answer == "agree" for a in answers.values()):
            problems.append(_("nog niemand heeft gezegd het eens te zijn"))
        if problems:
            raise FlowError(
                Refusal.CONFLICT,
                _(
                    "Het plan kan nog niet vastgesteld worden: %(problems)s.",
                    problems="; ".join(problems),
                ),
                "not_ready",
            )
        state, content = await checked_plan(self.hub, conference, everyone)
        attendance_noted = any(p.present_at_conference for p in people)
        content.update(
            {
                "conditions": [
                    {"text": c.text, "set_by": p.name, "status": c.status, "remark": c.remark}
                    for c, p in conditions
                ],
                "answers": [
                    {
                        "participant_id": p.id,
                        "name": p.name,
                        "role": p.role,
                        "answer": answers[p.id].answer if p.id in answers else None,
                        "remark": answers[p.id].remark if p.id in answers else "",
                        "recorded_by_coordinator": p.id in answers and answers[p.id].by_coordinator,
                        # who answered took part, whether ticked or not
                        "present": (p.present_at_conference or p.id in answers)
                        if attendance_noted
                        else None,
                    }
                    for p in people
                ],
                "clarifying_questions": [q.text for q in await store.questions(conference.id)],
            }
        )
        try:
            version = await store.add_plan_version(conference.id, 1, state, content, person.actor)
        except StoreError as exc:
            raise FlowError(Refusal.CONFLICT, refusal(exc), "already_frozen") from None
        await store.audit(conference.id, person.actor, "plan_frozen", {"version": version.number})
        self.events.publish(conference.id, Event("phase", {"phase": conference.phase}))
        return version

    # -- ratings ----------------------------------------------------------------------------

    async def rate(
        self,
        person: Person,
        occasion: int,
        meeting_score: str,
        plan_score: str,
        *,
        at_follow_up: bool = False,
    ) -> Rating:
        """A participant's marks (1-10) for the meeting and the plan: at the presentation
        (``occasion`` 0) or at follow-up meeting ``occasion``. Marking again replaces them.
        ``at_follow_up``: asked on a follow-up meeting's page, where there is no meeting 0."""
        conference = person.conference
        if not phases.may("rate", conference.phase, person.role):
            if person.role == "coordinator":
                raise FlowError(Refusal.FORBIDDEN, _("De coördinator geeft zelf geen cijfer."))
            raise FlowError(
                Refusal.CONFLICT,
                _(
                    "Een cijfer geef je bij de presentatie en bij de bijeenkomsten van het "
                    "actieteam."
                ),
                "wrong_phase",
            )
        if at_follow_up and occasion == 0:
            await follow_up(self.store, person, occasion)  # refused: meetings count from 1
        if (occasion == 0) != (conference.phase == "presentation"):
            raise FlowError(
                Refusal.CONFLICT,
                _("Het cijfer voor de conferentie geef je bij de presentatie.")
                if occasion == 0
                else _("Een bijeenkomst van het actieteam beoordeel je in de actieteamfase."),
                "wrong_phase",
            )
        if occasion:
            await follow_up(self.store, person, occasion)
        scores = [_score(meeting_score), _score(plan_score)]
        if None in scores:
            raise FlowError(
                Refusal.INVALID,
                _("Een cijfer is een heel getal van 1 tot en met 10."),
                "bad_rating",
            )
        assert person.participant_id is not None and scores[0] and scores[1]
        row = await self.store.set_rating(
            conference.id, person.participant_id, occasion, scores[0], scores[1]
        )
        await self.store.audit(conference.id, person.actor, "rated", {"occasion": occasion})
        self.events.publish(conference.id, CHANGED)  # how many gave marks, never which
        return row


def shortened(text: str, limit: int = 120) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis if longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _score(raw: str) -> int | None:
    """A mark as typed or tapped: a whole number 1-10, else None."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 2):
        return None
    value = int(raw)
    return value if value in RATING_SCORES else None
