"""The command line: which scenarios against which servers, the header, and the run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import importlib.metadata
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .coldjoin import TARGET_COLD_MS, scenario_coldjoin
from .compare import print_comparison, print_summary
from .heavy import TARGET_LAG_MAX, TARGET_LAG_P99, TARGET_RATIO, scenario_heavy
from .heavyjobs import CHOSEN, KINDS
from .idle import scenario_idle
from .measure import PROFILE, Result, Table, machine_busy, own_cpu, progress
from .meeting import TARGET_P99_MS, scenario_fanout, scenario_rooms, scenario_storm
from .servers import OPTIONS, ROOT, ensure_reference, reference_version
from .step import TARGET_BURST, scenario_burst, scenario_step

SCENARIOS: dict[str, Callable[[str, bool], Awaitable[Result]]] = {
    "rooms": scenario_rooms,
    "fanout": scenario_fanout,
    "coldjoin": scenario_coldjoin,
    "idle": scenario_idle,
    "storm": scenario_storm,
    "step": scenario_step,
    "burst": scenario_burst,
    "heavy": scenario_heavy,
}
KRING_ONLY = {"heavy"}  # the reference has nothing to compare with
# hard limits per scenario and server (s)
BUDGET = {
    "rooms": 200,
    "fanout": 120,
    "coldjoin": 150,
    "idle": 120,
    "storm": 150,
    "step": 480,
    "burst": 240,
    "heavy": 420,
}


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}{mem}"


async def wait_quiet(limit: float) -> None:
    """Wait (at most ``limit`` s) until other processes leave the CPUs idle for 3 s."""
    deadline = time.perf_counter() + limit
    while True:
        busy0, ours0 = machine_busy()[0], own_cpu()
        await asyncio.sleep(3.0)
        others = machine_busy()[0] - busy0 - (own_cpu() - ours0)
        if others < 0.15:
            return
        if time.perf_counter() > deadline:
            progress(f"the machine is still busy ({others / 3:.0%} of a core); going ahead")
            return
        progress(f"waiting for a quiet machine (others use {others / 3:.0%} of a core)")


async def run_one(name: str, kind: str, quick: bool, quiet: float) -> Result:
    if quiet:
        await wait_quiet(quiet)
    t0 = time.perf_counter()
    busy0, steal0 = machine_busy()
    ours0 = own_cpu()
    try:
        result = await asyncio.wait_for(SCENARIOS[name](kind, quick), BUDGET[name])
    except Exception as exc:  # report and go on with the next run
        result = Result(
            Table(f"{name} [{'Kring' if kind == 'kring' else 'ref'}]: did not complete")
        )
        result.table.add("error", f"{type(exc).__name__}: {exc}"[:400])
    gc.enable()  # in case a scenario failed inside its measuring window
    gc.unfreeze()
    wall = time.perf_counter() - t0
    busy, steal = machine_busy()
    others = busy - busy0 - (own_cpu() - ours0)
    result.table.add(
        "scenario wall time",
        f"{wall:.0f} s; meanwhile other processes used {others:.1f} CPU s "
        f"({100 * others / wall:.0f}% of a core), {steal - steal0:.1f} s stolen",
    )
    result.table.print()
    return result


async def main_async(names: list[str], kinds: list[str], quick: bool, quiet: float) -> None:
    loop = asyncio.get_running_loop()

    def quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not isinstance(context.get("exception"), asyncio.CancelledError):  # after Ctrl-C
            loop.default_exception_handler(context)

    loop.set_exception_handler(quiet_cancellations)
    done: dict[str, dict[str, Result]] = {}
    for name in names:
        done[name] = {}
        for kind in kinds:
            if name in KRING_ONLY and kind != "kring":
                continue
            done[name][kind] = await run_one(name, kind, quick, quiet)
        if len(kinds) == 2 and name not in KRING_ONLY:
            print_comparison(name, done[name]["kring"], done[name]["ref"])
    if len(names) > 1:
        print_summary(done)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="bench/load.py",
        description=sys.modules["__main__"].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", nargs="?", default="all", choices=["all", *SCENARIOS])
    parser.add_argument("--quick", action="store_true", help="a shorter version of each scenario")
    parser.add_argument(
        "--server",
        choices=["kring", "ref", "both"],
        default="both",
        help="run against Kring, the reference (@y/websocket-server), or both (default)",
    )
    parser.add_argument(
        "--heavy-jobs",
        metavar="LIST",
        help=f"heavy: run only these jobs, comma separated, of {','.join(KINDS)} (to see "
        "which one stalls the rooms)",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio in the generator")
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="record Kring with this py-spy binary during the measuring windows "
        "(collapsed stacks, into --profile-dir)",
    )
    parser.add_argument("--profile-dir", default=".", help="where --py-spy writes (default: .)")
    parser.add_argument(
        "--server-gc",
        action="store_true",
        help="log Kring's garbage collections (gc.callbacks, via a wrapper around "
        "server.cli) and report them next to the latencies",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each run, wait up to this long for other processes to go idle",
    )
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C does: every finally runs, servers stop, folders go.
    signal.signal(signal.SIGTERM, interrupted)
    OPTIONS.update({"server_gc": True} if args.server_gc else {})
    if args.heavy_jobs:
        chosen = {job.strip() for job in args.heavy_jobs.split(",") if job.strip()}
        if not chosen or chosen - set(KINDS):
            parser.error(f"--heavy-jobs takes some of {','.join(KINDS)}")
        CHOSEN.intersection_update(chosen)
    if args.py_spy:
        PROFILE.update(py_spy=args.py_spy, dir=str(Path(args.profile_dir).resolve()))
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    kinds = ["kring", "ref"] if args.server == "both" else [args.server]
    if all(name in KRING_ONLY for name in names) and "ref" in kinds and "kring" in kinds:
        kinds.remove("ref")  # nothing of the reference's to run
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    loop = "asyncio"
    runner: Any = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner, loop = uvloop.run, "uvloop"
        except ImportError:
            pass
    print("Kring load benchmark")
    print(f"  command   {' '.join([sys.executable, *sys.argv])}")
    print(f"  date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"  machine   {machine()}")
    print(f"  code      {code_version()}")
    print(
        f"  software  Python {sys.version.split()[0]}, "
        + ", ".join(
            f"{p} {importlib.metadata.version(p)}"
            for p in ("uvicorn", "websockets", "pycrdt", "SQLAlchemy")
        )
        + f"; generator on {loop}"
    )
    print(
        "  database  SQLite (WAL, synchronous=FULL) in a temp folder on "
        + fs_of(tempfile.gettempdir())
    )
    if "ref" in kinds:
        try:
            ensure_reference()
            print(f"  reference {reference_version()}")
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"  reference not available: {exc}")
            kinds.remove("ref")
    print(
        f"  targets   Kring: 0 edits lost; rooms p99 <= {TARGET_P99_MS:.0f} ms; cold join <= "
        f"{TARGET_COLD_MS:.0f} ms; burst >= {TARGET_BURST:,.0f} updates/s; against the "
        "reference (Kring/ref): meeting 50x12 p99 <= 2x, CPU <= 2x, peak RSS <= 1x; "
        "fanout 1x200 p99 <= 1.5x; step 2000 p99 <= 2x; cold join <= 1x"
    )
    if "heavy" in names:
        print(
            f"  issue 21  heavy (Kring only): meeting p99 with heavy work <= {TARGET_RATIO:g}x "
            f"without; event-loop lag p99 <= {TARGET_LAG_P99 * 1000:.0f} ms, max <= "
            f"{TARGET_LAG_MAX * 1000:.0f} ms; 0 edits lost"
        )
    sys.stdout.flush()
    if not kinds:
        return 1
    try:
        runner(main_async(names, kinds, args.quick, args.wait_quiet))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted; the servers are stopped and their folders removed", file=sys.stderr)
        return 130
    return 0


def _git(*args: str) -> str:
    return subprocess.run(  # noqa: S603 (fixed git commands of this file)
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()


def code_version() -> str:
    """The commit under test, and whether server/ has changes on top of it."""
    try:
        head = _git("log", "-1", "--format=%h %ad %s", "--date=format:%Y-%m-%d %H:%M")
        dirty = _git("status", "--porcelain", "--", "server")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"{head[:90]}" + ("  (+ uncommitted changes in server/)" if dirty else "")


def interrupted(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def fs_of(path: str) -> str:
    best = ("", "?")
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and path.startswith(parts[1]) and len(parts[1]) > len(best[0]):
                best = (parts[1], parts[2])
    return f"{path} ({best[1]})"
