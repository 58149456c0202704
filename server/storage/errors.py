"""What the store raises when the data cannot satisfy a request.

Storage words nothing for people: an error carries a :class:`Reason` (and the number it is
about, if any), and the caller turns that into a sentence in the reader's language. The
reason's value is an English description, for logs and the command line.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy.exc import SQLAlchemyError

# Anything the database itself fails with (down, full, a lost connection): callers outside
# storage catch this name, not SQLAlchemy's.
DatabaseError = SQLAlchemyError


class Reason(Enum):
    """Why the store refused (the value: an English description, for logs)."""

    NO_CONFERENCE = "conference not found"
    NO_PARTICIPANT = "participant not found"
    NO_LINK = "no such link, or it is another person's"
    LINK_ENDED = "the link was ended already"
    NOT_OWN_CONDITION = "no such condition, or another participant set it"
    DUPLICATE_EMAIL = "an account with this address already exists"
    TEAM_FIXED = "the action team is chosen at the presentation, before the plan is frozen"
    PRESENTATION_OVER = "the plan is frozen already, or the presentation is over"
    CONDITION_NOT_MET = "a condition was just judged not met"
    VERSION_EXISTS = "this version of the plan is frozen already"
    FOLLOW_UP_OPEN = "a follow-up meeting is open already"
    FOLLOW_UP_STARTED = "another follow-up meeting was started at the same moment"
    FOLLOW_UP_CLOSED = "the follow-up meeting is closed already"
    NOBODY_ATTENDED = "nobody is recorded as being at the follow-up meeting"
    CONTENDED = "concurrent writes kept colliding"
    OWN_ANSWER = "this participant answered themselves; only they change their answer"
    SUPPORTERS_FIXED = "supporters are chosen in the preparation; a mark can only be taken away"
    NO_PROPOSAL = "no such proposal in this conference"
    PROPOSAL_DECIDED = "the coordinator decided on this proposal already"
    TOO_MANY_PROPOSALS = "this person has too many proposals waiting for the coordinator"
    SECOND_FACTOR_ON = "the account's second factor is on already"
    LINK_USED = "the link was used already, has expired, or its account is turned off"
    LAST_ADMIN = "the last admin who is turned on stays an admin"
    NO_ACCOUNT = "no such account"
    ACCOUNT_OFF = "the account is turned off"
    SAME_OWNER = "this coordinator runs the conference already"


class StoreError(Exception):
    """A request the data cannot satisfy; ``reason`` says why, ``number`` is the version or
    meeting it is about (if any). The caller words it for people."""

    def __init__(self, reason: Reason, *, number: int | None = None, detail: str = "") -> None:
        super().__init__(detail or reason.value)
        self.reason = reason
        self.number = number


class DuplicateEmail(StoreError):
    """An account for this address exists already."""

    def __init__(self, email: str) -> None:
        super().__init__(Reason.DUPLICATE_EMAIL, detail=f"an account for {email} already exists")
        self.email = email


class NotFound(StoreError):
    """The row asked for does not exist (or is not of this conference, or not this person's)."""


class BackupError(Exception):
    """A backup that cannot be made, read, verified or restored. The message is an English
    sentence for the operator at the terminal or in the log (never shown to families)."""
