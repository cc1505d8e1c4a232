"""``model``: time travel on a big session -- seek, step, open -- against replaying from the
start.

Figures on the sandbox-recorded session of issue 13 (~10,000,000 events, ~6,700 processes,
keyframes where the runtime put them; ``--quick``: ~1,000,000). Latencies are wall time; seek
and step back are also given as CPU time (steadier on a shared machine, where wall time also
counts the time other programs ran). Figures:

- seek to a random event (cold: no cached world or keyframe), p99 and mean, against replaying from
  the first event to the same points. The replay baseline is measured on a prefix and
  extrapolated linearly to the mean seek target (said in the note): replaying millions of
  events per point would take minutes.
- step forward one event from a world just computed; step back five events one at a time.
- seek nearby: random points of one keyframe interval, in random order, after a first seek
  there (the second seek into an interval lays a checkpoint grid; scrubbing the timeline).
- open the session and answer the first world query, in a fresh interpreter: time and peak
  memory.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks._harness import Figure, Timings, benchmark, percentile, subprocess_peak_rss_mb
from benchmarks._sandbox_sessions import ensure_sandbox_session


def _cold(s: object) -> None:
    """Forget every world and keyframe a seek could start from (a seek far from the last)."""
    clear = getattr(s, "forget_worlds", None)
    if callable(clear):
        clear()
        return
    for name in ("_worlds", "_visited", "_kf_worlds"):
        getattr(s, name).clear()
    s.reader._kf_cache.clear()  # type: ignore[attr-defined]


@benchmark("model", help="seek / step / open on a big session vs replay from the start")
def run(quick: bool) -> Iterator[Figure]:
    from cinema.model import Session, _columns
    from cinema.model._from_keyframe import empty_world
    from cinema.model._replay import Replayer

    n_events = 1_000_000 if quick else 10_000_000
    path = ensure_sandbox_session(n_events)
    s = Session.open(path)
    rng = random.Random(42)
    s.world_at(rng.randrange(s.event_count))  # warm imports and the first frames
    seeks, steps_fwd, steps_back = Timings(), Timings(), Timings()
    targets: list[int] = []
    kfs = s.reader.keyframe_seqs
    for _ in range(40 if quick else 150):
        seq = rng.randrange(6, s.event_count - 2)
        _cold(s)  # cold: nothing cached near the target
        seeks.time(s.world_at, seq)
        targets.append(seq)
        steps_fwd.time(s.world_at, seq + 1)
        # stepping back from there, one event at a time (each world new, the cache warm)
        for k in range(1, 6):
            steps_back.time(s.world_at, seq - k)

    # Seeks around one spot: the timeline scrubbed back and forth inside a keyframe interval.
    nearby: list[float] = []
    for _ in range(4 if quick else 10):
        j = rng.randrange(len(kfs) - 1)
        _cold(s)
        s.world_at(kfs[j + 1] - 2)  # the first seek into the interval
        for seq in rng.sample(range(kfs[j], kfs[j + 1] - 1), 20):
            t0 = time.perf_counter()
            s.world_at(seq)
            nearby.append(time.perf_counter() - t0)

    # Baseline: replay from the first event, measured on a prefix, extrapolated.
    prefix = min(200_000 if quick else 1_000_000, s.event_count)
    t0 = time.perf_counter()
    rp = Replayer(empty_world(s._resolve, s.process_name), s.data)
    cols = _columns.window(s.reader, 0, prefix)
    rp.apply_columns(0, cols.ts, cols.kind, cols.pid, cols.peer, cols.ref)
    per_event = (time.perf_counter() - t0) / prefix
    mean_target = statistics.mean(targets)
    replay_s = per_event * mean_target
    note = (
        f"replay baseline (the same replay engine, one window) measured on the first "
        f"{prefix:,} events ({per_event * 1e6:.2f} us/event), extrapolated to the mean target "
        f"#{mean_target:,.0f}"
    )
    size = f"{s.event_count:,} events, {len(kfs)} keyframes"
    yield Figure(
        "seek random event p99", seeks.ms(99), "ms", goal="< 50 ms",
        note=f"median {seeks.ms(50):.1f} ms over {len(seeks)} cold seeks; {size}",
    )  # fmt: skip
    yield Figure(
        "seek random event p99, CPU", seeks.ms(99, cpu=True), "ms", goal="< 50 ms",
        note=f"CPU time of the same seeks (median {seeks.ms(50, cpu=True):.1f} ms)",
    )  # fmt: skip
    mean_seek = statistics.mean(seeks.wall)
    yield Figure("seek vs replay from start", mean_seek * 1e3, "ms", baseline=replay_s * 1e3,
                 ratio=replay_s / mean_seek, goal=">= 100x", note=note)  # fmt: skip
    yield Figure("step forward one event p99", steps_fwd.ms(99), "ms", goal="< 5 ms")
    yield Figure(
        "step back one event p99", steps_back.ms(99), "ms", goal="< 5 ms",
        note=f"{len(steps_back)} steps, five back from each cold seek; median "
        f"{steps_back.ms(50):.2f} ms",
    )  # fmt: skip
    yield Figure(
        "step back one event p99, CPU", steps_back.ms(99, cpu=True), "ms", goal="< 5 ms",
        note=f"CPU time of the same steps (median {steps_back.ms(50, cpu=True):.2f} ms)",
    )  # fmt: skip
    yield Figure(
        "seek nearby p99", percentile(nearby, 99) * 1e3, "ms", goal="< 50 ms",
        note=f"median {statistics.median(nearby) * 1e3:.1f} ms; {len(nearby)} seeks at random "
        "points of keyframe intervals seeked into once before",
    )  # fmt: skip

    code = (
        "import time; t0 = time.perf_counter(); from cinema.model import Session; "
        f"s = Session.open({str(path)!r}); w = s.world_at(s.event_count // 2); "
        "len(w.alive()); print(time.perf_counter() - t0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed = float(out.stdout.strip())
    rss = subprocess_peak_rss_mb(code)
    yield Figure("open + first world query", elapsed * 1e3, "ms", goal="< 1000 ms",
                 note="fresh interpreter, imports included; world at the middle event")  # fmt: skip
    yield Figure("open + first world query: peak memory", rss, "MiB", goal="< 1024 MiB")
