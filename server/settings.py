"""All of Kring's configuration, read once from ``KRING_*`` environment variables.

Each setting is declared exactly once below (name, type, default, help). The README's
configuration table is checked against these declarations by a test, so a setting cannot
exist without being documented.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.clock import DEFAULT_TIME_ZONE
from server.limits import Limits

_DEFAULT_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """One declared environment variable."""

    env: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "KRING_INSTANCE_DIR",
        "instance",
        "Folder for this installation's own files: the SQLite database and the generated "
        "secret key.",
    ),
    Setting(
        "KRING_DATABASE_URL",
        None,
        "SQLAlchemy URL of the database. Default: SQLite file `kring.db` in the instance "
        "folder (aiosqlite, WAL). Production: `postgresql+asyncpg://user@host/db`.",
    ),
    Setting(
        "KRING_SECRET_KEY",
        None,
        "Key that peppers the stored hashes of invitation and session tokens (at least 32 "
        "characters). If unset, one is generated on first run and kept in "
        "`instance/secret_key`.",
    ),
    Setting(
        "KRING_BASE_URL",
        "http://127.0.0.1:8000",
        "The address people use to reach Kring (scheme, host, port, no path); invitation "
        "links and QR codes point here. Behind HTTPS set `https://...`: cookies then become "
        "Secure.",
    ),
    Setting(
        "KRING_ALLOWED_ORIGINS",
        "",
        "Extra origins (comma separated) allowed to post forms and open websockets, besides "
        "the origin of `KRING_BASE_URL`.",
    ),
    Setting(
        "KRING_SESSION_DAYS",
        "30",
        "How many days a coordinator stays logged in without using Kring.",
    ),
    Setting(
        "KRING_INVITATION_GRACE_DAYS",
        "30",
        "How many days invitation links keep working after a conference closes.",
    ),
    Setting(
        "KRING_LOGIN_MAX_FAILURES",
        "5",
        "Failed logins for one email address from one client address within 15 minutes "
        "before further attempts from that address are refused (even with the right "
        "password) until 15 minutes have passed.",
    ),
    Setting(
        "KRING_LOGIN_MAX_FAILURES_PER_EMAIL",
        "50",
        "Failed logins for one email address from all client addresses together within 15 "
        "minutes before every attempt for it is refused; so guessing from many addresses is "
        "limited, while one address cannot lock the owner out.",
    ),
    Setting(
        "KRING_TRUSTED_PROXIES",
        "127.0.0.1,::1",
        "Addresses (comma separated, or `*`) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; the client address (for the login limit and the "
        "log) is then the one the proxy forwards. Other peers are taken at their socket "
        "address. Empty: no proxy is believed.",
    ),
    Setting(
        "KRING_HTTP_HEADER_TIMEOUT",
        "10",
        "Seconds a connection may take to send the headers of a request (from opening, or "
        "from its previous response) before it is closed, so half-sent requests do not hold "
        "the server.",
    ),
    Setting(
        "KRING_MAX_MESSAGE_BYTES",
        "2097152",
        "Largest websocket message a device may send (an edit, or what a tablet edited "
        "offline); a larger one closes that connection with 1009.",
    ),
    Setting(
        "KRING_MAX_MESSAGES_PER_SECOND",
        "50",
        "Sustained messages (edits and presence) per second per connection, with a burst of "
        "four seconds' worth; a flood closes that connection with 1008.",
    ),
    Setting(
        "KRING_MAX_CONNECTIONS_PER_ROOM",
        "300",
        "Open websocket connections per conference (each device opens one per document).",
    ),
    Setting(
        "KRING_MAX_CONNECTIONS_PER_SESSION",
        "4",
        "Open websockets of one device (one sign-in) to one document; more are refused with "
        "1008 and a reason.",
    ),
    Setting(
        "KRING_MAX_CONNECTIONS_PER_PERSON",
        "12",
        "Open websockets of one person over all documents and devices of a conference; more "
        "are refused with 1008 and a reason.",
    ),
    Setting(
        "KRING_FAMILY_RESERVED_CONNECTIONS",
        "30",
        "Of a conference's connections, how many only the family (client and network) may "
        "take, so that others cannot fill the room.",
    ),
    Setting(
        "KRING_SEND_QUEUE_BYTES",
        "8388608",
        "Bytes waiting to be sent to one device before it counts as gone and is dropped "
        "(it resyncs when it returns); nobody else waits for it.",
    ),
    Setting(
        "KRING_ROOM_IDLE_SECONDS",
        "60",
        "Seconds a document stays in memory after its last device left.",
    ),
    Setting(
        "KRING_COMPACT_AFTER",
        "1000",
        "Logged updates of a document after which they are folded into a snapshot.",
    ),
    Setting("KRING_PING_INTERVAL_SECONDS", "20", "Seconds between websocket pings to each device."),
    Setting(
        "KRING_PING_TIMEOUT_SECONDS",
        "20",
        "Seconds a device may take to answer a ping before its connection is closed.",
    ),
    Setting(
        "KRING_ALLOW_WEAK_DURABILITY",
        "false",
        "Start even when the database may lose a commit on a crash (SQLite without WAL and "
        "synchronous=FULL, PostgreSQL with synchronous_commit=off). Only for throwaway "
        "test databases.",
    ),
    Setting(
        "KRING_REDIS_URL",
        "",
        "Redis that connects several Kring processes serving the same rooms, e.g. "
        "`redis://127.0.0.1:6379/0` (use it with PostgreSQL). Empty: one process.",
    ),
    Setting(
        "KRING_REDIS_PREFIX",
        "kring",
        "Start of the Redis channel names, so several installations can share one Redis.",
    ),
    Setting(
        "KRING_RETENTION_MONTHS",
        "0",
        "Months after a conference closed before the server (hourly) or `kring purge` erases "
        "it with all its data; 0 keeps every conference.",
    ),
    Setting(
        "KRING_HOUSEKEEPING_SECONDS",
        "3600",
        "Seconds between the server's own runs of the reminders and the retention purge (the "
        "first one at start-up).",
    ),
    Setting(
        "KRING_SESSION_CHECK_SECONDS",
        "10",
        "Seconds between the server's checks that every open live connection's sign-in still "
        "holds (ended by another process without Redis, a password reset on the command line, "
        "or past its expiry); ended ones are closed.",
    ),
    Setting(
        "KRING_TIMEZONE",
        DEFAULT_TIME_ZONE,
        "The clock every time is shown on (pages, the PDF, calendar files, mails) and the "
        "day follow-ups fall due by: an IANA time zone like `Europe/Amsterdam`. Times are "
        "stored in UTC, so changing it moves no stored moment.",
    ),
    Setting("KRING_LOG_LEVEL", "info", "Log level: debug, info, warning or error."),
    Setting("KRING_LOG_FORMAT", "text", "`text`, or `json`: one JSON object per line."),
    Setting("KRING_METRICS_TOKEN", "", "Bearer token (16+ characters) that opens `/metrics`."),
    Setting(
        "KRING_METRICS_ALLOW",
        "",
        "Addresses or networks (comma separated) that may read `/metrics` without the token: "
        "the connection's own peer, never a forwarded one. With both empty `/metrics` is off.",
    ),
    Setting(
        "KRING_SMTP_HOST",
        "",
        "Mail server for reminders of the action team's meetings. Empty: no mail is sent "
        "(the calendar feeds still work).",
    ),
    Setting("KRING_SMTP_PORT", "587", "Port of the mail server."),
    Setting("KRING_SMTP_USERNAME", "", "Login at the mail server (empty: none)."),
    Setting("KRING_SMTP_PASSWORD", "", "Password of that login."),
    Setting(
        "KRING_SMTP_FROM",
        "",
        "Sender of the reminders, e.g. `Kring <kring@example.org>`; required with a host.",
    ),
    Setting(
        "KRING_SMTP_SECURITY",
        "starttls",
        "`starttls` (upgrade the connection, usually port 587), `ssl` (TLS from the start, "
        "usually port 465) or `none` (only for a relay on the same host).",
    ),
    Setting(
        "KRING_SMTP_CA_FILE",
        "",
        "PEM file with the certificate authorities trusted for the mail server's TLS "
        "certificate, instead of the system's (for a server with its own authority). Empty: "
        "the system's.",
    ),
)

SMTP_SECURITY = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class Smtp:
    """Where reminders are sent from; ``host`` empty: reminders are off."""

    host: str = ""
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    security: str = "starttls"
    ca_file: str = ""  # empty: the system's certificate authorities

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def tls_context(self) -> ssl.SSLContext:
        """How the mail server's certificate is checked: always, against ``ca_file`` or the
        system's authorities, hostname included."""
        return ssl.create_default_context(cafile=self.ca_file or None)


