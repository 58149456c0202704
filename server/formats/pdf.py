"""The copy of a family's plan as a PDF, to print or to keep.

`render_pdf(PlanCopy, zone)` returns an A4 PDF in Dutch, its times on the clock of ``zone``
(the caller's: the instance's ``KRING_TIMEZONE``). The text is set in Noto Sans, with Noto Sans
Arabic for the letters Noto Sans lacks; both come from PyPI packages (`fontpkg-noto-sans`,
`fontpkg-noto-sans-arabic`, SIL Open Font License 1.1) and are embedded as subsets, so the
PDF prints the same everywhere and nothing depends on the fonts of the machine. A text with
right-to-left letters or combining marks is shaped by HarfBuzz (`uharfbuzz`): Arabic letters
join and run right to left inside the Dutch, left-to-right page. A character neither font has
(an emoji, a script they lack) prints as "�", one for each run of them.

Both fonts are variable fonts, printed at their default instance (Regular). Making a bold
instance takes fontTools seconds per font, so headings stand out by size and colour instead.

Rendering takes a few tenths of a second for a usual plan and is CPU-bound: call it from a
worker thread (`starlette.concurrency.run_in_threadpool`), not on the event loop.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from server.i18n import on_clock
from server.rules.copy import (
    AgreementLine,
    AnswerLine,
    ConditionLine,
    PlanCopy,
    agreement_count,
)

__all__ = [
    "ANSWER_LABELS",
    "CONDITION_STATUS_LABELS",
    "REPLACEMENT_CHARACTER",
    "AgreementLine",
    "AnswerLine",
    "ConditionLine",
    "PlanCopy",
    "render_pdf",
]


CONDITION_STATUS_LABELS: dict[str | None, str] = {
    "met": "voldaan",
    "not_met": "niet voldaan",
    None: "niet beoordeeld",
}
ANSWER_LABELS: dict[str | None, str] = {
    "agree": "eens",
    "not_yet": "nog niet",
    None: "geen antwoord",
}
REPLACEMENT_CHARACTER = "\ufffd"  # printed for a character no embedded font has


def render_pdf(copy: PlanCopy, zone: tzinfo) -> bytes:
    """The plan copy as an A4 PDF in Dutch, with every name and text as written and its
    times on the clock of ``zone``."""
    pdf = _PlanPdf(copy, zone)
    pdf.render()
    return bytes(pdf.output())


# --- fonts and text ----------------------------------------------------------------------------

# (name in the PDF, Python package, file in the package's "files" folder)
_MAIN_FONT = ("notosans", "fontpkg_noto_sans", "NotoSans[wdth,wght].ttf")
_FALLBACK_FONT = ("notosansarabic", "fontpkg_noto_sans_arabic", "NotoSansArabic[wdth,wght].ttf")


@cache
def _font_file(package: str, name: str) -> Path:
    path = Path(str(resources.files(package) / "files" / name))
    if not path.is_file():
        raise FileNotFoundError(f"font {name} is missing from the installed package {package}")
    return path


_INVISIBLE = "\u200c\u200d\u2060\ufe0e\ufe0f"  # joiners and variation selectors
_REPLACEMENT_RUN = re.compile(
    f"[{_INVISIBLE}]*{REPLACEMENT_CHARACTER}(?:[{_INVISIBLE}]*{REPLACEMENT_CHARACTER})*"
    f"[{_INVISIBLE}]*"
)


# Embeddings, overrides and isolates: they could turn a name around. The marks (LRM, RLM) stay.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(text: str, glyphs: Collection[int]) -> str:
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
    printable = "".join(out)
    if REPLACEMENT_CHARACTER in printable:
        printable = _REPLACEMENT_RUN.sub(REPLACEMENT_CHARACTER, printable)
    # fpdf2 prints the page count for "{nb}"; a zero-width non-joiner keeps it as written.
    return printable.replace("{nb}", "{\u200cnb}")


def _needs_shaping(text: str) -> bool:
    """Whether `text` has right-to-left letters or marks that HarfBuzz must place.

    Latin, Greek and Cyrillic (precomposed after NFC) print correctly without shaping, which
    makes line breaking several times faster.
    """
    return any(
        ord(char) >= 0x0300
        and (unicodedata.bidirectional(char) in ("R", "AL", "AN") or unicodedata.combining(char))
        for char in text
    )


def local_time_label(moment: datetime, zone: tzinfo) -> str:
    """`moment` as the Dutch read it on the clock of `zone`: dd-mm-yyyy HH:MM."""
    return on_clock(moment, zone).strftime("%d-%m-%Y %H:%M")


# --- the document ------------------------------------------------------------------------------

# Sizes in millimetres, font sizes in points.
_MARGIN = 20.0
_BOTTOM_MARGIN = 22.0
_BODY = 11.0
_LABEL = 9.5
_LINE = 5.6  # line height of body text
_FIELD_GAP = 0.6
_INK = (26, 26, 26)
_MUTED = (90, 90, 90)
_ACCENT = (22, 88, 84)
_RULE = (200, 200, 200)
_EMPTY = "–"  # printed for an empty field
_AGREEMENT_LABELS = (
    "Wat",
    "Wie",
    "Wanneer",
    "Waar",
    "Als het niet lukt",
    "Vraag aan een professional",
    "Status",
)


class _PlanPdf(FPDF):
    def __init__(self, copy: PlanCopy, zone: tzinfo) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.copy = copy
        self.zone = zone
        self.glyphs: set[int] = set()
        for family, package, name in (_MAIN_FONT, _FALLBACK_FONT):
            self.add_font(family, "", _font_file(package, name))
            font = self.fonts[family]
            assert isinstance(font, TTFFont)
            self.glyphs.update(font.cmap)
        self.set_fallback_fonts([_FALLBACK_FONT[0]])
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=_BOTTOM_MARGIN)
        self.c_margin = 0
        self.plan_title = f"Plan van {self.clean(copy.client_name).strip() or _EMPTY}"
        self.set_title(self.plan_title)
        self.set_subject(f"Versie {copy.version} van het plan")
        self.set_creator("Kring")
        self.set_lang("nl")
        # The same copy gives the same bytes.
        self.set_creation_date(on_clock(copy.frozen_at, zone))
        self._style(_LABEL, _MUTED)
        self.label_width = max(self.get_string_width(label) for label in _AGREEMENT_LABELS) + 5

    def clean(self, text: str) -> str:
        return _printable(text, self.glyphs)

    def render(self) -> None:
        copy = self.copy
        self.add_page()
        self._title()
        self._section("De vraag van deze conferentie")
        self._paragraph(copy.question)
        self._agreements()
        if copy.notes.strip():
            self._section("Aantekeningen")
            self._paragraph(copy.notes)
        if copy.conditions:
            self._conditions()
        questions = [question for question in copy.clarifying_questions if question.strip()]
        if questions:
            self._section("Verhelderende vragen")
            self._bullets(questions)
        self._answers()
        self._section("Actieteam")
        team = [name for name in copy.action_team if name.strip()]
        if team:
            self._bullets(team)
        else:
            self._paragraph("Nog geen actieteam gekozen.", muted=True)

    # fpdf2 calls header() on every new page, right after it has set the font again.
    def header(self) -> None:
        self._pin_font()

    def footer(self) -> None:
        # A page break can come in the middle of a text: leave its shaping as it was.
        shaping = self.text_shaping
        self.set_y(-14)
        self._style(8.5, _MUTED)
        page = f" · versie {self.copy.version} · pagina {self.page_no()} van {{nb}}"
        title = self.plan_title
        room = self.epw - self.get_string_width(page + "99…")
        while len(title) > 10 and self.get_string_width(title) > room:
            title = title[: len(title) * 4 // 5].rstrip() + "…"  # one line, however long the name
        self._write(title + page, line_height=4, align=Align.C)
        self.text_shaping = shaping

    # --- sections ---

    def _title(self) -> None:
        copy = self.copy
        self._style(22, _ACCENT)
        self._write(self.plan_title, line_height=10)
        self.ln(1)
        self._style(_BODY, _MUTED)
        frozen = local_time_label(copy.frozen_at, self.zone)
        self._write(f"Versie {copy.version}, vastgesteld op {frozen}")
        if copy.meeting_date is not None or copy.location.strip():
            self.ln(2)
        if copy.meeting_date is not None:
            self._field("Conferentie", copy.meeting_date.strftime("%d-%m-%Y"))
        if copy.location.strip():
            self._field("Plaats", copy.location)

    def _agreements(self) -> None:
        self._section("Afspraken")
        if not self.copy.agreements:
            self._paragraph("Nog geen afspraken.", muted=True)
            return
        area: str | None = None
        for agreement in self.copy.agreements:
            fields = [
                ("Wat", agreement.what),
                ("Wie", agreement.who),
                ("Wanneer", agreement.when),
                ("Waar", agreement.where),
                ("Als het niet lukt", agreement.backup),
                ("Vraag aan een professional", agreement.request),
                ("Status", agreement.status),
            ]
            fields = [(label, self.clean(value).strip()) for label, value in fields]
            fields = [f for f in fields if f[1] or f[0] != "Vraag aan een professional"]
            # An agreement that fits on a page is not split over two.
            height = sum(self._field_height(value) for _, value in fields)
            if height > self.eph - 20:
                height = 3 * _LINE
            if agreement.life_area != area:
                area = agreement.life_area
                self._subheading(area, height)
            else:
                self._rule(height)
            self._keep(height)
            for label, value in fields:
                self._field(label, value)

    def _conditions(self) -> None:
        self._section("Voorwaarden")
        for index, condition in enumerate(self.copy.conditions):
            if index:
                self._rule(3 * _LINE)
            self._keep(2 * _LINE)
            self._paragraph(condition.text, space_after=0.5)
            status = CONDITION_STATUS_LABELS.get(condition.status, "niet beoordeeld")
            set_by = self.clean(condition.set_by).strip() or _EMPTY
            self._paragraph(f"gesteld door {set_by} · {status}", muted=True, space_after=0.5)
            if condition.remark.strip():
                self._paragraph(f"Opmerking: {condition.remark}", muted=True, space_after=0.5)

    def _answers(self) -> None:
        self._section("Wie is het eens met het plan")
        answers = self.copy.answers
        if not answers:
            self._paragraph("Nog niemand heeft geantwoord.", muted=True)
            return
        count = agreement_count(answers)
        among = " aanwezigen" if count.among_present else ""
        self._paragraph(
            f"{count.agreed} van de {count.of}{among} is het eens met het plan.", muted=True
        )
        for answer in answers:
            if answer.present is False:
                continue  # named once, below
            name = self.clean(answer.name).strip() or _EMPTY
            role = self.clean(answer.role).strip()
            label = ANSWER_LABELS.get(answer.answer, "geen antwoord")
            if answer.answer is not None:
                label += (
                    " (genoteerd door de coördinator)"
                    if answer.recorded_by_coordinator
                    else " (zelf)"
                )
            self._keep(2 * _LINE)
            self._paragraph(
                f"{name} ({role}): {label}" if role else f"{name}: {label}", space_after=0
            )
            if answer.remark.strip():
                self._paragraph(answer.remark, muted=True, indent=6, space_after=0)
            self.ln(1.5)
        if count.absent:
            names = ", ".join(self.clean(name).strip() or _EMPTY for name in count.absent)
            self._paragraph(f"Niet bij de conferentie: {names}", muted=True)

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
        self.set_font(_MAIN_FONT[0], size=size)
        self.set_text_color(*colour)
        self._pin_font()

    def _write(
        self,
        text: str,
        *,
        line_height: float = _LINE,
        indent: float = 0,
        align: Align = Align.L,
    ) -> None:
        """Print `text` (already clean) from the left margin plus `indent` to the right
        margin, wrapped, on as many pages as it takes, and go to the next line."""
        if _needs_shaping(text):
            # Dutch reading order for the page; right-to-left runs inside it are reversed.
            self.set_text_shaping(True, direction="ltr")
        else:
            self.set_text_shaping(False)
        self.set_x(self.l_margin + indent)
        self.multi_cell(0, line_height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _keep(self, height: float) -> None:
        """Start a new page unless `height` still fits on this one."""
        if self.will_page_break(height):
            self.add_page()

    def _section(self, title: str) -> None:
        self.ln(5)
        self._keep(10 + 3 * _LINE)
        self._style(15, _ACCENT)
        self._write(title, line_height=8)
        self.set_draw_color(*_ACCENT)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.y + 0.5, self.w - self.r_margin, self.y + 0.5)
        self.ln(3.5)

    def _subheading(self, title: str, height_after: float) -> None:
        self.ln(3)
        self._keep(8 + height_after)
        self._style(12.5, _ACCENT)
        self._write(self.clean(title).strip() or "Overig", line_height=7)
        self.ln(1)

    def _rule(self, height_after: float) -> None:
        """A thin line between two items, or a new page if the next item would not fit."""
        if self.will_page_break(4 + height_after):
            self.add_page()
            return
        self.ln(1.5)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.ln(2)

    def _paragraph(
        self, text: str, *, muted: bool = False, indent: float = 0, space_after: float = 1.5
    ) -> None:
        self._style(_BODY - 0.5 if muted else _BODY, _MUTED if muted else _INK)
        self._write(self.clean(text).strip("\n") or _EMPTY, indent=indent)
        self.ln(space_after)

    def _field(self, label: str, value: str) -> None:
        """A line of a form: a small label on the left, the text wrapped on the right."""
        self._keep(_LINE)
        top = self.y
        self._style(_LABEL, _MUTED)
        self.set_text_shaping(False)
        self.cell(self.label_width, _LINE, label)
        self.set_y(top)
        text = self.clean(value).strip()
        self._style(_BODY, _INK if text else _MUTED)
        self._write(text or _EMPTY, indent=self.label_width)
        self.ln(_FIELD_GAP)

    def _field_height(self, text: str) -> float:
        """About the height `_field` takes for `text` (clean), erring on the high side."""
        self.set_font(_MAIN_FONT[0], size=_BODY)
        room = (self.epw - self.label_width) * 0.9  # lines break at spaces, not at the edge
        lines = sum(
            max(1, math.ceil(self.get_string_width(part) / room)) for part in text.split("\n")
        )
        return lines * _LINE + _FIELD_GAP

    def _bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self._keep(_LINE)
            top = self.y
            self._style(_BODY, _INK)
            self.set_text_shaping(False)
            self.set_x(self.l_margin + 1)
            self.cell(5, _LINE, "•")
            self.set_y(top)
            self._write(self.clean(item).strip(), indent=6)
            self.ln(0.8)
