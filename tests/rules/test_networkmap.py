"""The network map's shape (server/rules/networkmap.py): reading odd values, checking, and the
printable SVG (server/rules/ecomap.py). Pure: no server, no database."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any

from pycrdt import Array, Doc, Map, Text

from server.rules.networkmap import (
    ENTRY_KEYS,
    FLOWS,
    KINDS,
    NAME_LIMIT,
    TIES,
    MapEntry,
    add_entry,
    check_map,
    map_svg,
    read_map,
    remove_entry,
    schema,
)
from tests.support.server import ROOT

SVG = "{http://www.w3.org/2000/svg}"


def problems(doc: Doc[Any]) -> list[str]:
    return [str(p) for p in check_map(doc.get_update())]


def test_what_the_page_writes_reads_back_and_odd_values_read_as_defaults() -> None:
    doc: Doc[Any] = Doc()
    add_entry(doc, "a", "Oma  Truus", kind="family", ring=1, angle=370.0, tie="strong", flow="both")
    add_entry(doc, "b", "Sam", child=True, age=8.0, ring=2.0, tie="stressful", angle=380.0)
    add_entry(doc, "gap", "", gap=True, ring=3, angle=90.0)
    odd = add_entry(doc, "odd", "Buurman Piet")
    for key, value in {
        "kind": "alien",
        "ring": 7,
        "angle": math.inf,
        "tie": ["x"],
        "flow": 3,
        "gone": "yes",
        "age": 40,  # not a child: no age is kept
    }.items():
        odd[key] = value
    add_entry(doc, "nameless", "   ")  # no name and not a gap: left out
    doc.get("map", type=Map)["junk"] = "not an entry"
    text_name = add_entry(doc, "text", "")
    text_name["name"] = Text("Juf Anna")  # another client's shared text reads the same

    entries = {e.id: e for e in read_map(doc.get_update())}

    assert set(entries) == {"a", "b", "gap", "odd", "text"}
    assert entries["a"] == MapEntry("a", "Oma Truus", "family", 1, 10.0, "strong", "both")
    assert (entries["b"].ring, entries["b"].age, entries["b"].shown_name) == (2, 8, "Sam (8)")
    assert entries["gap"].gap and entries["gap"].shown_name == "?"
    assert entries["odd"] == MapEntry("odd", "Buurman Piet")  # every odd value: its default
    assert entries["text"].name == "Juf Anna"
    # by ring, then around it
    assert [e.id for e in read_map(doc.get_update())][:4] == ["a", "odd", "text", "b"]
    # never a crash: not an update, a map made as another type, nothing at all
    assert read_map(b"\x01\x02garbage") == []
    other: Doc[Any] = Doc()
    other.get("map", type=Array).append("x")
    assert read_map(other.get_update()) == [] and read_map(b"") == []


def test_each_problem_is_named_with_whose_entry_and_which_field() -> None:
    doc: Doc[Any] = Doc()
    add_entry(doc, "1", "x" * (NAME_LIMIT + 1))
    add_entry(doc, "2", "Sam de Vries", child=True, age=8)  # a child: a first name only
    add_entry(doc, "3", "Lotte", child=True, age=19)
    add_entry(doc, "4", "Kees", kind="pet", tie="loose", flow="up", ring=4)
    add_entry(doc, "5", "Tante Jo", age=50)
    add_entry(doc, "6", "")
    add_entry(doc, "7", "", gap=True)  # a gap needs no name
    add_entry(doc, "8", "Mo", child=True, age=12, angle=45.0)  # fine
    assert problems(doc) == [
        f"{'x' * (NAME_LIMIT + 1)}, naam: te lang ({NAME_LIMIT + 1} van {NAME_LIMIT} tekens)",
        "Sam de Vries, naam: van een kind staat alleen de voornaam op de kaart",
        "Lotte, leeftijd: een leeftijd van 0 tot en met 17",
        "Kees, soort: onbekende soort",
        "Kees, band: onbekende band",
        "Kees, steun: onbekende richting van de steun",
        "Kees, afstand: kies een afstand van 1 tot en met 3",
        "Tante Jo, leeftijd: alleen bij een kind staat een leeftijd",
        "6, naam: zeg wie het is",
    ]
    assert [str(p) for p in check_map(b"\x01garbage")] == [
        "Netwerkkaart: het document kan niet gelezen worden"
    ]


def test_removing_an_entry_takes_its_key_and_its_name_out_of_the_document() -> None:
    doc: Doc[Any] = Doc()
    add_entry(doc, "a", "Geheime Naam")
    add_entry(doc, "b", "Oom Henk")
    assert remove_entry(doc, "a") and not remove_entry(doc, "a")
    assert [e.name for e in read_map(doc.get_update())] == ["Oom Henk"]
    assert b"Geheime Naam" not in doc.get_update()  # collected, not only hidden


def test_the_svg_parses_draws_one_line_per_person_as_practice_reads_it_and_escapes_names() -> None:
    entries = [
        MapEntry("s", 'Oma <Truus> & "co"', "family", 1, 0.0, "strong", "to_client"),
        MapEntry("t", "Juf Anna", "school", 2, 90.0, "tenuous", "from_client"),
        MapEntry("x", "Pa", "family", 3, 200.0, "stressful", "both", gone=True),
        MapEntry("g", "", ring=3, angle=300.0, gap=True),
    ]
    svg = map_svg(entries, "Sam & zo")
    root = ET.fromstring(svg)  # well-formed XML, names and all
    assert root.tag == f"{SVG}svg"
    assert root.findtext(f"{SVG}title") == "Netwerkkaart: Sam & zo"
    ties = {el.get("data-entry"): el for el in root.iter() if "tie" in el.get("class", "").split()}
    assert set(ties) == {"s", "t", "x"}  # one line per person; a gap has no tie yet
    assert ties["s"].tag == f"{SVG}line" and ties["s"].get("stroke-dasharray") is None
    assert ties["t"].tag == f"{SVG}line" and ties["t"].get("stroke-dasharray")
    assert ties["x"].tag == f"{SVG}path" and len(re.findall("L", ties["x"].get("d", ""))) > 6
    assert (ties["s"].get("marker-end"), ties["s"].get("marker-start")) == ("url(#arrow)", None)
    assert (ties["t"].get("marker-end"), ties["t"].get("marker-start")) == (None, "url(#arrow)")
    assert ties["x"].get("marker-end") == ties["x"].get("marker-start") == "url(#arrow-gone)"
    people = {el.get("data-entry"): el for el in root.iter(f"{SVG}g") if el.get("data-entry")}
    assert people["x"].find(f"{SVG}path[@class='gone']") is not None  # crossed out
    assert people["g"].find(f"{SVG}circle[@class='gap']").get("stroke-dasharray")  # type: ignore[union-attr]
    assert people["t"].find(f"{SVG}rect") is not None  # an organisation is a square
    names = [el.text for el in root.iter(f"{SVG}text") if el.get("class") == "name"]
    assert 'Oma <Truus> & "co"' in names
    assert "<Truus>" not in svg  # escaped in the source
    desc = root.findtext(f"{SVG}desc") or ""
    assert "Juf Anna: School, dichtbij, losse band, krijgt steun" in desc
    legend = "".join(root.find(f"{SVG}g[@class='legend']").itertext())  # type: ignore[union-attr]
    assert all(KINDS[k] in legend for k in KINDS) and all(TIES[k] in legend for k in TIES)
    assert ET.fromstring(map_svg([], "Sam")) is not None  # an empty map is a map too


def test_a_name_with_characters_xml_cannot_hold_still_draws_a_map() -> None:
    # Another Yjs client may write them; the client's compass PDF parses this SVG (a 500).
    entries = [MapEntry("\x01", "Oma\x07 Truus\ufffe", "family", 1, 0.0, child=True, age=3)]
    root = ET.fromstring(map_svg(entries, "Sam\x1b"))
    names = [el.text for el in root.iter(f"{SVG}text") if el.get("class") == "name"]
    assert names == ["Oma Truus (3)"]


def test_the_browser_mirrors_the_key_names_and_gets_the_choices_from_the_server() -> None:
    source = (ROOT / "web" / "src" / "networkmap-schema.js").read_text()
    found = re.search(r"ENTRY_KEYS = \[([^\]]*)\]", source, re.DOTALL)
    assert found is not None
    assert re.findall(r'"(\w+)"', found.group(1)) == list(ENTRY_KEYS)
    assert re.search(r'MAP_ROOT = "map"', source)
    made = set(re.findall(r'entry\.set\("(\w+)"', source))
    assert made == set(ENTRY_KEYS), "newEntry() sets each key"
    data = schema()
    assert (data["kinds"], data["ties"], data["flows"]) == (list(KINDS), list(TIES), list(FLOWS))
    assert data["rings"] == [1, 2, 3] and data["keys"] == list(ENTRY_KEYS)
