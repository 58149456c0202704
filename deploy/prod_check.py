"""`make prod-check`: the production setup of deploy/ run whole on this machine.

The systemd units are checked with `systemd-analyze verify` and the public Caddyfile is
adapted; then Caddy runs Caddyfile.test (the same site as Caddyfile, on the name kring.test
with its own certificate authority, on high loopback ports) in front of two Kring processes
started with the units' own command lines and the example environment file, on a throwaway
PostgreSQL database and the local Redis. A headless Chromium that trusts Caddy's root (put
into a throwaway NSS database) then goes through HTTPS: a coordinator logs in and moves the
conference on, two family members open their links, a plan edit made on one process shows
on the other, the service worker registers, a stopped process hands its device to the
other one, and /metrics is refused. Everything it started is stopped again, also on failure.

Caddy and certutil are installed from Debian's packages when missing. Where they cannot be,
or PostgreSQL or Redis is not running, it is skipped with the reason (exit 0), except under
CI=true, where that fails (exit 1)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEPLOY = ROOT / "deploy"
INSTALLED_AT = "/opt/kring"  # where the units expect the checkout; here it is ROOT
NAME = "kring.test"
POSTGRES_ADMIN_URL = os.environ.get(
    "KRING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = "redis://127.0.0.1:6379/0"
# Debian's package for each command this check needs.
PACKAGES = {"caddy": "caddy", "certutil": "libnss3-tools", "systemd-analyze": "systemd"}
LB_COOKIE = "kring_process"  # kring.caddy's lb_policy
WAIT = 60.0  # seconds a process may take to come up (on a machine busy with other work)
TIMEOUT_MS = 20_000  # and a page to show what it should
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--host-resolver-rules=MAP {NAME} 127.0.0.1",
]
TABLET = {"viewport": {"width": 1280, "height": 800}, "locale": "nl-NL"}


class Skip(Exception):
    """Something this machine lacks (Caddy not installable, no PostgreSQL or Redis)."""


class Failed(Exception):
    """The setup does not work as the files say."""


STARTED = time.monotonic()


def say(step: str) -> None:
    print(f"prod-check: {time.monotonic() - STARTED:4.1f} s  {step}", flush=True)


# -- the tools ------------------------------------------------------------------------------


def install_tools() -> None:
    missing = sorted({PACKAGES[c] for c in PACKAGES if shutil.which(c) is None})
    if not missing:
        return
    say(f"installing {' '.join(missing)} from Debian's packages")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        try:
            done = subprocess.run(
                [*sudo, *command], env=env, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise Skip(f"Caddy cannot be installed here ({exc})") from None
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
            raise Skip(f"Caddy cannot be installed here: `{' '.join(command)}`: {why}")
    if any(shutil.which(c) is None for c in PACKAGES):
        raise Skip(f"{' '.join(missing)} installed, yet a command is still missing")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Failed(f"{name} is not installed")
    return found


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise Failed(f"`{shlex.join(argv)}` failed:\n{done.stdout}{done.stderr}")
    return done


# -- the files ------------------------------------------------------------------------------


def exec_start(unit: str, instance: str = "") -> list[str]:
    """The unit's command line, as it runs here (the checkout is ROOT, not /opt/kring)."""
    lines = [
        line.split("=", 1)[1]
        for line in (DEPLOY / unit).read_text().splitlines()
        if line.startswith("ExecStart=")
    ]
    if len(lines) != 1:
        raise Failed(f"{unit} needs exactly one ExecStart=")
    return shlex.split(lines[0].replace("%i", instance).replace(INSTALLED_AT, str(ROOT)))


def verify_units(folder: Path) -> None:
    """`systemd-analyze verify` on the units as installed here: it checks that the commands
    exist, so /opt/kring is replaced by this checkout; any warning fails."""
    folder.mkdir()
    for unit in ("kring@.service", "kring-release.service"):
        text = (DEPLOY / unit).read_text().replace(INSTALLED_AT, str(ROOT))
        (folder / unit).write_text(text)
    (folder / "kring@8001.service").symlink_to("kring@.service")
    units = [str(folder / "kring@8001.service"), str(folder / "kring-release.service")]
    done = run([tool("systemd-analyze"), "verify", *units])
    if done.stderr.strip():
        raise Failed(f"systemd-analyze verify warns:\n{done.stderr}")


