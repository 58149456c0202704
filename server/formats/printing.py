"""What a worker process of the heavy work runs (``conference.heavy``): a PDF copy made in the
reader's language. This module is what such a process imports first, so it stays light: fpdf
and the copies' layouts load inside the calls, once per worker process.

Rendering a PDF is pure Python. In a thread of the server it would hold the interpreter's lock
a few milliseconds at a time for seconds, and the event loop, which must take that lock back
after every write to a socket, would fall behind for every family typing meanwhile. In a
process of its own it takes nothing from the loop.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from server import i18n

if TYPE_CHECKING:
    from server.rules.compasscopy import CompassCopy
    from server.rules.copy import PlanCopy


def plan_pdf(copy: PlanCopy, zone: tzinfo, language: str) -> bytes:
    """The plan copy (``formats/pdf.py``) in ``language``."""
    from server.formats import pdf

    with i18n.using(language):
        return pdf.render_pdf(copy, zone)


def plan_pdfs(copies: dict[int, PlanCopy], zone: tzinfo, language: str) -> dict[int, bytes]:
    """Several plan copies at once (an export's versions), by their numbers."""
    from server.formats import pdf

    with i18n.using(language):
        return {number: pdf.render_pdf(copy, zone) for number, copy in copies.items()}


def compass_pdf(copy: CompassCopy, zone: tzinfo, language: str) -> bytes:
    """The client's compass (``formats/compasspdf.py``) in ``language``."""
    from server.formats.compasspdf import render_compass_pdf

    with i18n.using(language):
        return render_compass_pdf(copy, zone)
