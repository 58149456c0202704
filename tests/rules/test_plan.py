"""The plan document's schema: reading a plan for pages and copies, and checking it before a
version is frozen (server/rules/plan.py). Pure: no server, no database."""

from __future__ import annotations

import re
from typing import Any

from pycrdt import Array, Doc, Map, Text

from server.rules.plan import (
    AGREEMENT_FIELDS,
    AGREEMENT_KEYS,
    NOTES_LIMIT,
    TEXT_LIMITS,
    Person,
    add_agreement,
    check_plan,
    read_plan,
    schema,
    use_backup,
)
from tests.support.server import ROOT

PEOPLE = {
    "1": Person("Sam de Vries", "client"),
    "2": Person("Ayşe Yılmaz", "network_member"),
    "3": Person("Iris Jansen", "professional"),
}


def problems(doc: Doc[Any]) -> list[str]:
    return [str(p) for p in check_plan(doc.get_update(), PEOPLE)]


def test_a_plan_the_editor_writes_reads_with_names_dates_and_requests() -> None:
    doc: Doc[Any] = Doc()
    agreement = add_agreement(
        doc,
        "children",
        what="Sam naar voetbal brengen",
        who="buurman Piet",
        when="elke woensdag",
        when_date="2026-12-02",
        request="Hulp bij het aanvragen van vervoer",
        request_to="3",
    )
    agreement["who_ids"]["2"] = True
    agreement["progress"].append(
        Map({"text": "Twee keer gelukt", "by": "Ayşe", "at": "2026-12-10"})
    )
    add_agreement(doc, "safety", what="Bellen als het thuis misgaat", who="Ayşe")

    plan = read_plan(doc.get_update(), PEOPLE)

    first, second = plan["agreements"]
    assert first["life_area"] == "safety"  # the life areas' order, not the order of typing
    assert second["who"] == "Ayşe Yılmaz, buurman Piet"
    assert second["who_ids"] == ["2"]
    assert second["when"] == "elke woensdag 02-12-2026"
    assert second["when_date"] == "2026-12-02"
    assert second["request"] == "Hulp bij het aanvragen van vervoer (Iris Jansen)"
    assert second["progress"] == [{"text": "Twee keer gelukt", "by": "Ayşe", "at": "2026-12-10"}]
    assert problems(doc) == []


def test_a_removed_agreement_is_left_out_and_comes_back_when_restored() -> None:
    doc: Doc[Any] = Doc()
    agreement = add_agreement(doc, "housing", what="Boodschappen op zaterdag")
    agreement["removed"] = True
    assert read_plan(doc.get_update())["agreements"] == []
    agreement["removed"] = False
    assert [a["what"] for a in read_plan(doc.get_update())["agreements"]] == [
        "Boodschappen op zaterdag"
    ]


def test_each_mismatch_is_reported_with_the_agreement_and_field() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "housing", what="x" * (TEXT_LIMITS["what"] + 1), when_date="2026-13-01")
    add_agreement(doc, "holidays", what="", who="Oma")
    add_agreement(doc, "health", what="Naar de huisarts", request="Meegaan", request_to="2")
    # Someone ticked who has left the conference is not named, and holds nothing up.
    add_agreement(doc, "health", what="Samen koken").__setitem__("who_ids", Map({"99": True}))
    add_agreement(doc, "leisure", what="Zwemmen").__setitem__("status", "maybe")
    agreements = doc.get("agreements", type=Array)
    agreements.append("a line from an old app")
    agreements.append(Map({"life_area": "housing", "what": 42}))

    long = "x" * 39 + "…"
    assert problems(doc) == [
        f"Afspraak 1 (“{long}”), wat: te lang ({TEXT_LIMITS['what'] + 1} van "
        f"{TEXT_LIMITS['what']} tekens)",
        f"Afspraak 1 (“{long}”), datum: dit is geen datum (jjjj-mm-dd)",
        "Afspraak 2, wat: zeg wat er gaat gebeuren",
        "Afspraak 2, leefgebied: kies een van de tien leefgebieden",
        "Afspraak 3 (“Naar de huisarts”), aan wie: dit is geen professional van deze conferentie",
        "Afspraak 5 (“Zwemmen”), status: onbekende status",
        "Afspraak 6: dit is geen afspraak in de vorm die Kring kent",
        "Afspraak 7, wat: dit is geen tekst",
        "Afspraak 7, wat: zeg wat er gaat gebeuren",
    ]
    # Reading never fails on what checking reports: the readable agreements are all there.
    assert len(read_plan(doc.get_update(), PEOPLE)["agreements"]) == 5


def test_a_removed_agreement_is_not_checked_and_plain_strings_are_accepted() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "housing", what="").__setitem__("removed", True)
    doc.get("agreements", type=Array).append(
        Map({"life_area": "housing", "what": "Een oudere app schreef gewone tekst"})
    )
    assert problems(doc) == []


