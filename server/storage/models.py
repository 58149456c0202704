"""SQLAlchemy tables. Only ``server/storage/`` queries them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.rules.invitations import STATUSES

ACCOUNT_ROLES = ("coordinator", "admin")
# How a personal link was handed out. A person may hold several working links, each saying
# how it was handed out; a card printed for the door adds one and ends none, and so does each
# hand-out from the invitation page (rules/handout.py CHANNELS: the device's share sheet,
# WhatsApp, SMS, a mail, a printed letter).
LINK_CHANNELS = ("message", "card", "mail", "share", "whatsapp", "sms", "letter")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Account(Base):
    """A coordinator's (or admin's) login. Families and professionals have no account."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="coordinator")
    # The language the coordinator chose for Kring ("nl", "en"); None: never chose.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How people whose link ended reach the coordinator (named on that link's page); each
    # may be empty. Set by the coordinator on "Mijn contactgegevens".
    contact_phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Turned off by an admin: no login, no session, no link works until turned on again.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


ACCOUNT_LINK_PURPOSES = ("invite", "reset")


class AccountLink(Base):
    """A one-time link to set an account's password: an invitation (the first password; an
    invited co-coordinator then joins ``conference_id``) or a reset. Only the token's keyed
    hash is stored, so a link is shown (or mailed) once."""

    __tablename__ = "account_link"
    __table_args__ = (
        CheckConstraint("purpose IN ('invite', 'reset')", name="purpose"),
        Index("ix_account_link_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    conference_id: Mapped[str | None] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(64))  # an actor, as the audit log names it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Conference(Base):
    """One family group conference, from preparation to action team: one live room."""

    __tablename__ = "conference"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    client_name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(20), default="preparation")
    # When the current phase began: a "plan ready" counts only if given since then.
    phase_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When plan version 1 was frozen: from then on there is no way back to private time and
    # the action team is fixed (checked in the same statement that changes either).
    plan_frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    meeting_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    # When the conference itself begins and ends (UTC; typed and shown on the local clock,
    # KRING_TIMEZONE), on ``meeting_date``; both or neither.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The place's address (street, postcode, town), beside its name in ``location``.
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The next action-team meeting, when someone set it; None: six weeks after the last one
    # (or after the plan was agreed), see server/rules/schedule.py.
    next_follow_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The practical side, as the coordinator notes it in preparation: food, childcare, and
    # who brings whom.
    food_notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    childcare_notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    transport_notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Being erased since then, by whom (an audit actor): from that moment every way in refuses
    # it as if it were gone, while its rows are deleted in small steps (storage/erasure.py).
    erasing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    erasing_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


# Where an invitation stands (named for people in rules/invitations.py): the person
# themselves answers "coming" or "not_coming"; the coordinator sets any of them.
INVITATION_STATUSES = STATUSES


class Participant(Base):
    """A person in one conference, with one role. Removed people keep their row for the audit."""

    __tablename__ = "participant"
    __table_args__ = (
        Index("ix_participant_conference", "conference_id"),
        # One participant per person on the network map: a second tap on "invite", or two
        # at the same moment, never makes a second one (removal clears ``map_entry``).
        Index("ux_participant_map_entry", "conference_id", "map_entry", unique=True),
        CheckConstraint(
            "invitation_status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
            name="invitation_status",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), nullable=True)
    privacy_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Chosen at the presentation: members write the plan during the action-team phase.
    action_team: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language this person chose for their pages ("nl", "en"), on every device they use;
    # None: never chose (Dutch).
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Where reminders of the action team's meetings go (optional; families have no account).
    # Only the coordinator sees it.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Noted by the coordinator: this person is at the conference itself (the copy counts
    # who agreed among those present).
    present_at_conference: Mapped[bool] = mapped_column(Boolean, default=False)
    # Chosen by the client (network members only): fills in the network compass with them
    # during the preparation and reads it afterwards (rules/phases.py).
    supporter: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The entry of the compass's network map this person was invited from (None: added by
    # hand, or from a proposal of the family).
    map_entry: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # One of INVITATION_STATUSES, with the coordinator's own note (never shown to others),
    # and when the person last answered "coming" / "not coming" themselves (None: the status
    # is the coordinator's, or nobody answered).
    invitation_status: Mapped[str] = mapped_column(
        String(16), default="to_invite", server_default=text("'to_invite'")
    )
    invitation_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    invitation_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The practical side, noted by the coordinator in preparation: the language this person
    # needs an interpreter for ("" none; free text such as "Arabisch" or "NGT") and whether
    # one is arranged; for a child (``age`` 0-17; None: an adult) the adult participant of the
    # same conference who supports the child at the meeting.
    interpreter_language: Mapped[str] = mapped_column(String(100), default="", server_default="")
    interpreter_arranged: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), nullable=True
    )


