"""The copy of a family's plan as a PDF, to print or to keep.

`render_pdf(PlanCopy, zone)` returns an A4 PDF in Dutch, its times on the clock of ``zone``
(the caller's: the instance's ``KRING_TIMEZONE``). Fonts, printable text and the building
blocks are ``pdfbase.py``'s (Noto Sans embedded, right-to-left names shaped by HarfBuzz).

Rendering takes a few tenths of a second for a usual plan and is CPU-bound: call it from a
worker thread (`starlette.concurrency.run_in_threadpool`), not on the event loop.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from server.formats.pdfbase import (
    ACCENT,
    BODY,
    EMPTY,
    LINE,
    MUTED,
    REPLACEMENT_CHARACTER,
    KringPdf,
)
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


def render_pdf(copy: PlanCopy, zone: tzinfo) -> bytes:
    """The plan copy as an A4 PDF in Dutch, with every name and text as written and its
    times on the clock of ``zone``."""
    pdf = _PlanPdf(copy, zone)
    pdf.render()
    return bytes(pdf.output())


def local_time_label(moment: datetime, zone: tzinfo) -> str:
    """`moment` as the Dutch read it on the clock of `zone`: dd-mm-yyyy HH:MM."""
    return on_clock(moment, zone).strftime("%d-%m-%Y %H:%M")


# --- the document ------------------------------------------------------------------------------

_AGREEMENT_LABELS = (
    "Wat",
    "Wie",
    "Wanneer",
    "Waar",
    "Als het niet lukt",
    "Vraag aan een professional",
    "Status",
)


class _PlanPdf(KringPdf):
    def __init__(self, copy: PlanCopy, zone: tzinfo) -> None:
        # The same copy gives the same bytes.
        super().__init__(language="nl", created=on_clock(copy.frozen_at, zone))
        self.copy = copy
        self.zone = zone
        self.plan_title = f"Plan van {self.clean(copy.client_name).strip() or EMPTY}"
        self.set_title(self.plan_title)
        self.set_subject(f"Versie {copy.version} van het plan")
        self.label_width = self.widest(_AGREEMENT_LABELS)

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

    def footer(self) -> None:
        page = f" · versie {self.copy.version} · pagina {self.page_no()} van {{nb}}"
        self._footer_line(self.plan_title, page)

    # --- sections ---

    def _title(self) -> None:
        copy = self.copy
        self._style(22, ACCENT)
        self._write(self.plan_title, line_height=10)
        self.ln(1)
        self._style(BODY, MUTED)
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
                height = 3 * LINE
            if agreement.life_area != area:
                area = agreement.life_area
                self._subheading(area, height, "Overig")
            else:
                self._rule(height)
            self._keep(height)
            for label, value in fields:
                self._field(label, value)

    def _conditions(self) -> None:
        self._section("Voorwaarden")
        for index, condition in enumerate(self.copy.conditions):
            if index:
                self._rule(3 * LINE)
            self._keep(2 * LINE)
            self._paragraph(condition.text, space_after=0.5)
            status = CONDITION_STATUS_LABELS.get(condition.status, "niet beoordeeld")
            set_by = self.clean(condition.set_by).strip() or EMPTY
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
            name = self.clean(answer.name).strip() or EMPTY
            role = self.clean(answer.role).strip()
            label = ANSWER_LABELS.get(answer.answer, "geen antwoord")
            if answer.answer is not None:
                label += (
                    " (genoteerd door de coördinator)"
                    if answer.recorded_by_coordinator
                    else " (zelf)"
                )
            self._keep(2 * LINE)
            self._paragraph(
                f"{name} ({role}): {label}" if role else f"{name}: {label}", space_after=0
            )
            if answer.remark.strip():
                self._paragraph(answer.remark, muted=True, indent=6, space_after=0)
            self.ln(1.5)
        if count.absent:
            names = ", ".join(self.clean(name).strip() or EMPTY for name in count.absent)
            self._paragraph(f"Niet bij de conferentie: {names}", muted=True)
