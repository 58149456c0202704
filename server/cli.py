"""The `kring` command: serve, db upgrade, coordinator add/reset-password/two-factor-off,
demo, export, purge, remind, backup, restore.

This module only reads the arguments; what each command does is in ``server/commands.py``.
A command that gives way to the server lowers its priority before it imports anything more
than this module's few standard modules: what it imports then (the settings, the database
layer, the conference modules) is most of its start, about a second of CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from server.limits import WORKER_NICENESS

# What `kring --help` says above the commands: for whoever runs them, so only the docstring's
# first paragraph (the rest is about this module, for whoever reads Kring's source).
DESCRIPTION = (__doc__ or "").split("\n\n")[0]  # (none under python -OO)


def _parser() -> argparse.ArgumentParser:
    from server.rules.phases import PHASES

    parser = argparse.ArgumentParser(prog="kring", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (0.0.0.0 for tablets on the venue's network)",
    )
    serve.add_argument("--port", type=int, default=8000)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="migrate the database to the newest schema")

    coordinator = commands.add_parser("coordinator", help="coordinator accounts")
    actions = coordinator.add_subparsers(dest="coordinator_command", required=True)
    add = actions.add_parser("add", help="create a coordinator account")
    add.add_argument("email")
    add.add_argument("--name", help="display name (default: the part before @)")
    add.add_argument(
        "--admin", action="store_true", help="an admin sees every conference of the organisation"
    )
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    reset = actions.add_parser("reset-password", help="set a new password; ends all sessions")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", action="store_true")
    off = actions.add_parser(
        "two-factor-off", help="turn off a lost second factor (set up again at the next login)"
    )
    off.add_argument("email")

    commands.add_parser(
        "remind",
        help="mail the reminders of action-team meetings that are due (for cron; needs "
        "KRING_SMTP_HOST)",
    )

    demo = commands.add_parser("demo", help="create a demo conference with ~15 participants")
    demo.add_argument("--json", action="store_true", help="print the links as JSON")
    demo.add_argument("--phase", choices=PHASES, default="information")
    demo.add_argument(
        "--if-empty", action="store_true", help="only when the database has no conference yet"
    )

    export = commands.add_parser(
        "export", help="write one conference's data (JSON, documents, plan PDFs) as a zip"
    )
    export.add_argument("conference_id")
    export.add_argument(
        "-o", "--output", type=Path, help="the zip file to write (default: kring-ID.zip)"
    )

    purge_ = commands.add_parser(
        "purge",
        help="erase the conferences closed longer than KRING_RETENTION_MONTHS ago (a running "
        "server does so by itself, hourly)",
    )
    purge_.add_argument("--dry-run", action="store_true", help="only list what would be erased")

    backup = commands.add_parser(
        "backup", help="copy the whole database to PATH (mode 0600) while the server runs"
    )
    backup.add_argument("path", type=Path)
    backup.add_argument("--verify", action="store_true", help="check the backup in PATH instead")
    backup.add_argument("--new-key", action="store_true", help="write a new key file to PATH")
    restore = commands.add_parser("restore", help="replace the database with the backup in PATH")
    restore.add_argument("path", type=Path)
    restore.add_argument("--force", action="store_true", help="even if the database holds data")
    for parser_ in (backup, restore):
        parser_.add_argument(
            "--key",
            type=Path,
            metavar="FILE",
            help="key file that encrypts or opens it (default KRING_BACKUP_KEY)",
        )
    return parser


# Commands that read a whole database or conference beside a running server (a backup and its
# check, an export) give way to it, as the server's own worker processes do: when both want
# the CPU, the families' typing goes first and the command takes a little longer.
GIVE_WAY = frozenset({"backup", "export"})


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in GIVE_WAY:  # the command comes first: no global options
        _give_way()
    args = _parser().parse_args(arguments)
    from server.clock import use_time_zone
    from server.commands import CommandError, run
    from server.settings import Settings, SettingsError
    from server.storage.errors import BackupError

    try:
        settings = Settings.from_env()
        use_time_zone(settings.time_zone)
        return run(args, settings)
    except (SettingsError, CommandError) as exc:
        print(f"kring: {exc}", file=sys.stderr)
        return 2
    except BackupError as exc:
        print(f"kring: {exc}", file=sys.stderr)
        return 1


def _give_way() -> None:
    with contextlib.suppress(OSError):  # not allowed here: it runs at its normal priority
        os.nice(WORKER_NICENESS)


if __name__ == "__main__":
    sys.exit(main())
