"""The shape of the ``plan`` document, reading it into plain data, and checking it (pure, no I/O).

The family writes the plan together in one Yjs document. This module is where its shape is
written down; the browser editor (web/src/plan-schema.js) mirrors it and gets the limits from
:func:`schema` through the page, so the two cannot disagree about them.

- ``agreements``: a Y.Array of Y.Map, one per agreement:

  ============== ============================ ===============================================
  key            Yjs type                     meaning
  ============== ============================ ===============================================
  ``id``         str                          stable id, made by the device that added it
  ``life_area``  str                          an id of :data:`LIFE_AREAS`
  ``what``       Y.Text                       what will happen (required)
  ``who``        Y.Text                       who does it, as free names
  ``who_ids``    Y.Map {participant id: True} who does it, as people of this conference
  ``when``       Y.Text                       free text, e.g. "every Wednesday"
  ``when_date``  str                          an optional date, ``YYYY-MM-DD`` or ""
  ``where``      Y.Text                       where
  ``backup``     Y.Text                       what happens if it does not work
  ``request``    Y.Text                       what is asked of a professional ("" if nothing)
  ``request_to`` str                          the id of that professional, or ""
  ``status``     str                          an id of :data:`AGREEMENT_STATUSES`
  ``progress``   Y.Array of Y.Map             progress notes: {``text``, ``by``, ``at``}
  ``removed``    bool                         deleted, and can be brought back
  ``replaces``   str                          the id of the agreement whose backup this one
                                              is ("use the backup" at a follow-up), or ""
  ============== ============================ ===============================================

  Text fields are Y.Text so two people can type in one field at once; a plain string (an
  older client) is read the same way. Sets of people are maps, so two devices ticking the
  same person never make a duplicate.
- ``notes``: a Y.Text for whatever else the family wants in its plan.

:func:`read_plan` never fails: values of the wrong type read as empty, so a client with a bug
never makes the plan unreadable. :func:`check_plan` says what does not fit the schema; the
plan is only frozen as a version when it reports nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pycrdt import Array, Doc, Map, Text

from server.i18n import N_, Labels, _
from server.rules.phases import PROFESSIONALS

LIFE_AREAS: Labels[str] = Labels(
    {
        "safety": N_("Veiligheid & bescherming tegen geweld"),
        "housing": N_("Wonen & dagelijks leven"),
        "finances": N_("Financiën & sociale zekerheid"),
        "children": N_("Kinderen & opvoeding"),
        "partner": N_("(Ex-)partner"),
        "relations": N_("Sociale relaties"),
        "activity": N_("Activiteit, werk & leren"),
        "leisure": N_("Vrije tijd & recreatie"),
        "health": N_("Gezondheid & zelfverzorging"),
        "meaning": N_("Zingeving"),
    }
)
OTHER_AREA = N_("Overig")

AGREEMENT_STATUSES: Labels[str] = Labels(
    {
        "open": N_("Open"),
        "on_track": N_("Loopt"),
        "done": N_("Gedaan"),
        "not_working": N_("Lukt niet"),
        "stopped": N_("Gestopt"),
    }
)

# Text fields of an agreement and the most characters each may hold (the editor shows the
# limit next to the field; a version is not frozen while a field is over it).
TEXT_LIMITS: dict[str, int] = {
    "what": 500,
    "who": 300,
    "when": 200,
    "where": 200,
    "backup": 1000,
    "request": 1000,
}
AGREEMENT_FIELDS = tuple(TEXT_LIMITS)
AGREEMENT_KEYS = (
    "id",
    "life_area",
    *AGREEMENT_FIELDS,
    "who_ids",
    "when_date",
    "request_to",
    "status",
    "progress",
    "removed",
    "replaces",
)
FIELD_LABELS: Labels[str] = Labels(
    {
        "what": N_("Wat"),
        "who": N_("Wie"),
        "when": N_("Wanneer"),
        "when_date": N_("Datum"),
        "where": N_("Waar"),
        "backup": N_("Als het niet lukt"),
        "request": N_("Vraag aan een professional"),
        "request_to": N_("Aan wie"),
        "status": N_("Status"),
        "life_area": N_("Leefgebied"),
        "progress": N_("Voortgang"),
        "notes": N_("Aantekeningen"),
        "replaces": N_("In plaats van"),
    }
)
NOTES_LIMIT = 10_000
PROGRESS_LIMIT = 1000  # one progress note
MAX_FIELD_CHARS = 20_000  # per field, when read: a runaway paste never swamps a copy
REQUEST_ROLES = PROFESSIONALS


def schema() -> dict[str, Any]:
    """The limits and choices the browser editor needs, as JSON-ready data."""
    return {
        "life_areas": list(LIFE_AREAS),
        "statuses": list(AGREEMENT_STATUSES),
        "text_limits": TEXT_LIMITS,
        "notes_limit": NOTES_LIMIT,
        "progress_limit": PROGRESS_LIMIT,
    }


@dataclass(frozen=True)
class Person:
    """Someone of the conference as the plan refers to them (``who_ids``, ``request_to``)."""

    name: str
    role: str


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS]
    if isinstance(value, Text):
        return str(value)[:MAX_FIELD_CHARS]
    return ""


def _root(doc: Doc[Any], name: str, kind: type[Any]) -> Any:
    """A root type of the document, or None if a client made it of another type."""
    try:
        return doc.get(name, type=kind)
    except Exception:
        return None


def _other_shape(state: bytes, name: str, kind: type[Any]) -> bool:
    """Whether root ``name`` holds content of another Yjs type than ``kind`` (Yjs does not
    record a root's type: content written as a map simply reads as an empty array)."""
    for other in (Array, Map, Text):
        if other is not kind:
            root = _root(_load(state), name, other)
            if root is not None and (str(root) if other is Text else len(root)):
                return True
    return False


def _load(state: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    if state:
        doc.apply_update(state)
    return doc


def _ids(value: Any) -> list[str]:
    """The ids of a who_ids map, in a stable order."""
    if not isinstance(value, Map):
        return []
    return sorted(str(key) for key, ticked in value.items() if ticked)


def _progress(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, Array):
        return []
    notes = []
    for item in value:
        if isinstance(item, Map):
            note = {key: _text(item.get(key)).strip() for key in ("text", "by", "at")}
            if note["text"]:
                notes.append(note)
    return notes


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _when_date(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` date (the only form the editor writes), else None."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_plan(state: bytes, people: Mapping[str, Person] | None = None) -> dict[str, Any]:
    """The plan in a Yjs state (``Doc.get_update()``) as JSON-ready data.

    ``{"agreements": [...], "notes": str}``, agreements in life-area order (unknown areas
    last), in the family's order within an area, removed ones left out. Each agreement has
    the raw fields (``id``, ``life_area``, the text fields, ``who_ids``, ``when_date``,
    ``request_to``, ``status``, ``progress``) and, for copies and pages, ``who``, ``when``
    and ``request`` written out with the names of ``people`` and the date.
    """
    people = people or {}
    doc = _load(state)
    agreements: list[dict[str, Any]] = []
    for item in _root(doc, "agreements", Array) or ():
        if not isinstance(item, Map) or item.get("removed") is True:
            continue
        row: dict[str, Any] = {name: _text(item.get(name)).strip() for name in AGREEMENT_FIELDS}
        if not any(row.values()):
            continue
        area = _text(item.get("life_area"))
        status = _text(item.get("status"))
        when_date = _when_date(item.get("when_date"))
        request_to = _text(item.get("request_to"))
        who_ids = _ids(item.get("who_ids"))
        named = [people[i].name for i in who_ids if i in people]
        row.update(
            id=_text(item.get("id")),
            life_area=area if area in LIFE_AREAS else "",
            status=status if status in AGREEMENT_STATUSES else "open",
            who_ids=who_ids,
            when_date=when_date.isoformat() if when_date else "",
            request_to=request_to,
            progress=_progress(item.get("progress")),
            replaces=_text(item.get("replaces")),
            who=", ".join([*named, row["who"]] if row["who"] else named),
            when=" ".join(
                part for part in (row["when"], when_date and when_date.strftime("%d-%m-%Y")) if part
            ),
        )
        if request_to in people and row["request"]:
            row["request"] = f"{row['request']} ({people[request_to].name})"
        agreements.append(row)
    order = {area: i for i, area in enumerate(LIFE_AREAS)}
    agreements.sort(key=lambda row: order.get(row["life_area"], len(order)))  # stable
    notes = _text(_root(doc, "notes", Text)).strip()
    return {"agreements": agreements, "notes": notes}


def read_information(state: bytes) -> str:
    """The ``information`` document (one Y.Text named ``text``) as plain text, "" when it is
    empty or cannot be read: what the plan editor shows beside the plan."""
    try:
        return _text(_root(_load(state), "text", Text)).strip()
    except Exception:
        return ""


# -- checking a plan against the schema -------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing in the plan that does not fit: which agreement (1-based, 0 for the plan as a
    whole), which field, and what is wrong (a Dutch message id with its values, shown in the
    reader's language)."""

    agreement: int
    field: str
    message: str
    values: tuple[tuple[str, int], ...] = ()
    what: str = ""  # the start of the agreement's "what", so people find it

    def __str__(self) -> str:
        where = _("Afspraak %(number)s", number=self.agreement) if self.agreement else _("Het plan")
        if self.what:
            where = f"{where} (“{self.what}”)"
        problem = _(self.message, **dict(self.values))
        if not self.field:
            return f"{where}: {problem}"
        return f"{where}, {FIELD_LABELS.get(self.field, self.field).lower()}: {problem}"


def _too_long(count: int, limit: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    return N_("te lang (%(count)s van %(limit)s tekens)"), (("count", count), ("limit", limit))


def check_plan(state: bytes, people: Mapping[str, Person]) -> list[Problem]:
    """Everything in the plan that does not fit the schema, in document order.

    Nothing is dropped silently: an agreement that an old or foreign client wrote in another
    shape is reported here (and the plan is not frozen), rather than left out of a version.
    """
    try:
        doc = _load(state)
    except Exception:
        return [Problem(0, "", N_("het document kan niet gelezen worden"))]
    problems: list[Problem] = []
    agreements = _root(doc, "agreements", Array)
    if agreements is None or (not agreements and _other_shape(state, "agreements", Array)):
        problems.append(Problem(0, "", N_("de afspraken staan er in een vorm die Kring niet kent")))
        agreements = ()
    notes = _root(doc, "notes", Text)
    if notes is None or (not str(notes) and _other_shape(state, "notes", Text)):
        problems.append(
            Problem(0, "", N_("de aantekeningen staan er in een vorm die Kring niet kent"))
        )
    elif len(str(notes)) > NOTES_LIMIT:
        message, values = _too_long(len(str(notes)), NOTES_LIMIT)
        problems.append(Problem(0, "notes", message, values))
    ids = {_text(item.get("id")) for item in agreements if isinstance(item, Map)} - {""}
    for number, item in enumerate(agreements, start=1):
        if not isinstance(item, Map):
            problems.append(
                Problem(number, "", N_("dit is geen afspraak in de vorm die Kring kent"))
            )
            continue
        if item.get("removed") is True:
            continue
        what = " ".join(_text(item.get("what")).split())
        what = what if len(what) <= 40 else what[:39] + "…"
        problems.extend(
            Problem(number, field, message, values, what)
            for field, message, values in _agreement_problems(item, people, ids)
        )
    return problems


_Found = list[tuple[str, str, tuple[tuple[str, int], ...]]]


def _agreement_problems(item: Map[Any], people: Mapping[str, Person], ids: set[str]) -> _Found:
    found: _Found = []

    def say(field: str, message: str, values: tuple[tuple[str, int], ...] = ()) -> None:
        found.append((field, message, values))

    for field, limit in TEXT_LIMITS.items():
        value = item.get(field)
        if value is not None and not isinstance(value, (Text, str)):
            say(field, N_("dit is geen tekst"))
        elif len(_text(value)) > limit:
            say(field, *_too_long(len(_text(value)), limit))
    if not _text(item.get("what")).strip():
        say("what", N_("zeg wat er gaat gebeuren"))
    area = item.get("life_area")
    if not isinstance(area, str) or area not in LIFE_AREAS:
        say("life_area", N_("kies een van de tien leefgebieden"))
    status = item.get("status")
    if status is not None and (not isinstance(status, str) or status not in AGREEMENT_STATUSES):
        say("status", N_("onbekende status"))
    when_date = item.get("when_date")
    if when_date not in (None, "") and _when_date(when_date) is None:
        say("when_date", N_("dit is geen datum (jjjj-mm-dd)"))
    # Someone ticked who has since left the conference is simply not named (read_plan); that
    # is no reason to hold up the family's plan.
    who_ids = item.get("who_ids")
    if who_ids is not None and not isinstance(who_ids, Map):
        say("who", N_("de gekozen mensen staan er in een vorm die Kring niet kent"))
    request_to = item.get("request_to")
    if request_to not in (None, ""):
        person = people.get(request_to) if isinstance(request_to, str) else None
        if person is None or person.role not in REQUEST_ROLES:
            say("request_to", N_("dit is geen professional van deze conferentie"))
    replaces = item.get("replaces")
    if replaces not in (None, ""):
        # The agreement it replaces stays in the plan (removed ones too): the link names one.
        if not isinstance(replaces, str) or replaces == _text(item.get("id")):
            say("replaces", N_("dit is geen verwijzing naar een andere afspraak"))
        elif replaces not in ids:
            say("replaces", N_("de afspraak die hiermee vervangen wordt, staat niet in het plan"))
    progress = item.get("progress")
    if progress is not None and not isinstance(progress, Array):
        say("progress", N_("de voortgang staat er in een vorm die Kring niet kent"))
    elif isinstance(progress, Array):
        for note in progress:
            if not isinstance(note, Map) or not isinstance(note.get("text"), str):
                say("progress", N_("een notitie staat er in een vorm die Kring niet kent"))
            elif len(note.get("text") or "") > PROGRESS_LIMIT:
                say("progress", *_too_long(len(note.get("text") or ""), PROGRESS_LIMIT))
    return found


def area_label(area: str) -> str:
    return LIFE_AREAS.get(area) or _(OTHER_AREA)


def add_agreement(doc: Doc[Any], life_area: str, **fields: str) -> Map[Any]:
    """Append an agreement the way the plan editor does (used by the demo and the tests)."""
    agreement: Map[Any] = Map(
        {
            "id": fields.pop("id", uuid.uuid4().hex[:12]),
            "life_area": life_area,
            "status": fields.pop("status", "open"),
            "when_date": fields.pop("when_date", ""),
            "request_to": fields.pop("request_to", ""),
            "replaces": fields.pop("replaces", ""),
            "who_ids": Map(),
            "progress": Array(),
            **{name: Text(fields.get(name, "")) for name in AGREEMENT_FIELDS},
        }
    )
    doc.get("agreements", type=Array).append(agreement)
    return agreement


def use_backup(doc: Doc[Any], agreement_id: str) -> Map[Any] | None:
    """What "use the backup" does in the plan editor (web/src/plan.js), for the tests and any
    other client: a new agreement right after the one with ``agreement_id``, in its life area,
    whose "what" is that one's backup and whose ``replaces`` is its id. The old agreement stays
    as it is. None (and nothing changed) when there is no such agreement or no backup."""
    agreements = doc.get("agreements", type=Array)
    for index, item in enumerate(agreements):
        if not isinstance(item, Map) or _text(item.get("id")) != agreement_id or not agreement_id:
            continue
        backup = _text(item.get("backup")).strip()
        if not backup:
            return None
        fresh: Map[Any] = Map(
            {
                "id": uuid.uuid4().hex[:12],
                "life_area": _text(item.get("life_area")),
                "status": "open",
                "when_date": "",
                "request_to": "",
                "replaces": agreement_id,
                "who_ids": Map(),
                "progress": Array(),
                "removed": False,
                **{name: Text(backup if name == "what" else "") for name in AGREEMENT_FIELDS},
            }
        )
        agreements.insert(index + 1, fresh)
        return fresh
    return None
