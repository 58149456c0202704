"""What a family's plan copy holds: the values the printable copy (``formats/pdf.py``) renders
and the use cases fill from a frozen plan version. Plain values, already in the words and the
order the copy shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class AgreementLine:
    life_area: str  # Dutch label of the life area, e.g. "Wonen & dagelijks leven"
    what: str
    who: str
    when: str
    where: str
    backup: str  # "wat doen we als het niet lukt"
    request: str  # request to a professional, "" if none
    status: str  # Dutch label, e.g. "Open"


@dataclass(frozen=True)
class ConditionLine:
    text: str
    set_by: str  # name of the mandated professional
    status: str | None  # "met", "not_met" or None (not checked)
    remark: str


@dataclass(frozen=True)
class AnswerLine:
    name: str
    role: str  # Dutch label, e.g. "Netwerklid"
    answer: str | None  # "agree", "not_yet", or None (no answer)
    remark: str
    # Noted by the coordinator for someone without a device (False: said by the person).
    recorded_by_coordinator: bool = False
    # At the conference: True or False when the coordinator noted who was there (someone who
    # answered took part), None when attendance was not noted (versions from before).
    present: bool | None = None


@dataclass(frozen=True)
class AgreementCount:
    """How many agreed, of how many: of those present when attendance was noted, else of
    everyone on the copy."""

    agreed: int
    of: int
    among_present: bool
    absent: tuple[str, ...]  # names of those not at the conference (attendance noted)


def agreement_count(answers: tuple[AnswerLine, ...]) -> AgreementCount:
    among_present = any(a.present is not None for a in answers)
    counted = [a for a in answers if a.present is not False]
    return AgreementCount(
        agreed=sum(a.answer == "agree" for a in counted),
        of=len(counted),
        among_present=among_present,
        absent=tuple(a.name for a in answers if a.present is False),
    )


@dataclass(frozen=True)
class PlanCopy:
    client_name: str
    question: str  # the conference question
    meeting_date: date | None
    location: str
    version: int  # 1 = as agreed at the presentation
    frozen_at: datetime  # timezone-aware UTC
    agreements: tuple[AgreementLine, ...]  # already in life-area order
    conditions: tuple[ConditionLine, ...]
    answers: tuple[AnswerLine, ...]
    action_team: tuple[str, ...]  # names
    clarifying_questions: tuple[str, ...]
    notes: str = ""  # free text the family wrote in the plan, may be ""
