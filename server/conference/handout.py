"""Handing out an invitation, person by person: each hand-out (the device's share sheet,
WhatsApp, SMS, a mail, a printed letter) makes that person one more link of its own, recorded
with how it went out; their earlier links keep working, and ending one leaves the others
(links are stored hashed, so a link is never shown twice: a new hand-out is a new link).

The texts are in the person's language (``Participant.language``, or the one the coordinator
chose for this hand-out), written by ``rules/handout.py``. A mail goes through the optional
SMTP settings, off the event loop, as reminders do; when it cannot be delivered its link is
ended again at once, so no link that reached nobody stays valid.
"""

from __future__ import annotations

import asyncio
import email.errors
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from server import i18n
from server.conference import auth, reminders
from server.i18n import _
from server.rules import handout
from server.settings import Settings
from server.storage.models import Conference, Invitation, Participant
from server.storage.store import Store


@dataclass(frozen=True)
class HandedOut:
    """One hand-out: the new link, what the invitation says and in which language."""

    channel: str
    url: str
    language: str
    details: handout.Details
    text: str  # the short message with the link (share, WhatsApp, SMS), in ``language``


class MailOff(Exception):
    """No mail server is configured (KRING_SMTP_HOST): invitations cannot be mailed."""


class MailNotSent(Exception):
    """The mail server did not take the invitation; ``reason`` says why, for people. The link
    made for it has been ended again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def language_of(participant: Participant) -> str:
    """The language the person's invitation is written in: their own choice, else Dutch."""
    chosen = participant.language
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


async def details(
    store: Store, conference: Conference, participant: Participant
) -> handout.Details:
    """What an invitation tells this person; whom to call is the conference's coordinator,
    with the contact details they chose to show (``/account/contact``)."""
    owner = await store.account(conference.owner_id)
    return handout.Details(
        name=participant.name,
        client=conference.client_name,
        question=conference.question,
        meeting_date=conference.meeting_date,
        starts_at=conference.starts_at,
        ends_at=conference.ends_at,
        location=conference.location,
        address=conference.address,
        coordinator=owner.name if owner else "",
        contact_phone=(owner.contact_phone or "") if owner else "",
        contact_email=(owner.contact_email or "") if owner else "",
    )


async def _new_link(
    store: Store, settings: Settings, participant: Participant, channel: str
) -> tuple[Invitation, str]:
    token = auth.new_token()
    invitation = await store.issue_invitation(
        participant.id, auth.hash_token(settings.secret_key, token), channel=channel
    )
    return invitation, f"{settings.base_url}/i/{token}"


async def _recorded(
    store: Store,
    conference: Conference,
    participant: Participant,
    channel: str,
    actor: str,
) -> None:
    await store.audit(
        conference.id,
        actor,
        "link_issued",
        {"participant_id": participant.id, "channel": channel},
    )
    # The person is now invited. Every hand-out passes here (a mail only once delivered): when
    # the invitation status (branch "invite") is merged, mark it here, over "to invite" only
    # (never over an answer), and tell the console, whose counts show it:
    #     await store.set_invitation_status(participant.id, "invited", by=actor,
    #                                       conference_id=conference.id, only_if=("to_invite",))
    #     events.publish(conference.id, CHANGED)   # (pass common.events(request) in)


async def hand_out(
    store: Store,
    settings: Settings,
    conference: Conference,
    participant: Participant,
    channel: str,
    *,
    language: str,
    actor: str,
) -> HandedOut:
    """Make the person one more link for ``channel`` (share, whatsapp, sms or letter) and
    the message that carries it, in ``language``."""
    if channel not in handout.CHANNELS or channel == "mail":
        raise ValueError(channel)
    told = await details(store, conference, participant)
    _invitation, url = await _new_link(store, settings, participant, channel)
    await _recorded(store, conference, participant, channel, actor)
    with i18n.using(language):
        text = handout.message(told, url, settings.time_zone)
    return HandedOut(channel, url, language, told, text)


def mail(settings: Settings, told: handout.Details, address: str, url: str) -> EmailMessage:
    """The invitation as a mail, in the current language; replies go to the coordinator's
    contact address when they show one."""
    message = EmailMessage()
    message["From"] = settings.smtp.sender
    message["To"] = Address(display_name=reminders.header_text(told.name), addr_spec=address)
    if told.contact_email:
        message["Reply-To"] = Address(
            display_name=reminders.header_text(told.coordinator), addr_spec=told.contact_email
        )
    message["Subject"] = reminders.header_text(handout.mail_subject(told))
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "kring")
    message.set_content(handout.mail_body(told, url, settings.time_zone) + "\n")
    message["Content-Language"] = i18n.get_language()  # after set_content (it resets Content-*)
    return message


def _why(exc: BaseException) -> str:
    """Why a mail was not delivered, for the coordinator (in their language)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _("De mailserver weigerde dit adres.")
    if isinstance(exc, ValueError | email.errors.MessageError) and not isinstance(
        exc, ssl.SSLError
    ):
        return _("Naar dit adres kan Kring geen e-mail maken.")
    return _(
        "De mailserver is niet bereikbaar of nam de e-mail niet aan (%(reason)s).",
        reason=str(exc) or type(exc).__name__,
    )


async def mail_invitation(
    store: Store,
    settings: Settings,
    conference: Conference,
    participant: Participant,
    address: str,
    *,
    language: str,
    actor: str,
) -> HandedOut:
    """Mail the person their invitation with one more link of its own. Raises MailOff
    without a mail server, MailNotSent when it was not delivered (its link ended again)."""
    if not settings.smtp.enabled:
        raise MailOff
    told = await details(store, conference, participant)
    invitation, url = await _new_link(store, settings, participant, "mail")
    try:
        with i18n.using(language):
            message = mail(settings, told, address, url)
            text = handout.message(told, url, settings.time_zone)
        await asyncio.to_thread(reminders.send, settings.smtp, message)
    except (OSError, ValueError, email.errors.MessageError, smtplib.SMTPException) as exc:
        # Nobody received this link: end it, so no valid link lingers unseen. (Nothing is
        # audited: no one outside the server ever held it.)
        await store.end_invitation(conference.id, participant.id, invitation.id)
        raise MailNotSent(_why(exc)) from exc
    await _recorded(store, conference, participant, "mail", actor)
    return HandedOut("mail", url, language, told, text)
