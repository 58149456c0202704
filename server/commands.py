"""What each `kring` command does (``run``), once ``server/cli.py`` has read its arguments.

Kept apart from the argument parsing so that starting the command line costs little: a
command that gives way to a running server lowers its priority before it imports any of
this (the database layer, the conference modules), and a worker process of the heavy work,
which imports the command line as its main module, never loads it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from server.conference import auth, backups, erasure, export, reminders
from server.rules.phases import coordinator_reads_plan
from server.settings import Settings
from server.storage.base import sqlite_file_missing
from server.storage.migrate import NewerSchema, schema_problem, upgrade
from server.storage.sealed import write_new_key
from server.storage.store import DuplicateEmail, Store

DEMO_EMAIL = "coordinator@demo.kring.example"
DEMO_COORDINATOR = "Lotte Hendriks"
DEMO_CLIENT = "Sam Yılmaz"
DEMO_QUESTION = (
    "Hoe zorgen we er samen voor dat Sam veilig thuis kan blijven wonen en volgend jaar "
    "zijn diploma haalt?"
)
# About fifteen people across all roles, as at a real conference (the first 50 Dutch
# conferences averaged 15 participants: server/rules/outcomes.py);
# names with Turkish and Polish letters, because families' names have them.
# The demo meets in a fortnight, one afternoon, at a made-up address.
DEMO_LOCATION = "Buurthuis De Kring"
DEMO_ADDRESS = "Kringweg 1, 3511 AA Utrecht"
DEMO_HOURS = (time(14, 0), time(17, 0))
DEMO_PARTICIPANTS: tuple[tuple[str, str], ...] = (
    (DEMO_CLIENT, "client"),
    ("Ayşe Yılmaz", "network_member"),
    ("Mehmet Yılmaz", "network_member"),
    ("Fatma Yılmaz", "network_member"),
    ("Derya Yılmaz", "network_member"),
    ("Elif Demir", "network_member"),
    ("Jan de Boer", "network_member"),
    ("Małgorzata Kowalska", "network_member"),
    ("Peter Jansen", "network_member"),
    ("Noah Bakker", "network_member"),
    ("Karin Lindeman", "network_member"),
    ("Iris van Dam", "professional"),
    ("Thomas Visser", "professional"),
    ("Sanne Smit", "mandated_professional"),
)


class CommandError(Exception):
    """A CLI failure with a message for the person at the terminal."""


def _read_password(from_stdin: bool, email: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Wachtwoord: ")
        if password != getpass.getpass("Nog een keer: "):
            raise CommandError("the two passwords differ")
    problem = auth.password_problem(password, email)  # as the browser checks it
    if problem:
        raise CommandError(problem)
    return password


async def _with_store(settings: Settings, work: Any) -> Any:
    """``work(store)`` on the database, which must be at this Kring's schema (as the server
    checks at start-up): a missing or older database is the operator's to upgrade first."""
    missing = sqlite_file_missing(settings.database_url)
    if missing is not None:  # (opening it would leave an empty file behind)
        raise CommandError(f"there is no database at {missing}: run `kring db upgrade` first")
    store = Store.connect(settings.database_url)
    try:
        problem = schema_problem(await store.schema_revision())
        if problem is not None:
            raise CommandError(problem)
        return await work(store)
    finally:
        await store.close()


async def coordinator_add(
    settings: Settings, email: str, name: str, password: str, role: str
) -> None:
    async def work(store: Store) -> None:
        try:
            await store.create_account(email, name, await auth.hash_password(password), role)
        except DuplicateEmail as exc:
            raise CommandError(str(exc)) from None

    await _with_store(settings, work)


async def coordinator_reset_password(settings: Settings, email: str, password: str) -> None:
    async def work(store: Store) -> None:
        if not await store.set_password(email, await auth.hash_password(password)):
            raise CommandError(f"no account for {email.strip().lower()}")

    await _with_store(settings, work)


async def coordinator_two_factor_off(settings: Settings, email: str) -> None:
    """For a coordinator who lost their phone and their recovery codes: audited as "cli"."""

    async def work(store: Store) -> None:
        account = await store.account_by_email(email)
        if account is None or not await store.turn_off_second_factor(account.id):
            raise CommandError(f"no second factor for {email.strip().lower()}")
        await store.audit(None, "cli", "two_factor_off", {"account_id": account.id})

    await _with_store(settings, work)


