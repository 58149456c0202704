"""What every web handler shares: the app's state, pages and error pages, who is asking, and
reading numbers, choices and text from a request.

Every form also works without JavaScript: htmx requests (``HX-Request``) get the fragment
they swap in, plain form posts get the whole page or a redirect.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from server.conference import accounts, auth, calendar, sessions
from server.conference.events import Events
from server.conference.exportjobs import ExportJobs
from server.conference.followups import FollowUps
from server.conference.heavy import Busy, HeavyWork, WorkLost
from server.conference.meeting import Meeting
from server.conference.refusals import FlowError
from server.i18n import N_, _
from server.rooms.hub import RoomHub
from server.rules import invitations, schedule
from server.rules.audit import CHANNEL_LABELS
from server.rules.phases import PHASE_TITLES, ROLE_LABELS
from server.rules.plan import AGREEMENT_STATUSES
from server.rules.refusal import Refusal
from server.settings import Settings
from server.storage.models import Conference
from server.storage.store import Store
from server.views import identity
from server.views.assets import templates
from server.views.labels import PHASE_EXPLANATIONS, SIGNAL_LABELS

# The HTTP status of each kind of refusal a use case answers.
STATUS = {
    Refusal.INVALID: 400,
    Refusal.NOT_SIGNED_IN: 401,
    Refusal.FORBIDDEN: 403,
    Refusal.MISSING: 404,
    Refusal.CONFLICT: 409,
}

ERROR_TITLES = {
    403: N_("Geen toegang"),
    503: N_("Even niet beschikbaar"),
    404: N_("Niet gevonden"),
    405: N_("Dat kan hier niet"),
    409: N_("Dat kan niet"),
}


# -- the running app's parts (set up by app.py's lifespan) ---------------------------------


def store(conn: HTTPConnection) -> Store:
    found: Store = conn.app.state.store
    return found


def settings(conn: HTTPConnection) -> Settings:
    found: Settings = conn.app.state.settings
    return found


def hub(conn: HTTPConnection) -> RoomHub:
    found: RoomHub = conn.app.state.hub
    return found


def events(conn: HTTPConnection) -> Events:
    found: Events = conn.app.state.events
    return found


def heavy(conn: HTTPConnection) -> HeavyWork:
    found: HeavyWork = conn.app.state.heavy
    return found


def export_jobs(conn: HTTPConnection) -> ExportJobs:
    found: ExportJobs = conn.app.state.export_jobs
    return found


def meeting(conn: HTTPConnection) -> Meeting:
    return Meeting(store(conn), hub(conn), events(conn))


def follow_ups(conn: HTTPConnection) -> FollowUps:
    return FollowUps(store(conn), hub(conn), events(conn))


# -- pages -----------------------------------------------------------------------------------


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def render_fragment(name: str, **context: Any) -> str:
    """A template rendered to a string (for server-sent events)."""
    return templates.get_template(name).render(**context)


def download(content: bytes, media_type: str, name: str) -> Response:
    """``content`` to save as a file called ``name``, which may be in any script (a Turkish
    or Arabic file name): plain ASCII for old browsers, the whole name as RFC 6266 says."""
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", name.encode("ascii", "ignore").decode()).strip("-")
    suffix = name.rpartition(".")[2]
    if not plain or plain.startswith("."):
        # Only a plain extension is kept: a quote, slash or line break after the last dot
        # would end the header's value or name a folder.
        plain = f"kring.{suffix}" if re.fullmatch(r"[A-Za-z0-9]{1,10}", suffix) else "kring"
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(
        content,
        media_type=media_type,
        headers={
            "content-disposition": disposition,
            "cache-control": "private, no-store",
        },
    )


async def audit_viewed(
    request: Request, person: auth.Person, document: str, page: str, **more: Any
) -> None:
    """A page showed ``person`` a document (the access report's "read"), counted with the
    same person's earlier views of it rather than written again."""
    detail = {"document": document, "page": page, **more}
    await store(request).audit(
        person.conference.id, person.actor, "document_viewed", detail, coalesce=True
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(
    request: Request, status_code: int, title: str, message: str, action: str = ""
) -> Response:
    """A page that says what went wrong and what to do; for htmx, it replaces <main>."""
    context = {"title": title, "message": message, "action": action}
    if is_htmx(request):
        response = render(request, "_error_body.html", status_code, **context)
        response.headers["hx-retarget"] = "#main"
        response.headers["hx-reswap"] = "innerHTML show:top"
        return response
    return render(request, "error.html", status_code, **context)


def busy_handler(request: Request, exc: Exception) -> Response:
    """Every slot of heavy work stayed taken (``conference/heavy.py``): try again soon."""
    response = error_page(
        request,
        503,
        _("Kring is even druk"),
        _(
            "Er worden nu veel pdf's en exports tegelijk gemaakt. Probeer het over een halve "
            "minuut opnieuw."
        ),
    )
    retry = exc.retry_after if isinstance(exc, Busy) else 30
    response.headers["retry-after"] = str(retry)
    return response


# A made thing whose worker process died may be asked for again at once: new ones start.
LOST_RETRY_AFTER_SECONDS = 5


def unreadable() -> str:
    return _("De gegevens kunnen nu niet gelezen worden. Probeer het zo opnieuw.")


def work_lost() -> str:
    return _("Het maken hiervan werd onderbroken. Probeer het zo opnieuw.")


def lost_handler(request: Request, exc: Exception) -> Response:
    """A worker process of the heavy work died while it made this page's PDF, zip or table
    (``conference/heavy.py``, WorkLost): try again, not an internal server error."""
    assert isinstance(exc, WorkLost)
    response = error_page(request, 503, _("Even niet beschikbaar"), work_lost())
    response.headers["retry-after"] = str(LOST_RETRY_AFTER_SECONDS)
    return response


# The header with which a live document's 403 page names whose offline copy of that document
# the device should forget (web/static/sw.js): that person's only, never another's on a
# shared tablet.
FORGET_HEADER = "kring-forget"


def device_person(person: auth.Person) -> str | int:
    """Whose copy of a live document a device keeps: the pages' ``me.id``, which names the
    device's copy (web/src/sync.js ``localName``) and its offline page (device.js)."""
    return person.participant_id or f"coordinator-{person.actor}"


def live_page_refused(request: Request, person: auth.Person, title: str, reason: str) -> Response:
    """403 for a live document's page (plan, compass, map): says why, and names whose offline
    copy of it this device no longer keeps."""
    response = error_page(request, 403, title, reason)
    response.headers[FORGET_HEADER] = str(device_person(person))
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    """Every HTTPException as an error page with a title for its status."""
    assert isinstance(exc, HTTPException)
    title = ERROR_TITLES.get(exc.status_code, N_("Er ging iets mis"))
    return error_page(
        request,
        exc.status_code,
        _(title),
        exc.detail
        if exc.status_code != 404 or exc.detail != "Not Found"
        else _("Deze pagina bestaat niet."),
    )


class KeptOut(Exception):
    """This device signed in during private time and the family did not let it in (yet)."""

    def __init__(self, waiting: auth.Waiting) -> None:
        self.waiting = waiting


def waiting_page(request: Request, waiting: auth.Waiting) -> Response:
    """What a device that is not let in sees on every page of the conference: its own name
    and the family's answer, nothing of the conference."""
    response = render(request, "participant/waiting.html", 403, waiting=waiting)
    response.headers["cache-control"] = "no-store"
    return response


def kept_out_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KeptOut)
    return waiting_page(request, exc.waiting)


class LoginRequired(Exception):
    """Raised by coordinator pages when nobody (valid) is logged in."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    # After an htmx post the place to return to is the page it was made from.
    target = urlsplit(request.headers.get("hx-current-url", "")).path or request.url.path
    if request.method != "GET" and not request.headers.get("hx-current-url"):
        target = "/conferences"
    query = {"next": safe_next(target)}
    if exc.expired:
        query["expired"] = "1"
    location = f"/login?{urlencode(query, safe='/')}"
    if is_htmx(request):  # a redirect would be swapped into the page; ask for a full load
        return Response(status_code=204, headers={"hx-redirect": location})
    return RedirectResponse(location, status_code=303)


LONGEST_NEXT = 2000  # a login halfway keeps it in a column of this size


def safe_next(raw: str | None, default: str = "/conferences") -> str:
    """``raw`` if it is a path on this site, else ``default`` (never another site). A control
    character is refused too: a browser drops a tab or line break from an address, so
    ``/<tab>/evil.example`` in a link's href would be ``//evil.example``. So is a path longer
    than any of Kring's (it could not be kept while a login waits for its code)."""
    if (
        raw
        and len(raw) <= LONGEST_NEXT
        and raw.startswith("/")
        and not raw.startswith("//")
        and "\\" not in raw
        and all(" " <= ch != "\x7f" for ch in raw)
    ):
        return raw
    return default


def language_next(request: Request) -> str:
    """Where the language form returns to: this page, or for a page that answers a form post,
    the page the form was on."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return safe_next(request.url.path + (f"?{query}" if query else ""), default="/")
    return safe_next(urlsplit(request.headers.get("referer", "")).path, default="/")


def template_globals() -> dict[str, Any]:
    return {
        "PHASE_LABELS": PHASE_TITLES,  # as titles ("Privétijd")
        "PHASE_EXPLANATIONS": PHASE_EXPLANATIONS,
        "ROLE_LABELS": ROLE_LABELS,
        "language_next": language_next,
        "STANDING_LABELS": schedule.STANDING_LABELS,
        "webcal": calendar.webcal,
        "SIGNAL_LABELS": SIGNAL_LABELS,
        "AGREEMENT_STATUSES": AGREEMENT_STATUSES,
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "INVITATION_LABELS": invitations.STATUS_LABELS,
        "invitation_counts": invitations.count_people,
        "LINK_HOURS": accounts.LINK_HOURS,
    }


# -- who is asking -----------------------------------------------------------------------------


async def signed_in_coordinator(request: Request) -> auth.CoordinatorIdentity:
    """The coordinator logged in on this device (else LoginRequired: to the login page)."""
    who = await identity.coordinator_of(store(request), settings(request), request)
    if isinstance(who, auth.CookieState):
        raise LoginRequired(expired=who is auth.CookieState.INVALID)
    return who


async def own_conference(request: Request) -> tuple[auth.CoordinatorIdentity, Conference]:
    """The logged-in coordinator and the conference in the URL, if it is theirs to run."""
    who = await signed_in_coordinator(request)
    conference = await store(request).conference(request.path_params["conference_id"])
    if conference is None:
        raise HTTPException(404, _("Deze conferentie bestaat niet (meer)."))
    if not await auth.may_coordinate(store(request), who.account, conference):
        raise HTTPException(403, _("Deze conferentie wordt door een andere coördinator begeleid."))
    return who, conference


async def sign_out(request: Request, response: Response, cookie: str, why: str) -> None:
    """End this device's sign-in of ``cookie`` (cleared on ``response``) and close its live
    documents and streams, telling them ``why`` (a Dutch message id)."""
    ended = await identity.end_session(store(request), settings(request), request, cookie, response)
    sessions.end(hub(request), ended, why)


def actor(who: auth.CoordinatorIdentity) -> str:
    """A logged-in coordinator, as the audit log names them."""
    return auth.account_actor(who.account)


async def person_or_waiting(request: Request) -> auth.Person | auth.Waiting:
    """Who is asking about the conference in the URL, or a device the family did not let
    in (yet); anyone else is refused."""
    person = await identity.person_in(
        store(request), settings(request), request, request.path_params["conference_id"]
    )
    if isinstance(person, auth.Waiting):
        return person
    if isinstance(person, auth.NotAllowed):
        if person.kind is Refusal.NOT_SIGNED_IN and request.url.path.startswith("/conferences/"):
            # A coordinator's cookie that did not sign anyone in: ended or expired.
            raise LoginRequired(expired=identity.COORDINATOR_COOKIE in request.cookies)
        raise HTTPException(STATUS[person.kind], person.reason)
    return person


async def person_of(request: Request) -> auth.Person:
    """Who is asking about the conference in the URL (participant or coordinator). A device
    the family did not let in gets the waiting page, whatever it asked for."""
    person = await person_or_waiting(request)
    if isinstance(person, auth.Waiting):
        raise KeptOut(person)
    return person


async def coordinator_person(request: Request) -> auth.Person:
    """The coordinator running the conference in the URL, as a person in it."""
    person = await person_of(request)
    if person.role != "coordinator":
        raise HTTPException(403, _("Dit is het scherm van de coördinator."))
    return person


# -- reading a request -----------------------------------------------------------------------

# The largest id or number the database holds (a 32-bit INTEGER column): a larger one is no
# id of ours, and must never reach a query (PostgreSQL answers it with an error).
LARGEST = 2**31 - 1


def integer(raw: object, *, high: int = LARGEST) -> int | None:
    """A whole number from 0 to ``high`` as a request carries it, else None.

    Text (a query, a form field, a header) counts only as ASCII digits and nothing else: no
    sign, no space, and no '²' or '١', which ``str.isdigit`` accepts while ``int`` refuses
    the first and reads the second as 1. A path parameter comes as an int already (a route's
    ``:int`` takes ASCII digits only) and is held to the same range."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)):
        value = int(raw)
    else:
        return None
    return value if value <= high else None


def number_in_path(request: Request, name: str, missing: str) -> int:
    """The number in the URL's ``name``; one past what the database holds is a 404 with the
    sentence ``missing`` (what it would say of a number that is not there)."""
    value = integer(request.path_params[name])
    if value is None:
        raise HTTPException(404, missing)
    return value


def choice(raw: object, allowed: Collection[str]) -> str | None:
    """``raw`` if it is one of ``allowed``, else None."""
    return raw if isinstance(raw, str) and raw in allowed else None


def text(form: FormData, name: str) -> str:
    """A form field's text without surrounding spaces ("" when it is missing or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- running a use case from a form ----------------------------------------------------------

Result = TypeVar("Result")
Page = Callable[[Request, str, int], Awaitable[Response]]


async def run_action(
    request: Request,
    action: Awaitable[Result],
    page: Page,
    done: str | Callable[[Result], str],
) -> Response:
    """Run a form's use case: when it refuses (FlowError), show ``page`` again with the reason
    and the refusal's status; else go on to ``done`` (a path, or one made of the result)."""
    try:
        result = await action
    except FlowError as exc:
        return await page(request, exc.message, STATUS[exc.kind])
    return RedirectResponse(done if isinstance(done, str) else done(result), status_code=303)


async def meeting_so_far(request: Request, conference: Conference) -> dict[str, Any]:
    """What the console and the participant's page show of the meeting so far."""
    found = store(request)
    rows = await found.participants(conference.id)
    answers = await found.answers(conference.id)
    signals = await found.signals(conference.id)
    return {
        "conditions": await found.conditions(conference.id),
        "questions": await found.questions(conference.id),
        # the client's questions from the compass, copied when the meeting began
        "conference_questions": await found.conference_questions(conference.id),
        "answers": answers,
        "people": [r.participant for r in rows if r.participant.role != "coordinator"],
        "signals": [s for s in signals if s[0].at >= conference.phase_since],
        "overrides": [s for s, _n in signals if s.kind == "override"],
        # why the presentation went back to private time, while it lasts
        "sent_back": next(
            (
                s
                for s, _n in reversed(signals)
                if s.kind == "back"
                and conference.phase == "private_time"
                and s.at >= conference.phase_since
            ),
            None,
        ),
        "version": await found.plan_version(conference.id),
    }
