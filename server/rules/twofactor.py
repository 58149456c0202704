"""The second factor's rules: the six-digit codes an authenticator app makes (TOTP, RFC 6238:
a new one every 30 seconds from a secret shared once through a QR code), the one-time
recovery codes, and what a typed code is. Pure: the moment is passed in."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

STEP_SECONDS = 30
# A phone's clock may be a step behind or ahead: the codes of the steps around now count too.
DRIFT_STEPS = 1
CODE_DIGITS = 6
ISSUER = "Kring"
# How long a login halfway waits: for the code, and for setting up a second factor (an app
# to install and a code to scan).
CODE_WAIT = timedelta(minutes=5)
SET_UP_WAIT = timedelta(minutes=20)

RECOVERY_COUNT = 10
RECOVERY_LENGTH = 10  # characters, 50 bits
# Crockford's base 32: no i, l, o or u, so a code read aloud or copied by hand survives.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})
LONGEST_TYPED = 40  # a code with spaces and dashes; anything longer is no code


def step_at(moment: datetime) -> int:
    """The 30-second step a moment falls in (counted from 1970)."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_for(secret: str, step: int) -> str:
    """The code an app shows with ``secret`` during ``step`` (tests use it as a phone)."""
    return pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, moment: datetime, used_up_to: int | None) -> int | None:
    """The step whose code ``code`` is, among the steps around ``moment``; None if none is,
    or if it is not later than ``used_up_to`` (a code is accepted once, and never one older
    than a code already used)."""
    now = step_at(moment)
    for step in range(now + DRIFT_STEPS, now - DRIFT_STEPS - 1, -1):
        if used_up_to is not None and step <= used_up_to:
            break
        if hmac.compare_digest(code_for(secret, step), code):
            return step
    return None


def setup_address(secret: str, email: str) -> str:
    """What the QR code holds: an ``otpauth://`` address apps read (the secret, the account,
    Kring as issuer)."""
    totp = pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS)
    return totp.provisioning_uri(name=email, issuer_name=ISSUER)


def spaced(secret: str) -> str:
    """The secret in groups of four, to type into an app that cannot scan."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def shown(code: str) -> str:
    """A recovery code as it is shown: two groups of five."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


@dataclass(frozen=True)
class Typed:
    """What someone typed in a code field: an app's code or a recovery code, normalised."""

    kind: str  # "app" or "recovery"
    code: str


def typed_code(raw: str) -> Typed | None:
    """Read a code field: six digits (spaces allowed) are an app's code, ten characters of
    the recovery alphabet (any case, dashes and spaces allowed, o read as 0, i and l as 1) a
    recovery code; anything else is None."""
    if len(raw) > LONGEST_TYPED:
        return None
    squeezed = "".join(raw.split())
    if len(squeezed) == CODE_DIGITS and squeezed.isascii() and squeezed.isdigit():
        return Typed("app", squeezed)
    letters = squeezed.replace("-", "").lower().translate(_READ_AS)
    if len(letters) == RECOVERY_LENGTH and all(c in RECOVERY_ALPHABET for c in letters):
        return Typed("recovery", letters)
    return None
