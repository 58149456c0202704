"""A Kring installation in a temporary folder, its `kring` command, and `kring serve` run on a
free loopback port as the real thing (uvicorn in a subprocess)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
KRING = [sys.executable, "-m", "server.cli"]
SERVER_START_TIMEOUT = 20.0


def missing_service(what: str, how: str) -> None:
    """Skip (on a developer's machine) or fail (in CI, which must run everything)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is required in CI: {how}")
    pytest.skip(f"{what} is not available; {how}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    """A Kring installation in a temporary folder: its environment and its CLI."""

    folder: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.env.get("KRING_DATABASE_URL") or (
            f"sqlite+aiosqlite:///{self.folder / 'kring.db'}"
        )

    def cli(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*KRING, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kring {' '.join(args)} failed:\n{result.stderr}")
        return result

    def demo(self, *args: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.cli("demo", "--json", *args).stdout)
        return data


def make_instance(folder: Path, **extra: str) -> Instance:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRING_")}
    env.update({"KRING_INSTANCE_DIR": str(folder), "KRING_LOG_LEVEL": "warning", **extra})
    return Instance(folder=folder, env=env)


@dataclass
class LiveServer:
    url: str
    instance: Instance
    process: subprocess.Popen[bytes]
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, **kwargs: Any) -> httpx.Client:
        """A browser-like HTTP client: keeps cookies, sends this site's Origin on posts.

        Each stands for one device; the ``devices_closed`` fixture closes those a test made.
        """
        headers = {"origin": self.url, **kwargs.pop("headers", {})}
        client = httpx.Client(
            base_url=self.url, headers=headers, follow_redirects=False, timeout=10, **kwargs
        )
        self.clients.append(client)
        return client


# The instance behind each running server's URL (for helpers that only know a page's URL).
INSTANCES: dict[str, Instance] = {}


def start_server(instance: Instance, port: int | None = None) -> LiveServer:
    """Run `kring serve` for this instance (again on ``port`` after a restart)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    instance.env["KRING_BASE_URL"] = url
    instance.cli("db", "upgrade")
    with (instance.folder / "server.log").open("ab") as log:  # the child keeps its own fd
        process = subprocess.Popen(
            [*KRING, "serve", "--port", str(port)],
            env=instance.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"kring serve exited: {(instance.folder / 'server.log').read_text()}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                INSTANCES[url] = instance
                return LiveServer(url=url, instance=instance, process=process)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"kring serve did not answer within {SERVER_START_TIMEOUT}s")


def start_again(server: LiveServer) -> LiveServer:
    """The same installation served again on the same port (its devices reconnect there)."""
    return start_server(server.instance, port=server.port)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@contextmanager
def serving(instance: Instance) -> Iterator[LiveServer]:
    """`kring serve` for this instance while the block runs, stopped afterwards."""
    server = start_server(instance)
    try:
        yield server
    finally:
        stop_server(server)


async def metric_samples(server: LiveServer, token: str) -> dict[str, float]:
    """Every sample of the server's /metrics (opened with ``token``), by name and labels:
    ``name{label=value}``."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            f"{server.url}/metrics", headers={"authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def server_side_state(server: LiveServer, client_port: int) -> str:
    """The state of the server's end of a loopback TCP connection from ``client_port``, as
    the kernel has it: "established", another state, or "gone" when the kernel holds none."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if (
            int(local.rsplit(":", 1)[1], 16) == server.port
            and int(remote.rsplit(":", 1)[1], 16) == client_port
        ):
            return "established" if state == "01" else f"state {state}"
    return "gone"
