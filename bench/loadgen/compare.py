"""Kring against the reference: the figures each scenario compares, the ratio Kring/ref, and
the issue's targets for them (issue 20)."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from .measure import Figure, Result, verdict


@dataclass(frozen=True)
class Goal:
    scenario: str
    key: str
    label: str
    ratio_max: float | None = None  # target: Kring/ref at most this
    kring_min: float | None = None  # target: Kring's figure at least this
    unit: str = ""  # for kring_min
    zero: bool = False  # target: Kring's figure is 0
    ref_key: str = ""  # the reference's figure, when it is another one
    summary: bool = True  # also in the summary at the end

    def target(self) -> str:
        if self.ratio_max is not None:
            return f"<= {self.ratio_max:g}x"
        if self.kring_min is not None:
            return f">= {self.kring_min:,.0f}{self.unit}"
        if self.zero:
            return "0"
        return ""


GOALS = [
    Goal("rooms", "p99", "meeting 50x12 p99", ratio_max=2),
    Goal("rooms", "cpu", "meeting 50x12 server CPU", ratio_max=2),
    Goal("rooms", "peak_rss", "meeting 50x12 peak RSS", ratio_max=1),
    Goal("rooms", "lost", "meeting 50x12 edits lost", zero=True),
    Goal("fanout", "p99", "fanout 1x200 p99", ratio_max=1.5),
    Goal("fanout", "lost", "fanout 1x200 lost", zero=True),
    Goal("fanout", "cpu", "fanout 1x200 server CPU", summary=False),
    Goal("storm", "storm_s", "storm 600 (50 at a time) synced"),
    Goal("storm", "storm_cpu", "storm CPU per connection"),
    Goal("step", "p99_100", "step 100 p99", summary=False),
    Goal("step", "cpu_100", "step 100 server CPU", summary=False),
    Goal("step", "p99_500", "step 500 p99"),
    Goal("step", "cpu_500", "step 500 server CPU"),
    Goal("step", "p99_1000", "step 1000 p99", summary=False),
    Goal("step", "cpu_1000", "step 1000 server CPU", summary=False),
    Goal("step", "p99_2000", "step 2000 p99", ratio_max=2),
    Goal("step", "cpu_2000", "step 2000 server CPU"),
    Goal("burst", "rate", "burst 20,000 ingested", kring_min=10_000, unit="/s"),
    Goal("burst", "committed", "burst committed (doc_update)", summary=False),
    # The reference keeps every document in memory: each of its joins is of a loaded room.
    Goal("coldjoin", "compacted_warm", "cold join (compacted)", ratio_max=1, ref_key="join"),
    Goal("coldjoin", "compacted_restart", "cold join after restart", ratio_max=1, ref_key="join"),
    Goal("coldjoin", "log_restart", "cold join 20k-update log", ref_key="join", summary=False),
    Goal("coldjoin", "join", "join of a loaded room", summary=False),
    Goal("idle", "room_plan", "idle room, 200-update plan"),
    Goal("idle", "room_empty", "idle room, empty plan", summary=False),
]


def ratio_text(kring: Figure | None, ref: Figure | None) -> tuple[str, float]:
    if kring is None or ref is None:
        return "-", math.nan
    if ref.value == 0:
        return ("-" if kring.value == 0 else "inf"), (math.nan if kring.value == 0 else math.inf)
    ratio = kring.value / ref.value
    return f"{ratio:.2f}x", ratio


def judge(goal: Goal, kring: Figure | None, ratio: float) -> str:
    target = goal.target()
    if not target:
        return ""
    if goal.ratio_max is not None:
        ok = None if math.isnan(ratio) else ratio <= goal.ratio_max
    elif goal.kring_min is not None:
        ok = None if kring is None else kring.value >= goal.kring_min
    else:
        ok = None if kring is None else kring.value == 0
    return f"{target}: " + ("n/a" if ok is None else verdict(ok))


Row = tuple[str, str, str, str, str]


def rows(scenario: str, kring: Result | None, ref: Result | None, summary: bool) -> list[Row]:
    """One row per compared figure: Kring's, the reference's, the ratio, the target."""
    out = []
    for goal in GOALS:
        if goal.scenario != scenario or (summary and not goal.summary):
            continue
        k = kring.figures.get(goal.key) if kring else None
        r = ref.figures.get(goal.ref_key or goal.key) if ref else None
        if k is None and r is None:
            continue  # not measured in this run (a step --quick leaves out)
        shown_ratio, ratio = ratio_text(k, r)
        out.append(
            (
                goal.label,
                k.shown if k else "-",
                r.shown if r else "-",
                shown_ratio,
                judge(goal, k, ratio),
            )
        )
    return out


def render(title: str, found: list[Row]) -> None:
    if not found:
        return
    widths = [max(len(row[i]) for row in found) for i in range(4)]
    print(f"\n== {title}: Kring against the reference (ratio Kring/ref, issue 20's target)")
    for label, k_text, r_text, ratio_shown, target in found:
        print(
            f"  {label:<{widths[0]}}  Kring {k_text:<{widths[1]}}  ref {r_text:<{widths[2]}}  "
            f"{ratio_shown:>{widths[3]}}  {target}".rstrip()
        )
    sys.stdout.flush()


def print_comparison(scenario: str, kring: Result | None, ref: Result | None) -> None:
    render(scenario, rows(scenario, kring, ref, summary=False))


def print_summary(done: dict[str, dict[str, Result]]) -> None:
    found = []
    for scenario, results in done.items():
        found.extend(rows(scenario, results.get("kring"), results.get("ref"), summary=True))
    render("summary", found)
