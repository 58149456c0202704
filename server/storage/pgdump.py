"""PostgreSQL backups through its own tools: ``pg_dump --format=custom`` makes one (from one
snapshot, so it is consistent while the servers write), ``pg_restore`` reads it back.

The connection is handed to them in libpq's environment variables (PGHOST, PGPASSWORD, ...),
never on the command line, where every user of the machine could read a password. Both tools
come with Debian's ``postgresql-client``; ``pg_dump`` must be the server's major version or
newer (it refuses an older one, and its message is passed on).

A dump is checked without any database: ``pg_restore -f -`` turns the whole archive into SQL
(every compressed block is read and checked on the way), of which the rows of
``alembic_version``, ``doc_snapshot``, ``doc_update`` and ``plan_version`` are read from
their ``COPY`` sections.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from sqlalchemy.engine import make_url

from server.storage.errors import BackupError

CHUNK = 1024 * 1024
# The tables whose rows a check reads, and the columns it takes from each.
WANTED = {
    "alembic_version": ("version_num",),
    "doc_snapshot": ("conference_id", "document", "data"),
    "doc_update": ("id", "conference_id", "document", "data"),
    "plan_version": ("conference_id", "number", "state"),
}
_COPY = re.compile(r"COPY (?:public\.)?\"?(\w+)\"? \((.*)\) FROM stdin;")
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_NAMED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}

Rows = dict[str, list[tuple[str | None, ...]]]


def environment(database_url: str) -> dict[str, str]:
    """libpq's variables for this database (what its URL says), over the process's own."""
    url = make_url(database_url)
    env = dict(os.environ)  # an operator's own PGSSLROOTCERT and the like still count
    given = {
        "PGHOST": url.host or str(url.query.get("host") or ""),
        "PGPORT": str(url.port or ""),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "",
        "PGSSLMODE": str(url.query.get("sslmode") or url.query.get("ssl") or ""),
    }
    env.update({name: value for name, value in given.items() if value})
    env["PGAPPNAME"] = "kring backup"
    env["PGCONNECT_TIMEOUT"] = "10"
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install Debian's postgresql-client (the PostgreSQL "
            "server's major version or newer)"
        )
    return found


def _failed(what: str, code: int, stderr: IO[bytes]) -> BackupError:
    stderr.seek(0)
    lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
    said = "; ".join(lines[-3:]) or f"exit code {code}"
    return BackupError(f"{what} failed: {said}")


def dump(database_url: str) -> Iterator[bytes]:
    """The database as a ``pg_dump --format=custom`` archive, piece by piece."""
    command = [_tool("pg_dump"), "--format=custom", "--no-password"]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 (a fixed command; the URL goes in env)
            command, stdout=subprocess.PIPE, stderr=stderr, env=environment(database_url)
        )
        assert process.stdout is not None
        try:
            yield from iter(lambda: process.stdout.read(CHUNK), b"")  # type: ignore[union-attr]
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            raise _failed("pg_dump", code, stderr)


class _Feeder(threading.Thread):
    """Writes ``chunks`` into a tool's standard input from a thread of its own (its output
    is read at the same time); a failure of ``chunks`` is kept for the caller."""

    def __init__(self, process: subprocess.Popen[bytes], chunks: Iterable[bytes]) -> None:
        super().__init__(name="kring-backup-feed", daemon=True)
        self.process, self.chunks = process, chunks
        self.failure: BaseException | None = None

    def run(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            for chunk in self.chunks:
                stdin.write(chunk)
        except BrokenPipeError:
            pass  # the tool stopped reading: its exit code says why
        except BaseException as exc:  # a damaged sealed file: reported by the caller
            self.failure = exc
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()


def _run_restore(
    arguments: list[str],
    chunks: Iterable[bytes],
    env: dict[str, str] | None,
    on_output: Callable[[IO[bytes]], None] | None,
    what: str,
) -> None:
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(  # noqa: S603 (a fixed command; the URL goes in env)
            [_tool("pg_restore"), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if on_output else subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
        feeder = _Feeder(process, chunks)
        feeder.start()
        try:
            if on_output is not None:
                assert process.stdout is not None
                on_output(process.stdout)
        finally:
            if process.stdout is not None:
                process.stdout.close()
            code = process.wait()
            feeder.join()
        if feeder.failure is not None:
            raise feeder.failure
        if code != 0:
            raise _failed(what, code, stderr)


def read_rows(chunks: Iterable[bytes], name: str) -> Rows:
    """Read a whole archive with ``pg_restore``; the rows of the ``WANTED`` tables."""
    rows: Rows = {table: [] for table in WANTED}

    def collect(output: IO[bytes]) -> None:
        table: str | None = None
        columns: list[int] = []
        skipping = False
        for raw in output:
            line = raw.decode("utf-8").rstrip("\n")
            if table is not None or skipping:
                if line == "\\.":
                    table, skipping = None, False
                elif table is not None:
                    fields = line.split("\t")
                    rows[table].append(tuple(_unescape(fields[i]) for i in columns))
                continue
            found = _COPY.fullmatch(line)
            if found is None:
                continue
            names = [column.strip().strip('"') for column in found[2].split(",")]
            if found[1] in WANTED:
                table = found[1]
                columns = [names.index(column) for column in WANTED[table]]
            else:
                skipping = True

    try:
        _run_restore(
            ["--file=-"], chunks, None, collect, f"{name} is truncated or damaged: pg_restore"
        )
    except (ValueError, IndexError):
        raise BackupError(f"{name} is damaged: a table's rows cannot be read") from None
    return rows


def restore(database_url: str, chunks: Iterable[bytes]) -> None:
    """Replace the database's tables with the archive's, in one transaction: on any error
    nothing of it is changed."""
    arguments = [
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-acl",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={make_url(database_url).database}",
    ]
    _run_restore(arguments, chunks, environment(database_url), None, "pg_restore")


def _unescape(field: str) -> str | None:
    """One field of COPY's text format (``\\N`` is NULL)."""
    if field == "\\N":
        return None

    def one(escape: re.Match[str]) -> str:
        octal, hexadecimal, char = escape.groups()
        if octal:
            return chr(int(octal, 8))
        if hexadecimal:
            return chr(int(hexadecimal, 16))
        return _NAMED.get(char, char)

    return _ESCAPE.sub(one, field)


def bytea(value: str | None) -> bytes:
    """A bytea column's value as COPY writes it (hex format: ``\\x0a1b...``)."""
    if value is None or not value.startswith("\\x"):
        raise ValueError("not a hex bytea")
    return bytes.fromhex(value[2:])
