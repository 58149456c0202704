"""What changed between two frozen plan versions, per agreement (pure, no I/O).

A version's ``content`` (``PlanVersion.content``) holds ``agreements`` as
:func:`server.rules.plan.read_plan` returns them, ``notes`` and ``action_team`` (names).
:func:`compare_versions` lines the agreements of two versions up and says, for each, whether it
is new, gone, changed (and in which fields, old and new side by side) or the same::

    comparison = compare_versions(version_1.content, version_2.content)
    comparison.summary()     # "1 nieuwe afspraak, 0 verwijderd, 2 veranderd, 4 ongewijzigd"
    for area in comparison.areas: ...

``old`` is simply the first argument and ``new`` the second, whatever their numbers: comparing
version 3 with version 1 reports as "added" what is in 1 and not in 3.

Agreements are matched by ``id``. Versions written before agreements had ids are matched by
the exact "what" within the same life area; an agreement that matches neither way counts as
removed from the old version and added in the new one.

An agreement made from another's backup at a follow-up ("use the backup") names that one in
``replaces``; the comparison says so on both ("in place of ...", "replaced by ...").

Labels (status, life area) are read in the current language when the comparison is made, so
make it inside the request that shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from server.i18n import _, ngettext
from server.rules.plan import AGREEMENT_STATUSES, FIELD_LABELS, LIFE_AREAS, area_label

Kind = Literal["added", "removed", "changed", "unchanged"]
KINDS: tuple[Kind, ...] = ("added", "removed", "changed", "unchanged")

# The fields people read, in the order a change lists them. ``status`` and ``life_area`` are
# compared by id and shown by label; ``progress`` as the notes that came (or went).
TEXT_FIELDS = ("what", "who", "when", "where", "backup", "request")
COMPARED_FIELDS = (*TEXT_FIELDS, "status", "life_area", "progress")


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its key, the old and the new text ("" for empty).

    For ``progress``, ``added`` (and ``removed``) hold the notes, one line each
    ("text (by, at)"), and ``new`` (``old``) the same lines joined with newlines.
    """

    field: str
    old: str
    new: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The field's name in the current language ("Status", "Als het niet lukt")."""
        return FIELD_LABELS.get(self.field) or self.field


@dataclass(frozen=True)
class AgreementChange:
    """One agreement of either version and what became of it.

    ``life_area`` and ``what`` are the new version's (the old one's for a removed agreement).
    ``fields`` lists what differs; for an added agreement every filled-in field (old ""), for
    a removed one every field it had (new ""), for an unchanged one nothing.
    """

    kind: Kind
    id: str
    life_area: str
    what: str
    fields: tuple[FieldChange, ...] = ()
    replaces: str = ""  # the "what" of the agreement this one replaces ("use the backup")
    replaced_by: tuple[str, ...] = ()  # the "what" of those that replace it in the new version

    @property
    def area_label(self) -> str:
        return area_label(self.life_area)

    @property
    def moved(self) -> FieldChange | None:
        """The change of life area, if it moved to another one."""
        return next((f for f in self.fields if f.field == "life_area"), None)


@dataclass(frozen=True)
class AreaChanges:
    """The agreements of one life area: those that differ (new version's order, removed ones
    last) and, apart, those that stayed the same."""

    life_area: str
    changes: tuple[AgreementChange, ...]
    unchanged: tuple[AgreementChange, ...]

    @property
    def label(self) -> str:
        return area_label(self.life_area)


