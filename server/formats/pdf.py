"""The copy of a family's plan as a PDF, to print or to keep.

`render_pdf(PlanCopy, zone)` returns an A4 PDF in the current language (the reader's own; a
page in Arabic is set right to left), its times on the clock of ``zone`` (the caller's: the
instance's ``KRING_TIMEZONE``). What the family wrote is printed as written. Fonts, printable
text and the building blocks are ``pdfbase.py``'s (Noto Sans embedded, right-to-left text
shaped by HarfBuzz).

Rendering takes a few tenths of a second for a usual plan and is CPU-bound pure Python: the
server calls it in a worker process (``printing.plan_pdf`` through ``conference.heavy``, with
the reader's language), never on the event loop nor in one of its threads.
"""

from __future__ import annotations

from datetime import tzinfo

from server.formats.pdfbase import (
    ACCENT,
    BODY,
    EMPTY,
    LINE,
    MUTED,
    REPLACEMENT_CHARACTER,
    KringPdf,
    print_twice_if_right_to_left,
)
from server.i18n import N_, Labels, _, format_moment, get_language, on_clock
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


CONDITION_STATUS_LABELS: Labels[str | None] = Labels(
    {"met": N_("voldaan"), "not_met": N_("niet voldaan"), None: N_("niet beoordeeld")}
)
ANSWER_LABELS: Labels[str | None] = Labels(
    {"agree": N_("eens"), "not_yet": N_("nog niet"), None: N_("geen antwoord")}
)


def render_pdf(copy: PlanCopy, zone: tzinfo) -> bytes:
    """The plan copy as an A4 PDF in the current language, with every name and text as
    written and its times on the clock of ``zone``."""
    pdf = print_twice_if_right_to_left(lambda: _PlanPdf(copy, zone))
    return bytes(pdf.output())


# --- the document ------------------------------------------------------------------------------

_AGREEMENT_LABELS = Labels(
    {
        "what": N_("Wat"),
        "who": N_("Wie"),
        "when": N_("Wanneer"),
        "where": N_("Waar"),
        "backup": N_("Als het niet lukt"),
        "request": N_("Vraag aan een professional"),
        "status": N_("Status"),
    }
)


