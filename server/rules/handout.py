"""Handing out an invitation, person by person: the ways Kring offers, what the invitation
says (in the current language: the caller switches to the person's), the phone number a
WhatsApp or SMS goes to, and the addresses those apps open.

Pure: values in, text out. Every sentence is a Dutch message id, so a new language is one more
catalogue (``server/locale/<code>/LC_MESSAGES/messages.po``) and nothing here changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from urllib.parse import quote

from server.i18n import LANGUAGES, N_, Labels, _, format_moment
from server.rules.forms import FormResult, is_email_address

# The ways a coordinator hands out one more personal link from the invitation page; each is
# also a link's channel (storage's LINK_CHANNELS), so the participant list says how every
# working link went out.
CHANNELS = ("share", "whatsapp", "sms", "mail", "letter")

CHANNEL_TITLES = Labels(
    {
        "share": N_("Delen of kopiëren"),
        "whatsapp": N_("WhatsApp"),
        "sms": N_("Sms"),
        "mail": N_("E-mail"),
        "letter": N_("Brief"),
    }
)

# A number written without a country code ("06 12345678") is read as Dutch: Kring's
# coordinators work in the Netherlands, and WhatsApp needs the international form.
NATIONAL_COUNTRY_CODE = "31"
_SEPARATORS = re.compile(r"[\s\-./()]")


def phone_number(raw: str) -> str | None:
    """The international number (digits only, like "31612345678") in what someone typed:
    "+31 6 12345678", "+31 (0)6 12345678", "0031 6 1234 5678" or "06-12345678" (Dutch). None
    when it is no phone number (letters, too short or too long)."""
    number = _SEPARATORS.sub("", raw.replace("(0)", ""))  # "+31 (0)6 ...": the 0 is not dialled
    if number.startswith("+"):
        digits = number[1:]
    elif number.startswith("00"):
        digits = number[2:]
    elif number.startswith("0"):
        digits = NATIONAL_COUNTRY_CODE + number[1:]
    else:
        return None
    if not (digits.isascii() and digits.isdigit()) or digits.startswith("0"):
        return None
    return digits if 8 <= len(digits) <= 15 else None  # E.164: at most 15 digits


def whatsapp_url(text: str, phone: str | None) -> str:
    """WhatsApp with ``text`` ready to send: to that number, or to a chat the sender chooses."""
    return f"https://wa.me/{phone or ''}?text={quote(text, safe='')}"


def sms_url(text: str, phone: str | None) -> str:
    """The phone's messages app with ``text`` ready (``?&body=``: read by iPhones and
    Android alike), to that number or to one the sender chooses."""
    return f"sms:{'+' + phone if phone else ''}?&body={quote(text, safe='')}"


@dataclass(frozen=True)
class HandOutForm:
    """What the coordinator chose for one hand-out: the language of its texts, and for
    WhatsApp and SMS a phone number (may be empty), for a mail the address."""

    result: FormResult

    @property
    def language(self) -> str:
        return str(self.result.cleaned.get("language", ""))

    @property
    def phone(self) -> str | None:
        phone = self.result.cleaned.get("phone")
        return str(phone) if phone else None

    @property
    def email(self) -> str:
        return str(self.result.cleaned.get("email", ""))


def hand_out_form(channel: str, form: Mapping[str, Any], default_language: str) -> HandOutForm:
    """Read and check one channel's form; an error names the field it is about."""
    names = ("language", "phone", "email")
    values = {n: v.strip() if isinstance(v := form.get(n), str) else "" for n in names}
    result = FormResult(values)
    language = values["language"] or default_language
    if language not in LANGUAGES:
        result.errors["language"] = _("Kies een taal uit de lijst.")
    result.cleaned["language"] = language
    if channel in ("whatsapp", "sms") and values["phone"]:
        phone = phone_number(values["phone"])
        if phone is None:
            result.errors["phone"] = _(
                "Dit is geen telefoonnummer. Schrijf het als 06 12345678 of met de landcode, "
                "als +32 470 12 34 56; of laat het veld leeg en kies het nummer straks in de app."
            )
        result.cleaned["phone"] = phone
    if channel == "mail":
        if not values["email"]:
            result.errors["email"] = _("Vul het e-mailadres in waar de uitnodiging heen gaat.")
        elif not is_email_address(values["email"]):
            result.errors["email"] = _(
                "Dit is geen e-mailadres. Een e-mailadres ziet eruit als naam@voorbeeld.nl."
            )
        result.cleaned["email"] = values["email"]
    return HandOutForm(result)


