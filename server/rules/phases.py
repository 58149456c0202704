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

The ``compass`` (the network compass, filled in during the preparation): the client's own,
written with the network members the client chose as **supporters** (``supporter``: the
participant's mark, see :func:`access`). Other network members and the professionals never
see it; the coordinator, who fills it in with them at the kitchen table, only reads it, and
only in the preparation:

============  ======  =========  ==============  ============  ==============  ===========
phase         client  supporter  network member  professional  mandated prof.  coordinator
============  ======  =========  ==============  ============  ==============  ===========
preparation   w       w          -               -             -               r
information   r       r          -               -             -               -
private_time  r       r          -               -             -               -
presentation  r       r          -               -             -               -
action_team   r       r          -               -             -               -
closed        r       r          -               -             -               -
============  ======  =========  ==============  ============  ==============  ===========

``information``: everyone writes during the information phase; in private time only client
and network may read it; everyone reads it afterwards. In private time the coordinator and
professionals hold no document at all.

Decisions (:data:`ACTIONS`, asked through :func:`may`) have a table of their own below. One
page among them shows the plan: the presentation view (``present``), the plan on a big
screen or projector in the room, read-only and live:

============  ===============  ============  ======================  ===========
phase         client, network  professional  mandated professional   coordinator
============  ===============  ============  ======================  ===========
preparation   -                -             -                       -
information   -                -             -                       -
private_time  -                -             -                       -
presentation  r                r             r                       r
action_team   r                r             r                       r
closed        r                r             r                       r
============  ===============  ============  ======================  ===========

It is never more than the viewer's own cell of the plan table (:func:`may_present` asks
both), so it shows nothing of the plan where its viewer may not read it, and its live
connection is the plan's own, closed by the same phase change that closes the plan.
"""

from __future__ import annotations

from enum import IntEnum

from server.i18n import N_, Labels, _

DOCUMENTS = ("compass", "information", "plan")

# Everyone who takes part has one of these roles: the one list of them. The coordinator's
# own row comes with the account; a coordinator hands out the rest by link.
ROLES = ("client", "network_member", "professional", "mandated_professional", "coordinator")
INVITED_ROLES = ROLES[:-1]
FAMILY = frozenset({"client", "network_member"})
PROFESSIONALS = frozenset({"professional", "mandated_professional"})
ROLE_LABELS = Labels(
    {
        "client": N_("Cliënt (centrale persoon)"),
        "network_member": N_("Netwerklid (familie, vriend, buur)"),
        "professional": N_("Professional (hulpverlener)"),
        "mandated_professional": N_("Professional met verplicht toezicht"),
        "coordinator": N_("Coördinator"),
    }
)


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2


_R, _W = Access.READ, Access.WRITE


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


def _compass(phase: str, role: str, supporter: bool) -> Access:
    if phase not in PHASES:
        return Access.NONE
    if role == "client" or (role == "network_member" and supporter):
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


def access(
    phase: str,
    role: str,
    document: str,
    *,
    action_team_member: bool = False,
    supporter: bool = False,
) -> Access:
    """What a participant with ``role`` may do with ``document`` during ``phase``.
    ``action_team_member``: they are on the action team (the plan, from the action-team phase
    on); ``supporter``: a network member the client chose to fill in the compass with."""
    if role not in ROLES:
        return Access.NONE
    if document == "plan":
        return _plan(phase, role, action_team_member)
    if document == "compass":
        return _compass(phase, role, supporter)
    if document == "information":
        return _information(phase, role)
    return Access.NONE


# A phase's name as a title ("Privétijd"), in the current language when read.
PHASE_TITLES = Labels(
    {
        "preparation": N_("Voorbereiding"),
        "information": N_("Informatiefase"),
        "private_time": N_("Privétijd"),
        "presentation": N_("Presentatie van het plan"),
        "action_team": N_("Actieteam"),
        "closed": N_("Afgesloten"),
    }
)

# A phase's name inside a sentence ("Tijdens de privétijd ..."); other words than the title.
PHASE_LABELS = Labels(
    {
        "preparation": N_("de voorbereiding"),
        "information": N_("de informatiefase"),
        "private_time": N_("de privétijd"),
        "presentation": N_("de presentatie"),
        "action_team": N_("het actieteam"),
        "closed": N_("de afsluiting"),
    }
)

DOCUMENT_LABELS = Labels(
    {
        "compass": N_("het netwerkkompas"),
        "information": N_("de informatie"),
        "plan": N_("het plan"),
    }
)


def refusal_reason(phase: str, document: str, *, role: str = "", supporter: bool = False) -> str:
    """Why a connection to ``document`` is refused or closed now (shown to the person, in the
    current language; at most 123 bytes, the room in a websocket close frame). A network
    member who is not (or no longer) a supporter is told whose the compass is."""
    if document == "compass" and role == "network_member" and not supporter and phase in PHASES:
        return _("Het netwerkkompas is van de cliënt en de steunpersonen die de cliënt koos.")
    return _(
        "Tijdens %(phase)s is %(document)s niet voor jou open.",
        phase=PHASE_LABELS.get(phase, phase),
        document=DOCUMENT_LABELS.get(document, document),
    )


def compass_read_only_reason(phase: str, role: str) -> str:
    """Why the compass is open to this person to read only (its page says so)."""
    if role == "coordinator":
        return _(
            "Je leest mee. De cliënt en de steunpersonen vullen het kompas in, in hun eigen "
            "woorden; na de voorbereiding is het alleen nog van hen."
        )
    return _(
        "De voorbereiding is voorbij: het kompas blijft zoals het is. Je kunt het nog lezen, "
        "veranderen kan niet meer."
    )


# -- the phase machine ----------------------------------------------------------------------

PHASES = ("preparation", "information", "private_time", "presentation", "action_team", "closed")

# Forward through the meeting; back from the presentation to private time when the family
# needs more time for its plan (the presentation showed a condition is not met, say).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "preparation": ("information",),
    "information": ("private_time",),
    "private_time": ("presentation",),
    "presentation": ("action_team", "private_time"),
    "action_team": ("closed",),
    "closed": (),
}

# Who may move the phase: only the coordinator, who never touches the content.
PHASE_MOVERS = frozenset({"coordinator"})


def may_move_phase(role: str) -> bool:
    return role in PHASE_MOVERS


def transition_problem(
    current: str,
    target: str,
    *,
    plan_ready: bool = False,
    override_reason: str = "",
    plan_frozen: bool = False,
) -> str | None:
    """Why the coordinator may not move from ``current`` to ``target`` now (None: they may).

    Leaving private time needs the family's "plan ready" since private time began, or an
    override with a reason. The action team starts only once the plan is frozen as version 1.
    """
    if target not in PHASES:
        return _("Een fase %(phase)r bestaat niet.", phase=target)
    if target == current:
        return _("De conferentie is al in %(phase)s.", phase=PHASE_LABELS[current])
    if target not in TRANSITIONS.get(current, ()):
        refusal = _(
            "Van %(current)s naar %(target)s kan niet.",
            current=PHASE_LABELS[current],
            target=PHASE_LABELS[target],
        )
        allowed = [PHASE_LABELS[p] for p in TRANSITIONS.get(current, ())]
        if not allowed:
            return refusal
        while len(allowed) > 1:
            last = allowed.pop()
            allowed[-1] = _("%(first)s of %(second)s", first=allowed[-1], second=last)
        then = _(
            "Vanuit %(current)s kan alleen naar %(allowed)s.",
            current=PHASE_LABELS[current],
            allowed=allowed[0],
        )
        return f"{refusal} {then}"
    if current == "private_time" and not plan_ready and not override_reason.strip():
        return _(
            "De familie heeft nog niet gezegd dat het plan klaar is. Wacht daarop, of beëindig "
            "de privétijd met een reden (die ziet de familie)."
        )
    if target == "private_time" and plan_frozen:
        return _("Het plan is al vastgesteld als versie 1; de privétijd is voorbij.")
    if target == "action_team" and not plan_frozen:
        return _("Stel eerst het plan vast (versie 1); daarna begint het actieteam.")
    return None


# -- structured decisions: who may do what in which phase -------------------------------------

# action -> phase -> roles. Like the document table: a missing cell means "may not".
ACTIONS: dict[str, dict[str, frozenset[str]]] = {
    # mandated professionals set the conditions the plan must meet, in the information phase
    "set_conditions": {"information": frozenset({"mandated_professional"})},
    # ... and check their own conditions at the presentation
    "check_conditions": {"presentation": frozenset({"mandated_professional"})},
    # the family calls the coordinator during private time
    "signal": {"private_time": FAMILY},
    # everyone in the meeting says whether they agree with the plan
    "answer": {"presentation": FAMILY | PROFESSIONALS},
    # the coordinator asks only clarifying questions, chooses the action team with the
    # family and freezes the plan as agreed
    "ask_questions": {"presentation": frozenset({"coordinator"})},
    "choose_action_team": {"presentation": frozenset({"coordinator"})},
    "finalise": {"presentation": frozenset({"coordinator"})},
    # everyone but the (independent) coordinator marks the conference and the plan 1-10 at
    # the presentation, and each follow-up meeting and the plan at that meeting
    "rate": {"presentation": FAMILY | PROFESSIONALS, "action_team": FAMILY | PROFESSIONALS},
    # the coordinator notes who is at the conference (the copy counts the answers of those
    # present), in the information phase or at the presentation until the plan is agreed
    # (not in private time, when the console names nobody) ...
    "record_attendance": {
        "information": frozenset({"coordinator"}),
        "presentation": frozenset({"coordinator"}),
    },
    # ... and "agree" / "not yet" for someone in the room without a device of their own
    # (never over what that person said themselves: see conference/meeting.py)
    "record_answer": {"presentation": frozenset({"coordinator"})},
    # the presentation view: the plan on a big screen, from the presentation on (and only
    # where the viewer may read the plan too: may_present)
    "present": {
        "presentation": frozenset(ROLES),
        "action_team": frozenset(ROLES),
        "closed": frozenset(ROLES),
    },
}


def may(action: str, phase: str, role: str) -> bool:
    """Whether ``role`` may take ``action`` (a key of ACTIONS) during ``phase``."""
    return role in ACTIONS.get(action, {}).get(phase, frozenset())


def may_present(phase: str, role: str, *, action_team_member: bool = False) -> bool:
    """Whether ``role`` may open the presentation view now: its own row of the table, and
    never more than what the plan table lets this viewer read."""
    readable = access(phase, role, "plan", action_team_member=action_team_member)
    return may("present", phase, role) and readable >= Access.READ


def connection_access(
    phase: str,
    role: str,
    document: str,
    *,
    action_team_member: bool = False,
    supporter: bool = False,
    presenting: bool = False,
) -> Access:
    """What one live connection may do with ``document`` now. A presentation view's
    connection (``presenting``) follows the presentation view's own row: it reads the plan
    where :func:`may_present` says so and never writes, so a phase change that closes the row
    (back to private time) closes it for every viewer, the family's big screen too."""
    if not presenting:
        return access(
            phase, role, document, action_team_member=action_team_member, supporter=supporter
        )
    if document != "plan" or not may_present(phase, role, action_team_member=action_team_member):
        return Access.NONE
    return Access.READ


def coordinator_reads_plan(phase: str) -> bool:
    """Whether the coordinator may read the plan in this phase: also what decides whether
    they may export the conference (an export holds the plan)."""
    return access(phase, "coordinator", "plan") >= Access.READ


def plan_locked_reason(phase: str) -> str:
    """What a locked-out person sees instead of the plan."""
    if phase == "private_time":
        return _(
            "De familie en het netwerk maken nu samen hun plan, zonder coördinator en zonder "
            "professionals. Je ziet het plan weer bij de presentatie."
        )
    return _(
        "Tijdens %(phase)s is het plan niet voor jou open.", phase=PHASE_LABELS.get(phase, phase)
    )
