"""Reminders by mail, with a real SMTP server (aiosmtpd) on loopback: `kring remind` and the
server's hourly task mail the coordinators and the action team members who have an email
about a meeting due within a week or overdue, once per person per due date, in their own
language; a failed delivery is retried on the next run; with mail off nothing is tried. Over
STARTTLS and implicit TLS the server's certificate is checked (against KRING_SMTP_CA_FILE, a
test authority made by trustme), and one that is not trusted gets nothing, not even the
login."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import trustme

from server.conference import followups, reminders
from server.settings import Settings
from server.storage.models import Account, Conference
from server.storage.store import Store
from tests.support.live import wait_until
from tests.support.mail import Inbox, body, mail_instance
from tests.support.meeting import agree_in_store
from tests.support.people import DemoConference, demo_conference, ids_by_role, server_store
from tests.support.server import (
    Instance,
    LiveServer,
    free_port,
    make_instance,
    start_server,
    stop_server,
)

# -- a mail server on loopback ------------------------------------------------------------------


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    box.start()
    yield box
    box.stop()


def dutch_date(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def english_date(day: date) -> str:
    """As an English reader in Europe writes it (en_GB): 31/12/2026."""
    return day.strftime("%d/%m/%Y")


# -- conferences whose action team meets soon ---------------------------------------------------


@dataclass
class Organisation:
    """Three conferences of Lotte's in the action-team phase: one due in three days (Ben
    co-coordinates it), one in six weeks, one overdue."""

    lotte: Account
    ben: Account
    soon: Conference
    later: Conference
    overdue: Conference
    emails: dict[str, str]  # participant name -> email


async def _account(store: Store, name: str, language: str | None) -> Account:
    email = f"{name.split()[0].lower()}-{secrets.token_hex(3)}@example.org"
    account = await store.create_account(email, name, "not a real hash")
    if language:
        await store.set_account_language(account.id, language)
    return account


async def _conference(
    store: Store, owner: Account, client: str, team: list[tuple[str, str, str | None, str | None]]
) -> Conference:
    """A conference at the presentation with these (name, role, email, language) people in
    its action team, then agreed."""
    conference = await store.create_conference(owner, client, "Hoe gaat het thuis?")
    ids = []
    for name, role, email, language in team:
        person = await store.add_participant(conference.id, name, role, email=email)
        if language:
            await store.set_participant_language(person.id, language)
        ids.append(person.id)
    await store.set_phase(conference.id, "presentation")
    await store.set_action_team(conference.id, set(ids))
    await agree_in_store(store, conference.id)
    return conference


async def organisation(database_url: str) -> Organisation:
    store = Store.connect(database_url)
    try:
        lotte = await _account(store, "Lotte Hendriks", None)
        ben = await _account(store, "Ben Smit", "en")
        emails = {"Sam Yılmaz": "sam@example.org", "Ayşe Yılmaz": "ayse@example.org"}
        soon = await _conference(
            store,
            lotte,
            "Sam Yılmaz",
            [
                ("Sam Yılmaz", "client", emails["Sam Yılmaz"], "en"),
                ("Ayşe Yılmaz", "network_member", emails["Ayşe Yılmaz"], None),
                ("Mehmet Yılmaz", "network_member", None, None),
                ("Jan de Boer", "network_member", "jan@example.org", None),
            ],
        )
        await store.add_participant(soon.id, ben.name, "coordinator", account_id=ben.id)
        await store.add_participant(soon.id, "Iris van Dam", "professional", email="iris@x.org")
        jan = next(r for r in await store.participants(soon.id) if r.participant.name[:3] == "Jan")
        await store.remove_participant(soon.id, jan.participant.id)
        await store.set_next_follow_up(soon.id, followups.today() + timedelta(days=3))
        later = await _conference(
            store, lotte, "Noah Bakker", [("Noah Bakker", "client", "noah@example.org", None)]
        )
        overdue = await _conference(store, lotte, "Elif Demir", [])
        await store.set_next_follow_up(overdue.id, followups.today() - timedelta(days=2))
        return Organisation(lotte, ben, soon, later, overdue, emails)
    finally:
        await store.close()


async def sent_rows(instance: Instance, conference_id: str) -> list[tuple[str, date]]:
    store = Store.connect(instance.database_url)
    try:
        return [(r.recipient, r.due_on) for r in await store.reminders_sent(conference_id)]
    finally:
        await store.close()


# -- the stories --------------------------------------------------------------------------------


async def test_kring_remind_mails_each_coordinator_and_member_once_per_due_date(
    tmp_path: Path, inbox: Inbox
) -> None:
    instance = mail_instance(tmp_path, inbox)
    org = await organisation(instance.database_url)
    soon_day = followups.today() + timedelta(days=3)

    first = await asyncio.to_thread(instance.cli, "remind")
    assert first.stdout.strip() == "5 reminder(s) sent", first.stderr
    recipients = sorted(address for rcpt, _m in inbox.received for address in rcpt)
    assert recipients == sorted(
        [org.lotte.email, org.lotte.email, org.ben.email, "sam@example.org", "ayse@example.org"]
    ), "Mehmet has no email, Jan was removed, Iris is not in the action team, Noah is weeks away"

    (sam,) = inbox.to("sam@example.org")
    assert sam["Subject"] == f"Reminder: action team of Sam Yılmaz on {english_date(soon_day)}"
    assert sam["To"].addresses[0].display_name == "Sam Yılmaz"
    assert sam["From"] == "Kring <kring@example.org>" and sam["Content-Language"] == "en"
    text = body(sam)
    assert text.startswith("Dear Sam Yılmaz,")
    assert english_date(soon_day) in text and "First open your own personal Kring link" in text
    assert f"/c/{org.soon.id}/follow-ups" in text and "/i/" not in text and "/feeds/" not in text

    (ayse,) = inbox.to("ayse@example.org")
    assert ayse["Subject"] == f"Herinnering: actieteam van Sam Yılmaz op {dutch_date(soon_day)}"
    assert "De volgende bijeenkomst van het actieteam van Sam Yılmaz" in body(ayse)

    (ben,) = inbox.to(org.ben.email)
    assert "Log in to Kring" in body(ben)
    lotte = {m["Subject"]: body(m) for m in inbox.to(org.lotte.email)}
    past = dutch_date(followups.today() - timedelta(days=2))
    overdue = f"Herinnering: het actieteam van Elif Demir had op {past} bijeen moeten komen"
    assert overdue in lotte and "Spreek samen een nieuwe datum af." in lotte[overdue]
    assert all("Log in bij Kring" in text for text in lotte.values())

    # The next run (cron, an hour later) sends nothing new.
    again = await asyncio.to_thread(instance.cli, "remind")
    assert again.stdout.strip() == "0 reminder(s) sent" and len(inbox.received) == 5
    assert len(await sent_rows(instance, org.soon.id)) == 4

    # A moved date is a new date: one more reminder each for that meeting.
    store = Store.connect(instance.database_url)
    try:
        await store.set_next_follow_up(org.soon.id, followups.today() + timedelta(days=5))
    finally:
        await store.close()
    moved = await asyncio.to_thread(instance.cli, "remind")
    assert moved.stdout.strip() == "4 reminder(s) sent" and len(inbox.received) == 9


async def test_a_mail_server_that_is_down_leaves_the_reminders_for_the_next_run(
    tmp_path: Path, inbox: Inbox
) -> None:
    instance = mail_instance(tmp_path, inbox)
    org = await organisation(instance.database_url)
    inbox.stop()

    failed = await asyncio.to_thread(instance.cli, "remind", check=False)
    assert failed.returncode == 1
    assert failed.stdout.strip() == "0 reminder(s) sent"
    assert "kring: could not send the reminder of conference" in failed.stderr
    assert "Connection refused" in failed.stderr
    assert "4 more not tried because the mail server failed" in failed.stderr
    assert await sent_rows(instance, org.soon.id) == []
    assert await sent_rows(instance, org.overdue.id) == []

    inbox.start()
    retried = await asyncio.to_thread(instance.cli, "remind")
    assert retried.stdout.strip() == "5 reminder(s) sent" and len(inbox.received) == 5


async def test_a_stored_name_with_a_line_break_stops_no_mail(tmp_path: Path, inbox: Inbox) -> None:
    """Old rows, from before names were refused with line breaks at entry: the name is put on
    one line in the subject and the To header, and every other reminder goes out too."""
    instance = mail_instance(tmp_path, inbox)
    org = await organisation(instance.database_url)
    store = Store.connect(instance.database_url)
    try:
        odd = await _conference(
            store,
            org.lotte,
            "Kim\r\nBcc: everyone@example.org",
            [("Kim\nBcc: all@example.org\x00", "client", "kim@example.org", None)],
        )
        await store.set_next_follow_up(odd.id, followups.today() + timedelta(days=1))
    finally:
        await store.close()

    run = await asyncio.to_thread(instance.cli, "remind")
    assert run.stdout.strip() == "7 reminder(s) sent", run.stderr
    (kim,) = inbox.to("kim@example.org")
    day = dutch_date(followups.today() + timedelta(days=1))
    subject = kim["Subject"].strip()  # folded: it is long
    assert subject == f"Herinnering: actieteam van Kim Bcc: everyone@example.org op {day}"
    assert kim["To"].addresses[0].display_name == "Kim Bcc: all@example.org"
    assert kim["To"].addresses[0].addr_spec == "kim@example.org" and kim["Bcc"] is None
    recipients = sorted(address for rcpt, _m in inbox.received for address in rcpt)
    assert "everyone@example.org" not in recipients and "all@example.org" not in recipients
    assert recipients.count(org.lotte.email) == 3  # soon, overdue and Kim's


async def test_a_turned_off_coordinator_gets_no_more_reminders(
    tmp_path: Path, inbox: Inbox
) -> None:
    instance = mail_instance(tmp_path, inbox)
    org = await organisation(instance.database_url)
    store = Store.connect(instance.database_url)
    try:
        await store.deactivate_account(org.ben.id)  # Ben left the organisation
    finally:
        await store.close()

    run = await asyncio.to_thread(instance.cli, "remind")
    assert run.stdout.strip() == "4 reminder(s) sent", run.stderr
    assert inbox.to(org.ben.email) == [], "nothing of Sam's conference reaches Ben any more"
    assert len(inbox.to(org.lotte.email)) == 2


async def test_kring_logs_in_at_the_mail_server_and_a_wrong_password_is_retried_later(
    tmp_path: Path,
) -> None:
    inbox = Inbox(port=free_port(), login=("kring", "right password"))
    inbox.start()
    try:
        instance = mail_instance(tmp_path, inbox)
        await organisation(instance.database_url)
        instance.env.update(KRING_SMTP_USERNAME="kring", KRING_SMTP_PASSWORD="wrong password")
        refused = await asyncio.to_thread(instance.cli, "remind", check=False)
        assert refused.returncode == 1 and "535" in refused.stderr, refused.stderr
        assert "right password" not in refused.stderr + refused.stdout
        instance.env["KRING_SMTP_PASSWORD"] = "right password"
        sent = await asyncio.to_thread(instance.cli, "remind")
        assert sent.stdout.strip() == "5 reminder(s) sent" and len(inbox.received) == 5
        assert inbox.logins == 5, "one login per mail, with the configured password"
    finally:
        inbox.stop()


async def test_with_mail_off_nothing_is_tried(tmp_path: Path, inbox: Inbox) -> None:
    instance = make_instance(tmp_path)  # no KRING_SMTP_HOST
    instance.cli("db", "upgrade")
    org = await organisation(instance.database_url)

    refused = await asyncio.to_thread(instance.cli, "remind", check=False)
    assert refused.returncode == 2
    assert "KRING_SMTP_HOST is not set: reminders by mail are off" in refused.stderr
    store = Store.connect(instance.database_url)
    try:
        outcome = await reminders.send_due(store, Settings.from_env(instance.env))
    finally:
        await store.close()
    assert (outcome.sent, outcome.failed, outcome.not_tried) == ([], [], 0)
    assert await sent_rows(instance, org.soon.id) == [] and inbox.received == []


async def test_the_server_sends_due_reminders_by_itself_when_mail_is_configured(
    tmp_path: Path, inbox: Inbox
) -> None:
    instance = mail_instance(tmp_path, inbox)
    org = await organisation(instance.database_url)
    server = await asyncio.to_thread(start_server, instance)
    try:
        await asyncio.to_thread(inbox.wait_for, 5)
        assert f"{server.url}/c/{org.soon.id}/follow-ups" in body(inbox.to("sam@example.org")[0])
    finally:
        started = time.monotonic()
        await asyncio.to_thread(stop_server, server)
        assert time.monotonic() - started < 10, "the hourly task does not hold up shutdown"
    log = (instance.folder / "server.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert len(await sent_rows(instance, org.soon.id)) == 4


# -- over TLS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A certificate authority of the test's own (trusted by nothing else) and the mail
    server's certificate for 127.0.0.1 that it signed."""

    ca_file: Path
    server: ssl.SSLContext


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = tmp_path / "mail-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Authority(ca_file, server)


