"""The copy of a family's plan as a PDF, to print or to keep.

`render_pdf(PlanCopy)` returns the bytes of an A4 PDF in Dutch. The text is set in Noto Sans,
with Noto Sans Arabic for the letters Noto Sans lacks; both come from PyPI packages
(`fontpkg-noto-sans`, `fontpkg-noto-sans-arabic`, SIL Open Font License) and are embedded as
subsets. Text shaping (HarfBuzz, through `uharfbuzz`) joins Arabic letters and puts
right-to-left runs in order. Characters that neither font has (emoji, scripts they lack) are
printed as "�" rather than as empty boxes or an error.

The fonts are variable fonts printed at their default instance (Regular). Making a bold
instance costs fontTools seconds per document, so headings stand out by size and colour.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

__all__ = [
    "AgreementLine",
    "AnswerLine",
    "ConditionLine",
    "PlanCopy",
    "render_pdf",
]


@dataclass(frozen=True)
class AgreementLine:
    life_area: str  # Dutch label of the life area, e.g. "Wonen & dagelijks leven"
    what: str
    who: str
    when: str
    where: str
    backup: str  # "wat doen we als het niet lukt"
    request: str  # request to a professional, "" if none
    status: str  # Dutch label, e.g. "Open"


@dataclass(frozen=True)
class ConditionLine:
    text: str
    set_by: str  # name of the mandated professional
    status: str | None  # "met", "not_met" or None (not checked)
    remark: str


@dataclass(frozen=True)
class AnswerLine:
    name: str
    role: str  # Dutch label, e.g. "Netwerklid"
    answer: str | None  # "agree", "not_yet", or None (no answer)
    remark: str


@dataclass(frozen=True)
class PlanCopy:
    client_name: str
    question: str  # the conference question
    meeting_date: date | None
    location: str
    version: int  # 1 = as agreed at the presentation
    frozen_at: datetime  # timezone-aware UTC
    agreements: tuple[AgreementLine, ...]  # already in life-area order
    conditions: tuple[ConditionLine, ...]
    answers: tuple[AnswerLine, ...]
    action_team: tuple[str, ...]  # names
    clarifying_questions: tuple[str, ...]
    notes: str = ""  # free text the family wrote in the plan, may be ""


CONDITION_STATUS = {"met": "voldaan", "not_met": "niet voldaan", None: "niet beoordeeld"}
ANSWER_LABEL = {"agree": "eens", "not_yet": "nog niet", None: "geen antwoord"}

LOCAL_TIME = ZoneInfo("Europe/Amsterdam")

# Fonts: (family name for fpdf2, package, file inside the package).
_MAIN_FONT = ("notosans", "fontpkg_noto_sans", "NotoSans[wdth,wght].ttf")
_ARABIC_FONT = ("notosansarabic", "fontpkg_noto_sans_arabic", "NotoSansArabic[wdth,wght].ttf")

REPLACEMENT = "\ufffd"  # printed for a character no embedded font has

# Layout, in millimetres and points.
_MARGIN = 20.0
_BOTTOM = 22.0
_BODY = 11.0
_SMALL = 9.5
_LINE = 5.6  # line height for body text
_SMALL_LINE = 4.8
_INK = (26, 26, 26)
_MUTED = (95, 95, 95)
_ACCENT = (22, 88, 84)
_RULE = (200, 200, 200)

_FIELD_LABELS = (
    "Wat",
    "Wie",
    "Wanneer",
    "Waar",
    "Als het niet lukt",
    "Vraag aan een professional",
    "Status",
)
_EMPTY = "–"  # shown for an empty field


def render_pdf(copy: PlanCopy) -> bytes:
    """The plan copy as an A4 PDF (Dutch), with every name and text as written."""
    pdf = _PlanPdf(copy)
    pdf.render()
    return bytes(pdf.output())


# --- fonts and text ------------------------------------------------------------------------


@cache
def font_file(package: str, name: str) -> Path:
    """The path of a font file shipped in an installed Python package."""
    resource = resources.files(package) / "files" / name
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"font {name} not found in package {package}")
    return path


_JOINERS = "\u200c\u200d\u2060\ufe0e\ufe0f"
_REPLACEMENT_RUN = re.compile(f"{REPLACEMENT}(?:[{_JOINERS}]*{REPLACEMENT})*")
_AROUND_REPLACEMENT = re.compile(f"[{_JOINERS}]+(?={REPLACEMENT})|(?<={REPLACEMENT})[{_JOINERS}]+")


def printable(text: str, glyphs: Collection[int]) -> str:
    """`text` with only characters the fonts can print, so rendering cannot fail.

    Line breaks become "\\n", tabs spaces; control and format characters the fonts lack are
    dropped; every other missing character becomes "�", one for a run such as an emoji
    sequence.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    out: list[str] = []
    for char in text:
        if char == "\n" or ord(char) in glyphs:
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Zl", "Zp"):
            out.append("\n")
        elif category == "Zs":
            out.append(" ")
        elif category in ("Cc", "Cf", "Mn", "Me") or 0x1F3FB <= ord(char) <= 0x1F3FF:
            continue  # invisible, a combining mark on nothing printable, or a skin tone
        else:
            out.append(REPLACEMENT)
    cleaned = "".join(out)
    if REPLACEMENT in cleaned:
        cleaned = _REPLACEMENT_RUN.sub(REPLACEMENT, _AROUND_REPLACEMENT.sub("", cleaned))
    # fpdf2 replaces "{nb}" by the page count; a zero-width non-joiner keeps it as written.
    return cleaned.replace("{nb}", "{\u200cnb}")