def test_root_types_of_another_shape_are_reported_not_dropped() -> None:
    doc: Doc[Any] = Doc()
    doc.get("agreements", type=Map)["x"] = "y"
    doc.get("notes", type=Array).append("z")
    assert problems(doc) == [
        "Het plan: de afspraken staan er in een vorm die Kring niet kent",
        "Het plan: de aantekeningen staan er in een vorm die Kring niet kent",
    ]
    assert read_plan(doc.get_update()) == {"agreements": [], "notes": ""}


def test_notes_over_their_limit_are_reported() -> None:
    doc: Doc[Any] = Doc()
    doc.get("notes", type=Text).insert(0, "a" * (NOTES_LIMIT + 1))
    assert problems(doc) == [
        f"Het plan, aantekeningen: te lang ({NOTES_LIMIT + 1} van {NOTES_LIMIT} tekens)"
    ]


def test_the_schema_the_browser_gets_names_every_area_status_and_limit() -> None:
    data = schema()
    assert len(data["life_areas"]) == 10 and "safety" in data["life_areas"]
    assert data["statuses"] == ["open", "on_track", "done", "not_working", "stopped"]
    assert data["text_limits"] == TEXT_LIMITS


def test_values_of_any_type_are_reported_never_a_crash() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "housing", what="Lijst als leefgebied").__setitem__("life_area", ["x"])
    add_agreement(doc, "housing", what="Kaart als status").__setitem__("status", Map({"a": 1}))
    add_agreement(doc, "housing", what="Datum als getal").__setitem__("when_date", 20260101)
    add_agreement(doc, "housing", what="Datum zonder -").__setitem__("when_date", "20260101")
    assert [p.split(": ", 1)[1] for p in problems(doc)] == [
        "kies een van de tien leefgebieden",
        "onbekende status",
        "dit is geen datum (jjjj-mm-dd)",
        "dit is geen datum (jjjj-mm-dd)",
    ]
    assert len(read_plan(doc.get_update(), PEOPLE)["agreements"]) == 4


def test_the_browser_mirrors_the_key_names_of_the_schema() -> None:
    source = (ROOT / "web" / "src" / "plan-schema.js").read_text()

    def names(constant: str) -> list[str]:
        found = re.search(rf"{constant} = \[([^\]]*)\]", source, re.DOTALL)
        assert found is not None, constant
        spread = found.group(1).replace("...AGREEMENT_TEXT_FIELDS", '"..."')
        return [
            n
            for name in re.findall(r'"([\w.]+)"', spread)
            for n in (AGREEMENT_FIELDS if name == "..." else [name])
        ]

    assert names("AGREEMENT_TEXT_FIELDS") == list(AGREEMENT_FIELDS)
    assert names("AGREEMENT_KEYS") == list(AGREEMENT_KEYS)
    made = set(re.findall(r'agreement\.set\("(\w+)"', source))
    assert made == set(AGREEMENT_KEYS) - set(AGREEMENT_FIELDS), "newAgreement() sets each key"


def test_using_the_backup_makes_it_a_new_agreement_that_names_the_old_one_which_stays() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "health", id="walk", what="Samen wandelen", backup="Dan samen fietsen")
    failing: Map[Any] = doc.get("agreements", type=Array)[0]
    failing["status"] = "not_working"
    add_agreement(doc, "health", id="doctor", what="Naar de huisarts")

    fresh = use_backup(doc, "walk")

    assert fresh is not None
    rows = read_plan(doc.get_update(), PEOPLE)["agreements"]
    assert [(r["what"], r["status"], r["replaces"]) for r in rows] == [
        ("Samen wandelen", "not_working", ""),  # kept as it was, backup and all
        ("Dan samen fietsen", "open", "walk"),  # right after it, in its life area
        ("Naar de huisarts", "open", ""),
    ]
    assert rows[0]["backup"] == "Dan samen fietsen" and rows[1]["life_area"] == "health"
    assert rows[1]["id"] not in ("walk", "doctor")
    assert problems(doc) == []
    # Nothing to use: no such agreement, or no backup. Nothing changes.
    assert use_backup(doc, "nobody") is None and use_backup(doc, "doctor") is None
    assert len(read_plan(doc.get_update())["agreements"]) == 3


def test_a_link_to_an_agreement_that_is_not_there_or_itself_is_reported() -> None:
    doc: Doc[Any] = Doc()
    add_agreement(doc, "housing", id="a", what="Koken", replaces="gone")
    add_agreement(doc, "housing", id="b", what="Wassen", replaces="b")
    add_agreement(doc, "housing", id="c", what="Strijken")
    doc.get("agreements", type=Array)[2]["replaces"] = 7
    removed = add_agreement(doc, "housing", id="d", what="Stofzuigen")
    removed["removed"] = True
    add_agreement(doc, "housing", id="e", what="Dweilen", replaces="d")  # a removed one counts
    assert problems(doc) == [
        "Afspraak 1 (“Koken”), in plaats van: "
        "de afspraak die hiermee vervangen wordt, staat niet in het plan",
        "Afspraak 2 (“Wassen”), in plaats van: dit is geen verwijzing naar een andere afspraak",
        "Afspraak 3 (“Strijken”), in plaats van: dit is geen verwijzing naar een andere afspraak",
    ]
