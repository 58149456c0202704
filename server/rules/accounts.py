"""Coordinator accounts: what a password must be, and what the audit log says of changes to
accounts (merged into ``rules/audit.py``'s sentences).

A password is refused when it is shorter than ``MIN_PASSWORD_LENGTH`` or among the 30,000
most common passwords of zxcvbn's list (itself from leaked password sets), ignoring case."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Protocol

from server.i18n import N_, _

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


@cache
def common_passwords() -> frozenset[str]:
    # zxcvbn's lists (~13 MB in memory) load with the first password chosen.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is not acceptable, in the words of the UI, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Een wachtwoord heeft minstens %(count)s tekens.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Een wachtwoord heeft hoogstens %(count)s tekens.", count=MAX_PASSWORD_LENGTH)
    folded = password.casefold()
    if folded in common_passwords() or (email and folded == email.strip().casefold()):
        return _(
            "Dit wachtwoord is te makkelijk te raden: veel mensen gebruiken het. Kies een "
            "ander, bijvoorbeeld drie of vier losse woorden achter elkaar."
        )
    return None


# -- the account log in sentences -----------------------------------------------------------


class Names(Protocol):
    name_of: Callable[[int], str | None]


Detail = Mapping[str, Any]
Sentence = Callable[[str, Detail, Names], str]


def _about(message: str) -> Sentence:
    """A sentence about the account in ``detail["account_id"]``, named by ``name_of``."""

    def words(who: str, detail: Detail, names: Names) -> str:
        found = detail.get("account_id")
        name = names.name_of(found) if isinstance(found, int) else None
        return _(message, who=who, name=name or _("iemand"))

    return words


def _password_set(who: str, detail: Detail, _names: Names) -> str:
    if detail.get("purpose") == "invite":
        return _("%(who)s koos een wachtwoord met de uitnodigingslink.", who=who)
    return _("%(who)s koos een nieuw wachtwoord met een eenmalige link.", who=who)


def _handed_over(who: str, detail: Detail, _names: Names) -> str:
    return _(
        "%(who)s droeg de conferentie over van %(previous)s aan %(name)s.",
        who=who,
        previous=str(detail.get("from_name", "?")),
        name=str(detail.get("to_name", "?")),
    )


def _coordinator_invited(who: str, detail: Detail, _names: Names) -> str:
    return _(
        "%(who)s nodigde %(name)s uit als coördinator van deze conferentie.",
        who=who,
        name=str(detail.get("name", "?")),
    )


ACCOUNT_SENTENCES: dict[str, Sentence] = {
    "account_invited": _about(N_("%(who)s nodigde %(name)s uit als coördinator.")),
    "password_link_made": _about(
        N_("%(who)s maakte voor %(name)s een eenmalige link om een wachtwoord te kiezen.")
    ),
    "password_link_mailed": _about(
        N_("Op de pagina 'Wachtwoord vergeten' is een link naar %(name)s gemaild.")
    ),
    "password_set": _password_set,
    "password_changed": _about(N_("%(who)s wijzigde het eigen wachtwoord.")),
    "account_deactivated": _about(N_("%(who)s zette het account van %(name)s uit.")),
    "account_reactivated": _about(N_("%(who)s zette het account van %(name)s weer aan.")),
    "login_unlocked": _about(N_("%(who)s hief de blokkade van de login van %(name)s op.")),
    "admin_granted": _about(N_("%(who)s maakte %(name)s beheerder.")),
    "admin_revoked": _about(N_("%(who)s maakte %(name)s weer gewone coördinator.")),
    "conference_handed_over": _handed_over,
    "coordinator_invited": _coordinator_invited,
}
