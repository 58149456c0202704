"""The settings Kring reads: every ``KRING_*`` environment variable, declared exactly once
(name, default, help), here. ``server/settings.py`` reads them; the README's configuration
table is checked against this list by a test, so no setting goes undocumented."""

from __future__ import annotations

from dataclasses import dataclass

from server.clock import DEFAULT_TIME_ZONE


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
    Setting(
        "KRING_PING_INTERVAL_SECONDS",
        "20",
        "Seconds between websocket pings to each device.",
    ),
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
        "KRING_HEAVY_JOBS",
        "",
        "How many PDF copies, export zips and outcomes pages one process makes at the same "
        "time (empty: one fewer than the cores it may use, at least one); more wait their turn "
        "(a page at most KRING_HEAVY_WAIT_SECONDS, then a 503 that asks to try again), so "
        "heavy work never takes the CPU and memory the live rooms need.",
    ),
    Setting(
        "KRING_HEAVY_WAIT_SECONDS",
        "30",
        "Seconds a page (a PDF, the export zip, the outcomes) waits for one of "
        "KRING_HEAVY_JOBS before it answers 503 with Retry-After; an export started from its "
        "page waits its turn.",
    ),
    Setting("KRING_BACKUP_DIR", "", "Folder of the nightly backups (empty: none are made)."),
    Setting("KRING_BACKUP_KEEP", "14", "Nightly backups kept; older ones are deleted."),
    Setting("KRING_BACKUP_TIME", "02:30", "When the nightly backup runs (HH:MM, KRING_TIMEZONE)."),
    Setting("KRING_BACKUP_KEY", "", "Key file that encrypts the backups (empty: not encrypted)."),
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
    Setting(
        "KRING_LOG_LEVEL",
        "info",
        "Log level: debug, info, warning or error.",
    ),
    Setting("KRING_LOG_FORMAT", "text", "`text`, or `json`: one JSON object per line."),
    Setting("KRING_METRICS_TOKEN", "", "Bearer token (16+ characters) that opens `/metrics`."),
    Setting(
        "KRING_METRICS_ALLOW",
        "",
        "Addresses or networks (comma separated) that may read `/metrics` without the token: "
        "the connection's own peer, never a forwarded one. With both empty `/metrics` is off.",
    ),
    Setting(
        "KRING_LOOP_LAG_WARN_MS",
        "100",
        "Milliseconds the event loop may wake up late before a warning is logged naming the "
        "heavy work and the HTTP routes that ran meanwhile (at most one line a second); 0: "
        "never.",
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
