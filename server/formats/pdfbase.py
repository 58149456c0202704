"""What Kring's printed documents share: an A4 page in Noto Sans, text made printable, and the
building blocks they are set from (sections, paragraphs, fields, bullets, a footer).

The text is set in Noto Sans, with Noto Sans Arabic for the letters Noto Sans lacks; both come
from PyPI packages (`fontpkg-noto-sans`, `fontpkg-noto-sans-arabic`, SIL Open Font License 1.1)
and are embedded as subsets, so a PDF prints the same everywhere and nothing depends on the
fonts of the machine. A text with right-to-left letters or combining marks is shaped by
HarfBuzz (`uharfbuzz`): Arabic letters join and run right to left inside the left-to-right
page. A character neither font has (an emoji, a script they lack) prints as "�", one for each
run of them.

Both come as variable fonts; a copy prints their Regular, made once at set-up as a file of
its own (`fonts.py`). Headings stand out by size and colour, not weight.

The documents themselves: the plan copy (`pdf.py`) and the client's network compass
(`compasspdf.py`). Rendering is CPU-bound: call it from a worker thread, not on the event loop.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from functools import cache
from typing import TypeVar

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import Glyph, SubsetMap, TTFFont

from server.formats.fonts import FALLBACK_FONT, MAIN_FONT, font_file
from server.i18n import RIGHT_TO_LEFT

REPLACEMENT_CHARACTER = "\ufffd"  # printed for a character no embedded font has


_INVISIBLE = "\u200c\u200d\u2060\ufe0e\ufe0f"  # joiners and variation selectors
_REPLACEMENT_RUN = re.compile(
    f"[{_INVISIBLE}]*{REPLACEMENT_CHARACTER}(?:[{_INVISIBLE}]*{REPLACEMENT_CHARACTER})*"
    f"[{_INVISIBLE}]*"
)


# Embeddings, overrides and isolates: they could turn a name around. The marks (LRM, RLM) stay.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str, glyphs: Collection[int]) -> str:
    """`text` with only characters the fonts can print, so that rendering cannot fail.

    Line breaks become "\\n" and tabs four spaces. Bidi embeddings, overrides and isolates
    are dropped, and so are invisible characters the fonts lack (controls, format characters,
    combining marks on nothing, skin tones); every other missing character becomes "�", a
    whole run of them (an emoji sequence) just one.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    out: list[str] = []
    for char in text:
        if char in _BIDI_CONTROLS:
            continue
        if char == "\n" or ord(char) in glyphs:
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Zl", "Zp"):
            out.append("\n")
        elif category == "Zs":
            out.append(" ")
        elif category in ("Cc", "Cf", "Mn", "Me") or 0x1F3FB <= ord(char) <= 0x1F3FF:
            continue
        else:
            out.append(REPLACEMENT_CHARACTER)
    result = "".join(out)
    if REPLACEMENT_CHARACTER in result:
        result = _REPLACEMENT_RUN.sub(REPLACEMENT_CHARACTER, result)
    # fpdf2 prints the page count for "{nb}"; a zero-width non-joiner keeps it as written.
    return result.replace("{nb}", "{\u200cnb}")


def needs_shaping(text: str) -> bool:
    """Whether `text` has right-to-left letters or marks that HarfBuzz must place.

    Latin, Greek and Cyrillic (precomposed after NFC) print correctly without shaping, which
    makes line breaking several times faster.
    """
    return any(
        ord(char) >= 0x0300
        and (unicodedata.bidirectional(char) in ("R", "AL", "AN") or unicodedata.combining(char))
        for char in text
    )


# Sizes in millimetres, font sizes in points.
MARGIN = 20.0
BOTTOM_MARGIN = 22.0
BODY = 11.0
LABEL = 9.5
LINE = 5.6  # line height of body text
FIELD_GAP = 0.6
INK = (26, 26, 26)
MUTED = (90, 90, 90)
ACCENT = (22, 88, 84)
RULE = (200, 200, 200)
EMPTY = "–"  # printed for an empty field

# HarfBuzz's "ccmp" would split Noto Sans Arabic's letters into a body and its dots, glyphs
# that stand for no character: a PDF reader copying the text, or a screen reader, would
# then find stray symbols in every word. The letters print whole, joined as ever.
_WHOLE_LETTERS = {"ccmp": False}


# What a glyph that stands for no character of its own copies as: a zero-width joiner. HarfBuzz
# draws some letters with two glyphs (Noto Sans Arabic's final kaf: its body and a small mark)
# and gives the letter to only one of them; fpdf2 then leaves the other out of the text a
# reader copies, which shows as a stray symbol ("#") inside the word. Between two letters of
# a word the joiner changes nothing when the text is pasted.
_NO_CHARACTER = (0x200D,)


