"""Translations: Kring speaks Dutch (the language its strings are written in), English,
Turkish, Arabic (written right to left) and Polish.

The language is chosen per request and kept in a context variable: the middleware sets it
from the ``kring_lang`` cookie or the browser's Accept-Language, and the auth helpers set it
again when they know who is asking (a person's own choice is stored on their row). Code then
just calls::

    from server.i18n import _, ngettext, N_

    _("Deze link werkt niet meer")                       # a sentence in the current language
    _("%(name)s is toegevoegd.", name=participant.name)  # with parameters, never an f-string
    ngettext("%(num)s kaart", "%(num)s kaarten", n)      # ``num`` is filled in
    LABELS = Labels({"x": N_("Iets")})                   # module level: marked, read later

The message ids are the Dutch sentences. ``server/locale/<language>/LC_MESSAGES/messages.po``
holds each other language; the ``.po`` files are read at start-up (no compile step, no ``.mo``
files). A sentence a catalogue lacks is shown in Dutch, never as an identifier.
``pybabel extract -F babel.cfg -o messages.pot .`` finds every marked string in ``server/``
and ``web/templates/``; ``tests/test_i18n.py`` fails for a string without an English text.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup, escape

# Each language under its own name, as its readers look for it in the menu.
LANGUAGES = {
    "nl": "Nederlands",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "pl": "Polski",
}
# The languages written from right to left: their pages get ``dir="rtl"``.
RIGHT_TO_LEFT = frozenset({"ar"})
DEFAULT_LANGUAGE = "nl"
LANGUAGE_COOKIE = "kring_lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# The language of what is being answered now. Dutch unless someone chose English: the
# browser's Accept-Language is not asked (many Dutch families' tablets are set to English).
_current: ContextVar[str] = ContextVar("kring_language", default=DEFAULT_LANGUAGE)


def load_catalog(language: str) -> _gettext.NullTranslations:
    """The translations of ``language`` from its ``.po`` file (none: the message ids)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


# Read when first needed: a `kring` command or a worker process of the heavy work reads only
# the languages it writes in (reading all four .po files takes about 0.2 s); the server reads
# them all at start-up (read_catalogs), never in the middle of a request.
_CATALOGS: dict[str, _gettext.NullTranslations] = {}


def _catalog() -> _gettext.NullTranslations:
    language = get_language()
    found = _CATALOGS.get(language)
    if found is None:
        found = _CATALOGS[language] = load_catalog(language)
    return found


def read_catalogs() -> None:
    """Read every language's translations now (the server, at start-up)."""
    for language in LANGUAGES:
        if language not in _CATALOGS:
            _CATALOGS[language] = load_catalog(language)


# -- the current language ---------------------------------------------------------------------


def get_language() -> str:
    return _current.get()


def set_language(language: str | None) -> None:
    """Answer in ``language`` from now on in this request (an unknown one is ignored)."""
    if language in LANGUAGES:
        _current.set(language)


def use_person_language(stored: str | None) -> None:
    """Someone known is asking: their own choice, or else Dutch (the device's cookie may hold
    another person's choice on a shared tablet)."""
    _current.set(stored if stored in LANGUAGES else DEFAULT_LANGUAGE)


@contextmanager
def using(language: str) -> Iterator[None]:
    """Translate into ``language`` inside the block (a message for someone else)."""
    token = _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def start_request(cookie: str | None) -> Any:
    """Set the language for a request nobody is known in yet (this device's choice, or
    Dutch); return a token to reset."""
    return _current.set(cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE)


def end_request(token: Any) -> None:
    _current.reset(token)


# -- translating ----------------------------------------------------------------------------


def gettext(message: str, **params: Any) -> str:
    """``message`` (Dutch) in the current language, with ``%(name)s`` params filled in."""
    text = _catalog().gettext(message)
    return text % params if params else text


