"""The network map (an ecogram, Hartman's ecomap): its shape in the ``compass`` document,
reading it into plain values, checking it, and drawing it as a printable SVG (pure, no I/O).

The client and the supporters place the people around the client together, live, in the
``compass`` document under the key ``map``: a Y.Map of entry id to one Y.Map per person.

=========== ============ ========================================================================
key         Yjs value    meaning
=========== ============ ========================================================================
``id``      str          the entry's id, the same as its key in ``map`` (made by the device
                         that added it; helper "invite" links a participant to it)
``name``    str          who it is ("" allowed only for a gap); a child: a first name only
``kind``    str          an id of :data:`KINDS`: family, friend, neighbour, school, work,
                         professional
``ring``    int 1|2|3    the distance from the client: 1 closest (:data:`RINGS`)
``angle``   float        where on the ring, in degrees clockwise from the top (0-360)
``tie``     str          an id of :data:`TIES`: strong (solid line), tenuous (dashed),
                         stressful (jagged)
``flow``    str          an id of :data:`FLOWS`: which way support goes (arrows): none,
                         to_client, from_client, both
``gone``    bool         no longer around (died, moved away, out of touch)
``gap``     bool         not a person yet: someone we need ("?")
``child``   bool         a child: holds a first name and an age at most
``age``     int or       a child's age in years (:data:`AGE_RANGE`); absent for adults
            absent
=========== ============ ========================================================================

Numbers written by a browser arrive as floats (Yjs stores 2 as a number): ``ring`` and
``age`` read any whole number. Each entry is its own Y.Map, so two people editing two
entries (or two fields of one) at once never lose or duplicate one; removing an entry
deletes its key from ``map`` ("removed for good": the server then folds the document's
log, so the name is not kept in the stored updates, see rooms/room.py).

:func:`read_map` never fails: a value of the wrong type reads as its default, an entry
without a name that is not a gap is left out. :func:`check_map` says what does not fit.
:func:`map_svg` draws the map as a standalone SVG, the same picture the map page draws
(web/src/networkmap.js takes the sizes from :func:`schema`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map, Text

from server.i18n import N_, Labels, _
from server.rules.ecomap import GEOMETRY, draw

ROOT = "map"
ENTRY_KEYS = ("id", "name", "kind", "ring", "angle", "tie", "flow", "gone", "gap", "child", "age")

KINDS: Labels[str] = Labels(
    {
        "family": N_("Familie"),
        "friend": N_("Vriend of vriendin"),
        "neighbour": N_("Buren"),
        "school": N_("School"),
        "work": N_("Werk"),
        "professional": N_("Hulpverlener"),
    }
)
TIES: Labels[str] = Labels(
    {
        "strong": N_("Sterke band"),
        "tenuous": N_("Losse band"),
        "stressful": N_("Moeizame band"),
    }
)
FLOWS: Labels[str] = Labels(
    {
        "none": N_("Geen steun"),
        "to_client": N_("Geeft steun"),
        "from_client": N_("Krijgt steun"),
        "both": N_("Steun over en weer"),
    }
)
RINGS: Labels[int] = Labels(
    {1: N_("Heel dichtbij"), 2: N_("Dichtbij"), 3: N_("Verder weg")},
)
MARKS: Labels[str] = Labels(
    {
        "gone": N_("Niet meer in beeld"),
        "gap": N_("Iemand die we nodig hebben"),
        "child": N_("Kind"),
    }
)
FIELD_LABELS: Labels[str] = Labels(
    {
        "name": N_("naam"),
        "kind": N_("soort"),
        "ring": N_("afstand"),
        "angle": N_("plek"),
        "tie": N_("band"),
        "flow": N_("steun"),
        "gone": N_("niet meer in beeld"),
        "gap": N_("iemand die we nodig hebben"),
        "child": N_("kind"),
        "age": N_("leeftijd"),
    }
)

NAME_LIMIT = 80  # characters of a name
AGE_RANGE = (0, 17)  # a child's age in years
MAX_ENTRIES = 150  # people on one map; more is reported (the page stops adding)
DEFAULTS: dict[str, Any] = {
    "name": "",
    "kind": "family",
    "ring": 2,
    "angle": 0.0,
    "tie": "strong",
    "flow": "none",
    "gone": False,
    "gap": False,
    "child": False,
    "age": None,
}
MAX_READ_CHARS = 1000  # of a name, when read: a runaway paste never swamps a page


def schema() -> dict[str, Any]:
    """The choices, limits and sizes the browser's map editor needs, JSON-ready."""
    return {
        "keys": list(ENTRY_KEYS),
        "kinds": list(KINDS),
        "ties": list(TIES),
        "flows": list(FLOWS),
        "rings": list(RINGS),
        "name_limit": NAME_LIMIT,
        "age_range": list(AGE_RANGE),
        "max_entries": MAX_ENTRIES,
        "defaults": DEFAULTS,
        "geometry": GEOMETRY,
    }


