"""The store's refusals in words people read (the store itself words nothing)."""

from __future__ import annotations

from server.i18n import N_, gettext
from server.storage.store import Reason, StoreError

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
