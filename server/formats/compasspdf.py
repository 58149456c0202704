"""The client's network compass as a PDF, to print or to keep: ``compass.pdf``.

`render_compass_pdf(CompassCopy, zone)` returns an A4 PDF in the current language (the
caller's: the reader's own), with what should change, the strengths per life area and the
priorities, the questions for the conference, and the network map: drawn (its SVG, through
``svgprint.py``) and then listed in words, person by person, for whoever cannot see the
drawing. Its moment of making is printed on the clock of ``zone``. Fonts and building blocks
are ``pdfbase.py``'s. The drawing's text has no fallback font and no shaping: a name in a
script Noto Sans lacks (Arabic) shows there as "�", and the list under it prints it as written.

CPU-bound pure Python (the map most of all): the server calls it in a worker process
(``printing.compass_pdf`` through ``conference.heavy``, with the reader's language), never on
the event loop nor in one of its threads.
"""

from __future__ import annotations

import io
from datetime import tzinfo

from server.formats.fonts import MAIN_FONT
from server.formats.pdfbase import (
    ACCENT,
    BODY,
    EMPTY,
    LINE,
    MUTED,
    KringPdf,
    print_twice_if_right_to_left,
    printable,
)
from server.formats.svgprint import for_print
from server.i18n import _, format_moment, get_language, on_clock
from server.rules.compass import PARTS
from server.rules.compasscopy import CompassCopy

__all__ = ["CompassCopy", "render_compass_pdf"]


def render_compass_pdf(copy: CompassCopy, zone: tzinfo) -> bytes:
    """The compass as an A4 PDF in the current language, every text as the client wrote it."""
    pdf = print_twice_if_right_to_left(lambda: _CompassPdf(copy, zone))
    return bytes(pdf.output())


class _CompassPdf(KringPdf):
    def __init__(self, copy: CompassCopy, zone: tzinfo) -> None:
        super().__init__(language=get_language(), created=on_clock(copy.made_at, zone))
        self.copy = copy
        self.zone = zone
        name = self.clean(copy.client_name).strip() or EMPTY
        self.compass_title = _("Netwerkkompas van %(name)s", name=name)
        self.set_title(self.compass_title)
        self.set_subject(_("Het netwerkkompas uit de voorbereiding van de conferentie"))

    def render(self) -> None:
        copy = self.copy
        self.add_page()
        self._style(22, ACCENT)
        self._write(self.compass_title, line_height=10)
        self.ln(1)
        made = format_moment(copy.made_at, self.zone)
        self._paragraph(_("Gedownload op %(moment)s.", moment=made), muted=True)

        self._section(PARTS["answers"])
        for question, answer in copy.answers:
            self._question(question, answer)

        self._section(PARTS["strengths"])
        if not copy.strengths:
            self._nothing()
        for area, text in copy.strengths:
            self._subheading(area, 2 * LINE, EMPTY)
            self._paragraph(text, written=True)

        self._section(PARTS["priorities"])
        if not copy.priorities:
            self._nothing()
        self._bullets(copy.priorities)

        self._section(PARTS["questions"])
        if not copy.questions:
            self._nothing()
        self._bullets(
            _("%(question)s (naar de conferentie)", question=text) if chosen else text
            for text, chosen in copy.questions
        )
        self._map()

    def footer(self) -> None:
        page = " · " + _(
            "pagina %(page)s van %(pages)s", page=self.page_no(), pages=self.pages_text
        )
        self._footer_line(self.compass_title, page)

    # --- parts ---

    def _nothing(self) -> None:
        self._paragraph(_("Nog niets ingevuld."), muted=True)

    def _question(self, question: str, answer: str) -> None:
        self._keep(3 * LINE)
        self._style(BODY - 0.5, MUTED)
        self._write(self.clean(question))
        self.ln(0.5)
        if answer.strip():
            self._paragraph(answer, space_after=3, written=True)
        else:
            self._paragraph(_("Nog niets ingevuld."), muted=True, space_after=3)

    def _map(self) -> None:
        """The map on a page of its own, as large as fits, then everyone on it in words."""
        copy = self.copy
        self.add_page()
        self._section(_("Netwerkkaart"))
        if not copy.people:
            self._paragraph(_("Nog niemand op de kaart."), muted=True)
            return
        if copy.map_svg:
            main = self.main_glyphs
            drawing = for_print(copy.map_svg, MAIN_FONT[0], lambda text: printable(text, main))
            room = self.page_break_trigger - self.y - 2
            self.image(io.BytesIO(drawing), w=self.epw, h=room, keep_aspect_ratio=True)
        self._section(_("Wie er op de kaart staat"))
        for name, description in copy.people:
            self._keep(2 * LINE)
            self._paragraph(f"{self.clean(name).strip() or '?'}: {description}", space_after=0.8)
