"""The permission table (server/rules/phases.py, and the README), cell by cell: who may read
or write what, when."""

from __future__ import annotations

import pytest

from server.rules.phases import (
    DOCUMENTS,
    PHASE_LABELS,
    PHASES,
    ROLES,
    Access,
    access,
    connection_access,
    may,
    may_move_phase,
    may_present,
    refusal_reason,
    transition_problem,
)

N, R, W = Access.NONE, Access.READ, Access.WRITE
FAMILY_ROLES = ("client", "network_member")

# phase -> (client/network, professional, mandated professional, coordinator)
PLAN = {
    "preparation": (N, N, N, N),
    "information": (R, N, N, N),
    "private_time": (W, N, N, N),
    "presentation": (W, R, R, R),
    "action_team": (R, R, R, R),  # members write: see the next test
    "closed": (R, R, R, R),
}
# The compass has a column of its own for the supporters (network members the client chose):
# phase -> (client, supporter, other network member, professional, mandated professional,
# coordinator)
COMPASS = {
    "preparation": (W, W, N, N, N, R),
    "information": (R, R, N, N, N, N),
    "private_time": (R, R, N, N, N, N),
    "presentation": (R, R, N, N, N, N),
    "action_team": (R, R, N, N, N, N),
    "closed": (R, R, N, N, N, N),
}
COMPASS_COLUMNS = (
    ("client", True),
    ("network_member", True),
    ("network_member", False),
    ("professional", False),
    ("mandated_professional", False),
    ("coordinator", False),
)
INFORMATION = {
    "preparation": (N, N, N, N),
    "information": (W, W, W, W),
    "private_time": (R, N, N, N),
    "presentation": (R, R, R, R),
    "action_team": (R, R, R, R),
    "closed": (R, R, R, R),
}
TABLES = {"plan": PLAN, "information": INFORMATION}
COLUMNS = ("family", "professional", "mandated_professional", "coordinator")


def _cell(role: str) -> int:
    return 0 if role in FAMILY_ROLES else COLUMNS.index(role)


@pytest.mark.parametrize("document", sorted(TABLES))
@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_cell_of_the_table(document: str, phase: str, role: str) -> None:
    assert access(phase, role, document) == TABLES[document][phase][_cell(role)]
    # the supporter mark is about the compass only
    assert access(phase, role, document, supporter=True) == TABLES[document][phase][_cell(role)]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("column", range(len(COMPASS_COLUMNS)))
def test_every_cell_of_the_compass_table(phase: str, column: int) -> None:
    role, supporter = COMPASS_COLUMNS[column]
    expected = COMPASS[phase][column]
    assert access(phase, role, "compass", supporter=supporter) == expected
    assert connection_access(phase, role, "compass", supporter=supporter) == expected


def test_only_a_network_member_is_made_a_supporter_by_the_mark() -> None:
    # The client holds the compass with or without the mark; a professional or the
    # coordinator marked by a bug still gets only their own column.
    for phase in PHASES:
        for role in ("client", "professional", "mandated_professional", "coordinator"):
            marked = access(phase, role, "compass", supporter=True)
            assert marked == access(phase, role, "compass"), (phase, role)
    assert access("preparation", "network_member", "compass") == N
    assert access("preparation", "network_member", "compass", supporter=True) == W
    assert access("someday", "client", "compass") == N


def test_in_the_action_team_members_write_the_plan_and_the_coordinator_only_reads() -> None:
    for role in ("client", "network_member", "professional", "mandated_professional"):
        assert access("action_team", role, "plan", action_team_member=True) == W
    assert access("action_team", "coordinator", "plan", action_team_member=True) == R


def test_in_private_time_only_the_family_holds_any_document() -> None:
    for role in ROLES:
        held = {d: access("private_time", role, d) for d in DOCUMENTS}
        if role == "client":
            assert held == {"plan": W, "information": R, "compass": R}
        elif role == "network_member":  # the compass only as a supporter
            assert held == {"plan": W, "information": R, "compass": N}
            assert access("private_time", role, "compass", supporter=True) == R
        else:
            assert held == {"plan": N, "information": N, "compass": N}


def test_unknown_roles_documents_and_phases_get_nothing() -> None:
    assert access("information", "admin", "information") == N
    assert access("information", "client", "diary") == N
    assert access("someday", "client", "plan") == N


