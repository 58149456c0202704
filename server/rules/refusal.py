"""What kind of "no" a use case answers, so that the web layer can choose the HTTP status.

The rules and use cases say *why* something is refused (the person's sentence) and *what
kind* of refusal it is; only ``server/views/`` knows that a conflict is a 409.
"""

from __future__ import annotations

from enum import Enum


class Refusal(Enum):
    INVALID = "invalid"  # the request itself is wrong: a bad value, text too long
    NOT_SIGNED_IN = "not_signed_in"  # nobody we know is asking
    FORBIDDEN = "forbidden"  # somebody we know, who may not do this (now)
    MISSING = "missing"  # what they ask about does not exist (for them)
    CONFLICT = "conflict"  # it cannot be done in the state things are in now