class _EveryGlyphCopies(SubsetMap):
    @cache  # noqa: B019 - as the method it replaces (fpdf2 clears that cache); one per PDF
    def get_glyph(
        self,
        glyph: int | None = None,
        unicode: int | tuple[int, ...] | None = None,
        glyph_name: str | None = None,
        glyph_width: int | None = None,
    ) -> Glyph | None:
        if unicode == () and glyph:
            unicode = _NO_CHARACTER
        return super().get_glyph(glyph, unicode, glyph_name, glyph_width)


class KringPdf(FPDF):
    """An A4 document of Kring's: both fonts embedded, margins, the document's language and
    date, and the building blocks. A subclass names itself (``set_title``) and sets
    ``label_width`` from its own field labels (:meth:`widest`) before it prints fields."""

    def __init__(self, *, language: str, created: datetime) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        # A page in a right-to-left language is set from the right margin: every line
        # shaped and ordered right to left, labels on the right of their text.
        self.rtl = language in RIGHT_TO_LEFT
        self.glyphs: set[int] = set()  # what either font prints
        self.main_glyphs: set[int] = set()  # what the main font prints (SVG text has no fallback)
        for family, package, name in (MAIN_FONT, FALLBACK_FONT):
            self.add_font(family, "", font_file(family, package, name))
            font = self.fonts[family]
            assert isinstance(font, TTFFont)
            font.subset = _EveryGlyphCopies(font)
            self.glyphs.update(font.cmap)
            self.main_glyphs = self.main_glyphs or set(font.cmap)
        self.set_fallback_fonts([FALLBACK_FONT[0]])
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM_MARGIN)
        self.c_margin = 0
        self.set_creator("Kring")
        self.set_lang(language)
        self.set_creation_date(created)  # the same content gives the same bytes
        self.label_width = 0.0
        # The number of pages, once known (see `print_twice_if_right_to_left`); until then
        # fpdf2's "{nb}", filled in when the document is written.
        self.page_total: int | None = None
        self.set_font(MAIN_FONT[0], size=BODY)

    def render(self) -> None:
        """Print the whole document (each kind of document its own)."""
        raise NotImplementedError

    @property
    def pages_text(self) -> str:
        return "{nb}" if self.page_total is None else str(self.page_total)

    def clean(self, text: str) -> str:
        return printable(text, self.glyphs)

    def widest(self, labels: Iterable[str]) -> float:
        """The width a column of these field labels takes (with room after it)."""
        self._style(LABEL, MUTED)
        return max(self.get_string_width(label) for label in labels) + 5

    # fpdf2 calls header() on every new page, right after it has set the font again.
    def header(self) -> None:
        self._pin_font()

    def _footer_line(self, title: str, tail: str) -> None:
        """The footer: ``title`` (shortened to fit one line) and then ``tail`` (the page)."""
        # A page break can come in the middle of a text: leave its shaping as it was.
        shaping = self.text_shaping
        self.set_y(-14)
        self._style(8.5, MUTED)
        room = self.epw - self.get_string_width(tail + "99…")
        while len(title) > 10 and self.get_string_width(title) > room:
            title = title[: len(title) * 4 // 5].rstrip() + "…"  # one line, however long the name
        self._write(title + tail, line_height=4, align=Align.C)
        self.text_shaping = shaping

    # --- building blocks ---

    def _pin_font(self) -> None:
        """Put the current font on the page itself, before any text of this page or size.

        Works around fpdf2 2.8 (py-pdf/fpdf2#1772): when the first text after a new page or
        a new font size starts with the fallback (Arabic) font, fpdf2 sets the main font
        only inside that line's saved graphics state, so the lines after it printed in the
        previous size or in no font at all. `text()` with nothing to print sets it on the page.
        """
        if self.page and not self.current_font_is_set_on_page:
            self.text(self.x, self.y, "")

    def _style(self, size: float, colour: tuple[int, int, int]) -> None:
        self.set_font(MAIN_FONT[0], size=size)
        self.set_text_color(*colour)
        self._pin_font()

    def _write(
        self,
        text: str,
        *,
        line_height: float = LINE,
        indent: float = 0,
        align: Align = Align.L,
        written: bool = False,
    ) -> None:
        """Print `text` (already clean) from the left margin plus `indent` to the right
        margin (on a right-to-left page: from the right margin less `indent` to the left),
        wrapped, on as many pages as it takes, and go to the next line.

        Kring's own sentences run in the page's direction. What people wrote (``written``)
        runs in the direction of its first letter, as a browser's ``dir="auto"`` does: an
        Arabic agreement reads right to left on a Dutch page, a Dutch question keeps its
        question mark at the end on an Arabic page."""
        direction = self._direction(text) if written else self._page_direction
        if self.rtl or direction == "rtl" or needs_shaping(text):
            self.set_text_shaping(True, direction=direction, features=_WHOLE_LETTERS)
        else:
            self.set_text_shaping(False)
        if self.rtl:
            self.set_x(self.l_margin)
            width = self.epw - indent
            align = Align.R if align is Align.L else align
        else:
            self.set_x(self.l_margin + indent)
            width = 0.0
        self.multi_cell(width, line_height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    @property
    def _page_direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def _direction(self, text: str) -> str:
        """The direction of `text`'s first letter that has one (else the page's)."""
        for char in text:
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                return "ltr"
            if kind in ("R", "AL"):
                return "rtl"
        return self._page_direction

    def _keep(self, height: float) -> None:
        """Start a new page unless `height` still fits on this one."""
        if self.will_page_break(height):
            self.add_page()

    def _section(self, title: str) -> None:
        self.ln(5)
        self._keep(10 + 3 * LINE)
        self._style(15, ACCENT)
        self._write(title, line_height=8)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.y + 0.5, self.w - self.r_margin, self.y + 0.5)
        self.ln(3.5)

    def _subheading(self, title: str, height_after: float, fallback: str) -> None:
        self.ln(3)
        self._keep(8 + height_after)
        self._style(12.5, ACCENT)
        self._write(self.clean(title).strip() or fallback, line_height=7)
        self.ln(1)

    def _rule(self, height_after: float) -> None:
        """A thin line between two items, or a new page if the next item would not fit."""
        if self.will_page_break(4 + height_after):
            self.add_page()
            return
        self.ln(1.5)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.ln(2)

    def _paragraph(
        self,
        text: str,
        *,
        muted: bool = False,
        indent: float = 0,
        space_after: float = 1.5,
        written: bool = False,
    ) -> None:
        """A paragraph of Kring's words, or of what people wrote (``written``)."""
        self._style(BODY - 0.5 if muted else BODY, MUTED if muted else INK)
        self._write(self.clean(text).strip("\n") or EMPTY, indent=indent, written=written)
        self.ln(space_after)

    def _field(self, label: str, value: str) -> None:
        """A line of a form: a small label on the left, the text wrapped on the right."""
        self._keep(LINE)
        top = self.y
        self._style(LABEL, MUTED)
        self._side_cell(self.label_width, label)
        self.set_y(top)
        text = self.clean(value).strip()
        self._style(BODY, INK if text else MUTED)
        self._write(text or EMPTY, indent=self.label_width, written=True)
        self.ln(FIELD_GAP)

    def _side_cell(self, width: float, text: str, *, offset: float = 0) -> None:
        """One line of `text` (a label, a bullet) in a column `width` wide, `offset` in from
        where lines start: the left margin, or the right one on a right-to-left page."""
        if self.rtl:
            self.set_text_shaping(True, direction="rtl", features=_WHOLE_LETTERS)
            self.set_x(self.w - self.r_margin - offset - width)
            self.cell(width, LINE, text, align=Align.R)
        else:
            self.set_text_shaping(False)
            self.set_x(self.l_margin + offset)
            self.cell(width, LINE, text)

    def _field_height(self, text: str) -> float:
        """About the height `_field` takes for `text` (clean), erring on the high side."""
        self.set_font(MAIN_FONT[0], size=BODY)
        room = (self.epw - self.label_width) * 0.9  # lines break at spaces, not at the edge
        lines = sum(
            max(1, math.ceil(self.get_string_width(part) / room)) for part in text.split("\n")
        )
        return lines * LINE + FIELD_GAP

    def _bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self._keep(LINE)
            top = self.y
            self._style(BODY, INK)
            self._side_cell(5, "•", offset=1)
            self.set_y(top)
            self._write(self.clean(item).strip(), indent=6, written=True)
            self.ln(0.8)


PdfT = TypeVar("PdfT", bound=KringPdf)


def print_twice_if_right_to_left(make: Callable[[], PdfT]) -> PdfT:
    """A document from ``make()``, rendered. fpdf2 fills in "{nb}" (the number of pages) after
    a line is shaped: in a right-to-left footer the number then stood apart from its words,
    the rest of the placeholder's width left blank. Such a document is rendered once more,
    with the number known; its pages break where they did, as only the footer changes."""
    pdf = make()
    pdf.render()
    if pdf.rtl:
        total = pdf.pages_count
        pdf = make()
        pdf.page_total = total
        pdf.render()
    return pdf
