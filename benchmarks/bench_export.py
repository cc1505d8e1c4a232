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
whole, a cut of 100,000. At full size the ``json.dumps`` baseline runs over a sample, ten
windows of 100,000 events spread evenly over the session (1,000,000 events, the mix of the
whole), and its time is scaled to the whole session: its startup as measured, its loop times
``events / sampled`` (it does the same work per event wherever it is; the whole would take
about ten minutes). Wall times are medians of runs interleaved with their baseline (one run
each at full size); notes give the spread. Peak RSS is each timed run's own (``wait4``).
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

from benchmarks._harness import Figure, benchmark, percentile
from benchmarks._sandbox_sessions import ensure_sandbox_session

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

#: The baseline: decode every event of the windows ``lo:hi,lo:hi,...`` (inclusive), make it a
#: plain dict, json.dumps it; prints the seconds its loop took.
_NAIVE = """
import json, sys, time
from cinema.model.present import event_row
from cinema.model.session import Session
src, out = sys.argv[1], sys.argv[2]
windows = [tuple(map(int, w.split(":"))) for w in sys.argv[3].split(",")]
with Session.open(src) as s, open(out, "w") as f:
    t0 = time.perf_counter()
    for lo, hi in windows:
        for ev in s.events(lo, hi + 1):
            f.write(json.dumps(event_row(s, ev)) + "\\n")
    print(time.perf_counter() - t0)
"""
#: At full size the baseline samples this many windows of this many events.
_WINDOWS, _WINDOW = 10, 100_000


class _Run:
    """One command's wall time, peak RSS (its own, from ``wait4``) and stdout."""

    def __init__(self, args: Sequence[str]) -> None:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen(args, stdout=out, stderr=err, cwd=_ROOT, env=_ENV)
            _, status, usage = os.wait4(proc.pid, 0)
            self.seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            if proc.returncode:
                raise RuntimeError(f"{args[:4]} failed: {err.read()[-2000:].decode()}")
            out.seek(0)
            self.stdout = out.read().decode()
        self.peak_mib = usage.ru_maxrss / 1024  # KiB on Linux
        self.cpu_seconds = usage.ru_utime + usage.ru_stime


def _pair_runs(a: Sequence[str], b: Sequence[str], rounds: int) -> tuple[list[_Run], list[_Run]]:
    ra: list[_Run] = []
    rb: list[_Run] = []
    for i in range(rounds):
        for args, out in ((a, ra), (b, rb)) if i % 2 == 0 else ((b, rb), (a, ra)):
            out.append(_Run(args))
    return ra, rb


def _pair(a: Sequence[str], b: Sequence[str], rounds: int) -> tuple[list[float], list[float]]:
    ra, rb = _pair_runs(a, b, rounds)
    return [r.seconds for r in ra], [r.seconds for r in rb]


def _windows(total: int, sample: bool) -> tuple[str, int]:
    """The baseline's windows (``lo:hi,...``) and how many events they hold."""
    if not sample or total <= _WINDOWS * _WINDOW:
        return f"0:{total - 1}", total
    step = total // _WINDOWS
    starts = [i * step + (step - _WINDOW) // 2 for i in range(_WINDOWS)]
    return ",".join(f"{a}:{a + _WINDOW - 1}" for a in starts), _WINDOWS * _WINDOW


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
    #: the parquet figure decides a goal with ~15 % to spare: a median of three alternating
    #: pairs, not one run (one run on this machine ranged 8.1-10.2 s within the same hour)
    pq_rounds = 3
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
        windows, sampled = _windows(total, sample=not quick)
        base = [sys.executable, "-c", _NAIVE, path, naive, windows]
        re_, rb = _pair_runs(export, base, rounds)
        te = [r.seconds for r in re_]
        # the baseline's startup as it was, its loop scaled from the sample to every event
        tb = [r.seconds + float(r.stdout) * (total / sampled - 1) for r in rb]
        me, mb = statistics.median(te), statistics.median(tb)
        how = (
            f"its loop timed over {sampled:,} events ({_WINDOWS} windows spread over the "
            f"session) and scaled to {total:,}" if sampled < total else "over every event"
        )  # fmt: skip
        yield Figure(
            f"chrome-trace export of {total:,} events", me, "s", mb,
            ratio=mb / me, goal="ratio (speed-up) >= 2",
            note=f"baseline: decode + event-row dict + json.dumps, {how}; {_spread(te)}",
        )  # fmt: skip
        rss_e = max(r.peak_mib for r in re_)
        rss_b = max(r.peak_mib for r in rb)
        yield Figure(f"chrome-trace export peak RSS ({total:,} events)", rss_e, "MiB", rss_b,
                     note="bounded: it streams; baseline: the json.dumps script (streams too, "
                     f"over {sampled:,} events)")  # fmt: skip

        pq, jl = os.path.join(tmp, "e.parquet"), os.path.join(tmp, "e.jsonl")
        rp, rj = _pair_runs(_cinema("export", path, "-o", pq),
                            _cinema("export", path, "-o", jl), pq_rounds)  # fmt: skip
        tp = [r.seconds for r in rp]
        mp = statistics.median(tp)
        per_10m = mp * 10_000_000 / total
        cpu = statistics.median(r.cpu_seconds for r in rp)
        mj = statistics.median(r.seconds for r in rj)
        yield Figure(
            f"parquet export of {total:,} events", mp, "s", mj,
            goal="10M events < 10 s", note=f"baseline: jsonl export; {_spread(tp)}; "
            f"{cpu:.1f} s CPU (threads), peak RSS {max(r.peak_mib for r in rp):.0f} MiB; "
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
