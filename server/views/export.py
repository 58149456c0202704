"""A conference's export for the coordinator who runs it (what the zip holds is
``server/conference/export.py``'s).

From the conference page the export runs in the background (``conference/exportjobs.py``):
``POST /conferences/{id}/export`` starts it and, when it is done within a few seconds, sends
the browser straight to the zip; otherwise to ``GET /conferences/{id}/export``, which says
"bezig" and asks again every two seconds (htmx) until the download link is there:
``GET /conferences/{id}/export/{job}``, served once. ``GET /conferences/{id}/export.zip``
makes the zip within the request, for scripts (``kring export`` is the command line's).
Every way takes a slot of heavy work (``conference/heavy.py``), and the zip is made in one of
its worker processes, which reads the conference from the database itself: only the phase is
checked here first.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference import auth, export
from server.conference.exportjobs import ExportFailed, ExportJob
from server.conference.heavy import WorkLost
from server.i18n import _
from server.rules import phases
from server.views import common

INLINE_SECONDS = 3.0  # an export done within this long goes straight to the browser
POLL_SECONDS = 2  # how often the page asks whether a running export is done


def _gone() -> str:
    return _("Deze conferentie bestaat niet (meer).")


async def _exporter(request: Request) -> auth.Person:
    """The coordinator of the conference in the URL, while the plan is open to them (else 409
    with the reason: an export holds the plan)."""
    person = await common.coordinator_person(request)
    if not phases.coordinator_reads_plan(person.conference.phase):
        raise HTTPException(409, export.refused_reason(person.conference.phase))
    return person


def _zip_response(content: bytes, conference_id: str) -> Response:
    return Response(
        content,
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="kring-{conference_id}.zip"',
            "cache-control": "private, no-store",
        },
    )


async def export_zip(request: Request) -> Response:
    """The zip made within this request (for scripts): it waits for a slot of heavy work, at
    most half a minute (then 503)."""
    person = await common.coordinator_person(request)
    conference = person.conference
    try:
        archive = await export.build(
            common.heavy(request), common.settings(request).database_url, conference
        )
    except export.ExportRefused as exc:
        raise HTTPException(409, exc.reason) from None
    except export.ExportGone:
        raise HTTPException(404, _gone()) from None
    except export.ExportUnreadable:
        raise HTTPException(503, common.unreadable()) from None
    # Handed only to whoever may export it now, as a download from the export's page is: it
    # waited for a slot and was made meanwhile (the asker may have been removed from the
    # conference, their account turned off, the plan closed to them).
    person = await _exporter(request)
    await common.store(request).audit(
        conference.id, person.actor, "conference_exported", {"bytes": len(archive)}
    )
    return _zip_response(archive, conference.id)


async def export_start(request: Request) -> Response:
    """Start the export in the background (or keep the one running); straight to the zip when
    it is done within a few seconds, else to the page that waits for it."""
    person = await _exporter(request)
    conference = person.conference
    heavy, database_url = common.heavy(request), common.settings(request).database_url

    async def build() -> bytes:
        # The worker reads the conference as it is when its turn comes (its phase may have
        # changed while it waited for a slot) and refuses from that.
        try:
            return await export.build(heavy, database_url, conference, wait=True)
        except export.ExportRefused as exc:
            raise ExportFailed(exc.reason) from None
        except export.ExportGone:
            raise ExportFailed(_gone()) from None
        except export.ExportUnreadable:
            raise ExportFailed(common.unreadable()) from None
        except WorkLost:
            raise ExportFailed(common.work_lost()) from None

    jobs = common.export_jobs(request)
    job = jobs.start(conference.id, person.actor, build)
    page = f"/conferences/{conference.id}/export"
    if await jobs.wait(job, INLINE_SECONDS) and job.state == "ready":
        page = f"{page}/{job.id}"
    return RedirectResponse(page, status_code=303)


async def export_page(request: Request) -> Response:
    """Where this person's export stands: running (the page asks again), ready (the link),
    failed (why), or none (a button to start one). For htmx, the part that changes."""
    person = await common.coordinator_person(request)
    conference = person.conference
    job = common.export_jobs(request).current(conference.id, person.actor)
    context: dict[str, Any] = {
        "conference": conference,
        "job": job,
        "poll_seconds": POLL_SECONDS,
        "may_export": phases.coordinator_reads_plan(conference.phase),
    }
    if common.is_htmx(request):
        return common.render(request, "conferences/_export_job.html", **context)
    return common.render(request, "conferences/export.html", **context)


async def export_download(request: Request) -> Response:
    """The finished zip, once, to whoever may export the conference now; then it is gone."""
    person = await common.coordinator_person(request)
    conference = person.conference
    jobs = common.export_jobs(request)
    job: ExportJob | None = jobs.by_id(conference.id, request.path_params["job"])
    gone = _("Deze export is er niet (meer): hij is al gedownload of verlopen. Begin opnieuw.")
    if job is None or job.state != "ready":
        raise HTTPException(404, gone)
    if not phases.coordinator_reads_plan(conference.phase):
        jobs.drop(job)  # it holds the plan, which is closed to the coordinator now
        raise HTTPException(409, export.refused_reason(conference.phase))
    archive = await jobs.take(job)
    if archive is None:
        raise HTTPException(404, gone)
    await common.store(request).audit(
        conference.id, person.actor, "conference_exported", {"bytes": len(archive)}
    )
    return _zip_response(archive, conference.id)
