"""The only module that speaks SQL: async functions over Kring's tables.

One code path for SQLite (aiosqlite, WAL, synchronous=FULL) and PostgreSQL (asyncpg); the
dialect is configuration. Functions return detached ORM rows (``expire_on_commit=False``),
which callers treat as read-only values.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Delete,
    Select,
    Text,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from server.i18n import _
from server.rules.outcomes import (
    Average,
    ConferenceFacts,
    Ratings,
    VersionFacts,
    summarise,
    versions_needed,
)
from server.rules.phases import PHASES
from server.storage.models import (
    ANSWERS,
    CONDITION_STATUSES,
    RATING_SCORES,
    SIGNAL_KINDS,
    Account,
    AuditEvent,
    ClarifyingQuestion,
    Condition,
    Conference,
    DocSnapshot,
    DocUpdate,
    FollowUp,
    FollowUpAttendance,
    Invitation,
    LoginThrottle,
    Participant,
    PlanAnswer,
    PlanVersion,
    Rating,
    ReminderSent,
    Session,
    Signal,
    UTCDateTime,
    utcnow,
)

LOGIN_WINDOW = timedelta(minutes=15)
BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_BUSY_TIMEOUT_MS = 1_000  # per attempt: wait this long for readers to move on
AUDIT_COALESCE = timedelta(minutes=15)
ID_BATCH = 1000  # ids named in one statement (databases bound their parameters)


class StoreError(Exception):
    """A request the data cannot satisfy (the message is safe to show)."""


class DuplicateEmail(StoreError):
    pass


class NotFound(StoreError):
    pass


@dataclass(frozen=True)
class ParticipantRow:
    """A participant with what the coordinator needs to know about their link."""

    participant: Participant
    has_link: bool
    link_created_at: datetime | None
    link_last_used_at: datetime | None


@dataclass(frozen=True)
class ConferenceSummary:
    conference: Conference
    participant_count: int
    last_follow_up_at: datetime | None = None  # when the action team last closed a meeting


@dataclass(frozen=True)
class Recipient:
    """Someone who gets reminders of a conference's follow-up meetings by mail."""

    key: str  # "account:3" or "participant:12": one reminder per key and due date
    name: str
    email: str
    language: str | None
    coordinator: bool


@dataclass(frozen=True)
class InvitationMatch:
    invitation: Invitation
    participant: Participant
    conference: Conference


@dataclass(frozen=True)
class ErasedConference:
    """What an erasure removed: the conference's id, when it had closed, rows per table."""

    conference_id: str
    closed_at: datetime | None
    rows: dict[str, int]


@dataclass(frozen=True)
class Scrubbed:
    """Whether the database's files were cleaned of deleted rows, and how (for the log)."""

    done: bool
    how: str


@dataclass(frozen=True)
class SessionMatch:
    session: Session
    account: Account | None
    invitation: InvitationMatch | None


