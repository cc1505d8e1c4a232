"""``analyze``: ``cinema analyze FILE`` on the sandbox-recorded 10,000,000-event session (issue
16: goal < 30 s), wall and CPU time, against ``cinema info FILE`` on the same file in the same
run (start-up, open, index: the floor any command pays). Also ``cinema why`` on an event half
way through, and ``cinema top`` at the end.

Each figure is the median of runs interleaved with its baseline (the order flips every round);
the note gives the spread. Quick mode uses the 1,000,000-event session.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Iterator

from benchmarks._harness import Figure, benchmark
from benchmarks._sandbox_sessions import ensure_sandbox_session
from benchmarks.bench_cli import _side_by_side, _spread


@benchmark("analyze", help="cinema analyze (and why, top) on the 10M-event sandbox session")
def bench_analyze(quick: bool) -> Iterator[Figure]:
    n = 1_000_000 if quick else 10_000_000
    path = str(ensure_sandbox_session(n))
    rounds = 3
    cinema = [sys.executable, "-m", "cinema"]
    info = [*cinema, "info", path]
    size = f"{n / 1e6:g}M-event sandbox session"
    commands = (
        ("cinema analyze", [*cinema, "analyze", path, "--json"], "< 30 s"),
        ("cinema why --event N/2", [*cinema, "why", path, "--event", str(n // 2)], None),
        ("cinema top (at the end)", [*cinema, "top", path], None),
    )
    for title, args, goal in commands:
        runs, base = _side_by_side(args, info, rounds)
        wall, base_wall = [w for w, _ in runs], [w for w, _ in base]
        cpu, base_cpu = [c for _, c in runs], [c for _, c in base]
        yield Figure(
            f"{title}, {size}, wall",
            statistics.median(wall),
            "s",
            baseline=statistics.median(base_wall),
            goal=goal if not quick else None,
            note=f"baseline: cinema info on the same file; {_spread(wall)}",
        )
        yield Figure(
            f"{title}, {size}, CPU",
            statistics.median(cpu),
            "s",
            baseline=statistics.median(base_cpu),
            note=f"user + sys of the process; {_spread(cpu)} (wall = CPU on an idle machine)",
        )
