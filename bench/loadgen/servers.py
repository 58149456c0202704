"""The servers under test: a throwaway Kring, and the reference (y-websocket's own server).

Both run as subprocesses of the bench on a free loopback port and are read from the outside
through /proc (CPU per thread, RSS, peak RSS). ``KringServer`` gets its own temporary
instance folder (SQLite, secret key); ``RefServer`` is ``@y/websocket-server`` from
bench/node (installed there by ``npm ci`` on first use), in memory, without persistence and
without auth: a device connects to ``ws://127.0.0.1:PORT/<room>/<document>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_DIR = ROOT / "bench" / "node"
FORBIDDEN_PORTS = {8000, 8765}
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --server-gc: the server runs as ``python -c GC_WRAPPER serve ...``, which is
# ``python -m server.cli serve ...`` plus a gc.callbacks hook that logs every collection
# (monotonic clock, generation, milliseconds) so that pauses can be lined up with latencies.
GC_WRAPPER = """
import gc, os, sys, time
_log = open(os.environ["KRING_BENCH_GC_LOG"], "a", buffering=1)
_start = [0.0]
def _timed(phase, info):
    if phase == "start":
        _start[0] = time.perf_counter()
    else:
        now = time.perf_counter()
        _log.write(f"{now:.6f} {info['generation']} {(now - _start[0]) * 1000:.3f}\\n")
gc.callbacks.append(_timed)
from server.cli import main
sys.exit(main())
"""
OPTIONS: dict[str, bool] = {}  # "server_gc": log Kring's collections (--server-gc)


def die_with_parent() -> None:
    """In the child: get SIGKILL when the bench process dies, however it dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in FORBIDDEN_PORTS:
            return port
    raise RuntimeError("no free port")


class ServerProcess:
    """A server subprocess on a free port, with its log in a temporary folder."""

    kind = ""  # "kring" or "ref"
    name = ""  # as printed
    thread_label = ""  # what its other threads are

    def __init__(self, label: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"kring-bench-{self.kind}-{label}-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.rss_start = 0
        self.env: dict[str, str] = {}

    # what each kind says differently

    def command(self) -> list[str]:
        raise NotImplementedError

    def health_url(self) -> str:
        raise NotImplementedError

    def ws_url(self, room: str, document: str = "plan") -> str:
        raise NotImplementedError

    def warnings(self) -> list[str]:
        raise NotImplementedError

    # running it

    def start(self, within: float = 30.0) -> float:
        """Start the server and wait until it answers; return how long that took (s)."""
        assert self.proc is None
        t0 = time.perf_counter()
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child)
        try:
            self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter or node, our arguments)
                self.command(),
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        self.starts += 1
        deadline = t0 + within
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.health_url(), timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        took = time.perf_counter() - t0
                        self.reset_peak()
                        return took
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {within:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # /proc readings of the server process

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def thread_cpu(self) -> dict[int, float]:
        """CPU seconds per thread of the server (the main thread runs the event loop)."""
        assert self.proc is not None
        out = {}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                out[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        return out

    def reset_peak(self) -> None:
        """Start VmHWM afresh once the server answers: its startup peak (Kring's auth.py
        hashes a dummy password with argon2's 64 MiB at import) would otherwise hide the
        peak of the load itself."""
        assert self.proc is not None
        with contextlib.suppress(OSError), open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")
        self.rss_start = self.memory_kb()["VmRSS"]

    def memory_kb(self) -> dict[str, int]:
        assert self.proc is not None
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
        return out


class KringServer(ServerProcess):
    """A throwaway Kring: temp folder, database, env, and ``python -m server.cli serve``."""

    kind = "kring"
    name = "Kring"
    thread_label = "aiosqlite"

    def __init__(self, label: str, **extra_env: str) -> None:
        super().__init__(label)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRING_")}
        env.update(
            KRING_INSTANCE_DIR=str(self.dir),
            KRING_BASE_URL=self.base_url,
            KRING_SECRET_KEY=secrets.token_urlsafe(48),
            KRING_LOG_LEVEL="warning",
            KRING_MAX_CONNECTIONS_PER_ROOM="2000",
            KRING_MAX_MESSAGES_PER_SECOND="1000",
        )
        env.update(extra_env)
        self.env = env
        self.settings = Settings.from_env(env)
        self.db_path = self.dir / "kring.db"

    def command(self) -> list[str]:
        if OPTIONS.get("server_gc"):
            self.env["KRING_BENCH_GC_LOG"] = str(self.dir / "gc.log")
            return [sys.executable, "-c", GC_WRAPPER, "serve", "--port", str(self.port)]
        return [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)]

    def health_url(self) -> str:
        return f"{self.base_url}/healthz"

    def ws_url(self, room: str, document: str = "plan") -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{room}/{document}"

    def upgrade(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "server.cli", "db", "upgrade"],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def warnings(self) -> list[str]:
        # Kring's own format ("... WARNING kring.rooms: ...") and uvicorn's ("ERROR:    ...")
        return [
            line
            for line in self.log_text().splitlines()
            if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line) or line.startswith("Traceback")
        ]

    def gc_pauses(self, since: float, until: float) -> list[tuple[float, int, float]]:
        """(monotonic time, generation, ms) of the server's collections in a time range."""
        out = []
        with contextlib.suppress(OSError), open(self.dir / "gc.log") as f:
            for line in f:
                at, generation, took = line.split()
                if since <= float(at) <= until:
                    out.append((float(at), int(generation), float(took)))
        return out

    def count_rows(self, query: str, *params: Any) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as db:
            return int(db.execute(query, params).fetchone()[0])


