"""What a worker process of the heavy work (``conference/heavy.py``) runs for the outcomes page
(``views/dashboard.py``): the figures of every conference an account may see, and the page's
table of them written in the reader's language.

A whole organisation is thousands of conferences. Reading them, counting and writing that
table takes most of a second and makes many objects; in the server's process (even in a
thread) the interpreter's lock and the full collections of its garbage collector would stall
the live rooms' event loop meanwhile. Here the worker reads the database itself (it is given
the database's URL and who asks, never the rows) and hands back only the totals and the
table's HTML.

This module is what such a process imports first, so it stays light (as
``formats/printing.py``): the store, the templates and the rules load inside the call, once
per worker process. Each process keeps one store (its engine keeps no idle connection: one is
opened for each page) and one event loop of its own, for as long as it lives, shared with the
exports it makes (``storage/inworker.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from server import i18n
from server.storage import inworker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from server.rules.outcomes import ConferenceOutcome, Totals

FRAGMENT = "_outcomes_rows.html"


@dataclass(frozen=True)
class OutcomesTable:
    """What the worker hands back (by pickle): the figures across the conferences and the
    table of each conference as HTML, escaped and in the reader's language."""

    totals: Totals
    html: str
    made_in: int  # the id of the process that made it


def outcomes_table(
    database_url: str,
    account_id: int,
    role: str,
    today: date,
    zone: ZoneInfo,
    language: str,
) -> OutcomesTable:
    """The outcomes of the conferences account ``account_id`` (with ``role``) may see, as of
    ``today`` on the instance's clock ``zone``, the table in ``language``."""
    from server.clock import use_time_zone
    from server.rules import outcomes
    from server.storage.models import Account

    use_time_zone(zone)  # this process's clock: the store counts the versions by it
    store = inworker.store(database_url)
    account = Account(id=account_id, role=role)  # who asks, as the server signed them in
    facts = inworker.run(store.outcome_facts(account))
    rows = [outcomes.conference_outcome(f, today, zone) for f in facts]
    with i18n.using(language):
        html = _render(rows)
    return OutcomesTable(outcomes.totals(rows), html, os.getpid())


def _render(rows: Sequence[ConferenceOutcome]) -> str:
    """The table, from the server's own templates (``views/assets.py``: escaping, the
    translations, the macros and the globals every page has)."""
    from server.views import common
    from server.views.assets import templates
    from server.views.dashboard import figure

    if "PHASE_LABELS" not in templates.env.globals:  # the first page of this process
        templates.env.globals.update(common.template_globals())
    return templates.get_template(FRAGMENT).render(rows=rows, figure=figure)
