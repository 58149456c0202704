"""The conference export on a real `kring serve`: one zip with the conference, its documents,
every plan version (also as PDF), conditions, ratings and the audit log, for the coordinator
who runs it, and only while the permission table lets them read the plan."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text
from pypdf import PdfReader

from server.conference.export import yjs_roots
from server.rules.plan import read_plan
from tests.support.live import connected
from tests.support.meeting import run_to_action_team
from tests.support.people import (
    DemoConference,
    as_,
    demo_conference,
    ids_by_role,
    other_coordinator,
    server_store,
)
from tests.support.server import LiveServer

pytestmark = pytest.mark.usefixtures("devices_closed")

CONDITION = "Sam slaapt elke nacht thuis"


async def _run_to_version_2(conference: DemoConference) -> dict[str, int]:
    """A condition (met), the conference to version 1, ratings, and one follow-up closed
    (version 2, the cooking agreement on track). Returns participant ids by role."""
    cid = conference.id
    ids = await ids_by_role(conference, "mandated_professional")
    async with server_store(conference) as store:
        condition = await store.add_condition(cid, ids["mandated_professional"], CONDITION)
        await store.check_condition(cid, condition.id, ids["mandated_professional"], "met", "")
    ids.update(await run_to_action_team(conference))
    member = conference.device("plan", conference.cookie("network_member"), saved=True)
    async with as_(conference, conference.cookie("network_member")) as ayse, connected(member):
        assert (await ayse.post(f"/c/{cid}/follow-ups")).status_code == 303
        came = {"participant": [str(ids["client"]), str(ids["network_member"])]}
        assert (await ayse.post(f"/c/{cid}/follow-ups/1/attendance", data=came)).status_code == 303
        for item in member.doc.get("agreements", type=Array):
            if "koken" in str(item["what"]):
                item["status"] = "on_track"
        await member.wait_for(member.all_saved)
        assert (await ayse.post(f"/c/{cid}/follow-ups/1/close")).status_code == 303
    async with server_store(conference) as store:
        await store.set_rating(cid, ids["client"], 0, 8, 9)
        await store.set_rating(cid, ids["network_member"], 1, 7, 6)
    return ids


def _pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def _opened(data: bytes) -> tuple[dict[str, Any], zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return json.loads(archive.read("conference.json")), archive


def test_a_document_of_any_shape_is_read_into_json() -> None:
    doc: Doc[Any] = Doc()
    doc["wishes"] = Map({"housing": "Een eigen kamer"})
    doc["people"] = Array(["Oma", "Buurman Jan"])
    doc["questions"] = Text("Wie helpt Sam?")
    other: Doc[Any] = Doc()
    other.apply_update(doc.get_update())
    for n in range(3):  # text written by two devices, in pieces
        other.get("questions", type=Text).insert(0, f"{n}. ")
        doc.apply_update(other.get_update())
    assert yjs_roots(doc.get_update()) == {
        "people": ["Oma", "Buurman Jan"],
        "questions": "2. 1. 0. Wie helpt Sam?",
        "wishes": {"housing": "Een eigen kamer"},
    }
    assert yjs_roots(Doc().get_update()) == {}


async def test_the_coordinator_downloads_everything_of_the_conference_in_one_zip(
    live_server: LiveServer, tmp_path: Any
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    ids = await _run_to_version_2(conference)
    async with as_(conference, conference.coordinator_cookie()) as coordinator:
        detail = await coordinator.get(f"/conferences/{cid}")
        assert f'action="/conferences/{cid}/export"' in detail.text  # a background job
        assert "Het netwerkkompas zit er niet in" in detail.text
        response = await coordinator.get(f"/conferences/{cid}/export.zip")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        assert "no-store" in response.headers["cache-control"]
        data, archive = _opened(response.content)

        assert data["format"]["name"] == "kring-conference-export"
        assert set(data["format"]["parts"]) <= set(data)
        readme = archive.read("README.txt").decode()
        assert "conference.json" in readme and "Not in this export: the network compass" in readme
        assert data["conference"]["client_name"] == "Sam Yılmaz"
        assert data["conference"]["phase"] == "action_team"
        people = {p["id"]: p for p in data["participants"]}
        assert people[ids["client"]]["role"] == "client" and people[ids["client"]]["action_team"]

        # The live plan as typed, read into JSON, and its raw state reads the same.
        plan = data["documents"]["plan"]
        whats = [a["what"] for a in plan["content"]["agreements"]]
        assert whats == ["Samen koken op zondag", "Sam naar voetbal"]
        state = base64.b64decode(plan["yjs_state_base64"])
        assert [a["what"] for a in read_plan(state)["agreements"]] == whats
        assert set(data["documents"]) == {"information", "plan"}  # never the compass
        assert data["documents"]["information"]["content"] == {"text": ""}

        versions = data["plan_versions"]
        assert [v["number"] for v in versions] == [1, 2]
        cooking = [
            next(a for a in v["content"]["agreements"] if a["what"] == "Samen koken op zondag")
            for v in versions
        ]
        assert [a["status"] for a in cooking] == ["open", "on_track"]
        assert read_plan(base64.b64decode(versions[1]["yjs_state_base64"]))["agreements"]
        assert data["follow_ups"][0]["version_number"] == 2
        assert data["follow_ups"][0]["attended"] == sorted([ids["client"], ids["network_member"]])

        assert [(c["text"], c["status"]) for c in data["conditions"]] == [(CONDITION, "met")]
        assert [(a["participant_id"], a["answer"]) for a in data["answers"]] == [
            (ids["client"], "agree")
        ]
        assert [s["kind"] for s in data["signals"]] == ["plan_ready"]
        assert [(r["occasion"], r["meeting_score"], r["plan_score"]) for r in data["ratings"]] == [
            (0, 8, 9),
            (1, 7, 6),
        ]
        # Not whose: people are told the coordinator sees only averages.
        assert all(set(r) == {"occasion", "meeting_score", "plan_score"} for r in data["ratings"])
        kinds = [event["kind"] for event in data["audit_log"]]
        assert {"phase_changed", "plan_frozen", "follow_up_started", "follow_up_closed"} <= set(
            kinds
        )
        assert data["actors"][f"participant:{ids['client']}"] == "Sam Yılmaz"

        # One PDF per version, each the printable copy with the agreements' text.
        assert sorted(n for n in archive.namelist() if n.endswith(".pdf")) == [
            "plan-versie-1.pdf",
            "plan-versie-2.pdf",
        ]
        for version in versions:
            printed = _pdf_text(archive.read(version["pdf"]))
            assert "Samen koken op zondag" in printed and "Sam naar voetbal" in printed
            assert f"Versie {version['number']}" in printed

        audit = await coordinator.get(f"/conferences/{cid}/audit")
        assert "downloadde alle gegevens van de conferentie (zip)." in audit.text

    # The command line writes the same export, readable only by its owner.
    target = tmp_path / "export.zip"
    live_server.instance.cli("export", cid, "-o", str(target))
    assert target.stat().st_mode & 0o077 == 0
    from_cli, _archive = _opened(target.read_bytes())
    assert from_cli["documents"]["plan"] == data["documents"]["plan"]
    assert [v["number"] for v in from_cli["plan_versions"]] == [1, 2]


async def test_an_export_is_refused_to_others_and_while_the_plan_is_closed_to_the_coordinator(
    live_server: LiveServer,
) -> None:
    private = await demo_conference(live_server, "private_time")
    cid = private.id
    ayse_cookie = private.cookie("network_member")  # opening her link is in the log
    async with server_store(private) as store:
        before = len(await store.audit_events(cid))

    async with as_(private, private.coordinator_cookie()) as coordinator:
        refused = await coordinator.get(f"/conferences/{cid}/export.zip")
        assert refused.status_code == 409
        assert "Alles downloaden kan nu niet" in refused.text
        assert "zonder coördinator en zonder professionals" in refused.text
        detail = await coordinator.get(f"/conferences/{cid}")
        assert f"/conferences/{cid}/export" not in detail.text
        assert "Alles downloaden kan vanaf de presentatie van het plan" in detail.text

    stranger_cookie, _account = await other_coordinator(private)
    async with as_(private, stranger_cookie) as stranger:
        foreign = await stranger.get(f"/conferences/{cid}/export.zip")
        assert foreign.status_code == 403
        assert "Deze conferentie wordt door een andere coördinator begeleid." in foreign.text

    async with as_(private, ayse_cookie) as ayse:
        assert (await ayse.get(f"/conferences/{cid}/export.zip")).status_code == 403

    # The information phase is closed to the coordinator's reading too.
    informing = await demo_conference(live_server, "information")
    async with as_(informing, informing.coordinator_cookie()) as coordinator:
        assert (await coordinator.get(f"/conferences/{informing.id}/export.zip")).status_code == 409

    cli = live_server.instance.cli("export", cid, check=False)
    assert cli.returncode == 2 and "may not read the plan" in cli.stderr
    async with server_store(private) as store:
        assert len(await store.audit_events(cid)) == before  # nothing recorded, nothing changed