def tls_inbox(security: str, authority: Authority) -> Inbox:
    box = Inbox(
        port=free_port(),
        login=("kring", "tls password"),
        security=security,
        certificate=authority.server,
    )
    box.start()
    return box


LOGIN = {"KRING_SMTP_USERNAME": "kring", "KRING_SMTP_PASSWORD": "tls password"}


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_reminders_go_over_tls_to_a_server_the_configured_authority_vouches_for(
    tmp_path: Path, authority: Authority, security: str
) -> None:
    inbox = tls_inbox(security, authority)
    try:
        instance = mail_instance(
            tmp_path, inbox, KRING_SMTP_CA_FILE=str(authority.ca_file), **LOGIN
        )
        await organisation(instance.database_url)
        sent = await asyncio.to_thread(instance.cli, "remind")
        assert sent.stdout.strip() == "5 reminder(s) sent", sent.stderr
        assert len(inbox.received) == 5 and inbox.logins == 5
        # Every login and every mail went encrypted (5 + 5), the password never in the clear.
        assert len(inbox.tls) == 10 and all(v in ("TLSv1.2", "TLSv1.3") for v in inbox.tls)
    finally:
        inbox.stop()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_a_mail_server_whose_certificate_is_not_trusted_gets_nothing_and_is_named(
    tmp_path: Path, authority: Authority, security: str
) -> None:
    inbox = tls_inbox(security, authority)
    try:
        instance = mail_instance(tmp_path, inbox, **LOGIN)  # the system's authorities only
        org = await organisation(instance.database_url)
        server = await asyncio.to_thread(start_server, instance)
        log_file = instance.folder / "server.log"
        try:
            await wait_until(lambda: "not tried" in log_file.read_text(), within=20)
        finally:
            await asyncio.to_thread(stop_server, server)
        log = log_file.read_text()
        assert "reminders: could not send the reminder of conference" in log, log
        assert "the mail server's certificate is not trusted (" in log
        assert "set KRING_SMTP_CA_FILE" in log and "4 not tried" in log
        assert "Traceback" not in log and "ERROR" not in log, log
        assert inbox.received == [] and inbox.tls == [], "no login, no mail went to it"
        assert await sent_rows(instance, org.soon.id) == []
        assert await sent_rows(instance, org.overdue.id) == []

        # Once its authority is trusted, the next run sends them all.
        instance.env["KRING_SMTP_CA_FILE"] = str(authority.ca_file)
        retried = await asyncio.to_thread(instance.cli, "remind")
        assert retried.stdout.strip() == "5 reminder(s) sent", retried.stderr
        assert len(inbox.received) == 5
    finally:
        inbox.stop()


