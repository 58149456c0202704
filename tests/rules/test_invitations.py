"""What a person on the network map becomes on the list, who may answer an invitation until
when, the counts, and the family's proposals checked field by field (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.rules import invitations
from server.rules.networkmap import MapEntry
from server.storage.models import INVITATION_STATUSES

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)


def test_a_map_entry_becomes_a_participant_with_its_name_and_a_role() -> None:
    oma = MapEntry(id="oma", name="Oma Truus", kind="family")
    karin = MapEntry(id="karin", name="Karin de Jong", kind="professional")
    noor = MapEntry(id="noor", name="Noor van Dijk", kind="school", child=True, age=8)
    baby = MapEntry(id="baby", name="Mo", kind="family", child=True)
    assert invitations.invitee(oma) == invitations.Invitee("Oma Truus", "network_member", "")
    assert invitations.invitee(karin).role == "professional"
    # A child: the first name only, and the age (as the practical side notes it).
    assert invitations.invitee(noor) == invitations.Invitee("Noor", "network_member", "", 8)
    assert invitations.invitee(baby).note == "Kind."
    assert all(invitations.map_refusal(e) is None for e in (oma, karin, noor, baby))


def test_gaps_people_no_longer_around_and_odd_entries_cannot_be_invited() -> None:
    refused = {
        "gap": MapEntry(id="g", name="", gap=True),
        "gone": MapEntry(id="p", name="Opa Piet", gone=True),
        "nameless": MapEntry(id="n", name="  "),
        "long id": MapEntry(id="x" * 65, name="Els"),
        "slash": MapEntry(id="a/b", name="Els"),
        # written by another Yjs client: PostgreSQL cannot even store a NUL
        "control character in the id": MapEntry(id="a\x00b", name="Els"),
        "control character in the name": MapEntry(id="els", name="El\x00s"),
        "lone surrogate": MapEntry(id="els", name="Els\ud800"),
    }
    reasons = {what: invitations.map_refusal(entry) for what, entry in refused.items()}
    assert all(reasons.values()), reasons
    assert "Opa Piet is niet meer in beeld" in str(reasons["gone"])


def test_an_answer_is_taken_in_the_preparation_until_the_conference_begins() -> None:
    later, earlier = NOW + timedelta(hours=1), NOW - timedelta(minutes=1)
    assert invitations.may_answer("preparation", "network_member", later, NOW)
    assert invitations.may_answer("preparation", "mandated_professional", None, NOW)
    assert not invitations.may_answer("preparation", "client", earlier, NOW)
    assert not invitations.may_answer("information", "client", None, NOW)
    assert not invitations.may_answer("preparation", "coordinator", None, NOW)
    assert "al begonnen" in invitations.answer_closed_reason("preparation", earlier, NOW)
    assert "de informatiefase" in invitations.answer_closed_reason("information", None, NOW)


def test_the_counts_and_the_statuses_the_database_allows_agree() -> None:
    assert invitations.STATUSES == INVITATION_STATUSES == tuple(invitations.STATUS_LABELS)
    counts = invitations.count(["coming", "coming", "not_coming", "maybe", "invited", "to_invite"])
    assert counts == invitations.Counts(coming=2, not_coming=1, maybe=1, no_answer=2)


def test_a_proposal_is_checked_field_by_field() -> None:
    fine = invitations.proposal_form({"name": " Oom Kees ", "relation": "oom", "why": ""})
    assert fine.ok and fine.cleaned == {"name": "Oom Kees", "relation": "oom", "why": ""}
    bad = invitations.proposal_form({"name": "", "relation": "o" * 101, "why": "a\x00b"})
    assert set(bad.errors) == {"name", "relation", "why"}
    assert bad.values["relation"] == "o" * 101  # shown again as typed
    assert invitations.decline_reason("r" * 501)[1] is not None
    assert invitations.decline_reason("  Eerst bespreken ") == ("Eerst bespreken", None)
    assert invitations.note_problem("n" * 501) is not None
