"""Reminders by mail of the action team's next meeting, when a mail server is configured.

Who: the conference's coordinators (their account's email) and the members of its action
team who have an email address. When: the meeting is due within a week, or overdue; once
per person per due date (a moved date is a new date). Each reminder is claimed in the
database before it is sent and the claim is dropped again if sending fails, so the next
run retries it and several processes or cron runs never send it twice (a process killed
between the claim and the send loses that one reminder: rather none than two). The mail
says when and where to look, in the person's own language; never the plan, never a link's
token.

Run by ``kring remind`` (for cron) and, with ``KRING_SMTP_HOST`` set, hourly by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.errors
import logging
import smtplib
import ssl
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from server import i18n
from server.conference import calendar, followups, periodic
from server.i18n import _
from server.rules import schedule
from server.settings import Settings, Smtp
from server.storage.models import Conference
from server.storage.store import Recipient, Store

log = logging.getLogger("kring.reminders")

SMTP_TIMEOUT_SECONDS = 30.0  # per network operation: a silent server never holds a run long


@dataclass(frozen=True)
class Reminder:
    conference: Conference
    recipient: Recipient
    due_on: date
    overdue: bool


@dataclass
class Outcome:
    """What one run did: sent, failed (with the reason), and not tried because the mail
    server stopped answering (they stay due for the next run)."""

    sent: list[Reminder] = field(default_factory=list)
    failed: list[tuple[Reminder, str]] = field(default_factory=list)
    not_tried: int = 0


async def due_reminders(store: Store, on: date) -> AsyncIterator[Reminder]:
    """Every reminder that should have gone out by ``on`` (sent or not)."""
    conferences = await store.conferences_in_phase("action_team")
    meetings = await store.follow_ups_of([c.id for c in conferences])  # one query for all
    for conference in conferences:
        due = followups.next_due(conference, meetings[conference.id])
        if due is None or due - on > schedule.SOON:
            continue
        for recipient in await store.reminder_recipients(conference.id):
            yield Reminder(conference, recipient, due, overdue=due < on)


def header_text(value: str) -> str:
    """``value`` as one line fit for a mail header: line breaks and other control characters
    become spaces. Names are refused with them at entry, but older rows may hold them, and a
    name must never add a header or make the mail unsendable."""
    return " ".join(
        "".join(
            " " if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") else ch for ch in value
        ).split()
    )


def message(reminder: Reminder, settings: Settings) -> EmailMessage:
    """The mail, in the recipient's language. Raises ValueError (or an email error) for an
    address the mail system cannot use."""
    person, conference = reminder.recipient, reminder.conference
    client = header_text(conference.client_name)
    url = calendar.follow_ups_url(settings.base_url, conference.id)
    with i18n.using(person.language or i18n.DEFAULT_LANGUAGE):
        day = i18n.format_moment(reminder.due_on, settings.time_zone, "date")
        if reminder.overdue:
            subject = _(
                "Herinnering: het actieteam van %(client)s had op %(date)s bijeen moeten komen",
                client=client,
                date=day,
            )
            when = _(
                "De bijeenkomst van het actieteam van %(client)s had op %(date)s moeten zijn. "
                "Spreek samen een nieuwe datum af.",
                client=conference.client_name,
                date=day,
            )
        else:
            subject = _(
                "Herinnering: actieteam van %(client)s op %(date)s",
                client=client,
                date=day,
            )
            when = _(
                "De volgende bijeenkomst van het actieteam van %(client)s is op %(date)s.",
                client=conference.client_name,
                date=day,
            )
        how = (
            _("Log in bij Kring; de bijeenkomsten vind je hier:")
            if person.coordinator
            else _(
                "Open eerst je eigen persoonlijke link van Kring op je telefoon of tablet. "
                "Daarna vind je de bijeenkomsten hier:"
            )
        )
        body = "\n\n".join(
            [
                _("Beste %(name)s,", name=person.name),
                when,
                f"{how}\n{url}",
                _(
                    "Je krijgt deze herinnering één keer voor deze datum. Het plan zelf staat "
                    "niet in deze e-mail."
                ),
            ]
        )
        language = i18n.get_language()
    return automatic_mail(settings, person.name, person.email, subject, body, language)


def automatic_mail(
    settings: Settings, name: str, email: str, subject: str, body: str, language: str
) -> EmailMessage:
    """A mail Kring writes by itself (a reminder, a password link) to ``name <email>``, its
    text in ``language``."""
    mail = EmailMessage()
    mail["From"] = settings.smtp.sender
    # The headerregistry encodes the name (RFC 2047) and quotes it; header_text keeps it one line.
    mail["To"] = Address(display_name=header_text(name), addr_spec=email)
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "kring")
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body + "\n")
    mail["Content-Language"] = language  # after set_content, which replaces Content-* headers
    return mail


def send(smtp: Smtp, mail: EmailMessage) -> None:
    """Deliver one mail to the configured server (blocking: run it in a thread)."""
    context = smtp.tls_context()
    client = (
        smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        if smtp.security == "ssl"
        else smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS)
    )
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password)
        client.send_message(mail)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the mail server's certificate is not trusted ({exc.verify_message}); if your "
            "own certificate authority signed it, set KRING_SMTP_CA_FILE to its certificate"
        )
    return str(exc) or type(exc).__name__


# This one address is the problem; any other failure is the server's, and stops the run.
_RECIPIENT_PROBLEMS = (ValueError, email.errors.MessageError, smtplib.SMTPRecipientsRefused)


def _the_servers(exc: BaseException) -> bool:
    """Whether a failure is the mail server's (TLS included: an untrusted certificate is a
    ValueError too), so the rest of the run would fail the same way."""
    return isinstance(exc, ssl.SSLError) or not isinstance(exc, _RECIPIENT_PROBLEMS)


async def send_due(store: Store, settings: Settings, on: date | None = None) -> Outcome:
    """Send every reminder that is due and not sent yet. With mail off, nothing happens."""
    outcome = Outcome()
    if not settings.smtp.enabled:
        return outcome
    on = on or followups.today()
    server_down = False
    async for reminder in due_reminders(store, on):
        key = (reminder.conference.id, reminder.recipient.key, reminder.due_on)
        if server_down:
            outcome.not_tried += 1
            continue
        try:
            mail = message(reminder, settings)
        except Exception as exc:  # one odd row (a name, an address) never stops the others
            outcome.failed.append((reminder, _reason(exc)))
            continue
        if not await store.claim_reminder(*key):
            continue  # sent before, or being sent by another process now
        try:
            await asyncio.to_thread(send, settings.smtp, mail)
        except (OSError, *_RECIPIENT_PROBLEMS) as exc:
            await store.release_reminder(*key)
            outcome.failed.append((reminder, _reason(exc)))
            server_down = _the_servers(exc)
        else:
            outcome.sent.append(reminder)
    return outcome


def describe_failure(reminder: Reminder, reason: str) -> str:
    return (
        f"could not send the reminder of conference {reminder.conference.id} "
        f"({reminder.due_on.isoformat()}) to {reminder.recipient.email} "
        f"({reminder.recipient.key}): {reason}"
    )


async def run_and_log(store: Store, settings: Settings) -> None:
    """One run of the server's: what it did goes to the log."""
    outcome = await send_due(store, settings)
    if outcome.sent:
        log.info("reminders: %d sent", len(outcome.sent))
    for reminder, reason in outcome.failed:
        log.warning("reminders: %s", describe_failure(reminder, reason))
    if outcome.not_tried:
        log.warning("reminders: %d not tried, the mail server failed", outcome.not_tried)


@contextlib.asynccontextmanager
async def running(store: Store, settings: Settings) -> AsyncIterator[None]:
    """The hourly run for the server's lifetime, when mail is configured; cancelled (and
    waited for) on shutdown. A mail already handed to its thread finishes within the
    timeout; its claim stays, so it is not sent twice."""
    if not settings.smtp.enabled:
        yield
        return
    async with periodic.running(
        "reminders", settings.housekeeping_seconds, lambda: run_and_log(store, settings)
    ):
        yield