def example_environment() -> dict[str, str]:
    """deploy/kring.env.example as systemd reads it; every name must be a Kring setting."""
    from server.settings_declared import SETTINGS

    known = {setting.env for setting in SETTINGS}
    found: dict[str, str] = {}
    for line in (DEPLOY / "kring.env.example").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if name not in known:
            raise Failed(f"kring.env.example sets {name}, which is not a Kring setting")
        found[name] = value
    return found


def caddy_environment(home: Path) -> dict[str, str]:
    """Caddy's environment here: its files (certificates, its authority) under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRING_")}
    data, config = str(home / "data"), str(home / "config")
    return {**env, "HOME": str(home), "XDG_DATA_HOME": data, "XDG_CONFIG_HOME": config}


def adapt_public_caddyfile(home: Path) -> None:
    """The public Caddyfile adapts, with an ACME certificate (not Caddy's own authority)
    for its name, and refuses /metrics before it proxies."""
    done = run(
        [tool("caddy"), "adapt", "--config", str(DEPLOY / "Caddyfile")],
        env=caddy_environment(home),
    )
    config = json.loads(done.stdout)
    if "tls" in config.get("apps", {}):
        raise Failed("Caddyfile should leave the certificate to Caddy's automatic HTTPS")
    text = json.dumps(config)
    if not re.search(r'"path": \["/metrics", "/metrics/\*"\]', text):
        raise Failed("Caddyfile does not refuse /metrics")


# -- services -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def throwaway_database(stack: ExitStack) -> str:
    """A new PostgreSQL database, dropped at the end: its URL."""
    import asyncpg

    name = f"kring_prod_check_{secrets.token_hex(4)}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Skip(f"PostgreSQL is not running on {POSTGRES_ADMIN_URL} ({exc})") from None
    stack.callback(lambda: asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def redis_running() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        raise Skip(f"Redis is not running on {REDIS_URL} ({exc})") from None
    finally:
        client.close()


class Process:
    """A command started in the background, its output in a log file; stopped by the stack."""

    started: ClassVar[list[Process]] = []  # every one, for their logs on failure

    def __init__(
        self, stack: ExitStack, name: str, argv: list[str], env: dict[str, str], log: Path
    ):
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out)
        stack.callback(self.stop)
        Process.started.append(self)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-15:]
        return "\n".join(f"  {self.name}: {line}" for line in lines)


def answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url).status_code == 200


def wait_until(what: str, ready: Callable[[], bool], *processes: Process) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for process in processes:
            if process.popen.poll() is not None:
                raise Failed(f"{process.name} exited while waiting for {what}")
        try:
            if ready():
                return
        except (httpx.TransportError, ssl.SSLError, OSError):
            pass
        time.sleep(0.1)
    raise Failed(f"{what}: not within {WAIT:.0f} s")


# -- the setup, run -------------------------------------------------------------------------


@dataclass
class Site:
    base: str  # https://kring.test:PORT
    root: Path  # Caddy's root certificate
    kring: list[Process]
    caddy: Process
    demo: dict[str, Any]  # what `kring demo --json` made


def serve(stack: ExitStack, work: Path) -> Site:
    """The release step, then two Kring processes as kring@.service starts them and Caddy in
    front of them, started together."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRING_")}
    https_port, http_port, port_a, port_b = (free_port() for _ in range(4))
    base = f"https://{NAME}:{https_port}"
    kring_env = {
        **env,
        **example_environment(),
        # what differs from the example: this machine's services, the test name, a folder
        "KRING_BASE_URL": base,
        "KRING_DATABASE_URL": throwaway_database(stack),
        "KRING_REDIS_URL": REDIS_URL,
        "KRING_REDIS_PREFIX": f"prod-check-{secrets.token_hex(4)}",
        "KRING_INSTANCE_DIR": str(work / "instance"),
        "PYTHONPATH": str(ROOT),  # this checkout's Kring, whichever the virtualenv points at
    }
    redis_running()
    run(exec_start("kring-release.service"), env=kring_env, cwd=ROOT)
    # The demo conference is made while the processes start (it needs only the schema).
    demo = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--json"],
        env=kring_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stack.callback(demo.kill)
    kring = [
        Process(stack, f"kring@{port}", exec_start("kring@.service", str(port)), kring_env, log)
        for port, log in ((port_a, work / "kring-a.log"), (port_b, work / "kring-b.log"))
    ]
    home = work / "caddy"
    caddy_env = {
        **caddy_environment(home),
        "KRING_UPSTREAM_A": f"127.0.0.1:{port_a}",
        "KRING_UPSTREAM_B": f"127.0.0.1:{port_b}",
        "KRING_TEST_HTTP_PORT": str(http_port),
        "KRING_TEST_HTTPS_PORT": str(https_port),
    }
    caddyfile = str(DEPLOY / "Caddyfile.test")
    run_caddy = [tool("caddy"), "run", "--config", caddyfile, "--adapter", "caddyfile"]
    caddy = Process(stack, "caddy", run_caddy, caddy_env, work / "caddy.log")
    root = home / "data/caddy/pki/authorities/local/root.crt"
    for process, port in zip(kring, (port_a, port_b), strict=True):
        url = f"http://127.0.0.1:{port}/healthz"
        wait_until(f"{process.name} up", answers(url), process)
    wait_until(
        f"Caddy serving {base}",
        lambda: root.exists() and through_caddy(base, root, "/healthz").status_code == 200,
        caddy,
    )
    made, failed = demo.communicate(timeout=WAIT)
    if demo.returncode != 0:
        raise Failed(f"kring demo failed:\n{failed}")
    return Site(base, root, kring, caddy, json.loads(made))


