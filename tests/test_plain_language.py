"""Plain language (B1) for the Dutch that families read, checked with a readability score.

The strings are the Dutch message ids of the pages, partials and texts a family member meets
(found by Babel's extraction with the project's ``babel.cfg``, as ``pybabel extract`` does) and
the browser's strings in ``web/src/i18n/nl.json``. Each one of ``MIN_WORDS`` words or more
(placeholders left out) is scored with Flesch-Douma, the Dutch form of Flesch Reading Ease:

    206.835 - 0.93 * (words per sentence) - 77 * (syllables per word)

A string below ``THRESHOLD`` fails, unless ``ALLOWED`` names it with the reason. The README's
"Plain language" says what the score means and why the line is drawn at 60.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import textstat
from babel.messages.extract import extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.util import pathmatch

ROOT = Path(__file__).resolve().parent.parent

THRESHOLD = 60.0  # Flesch-Douma: 60-70 is plain everyday Dutch, about level B1
MIN_WORDS = 8  # a shorter text gives a score that says little (one long word decides it)

# What a family member reads. Templates: their own pages, the plan editor and its copy, the
# presentation screen, the compass and the network map, with the partials these include, and
# the invitation letter. Python: the invitation texts sent by WhatsApp, SMS and mail.
FAMILY_FILES = (
    "web/templates/base.html",
    "web/templates/_live_bar.html",
    "web/templates/_macros.html",
    "web/templates/participant/landing.html",
    "web/templates/participant/_compass.html",
    "web/templates/participant/_invitation.html",
    "web/templates/participant/_privacy_text.html",
    "web/templates/participant/condition_delete.html",
    "web/templates/participant/link_problem.html",
    "web/templates/participant/open.html",
    "web/templates/participant/waiting.html",
    "web/templates/meeting/plan.html",
    "web/templates/meeting/_plan.html",
    "web/templates/meeting/copy.html",
    "web/templates/meeting/present.html",
    "web/templates/meeting/_present.html",
    "web/templates/meeting/_admission.html",
    "web/templates/meeting/_who_is_in.html",
    "web/templates/meeting/_device.html",
    "web/templates/meeting/_conference_questions.html",
    "web/templates/meeting/_live_text.html",
    "web/templates/compass/compass.html",
    "web/templates/compass/map.html",
    "web/templates/compass/_download.html",
    "web/templates/conferences/_when_where.html",
    "web/templates/handout/_letter.html",
    "server/rules/handout.py",
)
BROWSER_CATALOGUE = ROOT / "web" / "src" / "i18n" / "nl.json"
# Browser strings a family never sees: the coordinator's hand-out page.
COORDINATOR_KEYS = ("handout.",)

# Strings that may score lower, each with the reason (a name, a quoted heading...).
ALLOWED: dict[str, str] = {}

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
TAG = re.compile(r"<[^>]+>")


def family_strings() -> Iterator[tuple[str, str]]:
    """(where, Dutch text) for every string a family reads, plural forms one by one."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    for path in FAMILY_FILES:
        pattern, method = next((p, m) for p, m in method_map if pathmatch(p, path))
        for lineno, message, _comments, _context in extract_from_file(
            method, str(ROOT / path), options=options_map[pattern]
        ):
            forms = message if isinstance(message, tuple) else (message,)
            for form in forms:
                if form:
                    yield f"{path}:{lineno}", form
    catalogue = json.loads(BROWSER_CATALOGUE.read_text(encoding="utf-8"))
    for key, text in catalogue.items():
        if not key.startswith(COORDINATOR_KEYS):
            yield f"nl.json {key}", text


def readable(text: str) -> str:
    """The words a reader reads: without placeholders, HTML tags or doubled spaces."""
    return " ".join(PLACEHOLDER.sub(" ", TAG.sub(" ", text)).replace("%%", "%").split())


def douma(text: str) -> float:
    textstat.set_lang("nl")
    return float(textstat.flesch_reading_ease(text))


@pytest.fixture(scope="module")
def strings() -> list[tuple[str, str]]:
    return list(family_strings())


def test_the_score_is_flesch_douma() -> None:
    # 6 words, 6 syllables, 1 sentence: 206.835 - 0.93 * 6 - 77 * 1
    assert douma("De kat zit op de mat.") == pytest.approx(124.255)
    # 7 words, 12 syllables (drin-ken, kof-fie, ge-zel-lig, sa-men), 2 sentences
    assert douma("We drinken koffie. Het is gezellig samen.") == pytest.approx(
        206.835 - 0.93 * 7 / 2 - 77 * 12 / 7
    )


def test_every_family_file_gives_strings(strings: list[tuple[str, str]]) -> None:
    """A file that moved or lost its strings would silently leave the check."""
    found = {where.rsplit(":", 1)[0] for where, _text in strings}
    assert set(FAMILY_FILES) <= found, set(FAMILY_FILES) - found
    assert sum(where.startswith("nl.json") for where, _text in strings) > 50


def test_what_families_read_is_plain_dutch(strings: list[tuple[str, str]]) -> None:
    hard = []
    for where, text in strings:
        words = readable(text)
        if len(words.split()) < MIN_WORDS or text in ALLOWED:
            continue
        score = douma(words)
        if score < THRESHOLD:
            hard.append(f"{score:5.1f}  {where}  {text}")
    assert not hard, (
        f"below Flesch-Douma {THRESHOLD:g}: write shorter sentences and more common words "
        "(or name the string in ALLOWED with the reason):\n" + "\n".join(hard)
    )


def test_the_allowlist_names_only_strings_that_need_it(strings: list[tuple[str, str]]) -> None:
    texts = {text for _where, text in strings}
    stale = [t for t in ALLOWED if t not in texts or douma(readable(t)) >= THRESHOLD]
    assert not stale, f"remove from ALLOWED: {stale}"
