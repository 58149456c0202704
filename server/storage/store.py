"""The store: async functions over Kring's tables, one facade over a module per subject.

``Store`` is what the rest of Kring holds (one instance per process). Its methods live in
the subject modules next to this one, each a mixin over ``base.StoreBase`` (the engine and
its sessions):

- ``accounts``: accounts, their login limits, sign-ins (sessions)
- ``administration``: one-time password links, turning accounts off, roles, hand-over
- ``conferences``: conferences, their phase, the lists and figures over them
- ``participants``: participants, their links (invitations), admission in private time
- ``invitations``: from the network map to the list, who is coming, the family's proposals
- ``meeting``: conditions, signals, questions, answers; action team, plan versions, ratings
- ``followups``: the action team's follow-up meetings and their reminders
- ``practical``: interpreters, children and their supporters, notes on food, childcare and
  transport; the questions copied from the compass for the meeting
- ``twofactor``: second factors, recovery codes, logins halfway, the instance's requirement
- ``audit``: the audit log
- ``erasure``: erasing a conference, and scrubbing the database files after it
- ``leases``: work one process of several does for all (the nightly backup)

Storage words nothing for people: refusals are ``StoreError`` with a ``Reason`` (see
``errors``), which the caller words. The row and value types are importable from here.
"""

from __future__ import annotations

from server.storage.accounts import AccountsMixin, SessionMatch, SessionsMixin
from server.storage.administration import AccountLinkMatch, AdministrationMixin, LinkUsed
from server.storage.audit import AuditMixin
from server.storage.base import create_engine
from server.storage.conferences import ConferencesMixin, ConferenceSummary, new_conference_id
from server.storage.erasure import ERASED_TABLES, ErasedConference, ErasureMixin, Scrubbed
from server.storage.errors import DatabaseError, DuplicateEmail, NotFound, Reason, StoreError
from server.storage.followups import FollowUpsMixin, Recipient, RemindersMixin
from server.storage.invitations import InvitationsMixin
from server.storage.leases import LeasesMixin
from server.storage.meeting import MeetingMixin, PlanMixin
from server.storage.participants import (
    AdmissionMixin,
    InvitationMatch,
    ParticipantRow,
    ParticipantsMixin,
    SupportersChange,
)
from server.storage.practical import PracticalMixin
from server.storage.twofactor import AccountFactor, TwoFactorMixin

__all__ = [
    "ERASED_TABLES",
    "AccountFactor",
    "AccountLinkMatch",
    "ConferenceSummary",
    "DatabaseError",
    "DuplicateEmail",
    "ErasedConference",
    "InvitationMatch",
    "LinkUsed",
    "NotFound",
    "ParticipantRow",
    "Reason",
    "Recipient",
    "Scrubbed",
    "SessionMatch",
    "Store",
    "StoreError",
    "SupportersChange",
    "create_engine",
    "new_conference_id",
]


class Store(
    AccountsMixin,
    SessionsMixin,
    AdministrationMixin,
    ConferencesMixin,
    ParticipantsMixin,
    AdmissionMixin,
    InvitationsMixin,
    MeetingMixin,
    PlanMixin,
    FollowUpsMixin,
    RemindersMixin,
    PracticalMixin,
    TwoFactorMixin,
    AuditMixin,
    ErasureMixin,
    LeasesMixin,
):
    """Async access to the database. One instance per process."""