async def create_demo(settings: Settings, phase: str, if_empty: bool) -> dict[str, Any] | None:
    """Create the demo conference and return what `kring demo --json` prints:
    ``{"conference_id", "coordinator": {"email", "password", "login_url"}, "participants":
    [{"name", "role", "invitation_url"}]}`` (None if skipped)."""

    async def work(store: Store) -> dict[str, Any] | None:
        if if_empty and not await store.is_empty():
            return None
        password = secrets.token_urlsafe(12)
        password_hash = await auth.hash_password(password)
        account = await store.account_by_email(DEMO_EMAIL)
        if account is None:
            account = await store.create_account(DEMO_EMAIL, DEMO_COORDINATOR, password_hash)
        else:  # a fresh password each run, so the printed one always works
            await store.set_password(DEMO_EMAIL, password_hash)
        day = datetime.now(settings.time_zone).date() + timedelta(weeks=2)
        start, end = (
            datetime.combine(day, hour, tzinfo=settings.time_zone).astimezone(UTC)
            for hour in DEMO_HOURS
        )
        conference = await store.create_conference(
            account,
            DEMO_CLIENT,
            DEMO_QUESTION,
            meeting_date=day,
            location=DEMO_LOCATION,
            starts_at=start,
            ends_at=end,
            address=DEMO_ADDRESS,
        )
        people = []
        for name, role in DEMO_PARTICIPANTS:
            participant = await store.add_participant(conference.id, name, role)
            url = await auth.issue_link(store, settings, participant.id)
            people.append({"name": name, "role": role, "invitation_url": url})
        await store.set_phase(conference.id, phase)
        await store.audit(conference.id, "cli", "conference_created", {"demo": True})
        return {
            "conference_id": conference.id,
            "coordinator": {
                "email": DEMO_EMAIL,
                "password": password,
                "login_url": f"{settings.base_url}/login",
            },
            "participants": people,
        }

    result: dict[str, Any] | None = await _with_store(settings, work)
    return result


def remind(settings: Settings) -> int:
    """Send the reminders that are due; the exit code is 1 if any could not be sent."""
    if not settings.smtp.enabled:
        raise CommandError("KRING_SMTP_HOST is not set: reminders by mail are off, none sent")

    async def work(store: Store) -> reminders.Outcome:
        return await reminders.send_due(store, settings)

    outcome: reminders.Outcome = asyncio.run(_with_store(settings, work))
    print(f"{len(outcome.sent)} reminder(s) sent")
    for reminder, reason in outcome.failed:
        print(f"kring: {reminders.describe_failure(reminder, reason)}", file=sys.stderr)
    if outcome.not_tried:
        print(
            f"kring: {outcome.not_tried} more not tried because the mail server failed; "
            "they are sent on the next run",
            file=sys.stderr,
        )
    return 1 if outcome.failed or outcome.not_tried else 0


