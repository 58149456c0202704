"""The outcomes dashboard: a coordinator's own conferences, an admin's whole organisation,
beside the research figures (the figures themselves are counted in ``server/rules/outcomes.py``).

The chart is a small SVG drawn here on the server: two bars per figure, this organisation's
and the research's, on one scale. The table beside it holds the same numbers for whoever
would rather read (and for screen readers). The figures and the table of every conference are
made in a worker process of the heavy work (``views/outcomestable.py``); this process writes
only the page around them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_decimal_symbol
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import i18n, metrics
from server.clock import time_zone
from server.conference import followups
from server.i18n import _
from server.rules import outcomes
from server.storage import inworker
from server.views import common, outcomestable

log = logging.getLogger("kring.outcomes")

BAR_HEIGHT = 18
ROW_GAP = 14
LABEL_WIDTH = 220
BAR_WIDTH = 300
VALUE_WIDTH = 70


@dataclass(frozen=True)
class Bar:
    """One figure of the chart: ours (None: nothing to count yet) beside the research's."""

    label: str
    ours: float | None
    reference: float
    scale: float  # the value that fills the bar: 1.0 for shares, 10 for marks
    percent: bool


def figure(value: float | None, percent: bool = False, decimals: int = 1) -> str:
    """A figure as people read it in their language: 62%, 7,8 (7.8 in English), or a dash
    when there is nothing to count."""
    if value is None:
        return "—"
    # Half up, as people round (7.25 is 7.3, 62.5% is 63%), not Python's half to even.
    number = Decimal(str(value * 100 if percent else value))
    if percent:
        return f"{number.quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"
    shown = str(number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
    return shown.replace(".", _decimal_symbol(i18n.get_language()))


@functools.cache
def _decimal_symbol(language: str) -> str:
    """The language's decimal separator ("," in Dutch), asked of Babel's CLDR data once."""
    return str(get_decimal_symbol(language))


def bars_svg(bars: Sequence[Bar], title: str) -> Markup:
    """A horizontal bar chart as inline SVG, with its title for screen readers."""
    row_height = 2 * BAR_HEIGHT + ROW_GAP
    height = len(bars) * row_height + 30
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for index, bar in enumerate(bars):
        top = index * row_height
        parts.append(
            f'<text x="0" y="{top + BAR_HEIGHT + 4}" class="chart-label">{escape(bar.label)}</text>'
        )
        for offset, value, kind in ((0, bar.ours, "ours"), (BAR_HEIGHT, bar.reference, "ref")):
            length = 0 if value is None else round(min(value / bar.scale, 1) * BAR_WIDTH)
            y = top + offset
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT - 3}" '
                f'class="chart-{kind}"/>'
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + length + 6}" y="{y + BAR_HEIGHT - 6}" '
                f'class="chart-value">{escape(figure(value, bar.percent))}</text>'
            )
    legend = len(bars) * row_height + 12
    ours, research = _("Kring"), _("Onderzoek (WESP)")  # marked outside the f-string: extracted
    parts.append(
        f'<rect x="{LABEL_WIDTH}" y="{legend}" width="14" height="14" class="chart-ours"/>'
        f'<text x="{LABEL_WIDTH + 20}" y="{legend + 12}" class="chart-value">'
        f"{escape(ours)}</text>"
        f'<rect x="{LABEL_WIDTH + 110}" y="{legend}" width="14" height="14" class="chart-ref"/>'
        f'<text x="{LABEL_WIDTH + 130}" y="{legend + 12}" class="chart-value">'
        f"{escape(research)}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


def chart(totals: outcomes.Totals) -> Markup:
    ref = outcomes.REFERENCE
    return bars_svg(
        [
            Bar(_("Plannen met eigen netwerk"), totals.plans_with_network,
                ref.plans_with_network, 1.0, True),
            Bar(_("Vragen aan professionals"), totals.request_share, ref.requests, 1.0, True),
            Bar(_("Gedaan binnen 3 maanden"), totals.done_share, ref.done_in_three_months,
                1.0, True),
            Bar(_("Cijfer conferentie"), totals.ratings.conference.value,
                ref.conference_rating, 10, False),
            Bar(_("Cijfer plan"), totals.ratings.plan_presented.value, ref.plan_rating, 10,
                False),
        ],
        _("Uitkomsten van Kring naast het onderzoek"),
    )  # fmt: skip


async def outcomes_page(request: Request) -> Response:
    """The outcomes of the conferences this coordinator runs (an admin: all of them).

    A whole organisation is thousands of conferences: reading them, counting the figures and
    writing the table of every conference run in a worker process of the heavy work
    (``views/outcomestable.py``), which reads the database itself, so that neither that work
    nor its garbage collections stall the live rooms (bench/outcomes.py, bench/heavy.py
    measure it). It takes one of the heavy work's slots, as a PDF does: with every slot taken
    longer than a page waits, 503. Here only the page around that table is written: the
    totals and the chart."""
    who = await common.signed_in_coordinator(request)
    heavy = common.heavy(request)
    async with heavy.slot(f"outcomes page of account {who.account.id}"):
        with metrics.heavy("outcomes page"):
            try:
                made = await heavy.run(
                    outcomestable.outcomes_table,
                    common.settings(request).database_url,
                    who.account.id,
                    who.account.role,
                    followups.today(),
                    time_zone(),
                    i18n.get_language(),
                )
            except inworker.Unreadable as exc:  # the worker's own connection failed
                log.warning("outcomes page of account %s not made: %s", who.account.id, exc)
                raise HTTPException(503, common.unreadable()) from None
    log.debug("outcomes page of account %s made in process %d", who.account.id, made.made_in)
    # Shown only to whoever is still signed in: the page waited for a slot and was made
    # meanwhile (the account may have been turned off since; then to the login page).
    who = await common.signed_in_coordinator(request)
    return common.render(
        request,
        "outcomes.html",
        who=who,
        totals=made.totals,
        # Written by the same templates, escaped there (views/outcomestable.py).
        per_conference=Markup(made.html),  # noqa: S704
        reference=outcomes.REFERENCE,
        chart=chart(made.totals),
        figure=figure,
        min_ratings=outcomes.MIN_RATINGS,
        organisation=who.account.role == "admin",
    )
