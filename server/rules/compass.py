"""The shape of the ``compass`` document (the network compass), reading it and checking it (pure).

In the preparation the client fills in the network compass with the coordinator and the
network members they chose as supporters (who may: ``rules/phases.py``). This module writes
down its shape; the browser (web/src/compass-schema.js) mirrors the key names and gets the
limits from :func:`schema` through the page. The network map, one more root of the same
document, is ``rules/networkmap.py``'s.

============== ================================ =============================================
root           Yjs type                         meaning
============== ================================ =============================================
``answers``    Y.Map {key: Y.Text}              what should change, in the client's words;
                                                the keys are :data:`ANSWER_KEYS`:
                                                ``if_nothing`` (six months from now, if
                                                nothing is done), ``if_something`` (... if
                                                something is done), ``wishes_self``,
                                                ``wishes_others``
``strengths``  Y.Map {life area: Y.Text}        the strengths inventory: per life area
                                                (``rules/plan.py`` LIFE_AREAS) what goes well,
                                                first person, the client's own words
``priorities`` Y.Map {life area: True}          the life areas that come first: 3 or 4 are
                                                chosen, more than :data:`MAX_PRIORITIES` is a
                                                problem
``questions``  Y.Array of Y.Map                 the questions for the conference, each
                                                ``{"id": str, "text": Y.Text,
                                                "to_conference": bool, "removed": bool}``;
                                                a removed one can be brought back
``map``        Y.Map {entry id: Y.Map}          the network map (``rules/networkmap.py``)
============== ================================ =============================================

Text values are Y.Text so two people can type in one field at once; a plain string is read
the same way. :func:`read_compass` never fails: a value of the wrong type reads as empty.
:func:`check_compass` says what does not fit.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from pycrdt import Array, Doc, Map, Text

from server.i18n import N_, Labels, _
from server.rules.networkmap import read_map
from server.rules.plan import LIFE_AREAS, _load, _root, _text

# What should change, as the compass asks it (the questions the page shows).
ANSWERS: Labels[str] = Labels(
    {
        "if_nothing": N_("Als er niets gebeurt: hoe is het over een half jaar?"),
        "if_something": N_("Als er wel iets gebeurt: hoe is het over een half jaar?"),
        "wishes_self": N_("Wat wens ik voor mezelf?"),
        "wishes_others": N_("Wat wens ik voor de anderen?"),
    }
)
ANSWER_KEYS = tuple(ANSWERS)
ROOTS = ("answers", "strengths", "priorities", "questions", "map")
QUESTION_KEYS = ("id", "text", "to_conference", "removed")

ANSWER_LIMIT = 2000
STRENGTH_LIMIT = 2000
QUESTION_LIMIT = 500
MAX_PRIORITIES = 4  # the method asks for 3 or 4
SUGGESTED_PRIORITIES = (3, 4)

PARTS: Labels[str] = Labels(
    {
        "answers": N_("Wat moet er veranderen"),
        "strengths": N_("Mijn krachten"),
        "priorities": N_("Wat eerst komt"),
        "questions": N_("Vragen voor de conferentie"),
    }
)


def schema() -> dict[str, Any]:
    """The key names, limits and choices the browser needs, as JSON-ready data."""
    return {
        "answers": list(ANSWER_KEYS),
        "life_areas": list(LIFE_AREAS),
        "text_limits": {
            "answer": ANSWER_LIMIT,
            "strength": STRENGTH_LIMIT,
            "question": QUESTION_LIMIT,
        },
        "max_priorities": MAX_PRIORITIES,
        "suggested_priorities": list(SUGGESTED_PRIORITIES),
    }


def read_compass(state: bytes) -> dict[str, Any]:
    """The compass in a Yjs state (``Doc.get_update()``) as JSON-ready data; never fails.

    ``{"answers": {key: str} (every key of ANSWER_KEYS, "" when empty),
    "strengths": {life area: str} (filled ones only, in LIFE_AREAS order),
    "priorities": [life area, ...] (in LIFE_AREAS order),
    "questions": [{"id", "text", "to_conference"}, ...] (removed and empty ones left out),
    "map": [{"id", "name", "kind", "ring", "angle", "tie", "flow", "gone", "gap", "child",
    "age"}, ...] (``networkmap.read_map``'s entries as dicts)}``.
    Unknown keys and life areas are left out (:func:`check_compass` reports them; the map's
    problems are ``networkmap.check_map``'s).
    """
    empty: dict[str, Any] = {
        "answers": dict.fromkeys(ANSWER_KEYS, ""),
        "strengths": {},
        "priorities": [],
        "questions": [],
        "map": [],
    }
    try:
        doc = _load(state)
    except Exception:
        return empty
    answers = _root(doc, "answers", Map)
    strengths = _root(doc, "strengths", Map)
    priorities = _root(doc, "priorities", Map)
    chosen = set()
    if priorities is not None:
        chosen = {key for key, value in priorities.items() if value is True}
    return {
        "answers": {
            key: _text(answers.get(key)).strip() if answers is not None else ""
            for key in ANSWER_KEYS
        },
        "strengths": {
            area: text
            for area in LIFE_AREAS
            if strengths is not None and (text := _text(strengths.get(area)).strip())
        },
        "priorities": [area for area in LIFE_AREAS if area in chosen],
        "questions": _questions(_root(doc, "questions", Array)),
        "map": [asdict(entry) for entry in read_map(state)],
    }


def _questions(items: Any) -> list[dict[str, Any]]:
    questions = []
    for item in items or ():
        if not isinstance(item, Map) or item.get("removed") is True:
            continue
        text = _text(item.get("text")).strip()
        if text:
            questions.append(
                {
                    "id": _text(item.get("id")),
                    "text": text,
                    "to_conference": item.get("to_conference") is True,
                }
            )
    return questions


# -- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing in the compass that does not fit: the part (a root), where in it (an answer
    key, a life area, a question's number), and what is wrong (a Dutch message id with its
    values, shown in the reader's language)."""

    part: str
    where: str
    message: str
    values: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        part = PARTS.get(self.part, self.part)
        if self.part == "questions" and self.where:
            place = _("vraag %(number)s", number=self.where)
        elif self.part in ("strengths", "priorities") and self.where in LIFE_AREAS:
            place = LIFE_AREAS[self.where].lower()
        elif self.part == "answers" and self.where in ANSWERS:
            place = ANSWERS[self.where]
        else:
            place = self.where
        problem = _(self.message, **dict(self.values))
        return f"{part}, {place}: {problem}" if place else f"{part}: {problem}"


def _too_long(count: int, limit: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    return N_("te lang (%(count)s van %(limit)s tekens)"), (("count", count), ("limit", limit))


def check_compass(state: bytes) -> list[Problem]:
    """Everything in the compass that does not fit its shape: texts over their limit, more than
    :data:`MAX_PRIORITIES` priorities, life areas and answers Kring does not know, values of
    another type."""
    try:
        doc = _load(state)
    except Exception:
        return [Problem("", "", N_("het document kan niet gelezen worden"))]
    problems: list[Problem] = []
    problems += _texts(_root(doc, "answers", Map), "answers", set(ANSWER_KEYS), ANSWER_LIMIT)
    problems += _texts(_root(doc, "strengths", Map), "strengths", set(LIFE_AREAS), STRENGTH_LIMIT)
    priorities = _root(doc, "priorities", Map)
    if priorities is None:
        problems.append(Problem("priorities", "", N_("staat er in een vorm die Kring niet kent")))
    else:
        chosen = 0
        for area, value in sorted(priorities.items()):
            if area not in LIFE_AREAS:
                problems.append(Problem("priorities", area, N_("dit leefgebied kent Kring niet")))
            elif value is True:
                chosen += 1
            elif value is not False:
                problems.append(Problem("priorities", area, N_("dit is geen ja of nee")))
        if chosen > MAX_PRIORITIES:
            problems.append(
                Problem(
                    "priorities",
                    "",
                    N_("%(count)s gekozen; kies er hoogstens %(limit)s"),
                    (("count", chosen), ("limit", MAX_PRIORITIES)),
                )
            )
    problems += _question_problems(_root(doc, "questions", Array))
    return problems


def _texts(root: Any, part: str, known: set[str], limit: int) -> list[Problem]:
    if root is None:
        return [Problem(part, "", N_("staat er in een vorm die Kring niet kent"))]
    problems = []
    for key, value in sorted(root.items()):
        if key not in known:
            message = N_("dit leefgebied kent Kring niet") if part == "strengths" else None
            problems.append(Problem(part, key, message or N_("deze vraag kent Kring niet")))
        elif not isinstance(value, (Text, str)):
            problems.append(Problem(part, key, N_("dit is geen tekst")))
        elif len(str(value)) > limit:
            problems.append(Problem(part, key, *_too_long(len(str(value)), limit)))
    return problems


def _question_problems(questions: Any) -> list[Problem]:
    if questions is None:
        return [Problem("questions", "", N_("staat er in een vorm die Kring niet kent"))]
    problems = []
    for number, item in enumerate(questions, start=1):
        where = str(number)
        if not isinstance(item, Map):
            problems.append(Problem("questions", where, N_("dit is geen vraag")))
            continue
        text = item.get("text")
        if text is not None and not isinstance(text, (Text, str)):
            problems.append(Problem("questions", where, N_("dit is geen tekst")))
        elif len(_text(text)) > QUESTION_LIMIT:
            problems.append(Problem("questions", where, *_too_long(len(str(text)), QUESTION_LIMIT)))
        for flag in ("to_conference", "removed"):
            if item.get(flag) not in (None, True, False):
                problems.append(Problem("questions", where, N_("dit is geen ja of nee")))
    return problems


# -- writing, as the compass page does (for the tests and the demo) ---------------------------


def add_question(doc: Doc[Any], text: str, *, to_conference: bool = False) -> Map[Any]:
    """Append a question the way the compass page does."""
    question: Map[Any] = Map(
        {
            "id": uuid.uuid4().hex[:12],
            "text": Text(text),
            "to_conference": to_conference,
            "removed": False,
        }
    )
    doc.get("questions", type=Array).append(question)
    return question


def write_text(doc: Doc[Any], part: str, key: str, text: str) -> None:
    """Set an answer (``part`` "answers") or a strength ("strengths") to ``text``."""
    root = doc.get(part, type=Map)
    root[key] = Text(text)
