"""Who may read or write which document in which phase: the single source of truth.

Pure (no I/O). The websocket handshake, every inbound message, every page and every export
asks :func:`access`; nothing else decides. A cell that is missing means no access.

The ``plan`` (the family's plan):

============  ===============  ============  ======================  ===========
phase         client, network  professional  mandated professional   coordinator
============  ===============  ============  ======================  ===========
preparation   -                -             -                       -
information   r                -             -                       -
private_time  w                -             -                       -
presentation  w                r             r                       r
action_team   w members, r     w members, r  w members, r            r
closed        r                r             r                       r
============  ===============  ============  ======================  ===========

``compass`` (preparation): client and network write in preparation and read afterwards; the
coordinator reads it in preparation only. ``information``: everyone writes during the
information phase; in private time only client and network may read it; everyone reads it
afterwards. In private time the coordinator and professionals hold no document at all.
"""

from __future__ import annotations

from enum import IntEnum

DOCUMENTS = ("compass", "information", "plan")
FAMILY = frozenset({"client", "network_member"})
PROFESSIONALS = frozenset({"professional", "mandated_professional"})


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2


_R, _W = Access.READ, Access.WRITE
_EVERYONE = ("client", "network_member", "professional", "mandated_professional", "coordinator")


def _plan(phase: str, role: str, action_team_member: bool) -> Access:
    if phase == "information":
        return _R if role in FAMILY else Access.NONE
    if phase == "private_time":
        return _W if role in FAMILY else Access.NONE
    if phase == "presentation":
        return _W if role in FAMILY else _R
    if phase == "action_team":
        if role == "coordinator":
            return _R
        return _W if action_team_member else _R
    if phase == "closed":
        return _R
    return Access.NONE


def _compass(phase: str, role: str) -> Access:
    if role in FAMILY:
        return _W if phase == "preparation" else _R
    if role == "coordinator" and phase == "preparation":
        return _R
    return Access.NONE


def _information(phase: str, role: str) -> Access:
    if phase == "information":
        return _W
    if phase == "private_time":
        return _R if role in FAMILY else Access.NONE
    if phase in ("presentation", "action_team", "closed"):
        return _R
    return Access.NONE


def access(phase: str, role: str, document: str, *, action_team_member: bool = False) -> Access:
    """What a participant with ``role`` may do with ``document`` during ``phase``."""
    if role not in _EVERYONE:
        return Access.NONE
    if document == "plan":
        return _plan(phase, role, action_team_member)
    if document == "compass":
        return _compass(phase, role)
    if document == "information":
        return _information(phase, role)
    return Access.NONE


PHASE_LABELS = {
    "preparation": "de voorbereiding",
    "information": "de informatiefase",
    "private_time": "de besloten tijd",
    "presentation": "de presentatie",
    "action_team": "het actieteam",
    "closed": "de afsluiting",
}

DOCUMENT_LABELS = {
    "compass": "het netwerkkompas",
    "information": "de informatie",
    "plan": "het plan",
}


def refusal_reason(phase: str, document: str) -> str:
    """Why a connection to ``document`` is refused or closed now (shown to the person)."""
    return (
        f"Tijdens {PHASE_LABELS.get(phase, phase)} is {DOCUMENT_LABELS.get(document, document)} "
        "niet voor jou open."
    )