def ensure_reference() -> Path:
    """bench/node/node_modules, installed by ``npm ci`` when missing or older than the lock
    file; the path of the server's bin (``y-websocket``)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("the reference server needs node and npm on PATH")
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        print(f"  .. npm ci in {NODE_DIR} (first use of the reference server)", file=sys.stderr)
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],  # noqa: S607
            cwd=NODE_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return NODE_DIR / "node_modules" / ".bin" / "y-websocket"


def reference_version() -> str:
    """'@y/websocket-server 0.1.1 (yjs 13.6.33, ws 6.2.3), node v20' from what is installed."""

    def version(package: str) -> str:
        path = NODE_DIR / "node_modules" / package / "package.json"
        try:
            return str(json.loads(path.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return "?"

    node = "node ?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        node = (
            "node "
            + subprocess.run(
                ["node", "--version"],  # noqa: S607
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        )
    return (
        f"@y/websocket-server {version('@y/websocket-server')} (yjs {version('yjs')}, "
        f"ws {version('ws')}) on {node}; in memory, no persistence, no auth"
    )


class RefServer(ServerProcess):
    """y-websocket's own server (``npx y-websocket``, HOST/PORT from the environment)."""

    kind = "ref"
    name = "ref"
    thread_label = "V8 and libuv"

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.bin = ensure_reference()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KRING_", "NODE_"))}
        env.pop("YPERSISTENCE", None)  # in memory: no y-leveldb
        env.pop("CALLBACK_URL", None)
        env.update(HOST="127.0.0.1", PORT=str(self.port))
        self.env = env

    def command(self) -> list[str]:
        node = shutil.which("node") or "node"
        return [node, str(self.bin)]

    def health_url(self) -> str:
        return f"{self.base_url}/"  # answers "okay" to any HTTP request

    def ws_url(self, room: str, document: str = "plan") -> str:
        return f"ws://127.0.0.1:{self.port}/{room}/{document}"

    def warnings(self) -> list[str]:
        # It prints "running at ..." once and console.error()s whatever a message raised.
        return [line for line in self.log_text().splitlines() if not line.startswith("running")]


Server = KringServer | RefServer


def make_server(kind: str, label: str, **kring_env: str) -> Server:
    if kind == "kring":
        return KringServer(label, **kring_env)
    return RefServer(label)
