"""The server's processes as the kernel sees them (Linux /proc): which it started, directly or
through the fork server its worker processes are made from, whether they still run, and at
what priority."""

from __future__ import annotations

import contextlib
from pathlib import Path


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from its third field (the state) on."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def parent_of(pid: int) -> int:
    """The process that started ``pid``."""
    return int(_stat(pid)[1])


def niceness_of(pid: int) -> int:
    """How readily ``pid`` gives the CPU away (0 normal, 19 most)."""
    return int(_stat(pid)[16])


def running(pid: int) -> bool:
    """Whether ``pid`` is still there (a zombie waiting to be reaped is not)."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def _command_line(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


def descendants_of(pid: int) -> set[int]:
    """Every running process ``pid`` started, and those they started, and so on."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):  # gone meanwhile
                state, parent = _stat(int(entry.name))[:2]
                if state != "Z":
                    parents[int(entry.name)] = int(parent)
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, of in parents.items() if of == parent]
        found.update(children)
        todo.extend(children)
    return found


def is_descendant(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` started ``pid``, or started the process that started it, ..."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for _ in range(10):  # a worker is two steps from the server: through the fork server
            pid = parent_of(pid)
            if pid == ancestor:
                return True
            if pid <= 1:
                return False
    return False


def heavy_workers_of(server: int) -> list[int]:
    """The server's worker processes of the heavy work: forks of its fork server (Linux), or
    each a fresh interpreter (where there is no fork server)."""
    workers = []
    for pid in descendants_of(server):
        command = _command_line(pid)
        forked = b"multiprocessing.forkserver" in command and parent_of(pid) != server
        if forked or b"spawn_main" in command:
            workers.append(pid)
    return workers