class _PlanPdf(KringPdf):
    def __init__(self, copy: PlanCopy, zone: tzinfo) -> None:
        # The same copy in the same language gives the same bytes.
        super().__init__(language=get_language(), created=on_clock(copy.frozen_at, zone))
        self.copy = copy
        self.zone = zone
        self.plan_title = _("Plan van %(name)s", name=self.clean(copy.client_name).strip() or EMPTY)
        self.set_title(self.plan_title)
        self.set_subject(_("Versie %(number)s van het plan", number=copy.version))
        self.label_width = self.widest(_AGREEMENT_LABELS.values())

    def render(self) -> None:
        copy = self.copy
        self.add_page()
        self._title()
        self._section(_("De vraag van deze conferentie"))
        self._paragraph(copy.question, written=True)
        self._agreements()
        if copy.notes.strip():
            self._section(_("Aantekeningen"))
            self._paragraph(copy.notes, written=True)
        if copy.conditions:
            self._conditions()
        questions = [question for question in copy.clarifying_questions if question.strip()]
        if questions:
            self._section(_("Verhelderende vragen"))
            self._bullets(questions)
        self._answers()
        self._section(_("Actieteam"))
        team = [name for name in copy.action_team if name.strip()]
        if team:
            self._bullets(team)
        else:
            self._paragraph(_("Nog geen actieteam gekozen."), muted=True)

    def footer(self) -> None:
        page = " · ".join(
            (
                "",
                _("versie %(number)s", number=self.copy.version),
                _("pagina %(page)s van %(pages)s", page=self.page_no(), pages=self.pages_text),
            )
        )
        self._footer_line(self.plan_title, page)

    # --- sections ---

    def _title(self) -> None:
        copy = self.copy
        self._style(22, ACCENT)
        self._write(self.plan_title, line_height=10)
        self.ln(1)
        self._style(BODY, MUTED)
        frozen = format_moment(copy.frozen_at, self.zone)
        self._write(
            _("Versie %(number)s, vastgesteld op %(when)s", number=copy.version, when=frozen)
        )
        if copy.meeting_date is not None or copy.location.strip():
            self.ln(2)
        if copy.meeting_date is not None:
            self._field(_("Conferentie"), format_moment(copy.meeting_date, self.zone, "date"))
        if copy.location.strip():
            self._field(_("Plaats"), copy.location)

    def _agreements(self) -> None:
        self._section(_("Afspraken"))
        if not self.copy.agreements:
            self._paragraph(_("Nog geen afspraken."), muted=True)
            return
        area: str | None = None
        for agreement in self.copy.agreements:
            values = {
                "what": agreement.what,
                "who": agreement.who,
                "when": agreement.when,
                "where": agreement.where,
                "backup": agreement.backup,
                "request": agreement.request,
                "status": agreement.status,
            }
            fields = [
                (_AGREEMENT_LABELS[key], self.clean(value).strip())
                for key, value in values.items()
                if key != "request" or value.strip()
            ]
            # An agreement that fits on a page is not split over two.
            height = sum(self._field_height(value) for _, value in fields)
            if height > self.eph - 20:
                height = 3 * LINE
            if agreement.life_area != area:
                area = agreement.life_area
                self._subheading(area, height, _("Overig"))
            else:
                self._rule(height)
            self._keep(height)
            for label, value in fields:
                self._field(label, value)

    def _conditions(self) -> None:
        self._section(_("Voorwaarden"))
        for index, condition in enumerate(self.copy.conditions):
            if index:
                self._rule(3 * LINE)
            self._keep(2 * LINE)
            self._paragraph(condition.text, space_after=0.5, written=True)
            status = CONDITION_STATUS_LABELS.get(condition.status) or CONDITION_STATUS_LABELS[None]
            set_by = self.clean(condition.set_by).strip() or EMPTY
            self._paragraph(
                f"{_('gesteld door %(name)s', name=set_by)} · {status}", muted=True, space_after=0.5
            )
            if condition.remark.strip():
                self._paragraph(
                    _("Opmerking: %(remark)s", remark=condition.remark), muted=True, space_after=0.5
                )

    def _answers(self) -> None:
        self._section(_("Wie is het eens met het plan"))
        answers = self.copy.answers
        if not answers:
            self._paragraph(_("Nog niemand heeft geantwoord."), muted=True)
            return
        count = agreement_count(answers)
        if count.among_present:
            said = _(
                "%(agreed)s van de %(of)s aanwezigen is het eens met het plan.",
                agreed=count.agreed,
                of=count.of,
            )
        else:
            said = _(
                "%(agreed)s van de %(of)s is het eens met het plan.",
                agreed=count.agreed,
                of=count.of,
            )
        self._paragraph(said, muted=True)
        for answer in answers:
            if answer.present is False:
                continue  # named once, below
            name = self.clean(answer.name).strip() or EMPTY
            role = self.clean(answer.role).strip()
            label = ANSWER_LABELS.get(answer.answer) or ANSWER_LABELS[None]
            if answer.answer is not None:
                by_coordinator = answer.recorded_by_coordinator
                how = _("genoteerd door de coördinator") if by_coordinator else _("zelf")
                label = f"{label} ({how})"
            self._keep(2 * LINE)
            self._paragraph(
                f"{name} ({role}): {label}" if role else f"{name}: {label}", space_after=0
            )
            if answer.remark.strip():
                self._paragraph(answer.remark, muted=True, indent=6, space_after=0, written=True)
            self.ln(1.5)
        if count.absent:
            names = ", ".join(self.clean(name).strip() or EMPTY for name in count.absent)
            self._paragraph(_("Niet bij de conferentie: %(names)s", names=names), muted=True)