# -- the email address in the coordinator's form -------------------------------------------------


async def test_a_bad_email_address_is_refused_and_a_good_one_shown_only_to_the_coordinator(
    live_server: LiveServer,
) -> None:
    conference = await demo_conference(live_server, "information")
    cid = conference.id
    async with httpx.AsyncClient(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": conference.coordinator_cookie()},
        timeout=10,
    ) as coordinator:
        before = (await coordinator.get(f"/conferences/{cid}")).text.count('id="participant-')
        for bad in ("oma@", "oma at example.org", "oma@example", "oma@@example.org"):
            refused = await coordinator.post(
                f"/conferences/{cid}/participants",
                data={"name": "Oma Yılmaz", "role": "network_member", "email": bad},
            )
            assert refused.status_code == 400
            assert "Dit is geen e-mailadres." in refused.text
            assert "Oma Yılmaz" in refused.text, "what was typed stays in the form"
        page = (await coordinator.get(f"/conferences/{cid}")).text
        assert page.count('id="participant-') == before and "oma@example.org" not in page

        added = await coordinator.post(
            f"/conferences/{cid}/participants",
            data={"name": "Oma Yılmaz", "role": "network_member", "email": " oma@example.org "},
        )
        assert added.status_code == 200 and "Oma Yılmaz is toegevoegd." in added.text
        page = (await coordinator.get(f"/conferences/{cid}")).text
        assert page.count('id="participant-') == before + 1 and "oma@example.org" in page
        without = await coordinator.post(
            f"/conferences/{cid}/participants",
            data={"name": "Opa Yılmaz", "role": "network_member", "email": ""},
        )
        assert without.status_code == 200

        # Someone already on the list gets (or loses) an address later.
        ayse = (await ids_by_role(conference, "network_member"))["network_member"]
        where = f"/conferences/{cid}/participants/{ayse}/email"
        refused = await coordinator.post(where, data={"email": "ayse@"})
        assert refused.status_code == 400 and "Dit is geen e-mailadres." in refused.text
        assert 'value="ayse@"' in refused.text, "what was typed stays in the field"
        assert await _email_of(conference, ayse) is None
        saved = await coordinator.post(where, data={"email": "ayse@example.org"})
        assert saved.status_code == 200 and "Ayşe Yılmaz is opgeslagen." in saved.text
        assert await _email_of(conference, ayse) == "ayse@example.org"
        cleared = await coordinator.post(where, data={"email": " "})
        assert "Ayşe Yılmaz krijgt geen herinneringen meer" in cleared.text
        assert await _email_of(conference, ayse) is None
        audit = (await coordinator.get(f"/conferences/{cid}/audit")).text
        assert audit.count("wijzigde het e-mailadres voor herinneringen van Ayşe Yılmaz.") == 2
        assert "ayse@example.org" not in audit

    async with httpx.AsyncClient(
        base_url=live_server.url,
        headers={"origin": live_server.url, "cookie": conference.cookie("client")},
        timeout=10,
    ) as sam:
        assert "oma@example.org" not in (await sam.get(f"/c/{cid}")).text


