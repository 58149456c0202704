"""The access report's reading of audit rows: each kind says which document or copy, how,
and which plan version; a row that is no access says nothing."""

from __future__ import annotations

from typing import Any

from server import i18n
from server.rules.access import ACCESS_KINDS, SUBJECTS, Access, access_of


def found(kind: str, detail: dict[str, Any]) -> Access:
    access = access_of(kind, detail)
    assert access is not None, kind
    return access


def test_each_access_kind_names_its_document_or_copy_how_and_the_version() -> None:
    with i18n.using("nl"):
        assert access_of("room_joined", {"document": "plan", "access": "read"}) == Access(
            "plan", "Het plan", "opende om te lezen"
        )
        assert access_of("room_joined", {"document": "compass"}) == Access(
            "compass", "Het netwerkkompas", "opende"
        ), "a row from before reading and writing were told apart"
        assert access_of("document_written", {"document": "information"}) == Access(
            "information", "De informatie", "schreef in"
        )
        assert access_of("document_viewed", {"document": "compass", "page": "map"}) == Access(
            "network_map", "De netwerkkaart", "bekeek"
        )
        compared = {"document": "plan", "page": "compare", "versions": [1, 3]}
        assert access_of("document_viewed", compared) == Access(
            "plan_copy", "Twee versies van het plan naast elkaar", "bekeek", "1 en 3"
        )
        assert access_of("plan_exported", {"version": 2, "format": "pdf"}) == Access(
            "plan_copy", "Kopie van het plan (pdf)", "downloadde", "2"
        )
        assert access_of("plan_exported", {"version": 2, "format": "page"}) == Access(
            "plan_copy", "Kopie van het plan (afdrukpagina)", "bekeek", "2"
        )
        assert found("compass_downloaded", {"format": "json"}).subject == "compass_copy"
        assert found("conference_exported", {"bytes": 1}).subject == "export"
        assert found("presentation_opened", {}).subject == "plan"
    with i18n.using("en"):
        assert access_of("document_written", {"document": "plan"}) == Access(
            "plan", "The plan", "wrote in"
        )
    # Every access kind has a subject the document filter offers; other rows are no access.
    samples = {
        "room_joined": {"document": "plan"},
        "document_written": {"document": "plan"},
        "document_viewed": {"document": "plan", "page": "plan"},
    }
    for kind in ACCESS_KINDS:
        assert found(kind, samples.get(kind, {})).subject in SUBJECTS, kind
    assert access_of("phase_changed", {"from": "information"}) is None
    assert access_of("room_joined", {"document": "dossier"}) is None
    assert access_of("document_viewed", {"page": "elsewhere"}) is None
    assert found("plan_exported", {"version": True}).version == ""
