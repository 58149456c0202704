"""The preparation checklist and the practical side (pure): what is open and where it is done,
which practical input is refused and with which field named, and what the meeting takes from
the compass (the marked questions, the priorities' order)."""

from __future__ import annotations

from server.rules import practical
from server.rules.plan import LIFE_AREAS
from server.rules.preparation import (
    Item,
    PersonFacts,
    PreparationFacts,
    area_order,
    checklist,
    marked_questions,
    open_items,
)

SAM = PersonFacts(1, "Sam", "client", has_link=True)
ANS = PersonFacts(2, "Ans", "network_member", has_link=True, supporter=True)
JOP = PersonFacts(3, "Jop", "network_member", has_link=False, age=9)
OMA = PersonFacts(4, "Oma Fatma", "network_member", has_link=True, interpreter_language="Turks")


def _facts(**changes: object) -> PreparationFacts:
    values: dict[str, object] = {
        "meeting_date": True,
        "times": True,
        "place": True,
        "question": "Hoe blijft Sam thuis wonen?",
        "people": [SAM, ANS],
        "marked_questions": 2,
        "food_notes": "Ans kookt, halal.",
        "childcare_notes": "Niet nodig.",
    }
    values.update(changes)
    return PreparationFacts(**values)  # type: ignore[arg-type]


def _by_key(items: list[Item]) -> dict[str, Item]:
    return {item.key: item for item in items}


def test_a_prepared_conference_has_nothing_open() -> None:
    items = checklist(_facts())
    assert [i.key for i in items] == [
        "when",
        "where",
        "question",
        "supporters",
        "compass_questions",
        "invited",
        "interpreters",
        "children",
        "food_childcare",
    ]
    assert open_items(items) == []
    assert "Ans" in _by_key(items)["supporters"].status


def test_each_open_item_says_how_it_stands_and_where_it_is_done() -> None:
    fresh = _facts(
        meeting_date=True,
        times=False,
        place=False,
        question=" ",
        people=[SAM, JOP, OMA, PersonFacts(5, "Ans", "network_member", has_link=True)],
        marked_questions=0,
        food_notes="Broodjes",
        childcare_notes="",
    )
    items = _by_key(checklist(fresh))
    assert {i.key for i in open_items(items.values())} == set(items)  # everything is open
    assert (items["when"].place, items["when"].anchor) == ("edit", "start_time")
    assert (items["where"].place, items["where"].anchor) == ("edit", "location")
    assert (items["question"].place, items["question"].anchor) == ("edit", "question")
    assert items["supporters"].place == "participants"
    assert items["compass_questions"].place == "compass"
    # Jop has no link yet: named, and counted.
    assert items["invited"].names == ("Jop",)
    assert "3 van de 4" in items["invited"].status  # with a link
    # Oma needs an interpreter nobody arranged; Jop (9) has nobody supporting him.
    assert (items["interpreters"].place, items["interpreters"].anchor) == (
        "person",
        "interpreter_language-4",
    )
    assert "Oma Fatma (Turks)" in items["interpreters"].status
    assert (items["children"].anchor, items["children"].names) == ("supported_by-3", ("Jop",))
    assert (items["food_childcare"].place, items["food_childcare"].anchor) == (
        "practical",
        "childcare_notes",
    )
    # An unreadable compass is never counted as "no questions chosen".
    unread = _by_key(checklist(_facts(marked_questions=None)))["compass_questions"]
    assert not unread.done and "niet gelezen" in unread.status


def test_arranged_interpreters_and_supported_children_close_their_items() -> None:
    oma = PersonFacts(4, "Oma", "network_member", True, "Turks", interpreter_arranged=True)
    jop = PersonFacts(3, "Jop", "network_member", True, age=9, supported_by=2)
    by_child = PersonFacts(6, "Lies", "network_member", True, age=12, supported_by=3)
    items = _by_key(checklist(_facts(people=[SAM, ANS, oma, jop])))
    assert items["interpreters"].done and items["children"].done
    # A child cannot be another child's support: Lies counts as not supported.
    lies = _by_key(checklist(_facts(people=[SAM, ANS, jop, by_child])))["children"]
    assert not lies.done and lies.names == ("Lies",)


def test_once_invitations_are_tracked_the_item_counts_answers() -> None:
    people = [
        PersonFacts(1, "Sam", "client", invitation_status="maybe"),
        PersonFacts(2, "Ans", "network_member", invitation_status="coming"),
        PersonFacts(3, "Jop", "network_member", invitation_status="invited"),
        PersonFacts(4, "Bram", "professional", invitation_status="to_invite"),
    ]
    item = _by_key(checklist(_facts(people=people)))["invited"]
    assert not item.done and item.names == ("Jop", "Bram")
    assert item.status == "Uitgenodigd: 3 van de 4; geantwoord: 2."
    answered = [
        PersonFacts(i, n, "network_member", invitation_status="not_coming")
        for i, n in ((5, "A"), (6, "B"))
    ]
    assert _by_key(checklist(_facts(people=answered)))["invited"].done


