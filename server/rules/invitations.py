"""Invitations in preparation: where each person's invitation stands, who answers it until
when, what of a person on the network map becomes a participant, and what the family may
propose. Pure: values in, values or sentences out.

The status is the coordinator's list ("to invite", "invited", "coming", "not coming",
"maybe", with a note of their own); a person answers "coming" or "not coming" themselves on
their own page until the conference begins. Who may do which of these in which phase is in
the permission table (``phases.ACTIONS``: ``track_invitations``, ``answer_invitation``,
``propose_invitee``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from server.i18n import N_, Labels, _
from server.rules import phases
from server.rules.forms import FormResult, bad_character

STATUSES = ("to_invite", "invited", "coming", "not_coming", "maybe")
# What a person answers themselves, from their own page.
OWN_ANSWERS = ("coming", "not_coming")
# Not (yet) an answer: the count of "no answer" holds these.
UNANSWERED = frozenset({"to_invite", "invited"})

STATUS_LABELS = Labels(
    {
        "to_invite": N_("nog uitnodigen"),
        "invited": N_("uitgenodigd"),
        "coming": N_("komt"),
        "not_coming": N_("komt niet"),
        "maybe": N_("misschien"),
    }
)

# Limits of what people type (characters).
MAX_NAME = 200
MAX_RELATION = 100
MAX_WHY = 300
MAX_NOTE = 500
MAX_REASON = 500
# Open proposals one person may have waiting for the coordinator: a page (or a stuck button)
# cannot flood the coordinator's list.
MAX_OPEN_PROPOSALS = 20


@dataclass(frozen=True)
class Counts:
    """How many people on the list are coming, not coming, maybe, or have not answered."""

    coming: int = 0
    not_coming: int = 0
    maybe: int = 0
    no_answer: int = 0


def count(statuses: Iterable[str]) -> Counts:
    """The counts over the statuses of the people invited (coordinators are not counted:
    pass only the others' statuses)."""
    found = list(statuses)
    return Counts(
        coming=found.count("coming"),
        not_coming=found.count("not_coming"),
        maybe=found.count("maybe"),
        no_answer=sum(1 for status in found if status in UNANSWERED),
    )


class Invited(Protocol):
    """A participant as the counts read them."""

    @property
    def role(self) -> str: ...
    @property
    def invitation_status(self) -> str: ...


def count_people(people: Iterable[Invited]) -> Counts:
    """The counts over everyone on the list but the coordinators."""
    return count(p.invitation_status for p in people if p.role != "coordinator")


def may_answer(phase: str, role: str, starts_at: datetime | None, now: datetime) -> bool:
    """Whether a person with ``role`` may answer "coming" / "not coming" now: in the
    preparation, until the conference begins (its start time, when one is set)."""
    if not phases.may("answer_invitation", phase, role):
        return False
    return starts_at is None or now < starts_at


def answer_closed_reason(phase: str, starts_at: datetime | None, now: datetime) -> str:
    """Why an answer is no longer taken (the person's page says so)."""
    if phase == "preparation" and starts_at is not None and now >= starts_at:
        return _("De conferentie is al begonnen; je antwoord kan niet meer veranderen.")
    return _(
        "Je antwoord kan tot de conferentie begint; nu is het %(phase)s.",
        phase=phases.PHASE_LABELS.get(phase, phase),
    )


# -- from the network map ---------------------------------------------------------------------


class MapPerson(Protocol):
    """What of a network map entry an invitation reads (``networkmap.MapEntry`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def gone(self) -> bool: ...
    @property
    def gap(self) -> bool: ...
    @property
    def child(self) -> bool: ...
    @property
    def age(self) -> int | None: ...


@dataclass(frozen=True)
class Invitee:
    """The participant a map entry becomes: name, role, the coordinator's first note and, for
    a child, the age (the practical side's own field)."""

    name: str
    role: str
    note: str
    age: int | None = None


# The longest map entry id a participant keeps (the map page makes ids of 12 characters;
# another Yjs client may write any key, and one with a "/" cannot be in a URL's path).
MAX_ENTRY_ID = 64


def map_refusal(entry: MapPerson) -> str | None:
    """Why this person on the map cannot be invited (None: they can)."""
    if (
        len(entry.id) > MAX_ENTRY_ID
        or "/" in entry.id
        or not entry.id
        # another Yjs client may write control characters (PostgreSQL cannot store a NUL)
        or bad_character(entry.id + entry.name, single_line=True) is not None
    ):
        return _(
            "Deze persoon staat op de kaart op een manier die Kring niet kan overnemen; zet "
            "hem of haar met de hand op de lijst."
        )
    if entry.gap:
        return _(
            "Op de kaart staat hier iemand die jullie nog nodig hebben, nog niet iemand om uit "
            "te nodigen. Weet je wie het wordt, zet die persoon dan op de kaart of op de lijst."
        )
    if entry.gone:
        return _("%(name)s is niet meer in beeld en wordt niet uitgenodigd.", name=entry.name)
    if not (first_name(entry.name) if entry.child else entry.name.strip()):
        return _("Deze persoon op de kaart heeft nog geen naam.")
    return None


def first_name(name: str) -> str:
    words = name.split()
    return words[0] if words else ""


def invitee(entry: MapPerson) -> Invitee:
    """What the list takes over from the map: the name and a role (a professional as a
    professional, everyone else as a network member); of a child only the first name, with
    the age (a child in the network; a professional's entry marked as a child keeps it in the
    note, since only the family's children have an age). Call only where :func:`map_refusal`
    found nothing."""
    role = "professional" if entry.kind == "professional" else "network_member"
    if not entry.child:
        return Invitee(entry.name.strip()[:MAX_NAME], role, "")
    name = first_name(entry.name)[:MAX_NAME]
    if role == "network_member" and entry.age is not None:
        return Invitee(name, role, "", entry.age)
    note = _("Kind van %(age)s jaar.", age=entry.age) if entry.age is not None else _("Kind.")
    return Invitee(name, role, note)


# -- proposals by the family ------------------------------------------------------------------

PROPOSAL_FIELDS = ("name", "relation", "why")


def _typed(result: FormResult, name: str, label: str, *, required: bool, max_length: int) -> None:
    """``label`` is a Dutch message id in lower case, like "de naam"."""
    value = result.values.get(name, "").strip()
    if required and not value:
        result.errors[name] = _("Vul %(field)s in.", field=_(label))
    elif len(value) > max_length:
        result.errors[name] = _(
            "%(field)s mag hoogstens %(count)s tekens lang zijn.",
            field=_(label).capitalize(),
            count=max_length,
        )
    elif bad_character(value, single_line=True) is not None:
        result.errors[name] = _(
            "%(field)s bevat onzichtbare stuurtekens.", field=_(label).capitalize()
        )
    else:
        result.cleaned[name] = value


def proposal_form(form: Mapping[str, Any]) -> FormResult:
    """Someone the family proposes: a name (needed), how they know them and why (short, may
    be empty)."""
    result = FormResult({name: str(form.get(name) or "") for name in PROPOSAL_FIELDS})
    _typed(result, "name", N_("de naam"), required=True, max_length=MAX_NAME)
    _typed(
        result, "relation", N_("wie het is voor jullie"), required=False, max_length=MAX_RELATION
    )
    _typed(result, "why", N_("waarom"), required=False, max_length=MAX_WHY)
    return result


def decline_reason(raw: str) -> tuple[str, str | None]:
    """The coordinator's reason for "not now" (may be empty): the text and what is wrong
    with it (None: nothing)."""
    text = raw.strip()
    if len(text) > MAX_REASON:
        return text, _(
            "%(field)s mag hoogstens %(count)s tekens lang zijn.",
            field=_("de reden").capitalize(),
            count=MAX_REASON,
        )
    if bad_character(text, single_line=False) is not None:
        return text, _("%(field)s bevat onzichtbare stuurtekens.", field=_("de reden").capitalize())
    return text, None


def note_problem(note: str) -> str | None:
    """What is wrong with the coordinator's note on an invitation (None: nothing)."""
    if len(note) > MAX_NOTE:
        return _(
            "%(field)s mag hoogstens %(count)s tekens lang zijn.",
            field=_("de notitie").capitalize(),
            count=MAX_NOTE,
        )
    if bad_character(note, single_line=False) is not None:
        return _("%(field)s bevat onzichtbare stuurtekens.", field=_("de notitie").capitalize())
    return None


# The roles someone the family proposed may get (a coordinator has an account instead).
PROPOSAL_ROLES = ("network_member", "professional", "mandated_professional")