_ = gettext


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    """The singular or plural form for ``n``, in the current language; ``%(num)s`` is n."""
    params.setdefault("num", n)
    return _catalog().ngettext(singular, plural, n) % params


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (module-level labels)."""
    return message


K = TypeVar("K")


class Labels(Mapping[K, str]):
    """Labels by identifier, kept as Dutch message ids and read in the current language."""

    def __init__(self, labels: Mapping[K, str]) -> None:
        self.msgids = dict(labels)

    def __getitem__(self, key: K) -> str:
        return gettext(self.msgids[key])

    def __iter__(self) -> Iterator[K]:
        return iter(self.msgids)

    def __len__(self) -> int:
        return len(self.msgids)

    def __repr__(self) -> str:
        return f"Labels({self.msgids!r})"


# -- dates and times -------------------------------------------------------------------------

# How each language writes a date: Dutch as in the Netherlands (31-12-2026), English as in
# Britain (31/12/2026): Kring's English readers live in Europe, a US 12/31/26 would mislead.
# Arabic with the digits used in Europe (CLDR's "ar" does; the browser is told the same).
_BABEL_LOCALES = {"nl": "nl_NL", "en": "en_GB", "tr": "tr_TR", "ar": "ar", "pl": "pl_PL"}
MOMENT_STYLES = ("datetime", "date", "time", "day")


def read_locale_data(language: str = DEFAULT_LANGUAGE) -> None:
    """Have Babel read a language's CLDR data (how it writes dates and numbers) now. Babel
    reads it the first time the language writes a date or a number, 10 to 50 ms of the event
    loop in the middle of a meeting: the server reads the default language's at start-up, and
    the others' (memory, a few MB each) when someone first reads in them."""
    _ = Locale.parse(language).number_symbols
    _ = Locale.parse(_BABEL_LOCALES[language]).date_formats


def on_clock(moment: datetime, zone: tzinfo) -> datetime:
    """A stored moment on the clock of ``zone`` (a naive datetime counts as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def format_moment(value: datetime | date, zone: tzinfo, style: str = "datetime") -> str:
    """``value`` as the current language writes it, a moment on the clock of ``zone``.

    ``style``: "datetime" (31-12-2026 19:54), "date" (31-12-2026), "time" (19:54) or "day"
    (donderdag 31 december 2026). A ``date`` is a day already: only its date is written.
    """
    if style not in MOMENT_STYLES:
        raise ValueError(f"unknown style {style!r}")
    locale = _BABEL_LOCALES.get(get_language(), _BABEL_LOCALES[DEFAULT_LANGUAGE])
    if isinstance(value, datetime):
        value = on_clock(value, zone)
    elif style in ("datetime", "time"):
        style = "date"
    day = value.date() if isinstance(value, datetime) else value
    if style == "day":
        return format_date(day, "full", locale=locale)
    if style == "date":
        return format_date(day, "short", locale=locale)
    assert isinstance(value, datetime)
    clock = format_time(value.time(), "short", locale=locale)
    return clock if style == "time" else f"{format_date(day, 'short', locale=locale)} {clock}"


# -- Jinja2 -----------------------------------------------------------------------------------


def _jinja_gettext(message: str) -> Markup:
    # Jinja marks a translation as safe HTML; ours are text, so escape them first.
    return escape(_catalog().gettext(message))


def _jinja_ngettext(singular: str, plural: str, n: int) -> Markup:
    return escape(_catalog().ngettext(singular, plural, n))


def install_jinja(env: Any) -> None:
    """``{{ _("...") }}``, ``{{ ngettext(...) }}`` and ``{% trans %}`` in ``env``'s templates,
    translated into the request's language (new-style: ``_("%(n)s", n=...)`` fills in)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(_jinja_gettext, _jinja_ngettext, newstyle=True)
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["text_direction"] = direction


def direction(language: str) -> str:
    """How ``language`` is written: "rtl" or "ltr" (the value of a ``dir`` attribute)."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def template_context(_request: Any) -> dict[str, Any]:
    """For every page: ``current_language`` and ``current_direction`` (``<html lang dir>``)."""
    language = get_language()
    return {"current_language": language, "current_direction": direction(language)}
