"""How a use case says no: ``FlowError`` (what kind of refusal, the words for people, a code
for programs), the checks of text people typed, and the store's refusals in words people read
(the store itself words nothing)."""

from __future__ import annotations

from server.i18n import N_, _, gettext
from server.rules.forms import bad_character
from server.rules.refusal import Refusal
from server.storage.store import Reason, StoreError

MAX_TEXT = 2000  # a condition, remark, reason or question


class FlowError(Exception):
    """A request the flow refuses: what kind of refusal, a message for people and a code for
    programs (the JSON API's ``error``)."""

    def __init__(self, kind: Refusal, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code


def checked_text(text: str, label: str) -> str:
    """Text people typed, as it will be stored; control characters (a NUL cannot even be
    stored in PostgreSQL) and lone surrogates are refused with a clear message rather than
    failing later (``app.InputGuard`` refuses them first for every HTTP request).
    ``label`` is a Dutch message id, like "De reden"."""
    if len(text) > MAX_TEXT:
        message = _("%(field)s is langer dan %(count)s tekens.", field=_(label), count=MAX_TEXT)
        raise FlowError(Refusal.INVALID, message, "too_long")
    if bad_character(text, single_line=False) is not None:
        message = _("%(field)s bevat tekens die niet bewaard kunnen worden.", field=_(label))
        raise FlowError(Refusal.INVALID, message, "bad_text")
    return text


_WORDS: dict[Reason, str] = {
    Reason.NOT_OWN_CONDITION: N_("Deze voorwaarde bestaat niet of is door iemand anders gesteld."),
    Reason.TEAM_FIXED: N_(
        "Het actieteam kies je bij de presentatie, voordat het plan is vastgesteld."
    ),
    Reason.PRESENTATION_OVER: N_("Het plan is al vastgesteld, of de presentatie is voorbij."),
    Reason.CONDITION_NOT_MET: N_("Een voorwaarde is net als niet voldaan beoordeeld."),
    Reason.VERSION_EXISTS: N_("Versie %(number)s van het plan is al vastgesteld."),
    Reason.FOLLOW_UP_OPEN: N_("Bijeenkomst %(number)s is al begonnen en nog niet afgesloten."),
    Reason.FOLLOW_UP_STARTED: N_("Er is net al een bijeenkomst begonnen."),
    Reason.FOLLOW_UP_CLOSED: N_("Deze bijeenkomst is al afgesloten."),
    Reason.NOBODY_ATTENDED: N_("Zet eerst wie er bij de bijeenkomst waren."),
    Reason.SUPPORTERS_FIXED: N_(
        "Steunpersonen kies je in de voorbereiding. Nu kun je iemand alleen nog weghalen als "
        "steunpersoon."
    ),
}


def refusal(error: StoreError) -> str:
    """Why the store refused, in the current language (a reason people never meet keeps the
    store's own description)."""
    message = _WORDS.get(error.reason)
    if message is None:
        return str(error)
    if error.number is None:
        return gettext(message)
    return gettext(message, number=error.number)
