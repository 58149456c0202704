"""The access report (NEN 7513): who opened or wrote which document of a conference, or took
which copy of it, read from the audit rows the rooms and pages write.

Pure: an audit row's kind and detail in; what it says of access out (which document or copy,
how, which version), in the current language. A row of another kind is no access (None).
The kinds and their details:

- ``room_joined`` ``{document, access}``: a device opened a live document, to read or to
  write (rows from before ``access`` was kept say only that it opened it);
- ``document_written`` ``{document}``: a device wrote in it (once per connection per quarter
  of an hour, however busy: ``rooms/hub.py``);
- ``document_viewed`` ``{document, page}``: a page showed it (the plan's or the compass's
  page, the network map, the console, a follow-up meeting's page, the API; ``compare`` with
  the two ``versions``);
- ``presentation_opened``: the plan on a big screen;
- ``plan_exported`` ``{version, format}``, ``compass_downloaded`` ``{format}``,
  ``conference_exported``: copies (a printable page, a PDF, a JSON file, the export zip).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.i18n import N_, Labels, _
from server.rules.audit import listed

ACCESS_KINDS = frozenset(
    {
        "room_joined",
        "document_written",
        "document_viewed",
        "presentation_opened",
        "plan_exported",
        "compass_downloaded",
        "conference_exported",
    }
)

# What the report's document filter offers: each access is of one of these.
SUBJECTS = Labels(
    {
        "plan": N_("Het plan"),
        "plan_copy": N_("Kopieën van het plan"),
        "information": N_("De informatie"),
        "compass": N_("Het netwerkkompas"),
        "network_map": N_("De netwerkkaart"),
        "compass_copy": N_("Kopieën van het netwerkkompas"),
        "export": N_("Alle gegevens (zip)"),
    }
)

# How someone reached it.
HOW = Labels(
    {
        "read": N_("opende om te lezen"),
        "write": N_("opende om te schrijven"),
        "open": N_("opende"),
        "wrote": N_("schreef in"),
        "viewed": N_("bekeek"),
        "downloaded": N_("downloadde"),
    }
)

# A page that showed a document (``document_viewed``'s ``page``): the subject and its words.
_PAGES = {
    "plan": ("plan", N_("De pagina van het plan")),
    "console": ("plan", N_("Het plan op het scherm van de coördinator")),
    "api": ("plan", N_("Het plan via de API")),
    "follow_up": ("plan", N_("Het plan bij een bijeenkomst van het actieteam")),
    "compass": ("compass", N_("De pagina van het netwerkkompas")),
    "map": ("network_map", N_("De netwerkkaart")),
    "compare": ("plan_copy", N_("Twee versies van het plan naast elkaar")),
}

_LIVE = {
    "plan": N_("Het plan"),
    "information": N_("De informatie"),
    "compass": N_("Het netwerkkompas"),
}


@dataclass(frozen=True)
class Access:
    """One access: its subject (a key of SUBJECTS), the document or copy and how, in words,
    and the plan version it was of ("" when the row does not say)."""

    subject: str
    what: str
    how: str
    version: str = ""


def _number(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""


def access_of(kind: str, detail: Mapping[str, Any]) -> Access | None:
    """What an audit row says of access (None: it is no access, or not one this knows)."""
    document = str(detail.get("document", ""))
    if kind in ("room_joined", "document_written"):
        if document not in _LIVE:
            return None
        if kind == "document_written":
            how = "wrote"
        else:
            how = str(detail.get("access", "open"))
            how = how if how in ("read", "write") else "open"
        return Access(document, _(_LIVE[document]), HOW[how])
    if kind == "document_viewed":
        page = _PAGES.get(str(detail.get("page", "")))
        if page is None:
            return None
        versions = detail.get("versions")
        shown = ""
        if isinstance(versions, list):
            shown = listed(n for n in map(_number, versions) if n)
        return Access(page[0], _(page[1]), HOW["viewed"], shown)
    if kind == "presentation_opened":
        return Access("plan", _("Het plan op een groot scherm"), HOW["open"])
    if kind == "plan_exported":
        version = _number(detail.get("version"))
        if detail.get("format") == "pdf":
            return Access("plan_copy", _("Kopie van het plan (pdf)"), HOW["downloaded"], version)
        return Access("plan_copy", _("Kopie van het plan (afdrukpagina)"), HOW["viewed"], version)
    if kind == "compass_downloaded":
        if detail.get("format") == "pdf":
            what = _("Kopie van het netwerkkompas (pdf)")
        else:
            what = _("Kopie van het netwerkkompas (gegevensbestand, json)")
        return Access("compass_copy", what, HOW["downloaded"])
    if kind == "conference_exported":
        return Access("export", _("Alle gegevens van de conferentie (zip)"), HOW["downloaded"])
    return None


def hidden() -> Access:
    """What the report says of a family member's access while private time lasts: the
    coordinator learns no more of it than on the console (that someone of the family did
    something), until private time ends."""
    return Access("", _("Niet te zien tijdens de privétijd"), "")