@dataclass(frozen=True)
class TeamChange:
    """Names that joined the action team and names that left it, in the versions' order."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class Comparison:
    """Two versions side by side; see :func:`compare_versions`."""

    agreements: tuple[AgreementChange, ...]  # life-area order, see the module's docstring
    notes: FieldChange | None  # the plan's free notes, None if they are the same
    action_team: TeamChange

    @property
    def counts(self) -> dict[Kind, int]:
        """How many agreements of each kind, every kind present (0 if none)."""
        counts: dict[Kind, int] = dict.fromkeys(KINDS, 0)
        for change in self.agreements:
            counts[change.kind] += 1
        return counts

    @property
    def identical(self) -> bool:
        """Nothing differs: every agreement unchanged, same notes, same action team."""
        return (
            all(change.kind == "unchanged" for change in self.agreements)
            and self.notes is None
            and not self.action_team
        )

    @property
    def areas(self) -> tuple[AreaChanges, ...]:
        """The agreements grouped by life area, in the order of :data:`LIFE_AREAS`."""
        groups: dict[str, list[AgreementChange]] = {}
        for change in self.agreements:
            groups.setdefault(change.life_area, []).append(change)
        return tuple(
            AreaChanges(
                area,
                tuple(c for c in rows if c.kind != "unchanged"),
                tuple(c for c in rows if c.kind == "unchanged"),
            )
            for area, rows in groups.items()
        )

    def summary(self) -> str:
        """One line in the current language: "1 nieuwe afspraak, 0 verwijderd, ..."."""
        counts = self.counts
        return ", ".join(
            (
                ngettext("%(num)s nieuwe afspraak", "%(num)s nieuwe afspraken", counts["added"]),
                _("%(num)s verwijderd", num=counts["removed"]),
                _("%(num)s veranderd", num=counts["changed"]),
                _("%(num)s ongewijzigd", num=counts["unchanged"]),
            )
        )


# -- reading a version's content defensively ------------------------------------------------


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _agreements(content: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = content.get("agreements")
    if not isinstance(rows, list):
        return []
    return [row for row in rows if isinstance(row, Mapping)]


def _area(row: Mapping[str, Any]) -> str:
    area = _str(row.get("life_area"))
    return area if area in LIFE_AREAS else ""


def _status_label(row: Mapping[str, Any]) -> str:
    status = _str(row.get("status")) or "open"
    return AGREEMENT_STATUSES.get(status) or status


def _notes(row: Mapping[str, Any]) -> list[str]:
    """An agreement's progress notes as lines, "text (by, at)"."""
    progress = row.get("progress")
    lines = []
    for note in progress if isinstance(progress, list) else ():
        if not isinstance(note, Mapping) or not _str(note.get("text")):
            continue
        about = ", ".join(part for part in (_str(note.get("by")), _str(note.get("at"))) if part)
        lines.append(f"{_str(note.get('text'))} ({about})" if about else _str(note.get("text")))
    return lines


def _minus(lines: Iterable[str], taken: Iterable[str]) -> tuple[str, ...]:
    """``lines`` without ``taken``, counting duplicates (a note written twice stays once)."""
    left = list(taken)
    out = []
    for line in lines:
        if line in left:
            left.remove(line)
        else:
            out.append(line)
    return tuple(out)


def _names(content: Mapping[str, Any]) -> list[str]:
    team = content.get("action_team")
    if not isinstance(team, list):
        return []
    return [name.strip() for name in team if isinstance(name, str) and name.strip()]


# -- comparing ----------------------------------------------------------------------------------


def _field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    changes = [
        FieldChange(name, _str(old.get(name)), _str(new.get(name)))
        for name in TEXT_FIELDS
        if _str(old.get(name)) != _str(new.get(name))
    ]
    if (_str(old.get("status")) or "open") != (_str(new.get("status")) or "open"):
        changes.append(FieldChange("status", _status_label(old), _status_label(new)))
    if _area(old) != _area(new):
        changes.append(FieldChange("life_area", area_label(_area(old)), area_label(_area(new))))
    old_notes, new_notes = _notes(old), _notes(new)
    added, removed = _minus(new_notes, old_notes), _minus(old_notes, new_notes)
    if added or removed:
        changes.append(
            FieldChange("progress", "\n".join(removed), "\n".join(added), added, removed)
        )
    return tuple(changes)


def _whole(row: Mapping[str, Any], kind: Kind) -> AgreementChange:
    """An agreement only one version has: every filled-in field on its side."""
    values = [(name, _str(row.get(name))) for name in TEXT_FIELDS]
    values.append(("status", _status_label(row)))
    fields = [
        FieldChange(name, "", value) if kind == "added" else FieldChange(name, value, "")
        for name, value in values
        if value
    ]
    notes = tuple(_notes(row))
    if notes:
        joined = "\n".join(notes)
        fields.append(
            FieldChange("progress", "", joined, added=notes)
            if kind == "added"
            else FieldChange("progress", joined, "", removed=notes)
        )
    return AgreementChange(
        kind, _str(row.get("id")), _area(row), _str(row.get("what")), tuple(fields)
    )


