"""Validation of the coordinator's forms: values in, clean values or per-field errors out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from server.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Labels, _
from server.rules.phases import ROLES

# Fields that may hold several lines (textareas, and the API's "reason"); every other field
# people submit is one line, so a line break there is refused too.
MULTI_LINE_FIELDS = frozenset(
    {"question", "reason", "remark", "text", "food_notes", "childcare_notes", "transport_notes"}
)

# What a field is called in a refusal (a Dutch message id in lower case); others by their name.
FIELD_LABELS = Labels(
    {
        "client_name": N_("de naam van de cliënt"),
        "question": N_("de conferentievraag"),
        "location": N_("de plaats"),
        "address": N_("het adres"),
        "start_time": N_("de begintijd"),
        "end_time": N_("de eindtijd"),
        "name": N_("de naam"),
        "email": N_("het e-mailadres"),
        "password": N_("het wachtwoord"),
        "reason": N_("de reden"),
        "remark": N_("de toelichting"),
        "text": N_("de tekst"),
        "phase": N_("de fase"),
        "kind": N_("het soort signaal"),
        "next": N_("het vervolgadres"),
        "language": N_("de taal"),
        "contact_phone": N_("het telefoonnummer"),
        "phone": N_("het telefoonnummer"),
        "contact_email": N_("het e-mailadres voor contact"),
        "interpreter_language": N_("de taal van de tolk"),
        "age": N_("de leeftijd"),
        "supported_by": N_("wie het kind steunt"),
        "food_notes": N_("eten en drinken"),
        "childcare_notes": N_("de opvang van kinderen"),
        "transport_notes": N_("het vervoer"),
        "relation": N_("wie het is voor jullie"),
        "why": N_("waarom"),
        "note": N_("de notitie"),
    }
)


def bad_character(value: str, *, single_line: bool) -> str | None:
    """The first character of ``value`` that no text field accepts, else None: a control
    character other than tab and line breaks (a NUL cannot even be stored in PostgreSQL), a
    lone surrogate (JSON's "\\ud800"; no database can encode it), and in a one-line field a
    line break (it would end a mail header)."""
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and ch not in "\n\r\t"):
            return ch
        if single_line and ch in "\n\r":
            return ch
    return None


def printable(name: str) -> str:
    """A field's name as a refusal can show it (a name can be hostile too: "\\ud800")."""
    if bad_character(name, single_line=True) is None:
        return name
    return name.encode("unicode_escape", "backslashreplace").decode("ascii")


def text_refusal(name: str, value: str) -> str | None:
    """Why the submitted field ``name`` cannot hold ``value``, in words naming the field, or
    None. The one check every form, query parameter and JSON body goes through (see
    ``app.InputGuard``)."""
    ch = bad_character(value, single_line=name not in MULTI_LINE_FIELDS)
    if ch is None:
        return None
    label = FIELD_LABELS.get(name, printable(name))
    if ch in "\n\r":
        return _(
            "Het veld '%(name)s' (%(field)s) is één regel: haal het regeleinde weg.",
            name=printable(name),
            field=label,
        )
    return _(
        "Het veld '%(name)s' (%(field)s) bevat een onzichtbaar stuurteken of een ongeldig "
        "teken (U+%(code)s); haal het weg en probeer het opnieuw.",
        name=printable(name),
        field=label,
        code=f"{ord(ch):04X}",
    )


@dataclass
class FormResult:
    """What a form gave: the values to show again, the cleaned values, the errors per field."""

    values: dict[str, str]
    cleaned: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(result: FormResult, name: str, label: str, *, required: bool, max_length: int) -> None:
    """``label`` is a Dutch message id in lower case, like "de plaats"."""
    value = result.values.get(name, "").strip()
    label = _(label)
    if required and not value:
        result.errors[name] = _("Vul %(field)s in.", field=label)
    elif len(value) > max_length:
        result.errors[name] = _(
            "%(field)s mag hoogstens %(count)s tekens lang zijn.",
            field=label.capitalize(),
            count=max_length,
        )
    elif bad_character(value, single_line=name not in MULTI_LINE_FIELDS) is not None:
        result.errors[name] = _(
            "%(field)s bevat onzichtbare stuurtekens.", field=label.capitalize()
        )
    else:
        result.cleaned[name] = value


def _values(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in names}


CONFERENCE_FIELDS = (
    "client_name",
    "question",
    "meeting_date",
    "start_time",
    "end_time",
    "location",
    "address",
)
# The years a conference's date may fall in.
FIRST_YEAR, LAST_YEAR = 2000, 2999
# A clock time as a time field sends it ("14:30", "14:30:00"), or typed as "9.30".
_CLOCK = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})(?::[0-9]{2})?")