# -- what an invitation says ------------------------------------------------------------------


@dataclass(frozen=True)
class Details:
    """Everything an invitation tells, as stored: for whom, about whom, when, where, the
    conference question and whom to call."""

    name: str
    client: str
    question: str
    meeting_date: date | None
    starts_at: datetime | None
    ends_at: datetime | None
    location: str
    address: str
    coordinator: str
    contact_phone: str
    contact_email: str


def when(details: Details, zone: tzinfo) -> str:
    """The day and times, as the current language writes them ("" not planned yet)."""
    if details.meeting_date is None:
        return ""
    day = format_moment(details.meeting_date, zone, "day")
    if details.starts_at is None or details.ends_at is None:
        return day
    return _(
        "%(day)s, van %(start)s tot %(end)s uur",
        day=day,
        start=format_moment(details.starts_at, zone, "time"),
        end=format_moment(details.ends_at, zone, "time"),
    )


def where(details: Details) -> str:
    return ", ".join(part for part in (details.location, details.address) if part)


def contact(details: Details) -> str:
    """Whom to call with a question: the coordinator, with what they chose to show."""
    reach = ", ".join(p for p in (details.contact_phone, details.contact_email) if p)
    if not reach:
        return _("Vragen? Vraag het %(name)s, de coördinator.", name=details.coordinator)
    return _("Vragen? %(name)s, de coördinator: %(reach)s", name=details.coordinator, reach=reach)


def greeting(details: Details) -> str:
    return _("Beste %(name)s,", name=details.name)


def invited(details: Details) -> str:
    """What the conference is, in plain words."""
    return _(
        "Je bent uitgenodigd voor de conferentie over %(client)s. Familie, vrienden en "
        "anderen die om %(client)s geven, maken daar samen een plan.",
        client=details.client,
    )


def message(details: Details, url: str, zone: tzinfo) -> str:
    """The short text sent by WhatsApp, SMS or any app: the invitation and the link."""
    lines = [greeting(details), "", invited(details)]
    if day := when(details, zone):
        lines.append(_("Wanneer: %(when)s", when=day))
    if place := where(details):
        lines.append(_("Waar: %(where)s", where=place))
    lines += ["", _("Je persoonlijke link (alleen voor jou, stuur hem niet door):"), url, ""]
    lines.append(contact(details))
    return "\n".join(lines)


def parts() -> list[tuple[str, str]]:
    """What will happen at the conference: its three parts, each with a title and what it is
    (private time in two sentences)."""
    return [
        (
            _("1. Informatie"),
            _(
                "De coördinator vertelt hoe de dag gaat. Iedereen, ook de professionals die "
                "erbij zijn, vertelt wat hij of zij weet en belangrijk vindt."
            ),
        ),
        (
            _("2. Privétijd"),
            _(
                "Daarna gaan de coördinator en de professionals de kamer uit: de familie en "
                "het netwerk maken onder elkaar een plan. Jullie nemen daar de tijd voor die "
                "nodig is, en de coördinator is in de buurt als jullie iets nodig hebben."
            ),
        ),
        (
            _("3. Het plan"),
            _(
                "De familie laat het plan zien aan de coördinator en de professionals. Samen "
                "spreken jullie af wie wat doet, en wie in het actieteam komt dat het plan "
                "uitvoert."
            ),
        ),
    ]


def mail_subject(details: Details) -> str:
    return _("Uitnodiging: conferentie over %(client)s", client=details.client)


def mail_body(details: Details, url: str, zone: tzinfo) -> str:
    """The mail: the invitation and its link, the question and what will happen."""
    blocks = [greeting(details), invited(details)]
    facts = []
    if day := when(details, zone):
        facts.append(_("Wanneer: %(when)s", when=day))
    if place := where(details):
        facts.append(_("Waar: %(where)s", where=place))
    if facts:
        blocks.append("\n".join(facts))
    blocks.append(
        _("Open je persoonlijke uitnodiging met deze link; hij is alleen voor jou:") + f"\n{url}"
    )
    blocks.append(_("De vraag van de conferentie:") + f"\n{details.question}")
    blocks.append(
        "\n\n".join(
            [_("Zo gaat de conferentie:")] + [f"{title}\n{text}" for title, text in parts()]
        )
    )
    blocks.append(contact(details))
    return "\n\n".join(blocks)