# -- the store, on SQLite and PostgreSQL alike ----------------------------------------------------


async def test_a_reminder_is_claimed_once_until_its_claim_is_released(store: Store) -> None:
    org = await organisation(store.engine.url.render_as_string(hide_password=False))
    keys = [r.key for r in await store.reminder_recipients(org.soon.id)]
    ids = {r.participant.name: r.participant.id for r in await store.participants(org.soon.id)}
    sam, ayse = ids["Sam Yılmaz"], ids["Ayşe Yılmaz"]
    assert keys == [
        f"account:{org.lotte.id}",
        f"account:{org.ben.id}",
        f"participant:{sam}",
        f"participant:{ayse}",
    ]
    day = followups.today()
    assert await store.claim_reminder(org.soon.id, keys[0], day)
    assert not await store.claim_reminder(org.soon.id, keys[0], day), "already being sent"
    assert await store.claim_reminder(org.soon.id, keys[0], day + timedelta(days=1))
    assert await store.claim_reminder(org.later.id, keys[0], day), "another conference"
    await store.release_reminder(org.soon.id, keys[0], day)
    assert await store.claim_reminder(org.soon.id, keys[0], day), "retried after a failure"
    assert [r.due_on for r in await store.reminders_sent(org.soon.id)] == [
        day + timedelta(days=1),
        day,
    ]
    meetings = await store.follow_ups_of([org.soon.id, org.later.id])
    assert meetings == {org.soon.id: [], org.later.id: []} and await store.follow_ups_of([]) == {}


async def _email_of(conference: DemoConference, participant_id: int) -> str | None:
    async with server_store(conference) as store:
        person = await store.participant(conference.id, participant_id)
    assert person is not None
    return person.email