def through_caddy(base: str, root: Path, path: str) -> httpx.Response:
    """A request to https://kring.test:PORT/PATH, checked against Caddy's root certificate
    (this process cannot resolve the test name: it connects to 127.0.0.1 and names it)."""
    port = base.rsplit(":", 1)[1]
    context = ssl.create_default_context(cafile=str(root))
    with httpx.Client(verify=context, timeout=5) as client:
        request = client.build_request(
            "GET",
            f"https://127.0.0.1:{port}{path}",
            headers={"host": f"{NAME}:{port}"},
            extensions={"sni_hostname": NAME},
        )
        return client.send(request)


def from_kring(response: httpx.Response) -> bool:
    """Every answer of Kring itself carries its Content-Security-Policy; Caddy's own none."""
    return "content-security-policy" in response.headers


def refuses_metrics(site: Site) -> None:
    if not from_kring(through_caddy(site.base, site.root, "/healthz")):
        raise Failed("Caddy's answers should come from Kring (its Content-Security-Policy)")
    for path in ("/metrics", "/metrics/", "/%6Detrics", "/metrics?format=text"):
        response = through_caddy(site.base, site.root, path)
        if response.status_code != 404 or from_kring(response):
            raise Failed(f"Caddy passed {path} on to Kring ({response.status_code})")