def create_engine(database_url: str) -> AsyncEngine:
    """Make the engine; SQLite connections get WAL, synchronous=FULL and foreign keys."""
    if database_url.startswith("sqlite"):
        # hide_parameters: a failing statement must not put document content in the log.
        engine = create_async_engine(
            database_url, connect_args={"timeout": 30}, hide_parameters=True
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # Deleted content is overwritten with zeros, so an erased conference is gone from
            # the file too, not only from the tables (costs little: see erase_conference).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_async_engine(database_url, pool_pre_ping=True, hide_parameters=True)


def _rowcount(result: Any) -> int:
    count: int = result.rowcount
    return count


def new_conference_id() -> str:
    """An id for URLs: short, but not guessable by counting."""
    return secrets.token_urlsafe(9)


def _active_participant(conference_id: str, participant_id: int) -> Select[Participant]:
    """A participant of this conference (never of another one) who was not removed."""
    return select(Participant).where(
        Participant.id == participant_id,
        Participant.conference_id == conference_id,
        Participant.removed_at.is_(None),
    )


def _visible_to(account: Account, query: Select[Any], own_only: bool = False) -> Select[Any]:
    """Only the conferences ``account`` runs or co-runs (an admin's: all of them, unless
    ``own_only``)."""
    if account.role == "admin" and not own_only:
        return query
    co_coordinated = select(Participant.conference_id).where(
        Participant.account_id == account.id, Participant.removed_at.is_(None)
    )
    return query.where((Conference.owner_id == account.id) | Conference.id.in_(co_coordinated))


def _invitation_with_people() -> Select[Invitation, Participant, Conference]:
    return (
        select(Invitation, Participant, Conference)
        .join(Participant, Participant.id == Invitation.participant_id)
        .join(Conference, Conference.id == Participant.conference_id)
    )


class Store:
    """Async access to the database. One instance per process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, database_url: str) -> Store:
        return cls(create_engine(database_url))

    async def close(self) -> None:
        await self.engine.dispose()

    async def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None if it was never migrated."""
        async with self.engine.connect() as conn:
            try:
                result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except Exception:  # the table does not exist yet
                return None
            row = result.first()
            return None if row is None else str(row[0])

    async def is_empty(self) -> bool:
        async with self._sessions() as db:
            count = await db.scalar(select(func.count()).select_from(Conference))
            return not count

    # -- accounts -------------------------------------------------------------------------

    async def create_account(
        self, email: str, name: str, password_hash: str, role: str = "coordinator"
    ) -> Account:
        account = Account(
            email=email.strip().lower(), name=name, password_hash=password_hash, role=role
        )
        async with self._sessions() as db:
            db.add(account)
            try:
                await db.commit()
            except IntegrityError:
                raise DuplicateEmail(f"an account for {account.email} already exists") from None
        return account

    async def account_by_email(self, email: str) -> Account | None:
        async with self._sessions() as db:
            return await db.scalar(select(Account).where(Account.email == email.strip().lower()))

    async def account(self, account_id: int) -> Account | None:
        async with self._sessions() as db:
            return await db.get(Account, account_id)

    async def set_password(self, email: str, password_hash: str) -> bool:
        """Replace the password and end every session of that account."""
        async with self._sessions() as db:
            account = await db.scalar(select(Account).where(Account.email == email.strip().lower()))
            if account is None:
                return False
            account.password_hash = password_hash
            await db.execute(delete(Session).where(Session.account_id == account.id))
            await db.commit()
            return True

    # -- login throttling -----------------------------------------------------------------

    async def count_login_attempt(self, key: str, now: datetime) -> int:
        """Count a login attempt for an address before its password is checked.

        Returns the number of attempts in the current window (LOGIN_WINDOW). The increment is
        one atomic statement, so parallel guesses cannot all slip under the limit.
        """
        stale = LoginThrottle.window_start < literal(now - LOGIN_WINDOW, UTCDateTime)
        bump = (
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(
                failures=case((stale, 1), else_=LoginThrottle.failures + 1),
                window_start=case(
                    (stale, literal(now, UTCDateTime)), else_=LoginThrottle.window_start
                ),
            )
            .returning(LoginThrottle.failures)
        )
        for _round in range(2):  # the second round runs only if another request made the row first
            async with self._sessions() as db:
                attempts = await db.scalar(bump)
                if attempts is None:
                    db.add(LoginThrottle(key=key, failures=1, window_start=now))
                    attempts = 1
                try:
                    await db.commit()
                    return int(attempts)
                except IntegrityError:
                    await db.rollback()
        raise StoreError("could not count the login attempt")

    async def uncount_login_attempt(self, key: str) -> None:
        """Take back one counted attempt (it succeeded), leaving the others."""
        async with self._sessions() as db:
            await db.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key, LoginThrottle.failures > 0)
                .values(failures=LoginThrottle.failures - 1)
            )
            await db.commit()

    async def clear_login_failures(self, key: str) -> None:
        async with self._sessions() as db:
            await db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
            await db.commit()

    # -- conferences ----------------------------------------------------------------------

    async def create_conference(
        self,
        owner: Account,
        client_name: str,
        question: str,
        meeting_date: date | None = None,
        location: str = "",
        phase: str = "preparation",
    ) -> Conference:
        """Create a conference; its coordinator gets a participant row with role coordinator."""
        conference = Conference(
            id=new_conference_id(),
            owner_id=owner.id,
            client_name=client_name,
            question=question,
            meeting_date=meeting_date,
            location=location,
            phase=phase,
            closed_at=utcnow() if phase == "closed" else None,
        )
        async with self._sessions() as db:
            db.add(conference)
            await db.flush()
            db.add(
                Participant(
                    conference_id=conference.id,
                    name=owner.name,
                    role="coordinator",
                    account_id=owner.id,
                )
            )
            await db.commit()
        return conference

    async def conference(self, conference_id: str) -> Conference | None:
        async with self._sessions() as db:
            return await db.get(Conference, conference_id)

    async def update_conference(self, conference_id: str, **fields: Any) -> Conference:
        allowed = {"client_name", "question", "meeting_date", "location"}
        if not set(fields) <= allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        async with self._sessions() as db:
            conference = await db.get(Conference, conference_id)
            if conference is None:
                raise NotFound("conference not found")
            for name, value in fields.items():
                setattr(conference, name, value)
            conference.updated_at = utcnow()
            await db.commit()
            return conference

    async def set_phase(self, conference_id: str, phase: str) -> Conference:
        """Store the phase. (Which transitions are legal is rooms/phases.py's business.)"""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        async with self._sessions() as db:
            conference = await db.get(Conference, conference_id)
            if conference is None:
                raise NotFound("conference not found")
            conference.phase = phase
            conference.phase_since = conference.updated_at = utcnow()
            conference.closed_at = conference.updated_at if phase == "closed" else None
            await db.commit()
            return conference

    async def change_phase(
        self,
        conference_id: str,
        expected: str,
        phase: str,
        *,
        override_reason: str | None = None,
        back_reason: str | None = None,
    ) -> Conference | None:
        """Move the phase from ``expected`` to ``phase`` in one statement; None if the phase
        was no longer ``expected`` (another coordinator moved it first), or if the move is back
        to private time and the plan was frozen meanwhile. An override of private time is
        stored with it, in the same transaction, so the family always sees its reason; so is
        the reason of a move back from the presentation (``back_reason``)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        now = utcnow()
        conditions = [Conference.id == conference_id, Conference.phase == expected]
        if phase == "private_time":
            conditions.append(Conference.plan_frozen_at.is_(None))
        async with self._sessions() as db:
            # RETURNING: the commit is the last thing awaited, so the caller can apply the
            # phase to open connections right after it, with nothing in between.
            conference: Conference | None = await db.scalar(
                update(Conference)
                .where(*conditions)
                .values(
                    phase=phase,
                    phase_since=now,
                    updated_at=now,
                    closed_at=now if phase == "closed" else None,
                )
                .returning(Conference)
            )
            if conference is None:
                await db.rollback()
                return None
            if override_reason is not None:
                db.add(
                    Signal(
                        conference_id=conference_id,
                        participant_id=None,
                        kind="override",
                        text=override_reason,
                        at=now,
                    )
                )
            if back_reason is not None:
                db.add(
                    Signal(
                        conference_id=conference_id,
                        participant_id=None,
                        kind="back",
                        text=back_reason,
                        at=now,
                    )
                )
            await db.commit()
            return conference

    async def _lock_presentation(
        self, db: Any, conference_id: str, freeze: bool, refusal: str
    ) -> None:
        """Within ``db``'s transaction: make sure the conference is still at the presentation
        with its plan not frozen (and freeze it), or raise StoreError. The update locks the
        row, so a concurrent phase change waits for this transaction and then sees it."""
        now = utcnow()
        values: dict[str, Any] = {"updated_at": now}
        if freeze:
            values["plan_frozen_at"] = now
        result = await db.execute(
            update(Conference)
            .where(
                Conference.id == conference_id,
                Conference.phase == "presentation",
                Conference.plan_frozen_at.is_(None),
            )
            .values(**values)
        )
        if _rowcount(result) != 1:
            raise StoreError(refusal)

    async def conferences_for(
        self, account: Account, *, own_only: bool = False
    ) -> list[ConferenceSummary]:
        """The conferences an account runs or co-runs (an admin sees all, unless
        ``own_only``), newest first."""
        count = (
            select(func.count(Participant.id))
            .where(Participant.conference_id == Conference.id, Participant.removed_at.is_(None))
            .scalar_subquery()
        )
        last_meeting = (
            select(func.max(FollowUp.closed_at))
            .where(FollowUp.conference_id == Conference.id)
            .scalar_subquery()
        )
        query = _visible_to(
            account,
            select(Conference, count, last_meeting).order_by(Conference.created_at.desc()),
            own_only=own_only,
        )
        async with self._sessions() as db:
            rows = (await db.execute(query)).all()
        return [
            ConferenceSummary(
                conference=c,
                participant_count=n,
                last_follow_up_at=_utc(last) if isinstance(last, datetime) else None,
            )
            for c, n, last in rows
        ]

    async def outcome_facts(self, account: Account) -> list[ConferenceFacts]:
        """What the outcomes dashboard counts, for every conference ``account`` may see
        (newest first): its people (the coordinator not counted), its plan versions and the
        marks given (summed in SQL). Three queries, however many conferences."""
        people = (
            select(func.count(Participant.id))
            .where(
                Participant.conference_id == Conference.id,
                Participant.removed_at.is_(None),
                Participant.role != "coordinator",
            )
            .scalar_subquery()
        )
        query = _visible_to(
            account,
            select(Conference.id, Conference.client_name, Conference.phase, people).order_by(
                Conference.created_at.desc()
            ),
        )
        visible = _visible_to(account, select(Conference.id))
        async with self._sessions() as db:
            conferences = (await db.execute(query)).all()
            ratings: dict[str, Ratings] = {row[0]: Ratings() for row in conferences}
            # Versions pile up over the months, and only two of each plan are counted: the
            # summaries come as text and only those two are decoded.
            frozen: dict[str, list[tuple[int, datetime, str]]] = {i: [] for i in ratings}
            for cid, number, at, summary in await db.execute(
                select(
                    PlanVersion.conference_id,
                    PlanVersion.number,
                    PlanVersion.created_at,
                    cast(PlanVersion.summary, Text),
                ).where(PlanVersion.conference_id.in_(visible))
            ):
                frozen[cid].append((number, at, summary))
            followed_up = case((Rating.occasion > 0, 1), else_=0)
            for cid, later, count, meeting, plan in await db.execute(
                select(
                    Rating.conference_id,
                    followed_up,
                    func.count(),
                    func.sum(Rating.meeting_score),
                    func.sum(Rating.plan_score),
                )
                .where(Rating.conference_id.in_(visible))
                .group_by(Rating.conference_id, followed_up)
            ):
                meetings, plans = Average(count, int(meeting)), Average(count, int(plan))
                ratings[cid] += (
                    Ratings(follow_ups=meetings, plan_followed_up=plans)
                    if later
                    else Ratings(conference=meetings, plan_presented=plans)
                )
        versions: dict[str, list[VersionFacts]] = {}
        for cid, stored in frozen.items():
            needed = versions_needed([(number, at) for number, at, _summary in stored])
            versions[cid] = [
                VersionFacts(number, at, json.loads(summary))
                for number, at, summary in stored
                if number in needed
            ]
        return [
            ConferenceFacts(cid, name, phase, count or 0, versions[cid], ratings[cid])
            for cid, name, phase, count in conferences
        ]

    async def is_coordinator_of(self, conference_id: str, account_id: int) -> bool:
        async with self._sessions() as db:
            found = await db.scalar(
                select(Participant.id).where(
                    Participant.conference_id == conference_id,
                    Participant.account_id == account_id,
                    Participant.role == "coordinator",
                    Participant.removed_at.is_(None),
                )
            )
            return found is not None

    # -- participants ---------------------------------------------------------------------

    async def add_participant(
        self,
        conference_id: str,
        name: str,
        role: str,
        account_id: int | None = None,
        email: str | None = None,
    ) -> Participant:
        participant = Participant(
            conference_id=conference_id, name=name, role=role, account_id=account_id, email=email
        )
        async with self._sessions() as db:
            db.add(participant)
            await db.commit()
        return participant

    async def participant(self, conference_id: str, participant_id: int) -> Participant | None:
        """An active participant of this conference (never one of another conference)."""
        async with self._sessions() as db:
            return await db.scalar(_active_participant(conference_id, participant_id))

    async def participants(
        self, conference_id: str, *, include_removed: bool = False
    ) -> list[ParticipantRow]:
        """Active participants (and with ``include_removed`` the removed ones too) in the
        order they were added, with their link's state."""
        # A person may hold several links (each "new link" adds one): one row per person,
        # with the newest link's date and the last time any of them was used.
        active = (
            select(
                Invitation.participant_id,
                func.max(Invitation.created_at).label("created_at"),
                func.max(Invitation.last_used_at).label("last_used_at"),
            )
            .where(Invitation.revoked_at.is_(None))
            .group_by(Invitation.participant_id)
            .subquery()
        )
        query = (
            select(Participant, active.c.created_at, active.c.last_used_at)
            .outerjoin(active, active.c.participant_id == Participant.id)
            .where(Participant.conference_id == conference_id)
            .order_by(Participant.id)
        )
        if not include_removed:
            query = query.where(Participant.removed_at.is_(None))
        async with self._sessions() as db:
            rows = (await db.execute(query)).all()
        return [
            ParticipantRow(
                participant=p,
                has_link=created is not None,
                link_created_at=created,
                link_last_used_at=used,
            )
            for p, created, used in rows
        ]

    async def remove_participant(self, conference_id: str, participant_id: int) -> Participant:
        """Mark someone removed, revoke their link and end their sessions on every device."""
        now = utcnow()
        async with self._sessions() as db:
            participant = await db.scalar(_active_participant(conference_id, participant_id))
            if participant is None:
                raise NotFound("participant not found")
            participant.removed_at = now
            await self._revoke(db, participant_id, now)
            await db.commit()
            return participant

    async def set_participant_email(
        self, conference_id: str, participant_id: int, email: str | None
    ) -> None:
        """Where this participant's reminders go (None: nowhere)."""
        async with self._sessions() as db:
            result = await db.execute(
                update(Participant)
                .where(
                    Participant.id == participant_id,
                    Participant.conference_id == conference_id,
                    Participant.removed_at.is_(None),
                )
                .values(email=email)
            )
            if _rowcount(result) != 1:
                await db.rollback()
                raise NotFound("participant not found")
            await db.commit()

    async def mark_privacy_seen(self, participant_id: int) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Participant)
                .where(Participant.id == participant_id, Participant.privacy_seen_at.is_(None))
                .values(privacy_seen_at=utcnow())
            )
            await db.commit()

    # -- languages ------------------------------------------------------------------------

    async def set_participant_language(self, participant_id: int, language: str) -> None:
        """Remember the language a participant chose (for every device they use)."""
        async with self._sessions() as db:
            await db.execute(
                update(Participant)
                .where(Participant.id == participant_id)
                .values(language=language)
            )
            await db.commit()

    async def set_account_language(self, account_id: int, language: str) -> None:
        """Remember the language a coordinator chose (for every login)."""
        async with self._sessions() as db:
            await db.execute(
                update(Account).where(Account.id == account_id).values(language=language)
            )
            await db.commit()

    # -- invitations ----------------------------------------------------------------------

    async def issue_invitation(
        self, participant_id: int, token_hash: str, expires_at: datetime | None = None
    ) -> Invitation:
        """Give a participant one more link; their earlier links keep working (revoking
        ends them all)."""
        now = utcnow()
        async with self._sessions() as db:
            invitation = Invitation(
                participant_id=participant_id,
                token_hash=token_hash,
                created_at=now,
                expires_at=expires_at,
            )
            db.add(invitation)
            await db.commit()
        return invitation

    async def revoke_invitation(self, participant_id: int) -> int:
        """Revoke all of a participant's links and end their sessions; returns how many
        were revoked."""
        async with self._sessions() as db:
            revoked = await self._revoke(db, participant_id, utcnow())
            await db.commit()
            return revoked

    @staticmethod
    async def _revoke(db: Any, participant_id: int, now: datetime) -> int:
        ids = (
            await db.scalars(
                select(Invitation.id).where(
                    Invitation.participant_id == participant_id, Invitation.revoked_at.is_(None)
                )
            )
        ).all()
        if ids:
            await db.execute(
                update(Invitation).where(Invitation.id.in_(ids)).values(revoked_at=now)
            )
            await db.execute(delete(Session).where(Session.invitation_id.in_(ids)))
        return len(ids)

    async def expire_invitation(self, participant_id: int, expires_at: datetime) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Invitation)
                .where(Invitation.participant_id == participant_id, Invitation.revoked_at.is_(None))
                .values(expires_at=expires_at)
            )
            await db.commit()

    async def invitation_by_hash(self, token_hash: str) -> InvitationMatch | None:
        async with self._sessions() as db:
            row = (
                await db.execute(
                    _invitation_with_people().where(Invitation.token_hash == token_hash)
                )
            ).first()
        if row is None:
            return None
        return InvitationMatch(invitation=row[0], participant=row[1], conference=row[2])

    async def first_invitation(self, participant_id: int) -> InvitationMatch | None:
        """A participant's oldest link that was not revoked: what their calendar feed's key
        is made over, so a new link leaves the feed alone and revoking them all ends it."""
        query = (
            _invitation_with_people()
            .where(Invitation.participant_id == participant_id, Invitation.revoked_at.is_(None))
            .order_by(Invitation.id)
            .limit(1)
        )
        async with self._sessions() as db:
            row = (await db.execute(query)).first()
        return None if row is None else InvitationMatch(row[0], row[1], row[2])

    async def touch_invitation(self, invitation_id: int) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id)
                .values(last_used_at=utcnow())
            )
            await db.commit()

    # -- sessions -------------------------------------------------------------------------

    async def create_session(
        self,
        token_hash: str,
        *,
        account_id: int | None = None,
        invitation_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> Session:
        if (account_id is None) == (invitation_id is None):
            raise ValueError("a session belongs to exactly one account or one invitation")
        session = Session(
            token_hash=token_hash,
            account_id=account_id,
            invitation_id=invitation_id,
            expires_at=expires_at,
        )
        async with self._sessions() as db:
            db.add(session)
            await db.commit()
        return session

    async def create_participant_session(
        self, token_hash: str, invitation_id: int, vouched_by: str | None = None
    ) -> Session:
        """Sign a device in through a link. While the link's conference is in private time
        the new session waits for the family's admission; the phase is read in the very
        statement that inserts it, so no sign-in slips in around a phase change.
        ``vouched_by``: this device is already let in as a family member (that actor), so the
        new sign-in is in too (a shared tablet switching person)."""
        phase = (
            select(Conference.phase)
            .join(Participant, Participant.conference_id == Conference.id)
            .join(Invitation, Invitation.participant_id == Participant.id)
            .where(Invitation.id == invitation_id)
            .scalar_subquery()
        )
        admission: Any = case((phase == "private_time", "waiting"), else_="in")
        vouched: dict[str, Any] = {}
        if vouched_by is not None:
            admission = "in"
            vouched = {"admission_by": vouched_by, "admission_at": utcnow()}
        async with self._sessions() as db:
            session_id = await db.scalar(
                insert(Session)
                .values(
                    token_hash=token_hash,
                    invitation_id=invitation_id,
                    created_at=utcnow(),
                    last_seen_at=utcnow(),
                    admission=admission,
                    **vouched,
                )
                .returning(Session.id)
            )
            await db.commit()
            session = await db.get(Session, session_id)
        assert session is not None
        return session

    async def session_by_hash(self, token_hash: str) -> SessionMatch | None:
        """The session with its account or invitation; validity is the caller's decision."""
        async with self._sessions() as db:
            session = await db.scalar(select(Session).where(Session.token_hash == token_hash))
            if session is None:
                return None
            if session.account_id is not None:
                account = await db.get(Account, session.account_id)
                return SessionMatch(session=session, account=account, invitation=None)
            row = (
                await db.execute(
                    _invitation_with_people().where(Invitation.id == session.invitation_id)
                )
            ).first()
        match = None if row is None else InvitationMatch(row[0], row[1], row[2])
        return SessionMatch(session=session, account=None, invitation=match)

    async def extend_session(self, session_id: int, expires_at: datetime | None) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Session)
                .where(Session.id == session_id)
                .values(last_seen_at=utcnow(), expires_at=expires_at)
            )
            await db.commit()

    async def delete_expired_sessions(self, now: datetime) -> int:
        """Forget sessions past their expiry (participant sessions end with their link)."""
        async with self._sessions() as db:
            result = await db.execute(
                delete(Session).where(Session.expires_at.is_not(None), Session.expires_at <= now)
            )
            await db.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def delete_session(self, token_hash: str) -> int | None:
        """End one sign-in; returns its id (None: there was none)."""
        async with self._sessions() as db:
            session_id = await db.scalar(
                delete(Session).where(Session.token_hash == token_hash).returning(Session.id)
            )
            await db.commit()
            return session_id

    async def sessions_by_id(self, ids: Collection[int]) -> dict[int, SessionMatch]:
        """The sessions of these ids that still exist, with their account or invitation
        (validity is the caller's decision, as with :meth:`session_by_hash`)."""
        if not ids:
            return {}
        # In batches: a statement takes a bounded number of parameters (PostgreSQL 32767).
        wanted = sorted(set(ids))
        sessions: list[Session] = []
        invitations: dict[int, InvitationMatch] = {}
        async with self._sessions() as db:
            for start in range(0, len(wanted), ID_BATCH):
                batch = wanted[start : start + ID_BATCH]
                found = (await db.scalars(select(Session).where(Session.id.in_(batch)))).all()
                sessions += found
                links = sorted({s.invitation_id for s in found if s.invitation_id is not None})
                if not links:
                    continue
                query = _invitation_with_people().where(Invitation.id.in_(links))
                for row in (await db.execute(query)).all():
                    invitations[row[0].id] = InvitationMatch(row[0], row[1], row[2])
        return {
            s.id: SessionMatch(
                session=s,
                account=None,
                invitation=invitations.get(s.invitation_id) if s.invitation_id else None,
            )
            for s in sessions
        }

    # -- admission: devices the family lets in during private time -------------------------

    @staticmethod
    def _sessions_of(conference_id: str) -> Select[Session, Participant]:
        """The participants' sign-ins of one conference, with whose they are."""
        return (
            select(Session, Participant)
            .join(Invitation, Invitation.id == Session.invitation_id)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(
                Participant.conference_id == conference_id,
                Participant.removed_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )

    async def waiting_sessions(self, conference_id: str) -> list[tuple[Session, Participant]]:
        """The devices waiting to be let in, in the order they came."""
        query = self._sessions_of(conference_id).where(Session.admission == "waiting")
        async with self._sessions() as db:
            rows = (await db.execute(query.order_by(Session.id))).all()
        return [(row[0], row[1]) for row in rows]

    async def family_sessions(
        self, conference_id: str, roles: Collection[str]
    ) -> list[tuple[Session, Participant]]:
        """The let-in sign-ins of the participants with one of ``roles`` (not expired)."""
        now = utcnow()
        query = self._sessions_of(conference_id).where(
            Session.admission == "in",
            Participant.role.in_(list(roles)),
            Session.expires_at.is_(None) | (Session.expires_at > now),
        )
        async with self._sessions() as db:
            rows = (await db.execute(query.order_by(Participant.id, Session.id))).all()
        return [(row[0], row[1]) for row in rows]

    async def conference_session(
        self, conference_id: str, session_id: int
    ) -> tuple[Session, Participant] | None:
        """One participant's sign-in, if it belongs to this conference."""
        query = self._sessions_of(conference_id).where(Session.id == session_id)
        async with self._sessions() as db:
            row = (await db.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def decide_admission(
        self, conference_id: str, session_id: int, admission: str, actor: str
    ) -> bool:
        """Let a waiting device in (``"in"``) or not now (``"refused"``); False when it was
        not waiting (any more). Whether the device is of this conference is the caller's."""
        if admission not in ("in", "refused"):
            raise ValueError(admission)
        async with self._sessions() as db:
            result = await db.execute(
                update(Session)
                .where(Session.id == session_id, Session.admission == "waiting")
                .values(admission=admission, admission_by=actor, admission_at=utcnow())
            )
            await db.commit()
        return _rowcount(result) == 1

    async def end_session(self, session_id: int) -> bool:
        """End one sign-in by its id (a device the family sent out)."""
        async with self._sessions() as db:
            result = await db.execute(delete(Session).where(Session.id == session_id))
            await db.commit()
        return _rowcount(result) == 1

    async def end_unadmitted_sessions(self, conference_id: str) -> list[int]:
        """Private time is over: end the sign-ins still waiting or not let in, so those
        devices sign in again as usual. Returns their ids."""
        ids = (
            select(Session.id)
            .join(Invitation, Invitation.id == Session.invitation_id)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(Participant.conference_id == conference_id, Session.admission != "in")
        )
        async with self._sessions() as db:
            ended = list((await db.scalars(ids)).all())
            if ended:
                await db.execute(delete(Session).where(Session.id.in_(ended)))
            await db.commit()
        return ended

    # -- audit ----------------------------------------------------------------------------

    async def audit(
        self,
        conference_id: str | None,
        actor: str,
        kind: str,
        detail: dict[str, Any] | None = None,
        *,
        coalesce: bool = False,
    ) -> AuditEvent:
        """Record an event. With ``coalesce``, a repeat of the latest event by the same actor
        (same kind and detail, within AUDIT_COALESCE) raises its count instead of adding a row,
        so a device retrying a refused link is one line in the log, not hundreds."""
        detail = detail or {}
        now = utcnow()
        async with self._sessions() as db:
            if coalesce:
                latest = await db.scalar(
                    select(AuditEvent)
                    .where(AuditEvent.conference_id == conference_id, AuditEvent.actor == actor)
                    .order_by(AuditEvent.id.desc())
                    .limit(1)
                )
                if (
                    latest is not None
                    and latest.kind == kind
                    and latest.detail == detail
                    and now - latest.at < AUDIT_COALESCE
                ):
                    latest.count += 1
                    latest.at = now
                    await db.commit()
                    return latest
            event_row = AuditEvent(
                conference_id=conference_id, actor=actor, kind=kind, detail=detail, at=now
            )
            db.add(event_row)
            await db.commit()
        return event_row

    async def audit_events(self, conference_id: str) -> Sequence[AuditEvent]:
        async with self._sessions() as db:
            return (
                await db.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.conference_id == conference_id)
                    .order_by(AuditEvent.at, AuditEvent.id)
                )
            ).all()

    # -- conditions -----------------------------------------------------------------------

    async def add_condition(self, conference_id: str, participant_id: int, text: str) -> Condition:
        row = Condition(conference_id=conference_id, participant_id=participant_id, text=text)
        async with self._sessions() as db:
            db.add(row)
            await db.commit()
        return row

    async def conditions(self, conference_id: str) -> list[tuple[Condition, Participant]]:
        """Every condition with the professional who set it, in the order they were set."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(Condition, Participant)
                .join(Participant, Participant.id == Condition.participant_id)
                .where(Condition.conference_id == conference_id)
                .order_by(Condition.id)
            )
            return [(c, p) for c, p in rows.all()]

    async def _own_condition(
        self, db: Any, conference_id: str, condition_id: int, participant_id: int
    ) -> Condition:
        row: Condition | None = await db.scalar(
            select(Condition).where(
                Condition.id == condition_id,
                Condition.conference_id == conference_id,
                Condition.participant_id == participant_id,
            )
        )
        if row is None:
            raise NotFound(_("Deze voorwaarde bestaat niet of is door iemand anders gesteld."))
        return row

    async def edit_condition(
        self, conference_id: str, condition_id: int, participant_id: int, text: str
    ) -> Condition:
        async with self._sessions() as db:
            row = await self._own_condition(db, conference_id, condition_id, participant_id)
            row.text = text
            await db.commit()
            return row

    async def delete_condition(
        self, conference_id: str, condition_id: int, participant_id: int
    ) -> None:
        async with self._sessions() as db:
            row = await self._own_condition(db, conference_id, condition_id, participant_id)
            await db.delete(row)
            await db.commit()

    async def check_condition(
        self,
        conference_id: str,
        condition_id: int,
        participant_id: int,
        status: str,
        remark: str,
    ) -> Condition:
        """Mark a condition met / not met; only the professional who set it may."""
        if status not in CONDITION_STATUSES:
            raise ValueError(f"unknown condition status {status!r}")
        async with self._sessions() as db:
            row = await self._own_condition(db, conference_id, condition_id, participant_id)
            row.status, row.remark, row.checked_at = status, remark, utcnow()
            await db.commit()
            return row

    # -- signals, clarifying questions, answers ------------------------------------------------

    async def add_signal(
        self, conference_id: str, participant_id: int | None, kind: str, text: str = ""
    ) -> Signal:
        if kind not in SIGNAL_KINDS:
            raise ValueError(f"unknown signal {kind!r}")
        row = Signal(
            conference_id=conference_id, participant_id=participant_id, kind=kind, text=text
        )
        async with self._sessions() as db:
            db.add(row)
            await db.commit()
        return row

    async def signals(
        self, conference_id: str, since: datetime | None = None
    ) -> list[tuple[Signal, str]]:
        """Signals (oldest first) with the name of who gave them ("" for none)."""
        query = (
            select(Signal, Participant.name)
            .outerjoin(Participant, Participant.id == Signal.participant_id)
            .where(Signal.conference_id == conference_id)
            .order_by(Signal.at, Signal.id)
        )
        if since is not None:
            query = query.where(Signal.at >= since)
        async with self._sessions() as db:
            return [(row, name or "") for row, name in (await db.execute(query)).all()]

    async def add_question(self, conference_id: str, text: str) -> ClarifyingQuestion:
        row = ClarifyingQuestion(conference_id=conference_id, text=text)
        async with self._sessions() as db:
            db.add(row)
            await db.commit()
        return row

    async def questions(self, conference_id: str) -> Sequence[ClarifyingQuestion]:
        async with self._sessions() as db:
            return (
                await db.scalars(
                    select(ClarifyingQuestion)
                    .where(ClarifyingQuestion.conference_id == conference_id)
                    .order_by(ClarifyingQuestion.id)
                )
            ).all()

    async def set_answer(
        self, conference_id: str, participant_id: int, answer: str, remark: str
    ) -> PlanAnswer:
        """A participant's "agree" / "not yet" (a new answer replaces the previous one)."""
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}")
        async with self._sessions() as db:
            row = await db.scalar(
                select(PlanAnswer).where(PlanAnswer.participant_id == participant_id)
            )
            if row is None:
                row = PlanAnswer(conference_id=conference_id, participant_id=participant_id)
                db.add(row)
            row.answer, row.remark, row.at = answer, remark, utcnow()
            await db.commit()
            return row

    async def answers(self, conference_id: str) -> dict[int, PlanAnswer]:
        """Each participant's latest answer, by participant id."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(PlanAnswer).where(PlanAnswer.conference_id == conference_id)
            )
            return {row.participant_id: row for row in rows}

    # -- action team and plan versions ------------------------------------------------------

    async def set_action_team(
        self, conference_id: str, participant_ids: set[int]
    ) -> frozenset[int]:
        """Make exactly these (active, non-coordinator) participants the action team; only at
        the presentation, before the plan is frozen (StoreError otherwise)."""
        async with self._sessions() as db:
            try:
                await self._lock_presentation(
                    db,
                    conference_id,
                    freeze=False,
                    refusal=_(
                        "Het actieteam kies je bij de presentatie, voordat het plan is vastgesteld."
                    ),
                )
            except StoreError:
                await db.rollback()
                raise
            people = (
                await db.scalars(
                    select(Participant).where(
                        Participant.conference_id == conference_id,
                        Participant.removed_at.is_(None),
                        Participant.role != "coordinator",
                    )
                )
            ).all()
            for person in people:
                person.action_team = person.id in participant_ids
            await db.commit()
            return frozenset(p.id for p in people if p.action_team)

    async def action_team(self, conference_id: str) -> frozenset[int]:
        async with self._sessions() as db:
            ids = await db.scalars(
                select(Participant.id).where(
                    Participant.conference_id == conference_id,
                    Participant.removed_at.is_(None),
                    Participant.action_team.is_(True),
                )
            )
            return frozenset(ids)

    async def add_plan_version(
        self,
        conference_id: str,
        number: int,
        state: bytes,
        content: dict[str, Any],
        created_by: str,
    ) -> PlanVersion:
        """Freeze version ``number`` of the plan. Versions are never changed; a version that
        exists already (frozen at the same moment by someone else) raises StoreError.
        Version 1 is the plan as agreed at the presentation: it is frozen only while the
        conference is there, and marks the conference as frozen in the same transaction."""
        row = PlanVersion(
            conference_id=conference_id,
            number=number,
            state=state,
            content=content,
            summary=summarise(content),
            created_by=created_by,
        )
        async with self._sessions() as db:
            try:
                if number == 1:
                    await self._lock_presentation(
                        db,
                        conference_id,
                        freeze=True,
                        refusal=_("Het plan is al vastgesteld, of de presentatie is voorbij."),
                    )
                    # Checked again under the lock: a condition judged not met meanwhile.
                    refused = await db.scalar(
                        select(func.count(Condition.id)).where(
                            Condition.conference_id == conference_id,
                            Condition.status == "not_met",
                        )
                    )
                    if refused:
                        raise StoreError(_("Een voorwaarde is net als niet voldaan beoordeeld."))
                db.add(row)
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise StoreError(
                    _("Versie %(number)s van het plan is al vastgesteld.", number=number)
                ) from None
            except StoreError:
                await db.rollback()
                raise
        return row

    async def plan_version(
        self, conference_id: str, number: int | None = None
    ) -> PlanVersion | None:
        """Version ``number`` of the plan, or the latest one (None: not frozen yet)."""
        query = select(PlanVersion).where(PlanVersion.conference_id == conference_id)
        if number is None:
            query = query.order_by(PlanVersion.number.desc()).limit(1)
        else:
            query = query.where(PlanVersion.number == number)
        async with self._sessions() as db:
            return await db.scalar(query)

    # -- the action team's follow-up meetings ----------------------------------------------------

    async def follow_ups(self, conference_id: str) -> list[FollowUp]:
        """The conference's follow-up meetings, first one first."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(FollowUp)
                .where(FollowUp.conference_id == conference_id)
                .order_by(FollowUp.number)
            )
            return list(rows)

    async def follow_ups_of(self, conference_ids: Sequence[str]) -> dict[str, list[FollowUp]]:
        """The follow-up meetings of several conferences at once, by conference id."""
        found: dict[str, list[FollowUp]] = {cid: [] for cid in conference_ids}
        if not found:
            return found
        async with self._sessions() as db:
            rows = await db.scalars(
                select(FollowUp)
                .where(FollowUp.conference_id.in_(list(found)))
                .order_by(FollowUp.conference_id, FollowUp.number)
            )
            for row in rows:
                found[row.conference_id].append(row)
        return found

    async def follow_up(self, conference_id: str, number: int) -> FollowUp | None:
        async with self._sessions() as db:
            return await db.scalar(
                select(FollowUp).where(
                    FollowUp.conference_id == conference_id, FollowUp.number == number
                )
            )

    async def attendance(self, follow_up_id: int) -> frozenset[int]:
        """The participants who were at a follow-up meeting."""
        async with self._sessions() as db:
            ids = await db.scalars(
                select(FollowUpAttendance.participant_id).where(
                    FollowUpAttendance.follow_up_id == follow_up_id
                )
            )
            return frozenset(ids)

    async def start_follow_up(self, conference_id: str, due_on: date, by: str) -> FollowUp:
        """Open the next follow-up meeting. One is open at a time: another start while one is
        open (or at the same moment) raises StoreError."""
        async with self._sessions() as db:
            open_one = await db.scalar(
                select(FollowUp.number).where(
                    FollowUp.conference_id == conference_id, FollowUp.closed_at.is_(None)
                )
            )
            if open_one is not None:
                raise StoreError(
                    _(
                        "Bijeenkomst %(number)s is al begonnen en nog niet afgesloten.",
                        number=open_one,
                    )
                )
            last = await db.scalar(
                select(func.max(FollowUp.number)).where(FollowUp.conference_id == conference_id)
            )
            row = FollowUp(
                conference_id=conference_id, number=(last or 0) + 1, due_on=due_on, started_by=by
            )
            db.add(row)
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise StoreError(_("Er is net al een bijeenkomst begonnen.")) from None
            return row

    async def set_attendance(self, follow_up_id: int, participant_ids: frozenset[int]) -> None:
        """Who was there (replaces the list); a closed meeting keeps its list."""
        async with self._sessions() as db:
            # A no-op update that only matches an open meeting: it takes the row (as closing
            # does), so attendance and closing never cross.
            still_open = await db.execute(
                update(FollowUp)
                .where(FollowUp.id == follow_up_id, FollowUp.closed_at.is_(None))
                .values(closed_at=None)
            )
            if still_open.rowcount != 1:  # type: ignore[attr-defined]
                await db.rollback()
                raise StoreError(_("Deze bijeenkomst is al afgesloten."))
            await db.execute(
                delete(FollowUpAttendance).where(FollowUpAttendance.follow_up_id == follow_up_id)
            )
            db.add_all(
                FollowUpAttendance(follow_up_id=follow_up_id, participant_id=pid)
                for pid in sorted(participant_ids)
            )
            await db.commit()

    async def close_follow_up(
        self,
        follow_up_id: int,
        conference_id: str,
        state: bytes,
        content: dict[str, Any],
        by: str,
    ) -> PlanVersion:
        """Close a follow-up meeting and freeze the next plan version, in one transaction.
        Refused (StoreError) when nobody is recorded as there, when it is closed already, or
        when another version was frozen at the same moment."""
        async with self._sessions() as db:
            last = await db.scalar(
                select(func.max(PlanVersion.number)).where(
                    PlanVersion.conference_id == conference_id
                )
            )
            number = (last or 0) + 1
            # Closing takes the meeting's row first (PostgreSQL locks it; SQLite has one
            # writer): a change of attendance at the same moment waits, then finds it closed.
            closed = await db.execute(
                update(FollowUp)
                .where(FollowUp.id == follow_up_id, FollowUp.closed_at.is_(None))
                .values(closed_at=utcnow(), closed_by=by, version_number=number)
            )
            if closed.rowcount != 1:  # type: ignore[attr-defined]
                await db.rollback()
                raise StoreError(_("Deze bijeenkomst is al afgesloten."))
            came = await db.scalar(
                select(func.count()).where(FollowUpAttendance.follow_up_id == follow_up_id)
            )
            if not came:
                await db.rollback()
                raise StoreError(_("Zet eerst wie er bij de bijeenkomst waren."))
            version = PlanVersion(
                conference_id=conference_id,
                number=number,
                state=state,
                content=content,
                summary=summarise(content),
                created_by=by,
            )
            db.add(version)
            await db.execute(
                update(Conference)
                .where(Conference.id == conference_id)
                .values(next_follow_up_on=None)
            )
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                raise StoreError(
                    _("Versie %(number)s van het plan is al vastgesteld.", number=number)
                ) from None
            return version

    async def set_next_follow_up(self, conference_id: str, due_on: date) -> None:
        async with self._sessions() as db:
            await db.execute(
                update(Conference)
                .where(Conference.id == conference_id)
                .values(next_follow_up_on=due_on)
            )
            await db.commit()

    async def plan_versions(self, conference_id: str) -> list[PlanVersion]:
        async with self._sessions() as db:
            rows = await db.scalars(
                select(PlanVersion)
                .where(PlanVersion.conference_id == conference_id)
                .order_by(PlanVersion.number)
            )
            return list(rows)

    # -- reminders of follow-up meetings -------------------------------------------------------

    async def conferences_in_phase(self, phase: str) -> list[Conference]:
        async with self._sessions() as db:
            rows = await db.scalars(
                select(Conference).where(Conference.phase == phase).order_by(Conference.id)
            )
            return list(rows)

    async def reminder_recipients(self, conference_id: str) -> list[Recipient]:
        """The conference's coordinators (by their account's email) and the members of its
        action team who have an email address; nobody who was removed."""
        async with self._sessions() as db:
            accounts = await db.scalars(
                select(Account)
                .join(Participant, Participant.account_id == Account.id)
                .where(
                    Participant.conference_id == conference_id,
                    Participant.role == "coordinator",
                    Participant.removed_at.is_(None),
                )
                .distinct()
                .order_by(Account.id)
            )
            found = [
                Recipient(f"account:{a.id}", a.name, a.email, a.language, coordinator=True)
                for a in accounts
            ]
            members = await db.scalars(
                select(Participant)
                .where(
                    Participant.conference_id == conference_id,
                    Participant.action_team.is_(True),
                    Participant.removed_at.is_(None),
                    Participant.email.is_not(None),
                    Participant.email != "",
                )
                .order_by(Participant.id)
            )
            found += [
                Recipient(f"participant:{p.id}", p.name, p.email or "", p.language, False)
                for p in members
            ]
        return found

    async def claim_reminder(self, conference_id: str, recipient: str, due_on: date) -> bool:
        """Note that this reminder is being sent; False if it was (or is being) sent already,
        by this process or another."""
        async with self._sessions() as db:
            db.add(ReminderSent(conference_id=conference_id, recipient=recipient, due_on=due_on))
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                return False
            return True

    async def release_reminder(self, conference_id: str, recipient: str, due_on: date) -> None:
        """Sending failed: forget the claim, so the next run tries again."""
        async with self._sessions() as db:
            await db.execute(
                delete(ReminderSent).where(
                    ReminderSent.conference_id == conference_id,
                    ReminderSent.recipient == recipient,
                    ReminderSent.due_on == due_on,
                )
            )
            await db.commit()

    async def reminders_sent(self, conference_id: str) -> list[ReminderSent]:
        async with self._sessions() as db:
            rows = await db.scalars(
                select(ReminderSent)
                .where(ReminderSent.conference_id == conference_id)
                .order_by(ReminderSent.id)
            )
            return list(rows)

    # -- erasure -----------------------------------------------------------------------------

    async def erase_conference(self, conference_id: str, actor: str) -> ErasedConference:
        """Delete every row of a conference in one transaction, and record that it happened
        in an audit event that keeps nothing of it but its id, when it closed and how many
        rows went (NotFound if there is no such conference). The conference's row is locked
        first, so a write of it at the same moment waits and then finds it gone."""
        async with self._sessions() as db:
            closed_at = await db.execute(
                select(Conference.closed_at).where(Conference.id == conference_id).with_for_update()
            )
            found = closed_at.one_or_none()
            if found is None:
                await db.rollback()
                raise NotFound("conference not found")
            rows = {
                table: _rowcount(await db.execute(statement))
                for table, statement in _conference_rows(conference_id)
            }
            erased = ErasedConference(conference_id, found[0], rows)
            db.add(
                AuditEvent(
                    conference_id=None,
                    actor=actor,
                    kind="conference_erased",
                    detail={
                        "conference_id": conference_id,
                        "closed_at": found[0].isoformat() if found[0] else None,
                        "rows": rows,
                    },
                )
            )
            await db.commit()
        return erased

    async def scrub_deleted(self) -> Scrubbed:
        """Make deleted rows unreadable in the database's own files, as far as the database
        can. SQLite (secure_delete on every connection): copy the WAL into the main file and
        truncate it, retried a few times while readers keep it busy. PostgreSQL: VACUUM the
        tables an erasure touches (outside a transaction)."""
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name != "sqlite":
                for table in ERASED_TABLES:
                    await auto.exec_driver_sql(f'VACUUM "{table}"')
                return Scrubbed(True, "VACUUM " + ", ".join(ERASED_TABLES))
            await auto.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
            try:
                for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
                    result = await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    if not result.one()[0]:  # (busy, WAL frames, frames copied)
                        return Scrubbed(True, f"wal_checkpoint(TRUNCATE) on attempt {attempt}")
                    await asyncio.sleep(0.1 * attempt)
            finally:
                await auto.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return Scrubbed(
            False,
            f"wal_checkpoint(TRUNCATE) stayed busy {CHECKPOINT_ATTEMPTS} times: the erased "
            "rows are zeroed in the WAL, which the next checkpoint copies into the main file",
        )

    async def closed_before(self, moment: datetime) -> list[tuple[str, datetime]]:
        """Conferences closed before ``moment`` (id and when it closed), oldest first."""
        async with self._sessions() as db:
            rows = await db.execute(
                select(Conference.id, Conference.closed_at)
                .where(
                    Conference.phase == "closed",
                    Conference.closed_at.is_not(None),
                    Conference.closed_at < literal(moment, UTCDateTime),
                )
                .order_by(Conference.closed_at, Conference.id)
            )
            return [(cid, closed) for cid, closed in rows.all() if closed is not None]

    # -- ratings ---------------------------------------------------------------------------

    async def set_rating(
        self,
        conference_id: str,
        participant_id: int,
        occasion: int,
        meeting_score: int,
        plan_score: int,
    ) -> Rating:
        """One person's marks for an occasion (0: the presentation, N: follow-up N); a new
        rating for the same occasion replaces the earlier one."""
        if meeting_score not in RATING_SCORES or plan_score not in RATING_SCORES:
            raise ValueError("a rating is 1 to 10")
        for _round in range(2):  # the second round only if the same person rated at once
            async with self._sessions() as db:
                row = await db.scalar(_rating_of(conference_id, participant_id, occasion))
                if row is None:
                    row = Rating(
                        conference_id=conference_id,
                        participant_id=participant_id,
                        occasion=occasion,
                    )
                    db.add(row)
                row.meeting_score, row.plan_score, row.at = meeting_score, plan_score, utcnow()
                try:
                    await db.commit()
                    return row
                except IntegrityError:
                    await db.rollback()
        raise StoreError("could not store the rating")

    async def rating(self, conference_id: str, participant_id: int, occasion: int) -> Rating | None:
        """The marks one person gave for one occasion, if any."""
        async with self._sessions() as db:
            return await db.scalar(_rating_of(conference_id, participant_id, occasion))

    async def ratings(self, conference_id: str) -> list[Rating]:
        """Every rating of a conference, by occasion, then in the order they were given."""
        async with self._sessions() as db:
            rows = await db.scalars(
                select(Rating)
                .where(Rating.conference_id == conference_id)
                .order_by(Rating.occasion, Rating.id)
            )
            return list(rows)


