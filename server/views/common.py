"""What every web handler shares."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from server.rules.refusal import Refusal

# The HTTP status of each kind of refusal a use case answers.
STATUS = {
    Refusal.INVALID: 400,
    Refusal.NOT_SIGNED_IN: 401,
    Refusal.FORBIDDEN: 403,
    Refusal.MISSING: 404,
    Refusal.CONFLICT: 409,
}


# -- reading a request -----------------------------------------------------------------------

# The largest id or number the database holds (a 32-bit INTEGER column): a larger one is no
# id of ours, and must never reach a query (PostgreSQL answers it with an error).
LARGEST = 2**31 - 1


def integer(raw: object, *, high: int = LARGEST) -> int | None:
    """A whole number from 0 to ``high`` as a request carries it, else None.

    Text (a query, a form field, a header) counts only as ASCII digits and nothing else: no
    sign, no space, and no '²' or '١', which ``str.isdigit`` accepts while ``int`` refuses
    the first and reads the second as 1. A path parameter comes as an int already (a route's
    ``:int`` takes ASCII digits only) and is held to the same range."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)):
        value = int(raw)
    else:
        return None
    return value if value <= high else None


def number_in_path(request: Request, name: str, missing: str) -> int:
    """The number in the URL's ``name``; one past what the database holds is a 404 with the
    sentence ``missing`` (what it would say of a number that is not there)."""
    value = integer(request.path_params[name])
    if value is None:
        raise HTTPException(404, missing)
    return value