@dataclass(frozen=True)
class MapEntry:
    """One person (or gap) on the map, as read: every field has a valid value."""

    id: str
    name: str
    kind: str = "family"
    ring: int = 2
    angle: float = 0.0
    tie: str = "strong"
    flow: str = "none"
    gone: bool = False
    gap: bool = False
    child: bool = False
    age: int | None = None

    @property
    def shown_name(self) -> str:
        """The name as the map and the list show it: a child with their age."""
        name = self.name or ("?" if self.gap else "")
        if self.child and self.age is not None:
            return _("%(name)s (%(age)s)", name=name, age=self.age)
        return name


# -- reading ------------------------------------------------------------------------------------


def _load(state: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    if state:
        doc.apply_update(state)
    return doc


def _root(state: bytes) -> Map[Any] | None:
    try:
        root: Map[Any] = _load(state).get(ROOT, type=Map)
    except Exception:  # not a Yjs update, or "map" made as another type
        return None
    return root


def _text(value: Any) -> str:
    if isinstance(value, Text):
        value = str(value)
    return " ".join(value[:MAX_READ_CHARS].split()) if isinstance(value, str) else ""


def _whole(value: Any) -> int | None:
    """A whole number (a browser's 2 arrives as 2.0), else None; never a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    return int(value)


def _angle(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value):
        return None
    return float(value) % 360.0


def _choice(value: Any, labels: Mapping[str, str], default: str) -> str:
    return value if isinstance(value, str) and value in labels else default


def _flag(value: Any) -> bool:
    return value is True


def _entry(key: str, item: Map[Any]) -> MapEntry:
    ring = _whole(item.get("ring"))
    age = _whole(item.get("age"))
    angle = _angle(item.get("angle"))
    child = _flag(item.get("child"))
    low, high = AGE_RANGE
    return MapEntry(
        id=key,
        name=_text(item.get("name")),
        kind=_choice(item.get("kind"), KINDS, DEFAULTS["kind"]),
        ring=ring if ring is not None and ring in RINGS else int(DEFAULTS["ring"]),
        angle=DEFAULTS["angle"] if angle is None else angle,
        tie=_choice(item.get("tie"), TIES, DEFAULTS["tie"]),
        flow=_choice(item.get("flow"), FLOWS, DEFAULTS["flow"]),
        gone=_flag(item.get("gone")),
        gap=_flag(item.get("gap")),
        child=child,
        age=age if child and age is not None and low <= age <= high else None,
    )


def read_map(state: bytes) -> list[MapEntry]:
    """The map in a compass state (``Doc.get_update()``): every entry with a name, and every
    gap, with invalid values read as their defaults; by ring, then around the ring. Never
    fails: a state that does not parse, or a map of another shape, reads as empty."""
    root = _root(state)
    if root is None:
        return []
    entries = []
    try:
        items = list(root.items())
    except Exception:
        return []
    for key, item in items:
        if not isinstance(item, Map):
            continue
        entry = _entry(str(key), item)
        if entry.name or entry.gap:
            entries.append(entry)
    entries.sort(key=lambda e: (e.ring, e.angle, e.name.casefold(), e.id))
    return entries


# -- checking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapProblem:
    """One thing on the map that does not fit: whose entry (its name as written, or its id),
    which field, and what is wrong (a Dutch message id with its values, read in the reader's
    language)."""

    entry: str
    field: str
    message: str
    values: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        where = _("Netwerkkaart") if not self.entry else self.entry
        problem = _(self.message, **dict(self.values))
        if not self.field:
            return f"{where}: {problem}"
        return f"{where}, {FIELD_LABELS.get(self.field, self.field)}: {problem}"


def check_map(state: bytes) -> list[MapProblem]:
    """Everything on the map that does not fit its shape, entry by entry (in key order)."""
    try:
        doc = _load(state)
    except Exception:
        return [MapProblem("", "", N_("het document kan niet gelezen worden"))]
    try:
        root = doc.get(ROOT, type=Map)
    except Exception:
        return [MapProblem("", "", N_("de kaart staat er in een vorm die Kring niet kent"))]
    problems: list[MapProblem] = []
    items = sorted(root.items(), key=lambda pair: str(pair[0]))
    if len(items) > MAX_ENTRIES:
        problems.append(
            MapProblem(
                "",
                "",
                N_("te veel mensen (%(count)s van %(limit)s)"),
                (("count", len(items)), ("limit", MAX_ENTRIES)),
            )
        )
    for key, item in items:
        if not isinstance(item, Map):
            problems.append(
                MapProblem(str(key), "", N_("dit is geen persoon in de vorm die Kring kent"))
            )
            continue
        name = _text(item.get("name"))
        problems.extend(
            MapProblem(name or str(key), field, message, values)
            for field, message, values in _entry_problems(item, name)
        )
    return problems


_Found = list[tuple[str, str, tuple[tuple[str, int], ...]]]


def _entry_problems(item: Map[Any], name: str) -> _Found:
    found: _Found = []

    def say(field: str, message: str, values: tuple[tuple[str, int], ...] = ()) -> None:
        found.append((field, message, values))

    raw = item.get("name")
    if raw is not None and not isinstance(raw, (str, Text)):
        say("name", N_("dit is geen tekst"))
    elif len(name) > NAME_LIMIT:
        say(
            "name",
            N_("te lang (%(count)s van %(limit)s tekens)"),
            (("count", len(name)), ("limit", NAME_LIMIT)),
        )
    if not name and item.get("gap") is not True:
        say("name", N_("zeg wie het is"))
    for field, labels, message in (
        ("kind", KINDS, N_("onbekende soort")),
        ("tie", TIES, N_("onbekende band")),
        ("flow", FLOWS, N_("onbekende richting van de steun")),
    ):
        value = item.get(field)
        if value is not None and not (isinstance(value, str) and value in labels):
            say(field, message)
    ring = item.get("ring")
    if ring is not None and _whole(ring) not in RINGS:
        say("ring", N_("kies een afstand van 1 tot en met 3"))
    angle = item.get("angle")
    if angle is not None and _angle(angle) is None:
        say("angle", N_("dit is geen plek op de kaart"))
    for flag in ("gone", "gap", "child"):
        if item.get(flag) not in (None, True, False):
            say(flag, N_("dit is geen ja of nee"))
    child = item.get("child") is True
    if child and len(name.split()) > 1:
        say("name", N_("van een kind staat alleen de voornaam op de kaart"))
    age = item.get("age")
    if age is not None:
        whole = _whole(age)
        low, high = AGE_RANGE
        if not child:
            say("age", N_("alleen bij een kind staat een leeftijd"))
        elif whole is None or not low <= whole <= high:
            say(
                "age",
                N_("een leeftijd van %(low)s tot en met %(high)s"),
                (("low", low), ("high", high)),
            )
    return found


# -- changing (what the map page does; for the demo, other clients and the tests) ------------------


def add_entry(doc: Doc[Any], entry_id: str, name: str, **fields: Any) -> Map[Any]:
    """Add one entry the way the map page does: its own Y.Map under its id, in one go."""
    values = {**DEFAULTS, **fields, "id": entry_id, "name": name}
    if values["age"] is None:
        del values["age"]
    item: Map[Any] = Map(values)
    doc.get(ROOT, type=Map)[entry_id] = item
    return item


def remove_entry(doc: Doc[Any], entry_id: str) -> bool:
    """Remove an entry for good (its key goes; nothing marks it as removed)."""
    root = doc.get(ROOT, type=Map)
    if entry_id not in root:
        return False
    del root[entry_id]
    return True


# The documents whose map entries are removed for good: the room folds the stored log when an
# entry goes, so no stored update keeps the name (rooms/room.py).
FORGETS_ON_REMOVAL = frozenset({"compass"})


def entry_ids(doc: Doc[Any]) -> frozenset[str]:
    """The ids on the map of a loaded document (empty when it holds no map)."""
    try:
        return frozenset(str(key) for key in doc.get(ROOT, type=Map))
    except Exception:
        return frozenset()


# -- drawing -------------------------------------------------------------------------------------


def legend_labels() -> dict[str, str]:
    """The words of the map and its legend in the current language (``map_svg(labels=...)``
    takes others)."""
    words = {f"kind.{k}": KINDS[k] for k in KINDS}
    words |= {f"tie.{k}": TIES[k] for k in TIES}
    words |= {f"flow.{k}": FLOWS[k] for k in FLOWS}
    words |= {f"ring.{k}": RINGS[k] for k in RINGS}
    words |= {f"mark.{k}": MARKS[k] for k in MARKS}
    words |= {
        "title": _("Netwerkkaart"),
        "legend": _("Legenda"),
        "empty": _("Nog niemand op de kaart."),
    }
    return words


def map_svg(
    entries: Iterable[MapEntry],
    client_name: str,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The map as a standalone SVG document (for print, the export and the PDF copy): see
    rules/ecomap.py for what it shows. Every name is escaped. ``labels``: the words, by
    default :func:`legend_labels` in the current language."""
    words = legend_labels() if labels is None else labels
    entries = list(entries)
    return draw(entries, client_name, words, _description(entries, words))


def describe(entry: MapEntry, labels: Mapping[str, str] | None = None) -> str:
    """One person as a sentence's worth of words: kind, closeness, tie, support, marks."""
    words = legend_labels() if labels is None else labels
    parts = [words.get(f"kind.{entry.kind}", entry.kind), words.get(f"ring.{entry.ring}", "")]
    if not entry.gap:
        parts.append(words.get(f"tie.{entry.tie}", entry.tie))
        parts.append(words.get(f"flow.{entry.flow}", entry.flow))
    if entry.child:
        parts.append(words.get("mark.child", ""))
    if entry.gone:
        parts.append(words.get("mark.gone", ""))
    if entry.gap:
        parts.append(words.get("mark.gap", ""))
    return ", ".join(p.lower() if i else p for i, p in enumerate(parts) if p)


def _description(entries: list[MapEntry], words: Mapping[str, str]) -> str:
    if not entries:
        return words.get("empty", "")
    return "; ".join(f"{e.shown_name}: {describe(e, words)}" for e in entries)
