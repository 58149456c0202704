"""The audit log in sentences people read: "Lotte Hendriks haalde Tante Ans van de lijst."

Pure: a row's kind and detail, who did it (already a name, or the neutral words the log
page chooses) and a lookup of participants' names in; one sentence in the current language
out. Every kind the code writes has its sentence here (``tests/rules/test_audit.py`` finds
the kinds in the code); a kind without one still reads as words, never as ``plan_ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from server.i18n import N_, Labels, _, ngettext
from server.rules.accounts import ACCOUNT_SENTENCES
from server.rules.invitations import STATUS_LABELS
from server.rules.phases import DOCUMENT_LABELS, PHASE_LABELS, ROLE_LABELS

NameOf = Callable[[int], str | None]
Detail = Mapping[str, Any]

# The conference's fields as the "edited" sentence names them.
FIELD_NAMES = Labels(
    {
        "client_name": N_("de naam van de cliënt"),
        "question": N_("de conferentievraag"),
        "meeting_date": N_("de datum"),
        "starts_at": N_("de begintijd"),
        "ends_at": N_("de eindtijd"),
        "location": N_("de plaats"),
        "address": N_("het adres"),
    }
)


# How a link was handed out (storage's LINK_CHANNELS), as the participant list and the log
# name it.
CHANNEL_LABELS = Labels(
    {
        "message": N_("bericht"),
        "card": N_("kaart"),
        "mail": N_("e-mail"),
        "share": N_("gedeeld"),
        "whatsapp": N_("WhatsApp"),
        "sms": N_("sms"),
        "letter": N_("brief"),
    }
)


def nobody_known() -> str:
    """Who a row names when that person cannot be found (no longer in Kring)."""
    return _("iemand die niet meer op de lijst staat")


def sentence(kind: str, who: str, detail: Detail, name_of: NameOf) -> str:
    """What happened, as a sentence starting with ``who``. ``detail`` may have been emptied
    (the family in private time): every sentence then still reads, without the details."""
    words = _SENTENCES.get(kind)
    if words is None:
        return _("%(who)s: %(what)s", who=who, what=kind.replace("_", " "))
    return words(who, detail, _Names(name_of))


class _Names:
    def __init__(self, name_of: NameOf) -> None:
        self.name_of = name_of

    def one(self, detail: Detail) -> str | None:
        """The participant the row is about (None: the row does not say)."""
        found = detail.get("participant_id")
        if not isinstance(found, int):
            return None
        return self.name_of(found) or nobody_known()

    def all(self, ids: Any) -> str | None:
        if not isinstance(ids, list):
            return None
        return listed(self.name_of(i) or nobody_known() for i in ids if isinstance(i, int))


def listed(items: Iterable[str]) -> str:
    """ "a, b en c" in the current language ("" for none)."""
    words = list(items)
    if len(words) < 2:
        return "".join(words)
    return _("%(list)s en %(last)s", list=", ".join(words[:-1]), last=words[-1])


def _role(detail: Detail) -> str:
    role = str(detail.get("role", ""))
    if role not in ROLE_LABELS:
        return ""
    label = ROLE_LABELS[role]
    return label[:1].lower() + label[1:]


def _with_person(with_name: str, without: str) -> Callable[[str, Detail, _Names], str]:
    """A sentence about one participant (``%(name)s``), or the one without when the row does
    not say whom."""

    def words(who: str, detail: Detail, names: _Names) -> str:
        name = names.one(detail)
        return _(without, who=who) if name is None else _(with_name, who=who, name=name)

    return words


def _fixed(message: str) -> Callable[[str, Detail, _Names], str]:
    return lambda who, _detail, _names: _(message, who=who)


def _created(who: str, detail: Detail, _names: _Names) -> str:
    if detail.get("demo"):
        return _("%(who)s maakte de democonferentie aan.", who=who)
    return _("%(who)s maakte de conferentie aan.", who=who)


def _edited(who: str, detail: Detail, _names: _Names) -> str:
    fields = [FIELD_NAMES[f] for f in detail.get("fields") or [] if f in FIELD_NAMES]
    if not fields:
        return _(
            "%(who)s sloeg de gegevens van de conferentie op, zonder iets te veranderen.", who=who
        )
    return _("%(who)s wijzigde %(fields)s van de conferentie.", who=who, fields=listed(fields))


def _added(who: str, detail: Detail, names: _Names) -> str:
    name, role = names.one(detail), _role(detail)
    if name is None:
        return _("%(who)s zette iemand op de lijst.", who=who)
    if not role:
        return _("%(who)s zette %(name)s op de lijst.", who=who, name=name)
    return _("%(who)s zette %(name)s op de lijst als %(role)s.", who=who, name=name, role=role)


_REFUSED_LINKS = {
    "revoked": N_("%(who)s probeerde een link die is ingetrokken of vervangen."),
    "expired": N_("%(who)s probeerde een link die verlopen is."),
    "removed": N_("%(who)s probeerde een link, maar staat niet meer op de lijst."),
}


def _link_refused(who: str, detail: Detail, _names: _Names) -> str:
    message = _REFUSED_LINKS.get(
        detail.get("reason", ""), N_("%(who)s probeerde een link die niet werkt.")
    )
    return _(message, who=who)


def _cards(who: str, detail: Detail, names: _Names) -> str:
    people = names.all(detail.get("participant_ids"))
    if not people:
        return _("%(who)s maakte uitnodigingskaarten.", who=who)
    return _("%(who)s maakte uitnodigingskaarten voor %(names)s.", who=who, names=people)


def _link_ended(who: str, detail: Detail, names: _Names) -> str:
    name = names.one(detail)
    channel = CHANNEL_LABELS.get(str(detail.get("channel", "")))
    if name is None or channel is None:
        return _("%(who)s beëindigde een link.", who=who)
    return _(
        "%(who)s beëindigde de link van %(name)s (%(channel)s); de andere links blijven werken.",
        who=who,
        name=name,
        channel=channel,
    )


def _link_issued(who: str, detail: Detail, names: _Names) -> str:
    name = names.one(detail)
    channel = str(detail.get("channel", ""))
    if name is None:
        return _("%(who)s maakte een nieuwe persoonlijke link.", who=who)
    if channel == "mail":
        return _(
            "%(who)s mailde %(name)s een uitnodiging met een nieuwe persoonlijke link.",
            who=who,
            name=name,
        )
    if channel not in CHANNEL_LABELS:
        return _("%(who)s maakte een nieuwe persoonlijke link voor %(name)s.", who=who, name=name)
    return _(
        "%(who)s maakte een nieuwe persoonlijke link voor %(name)s (%(channel)s).",
        who=who,
        name=name,
        channel=CHANNEL_LABELS[channel],
    )


def _document(detail: Detail) -> str | None:
    document = str(detail.get("document", ""))
    return DOCUMENT_LABELS.get(document)


def _room_joined(who: str, detail: Detail, _names: _Names) -> str:
    document = _document(detail)
    if document is None:
        return _("%(who)s opende een document.", who=who)
    return _("%(who)s opende %(document)s.", who=who, document=document)


def _viewed(who: str, detail: Detail, _names: _Names) -> str:
    page, document = detail.get("page"), _document(detail)
    if page == "map":
        return _("%(who)s bekeek de netwerkkaart.", who=who)
    if page == "compare":
        return _("%(who)s vergeleek twee versies van het plan.", who=who)
    if document is None:
        return _("%(who)s bekeek een document.", who=who)
    return _("%(who)s bekeek %(document)s.", who=who, document=document)


def _written(who: str, detail: Detail, _names: _Names) -> str:
    document = _document(detail)
    if document is None:
        return _("%(who)s schreef in een document.", who=who)
    return _("%(who)s schreef in %(document)s.", who=who, document=document)


def _room_refused(who: str, detail: Detail, _names: _Names) -> str:
    document, phase = _document(detail), str(detail.get("phase", ""))
    if document is None:
        return _("%(who)s kreeg een document niet te zien.", who=who)
    if phase not in PHASE_LABELS:
        return _("%(who)s kreeg %(document)s niet te zien.", who=who, document=document)
    return _(
        "%(who)s kreeg %(document)s niet te zien tijdens %(phase)s.",
        who=who,
        document=document,
        phase=PHASE_LABELS[phase],
    )


def _phases(detail: Detail) -> tuple[str, str] | None:
    old, new = str(detail.get("from", "")), str(detail.get("to", ""))
    if old not in PHASE_LABELS or new not in PHASE_LABELS:
        return None
    return PHASE_LABELS[old], PHASE_LABELS[new]


def _phase_changed(who: str, detail: Detail, _names: _Names) -> str:
    moved = _phases(detail)
    if moved is None:
        return _("%(who)s zette de conferentie in een andere fase.", who=who)
    text = _(
        "%(who)s zette de conferentie van %(old)s naar %(new)s.",
        who=who,
        old=moved[0],
        new=moved[1],
    )
    if detail.get("back_reason"):
        text += " " + _("Reden: %(reason)s", reason=detail["back_reason"])
    return text


def _overridden(who: str, detail: Detail, _names: _Names) -> str:
    reason = detail.get("override_reason") or ""
    return _(
        "%(who)s beëindigde de privétijd zonder dat de familie 'ons plan is klaar' zei, met "
        "als reden: %(reason)s",
        who=who,
        reason=reason,
    )


_SIGNALS = {
    "question": N_("%(who)s riep de coördinator: we hebben een vraag."),
    "plan_ready": N_("%(who)s zei: ons plan is klaar."),
    "plan_withdrawn": N_("%(who)s nam terug dat het plan klaar is."),
}


_ANY_SIGNAL = N_("%(who)s gaf een signaal.")  # on its own: Babel skips it inside _()


def _signal(who: str, detail: Detail, _names: _Names) -> str:
    return _(_SIGNALS.get(detail.get("kind", ""), _ANY_SIGNAL), who=who)


def _checked(who: str, detail: Detail, _names: _Names) -> str:
    status = detail.get("status")
    if status == "met":
        return _("%(who)s beoordeelde een voorwaarde als voldaan.", who=who)
    if status == "not_met":
        return _("%(who)s beoordeelde een voorwaarde als niet voldaan.", who=who)
    return _("%(who)s beoordeelde een voorwaarde.", who=who)


def _several_checked(who: str, detail: Detail, _names: _Names) -> str:
    met, not_met = detail.get("met"), detail.get("not_met")
    if not (isinstance(met, int) and isinstance(not_met, int)):
        return _("%(who)s beoordeelde voorwaarden.", who=who)
    return _(
        "%(who)s beoordeelde voorwaarden in één keer: %(met)s voldaan, %(not_met)s niet voldaan.",
        who=who,
        met=met,
        not_met=not_met,
    )


def _recorded(who: str, detail: Detail, names: _Names) -> str:
    name = names.one(detail)
    answer = detail.get("answer")
    if name is None:
        return _("%(who)s noteerde een antwoord voor iemand zonder apparaat.", who=who)
    if answer == "agree":
        return _("%(who)s noteerde voor %(name)s: eens met het plan.", who=who, name=name)
    if answer == "not_yet":
        return _("%(who)s noteerde voor %(name)s: nog niet eens met het plan.", who=who, name=name)
    return _("%(who)s noteerde een antwoord voor %(name)s.", who=who, name=name)


def _attendance(who: str, detail: Detail, _names: _Names) -> str:
    count = detail.get("count")
    if not isinstance(count, int):
        return _("%(who)s noteerde wie er bij de conferentie is.", who=who)
    return _(
        "%(who)s noteerde wie er bij de conferentie is: %(count)s aanwezig.", who=who, count=count
    )


def _answered(who: str, detail: Detail, _names: _Names) -> str:
    answer = detail.get("answer")
    if answer == "agree":
        return _("%(who)s zei het eens te zijn met het plan.", who=who)
    if answer == "not_yet":
        return _("%(who)s zei het nog niet eens te zijn met het plan.", who=who)
    return _("%(who)s gaf antwoord op het plan.", who=who)


def _team(who: str, detail: Detail, names: _Names) -> str:
    people = names.all(detail.get("participant_ids"))
    if people is None:
        return _("%(who)s koos het actieteam.", who=who)
    if not people:
        return _("%(who)s koos een actieteam zonder leden.", who=who)
    return _("%(who)s koos het actieteam: %(names)s.", who=who, names=people)


def _supporters(who: str, detail: Detail, names: _Names) -> str:
    added, removed = names.all(detail.get("added")), names.all(detail.get("removed"))
    together = bool(detail.get("with_client"))
    said = []
    if added:
        message = (
            N_("%(who)s koos samen met de cliënt %(names)s als steunpersoon voor het kompas.")
            if together
            else N_("%(who)s koos %(names)s als steunpersoon voor het netwerkkompas.")
        )
        said.append(_(message, who=who, names=added))
    if removed:
        message = (
            N_("%(who)s haalde samen met de cliënt %(names)s weg als steunpersoon.")
            if together
            else N_("%(who)s haalde %(names)s weg als steunpersoon.")
        )
        said.append(_(message, who=who, names=removed))
    return " ".join(said) or _("%(who)s veranderde wie steunpersoon is.", who=who)


def _frozen(who: str, detail: Detail, _names: _Names) -> str:
    return _(
        "%(who)s stelde het plan vast als versie %(version)s.",
        who=who,
        version=detail.get("version", "?"),
    )


def _exported(who: str, detail: Detail, _names: _Names) -> str:
    version = detail.get("version", "?")
    if detail.get("format") == "pdf":
        return _(
            "%(who)s downloadde versie %(version)s van het plan als pdf.", who=who, version=version
        )
    return _(
        "%(who)s bekeek de kopie van versie %(version)s van het plan.", who=who, version=version
    )


def _compass_downloaded(who: str, detail: Detail, _names: _Names) -> str:
    if detail.get("format") == "pdf":
        return _("%(who)s downloadde het netwerkkompas als pdf.", who=who)
    return _("%(who)s downloadde het netwerkkompas als gegevensbestand (json).", who=who)


def _started(who: str, detail: Detail, _names: _Names) -> str:
    return _(
        "%(who)s begon bijeenkomst %(number)s van het actieteam.",
        who=who,
        number=detail.get("number", "?"),
    )


def _closed(who: str, detail: Detail, _names: _Names) -> str:
    return _(
        "%(who)s sloot bijeenkomst %(number)s van het actieteam af; het plan van toen is "
        "versie %(version)s.",
        who=who,
        number=detail.get("number", "?"),
        version=detail.get("version", "?"),
    )


def _rated(who: str, detail: Detail, _names: _Names) -> str:
    occasion = detail.get("occasion")
    if not occasion:
        return _("%(who)s gaf cijfers voor de conferentie en het plan.", who=who)
    return _(
        "%(who)s gaf cijfers voor bijeenkomst %(number)s van het actieteam en het plan.",
        who=who,
        number=occasion,
    )


def _granted(who: str, detail: Detail, names: _Names) -> str:
    name = names.one(detail)
    if name is None:
        return _("%(who)s liet een apparaat binnen.", who=who)
    if detail.get("same_device"):
        return _(
            "%(who)s liet %(name)s binnen op hetzelfde apparaat (van persoon gewisseld).",
            who=who,
            name=name,
        )
    return _("%(who)s liet een apparaat van %(name)s binnen.", who=who, name=name)


def _questions_copied(who: str, detail: Detail, _names: _Names) -> str:
    count = detail.get("count")
    if not isinstance(count, int):
        return _("%(who)s nam de vragen uit het kompas mee naar de bijeenkomst.", who=who)
    return ngettext(
        "%(who)s nam %(num)s vraag uit het kompas mee naar de bijeenkomst.",
        "%(who)s nam %(num)s vragen uit het kompas mee naar de bijeenkomst.",
        count,
        who=who,
    )


def _from_map(who: str, detail: Detail, names: _Names) -> str:
    name, role = names.one(detail), _role(detail)
    if name is None:
        return _("%(who)s zette iemand van de netwerkkaart op de lijst.", who=who)
    if not role:
        return _("%(who)s zette %(name)s van de netwerkkaart op de lijst.", who=who, name=name)
    return _(
        "%(who)s zette %(name)s van de netwerkkaart op de lijst als %(role)s.",
        who=who,
        name=name,
        role=role,
    )


def _status_set(who: str, detail: Detail, names: _Names) -> str:
    name, status = names.one(detail), str(detail.get("status", ""))
    if name is None or status not in STATUS_LABELS:
        return _("%(who)s hield bij hoe het met een uitnodiging staat.", who=who)
    return _(
        "%(who)s zette bij %(name)s: %(status)s.", who=who, name=name, status=STATUS_LABELS[status]
    )


def _invitation_answered(who: str, detail: Detail, _names: _Names) -> str:
    status = detail.get("status")
    if status == "coming":
        return _("%(who)s zei naar de conferentie te komen.", who=who)
    if status == "not_coming":
        return _("%(who)s zei niet naar de conferentie te komen.", who=who)
    return _("%(who)s beantwoordde de uitnodiging.", who=who)


_SENTENCES: dict[str, Callable[[str, Detail, _Names], str]] = {
    "conference_created": _created,
    "conference_edited": _edited,
    "conference_exported": _fixed(N_("%(who)s downloadde alle gegevens van de conferentie (zip).")),
    "conference_erased": _fixed(N_("%(who)s wiste de conferentie met al haar gegevens.")),
    "participant_added": _added,
    "participant_removed": _with_person(
        N_("%(who)s haalde %(name)s van de lijst."), N_("%(who)s haalde iemand van de lijst.")
    ),
    "email_changed": _with_person(
        N_("%(who)s wijzigde het e-mailadres voor herinneringen van %(name)s."),
        N_("%(who)s wijzigde een e-mailadres voor herinneringen."),
    ),
    "link_issued": _link_issued,
    "link_revoked": _with_person(
        N_("%(who)s trok de links van %(name)s in."), N_("%(who)s trok links in.")
    ),
    "link_ended": _link_ended,
    "link_opened": _fixed(N_("%(who)s opende de persoonlijke link.")),
    "link_refused": _link_refused,
    "cards_printed": _cards,
    "room_joined": _room_joined,
    "room_refused": _room_refused,
    "document_viewed": _viewed,
    "document_written": _written,
    "phase_changed": _phase_changed,
    "private_time_overridden": _overridden,
    "signal": _signal,
    "condition_added": _fixed(N_("%(who)s stelde een voorwaarde voor het plan.")),
    "condition_deleted": _fixed(N_("%(who)s verwijderde een voorwaarde.")),
    "condition_checked": _checked,
    "condition_edited": _fixed(N_("%(who)s wijzigde de tekst van een voorwaarde.")),
    "conditions_checked": _several_checked,
    "answered": _answered,
    "answer_recorded": _recorded,
    "attendance_recorded": _attendance,
    "presentation_opened": _fixed(N_("%(who)s opende het plan op een groot scherm.")),
    "question_recorded": _fixed(N_("%(who)s noteerde een verhelderende vraag.")),
    "action_team_chosen": _team,
    "supporters_chosen": _supporters,
    "plan_frozen": _frozen,
    "plan_exported": _exported,
    "compass_downloaded": _compass_downloaded,
    "follow_up_started": _started,
    "follow_up_closed": _closed,
    "rated": _rated,
    "admission_waiting": _fixed(
        N_(
            "%(who)s meldde zich aan op een nieuw apparaat; het wacht tot de familie het "
            "binnenlaat."
        )
    ),
    "admission_granted": _granted,
    "admission_refused": _with_person(
        N_("%(who)s liet een apparaat van %(name)s nu niet binnen."),
        N_("%(who)s liet een apparaat nu niet binnen."),
    ),
    "device_sent_out": _with_person(
        N_("%(who)s stuurde een apparaat van %(name)s weg."),
        N_("%(who)s stuurde een apparaat weg."),
    ),
    "practical_changed": _with_person(
        N_("%(who)s noteerde het praktische van %(name)s (tolk, kind en wie het steunt)."),
        N_("%(who)s noteerde het praktische van iemand (tolk, kind en wie het steunt)."),
    ),
    "practical_notes_changed": _fixed(N_("%(who)s noteerde eten, opvang en vervoer.")),
    "conference_questions_copied": _questions_copied,
    "invited_from_map": _from_map,
    "invitation_status_set": _status_set,
    "invitation_answered": _invitation_answered,
    "invitee_proposed": _fixed(N_("%(who)s stelde iemand voor om uit te nodigen.")),
    "proposal_accepted": _with_person(
        N_("%(who)s nodigde %(name)s uit, op voorstel van de familie."),
        N_("%(who)s nodigde iemand uit op voorstel van de familie."),
    ),
    "proposal_declined": _with_person(
        N_("%(who)s nodigde iemand die %(name)s voorstelde nu niet uit."),
        N_("%(who)s nodigde iemand die de familie voorstelde nu niet uit."),
    ),
    # the second factor (rows of no conference: an account's own)
    "two_factor_on": _fixed(N_("%(who)s zette tweestapsverificatie aan.")),
    "two_factor_off": _fixed(N_("%(who)s zette tweestapsverificatie uit.")),
    "two_factor_refused": _fixed(N_("%(who)s gaf een verkeerde of al gebruikte inlogcode.")),
    "recovery_code_used": _fixed(N_("%(who)s logde in met een herstelcode.")),
    "recovery_codes_renewed": _fixed(N_("%(who)s maakte nieuwe herstelcodes.")),
    "two_factor_required": _fixed(N_("%(who)s maakte tweestapsverificatie verplicht.")),
    "two_factor_not_required": _fixed(
        N_("%(who)s maakte tweestapsverificatie niet meer verplicht.")
    ),
    **ACCOUNT_SENTENCES,  # accounts: invited, turned off, a new password...
}

# Every kind with a sentence of its own.
KINDS = frozenset(_SENTENCES)