def test_a_refusal_names_the_phase_and_the_document_in_plain_dutch() -> None:
    reason = refusal_reason("private_time", "plan")
    assert reason == "Tijdens de privétijd is het plan niet voor jou open."
    # Close reasons travel in a websocket close frame: at most 123 bytes.
    for phase in PHASES:
        for document in DOCUMENTS:
            assert len(refusal_reason(phase, document).encode()) <= 123


# -- the phase machine ----------------------------------------------------------------------

# (from, to) -> allowed when nothing else stands in the way
MOVES = {
    ("preparation", "information"),
    ("information", "private_time"),
    ("private_time", "presentation"),
    ("presentation", "action_team"),
    ("presentation", "private_time"),  # back: the family needs more time
    ("action_team", "closed"),
}


@pytest.mark.parametrize("target", PHASES)
@pytest.mark.parametrize("current", PHASES)
def test_every_transition(current: str, target: str) -> None:
    # Everything that could stand in the way is cleared, except the transition itself.
    problem = transition_problem(
        current, target, plan_ready=True, plan_frozen=target == "action_team"
    )
    if (current, target) in MOVES:
        assert problem is None
    else:
        assert problem is not None and PHASE_LABELS[current] in problem


def test_leaving_private_time_needs_plan_ready_or_a_reason() -> None:
    assert "plan klaar" in (transition_problem("private_time", "presentation") or "")
    blank = transition_problem("private_time", "presentation", override_reason="   ")
    assert blank is not None
    assert transition_problem("private_time", "presentation", plan_ready=True) is None
    reason = "De zaal sluit."
    assert transition_problem("private_time", "presentation", override_reason=reason) is None


def test_the_action_team_starts_with_a_frozen_plan_and_then_there_is_no_way_back() -> None:
    assert "versie 1" in (transition_problem("presentation", "action_team") or "")
    assert transition_problem("presentation", "action_team", plan_frozen=True) is None
    assert transition_problem("presentation", "private_time", plan_frozen=True) is not None
    assert transition_problem("presentation", "holiday") == "Een fase 'holiday' bestaat niet."


def test_only_the_coordinator_moves_the_phase() -> None:
    assert [r for r in ROLES if may_move_phase(r)] == ["coordinator"]


# action -> the only (phase, role) cells where it is allowed
ALLOWED = {
    "set_conditions": {("information", "mandated_professional")},
    "check_conditions": {("presentation", "mandated_professional")},
    "signal": {("private_time", "client"), ("private_time", "network_member")},
    "answer": {
        ("presentation", r)
        for r in ("client", "network_member", "professional", "mandated_professional")
    },
    "ask_questions": {("presentation", "coordinator")},
    "choose_action_team": {("presentation", "coordinator")},
    "finalise": {("presentation", "coordinator")},
    "record_attendance": {
        ("information", "coordinator"),
        ("presentation", "coordinator"),
    },
    "record_answer": {("presentation", "coordinator")},
    "present": {(p, r) for p in ("presentation", "action_team", "closed") for r in ROLES},
}


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_every_cell_of_the_decisions_table(action: str) -> None:
    allowed = {(p, r) for p in PHASES for r in ROLES if may(action, p, r)}
    assert allowed == ALLOWED[action]
    assert not may("no_such_action", "presentation", "coordinator")


# The presentation view's own row: phase -> (client/network, professional, mandated
# professional, coordinator), True where it shows the plan.
PRESENT = {
    "preparation": (False, False, False, False),
    "information": (False, False, False, False),
    "private_time": (False, False, False, False),
    "presentation": (True, True, True, True),
    "action_team": (True, True, True, True),
    "closed": (True, True, True, True),
}


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_cell_of_the_presentation_views_row(phase: str, role: str) -> None:
    shown = may_present(phase, role)
    assert shown == PRESENT[phase][_cell(role)]
    # never more than the viewer may read of the plan itself
    assert not shown or access(phase, role, "plan") >= R
    # and its live connection follows this row, reading only, and only the plan
    expected = R if shown else N
    assert connection_access(phase, role, "plan", presenting=True) == expected
    for other in ("information", "compass"):
        assert connection_access(phase, role, other, presenting=True) == N
    assert connection_access(phase, role, "plan") == access(phase, role, "plan")
