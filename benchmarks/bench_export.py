"""``export``: what a user waits for when sharing a session (issue 15), whole commands in fresh
interpreters on the sandbox-recorded session.

- ``cinema export -f chrome-trace`` against the straightforward way: the same events decoded,
  each made a plain dict (the event row) and ``json.dumps``-ed to a file (goal: at least 2x
  faster), with the peak memory of both (bounded: it streams);
- ``cinema export -f parquet`` (goal: under 10 s on the 10,000,000-event session), against
  ``cinema export -f jsonl`` of the same events;
- ``cinema export -f cinema``: a cut of 1,000,000 events from the middle (goal: under 5 s),
  against ``cinema info`` (the floor any command pays), and the seek p99 in the cut against
  the original at the same moments (goal: within 1.2x).

Full size, the issue's: chrome-trace and parquet of the whole 10,000,000-event session, the
bundle a cut of 1,000,000 events from its middle; ``--quick``: the 1,000,000-event session
whole, a cut of 100,000. Wall times are medians of runs interleaved with their baseline (one
run each at full size: the baseline alone takes minutes); notes give the spread.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence

from benchmarks._harness import Figure, benchmark, percentile, subprocess_peak_rss_mb
from benchmarks._sandbox_sessions import ensure_sandbox_session

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

#: The baseline: decode every event, make it a plain dict, json.dumps it.
_NAIVE = """
import json, sys
from cinema.model.present import event_row
from cinema.model.session import Session
src, out, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with Session.open(src) as s, open(out, "w") as f:
    for ev in s.events(lo, hi + 1):
        f.write(json.dumps(event_row(s, ev)) + "\\n")
"""


def _run(args: Sequence[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
                   cwd=_ROOT, env=_ENV)  # fmt: skip
    return time.perf_counter() - start


def _pair(a: Sequence[str], b: Sequence[str], rounds: int) -> tuple[list[float], list[float]]:
    ta: list[float] = []
    tb: list[float] = []
    for i in range(rounds):
        for args, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            out.append(_run(args))
    return ta, tb


def _spread(xs: list[float]) -> str:
    return f"median of {len(xs)}, {min(xs):.2f}-{max(xs):.2f} s"


def _cinema(*args: str) -> list[str]:
    if args[0] == "export":  # each is run more than once into the same OUT
        args = (*args, "--force")
    return [sys.executable, "-m", "cinema", *args]


@benchmark("export", help="cinema export: chrome-trace vs json.dumps, parquet, a bundle cut")
def bench_export(quick: bool) -> Iterator[Figure]:
    n = 1_000_000 if quick else 10_000_000
    span = 100_000 if quick else 1_000_000
    rounds = 1
    path = str(ensure_sandbox_session(n))
    from cinema.model.session import Session

    with Session.open(path) as s:
        total = s.event_count
    lo = total // 2 - span // 2
    hi = lo + span - 1
    rng = ["--from", f"#{lo}", "--to", f"#{hi}"]
    with tempfile.TemporaryDirectory(prefix="cinema-bench-export-") as tmp:
        trace, naive = os.path.join(tmp, "t.json"), os.path.join(tmp, "n.jsonl")
        export = _cinema("export", path, "-o", trace)
        base = [sys.executable, "-c", _NAIVE, path, naive, "0", str(total - 1)]
        te, tb = _pair(export, base, rounds)
        me, mb = statistics.median(te), statistics.median(tb)
        yield Figure(
            f"chrome-trace export of {total:,} events", me, "s", mb,
            ratio=mb / me, goal="ratio (speed-up) >= 2",
            note=f"baseline: decode + event-row dict + json.dumps; {_spread(te)}",
        )  # fmt: skip
        rss_e = subprocess_peak_rss_mb(_module_code(export))
        rss_b = subprocess_peak_rss_mb(_script_code(base))
        yield Figure("chrome-trace export peak RSS", rss_e, "MiB", rss_b,
                     note="baseline: the json.dumps script (streams too)")  # fmt: skip

        pq, jl = os.path.join(tmp, "e.parquet"), os.path.join(tmp, "e.jsonl")
        tp, tj = _pair(_cinema("export", path, "-o", pq),
                       _cinema("export", path, "-o", jl), rounds)  # fmt: skip
        mp = statistics.median(tp)
        per_10m = mp * 10_000_000 / total
        yield Figure(
            f"parquet export of {total:,} events", mp, "s", statistics.median(tj),
            goal="10M events < 10 s", note=f"baseline: jsonl export; {_spread(tp)}; "
            f"at this rate 10M events take {per_10m:.0f} s",
        )  # fmt: skip

        cut = os.path.join(tmp, "cut.cinema")
        tc, ti = _pair(_cinema("export", path, "-o", cut, *rng), _cinema("info", path), rounds)
        yield Figure(
            f"bundle cut of {span:,} events from the middle", statistics.median(tc), "s",
            statistics.median(ti), goal="1M events < 5 s",
            note=f"baseline: cinema info; {_spread(tc)}",
        )  # fmt: skip
        p_cut, p_orig = _seek_p99(path, cut, lo, span)
        yield Figure("seek p99 in the cut", p_cut, "ms", p_orig, goal="ratio <= 1.2",
                     note="baseline: the original at the same moments; 300 random seeks each, "
                     "fresh sessions")  # fmt: skip


def _module_code(args: Sequence[str]) -> str:
    return (
        f"import sys, runpy; sys.argv = ['cinema', *{list(args[3:])!r}]; "
        "runpy.run_module('cinema', run_name='__main__')"
    )


def _script_code(args: Sequence[str]) -> str:
    return f"import sys; sys.argv = ['x', *{list(args[3:])!r}]; exec({args[2]!r})"


def _seek_p99(orig: str, cut: str, lo: int, span: int) -> tuple[float, float]:
    """p99 of ``world_at`` at random moments, in the cut and at the same moments of the
    original (each in a fresh session, alternating)."""
    from cinema.model.session import Session

    rnd = random.Random(15)
    ks = [rnd.randrange(span) for _ in range(300)]
    times: dict[str, list[float]] = {"cut": [], "orig": []}
    with Session.open(cut) as a, Session.open(orig) as b:
        for i, k in enumerate(ks):
            for name, s, seq in (("cut", a, k), ("orig", b, lo + k))[:: 1 if i % 2 else -1]:
                s._worlds.clear()  # a seek from the nearest keyframe, not from a cached world
                t0 = time.perf_counter()
                s.world_at(seq)
                times[name].append((time.perf_counter() - t0) * 1000)
    return percentile(times["cut"], 99), percentile(times["orig"], 99)
