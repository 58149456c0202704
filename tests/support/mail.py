"""A real mail server on loopback (aiosmtpd) for the stories that mail: what it received, and
a Kring installation that sends to it."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.server import Instance, make_instance

DELIVERY_TIMEOUT = 20.0


@dataclass
class Inbox:
    """What a real SMTP server received: (envelope recipients, parsed message)."""

    port: int
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    controller: Controller | None = None
    login: tuple[str, str] | None = None  # when set: the login the server accepts
    logins: int = 0  # successful ones
    security: str = "none"  # as KRING_SMTP_SECURITY; "starttls" and "ssl" need a certificate
    certificate: ssl.SSLContext | None = None  # the server's side of its TLS
    tls: list[str | None] = field(default_factory=list)  # per login and mail: TLS version

    @staticmethod
    def _tls_version(server: Any) -> str | None:
        tls = server.transport.get_extra_info("ssl_object")
        return None if tls is None else str(tls.version())

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login.decode(), data.password.decode())
        ok = isinstance(data, LoginPassword) and given == self.login
        self.logins += int(ok)
        self.tls.append(self._tls_version(server))
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        self.tls.append(self._tls_version(server))
        return "250 Message accepted"

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.login:
            # Plain-text AUTH on loopback as KRING_SMTP_SECURITY=none would do; with STARTTLS
            # only after it. (aiosmtpd counts only STARTTLS as TLS there; ``tls`` tells.)
            options.update(authenticator=self.authenticate, auth_require_tls=False)
        if self.security == "starttls":
            options.update(tls_context=self.certificate, require_starttls=True)
            options["auth_require_tls"] = True
        elif self.security == "ssl":
            options["ssl_context"] = self.certificate
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"{len(self.received)} of {count} mails arrived"


def mail_instance(folder: Path, inbox: Inbox, **extra: str) -> Instance:
    instance = make_instance(
        folder,
        KRING_SMTP_HOST="127.0.0.1",
        KRING_SMTP_PORT=str(inbox.port),
        KRING_SMTP_SECURITY=inbox.security,
        KRING_SMTP_FROM="Kring <kring@example.org>",
        **extra,
    )
    instance.cli("db", "upgrade")
    return instance


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