def _rating_of(conference_id: str, participant_id: int, occasion: int) -> Select[Rating]:
    return select(Rating).where(
        Rating.conference_id == conference_id,
        Rating.participant_id == participant_id,
        Rating.occasion == occasion,
    )


def _conference_rows(conference_id: str) -> list[tuple[str, Delete]]:
    """Per table, the statement that deletes this conference's rows from it, children first.
    Every table that holds anything of a conference is named here, so an erasure forgets
    none (the foreign keys cascade as well, as a second line)."""
    people = select(Participant.id).where(Participant.conference_id == conference_id)
    links = select(Invitation.id).where(Invitation.participant_id.in_(people))
    meetings = select(FollowUp.id).where(FollowUp.conference_id == conference_id)
    owned: tuple[Any, ...] = (
        ReminderSent,
        Rating,
        PlanAnswer,
        Condition,
        Signal,
        ClarifyingQuestion,
        FollowUp,
        PlanVersion,
        DocSnapshot,
        DocUpdate,
        AuditEvent,
        Participant,
    )
    return [
        ("session", delete(Session).where(Session.invitation_id.in_(links))),
        ("invitation", delete(Invitation).where(Invitation.participant_id.in_(people))),
        (
            "follow_up_attendance",
            delete(FollowUpAttendance).where(FollowUpAttendance.follow_up_id.in_(meetings)),
        ),
        *(
            (model.__tablename__, delete(model).where(model.conference_id == conference_id))
            for model in owned
        ),
        ("conference", delete(Conference).where(Conference.id == conference_id)),
    ]


# The tables an erasure deletes from (and vacuums, on PostgreSQL).
ERASED_TABLES: tuple[str, ...] = tuple(name for name, _statement in _conference_rows(""))


def _utc(moment: datetime) -> datetime:
    """An aggregate's datetime as aware UTC (SQLite may hand it back without a zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
