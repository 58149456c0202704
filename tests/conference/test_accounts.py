"""With a mail server, an invitation and a forgotten password's link are mailed (in the
account's language) and work once; an address without an account gets nothing, and neither
does one asking too often. The last admin check holds in the store's own statement."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.conference import accounts, auth
from server.rooms.hub import RoomHub
from server.settings import Settings
from server.storage.store import Reason, Store, StoreError
from tests.support.mail import Inbox, body
from tests.support.server import free_port, make_instance

PASSWORD = "correct horse battery"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    box.start()
    yield box
    box.stop()


def mail_settings(folder: Path, inbox: Inbox) -> Settings:
    instance = make_instance(
        folder,
        KRING_SMTP_HOST="127.0.0.1",
        KRING_SMTP_PORT=str(inbox.port),
        KRING_SMTP_SECURITY="none",
        KRING_SMTP_FROM="Kring <kring@example.org>",
    )
    return Settings.from_env(instance.env)


def link_in(mail_text: str) -> str:
    found = re.search(r"/password/(\S+)", mail_text)
    assert found, "the mail holds the link"
    return found[1]


class NoRooms:
    """Stands for the hub: which sign-ins were ended."""

    def __init__(self) -> None:
        self.ended: list[int] = []

    def end_sessions(self, ids: list[int], reason: str) -> None:
        self.ended += ids


async def test_invitations_and_reset_links_go_by_mail_and_work_once(
    store: Store, inbox: Inbox, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, inbox)
    admin = await store.create_account(
        f"lies-{secrets.token_hex(3)}@example.org", "Lies Beheer", "x", "admin"
    )
    email = f"mo-{secrets.token_hex(3)}@example.org"
    made = await accounts.invite(store, settings, admin, email, "Mo Post")
    assert made.mailed and made.purpose == "invite"
    [invitation] = inbox.to(email)
    assert "Lies Beheer heeft je uitgenodigd" in body(invitation)
    assert invitation["Subject"] == "Je bent uitgenodigd als coördinator in Kring"

    state, match = await accounts.open_link(store, settings, link_in(body(invitation)))
    assert state is accounts.LinkState.OK and match is not None
    hub = NoRooms()
    rooms: RoomHub = hub  # type: ignore[assignment]
    await accounts.choose_password(
        store, rooms, match, "een brief op de mat", "een brief op de mat"
    )
    assert (await accounts.open_link(store, settings, link_in(body(invitation))))[0] is (
        accounts.LinkState.USED
    )

    await store.set_account_language(match.account.id, "en")
    await accounts.forgotten(store, settings, email.upper())
    await accounts.forgotten(store, settings, "nobody-" + email)
    assert len(inbox.received) == 2, "nothing for an address without an account"
    reset = inbox.to(email)[-1]
    assert reset["Subject"] == "A new password for Kring"
    state, match = await accounts.open_link(store, settings, link_in(body(reset)))
    assert state is accounts.LinkState.OK and match is not None
    for _more in range(5):  # asked too often: no more mails this quarter of an hour
        await accounts.forgotten(store, settings, email)
    assert len(inbox.received) == 2 + accounts.FORGOTTEN_MAILS_PER_WINDOW - 1
    # The newest link is the one that works; the earlier ones ended with it.
    assert (await accounts.open_link(store, settings, link_in(body(reset))))[0] is (
        accounts.LinkState.USED
    )


async def test_the_store_keeps_one_admin_who_can_log_in(store: Store) -> None:
    hashed = await auth.hash_password(PASSWORD)
    one = await store.create_account(f"a-{secrets.token_hex(3)}@example.org", "A", hashed, "admin")
    others = [a for a in await store.all_accounts() if a.role == "admin" and a.id != one.id]
    for other in others:  # a shared PostgreSQL database may hold other tests' admins
        await store.set_account_role(other.id, "coordinator")
    with pytest.raises(StoreError) as refused:
        await store.set_account_role(one.id, "coordinator")
    assert refused.value.reason is Reason.LAST_ADMIN
    with pytest.raises(StoreError):
        await store.deactivate_account(one.id)
    invited = await store.invite_account(f"b-{secrets.token_hex(3)}@example.org", "B")
    await store.set_account_role(invited.id, "admin")
    with pytest.raises(StoreError):  # an invited admin cannot log in yet: it does not count
        await store.set_account_role(one.id, "coordinator")
