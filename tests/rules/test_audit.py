"""The audit log in sentences: every kind the code writes has one, with names, not ids."""

from __future__ import annotations

import ast
from pathlib import Path

from server import i18n
from server.rules import audit

SERVER = Path(__file__).resolve().parents[2] / "server"


def _strings(node: ast.AST) -> set[str]:
    """The strings an expression can give (``"a" if x == "in" else "b"``: a and b)."""
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _kinds_in(tree: ast.AST) -> set[str]:
    """The kinds passed to ``store.audit(conference, actor, kind, ...)`` or written as
    ``AuditEvent(kind=...)``: a literal, or a name whose assignments in the same function
    hold the literals (``kind = "a" if ... else "b"``)."""
    found: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            callee = call.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            kind: ast.expr | None = None
            if name == "audit" and len(call.args) >= 3:
                kind = call.args[2]
            for keyword in call.keywords:
                if keyword.arg == "kind" and name in ("audit", "AuditEvent"):
                    kind = keyword.value
            if kind is None:
                continue
            if isinstance(kind, ast.Name) and kind.id in {a.arg for a in function.args.args}:
                continue  # passed through (the store's own ``audit``): its callers say which
            if isinstance(kind, ast.Name):
                assigned = [
                    a.value
                    for a in ast.walk(function)
                    if isinstance(a, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == kind.id for t in a.targets)
                ]
                assert assigned, f"cannot tell which kinds {kind.id} holds in {function.name}"
                for value in assigned:
                    found |= _strings(value)
            else:
                found |= _strings(kind)
    return found


def kinds_written() -> set[str]:
    found: set[str] = set()
    for path in SERVER.rglob("*.py"):
        found |= _kinds_in(ast.parse(path.read_text(), str(path)))
    return found


def test_every_kind_the_code_writes_has_a_sentence() -> None:
    written = kinds_written()
    assert {"phase_changed", "private_time_overridden", "admission_refused"} <= written
    missing = written - audit.KINDS
    assert not missing, f"give these audit kinds a sentence in server/rules/audit.py: {missing}"


NAMES = {17: "Ayşe Yılmaz", 18: "Oom Mehmet"}


def test_sentences_name_people_and_never_show_ids() -> None:
    with i18n.using("nl"):
        cards = audit.sentence(
            "cards_printed", "Lotte Hendriks", {"participant_ids": [17, 18, 99]}, NAMES.get
        )
        assert cards == (
            "Lotte Hendriks maakte uitnodigingskaarten voor Ayşe Yılmaz, Oom Mehmet en iemand "
            "die niet meer op de lijst staat."
        )
        moved = audit.sentence(
            "phase_changed",
            "Lotte Hendriks",
            {"from": "information", "to": "private_time"},
            NAMES.get,
        )
        assert (
            moved == "Lotte Hendriks zette de conferentie van de informatiefase naar de privétijd."
        )
        added = audit.sentence(
            "participant_added",
            "Lotte Hendriks",
            {"participant_id": 18, "role": "network_member"},
            NAMES.get,
        )
        assert added.startswith("Lotte Hendriks zette Oom Mehmet op de lijst als netwerklid")
        # The family in private time: the details are gone, the sentence still reads.
        masked = audit.sentence("admission_granted", "Iemand van de familie", {}, NAMES.get)
        assert masked == "Iemand van de familie liet een apparaat binnen."
        unknown = audit.sentence("plan_ready_undone", "Ayşe Yılmaz", {"x": 1}, NAMES.get)
        assert unknown == "Ayşe Yılmaz: plan ready undone"
    with i18n.using("en"):
        team = audit.sentence(
            "action_team_chosen", "Lotte Hendriks", {"participant_ids": [17, 18]}, NAMES.get
        )
        assert team == "Lotte Hendriks chose the action team: Ayşe Yılmaz and Oom Mehmet."
