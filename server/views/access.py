"""A conference's access report (NEN 7513): ``/conferences/{id}/access``, newest first, with
filters by person and by document and pages of PAGE_SIZE; ``/conferences/{id}/access.csv``,
the same rows (filtered alike, not paged) for a spreadsheet app. For the conference's
coordinators and admins only, as every ``/conferences/...`` page (what the report holds is
``server/conference/access.py``'s).

A query it cannot answer (a person who is not of this conference, a document that is not
one of the filter's, a page that is not there) is a 400 that says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from server.conference import access, auth
from server.i18n import _, ngettext
from server.rules.access import SUBJECTS
from server.storage.models import Conference
from server.views import common

PAGE_SIZE = 50


@dataclass(frozen=True)
class Asked:
    """A report as the query asks for it: its rows (all pages) and which page."""

    who: auth.CoordinatorIdentity
    conference: Conference
    report: access.Report
    rows: list[access.Row]
    person: str
    subject: str
    page: int


async def _asked(request: Request) -> Asked | str:
    """The report the query asks for, or why the query cannot be answered."""
    who, conference = await common.own_conference(request)
    report = await access.report(common.store(request), conference)
    query = request.query_params
    person, subject = query.get("person", ""), query.get("document", "")
    if person and person not in {p.key for p in report.people}:
        return _("Deze persoon hoort niet bij deze conferentie. Kies iemand uit de lijst.")
    if subject and subject not in SUBJECTS:
        return _("Dit document staat niet in de lijst. Kies een document uit de lijst.")
    raw = query.get("page", "")
    page = common.integer(raw) if raw else 1
    if page is None or page < 1:
        return _("Het paginanummer is een heel getal vanaf 1.")
    return Asked(who, conference, report, report.only(person, subject), person, subject, page)


def _refused(request: Request, reason: str) -> Response:
    return common.error_page(request, 400, _("Dat kan niet"), reason)


async def access_page(request: Request) -> Response:
    asked = await _asked(request)
    if isinstance(asked, str):
        return _refused(request, asked)
    conference = asked.conference
    pages = max(1, -(-len(asked.rows) // PAGE_SIZE))
    if asked.page > pages:
        there = ngettext(
            "Deze pagina is er niet: er is %(num)s pagina.",
            "Deze pagina is er niet: er zijn %(num)s pagina's.",
            pages,
        )
        return _refused(request, there)
    filters = {k: v for k, v in (("person", asked.person), ("document", asked.subject)) if v}

    def link(path: str, page: int = 1) -> str:
        query = urlencode({**filters, **({"page": str(page)} if page > 1 else {})})
        return f"/conferences/{conference.id}/{path}" + (f"?{query}" if query else "")

    start = (asked.page - 1) * PAGE_SIZE
    response = common.render(
        request,
        "conferences/access.html",
        who=asked.who,
        conference=conference,
        rows=asked.rows[start : start + PAGE_SIZE],
        total=len(asked.rows),
        people=asked.report.people,
        subjects=SUBJECTS,
        asked=asked,
        pages=pages,
        previous=link("access", asked.page - 1) if asked.page > 1 else "",
        next=link("access", asked.page + 1) if asked.page < pages else "",
        csv=link("access.csv"),
    )
    response.headers["cache-control"] = "no-store"
    return response


async def access_csv(request: Request) -> Response:
    """Every row the filters find (a ``page`` is checked, then left out: the file has all)."""
    asked = await _asked(request)
    if isinstance(asked, str):
        return _refused(request, asked)
    name = _("toegang-%(conference)s.csv", conference=asked.conference.id)
    return common.download(access.csv_file(asked.rows), "text/csv; charset=utf-8", name)