async def export_conference(settings: Settings, conference_id: str, path: Path) -> None:
    """Write the conference's export zip (as the coordinator's download) to ``path``, then
    audit it as by "cli": an export that could not be written (a full disk) is not recorded
    as made."""

    async def work(store: Store) -> None:
        conference = await store.conference(conference_id)
        if conference is None:
            raise CommandError(f"no conference {conference_id}")
        if not coordinator_reads_plan(conference.phase):
            raise CommandError(
                f"conference {conference_id} is in phase {conference.phase}, in which its "
                "coordinator may not read the plan; export is possible from the presentation on"
            )
        # In this process (no live rooms to keep serving), as a server's worker makes it.
        try:
            data = await export.make(store, conference_id)
        except export.ExportRefused:
            raise CommandError(
                f"conference {conference_id} went to a phase in which its coordinator may not "
                "read the plan while it was exported"
            ) from None
        except export.ExportGone:
            raise CommandError(
                f"conference {conference_id} was erased while it was exported"
            ) from None
        try:
            _write_private(path, data)
        except OSError as exc:  # a full disk, no permission: the operator's to fix
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        await store.audit(conference_id, "cli", "conference_exported", {"bytes": len(data)})

    await _with_store(settings, work)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (an export holds a family's personal data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(fd, 0o600)  # open's mode counts only for a new file; an old one keeps its own
        handle.write(data)


async def purge(settings: Settings, dry_run: bool) -> tuple[list[str], int]:
    """Erase every conference closed longer than KRING_RETENTION_MONTHS ago, as the server
    does hourly (for when no server runs), after finishing any erasure that was interrupted;
    one line per conference (its id and when it closed, never a name), and how many of them
    were interrupted erasures."""

    async def work(store: Store) -> list[erasure.Purged]:
        return await erasure.purge(store, settings.retention_months, "cli", dry_run=dry_run)

    purged: list[erasure.Purged] = await _with_store(settings, work)
    lines = []
    for item in purged:
        closed = f"closed {item.closed_at.date().isoformat()}" if item.closed_at else "interrupted"
        where = f"{item.conference_id} ({closed})"
        result = item.erasure
        if dry_run:
            lines.append(f"would {'finish erasing' if item.closed_at is None else 'erase'} {where}")
        elif result is None:
            lines.append(f"erased {where} meanwhile by another process")
        else:
            files = "files scrubbed" if result.scrubbed.done else "files not yet scrubbed"
            lines.append(f"erased {where}: {sum(result.erased.rows.values())} rows, {files}")
    return lines, sum(item.closed_at is None for item in purged)


def _print_demo(demo: dict[str, Any]) -> None:
    coordinator = demo["coordinator"]
    print(f"Demo conference {demo['conference_id']} for {DEMO_CLIENT}.")
    print(
        f"Coordinator: {coordinator['login_url']}  {coordinator['email']} / "
        f"{coordinator['password']}"
    )
    print("Personal links:")
    for person in demo["participants"]:
        print(f"  {person['name']:<22} {person['role']:<22} {person['invitation_url']}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Do the command ``args`` names (parsed by ``server.cli``); its exit code."""
    if args.command == "serve":
        import uvicorn

        from server.conference.events import shutdown_all
        from server.httpserver import FrameWritingProtocol, header_deadline_protocol

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                shutdown_all()  # event streams never end on their own; end them now
                super().handle_exit(sig, frame)

        config = uvicorn.Config(
            "server.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            # The app believes KRING_TRUSTED_PROXIES itself (app.PeerAndProxies): it must
            # see the connection's own peer first, for /metrics.
            proxy_headers=False,
            # Half-sent requests are closed (uvicorn alone waits for ever on a new connection).
            http=header_deadline_protocol(settings.http_header_timeout),
            timeout_keep_alive=5,
            log_level=settings.log_level,
            ws=FrameWritingProtocol,
            # A backstop above Kring's own limit, which closes with 1009 and a reason.
            ws_max_size=2 * settings.max_message_bytes,
            ws_ping_interval=settings.ping_interval_seconds,
            ws_ping_timeout=settings.ping_timeout_seconds,
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=30,
        )
        Server(config).run()
    elif args.command == "db":
        try:
            upgrade(settings.database_url)
        except NewerSchema as exc:
            raise CommandError(str(exc)) from None
        print("database schema is up to date", file=sys.stderr)
    elif args.command == "coordinator" and args.coordinator_command == "add":
        password = _read_password(args.password_stdin, args.email)
        name = args.name or args.email.split("@")[0]
        role = "admin" if args.admin else "coordinator"
        asyncio.run(coordinator_add(settings, args.email, name, password, role))
        print(f"{role} {args.email.strip().lower()} added", file=sys.stderr)
    elif args.command == "coordinator" and args.coordinator_command == "two-factor-off":
        asyncio.run(coordinator_two_factor_off(settings, args.email))
        print(f"second factor of {args.email.strip().lower()} turned off", file=sys.stderr)
    elif args.command == "coordinator":
        password = _read_password(args.password_stdin, args.email)
        asyncio.run(coordinator_reset_password(settings, args.email, password))
        print(
            f"password of {args.email.strip().lower()} changed; its sessions ended", file=sys.stderr
        )
    elif args.command == "remind":
        return remind(settings)
    elif args.command == "demo":
        demo = asyncio.run(create_demo(settings, args.phase, args.if_empty))
        if demo is None:
            print("the database already has conferences; no demo created", file=sys.stderr)
        elif args.json:
            print(json.dumps(demo, ensure_ascii=False, indent=2))
        else:
            _print_demo(demo)
    elif args.command == "export":
        path = args.output or Path(f"kring-{args.conference_id}.zip")
        if not path.parent.is_dir():  # said before a long export, not after
            raise CommandError(f"cannot write {path}: there is no folder {path.parent}")
        if path.is_dir():  # (`-o /backups/`): else the export was made, and audited, for nothing
            raise CommandError(
                f"cannot write {path}: it is a folder; name the zip file in it, like "
                f"{path / f'kring-{args.conference_id}.zip'}"
            )
        asyncio.run(export_conference(settings, args.conference_id, path))
        print(f"conference {args.conference_id} exported to {path}", file=sys.stderr)
    elif args.command == "purge":
        lines, interrupted = asyncio.run(purge(settings, args.dry_run))
        for line in lines:
            print(line)

        if interrupted:
            what = "would be finished" if args.dry_run else "finished"
            print(f"{interrupted} interrupted erasure(s) {what}", file=sys.stderr)
        if settings.retention_months == 0:
            print("KRING_RETENTION_MONTHS is 0: every conference is kept", file=sys.stderr)
            return 0
        what = "would be erased" if args.dry_run else "erased"
        print(
            f"{len(lines) - interrupted} conference(s) closed over "
            f"{settings.retention_months} months ago {what}",
            file=sys.stderr,
        )
    elif args.command == "backup" and args.new_key:
        write_new_key(args.path)
        print(f"new backup key in {args.path}: keep a copy apart from the backups", file=sys.stderr)
    elif args.command == "backup":
        work = backups.check if args.verify else backups.take
        print(asyncio.run(work(settings, args.path, args.key)).summary(args.path))
    elif args.command == "restore":
        report = asyncio.run(backups.restore(settings, args.path, args.key, force=args.force))
        print(f"restored: {report.summary(args.path)}")
    return 0