def _match(old_rows: list[Mapping[str, Any]], new_rows: list[Mapping[str, Any]]) -> dict[int, int]:
    """For each new agreement that has one, the index of its old agreement: by id first, then
    (where either has no id) by the same "what" in the same life area."""
    matched: dict[int, int] = {}
    taken: set[int] = set()
    by_id: dict[str, list[int]] = {}
    for index, row in enumerate(old_rows):
        if _str(row.get("id")):
            by_id.setdefault(_str(row.get("id")), []).append(index)
    for new_index, row in enumerate(new_rows):
        candidates = by_id.get(_str(row.get("id")), []) if _str(row.get("id")) else []
        if candidates:
            matched[new_index] = old_index = candidates.pop(0)
            taken.add(old_index)
    for new_index, row in enumerate(new_rows):
        if new_index in matched or not _str(row.get("what")):
            continue
        for old_index, old_row in enumerate(old_rows):
            if (
                old_index not in taken
                and not (_str(old_row.get("id")) and _str(row.get("id")))
                and _area(old_row) == _area(row)
                and _str(old_row.get("what")) == _str(row.get("what"))
            ):
                matched[new_index] = old_index
                taken.add(old_index)
                break
    return matched


def _linked(
    changes: list[AgreementChange],
    old_rows: list[Mapping[str, Any]],
    new_rows: list[Mapping[str, Any]],
) -> list[AgreementChange]:
    """Each change with the agreement it replaces and those that replace it, by "what"."""
    what = {_str(row.get("id")): _str(row.get("what")) for row in old_rows}
    what.update({_str(row.get("id")): _str(row.get("what")) for row in new_rows})
    what.pop("", None)
    successors: dict[str, list[str]] = {}
    for row in new_rows:
        if _str(row.get("replaces")) and _str(row.get("replaces")) != _str(row.get("id")):
            successors.setdefault(_str(row.get("replaces")), []).append(_str(row.get("what")))
    rows = {_str(row.get("id")): row for row in (*old_rows, *new_rows) if _str(row.get("id"))}
    linked = []
    for change in changes:
        original = _str(rows.get(change.id, {}).get("replaces"))
        replaces = (what[original] or "—") if original in what else ""
        replaced_by = tuple(successors.get(change.id, ())) if change.id else ()
        linked.append(replace(change, replaces=replaces, replaced_by=replaced_by))
    return linked


def _area_order(area: str) -> int:
    order = list(LIFE_AREAS)
    return order.index(area) if area in order else len(order)


def compare_versions(old: Mapping[str, Any], new: Mapping[str, Any]) -> Comparison:
    """What changed from the ``old`` version's content to the ``new`` one's.

    Agreements come in the order of :data:`LIFE_AREAS` (an unknown area last), within an area
    in the new version's order, followed by the ones removed from that area in the old
    version's order. A content without ``agreements``, ``notes`` or ``action_team`` (or with
    values of the wrong type) reads as having none.
    """
    old_rows, new_rows = _agreements(old), _agreements(new)
    matched = _match(old_rows, new_rows)
    changes: list[AgreementChange] = []
    for index, row in enumerate(new_rows):
        if index not in matched:
            changes.append(_whole(row, "added"))
            continue
        fields = _field_changes(old_rows[matched[index]], row)
        changes.append(
            AgreementChange(
                "changed" if fields else "unchanged",
                _str(row.get("id")) or _str(old_rows[matched[index]].get("id")),
                _area(row),
                _str(row.get("what")),
                fields,
            )
        )
    kept = set(matched.values())
    changes.extend(_whole(row, "removed") for i, row in enumerate(old_rows) if i not in kept)
    changes = _linked(changes, old_rows, new_rows)
    # sorted() is stable: the new version's order, then the removed ones, within an area.
    changes.sort(key=lambda change: _area_order(change.life_area))

    old_notes, new_notes = _str(old.get("notes")), _str(new.get("notes"))
    old_team, new_team = _names(old), _names(new)
    return Comparison(
        agreements=tuple(changes),
        notes=FieldChange("notes", old_notes, new_notes) if old_notes != new_notes else None,
        action_team=TeamChange(
            added=tuple(name for name in new_team if name not in old_team),
            removed=tuple(name for name in old_team if name not in new_team),
        ),
    )
