"""The shape of the ``plan`` document, and reading it into plain data (pure, no I/O).

The family writes the plan together in one Yjs document:

- ``agreements``: a Y.Array of Y.Map, one per agreement, with the keys ``life_area`` (an id
  of :data:`LIFE_AREAS`), ``what``, ``who``, ``when``, ``where``, ``backup`` (what happens if
  it does not work), ``request`` (a request to a professional, may be empty) and ``status``
  (an id of :data:`AGREEMENT_STATUSES`). Text fields are Y.Text so two people can type in one
  agreement at once; a plain string is read the same way.
- ``notes``: a Y.Text for whatever else the family wants in its plan.

Anything else in the document is ignored when the plan is read; values of the wrong type read
as empty, so a client with a bug never makes the plan unreadable.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Array, Doc, Map, Text

LIFE_AREAS: dict[str, str] = {
    "safety": "Veiligheid & bescherming tegen geweld",
    "housing": "Wonen & dagelijks leven",
    "finances": "Financiën & sociale zekerheid",
    "children": "Kinderen & opvoeding",
    "partner": "(Ex-)partner",
    "relations": "Sociale relaties",
    "activity": "Activiteit, werk & leren",
    "leisure": "Vrije tijd & recreatie",
    "health": "Gezondheid & zelfverzorging",
    "meaning": "Zingeving",
}
OTHER_AREA = "Overig"

AGREEMENT_STATUSES: dict[str, str] = {
    "open": "Open",
    "on_track": "Loopt",
    "done": "Gedaan",
    "not_working": "Lukt niet",
    "stopped": "Gestopt",
}

AGREEMENT_FIELDS = ("what", "who", "when", "where", "backup", "request")
MAX_FIELD_CHARS = 20_000  # per field, when read: a runaway paste never swamps a copy


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value[:MAX_FIELD_CHARS]
    if isinstance(value, Text):
        return str(value)[:MAX_FIELD_CHARS]
    return ""


def _root(doc: Doc[Any], name: str, kind: type[Any]) -> Any:
    """A root type of the document, or an empty one if a client made it of another type."""
    try:
        return doc.get(name, type=kind)
    except Exception:
        return kind()


def read_plan(state: bytes) -> dict[str, Any]:
    """The plan in a Yjs state (``Doc.get_update()``) as JSON-ready data:
    ``{"agreements": [{"life_area", "what", ..., "status"}], "notes": str}``, agreements in
    life-area order (unknown areas last), in the family's order within an area."""
    doc: Doc[Any] = Doc()
    if state:
        doc.apply_update(state)
    agreements: list[dict[str, str]] = []
    for item in _root(doc, "agreements", Array):
        if not isinstance(item, Map):
            continue
        row = {name: _text(item.get(name)).strip() for name in AGREEMENT_FIELDS}
        area = _text(item.get("life_area"))
        status = _text(item.get("status"))
        row["life_area"] = area if area in LIFE_AREAS else ""
        row["status"] = status if status in AGREEMENT_STATUSES else "open"
        if any(row[name] for name in AGREEMENT_FIELDS):
            agreements.append(row)
    order = {area: i for i, area in enumerate(LIFE_AREAS)}
    agreements.sort(key=lambda row: order.get(row["life_area"], len(order)))  # stable
    notes = _text(_root(doc, "notes", Text)).strip()
    return {"agreements": agreements, "notes": notes}


def area_label(area: str) -> str:
    return LIFE_AREAS.get(area, OTHER_AREA)


def add_agreement(doc: Doc[Any], life_area: str, **fields: str) -> Map[Any]:
    """Append an agreement the way the plan editor does (used by the demo and the tests)."""
    agreement: Map[Any] = Map(
        {
            "life_area": life_area,
            "status": fields.pop("status", "open"),
            **{name: Text(fields.get(name, "")) for name in AGREEMENT_FIELDS},
        }
    )
    doc.get("agreements", type=Array).append(agreement)
    return agreement
