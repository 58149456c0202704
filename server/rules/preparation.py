"""The preparation checklist (pure): what is done and what is still open before the meeting,
from plain facts about the conference, its people and the compass, as the coordinator's
conference page shows it in preparation.

Each :class:`Item` says whether it is done, a line on how it stands, and ``place``: where it
is done (``edit`` the conference form, ``participants`` the list, ``person`` one person's
practical details, ``practical`` the conference's practical notes, ``compass`` the compass;
``anchor``: the field there), which the page turns into a link.

Also here: what the meeting takes from the compass (the questions marked for the conference,
and the life areas with the client's priorities first), from what ``rules/compass.py`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.i18n import _, ngettext
from server.rules.audit import listed
from server.rules.forms import bad_character
from server.rules.invitations import UNANSWERED
from server.rules.plan import LIFE_AREAS


@dataclass(frozen=True)
class PersonFacts:
    """Someone on the list (never the coordinator), as the checklist needs to know them."""

    id: int
    name: str
    role: str
    has_link: bool = False
    interpreter_language: str = ""
    interpreter_arranged: bool = False
    age: int | None = None  # a child: 0-17; None: an adult
    supported_by: int | None = None  # a child's supporter (participant id), if chosen
    supporter: bool = False  # chosen by the client to make the compass with them
    # Where the invitation stands (rules/invitations.py STATUSES); None: not known, and the
    # checklist counts who has a working link instead.
    invitation_status: str | None = None


@dataclass(frozen=True)
class PreparationFacts:
    meeting_date: bool  # the day is set
    times: bool  # the start and end time are set
    place: bool  # the place's name or its address is set
    question: str
    people: Sequence[PersonFacts]
    # How many questions the client marked in the compass for the conference (None: the
    # compass could not be read now).
    marked_questions: int | None
    food_notes: str = ""
    childcare_notes: str = ""


@dataclass(frozen=True)
class Item:
    key: str
    done: bool
    title: str
    status: str  # how it stands, one line
    place: str  # where it is done: edit, participants, person, practical, compass
    anchor: str = ""  # the field there: a form field's name (a person's: "age-12")
    names: tuple[str, ...] = field(default=())


def checklist(facts: PreparationFacts) -> list[Item]:
    """Every item of the preparation, in the order a coordinator works through them."""
    return [
        _when(facts),
        _where(facts),
        _question(facts),
        _supporters(facts),
        _compass_questions(facts),
        _invited(facts),
        _interpreters(facts),
        _children(facts),
        _food_and_childcare(facts),
    ]


def open_items(items: Iterable[Item]) -> list[Item]:
    return [item for item in items if not item.done]


def _when(facts: PreparationFacts) -> Item:
    done = facts.meeting_date and facts.times
    if done:
        status = _("De datum en de begin- en eindtijd staan vast.")
    elif facts.meeting_date:
        status = _("De datum staat vast; de begin- en eindtijd nog niet.")
    else:
        status = _("De datum is nog niet gepland.")
    anchor = "start_time" if facts.meeting_date else "meeting_date"
    return Item("when", done, _("Datum en tijd"), status, "edit", anchor)


def _where(facts: PreparationFacts) -> Item:
    status = _("De plaats staat vast.") if facts.place else _("Er is nog geen plaats gekozen.")
    return Item("where", facts.place, _("Plaats"), status, "edit", "location")


def _question(facts: PreparationFacts) -> Item:
    done = bool(facts.question.strip())
    status = _("De conferentievraag staat er.") if done else _("Er is nog geen conferentievraag.")
    return Item("question", done, _("Conferentievraag"), status, "edit", "question")


def _supporters(facts: PreparationFacts) -> Item:
    chosen = [p.name for p in facts.people if p.supporter]
    if chosen:
        status = ngettext(
            "De cliënt koos %(names)s als steunpersoon.",
            "De cliënt koos %(num)s steunpersonen: %(names)s.",
            len(chosen),
            names=listed(chosen),
        )
    else:
        status = _("De cliënt heeft nog geen steunpersoon gekozen om het kompas mee in te vullen.")
    return Item(
        "supporters", bool(chosen), _("Steunpersonen"), status, "participants", names=tuple(chosen)
    )


def _compass_questions(facts: PreparationFacts) -> Item:
    count = facts.marked_questions
    if count is None:
        status = _("Het kompas kan nu niet gelezen worden. Probeer het zo opnieuw.")
    elif count:
        status = ngettext(
            "De cliënt heeft %(num)s vraag voor de conferentie gekozen in het kompas.",
            "De cliënt heeft %(num)s vragen voor de conferentie gekozen in het kompas.",
            count,
        )
    else:
        status = _("In het kompas is nog geen vraag voor de conferentie gekozen.")
    return Item(
        "compass_questions", bool(count), _("Vragen voor de conferentie"), status, "compass"
    )


def _invited(facts: PreparationFacts) -> Item:
    invitees = list(facts.people)  # the client too: everyone on the list answers
    if not [p for p in invitees if p.role != "client"]:
        status = _("Er staat nog niemand behalve de cliënt op de lijst.")
        return Item("invited", False, _("Uitnodigingen"), status, "participants")
    if all(p.invitation_status is not None for p in invitees):
        # Where each invitation stands: done once everyone is invited and has answered.
        invited = [p for p in invitees if p.invitation_status != "to_invite"]
        waiting = tuple(p.name for p in invitees if p.invitation_status in UNANSWERED)
        status = _(
            "Uitgenodigd: %(invited)s van de %(total)s; geantwoord: %(answered)s.",
            invited=len(invited),
            total=len(invitees),
            answered=len(invitees) - len(waiting),
        )
        return Item("invited", not waiting, _("Uitnodigingen"), status, "participants", "", waiting)
    # Where the statuses are not known: who has been given a personal link.
    without = tuple(p.name for p in invitees if not p.has_link)
    status = _(
        "Met een persoonlijke link: %(count)s van de %(total)s.",
        count=len(invitees) - len(without),
        total=len(invitees),
    )
    return Item("invited", not without, _("Uitnodigingen"), status, "participants", "", without)


def _interpreters(facts: PreparationFacts) -> Item:
    needing = [p for p in facts.people if p.interpreter_language]
    missing = [p for p in needing if not p.interpreter_arranged]
    if not needing:
        status = _("Niemand heeft een tolk nodig (zo staat het genoteerd).")
    elif missing:
        status = ngettext(
            "Nog te regelen: een tolk voor %(names)s.",
            "Nog te regelen: %(num)s tolken, voor %(names)s.",
            len(missing),
            names=listed(f"{p.name} ({p.interpreter_language})" for p in missing),
        )
    else:
        status = ngettext(
            "De tolk is geregeld.", "Alle %(num)s tolken zijn geregeld.", len(needing)
        )
    return Item(
        "interpreters",
        not missing,
        _("Tolken"),
        status,
        "person" if missing else "participants",
        f"interpreter_language-{missing[0].id}" if missing else "",
        tuple(p.name for p in missing),
    )


def _children(facts: PreparationFacts) -> Item:
    adults = {p.id for p in facts.people if p.age is None}
    children = [p for p in facts.people if p.age is not None]
    alone = [p for p in children if p.supported_by not in adults]
    if not children:
        status = _("Er doen geen kinderen mee (zo staat het genoteerd).")
    elif alone:
        status = ngettext(
            "Nog niemand gekozen die %(names)s steunt bij de bijeenkomst.",
            "Nog niemand gekozen die deze kinderen steunt: %(names)s.",
            len(alone),
            names=listed(p.name for p in alone),
        )
    else:
        status = ngettext(
            "Het kind heeft iemand die het steunt.",
            "Alle %(num)s kinderen hebben iemand die ze steunt.",
            len(children),
        )
    return Item(
        "children",
        not alone,
        _("Kinderen en wie ze steunt"),
        status,
        "person" if alone else "participants",
        f"supported_by-{alone[0].id}" if alone else "",
        tuple(p.name for p in alone),
    )


def _food_and_childcare(facts: PreparationFacts) -> Item:
    food, care = bool(facts.food_notes.strip()), bool(facts.childcare_notes.strip())
    if food and care:
        status = _("Eten en de opvang van kinderen zijn genoteerd.")
    elif food:
        status = _("Eten is genoteerd; de opvang van kinderen nog niet.")
    elif care:
        status = _("De opvang van kinderen is genoteerd; eten nog niet.")
    else:
        status = _("Eten en de opvang van kinderen zijn nog niet genoteerd.")
    anchor = "childcare_notes" if food else "food_notes"
    return Item("food_childcare", food and care, _("Eten en opvang"), status, "practical", anchor)


# -- what the meeting takes from the compass ---------------------------------------------------


def marked_questions(compass: Mapping[str, Any]) -> list[dict[str, str]]:
    """The questions the client marked for the conference, in the compass's order, each as
    ``{"id", "text"}`` (a removed or empty question never counts). ``compass`` is what
    ``rules/compass.py``'s ``read_compass`` reads."""
    found = []
    for question in compass.get("questions") or []:
        if not isinstance(question, Mapping):
            continue
        text = question.get("text")
        if question.get("to_conference") is not True or question.get("removed"):
            continue
        # without control characters: no database stores a NUL, and one question that cannot
        # be stored must not keep the others from the meeting
        if isinstance(text, str):
            text = "".join(ch for ch in text if bad_character(ch, single_line=False) is None)
            if text.strip():
                found.append({"id": str(question.get("id") or ""), "text": text.strip()})
    return found


def priorities(compass: Mapping[str, Any]) -> list[str]:
    """The life areas the client chose as priorities, in the order of LIFE_AREAS."""
    chosen = compass.get("priorities") or ()
    if isinstance(chosen, Mapping):
        chosen = [area for area, on in chosen.items() if on is True]
    wanted = {area for area in chosen if isinstance(area, str)}
    return [area for area in LIFE_AREAS if area in wanted]


def area_order(compass: Mapping[str, Any]) -> list[str]:
    """Every life area, the client's priorities first (only the order: nothing else of the
    compass goes where this list goes)."""
    first = priorities(compass)
    return first + [area for area in LIFE_AREAS if area not in first]