class Invitation(Base):
    """A personal link. Only the token's keyed hash is stored, so a link is shown once."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_participant", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # One of LINK_CHANNELS: how this link was handed out (the participant list says so).
    channel: Mapped[str] = mapped_column(String(16), server_default=text("'message'"))


class Session(Base):
    """A logged-in browser: a coordinator's account, or a participant through an invitation."""

    __tablename__ = "session"
    # AUTOINCREMENT: open connections are checked against their session by id, so SQLite
    # must never hand a deleted session's id to a new sign-in.
    __table_args__ = (
        CheckConstraint("admission IN ('in', 'waiting', 'refused')", name="admission"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), nullable=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A participant's device that first signs in during private time waits until the family
    # lets it in ("in") or not now ("refused"); every other sign-in is "in".
    admission: Mapped[str] = mapped_column(String(16), server_default=text("'in'"))
    admission_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # an actor
    admission_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """Something that happened to a conference or an account, for the coordinator's audit log."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_conference", "conference_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str | None] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)


# 64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the (64-bit) rowid.
LogId = BigInteger().with_variant(Integer(), "sqlite")


class DocUpdate(Base):
    """One committed Yjs update of one document: the append-only log, folded into snapshots."""

    __tablename__ = "doc_update"
    # AUTOINCREMENT: SQLite must never reuse the id of a row a compaction deleted, or a new
    # update could get an id at or below the snapshot's upto_id and be skipped on load.
    __table_args__ = (
        Index("ix_doc_update_document", "conference_id", "document", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    document: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocSnapshot(Base):
    """A document's state up to and including log entry ``upto_id`` (``Doc.get_update()``,
    with any update that still waits for a missing one merged in: then not complete)."""

    __tablename__ = "doc_snapshot"

    conference_id: Mapped[str] = mapped_column(
        ForeignKey("conference.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[str] = mapped_column(String(20), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    upto_id: Mapped[int] = mapped_column(LogId)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Nothing in it waits for a missing update (when this is upto_id: a process that folds
    # without knowing of it leaves it behind): it may be sent to a device as it is stored.
    complete_upto: Mapped[int | None] = mapped_column(LogId, nullable=True)


class LoginThrottle(Base):
    """Recent login attempts per email address, so guessing passwords is limited."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


CONDITION_STATUSES = ("met", "not_met")
SIGNAL_KINDS = ("question", "plan_ready", "plan_withdrawn", "override", "back")
ANSWERS = ("agree", "not_yet")