def _clock(result: FormResult, name: str) -> time | None:
    """The time of day typed in ``name`` (None: left empty or not a time, with an error)."""
    raw = result.values[name].strip()
    found = _CLOCK.fullmatch(raw)
    if not raw:
        return None
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        result.errors[name] = _("Geef een tijd als 14:30 (uren:minuten).")
        return None
    return time(int(found[1]), int(found[2]))


def conference_form(form: Mapping[str, Any], zone: tzinfo) -> FormResult:
    """A new or edited conference. Its start and end times are typed on the clock of ``zone``
    (the instance's) and kept as UTC moments on its date; both or neither, the end after the
    start."""
    result = FormResult(_values(form, CONFERENCE_FIELDS))
    _text(result, "client_name", N_("de naam van de cliënt"), required=True, max_length=200)
    _text(result, "question", N_("de conferentievraag"), required=True, max_length=1000)
    _text(result, "location", N_("de plaats"), required=False, max_length=200)
    _text(result, "address", N_("het adres"), required=False, max_length=300)
    raw_date = result.values["meeting_date"].strip()
    day = None
    if raw_date:
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            result.errors["meeting_date"] = _("Geef een datum als 2026-12-31 (jaar-maand-dag).")
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            # A typo (0202, 20266): its moments would not even fit a UTC clock or an .ics.
            result.errors["meeting_date"] = _(
                "Geef een datum tussen %(first)s en %(last)s.", first=FIRST_YEAR, last=LAST_YEAR
            )
            day = None
    result.cleaned["meeting_date"] = day
    start, end = _clock(result, "start_time"), _clock(result, "end_time")
    result.cleaned["starts_at"] = result.cleaned["ends_at"] = None
    if start is None and end is None:
        return result
    if start is None and "start_time" not in result.errors:
        result.errors["start_time"] = _("Vul ook de begintijd in, of laat beide tijden leeg.")
    if end is None and "end_time" not in result.errors:
        result.errors["end_time"] = _("Vul ook de eindtijd in, of laat beide tijden leeg.")
    if start is not None and end is not None and end <= start:
        result.errors["end_time"] = _(
            "De eindtijd moet na de begintijd (%(start)s) liggen.", start=f"{start:%H:%M}"
        )
    if not raw_date:
        result.errors["meeting_date"] = _("Vul de datum in: de tijden horen bij een dag.")
    if day is None or start is None or end is None or not result.ok:
        return result
    for name, clock in (("start_time", start), ("end_time", end)):
        if _moment(day, clock, zone).astimezone(zone).time() != clock:
            result.errors[name] = _(
                "%(time)s bestaat niet op deze dag: de klok wordt dan een uur vooruitgezet.",
                time=f"{clock:%H:%M}",
            )
    if not result.ok:
        return result
    result.cleaned["starts_at"] = _moment(day, start, zone)
    result.cleaned["ends_at"] = _moment(day, end, zone)
    return result


def _moment(day: date, clock: time, zone: tzinfo) -> datetime:
    """``clock`` on ``day`` where the conference is held, as a UTC moment."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


# An address a mail server accepts: ASCII local part and a domain of dotted labels. Stricter
# than RFC 5322 on purpose: what a coordinator types by mistake is refused here, not bounced.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_email_address(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def _optional_email(result: FormResult) -> None:
    """A participant's own address for reminders: empty (None), or one that looks right."""
    email = result.values["email"].strip()
    if email and not is_email_address(email):
        result.errors["email"] = _(
            "Dit is geen e-mailadres. Een e-mailadres ziet eruit als naam@voorbeeld.nl; "
            "laat het veld leeg als er geen is."
        )
    else:
        result.cleaned["email"] = email or None