def trusting_chromium(stack: ExitStack, work: Path, root: Path) -> Any:
    """A headless Chromium whose NSS database (under its HOME) trusts Caddy's root."""
    home = work / "chromium-home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    certutil = tool("certutil")
    run([certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"])
    run([certutil, "-d", f"sql:{nssdb}", "-A", "-n", "prod-check", "-t", "C,,", "-i", str(root)])
    from playwright.sync_api import sync_playwright

    playwright = stack.enter_context(sync_playwright())
    browser = playwright.chromium.launch(
        executable_path=tool("chromium"),
        args=CHROMIUM_ARGS,
        headless=True,
        env={**os.environ, "HOME": str(home)},
    )
    stack.callback(browser.close)
    return browser


def device(browser: Any, base: str, not_with: str | None = None) -> tuple[Any, str]:
    """A new device (a browser context) and the process Caddy keeps it with (its cookie);
    with ``not_with``, one that Caddy keeps with another process."""
    for _ in range(40):
        context = browser.new_context(**TABLET)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{base}/healthz")
        process = next(c["value"] for c in context.cookies() if c["name"] == LB_COOKIE)
        if process != not_with:
            return page, process
        context.close()
    raise Failed("Caddy kept 40 new devices with the same process")


def agree(page: Any, what: str, seen_by: Any, count: int) -> None:
    """An agreement added on ``page``, then seen on the other device (both show ``count``)."""
    from playwright.sync_api import expect

    page.select_option("#new-area", "housing")
    page.fill("#new-what", what)
    page.click("form[data-add-agreement] button[type=submit]")
    for each in (page, seen_by):
        expect(each.locator("[data-agreement]")).to_have_count(count)
    expect(seen_by.locator("[data-agreement]").nth(count - 1)).to_contain_text(what)


def smoke_test(browser: Any, site: Site) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    base, demo = site.base, site.demo
    conference = demo["conference_id"]
    laptop = browser.new_context(**TABLET)
    laptop.set_default_timeout(TIMEOUT_MS)
    console = laptop.new_page()
    console.goto(f"{base}/login")
    console.fill("input[name=email]", demo["coordinator"]["email"])
    console.fill("input[name=password]", demo["coordinator"]["password"])
    console.click("main form button[type=submit]")
    expect(console).not_to_have_url(re.compile(r"/login"))
    console.goto(f"{base}/conferences/{conference}/console")
    console.wait_for_selector("[data-live-page][data-stream=open]", state="attached")
    say("a coordinator logged in; the console's event stream is open")

    family = [p for p in demo["participants"] if p["role"] in ("client", "network_member")]
    first, process = device(browser, base)
    second, _ = device(browser, base, not_with=process)
    for page, person in ((first, family[0]), (second, family[1])):
        page.goto(person["invitation_url"])
        page.click("main form[method=post] button[type=submit]")  # "yes, that is me"
        expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/c/"))
    say("two family members opened their links, on devices Caddy keeps with either process")

    phase = console.locator(f'form[action="/conferences/{conference}/phase"]')
    phase.locator("button[type=submit]").click()  # on to private time
    expect(phase.locator("textarea[name=reason]")).to_be_visible()  # ending it needs a reason
    sockets: dict[Any, list[Any]] = {first: [], second: []}  # each plan page's websockets
    for page in (first, second):
        page.on("websocket", lambda socket, page=page: sockets[page].append(socket))
        page.goto(f"{page.url.split('?')[0].rstrip('/')}/plan")
        page.wait_for_selector("[data-plan-editor][data-ready]")
    agree(first, "Samen koken op zondag", seen_by=second, count=1)
    if not all(s.url.startswith(f"wss://{NAME}:") for s in sockets[first] + sockets[second]):
        raise Failed(f"the plan's websockets should go through Caddy (wss://{NAME})")
    say("the coordinator started private time; an edit on one process shows on the other")

    second.wait_for_selector("html[data-offline-ready=true]", state="attached")
    worker = second.evaluate(
        "navigator.serviceWorker.getRegistration().then((r) => r && r.active.scriptURL)"
    )
    if worker != f"{base}/sw.js":
        raise Failed(f"no service worker registered for {base} (found {worker!r})")
    say("the service worker is registered (a secure context: HTTPS on the test name)")

    # One process stops (as in a restart): the device it served comes back through the other
    # process, whose device stays connected; the moved device's next edit arrives.
    site.kring[0].stop()
    deadline = time.monotonic() + WAIT
    moved: list[Any] = []
    while not moved and time.monotonic() < deadline:
        first.wait_for_timeout(50)
        moved = [page for page in sockets if any(s.is_closed() for s in sockets[page])]
    stayed = [page for page in sockets if page not in moved]
    if len(moved) != 1 or len(stayed) != 1:
        raise Failed(f"{len(moved)} of the 2 devices lost their connection when 1 process stopped")
    agree(moved[0], "Sam naar voetbal", seen_by=stayed[0], count=2)
    if any(s.is_closed() for s in sockets[stayed[0]]) or len(sockets[moved[0]]) < 2:
        raise Failed("the stopped process's device should reconnect, the other's stay")
    say("a stopped process's device reconnected through the other, and its edit arrived")
    laptop.close()


def check(work: Path) -> None:
    verify_units(work / "units")
    say("systemd-analyze verify: kring@.service and kring-release.service are clean")
    adapt_public_caddyfile(work / "caddy")
    say("Caddyfile: automatic HTTPS for the public name, /metrics refused")
    with ExitStack() as stack:  # everything started is stopped, in reverse, also on failure
        try:
            site = serve(stack, work)
            say(f"Caddy serves {site.base} in front of two Kring processes")
            refuses_metrics(site)
            say("Caddy refuses /metrics itself")
            smoke_test(trusting_chromium(stack, work, site.root), site)
        except BaseException:
            for process in Process.started:
                print(process.tail(), file=sys.stderr)
            raise


def main() -> int:
    # Stopped from outside (make interrupted), it still stops what it started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    started = time.monotonic()
    try:
        install_tools()
        with tempfile.TemporaryDirectory(prefix="kring-prod-check-") as work:
            check(Path(work))
    except Skip as exc:
        if in_ci:
            say(f"FAILED: {exc} (CI runs every check)")
            return 1
        say(f"skipped: {exc}")
        return 0
    except (Failed, AssertionError) as exc:
        say(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; what it started is stopped")
        return 1
    say(f"passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