class Condition(Base):
    """A condition a mandated professional sets for the plan; only they check it."""

    __tablename__ = "condition"
    __table_args__ = (Index("ix_condition_conference", "conference_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    remark: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Signal(Base):
    """The family's "we have a question" / "plan ready" (and "plan_withdrawn": they took their
    "plan ready" back before the coordinator acted on it), the coordinator's override of
    private time, or a move back from the presentation to private time ("back"; its text
    names the conditions judged not met), each with its reason shown to the family."""

    __tablename__ = "signal"
    __table_args__ = (Index("ix_signal_conference", "conference_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClarifyingQuestion(Base):
    """A question the coordinator asked at the presentation, to make the plan clear."""

    __tablename__ = "clarifying_question"
    __table_args__ = (Index("ix_clarifying_question_conference", "conference_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanAnswer(Base):
    """Whether one participant agrees with the plan as presented ("agree" or "not_yet"):
    given by that person on their own page (``recorded_by`` None), or noted by the
    coordinator for someone without a device (``recorded_by`` the coordinator's actor). A
    person's own answer always replaces a noted one; a noted one never replaces their own."""

    __tablename__ = "plan_answer"
    __table_args__ = (UniqueConstraint("participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(10))
    remark: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str | None] = mapped_column(String(300), nullable=True)

    @property
    def by_coordinator(self) -> bool:
        return self.recorded_by is not None


class PlanVersion(Base):
    """A frozen plan: version 1 is the plan as agreed at the presentation. Never updated.

    ``content`` holds everything its copy shows (question, agreements, conditions and their
    status, who agreed, the action team), so later changes never alter a version;
    ``state`` is the plan document's Yjs state at that moment.
    """

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("conference_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the outcomes count of its agreements (server/rules/outcomes.py's summarise), so the
    # organisation's dashboard reads a few bytes per version, not whole plans.
    summary: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300))


class FollowUp(Base):
    """An action-team meeting after the conference: who came, and the plan version it froze
    when it was closed (``version_number``; None while it is open). Never reopened."""

    __tablename__ = "follow_up"
    __table_args__ = (
        UniqueConstraint("conference_id", "number"),
        # At most one open meeting per conference, whoever starts one at the same moment.
        Index(
            "ux_follow_up_open",
            "conference_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in this conference
    due_on: Mapped[date] = mapped_column(Date)  # when it was due when it was started
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by: Mapped[str] = mapped_column(String(300))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    version_number: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FollowUpAttendance(Base):
    """Someone who was at an action-team meeting."""

    __tablename__ = "follow_up_attendance"

    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True
    )


RATING_SCORES = range(1, 11)  # 1..10, as in the research the outcomes are compared with


class Rating(Base):
    """One participant's marks (1-10) for a meeting and for the plan: at the presentation
    (``occasion`` 0, the conference itself) or at follow-up meeting N (``occasion`` N).
    A new rating for the same occasion replaces the earlier one."""

    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("conference_id", "participant_id", "occasion"),
        CheckConstraint("meeting_score BETWEEN 1 AND 10", name="meeting_score"),
        CheckConstraint("plan_score BETWEEN 1 AND 10", name="plan_score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    occasion: Mapped[int] = mapped_column(Integer)  # 0: the presentation; N: follow-up N
    meeting_score: Mapped[int] = mapped_column(Integer)
    plan_score: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSent(Base):
    """A reminder of a follow-up meeting that went (or is going) to one person: claimed
    before sending, deleted again if sending fails, so each person gets one per due date
    however many processes or cron runs try."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("conference_id", "recipient", "due_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(40))  # "participant:12" or "account:3"
    due_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConferenceQuestion(Base):
    """A question the client marked in the compass for the conference ("to_conference"),
    copied when the meeting moves from preparation to information, so the information phase
    shows it to everyone while the rest of the compass stays the client's. Copied once, in
    the compass's order (``position`` 1, 2, ...); never changed afterwards."""

    __tablename__ = "conference_question"
    __table_args__ = (UniqueConstraint("conference_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


PROPOSAL_DECISIONS = ("invited", "declined")


class InvitationProposal(Base):
    """Someone the family proposes to invite (a name, how they know them, why): the
    coordinator invites them (``participant_id``: who they became) or not now, with a reason
    the proposer reads. Never changed after the decision."""

    __tablename__ = "invitation_proposal"
    __table_args__ = (
        Index("ix_invitation_proposal_conference", "conference_id", "id"),
        CheckConstraint("decision IN ('invited', 'declined')", name="decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[str] = mapped_column(ForeignKey("conference.id", ondelete="CASCADE"))
    proposed_by: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str] = mapped_column(String(200), default="")
    why: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None while the coordinator has not decided; then one of PROPOSAL_DECISIONS.
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(300), nullable=True)  # an actor
    reason: Mapped[str] = mapped_column(Text, default="")  # why not now (may be empty)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), nullable=True
    )


# Every foreign key has an index that starts with its columns. Deleting a row makes the
# database look up the rows that refer to it (to cascade, set null or refuse); without such an
# index that is a scan of the whole referring table per deleted row, under the write lock: an
# erasure's 15 participants took 250 ms in an organisation of 2,000 conferences, and every
# family's edit waited behind it. tests/storage/test_migrations.py checks none is missing.
FOREIGN_KEY_INDEXES = (
    Index("ix_conference_owner", Conference.owner_id),
    Index("ix_account_link_conference", AccountLink.conference_id),
    Index("ix_participant_account", Participant.account_id),
    Index("ix_participant_supported_by", Participant.supported_by_id),
    Index("ix_session_account", Session.account_id),
    Index("ix_session_invitation", Session.invitation_id),
    Index("ix_condition_participant", Condition.participant_id),
    Index("ix_signal_participant", Signal.participant_id),
    Index("ix_plan_answer_conference", PlanAnswer.conference_id),
    Index("ix_follow_up_attendance_participant", FollowUpAttendance.participant_id),
    Index("ix_rating_participant", Rating.participant_id),
    Index("ix_invitation_proposal_proposed_by", InvitationProposal.proposed_by),
    Index("ix_invitation_proposal_participant", InvitationProposal.participant_id),
)

# The instance's own rows: second factors, logins halfway, instance settings, leases.
from server.storage.instance_models import (  # noqa: E402  (they build on Base, above)
    LOGIN_STEPS as LOGIN_STEPS,
)
from server.storage.instance_models import InstanceSetting as InstanceSetting  # noqa: E402
from server.storage.instance_models import Lease as Lease  # noqa: E402
from server.storage.instance_models import LoginStep as LoginStep  # noqa: E402
from server.storage.instance_models import RecoveryCode as RecoveryCode  # noqa: E402
from server.storage.instance_models import SecondFactor as SecondFactor  # noqa: E402
