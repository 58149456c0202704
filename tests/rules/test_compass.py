"""The compass document's schema (server/rules/compass.py): reading it for pages and the
client's download, checking it, and the browser's mirror of its key names. Pure."""

from __future__ import annotations

import re
from typing import Any

from pycrdt import Array, Doc, Map, Text

from server import i18n
from server.rules.compass import (
    ANSWER_KEYS,
    MAX_PRIORITIES,
    QUESTION_KEYS,
    QUESTION_LIMIT,
    ROOTS,
    STRENGTH_LIMIT,
    add_question,
    check_compass,
    read_compass,
    schema,
    write_text,
)
from server.rules.networkmap import add_entry
from server.rules.plan import LIFE_AREAS
from tests.support.server import ROOT


def problems(doc: Doc[Any]) -> list[str]:
    with i18n.using("nl"):
        return [str(p) for p in check_compass(doc.get_update())]


def test_a_compass_the_page_writes_reads_in_the_life_areas_order() -> None:
    doc: Doc[Any] = Doc()
    write_text(doc, "answers", "if_nothing", "  Dan raak ik mijn huis kwijt. ")
    write_text(doc, "answers", "wishes_self", "Rust in mijn hoofd")
    write_text(doc, "strengths", "health", "Ik wandel elke dag")
    write_text(doc, "strengths", "safety", "Ik weet wie ik kan bellen")
    doc.get("strengths", type=Map)["meaning"] = "Ik ga naar de moskee"  # a plain string reads too
    priorities = doc.get("priorities", type=Map)
    priorities["health"] = True
    priorities["safety"] = True
    priorities["housing"] = False  # taken back
    add_question(doc, "Wie haalt de kinderen van school?", to_conference=True)
    gone = add_question(doc, "Een vraag die weg mag")
    gone["removed"] = True
    add_question(doc, "   ")  # an empty one is not a question yet
    add_entry(doc, "tante", "Tante Ans", ring=1, tie="strong", flow="to_client")

    compass = read_compass(doc.get_update())

    assert compass["answers"] == {
        "if_nothing": "Dan raak ik mijn huis kwijt.",
        "if_something": "",
        "wishes_self": "Rust in mijn hoofd",
        "wishes_others": "",
    }
    assert list(compass["strengths"]) == ["safety", "health", "meaning"]
    assert compass["strengths"]["meaning"] == "Ik ga naar de moskee"
    assert compass["priorities"] == ["safety", "health"]
    [question] = compass["questions"]
    assert question["text"] == "Wie haalt de kinderen van school?"
    assert question["to_conference"] is True and len(question["id"]) == 12
    [aunt] = compass["map"]  # the map as rules/networkmap.py reads it
    assert (aunt["name"], aunt["ring"], aunt["flow"]) == ("Tante Ans", 1, "to_client")
    assert problems(doc) == []


def test_reading_never_fails_on_wrong_types_or_broken_bytes() -> None:
    doc: Doc[Any] = Doc()
    doc.get("answers", type=Map)["if_nothing"] = 42
    doc.get("strengths", type=Map)["health"] = Array([1, 2])
    doc.get("priorities", type=Map)["health"] = "ja"
    doc.get("questions", type=Array).append("een losse tekst")
    compass = read_compass(doc.get_update())
    assert compass["answers"]["if_nothing"] == ""
    assert compass["strengths"] == {} and compass["priorities"] == []
    assert compass["questions"] == []
    empty = read_compass(b"\x00not yjs")
    assert (
        empty
        == read_compass(b"")
        == {
            "answers": dict.fromkeys(ANSWER_KEYS, ""),
            "strengths": {},
            "priorities": [],
            "questions": [],
            "map": [],
        }
    )
    # A root made of another type (questions as a map) reads as nothing, never an error.
    other: Doc[Any] = Doc()
    other.get("questions", type=Map)["x"] = Text("vraag")
    assert read_compass(other.get_update())["questions"] == []


def test_each_mismatch_is_named_with_its_part_and_place() -> None:
    doc: Doc[Any] = Doc()
    write_text(doc, "strengths", "health", "x" * (STRENGTH_LIMIT + 1))
    write_text(doc, "strengths", "sports", "Ik voetbal")
    write_text(doc, "answers", "if_maybe", "?")
    doc.get("answers", type=Map)["wishes_self"] = 7
    priorities = doc.get("priorities", type=Map)
    for area in list(LIFE_AREAS)[: MAX_PRIORITIES + 1]:
        priorities[area] = True
    priorities["hobbies"] = True
    add_question(doc, "y" * (QUESTION_LIMIT + 1))
    add_question(doc, "Goed zo")["to_conference"] = "ja"
    assert problems(doc) == [
        "Wat moet er veranderen, if_maybe: deze vraag kent Kring niet",
        "Wat moet er veranderen, Wat wens ik voor mezelf?: dit is geen tekst",
        f"Mijn krachten, gezondheid & zelfverzorging: te lang ({STRENGTH_LIMIT + 1} van "
        f"{STRENGTH_LIMIT} tekens)",
        "Mijn krachten, sports: dit leefgebied kent Kring niet",
        "Wat eerst komt, hobbies: dit leefgebied kent Kring niet",
        f"Wat eerst komt: {MAX_PRIORITIES + 1} gekozen; kies er hoogstens {MAX_PRIORITIES}",
        f"Vragen voor de conferentie, vraag 1: te lang ({QUESTION_LIMIT + 1} van "
        f"{QUESTION_LIMIT} tekens)",
        "Vragen voor de conferentie, vraag 2: dit is geen ja of nee",
    ]
    assert check_compass(b"\x00not yjs")


def test_the_schema_gives_the_browser_the_areas_answers_and_limits() -> None:
    data = schema()
    assert data["answers"] == list(ANSWER_KEYS)
    assert data["life_areas"] == list(LIFE_AREAS) and len(data["life_areas"]) == 10
    assert data["max_priorities"] == MAX_PRIORITIES == 4
    assert data["suggested_priorities"] == [3, 4]
    assert data["text_limits"]["question"] == QUESTION_LIMIT


def test_the_browser_mirrors_the_key_names_of_the_schema() -> None:
    source = (ROOT / "web" / "src" / "compass-schema.js").read_text()

    def names(constant: str) -> list[str]:
        found = re.search(rf"{constant} = \[([^\]]*)\]", source, re.DOTALL)
        assert found is not None, constant
        return re.findall(r'"(\w+)"', found.group(1))

    assert names("COMPASS_ROOTS") == list(ROOTS)
    assert names("ANSWER_KEYS") == list(ANSWER_KEYS)
    assert names("QUESTION_KEYS") == list(QUESTION_KEYS)
    made = set(re.findall(r'question\.set\("(\w+)"', source))
    assert made == set(QUESTION_KEYS), "newQuestion() sets each key"
