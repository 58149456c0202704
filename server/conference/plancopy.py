"""The plan as a version holds it: the plan checked against its schema and read, ready to be
frozen as a version, and what a copy of a frozen version shows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from server.conference.refusals import FlowError
from server.i18n import _
from server.rooms.hub import RoomHub
from server.rules import plan
from server.rules.copy import AgreementLine, AnswerLine, ConditionLine, PlanCopy
from server.rules.phases import ROLE_LABELS
from server.rules.refusal import Refusal
from server.storage.models import Conference, Participant, PlanVersion


async def checked_plan(
    hub: RoomHub, conference: Conference, everyone: list[Participant]
) -> tuple[bytes, dict[str, Any]]:
    """The plan document as it is now and what its version will show, once it fits the
    schema (else FlowError, a conflict, naming every mismatch: nothing is frozen half)."""
    state = await hub.document_state(conference.id, "plan")
    named = plan_people(everyone)
    mismatches = plan.check_plan(state, named)
    if mismatches:
        raise FlowError(
            Refusal.CONFLICT,
            _(
                "Het plan kan nog niet vastgesteld worden, want niet alles past: %(problems)s.",
                problems="; ".join(str(problem) for problem in mismatches),
            ),
            "plan_invalid",
        )
    content = plan.read_plan(state, named)
    content.update(
        {
            "client_name": conference.client_name,
            "question": conference.question,
            "meeting_date": conference.meeting_date.isoformat()
            if conference.meeting_date
            else None,
            "location": conference.location,
            "action_team": [p.name for p in everyone if p.role != "coordinator" and p.action_team],
        }
    )
    return state, content


def plan_people(participants: Iterable[Participant]) -> dict[str, plan.Person]:
    """The conference's people as the plan document refers to them (by id, as a string)."""
    return {str(p.id): plan.Person(p.name, p.role) for p in participants}


def plan_copy(version: PlanVersion) -> PlanCopy:
    """What a copy of a frozen version shows (from the version alone: it never changes)."""
    content = version.content
    meeting_date = content.get("meeting_date")
    return PlanCopy(
        client_name=content.get("client_name", ""),
        question=content.get("question", ""),
        meeting_date=date.fromisoformat(meeting_date) if meeting_date else None,
        location=content.get("location", ""),
        version=version.number,
        frozen_at=version.created_at,
        agreements=tuple(
            AgreementLine(
                life_area=plan.area_label(row["life_area"]),
                what=row["what"],
                who=row["who"],
                when=row["when"],
                where=row["where"],
                backup=row["backup"],
                request=row["request"],
                status=plan.AGREEMENT_STATUSES.get(row["status"], row["status"]),
            )
            for row in content.get("agreements", [])
        ),
        conditions=tuple(
            ConditionLine(c["text"], c["set_by"], c["status"], c["remark"])
            for c in content.get("conditions", [])
        ),
        answers=tuple(
            AnswerLine(
                a["name"],
                ROLE_LABELS.get(a["role"], a["role"]),
                a["answer"],
                a["remark"],
                recorded_by_coordinator=bool(a.get("recorded_by_coordinator")),
                present=a.get("present"),
            )
            for a in content.get("answers", [])
        ),
        action_team=tuple(content.get("action_team", [])),
        clarifying_questions=tuple(content.get("clarifying_questions", [])),
        notes=content.get("notes", ""),
    )
