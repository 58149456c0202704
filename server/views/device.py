"""The device a person uses: the service worker that lets a tablet reload the plan without a
connection, "switch person" on a shared tablet, and "forget this device"."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.conference import sessions
from server.i18n import _
from server.views import common, identity

SERVICE_WORKER = Path(__file__).resolve().parents[2] / "web" / "static" / "sw.js"
INVITATION_PATH = re.compile(r"^/i/[A-Za-z0-9_-]{20,100}$")


async def service_worker(request: Request) -> Response:
    """/sw.js, from the site's root so that it may answer for every page."""
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


async def switch_person(request: Request) -> Response:
    """Open another person's invitation link on this device (a shared tablet)."""
    link = request.query_params.get("link", "").strip()
    parts = urlsplit(link)
    same_site = not parts.netloc or parts.netloc == request.url.netloc
    if same_site and INVITATION_PATH.match(parts.path) and not parts.query:
        return RedirectResponse(parts.path, status_code=303)
    return common.error_page(
        request,
        400,
        _("Dit is geen uitnodigingslink van Kring"),
        _("Een uitnodigingslink begint met het adres van Kring en dan /i/."),
        _("Kopieer de hele link uit het bericht van de coördinator, of scan de QR-code."),
    )


async def forget_device(request: Request) -> Response:
    """End this device's session and clear what Kring kept on it (cookies, the plan's local
    copy, the offline pages), for browsers that honour Clear-Site-Data and, through the page's
    script, for those that do not (plain http)."""
    response = common.render(request, "forgotten.html")
    await common.sign_out(request, response, identity.PARTICIPANT_COOKIE, sessions.FORGOTTEN)
    response.headers["clear-site-data"] = '"cache", "cookies", "storage"'
    return response
