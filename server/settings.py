"""All of Kring's configuration, read once from ``KRING_*`` environment variables.

Each setting is declared exactly once, in ``server/settings_declared.py`` (name, default,
help). The README's
configuration table is checked against these declarations by a test, so a setting cannot
exist without being documented.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import secrets
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.clock import DEFAULT_TIME_ZONE
from server.limits import Limits
from server.settings_declared import SETTINGS

_DEFAULT_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


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


def spare_cores(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max"), cores: int | None = None) -> int:
    """The default of KRING_HEAVY_JOBS: the cores this process may use, but one (at least
    one). The live rooms' event loop keeps a core: on two cores, two PDFs made at once took as
    long in all as one after the other, and doubled how long a family's edit could wait
    (bench/README.md). A CPU limit of the service (systemd's CPUQuota=, a container's
    --cpus: cgroup v2's ``cpu.max``) counts as fewer cores."""
    if cores is None:  # the cores this process may run on
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 here, or not readable: no limit known
        pass
    return max(1, cores - 1)


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
class Backups:
    """The nightly backup: ``folder`` None means none is made; ``at`` on the instance's clock."""

    folder: Path | None = None
    keep: int = 14
    at: time = time(2, 30)
    key_file: Path | None = None


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
    heavy_jobs: int = 1  # PDF copies and export zips made at the same time (spare_cores())
    heavy_wait_seconds: int = 30  # a page's wait for one of them, then 503
    session_check_seconds: int = 10  # between checks that live connections' sign-ins hold
    redis_url: str = field(default="", repr=False)
    redis_prefix: str = "kring"
    time_zone: ZoneInfo = _DEFAULT_ZONE
    backups: Backups = Backups()
    log_format: str = "text"  # or "json"
    metrics_token: str = field(default="", repr=False)
    metrics_allow: str = ""  # addresses and networks, comma separated
    loop_lag_warn_ms: int = 100  # a later wake-up of the event loop is logged; 0: never

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
            heavy_jobs=(
                positive("KRING_HEAVY_JOBS") if get("KRING_HEAVY_JOBS").strip() else spare_cores()
            ),
            heavy_wait_seconds=positive("KRING_HEAVY_WAIT_SECONDS"),
            session_check_seconds=positive("KRING_SESSION_CHECK_SECONDS"),
            redis_url=_redis_url(get("KRING_REDIS_URL").strip()),
            redis_prefix=_redis_prefix(get("KRING_REDIS_PREFIX").strip()),
            time_zone=_zone(get("KRING_TIMEZONE").strip()),
            backups=_backups(get),
            log_format=log_format,
            metrics_token=token,
            metrics_allow=",".join(_networks("KRING_METRICS_ALLOW", get)),
            loop_lag_warn_ms=_whole_number(
                "KRING_LOOP_LAG_WARN_MS", get("KRING_LOOP_LAG_WARN_MS"), 0
            ),
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


def _backups(get: Callable[[str], str]) -> Backups:
    folder, key = (get(name).strip() for name in ("KRING_BACKUP_DIR", "KRING_BACKUP_KEY"))
    at = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", get("KRING_BACKUP_TIME").strip())
    if at is None:
        raise SettingsError(f"KRING_BACKUP_TIME must be HH:MM, got {get('KRING_BACKUP_TIME')!r}")
    if key and not os.access(key, os.R_OK):
        raise SettingsError(f"KRING_BACKUP_KEY {key!r} cannot be read")
    if folder:
        _ensure_folder(Path(folder), "KRING_BACKUP_DIR")
    return Backups(
        folder=Path(folder).expanduser().resolve() if folder else None,
        keep=_positive_int("KRING_BACKUP_KEEP", get("KRING_BACKUP_KEEP")),
        at=time(int(at[1]), int(at[2])),
        key_file=Path(key).expanduser().resolve() if key else None,
    )


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


def _ensure_folder(folder: Path, env: str = "KRING_INSTANCE_DIR") -> None:
    """The folder, made if it is not there yet: for Kring's own user only (it holds the
    database, the secret key, exports); a folder the operator made keeps its own mode."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"{env} {str(folder)!r} cannot be created ({exc.strerror})") from None


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