def local_time(moment: datetime) -> datetime:
    """`moment` on the clock in the Netherlands (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TIME)


# --- the document --------------------------------------------------------------------------


class _PlanPdf(FPDF):
    def __init__(self, copy: PlanCopy) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.copy = copy
        for family, package, name in (_MAIN_FONT, _ARABIC_FONT):
            self.add_font(family, "", font_file(package, name))
        self.glyphs: set[int] = set()
        for key in (_MAIN_FONT[0], _ARABIC_FONT[0]):
            font = self.fonts[key]
            if isinstance(font, TTFFont):
                self.glyphs.update(font.cmap)
        self.set_font(_MAIN_FONT[0], size=_BODY)
        self.set_fallback_fonts([_ARABIC_FONT[0]])
        # Dutch reading order for the page; runs of Arabic inside a line are right to left.
        self.set_text_shaping(True, direction="ltr")
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=_BOTTOM)
        self.c_margin = 0
        title = f"Plan van {self.clean(copy.client_name).strip() or _EMPTY}"
        self.footer_text = f"{title} · versie {copy.version}"
        self.set_title(title)
        self.set_lang("nl")
        self.set_creator("Kring")
        self.set_subject("Plan van de familie, vastgesteld in een familiegroepsconferentie")
        self.set_creation_date(local_time(copy.frozen_at))
        self.label_width = (
            max(self._width(label, _SMALL) for label in _FIELD_LABELS) + 5.0
        )

    # fpdf2 calls this for every page.
    def footer(self) -> None:
        self.set_y(-14)
        self._style(8.5, _MUTED)
        self.cell(
            0,
            4,
            f"{self.footer_text} · pagina {self.page_no()} van {{nb}}",
            align=Align.C,
        )

    def clean(self, text: str) -> str:
        return printable(text, self.glyphs)

    def render(self) -> None:
        copy = self.copy
        self.add_page()
        self._title()
        self._section("De vraag van deze conferentie")
        self._paragraph(copy.question)
        self._agreements(copy.agreements)
        if copy.notes.strip():
            self._section("Aantekeningen")
            self._paragraph(copy.notes)
        if copy.conditions:
            self._conditions(copy.conditions)
        if copy.clarifying_questions:
            self._section("Verhelderende vragen")
            self._bullets(copy.clarifying_questions)
        self._answers(copy.answers)
        self._section("Actieteam")
        if copy.action_team:
            self._bullets(copy.action_team)
        else:
            self._paragraph("Nog geen actieteam gekozen.", muted=True)

    # --- sections ---

    def _title(self) -> None:
        copy = self.copy
        self._style(22, _ACCENT)
        self.multi_cell(0, 10, self.title or "", align=Align.L, **_NEXT_LINE)
        self.ln(1)
        frozen = local_time(copy.frozen_at).strftime("%d-%m-%Y %H:%M")
        self._style(_BODY, _MUTED)
        self.multi_cell(
            0, _LINE, f"Versie {copy.version}, vastgesteld op {frozen}", align=Align.L, **_NEXT_LINE
        )
        if copy.meeting_date is not None or copy.location.strip():
            self.ln(2)
        if copy.meeting_date is not None:
            self._field("Conferentie", copy.meeting_date.strftime("%d-%m-%Y"))
        if copy.location.strip():
            self._field("Plaats", copy.location)

    def _agreements(self, agreements: tuple[AgreementLine, ...]) -> None:
        self._section("Afspraken")
        if not agreements:
            self._paragraph("Nog geen afspraken.", muted=True)
            return
        area: str | None = None
        for agreement in agreements:
            if agreement.life_area != area:
                area = agreement.life_area
                self._subheading(area.strip() or "Overig")
            else:
                self._rule()
            self._agreement(agreement)

    def _agreement(self, agreement: AgreementLine) -> None:
        self._keep(3 * _LINE)
        self._field("Wat", agreement.what)
        self._field("Wie", agreement.who)
        self._field("Wanneer", agreement.when)
        self._field("Waar", agreement.where)
        self._field("Als het niet lukt", agreement.backup)
        if agreement.request.strip():
            self._field("Vraag aan een professional", agreement.request)
        self._field("Status", agreement.status)

    def _conditions(self, conditions: tuple[ConditionLine, ...]) -> None:
        self._section("Voorwaarden")
        for index, condition in enumerate(conditions):
            if index:
                self._rule()
            self._keep(3 * _LINE)
            self._paragraph(condition.text or _EMPTY, space_after=0.5)
            status = CONDITION_STATUS.get(condition.status, "niet beoordeeld")
            by = self.clean(condition.set_by).strip() or _EMPTY
            self._paragraph(f"gesteld door {by} · {status}", muted=True, space_after=0.5)
            if condition.remark.strip():
                self._paragraph(f"Opmerking: {condition.remark}", muted=True, space_after=0.5)

    def _answers(self, answers: tuple[AnswerLine, ...]) -> None:
        self._section("Wie is het eens met het plan")
        if not answers:
            self._paragraph("Nog niemand gevraagd.", muted=True)
            return
        for answer in answers:
            label = ANSWER_LABEL.get(answer.answer, "geen antwoord")
            name = self.clean(answer.name).strip() or _EMPTY
            role = self.clean(answer.role).strip()
            who = f"{name} ({role})" if role else name
            self._keep(2 * _LINE)
            self._paragraph(f"{who}: {label}", space_after=0.5)
            if answer.remark.strip():
                self._indented(lambda: self._paragraph(answer.remark, muted=True))
            self.ln(1)

    # --- building blocks ---

    def _style(self, size: float, colour: tuple[int, int, int]) -> None:
        self.set_font(_MAIN_FONT[0], size=size)
        self.set_text_color(*colour)

    def _width(self, text: str, size: float) -> float:
        self.set_font(_MAIN_FONT[0], size=size)
        return self.get_string_width(text)

    def _keep(self, height: float) -> None:
        """Start a new page unless `height` still fits on this one."""
        if self.will_page_break(height):
            self.add_page()

    def _section(self, title: str) -> None:
        self.ln(5)
        self._keep(9 + 3 * _LINE)
        self._style(15, _ACCENT)
        self.multi_cell(0, 8, title, align=Align.L, **_NEXT_LINE)
        self.set_draw_color(*_ACCENT)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.y + 0.5, self.w - self.r_margin, self.y + 0.5)
        self.ln(3)

    def _subheading(self, title: str) -> None:
        self.ln(3)
        self._keep(7 + 3 * _LINE)
        self._style(12.5, _ACCENT)
        self.multi_cell(0, 7, self.clean(title), align=Align.L, **_NEXT_LINE)
        self.ln(1)

    def _rule(self) -> None:
        self.ln(1.5)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.y, self.w - self.r_margin, self.y)
        self.ln(2)

    def _paragraph(self, text: str, *, muted: bool = False, space_after: float = 1.5) -> None:
        self._style(_BODY if not muted else _BODY - 0.5, _MUTED if muted else _INK)
        self.multi_cell(0, _LINE, self.clean(text) or _EMPTY, align=Align.L, **_NEXT_LINE)
        self.ln(space_after)

    def _field(self, label: str, value: str) -> None:
        """One line of a form: a small label on the left, the text (wrapped) on the right."""
        self._keep(_LINE)
        top = self.y
        self._style(_SMALL, _MUTED)
        self.set_x(self.l_margin)
        self.cell(self.label_width, _LINE, label)
        self.set_xy(self.l_margin + self.label_width, top)
        text = self.clean(value).strip()
        self._style(_BODY, _INK if text else _MUTED)
        self.multi_cell(0, _LINE, text or _EMPTY, align=Align.L, **_NEXT_LINE)
        self.ln(0.6)

    def _bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self._keep(_LINE)
            self._style(_BODY, _INK)
            top = self.y
            self.set_x(self.l_margin + 1)
            self.cell(5, _LINE, "•")
            self.set_xy(self.l_margin + 6, top)
            self.multi_cell(0, _LINE, self.clean(item).strip() or _EMPTY, align=Align.L, **_NEXT_LINE)
            self.ln(0.8)

    def _indented(self, draw: object) -> None:
        left = self.l_margin
        self.set_left_margin(left + 6)
        self.set_x(left + 6)
        try:
            assert callable(draw)
            draw()
        finally:
            self.set_left_margin(left)


_NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
