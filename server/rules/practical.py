"""The practical side of a conference, as the coordinator notes it in preparation (pure):
per person the language an interpreter is needed for and whether one is arranged, whether the
person is a child (with an age, 0 to 17) and which adult of the conference supports the child
at the meeting; per conference notes on food, childcare and who brings whom.

Values in (the submitted form and the conference's people as plain facts), clean values or
an error per field out, each error naming its field, so the page can say what is wrong where.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.i18n import N_, Labels, _
from server.rules.forms import FormResult, bad_character
from server.rules.phases import FAMILY

MAX_LANGUAGE = 100
MAX_NOTES = 2000
CHILD_AGES = range(0, 18)  # a child is 0 to 17 years old; an adult has no age noted

PERSON_FIELDS = ("interpreter_language", "interpreter_arranged", "child", "age", "supported_by")
NOTES_FIELDS = ("food_notes", "childcare_notes", "transport_notes")

# What each field is called on the page and in its refusal (Dutch message ids).
PRACTICAL_LABELS = Labels(
    {
        "interpreter_language": N_("Tolk nodig in"),
        "interpreter_arranged": N_("Tolk geregeld"),
        "child": N_("Kind"),
        "age": N_("Leeftijd"),
        "supported_by": N_("Wie steunt het kind bij de bijeenkomst"),
        "food_notes": N_("Eten en drinken"),
        "childcare_notes": N_("Opvang van kinderen"),
        "transport_notes": N_("Vervoer: wie brengt wie"),
    }
)


@dataclass(frozen=True)
class Person:
    """Someone on the conference's list, as far as the practical side needs to know."""

    id: int
    name: str
    role: str
    age: int | None = None  # None: an adult
    supported_by: int | None = None  # for a child: the supporter's participant id

    @property
    def child(self) -> bool:
        return self.age is not None


def may_support(person: Person) -> bool:
    """Who may support a child at the meeting: an adult on the list (not the independent
    coordinator)."""
    return person.role != "coordinator" and not person.child


def _typed(result: FormResult, name: str, max_length: int) -> str | None:
    value = result.values.get(name, "").strip()
    label = _(PRACTICAL_LABELS[name])
    if len(value) > max_length:
        result.errors[name] = _(
            "'%(field)s' mag hoogstens %(count)s tekens lang zijn.", field=label, count=max_length
        )
        return None
    if bad_character(value, single_line=name not in NOTES_FIELDS) is not None:
        result.errors[name] = _("'%(field)s' bevat onzichtbare stuurtekens.", field=label)
        return None
    return value


def _ticked(form: Mapping[str, Any], name: str) -> bool:
    return str(form.get(name) or "") in ("yes", "on", "1", "true")


def person_form(form: Mapping[str, Any], me: Person, people: Sequence[Person]) -> FormResult:
    """The practical side of ``me``, one of ``people`` (everyone on the conference's list).
    ``cleaned``: ``interpreter_language`` (str, "" none), ``interpreter_arranged`` (bool),
    ``age`` (int 0-17 for a child, else None), ``supported_by_id`` (int or None)."""
    result = FormResult({name: str(form.get(name) or "") for name in PERSON_FIELDS})
    language = _typed(result, "interpreter_language", MAX_LANGUAGE)
    if language is not None:
        result.cleaned["interpreter_language"] = language
        # "arranged" means nothing without a language to arrange it for
        result.cleaned["interpreter_arranged"] = bool(language) and _ticked(
            form, "interpreter_arranged"
        )
    child = _ticked(form, "child")
    result.cleaned["age"] = result.cleaned["supported_by_id"] = None
    if not child:
        return result
    if me.role not in FAMILY:
        result.errors["child"] = _(
            "'%(field)s' kan alleen bij de cliënt of een netwerklid: een professional of "
            "coördinator is volwassen.",
            field=_(PRACTICAL_LABELS["child"]),
        )
        return result
    supported = [p.name for p in people if p.supported_by == me.id and p.child and p.id != me.id]
    if supported:
        result.errors["child"] = _(
            "%(name)s steunt %(children)s bij de bijeenkomst en kan dus geen kind zijn. Kies "
            "eerst iemand anders om %(children)s te steunen.",
            name=me.name,
            children=", ".join(supported),
        )
    _age(result)
    _supporter(result, me, people)
    return result


def _age(result: FormResult) -> None:
    raw = result.values["age"].strip()
    label = _(PRACTICAL_LABELS["age"])
    if not raw:
        result.errors["age"] = _(
            "Vul bij '%(field)s' in hoe oud het kind is (0 tot en met 17 jaar).", field=label
        )
        return
    age = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else None
    if age is None or age not in CHILD_AGES:
        result.errors["age"] = _(
            "'%(field)s' is een getal van 0 tot en met 17: een kind is jonger dan 18 jaar.",
            field=label,
        )
        return
    result.cleaned["age"] = age


def _supporter(result: FormResult, me: Person, people: Sequence[Person]) -> None:
    """The child's supporter: none yet (the checklist says so), or an adult on the list."""
    raw = result.values["supported_by"].strip()
    if not raw:
        return
    label = _(PRACTICAL_LABELS["supported_by"])
    chosen = next((p for p in people if str(p.id) == raw), None)
    if chosen is None:
        result.errors["supported_by"] = _(
            "'%(field)s': kies iemand die op de lijst van deze conferentie staat.", field=label
        )
    elif chosen.id == me.id:
        result.errors["supported_by"] = _(
            "'%(field)s': een kind kan zichzelf niet steunen; kies een volwassene van de lijst.",
            field=label,
        )
    elif chosen.role == "coordinator":
        result.errors["supported_by"] = _(
            "'%(field)s': de coördinator is onafhankelijk en steunt niemand; kies een "
            "volwassene uit het netwerk.",
            field=label,
        )
    elif chosen.child:
        result.errors["supported_by"] = _(
            "'%(field)s': %(name)s is zelf een kind; kies een volwassene.",
            field=label,
            name=chosen.name,
        )
    else:
        result.cleaned["supported_by_id"] = chosen.id


def notes_form(form: Mapping[str, Any]) -> FormResult:
    """The conference's notes on food, childcare and who brings whom (each may be empty)."""
    result = FormResult({name: str(form.get(name) or "") for name in NOTES_FIELDS})
    for name in NOTES_FIELDS:
        value = _typed(result, name, MAX_NOTES)
        if value is not None:
            result.cleaned[name] = value
    return result
