"""Every catalogue holds every sentence Kring shows, with the parameters its Dutch has.

Kring's message ids are its Dutch sentences; English, Turkish, Arabic and Polish each have a
catalogue for the server (``server/locale/<language>/LC_MESSAGES/messages.po``) and one for
the browser (``web/src/i18n/<language>.json``, keyed, with Dutch in ``nl.json``). The server
checks run Babel's extraction in-process, with the project's own babel.cfg, over ``server/``
and ``web/templates/``: a string someone marks with ``_()`` but leaves untranslated in any
language fails here, and so does a translation with a ``%(name)s`` its Dutch lacks.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from server import i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in i18n.LANGUAGES if language != i18n.DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")
BROWSER_PLACEHOLDER = re.compile(r"\{(\w+)\}")
BROWSER = ROOT / "web" / "src" / "i18n"


def po_path(language: str) -> Path:
    return ROOT / "server" / "locale" / language / "LC_MESSAGES" / "messages.po"


def _searched(dirpath: str) -> bool:
    """Only server/ and web/templates/ (not node_modules, caches or the virtualenv)."""
    relative = Path(os.path.relpath(dirpath, ROOT))
    if relative.name.startswith((".", "_")) and relative != Path("."):
        return False
    parts = relative.parts
    return (
        relative == Path(".")
        or parts[0] == "server"
        or parts == ("web",)
        or parts[:2] == ("web", "templates")
    )


def extract_messages() -> Catalog:
    """What `pybabel extract -F babel.cfg` finds, as a catalogue of Dutch message ids."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog(locale="nl")
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, directory_filter=_searched
    ):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


def catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return extract_messages()


def _forms(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def test_extraction_finds_the_strings_of_python_and_of_templates(extracted: Catalog) -> None:
    ids = {message.id for message in extracted if message.id}
    where = {loc[0].split("/")[0] for message in extracted for loc in message.locations}
    assert "Deze link werkt niet meer" in ids, "a module-level label marked with N_()"
    assert "%(name)s is toegevoegd." in ids, "a sentence with a parameter"
    assert "Welkom bij Kring" in ids, "a template string"
    assert {"server", "web"} <= where


MARKERS = {"_", "N_", "gettext", "ngettext"}


def marked_in_code() -> list[tuple[str, int, str]]:
    """Every literal passed to ``_``, ``N_``, ``gettext`` or ``ngettext`` in ``server/``, read
    from the syntax tree: also where Babel's extraction skips it (inside an f-string, or as an
    argument of another marked call)."""
    found = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((str(path.relative_to(ROOT)), node.lineno, first.value))
    return found


def test_every_string_the_code_marks_is_extracted(extracted: Catalog) -> None:
    """A marked string Babel does not extract is in no catalogue: every reader gets Dutch."""
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in extracted if m.id}
    marked = marked_in_code()
    assert len(marked) > 500  # the code's strings are found at all
    assert [(path, line, text) for path, line, text in marked if text not in ids] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated_in_every_form_the_language_counts(
    extracted: Catalog, language: str
) -> None:
    catalog = catalogue(language)
    forms = get_plural(language).num_plurals  # Arabic counts six forms, Polish three
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        texts = _forms(translated.string) if translated and not translated.fuzzy else ()
        wanted = forms if isinstance(message.id, tuple) else 1
        if len(texts) != wanted or not all(texts):
            missing.append(message.id)
    assert not missing, f"translate in {po_path(language).relative_to(ROOT)}: {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_catalogue_holds_each_string_once_and_none_the_code_no_longer_uses(
    extracted: Catalog, language: str
) -> None:
    stale = [m.id for m in catalogue(language) if m.id and extracted.get(m.id) is None]
    assert not stale, f"remove from {po_path(language).relative_to(ROOT)}: {stale}"
    # Babel keeps the last of two entries with one msgid: a second one would hide the first.
    ids = Counter(re.findall(r'^msgid (".*")$', po_path(language).read_text(), re.M))
    assert [msgid for msgid, count in ids.items() if count > 1] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_keeps_the_parameters_of_its_dutch(language: str) -> None:
    wrong = []
    for message in catalogue(language):
        if not message.id:
            continue
        dutch = set(PLACEHOLDER.findall(" ".join(_forms(message.id))))
        for text in _forms(message.string):
            found = set(PLACEHOLDER.findall(text))
            if found - dutch:
                wrong.append((message.id, text))  # a parameter the code never fills in
            if "%" in PLACEHOLDER.sub("", text).replace("%%", ""):
                wrong.append((message.id, text))  # a stray % breaks the formatting
        if not isinstance(message.id, tuple) and set(PLACEHOLDER.findall(message.string)) != dutch:
            wrong.append((message.id, message.string))  # a name or number left out
    assert not wrong


def test_a_string_a_catalogue_lacks_is_shown_in_dutch_not_as_an_identifier() -> None:
    with i18n.using("tr"):
        assert i18n.gettext("Uitloggen") == "Çıkış yap"
        assert i18n.gettext("Een zin die (nog) geen catalogue heeft.") == (
            "Een zin die (nog) geen catalogue heeft."
        )
    with i18n.using("ar"):  # Arabic's six plural forms, chosen by count
        forms = {n: i18n.ngettext("%(num)s kaart", "%(num)s kaarten", n) for n in (0, 1, 2, 3, 11)}
        assert len(set(forms.values())) == 5, forms


# -- the browser's catalogues -----------------------------------------------------------------


def browser_catalogue(language: str) -> dict[str, str]:
    loaded = json.loads((BROWSER / f"{language}.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def plural_base(key: str) -> str | None:
    match = re.fullmatch(r"(.+)_(zero|one|two|few|many|other)", key)
    return match.group(1) if match else None


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_browser_string_is_translated_with_the_plural_forms_of_the_language(
    language: str,
) -> None:
    dutch = browser_catalogue("nl")
    theirs = browser_catalogue(language)
    categories = Locale.parse(language).plural_form.tags | {"other"}
    wanted = {key for key in dutch if plural_base(key) is None}
    for base in {plural_base(key) for key in dutch} - {None}:
        wanted |= {f"{base}_{category}" for category in categories}
    assert sorted(wanted - set(theirs)) == [], f"web/src/i18n/{language}.json lacks these"
    unknown = {key for key in theirs if key not in dutch and plural_base(key) not in dutch}
    unknown = {key for key in unknown if f"{plural_base(key)}_other" not in dutch}
    assert sorted(unknown) == [], "keys the browser never asks for"
    wrong = []
    for key, text in theirs.items():
        source = dutch.get(key) or dutch.get(f"{plural_base(key)}_other", "")
        if not text.strip() and source.strip():
            wrong.append((key, text))
        if set(BROWSER_PLACEHOLDER.findall(text)) - set(BROWSER_PLACEHOLDER.findall(source)):
            wrong.append((key, text))
    assert wrong == []
