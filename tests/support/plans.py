"""Plans as plain data, the way the outcomes read a version's content."""

from __future__ import annotations

from typing import Any


def agreement(key: str, area: str, status: str = "open", **fields: str) -> dict[str, Any]:
    """An agreement of a frozen version: its id, life area and status (and any other field)."""
    return {"id": key, "life_area": area, "what": f"afspraak {key}", "status": status, **fields}


def long_plan(agreements: int) -> dict[str, Any]:
    """A frozen version's content with many full agreements: its PDF copy takes a while to
    make (about a second per 250 agreements), long enough for another request to meet it."""
    return {
        "client_name": "Sam Yılmaz",
        "question": "Hoe zorgen we samen dat Sam veilig thuis kan blijven wonen?",
        "agreements": [
            {
                "id": f"a{n}",
                "life_area": "housing",
                "what": f"Afspraak {n}: samen koken op zondag en daarna samen de afwas doen",
                "who": "Ayşe en Mehmet",
                "when": "elke week op zondag",
                "where": "thuis bij oma",
                "backup": "Dan belt oma de buurvrouw en komt zij helpen",
                "request": "",
                "status": "open",
            }
            for n in range(agreements)
        ],
    }