def _whole_number(env: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{env} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{env} must be at least {minimum}, got {value}")
    return value


def _positive_int(env: str, raw: str) -> int:
    return _whole_number(env, raw, 1)


def _boolean(env: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{env} must be true or false, got {raw!r}")


def _origin(env: str, raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{env} must look like https://kring.example.org, got {raw!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"{env} must not contain a path, got {raw!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one Kring process."""

    instance_dir: Path
    database_url: str
    secret_key: str = field(repr=False)
    base_url: str
    allowed_origins: frozenset[str]
    session_days: int
    invitation_grace_days: int
    login_max_failures: int
    log_level: str
    login_max_failures_per_email: int = 50
    trusted_proxies: str = "127.0.0.1,::1"
    http_header_timeout: int = 10
    max_message_bytes: int = 2 * 1024 * 1024
    max_messages_per_second: int = 50
    max_connections_per_room: int = 300
    max_connections_per_session: int = 4
    max_connections_per_person: int = 12
    family_reserved_connections: int = 30
    send_queue_bytes: int = 8 * 1024 * 1024
    room_idle_seconds: int = 60
    compact_after: int = 1000
    ping_interval_seconds: int = 20
    ping_timeout_seconds: int = 20
    allow_weak_durability: bool = False
    smtp: Smtp = Smtp()
    retention_months: int = 0  # 0: keep every conference
    housekeeping_seconds: int = 3600  # between the server's own runs
    session_check_seconds: int = 10  # between checks that live connections' sign-ins hold
    redis_url: str = field(default="", repr=False)
    redis_prefix: str = "kring"
    time_zone: ZoneInfo = _DEFAULT_ZONE
    log_format: str = "text"  # or "json"
    metrics_token: str = field(default="", repr=False)
    metrics_allow: str = ""  # addresses and networks, comma separated

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every ``KRING_*`` variable; raise SettingsError naming a bad one."""
        env = os.environ if environ is None else environ
        get: Callable[[str], str] = lambda name: _raw(env, name)  # noqa: E731

        def positive(name: str) -> int:
            return _positive_int(name, get(name))

        instance_dir = Path(get("KRING_INSTANCE_DIR")).expanduser().resolve()
        database_url = get("KRING_DATABASE_URL")
        if not database_url:
            _ensure_folder(instance_dir)
            database_url = f"sqlite+aiosqlite:///{instance_dir / 'kring.db'}"
        database_url = _database_url(database_url)
        base_url = _origin("KRING_BASE_URL", get("KRING_BASE_URL"))
        origins = {base_url, *_loopback_aliases(base_url)}
        for item in get("KRING_ALLOWED_ORIGINS").split(","):
            if item.strip():
                origins.add(_origin("KRING_ALLOWED_ORIGINS", item))
        per_room = positive("KRING_MAX_CONNECTIONS_PER_ROOM")
        reserved = _whole_number(
            "KRING_FAMILY_RESERVED_CONNECTIONS", get("KRING_FAMILY_RESERVED_CONNECTIONS"), 0
        )
        if reserved >= per_room:
            raise SettingsError(
                "KRING_FAMILY_RESERVED_CONNECTIONS must be below KRING_MAX_CONNECTIONS_PER_ROOM "
                f"({per_room}), got {reserved}"
            )
        log_level = get("KRING_LOG_LEVEL").lower()
        if log_level not in ("debug", "info", "warning", "error"):
            raise SettingsError(
                f"KRING_LOG_LEVEL must be debug, info, warning or error, got {log_level!r}"
            )
        log_format = get("KRING_LOG_FORMAT").strip().lower()
        if log_format not in ("text", "json"):
            raise SettingsError(f"KRING_LOG_FORMAT must be text or json, got {log_format!r}")
        token = get("KRING_METRICS_TOKEN")
        if token and (len(token) < 16 or not token.isprintable() or " " in token):
            raise SettingsError("KRING_METRICS_TOKEN must be 16+ characters without spaces")
        secret = get("KRING_SECRET_KEY")
        if secret and len(secret) < 32:
            raise SettingsError("KRING_SECRET_KEY must be at least 32 characters long")
        return cls(
            instance_dir=instance_dir,
            database_url=database_url,
            secret_key=secret or _instance_secret(instance_dir),
            base_url=base_url,
            allowed_origins=frozenset(origins),
            session_days=positive("KRING_SESSION_DAYS"),
            invitation_grace_days=positive("KRING_INVITATION_GRACE_DAYS"),
            login_max_failures=positive("KRING_LOGIN_MAX_FAILURES"),
            login_max_failures_per_email=positive("KRING_LOGIN_MAX_FAILURES_PER_EMAIL"),
            trusted_proxies=",".join(_networks("KRING_TRUSTED_PROXIES", get, star=True)),
            http_header_timeout=positive("KRING_HTTP_HEADER_TIMEOUT"),
            log_level=log_level,
            max_message_bytes=positive("KRING_MAX_MESSAGE_BYTES"),
            max_messages_per_second=positive("KRING_MAX_MESSAGES_PER_SECOND"),
            max_connections_per_room=per_room,
            max_connections_per_session=positive("KRING_MAX_CONNECTIONS_PER_SESSION"),
            max_connections_per_person=positive("KRING_MAX_CONNECTIONS_PER_PERSON"),
            family_reserved_connections=reserved,
            send_queue_bytes=positive("KRING_SEND_QUEUE_BYTES"),
            room_idle_seconds=positive("KRING_ROOM_IDLE_SECONDS"),
            compact_after=positive("KRING_COMPACT_AFTER"),
            ping_interval_seconds=positive("KRING_PING_INTERVAL_SECONDS"),
            ping_timeout_seconds=positive("KRING_PING_TIMEOUT_SECONDS"),
            allow_weak_durability=_boolean(
                "KRING_ALLOW_WEAK_DURABILITY", get("KRING_ALLOW_WEAK_DURABILITY")
            ),
            smtp=_smtp(get),
            retention_months=_whole_number(
                "KRING_RETENTION_MONTHS", get("KRING_RETENTION_MONTHS"), 0
            ),
            housekeeping_seconds=positive("KRING_HOUSEKEEPING_SECONDS"),
            session_check_seconds=positive("KRING_SESSION_CHECK_SECONDS"),
            redis_url=_redis_url(get("KRING_REDIS_URL").strip()),
            redis_prefix=_redis_prefix(get("KRING_REDIS_PREFIX").strip()),
            time_zone=_zone(get("KRING_TIMEZONE").strip()),
            log_format=log_format,
            metrics_token=token,
            metrics_allow=",".join(_networks("KRING_METRICS_ALLOW", get)),
        )

    @property
    def room_limits(self) -> Limits:
        return Limits(
            max_message_bytes=self.max_message_bytes,
            messages_per_second=self.max_messages_per_second,
            connections_per_room=self.max_connections_per_room,
            connections_per_session=self.max_connections_per_session,
            connections_per_person=self.max_connections_per_person,
            family_reserved_connections=self.family_reserved_connections,
            send_queue_bytes=self.send_queue_bytes,
            idle_seconds=float(self.room_idle_seconds),
            compact_after=self.compact_after,
        )


_DECLARED = {s.env: s for s in SETTINGS}


def _smtp(get: Callable[[str], str]) -> Smtp:
    host = get("KRING_SMTP_HOST").strip()
    port = _positive_int("KRING_SMTP_PORT", get("KRING_SMTP_PORT"))
    if port > 65535:
        raise SettingsError(f"KRING_SMTP_PORT must be a port number (1-65535), got {port}")
    security = get("KRING_SMTP_SECURITY").strip().lower()
    if security not in SMTP_SECURITY:
        raise SettingsError(f"KRING_SMTP_SECURITY must be starttls, ssl or none, got {security!r}")
    sender = get("KRING_SMTP_FROM").strip()
    if host and "@" not in sender:
        raise SettingsError(
            "KRING_SMTP_FROM must be the sender's address (like Kring <kring@example.org>) "
            f"when KRING_SMTP_HOST is set, got {sender!r}"
        )
    ca_file = get("KRING_SMTP_CA_FILE").strip()
    smtp = Smtp(
        host=host,
        port=port,
        username=get("KRING_SMTP_USERNAME"),
        password=get("KRING_SMTP_PASSWORD"),
        sender=sender,
        security=security,
        ca_file=str(Path(ca_file).expanduser().resolve()) if ca_file else "",
    )
    if ca_file:
        try:
            smtp.tls_context()
        except OSError as exc:  # ssl.SSLError is one too
            raise SettingsError(
                f"KRING_SMTP_CA_FILE {ca_file!r} cannot be read as PEM certificates "
                f"({exc.strerror or exc})"
            ) from None
    return smtp


def _raw(environ: Mapping[str, str], name: str) -> str:
    declared = _DECLARED[name]
    return environ.get(name, declared.default or "")


def _networks(env: str, get: Callable[[str], str], star: bool = False) -> list[str]:
    """A comma-separated list of IP addresses or networks (or "*" where ``star``)."""
    items = [item.strip() for item in get(env).split(",") if item.strip()]
    for item in items:
        try:
            if not (star and item == "*"):
                ipaddress.ip_network(item, strict=False)
        except ValueError:
            also = " (or *)" if star else ""
            message = f"{env} must list IP addresses or networks{also}, got {item!r}"
            raise SettingsError(message) from None
    return items


def _zone(raw: str) -> ZoneInfo:
    """An IANA time zone by name ("Europe/Amsterdam"); a path or unknown name is refused."""
    try:
        if not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", raw):
            raise ValueError(raw)
        return ZoneInfo(raw)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise SettingsError(
            "KRING_TIMEZONE must be a time zone like Europe/Amsterdam or America/New_York "
            f"(an IANA name), got {raw!r}"
        ) from None


def _redis_url(raw: str) -> str:
    if raw and urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            "KRING_REDIS_URL must start with redis://, rediss:// or unix://, "
            f"got {urlsplit(raw).scheme or raw!r}"
        )
    return raw


def _redis_prefix(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", raw):
        raise SettingsError(
            f"KRING_REDIS_PREFIX must be 1 to 40 letters, digits, '.', '_' or '-', got {raw!r}"
        )
    return raw


# ``dialect[+driver]://...``, as SQLAlchemy reads a database URL.
_DATABASE_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9_]*(?:\+[A-Za-z0-9_]+)?)://")


def _database_url(raw: str) -> str:
    scheme = _DATABASE_SCHEME.match(raw)
    if scheme is None:
        raise SettingsError(f"KRING_DATABASE_URL is not a database URL: {raw!r}")
    # One code path, two dialects: plain driver names are mapped to their async drivers.
    drivername = scheme[1]
    if drivername in ("sqlite", "sqlite+aiosqlite"):
        drivername = "sqlite+aiosqlite"
    elif drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        drivername = "postgresql+asyncpg"
    else:
        raise SettingsError(
            f"KRING_DATABASE_URL must be a SQLite or PostgreSQL URL, got {drivername!r}"
        )
    return f"{drivername}://{raw[scheme.end() :]}"


def _ensure_folder(instance_dir: Path) -> None:
    try:
        instance_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"KRING_INSTANCE_DIR {str(instance_dir)!r} cannot be created ({exc.strerror})"
        ) from None


def _instance_secret(instance_dir: Path) -> str:
    """Return the instance's secret key, creating it (mode 0600) on first run."""
    path = instance_dir / "secret_key"
    _ensure_folder(instance_dir)
    try:
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        secret = path.read_text().strip()
    except FileExistsError:  # another process made it between exists() and open()
        secret = path.read_text().strip()
    except OSError as exc:
        raise SettingsError(
            f"KRING_INSTANCE_DIR {str(instance_dir)!r} is not writable ({exc.strerror}); "
            "set KRING_SECRET_KEY or choose another folder"
        ) from None
    if len(secret) < 32:
        raise SettingsError(f"{path} holds a secret key shorter than 32 characters")
    return secret


def _loopback_aliases(origin: str) -> set[str]:
    """On a developer's machine, localhost and 127.0.0.1 are the same place."""
    parts = urlsplit(origin)
    names = {"localhost", "127.0.0.1", "[::1]"}
    if parts.hostname is None or (parts.hostname not in names and parts.hostname != "::1"):
        return set()
    port = f":{parts.port}" if parts.port else ""
    return {f"{parts.scheme}://{name}{port}" for name in names}