def test_the_meeting_takes_the_marked_questions_and_only_the_order_of_priorities() -> None:
    compass = {
        "questions": [
            {"id": "q1", "text": "Wie helpt met de post?", "to_conference": True},
            {"id": "q2", "text": "Mag ik thuis blijven?", "to_conference": False},
            {"id": "q3", "text": "  ", "to_conference": True},
            {"id": "q4", "text": "Wie haalt Jop op?", "to_conference": True, "removed": True},
            "rommel",
        ],
        "priorities": ["health", "housing", "nonsense"],
    }
    assert marked_questions(compass) == [{"id": "q1", "text": "Wie helpt met de post?"}]
    order = area_order(compass)
    assert order[:2] == ["housing", "health"]  # the priorities, in the usual order
    assert sorted(order) == sorted(LIFE_AREAS) and len(order) == len(LIFE_AREAS)
    assert area_order({}) == list(LIFE_AREAS)


def test_a_marked_question_holding_a_control_character_is_copied_without_it() -> None:
    # Another Yjs client may write one; PostgreSQL cannot store a NUL, and one such question
    # made the whole copy fail when the meeting began, so none of them reached the meeting.
    compass = {
        "questions": [
            {"id": "q1", "text": "Wie\x00 helpt\x07?", "to_conference": True},
            {"id": "q2", "text": "\x00", "to_conference": True},
        ]
    }
    assert marked_questions(compass) == [{"id": "q1", "text": "Wie helpt?"}]


PEOPLE = [
    practical.Person(1, "Sam", "client"),
    practical.Person(2, "Ans", "network_member"),
    practical.Person(3, "Jop", "network_member", age=9, supported_by=2),
    practical.Person(4, "Lotte", "coordinator"),
    practical.Person(5, "Bram", "professional"),
]


def _person(who: int, **form: str) -> tuple[dict[str, object], dict[str, str]]:
    me = next(p for p in PEOPLE if p.id == who)
    result = practical.person_form(form, me, PEOPLE)
    return result.cleaned, result.errors


def test_practical_input_is_cleaned_or_refused_naming_the_field() -> None:
    cleaned, errors = _person(1, interpreter_language=" Arabisch ", interpreter_arranged="yes")
    assert errors == {}
    assert cleaned == {
        "interpreter_language": "Arabisch",
        "interpreter_arranged": True,
        "age": None,
        "supported_by_id": None,
    }
    # "arranged" without a language means nothing; an age without "child" is not kept.
    assert _person(1, interpreter_arranged="yes", age="7")[0]["interpreter_arranged"] is False
    assert _person(1, age="7")[0]["age"] is None
    assert _person(1, child="yes", age="15", supported_by="2") == (
        {
            "interpreter_language": "",
            "interpreter_arranged": False,
            "age": 15,
            "supported_by_id": 2,
        },
        {},
    )
    refused = {
        "age": [
            _person(1, child="yes")[1],
            _person(1, child="yes", age="18")[1],
            _person(1, child="yes", age="-1")[1],
            _person(1, child="yes", age="٣")[1],
        ],
        "supported_by": [
            _person(1, child="yes", age="4", supported_by="1")[1],  # herself
            _person(1, child="yes", age="4", supported_by="3")[1],  # another child
            _person(1, child="yes", age="4", supported_by="4")[1],  # the coordinator
            _person(1, child="yes", age="4", supported_by="99")[1],  # not on the list
        ],
        "child": [
            _person(5, child="yes", age="4")[1],  # a professional
            _person(2, child="yes", age="16")[1],  # Ans supports Jop
        ],
        "interpreter_language": [_person(1, interpreter_language="x" * 101)[1]],
    }
    for field, results in refused.items():
        for errors in results:
            assert field in errors, (field, errors)
    label = {"age": "Leeftijd", "supported_by": "Wie steunt het kind"}
    for field, words in label.items():
        assert all(words in errors[field] for errors in refused[field])
    assert "Jop" in refused["child"][1]["child"]


def test_practical_notes_keep_several_lines_and_refuse_what_no_field_holds() -> None:
    ok = practical.notes_form({"food_notes": "Soep\nBrood", "transport_notes": ""})
    assert ok.errors == {} and ok.cleaned["food_notes"] == "Soep\nBrood"
    assert ok.cleaned["childcare_notes"] == ""
    bad = practical.notes_form({"food_notes": "a" * 2001, "childcare_notes": "nul\x00"})
    assert set(bad.errors) == {"food_notes", "childcare_notes"}
    assert "Eten en drinken" in bad.errors["food_notes"]
