"""Comparing two frozen plan versions, per agreement (server/rules/compare.py), and the page that
shows it (web/templates/meeting/compare.html). Pure: no server, no database."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from pycrdt import Array, Doc, Map

from server import i18n
from server.rules.compare import (
    AgreementChange,
    Comparison,
    FieldChange,
    TeamChange,
    compare_versions,
)
from server.rules.plan import add_agreement, read_plan, use_backup
from server.storage.models import PlanVersion
from server.views.assets import templates


def agreement(id: str, life_area: str, what: str, **fields: Any) -> dict[str, Any]:
    """An agreement as read_plan returns it (all keys present, empty unless given)."""
    row: dict[str, Any] = {
        "id": id,
        "life_area": life_area,
        "what": what,
        "who": "",
        "who_ids": [],
        "when": "",
        "when_date": "",
        "where": "",
        "backup": "",
        "request": "",
        "request_to": "",
        "status": "open",
        "progress": [],
    }
    row.update(fields)
    return row


def content(
    *agreements: dict[str, Any], notes: str = "", team: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "agreements": list(agreements),
        "notes": notes,
        "client_name": "Sam de Vries",
        "question": "Hoe blijft Sam veilig thuis wonen?",
        "action_team": list(team),
    }


def note(text: str, by: str = "Ayşe", at: str = "2025-03-01") -> dict[str, str]:
    return {"text": text, "by": by, "at": at}


def kinds(comparison: Comparison) -> list[tuple[str, str]]:
    return [(change.kind, change.what) for change in comparison.agreements]


def only(comparison: Comparison, what: str) -> AgreementChange:
    (change,) = [c for c in comparison.agreements if c.what == what]
    return change


FOOTBALL = agreement("a1", "children", "Sam naar voetbal brengen", who="Opa Kees", when="zaterdag")
SHOPPING = agreement("a2", "housing", "Boodschappen doen", who="Ayşe", status="on_track")
DEBTS = agreement("a3", "finances", "Schulden op een rij zetten", who="Iris")


# -- agreements ---------------------------------------------------------------------------------


def test_a_changed_status_and_text_are_listed_old_and_new_with_labels() -> None:
    old = content(FOOTBALL, SHOPPING)
    new = content(
        {**FOOTBALL, "status": "done", "when": "zaterdag om 9 uur"},
        SHOPPING,
    )
    comparison = compare_versions(old, new)
    change = only(comparison, "Sam naar voetbal brengen")
    assert change.kind == "changed" and change.id == "a1" and change.life_area == "children"
    assert change.fields == (
        FieldChange("when", "zaterdag", "zaterdag om 9 uur"),
        FieldChange("status", "Open", "Gedaan"),
    )
    assert [f.label for f in change.fields] == ["Wanneer", "Status"]
    assert only(comparison, "Boodschappen doen").kind == "unchanged"
    assert comparison.counts == {"added": 0, "removed": 0, "changed": 1, "unchanged": 1}
    assert comparison.summary() == "0 nieuwe afspraken, 0 verwijderd, 1 veranderd, 1 ongewijzigd"
    with i18n.using("en"):
        assert compare_versions(old, new).agreements[1].fields[1] == FieldChange(
            "status", "Open", "Done"
        )


def test_the_what_itself_may_change_and_is_matched_by_id() -> None:
    new = content({**SHOPPING, "what": "Boodschappen doen op vrijdag"})
    (change,) = compare_versions(content(SHOPPING), new).agreements
    assert change.kind == "changed" and change.what == "Boodschappen doen op vrijdag"
    assert change.fields == (
        FieldChange("what", "Boodschappen doen", "Boodschappen doen op vrijdag"),
    )


def test_an_added_agreement_comes_with_every_field_it_has() -> None:
    walk = agreement("a4", "health", "Elke dag een half uur wandelen", who="Sam", where="park")
    comparison = compare_versions(content(FOOTBALL), content(FOOTBALL, walk))
    change = only(comparison, "Elke dag een half uur wandelen")
    assert change.kind == "added" and change.life_area == "health" and change.id == "a4"
    assert change.fields == (
        FieldChange("what", "", "Elke dag een half uur wandelen"),
        FieldChange("who", "", "Sam"),
        FieldChange("where", "", "park"),
        FieldChange("status", "", "Open"),
    )
    assert comparison.counts["added"] == 1
    assert comparison.summary().startswith("1 nieuwe afspraak, ")


def test_a_removed_agreement_keeps_what_it_was_and_comes_after_those_still_there() -> None:
    chores = agreement("a5", "housing", "Afwassen", who="Sam")
    old = content(FOOTBALL, SHOPPING, chores, DEBTS)
    new = content(FOOTBALL, DEBTS, {**chores, "status": "on_track"})
    comparison = compare_versions(old, new)
    assert kinds(comparison) == [
        ("changed", "Afwassen"),
        ("removed", "Boodschappen doen"),  # removed: after the ones still in the area
        ("unchanged", "Schulden op een rij zetten"),
        ("unchanged", "Sam naar voetbal brengen"),
    ]
    removed = only(comparison, "Boodschappen doen")
    assert removed.life_area == "housing" and removed.id == "a2"
    assert removed.fields == (
        FieldChange("what", "Boodschappen doen", ""),
        FieldChange("who", "Ayşe", ""),
        FieldChange("status", "Loopt", ""),
    )
    assert comparison.counts == {"added": 0, "removed": 1, "changed": 1, "unchanged": 2}


def test_the_order_is_life_area_then_the_new_versions_order() -> None:
    meaning = agreement("m", "meaning", "Naar de moskee")
    other = agreement("o", "", "Iets zonder leefgebied")
    safety = agreement("s", "safety", "Veiligheidsplan ophangen")
    old = content(safety, other)
    new = content(meaning, agreement("b", "children", "Huiswerk"), FOOTBALL, safety, other)
    comparison = compare_versions(old, new)
    assert [c.what for c in comparison.agreements] == [
        "Veiligheidsplan ophangen",
        "Huiswerk",
        "Sam naar voetbal brengen",
        "Naar de moskee",
        "Iets zonder leefgebied",
    ]
    assert [(a.life_area, a.label) for a in comparison.areas] == [
        ("safety", "Veiligheid & bescherming tegen geweld"),
        ("children", "Kinderen & opvoeding"),
        ("meaning", "Zingeving"),
        ("", "Overig"),
    ]
    children = comparison.areas[1]
    assert [c.what for c in children.changes] == ["Huiswerk", "Sam naar voetbal brengen"]
    assert [c.what for c in comparison.areas[0].unchanged] == ["Veiligheidsplan ophangen"]


def test_an_agreement_moved_to_another_life_area_is_shown_in_its_new_one() -> None:
    moved = {**SHOPPING, "life_area": "finances"}
    comparison = compare_versions(content(SHOPPING, DEBTS), content(DEBTS, moved))
    change = only(comparison, "Boodschappen doen")
    assert change.kind == "changed" and change.life_area == "finances"
    assert change.fields == (
        FieldChange("life_area", "Wonen & dagelijks leven", "Financiën & sociale zekerheid"),
    )
    assert change.moved == change.fields[0] and change.fields[0].label == "Leefgebied"
    assert [a.life_area for a in comparison.areas] == ["finances"], "nothing left in housing"
    assert kinds(comparison) == [
        ("unchanged", "Schulden op een rij zetten"),
        ("changed", "Boodschappen doen"),
    ]


def test_a_backup_filled_in_later_is_a_change_from_empty() -> None:
    new = content({**DEBTS, "backup": "Dan belt Iris de schuldhulp"})
    (change,) = compare_versions(content(DEBTS), new).agreements
    assert change.fields == (FieldChange("backup", "", "Dan belt Iris de schuldhulp"),)
    assert change.fields[0].label == "Als het niet lukt"


def test_progress_is_summarised_as_the_notes_that_were_added() -> None:
    first = note("Twee keer geweest", at="2025-02-01")
    second = note("Sam vindt het leuk", by="Opa Kees", at="2025-03-15")
    old = content({**FOOTBALL, "progress": [first]})
    new = content({**FOOTBALL, "progress": [first, second], "status": "on_track"})
    (change,) = compare_versions(old, new).agreements
    assert change.fields == (
        FieldChange("status", "Open", "Loopt"),
        FieldChange(
            "progress",
            "",
            "Sam vindt het leuk (Opa Kees, 2025-03-15)",
            added=("Sam vindt het leuk (Opa Kees, 2025-03-15)",),
        ),
    )
    assert change.fields[1].label == "Voortgang"
    # The same notes in both: no change, also when the same text was written twice.
    twice = content({**FOOTBALL, "progress": [first, first]})
    assert compare_versions(twice, twice).agreements[0].kind == "unchanged"
    (change,) = compare_versions(old, twice).agreements
    assert change.fields[0].added == ("Twee keer geweest (Ayşe, 2025-02-01)",)


def test_changed_notes_are_one_field_change() -> None:
    old = content(FOOTBALL, notes="Volgende keer praten we over school.")
    new = content(FOOTBALL, notes="School gaat beter.")
    comparison = compare_versions(old, new)
    assert comparison.notes == FieldChange(
        "notes", "Volgende keer praten we over school.", "School gaat beter."
    )
    assert comparison.notes.label == "Aantekeningen"
    assert not comparison.identical
    assert compare_versions(old, old).notes is None


def test_who_joined_and_who_left_the_action_team() -> None:
    old = content(team=("Opa Kees", "Ayşe", "Iris"))
    new = content(team=("Ayşe", "Iris", "Tante Mies"))
    comparison = compare_versions(old, new)
    assert comparison.action_team == TeamChange(added=("Tante Mies",), removed=("Opa Kees",))
    assert comparison.action_team
    assert not compare_versions(old, old).action_team


def test_versions_without_ids_are_matched_by_what_within_the_life_area() -> None:
    old = content(
        {**FOOTBALL, "id": ""},
        {**SHOPPING, "id": ""},
        agreement("", "health", "Naar de huisarts"),
        agreement("", "leisure", "Samen vissen"),
    )
    new = content(
        {**FOOTBALL, "status": "done"},  # now has an id: matched by its what
        {**SHOPPING, "id": ""},  # neither has one
        agreement("h2", "meaning", "Naar de huisarts"),  # same what, other area: not the same
        agreement("", "leisure", "Samen vissen aan de plas"),  # other what: not the same
    )
    comparison = compare_versions(old, new)
    assert kinds(comparison) == [
        ("unchanged", "Boodschappen doen"),
        ("changed", "Sam naar voetbal brengen"),
        ("added", "Samen vissen aan de plas"),
        ("removed", "Samen vissen"),
        ("removed", "Naar de huisarts"),
        ("added", "Naar de huisarts"),
    ]
    assert only(comparison, "Sam naar voetbal brengen").id == "a1"
    assert only(comparison, "Sam naar voetbal brengen").fields == (
        FieldChange("status", "Open", "Gedaan"),
    )


def test_two_agreements_with_ids_are_not_matched_by_their_what() -> None:
    again = {**SHOPPING, "id": "new-one"}  # removed, and written again with the same words
    assert kinds(compare_versions(content(SHOPPING), content(again))) == [
        ("added", "Boodschappen doen"),
        ("removed", "Boodschappen doen"),
    ]


def test_identical_versions_and_a_version_with_itself_are_all_unchanged() -> None:
    version = content(FOOTBALL, SHOPPING, DEBTS, notes="Aantekening", team=("Ayşe",))
    copy = content(dict(FOOTBALL), dict(SHOPPING), dict(DEBTS), notes="Aantekening", team=("Ayşe",))
    for comparison in (compare_versions(version, copy), compare_versions(version, version)):
        assert {c.kind for c in comparison.agreements} == {"unchanged"}
        assert all(c.fields == () for c in comparison.agreements)
        assert comparison.counts == {"added": 0, "removed": 0, "changed": 0, "unchanged": 3}
        assert comparison.identical and comparison.notes is None
    assert compare_versions({}, {}).agreements == () and compare_versions({}, {}).identical


def test_newer_against_older_is_simply_old_first_new_second() -> None:
    walk = agreement("a4", "health", "Wandelen")
    v1, v2 = content(FOOTBALL), content({**FOOTBALL, "status": "done"}, walk)
    forward, backward = compare_versions(v1, v2), compare_versions(v2, v1)
    assert kinds(forward) == [("changed", "Sam naar voetbal brengen"), ("added", "Wandelen")]
    assert kinds(backward) == [("changed", "Sam naar voetbal brengen"), ("removed", "Wandelen")]
    assert backward.agreements[0].fields == (FieldChange("status", "Gedaan", "Open"),)


def test_content_of_the_wrong_shape_reads_as_empty_never_a_crash() -> None:
    odd: dict[str, Any] = {
        "agreements": ["not a dict", {"what": 3, "status": "weird", "progress": "x"}, None],
        "notes": None,
        "action_team": "Ayşe",
    }
    comparison = compare_versions(odd, content(FOOTBALL))
    assert kinds(comparison) == [("added", "Sam naar voetbal brengen"), ("removed", "")]
    assert comparison.notes is None and not comparison.action_team
    assert compare_versions({"agreements": {}}, {"agreements": None}).agreements == ()


def test_contents_read_from_real_plan_documents() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "children", id="x1", what="Sam naar voetbal brengen", who="Opa Kees")
    add_agreement(doc, "housing", id="x2", what="Boodschappen doen")
    before = read_plan(doc.get_update())
    agreements = doc.get("agreements", type=Array)
    football: Map[Any] = agreements[0]
    football["status"] = "on_track"
    football["progress"].append(Map({"text": "Gaat goed", "by": "Sam", "at": "2025-04-01"}))
    agreements[1]["removed"] = True
    add_agreement(doc, "health", id="x3", what="Wandelen", backup="Dan fietsen")
    after = read_plan(doc.get_update())
    comparison = compare_versions(before, after)
    assert kinds(comparison) == [
        ("removed", "Boodschappen doen"),
        ("changed", "Sam naar voetbal brengen"),
        ("added", "Wandelen"),
    ]
    assert [f.field for f in comparison.agreements[1].fields] == ["status", "progress"]


def test_an_agreement_made_from_a_backup_is_linked_to_the_one_it_replaces() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "children", id="x1", what="Sam naar voetbal brengen", backup="Opa rijdt")
    version_1 = read_plan(doc.get_update())
    doc.get("agreements", type=Array)[0]["status"] = "not_working"
    use_backup(doc, "x1")
    version_2 = read_plan(doc.get_update())

    comparison = compare_versions(version_1, version_2)

    assert kinds(comparison) == [
        ("changed", "Sam naar voetbal brengen"),
        ("added", "Opa rijdt"),
    ]
    old, fresh = comparison.agreements
    assert (old.replaces, old.replaced_by) == ("", ("Opa rijdt",))
    assert (fresh.replaces, fresh.replaced_by) == ("Sam naar voetbal brengen", ())
    words = text_of(render(comparison))
    assert "Nieuw Opa rijdt In plaats van: “Sam naar voetbal brengen”" in words
    assert "Vervangen door: “Opa rijdt”" in words
    # Later versions keep saying so, also where nothing else changed.
    again = compare_versions(version_2, version_2)
    assert [c.replaces for c in again.agreements] == ["", "Sam naar voetbal brengen"]
    assert "(In plaats van: “Sam naar voetbal brengen”)" in text_of(render(again))


# -- the page -----------------------------------------------------------------------------------


def render(comparison: Comparison, old_number: int = 1, new_number: int = 2, **extra: Any) -> str:
    """compare.html as the route renders it, without a request: base.html's request helpers
    are stubbed (static files, the language form's return address)."""
    created = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    versions = {
        n: PlanVersion(number=n, content={}, created_at=created, created_by="coordinator-1")
        for n in (old_number, new_number)
    }
    context: dict[str, Any] = {
        "request": None,
        "static": lambda name: f"/static/{name}",
        "language_next": lambda _request: "/c/abc/plan/compare",
        "current_language": i18n.get_language(),
        "conference": type("Conference", (), {"id": "abc"})(),
        "person": None,
        "numbers": [1, 2, 3],
        "old_number": old_number,
        "new_number": new_number,
        "comparison": comparison,
        "old_version": versions[old_number],
        "new_version": versions[new_number],
        **extra,
    }
    return templates.get_template("meeting/compare.html").render(**context)


def text_of(page: str) -> str:
    """The visible words, tags dropped and whitespace folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_page_shows_each_change_old_and_new_with_words_not_only_colour() -> None:
    old = content(FOOTBALL, SHOPPING, DEBTS, notes="Oud", team=("Opa Kees",))
    new = content(
        {**FOOTBALL, "status": "done", "backup": "Dan brengt Ayşe hem"},
        DEBTS,
        agreement("a4", "health", "Wandelen", who="Sam"),
        notes="Nieuw & beter",
        team=("Opa Kees", "Tante Mies"),
    )
    page = render(
        compare_versions(old, new),
        # UTC moments, shown on the instance's clock (Amsterdam by default): CET, then CEST
        old_frozen_at=datetime(2025, 3, 1, 10, 0, tzinfo=UTC),
        new_frozen_at=datetime(2025, 4, 15, 18, 30, tzinfo=UTC),
    )
    words = text_of(page)
    assert "<title>Wat is er veranderd · Kring</title>" in page
    assert "Van versie 1 naar versie 2" in words
    assert "vastgesteld op 01-03-2025 11:00 en 15-04-2025 20:30" in words
    assert "1 nieuwe afspraak, 1 verwijderd, 1 veranderd, 1 ongewijzigd" in words
    # The form works without JavaScript: a GET to this page with both numbers chosen.
    assert (
        re.search(r'<form method="get"[^>]*>', page)
        and "action=" not in page.split('class="compare-form')[0].rsplit("<form", 1)[-1]
    )
    assert '<select id="compare-old" name="old">' in page
    assert '<option value="1" selected>Versie 1</option>' in page
    assert '<option value="2" selected>Versie 2</option>' in page
    assert '<label for="compare-new">Naar versie</label>' in page
    assert "Vergelijk" in words
    # Changes, with visible labels and <del>/<ins>.
    assert "Veranderd Sam naar voetbal brengen" in words
    assert "Status was: Open → nu: Gedaan" in words
    assert "<del>Open</del>" in page and "<ins>Gedaan</ins>" in page
    assert "Als het niet lukt was: (leeg) → nu: Dan brengt Ayşe hem" in words
    assert "Nieuw Wandelen" in words and "<ins>Wandelen</ins>" in page
    assert "Verwijderd Boodschappen doen" in words and "<del>Boodschappen doen</del>" in page
    assert "Gezondheid &amp; zelfverzorging" in page, "areas by label, escaped"
    assert re.search(r"<details[^>]*>\s*<summary>1 afspraak is hetzelfde gebleven</summary>", page)
    assert "Aantekeningen was: Oud → nu: Nieuw & beter" in words
    assert "Nieuw &amp; beter" in page
    assert "Erbij gekomen Tante Mies" in words and "Niet meer in het actieteam" not in words
    assert "met zichzelf" not in words


def test_the_page_for_the_same_version_twice_says_nothing_changed() -> None:
    version = content(FOOTBALL, SHOPPING)
    words = text_of(render(compare_versions(version, version), 2, 2))
    assert "Je vergelijkt een versie met zichzelf" in words
    assert "Er is niets veranderd tussen deze twee versies." in words
    assert "0 nieuwe afspraken, 0 verwijderd, 0 veranderd, 2 ongewijzigd" in words
    assert words.count("Niet veranderd.") == 2, "notes and action team"
    assert "vastgesteld op" not in words, "times only when the route gives them"


def test_the_page_in_english() -> None:
    old = content(FOOTBALL)
    new = content({**FOOTBALL, "status": "done"})
    with i18n.using("en"):
        words = text_of(render(compare_versions(old, new)))
    assert "What has changed" in words
    assert "Status was: Open → now: Done" in words
    assert "0 new agreements, 0 removed, 1 changed, 0 unchanged" in words
