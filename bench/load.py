"""Kring load generator: live rooms under load, measured from the outside, against Kring and
against the reference server (y-websocket's own, @y/websocket-server) in the same run.

    .venv/bin/python bench/load.py [all|rooms|fanout|coldjoin|idle|storm|step|burst|heavy]
                                   [--quick] [--server kring|ref|both]

Each scenario runs once against a throwaway Kring (its own SQLite database, secret key and
free port; conferences, participants and session cookies made straight through
server.storage.store / server.conference.auth; ``python -m server.cli serve`` as a
subprocess) and once against the reference (``npx y-websocket`` from bench/node, in memory,
no auth), with the same asyncio websocket clients speaking y-websocket
(server.rooms.protocol). It prints each server's figures, then Kring's against the
reference's as a ratio next to issue 20's targets; it asserts nothing and exits 0 even when
a target is missed.
Scenario heavy (issue 21) runs against Kring only: the meeting plain, then beside heavy work.

Latency: every edit inserts a unique marker ``[m000000042]`` into a pycrdt Text; a Yjs v1
update carries inserted text verbatim as UTF-8, so each receiving client decodes the message
and finds the marker in the update bytes. Writer and receivers share one process and one
clock (time.perf_counter, CLOCK_MONOTONIC): latency = arrival at a receiver - just before the
writer's send. The load generator's own CPU use is printed too; a figure taken while it used
more than 80% of a core is marked "(generator limit)".

The code is in bench/loadgen/; bench/README.md says what each scenario measures.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen.cli import main

if __name__ == "__main__":
    sys.exit(main())
