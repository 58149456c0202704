"""What a worker process of the heavy work (``conference/heavy.py``) runs for a conference's
export (``conference/export.py``): the whole zip, in one call.

An export reads everything of a conference, decodes its documents, prints a PDF of every plan
version and packs it all. In the server's process, even in threads, that work held the
interpreter's lock and its allocations set off the garbage collector's full collections, and
the live rooms' edits waited meanwhile. Here the worker is given only the database's URL, the
conference's id, the instance's clock and the asker's language; it reads the conference, its
rows and its documents' committed Yjs state from the database itself (in Kring every update
is committed before anyone sees it, so the database holds all that was acknowledged), checks
again that its coordinator may read the plan and that it is not being erased, prints and
packs, and hands back the zip's bytes.

This module is what such a process imports first, so it stays light (as
``formats/printing.py``): the export, the store and fpdf load inside the call, once per worker
process. The process's store and event loop are those of ``storage/inworker.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from server import i18n
from server.storage import inworker


@dataclass(frozen=True)
class MadeExport:
    """What the worker hands back (by pickle): the zip and the id of the process that made
    it."""

    archive: bytes
    made_in: int


def export_zip(database_url: str, conference_id: str, zone: ZoneInfo, language: str) -> MadeExport:
    """The export zip of conference ``conference_id``, made on the instance's clock ``zone``.
    Raises (by pickle) ExportRefused with its reason in ``language`` while the coordinator
    may not read the plan, ExportGone when the conference is erased or being erased, and
    ExportUnreadable when the database could not be read."""
    from server.clock import use_time_zone
    from server.conference import export

    use_time_zone(zone)  # this process's clock: the PDFs show times on it
    store = inworker.store(database_url)
    try:
        with i18n.using(language):  # a refusal's reason, for whoever asked
            archive = inworker.run(export.make(store, conference_id))
    except inworker.Unreadable as exc:
        raise export.ExportUnreadable(str(exc)) from None
    return MadeExport(archive, os.getpid())
