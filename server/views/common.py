"""What every web handler shares."""

from __future__ import annotations

from server.rules.refusal import Refusal

# The HTTP status of each kind of refusal a use case answers.
STATUS = {
    Refusal.INVALID: 400,
    Refusal.NOT_SIGNED_IN: 401,
    Refusal.FORBIDDEN: 403,
    Refusal.MISSING: 404,
    Refusal.CONFLICT: 409,
}
