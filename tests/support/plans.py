"""Plans as plain data, the way the outcomes read a version's content."""

from __future__ import annotations

from typing import Any


def agreement(key: str, area: str, status: str = "open", **fields: str) -> dict[str, Any]:
    """An agreement of a frozen version: its id, life area and status (and any other field)."""
    return {"id": key, "life_area": area, "what": f"afspraak {key}", "status": status, **fields}