def email_form(form: Mapping[str, Any]) -> FormResult:
    """A new (or no) email address for someone already on the list."""
    result = FormResult(_values(form, ("email",)))
    _optional_email(result)
    return result


def participant_form(form: Mapping[str, Any]) -> FormResult:
    """A person to invite by link (with an optional email for reminders and the language of
    their pages: empty is Dutch), or a co-coordinator by the email of their account."""
    result = FormResult(_values(form, ("name", "role", "email", "language")))
    language = result.values["language"] or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        result.errors["language"] = _("Kies een taal uit de lijst.")
    else:
        result.cleaned["language"] = language
    role = result.values["role"]
    email = result.values["email"].strip()
    if role == "coordinator":
        if "@" not in email or len(email) > 254:
            result.errors["email"] = _("Vul het e-mailadres van het coördinator-account in.")
        else:
            result.cleaned["email"] = email
    else:
        _text(result, "name", N_("een naam"), required=True, max_length=200)
        _optional_email(result)
    if role not in ROLES:
        result.errors["role"] = _("Kies een rol uit de lijst.")
    else:
        result.cleaned["role"] = role
    return result


MAX_PHONE = 40
# What a phone number as people write it may hold: digits, a leading +, spaces, dashes,
# dots, slashes and brackets ("06-12345678", "+31 (0)30 123 45 67").
_PHONE = re.compile(r"\+?[0-9 ()./-]+")


def contact_form(form: Mapping[str, Any]) -> FormResult:
    """How people whose link ended reach a coordinator: a phone number and an email address,
    each may be empty. A refused form stores nothing and shows both values again."""
    result = FormResult(_values(form, ("contact_phone", "contact_email")))
    phone = result.values["contact_phone"].strip()
    digits = sum(ch.isdigit() for ch in phone)
    if len(phone) > MAX_PHONE:
        result.errors["contact_phone"] = _(
            "%(field)s mag hoogstens %(count)s tekens lang zijn.",
            field=_("het telefoonnummer").capitalize(),
            count=MAX_PHONE,
        )
    elif phone and (_PHONE.fullmatch(phone) is None or not 6 <= digits <= 15):
        result.errors["contact_phone"] = _(
            "Dit is geen telefoonnummer. Gebruik cijfers, met eventueel +, spaties, streepjes "
            "of haakjes, zoals 06 12345678 of +31 30 123 4567; laat het veld leeg als je "
            "het niet wilt geven."
        )
    else:
        result.cleaned["contact_phone"] = phone or None
    email = result.values["contact_email"].strip()
    if len(email) > 254:
        result.errors["contact_email"] = _(
            "%(field)s mag hoogstens %(count)s tekens lang zijn.",
            field=_("het e-mailadres").capitalize(),
            count=254,
        )
    elif email and not is_email_address(email):
        result.errors["contact_email"] = _(
            "Dit is geen e-mailadres. Een e-mailadres ziet eruit als naam@voorbeeld.nl; "
            "laat het veld leeg als je het niet wilt geven."
        )
    else:
        result.cleaned["contact_email"] = email or None
    return result


def login_form(form: Mapping[str, Any]) -> FormResult:
    result = FormResult(_values(form, ("email", "password")))
    email = result.values["email"].strip()
    if not email or "@" not in email or len(email) > 254:
        result.errors["email"] = _("Vul je e-mailadres in.")
    else:
        result.cleaned["email"] = email
    if not result.values["password"]:
        result.errors["password"] = _("Vul je wachtwoord in.")
    else:
        result.cleaned["password"] = result.values["password"]
    result.values["password"] = ""  # never echo a password back into the page
    return result
