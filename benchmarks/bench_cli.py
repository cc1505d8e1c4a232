"""``cli``: what a user waits for at the prompt, whole commands in fresh interpreters.

- ``cinema events FILE --kind crash`` on the sandbox-recorded 10,000,000-event session (issue
  13: goal < 0.3 s), wall and CPU time and peak memory, against ``cinema info FILE`` on the same
  file in the same run (start-up, open, index: the floor any command pays);
- ``cinema --help`` against a bare ``python -c pass``: the cost of starting the command.

Each figure is the median of runs interleaved with its baseline (the order flips every round);
the note gives the spread. Quick mode uses the 1,000,000-event session and fewer rounds.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

from benchmarks._harness import Figure, benchmark, subprocess_peak_rss_mb
from benchmarks._sandbox_sessions import ensure_sandbox_session

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# A user's interpreter caches compiled modules: let the children write and read .pyc files even
# when this environment says not to (compiling Cinema's modules costs ~0.2 s a start).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(args: Sequence[str]) -> tuple[float, float]:
    """Run ``args`` to completion (output discarded); return (wall s, CPU s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, cwd=_ROOT, env=_ENV
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _side_by_side(
    a: Sequence[str], b: Sequence[str], rounds: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """``rounds`` runs of each command, alternately (after one warm-up run of each)."""
    _run(a), _run(b)  # page cache and .pyc files warm for both
    ra: list[tuple[float, float]] = []
    rb: list[tuple[float, float]] = []
    for i in range(rounds):
        pairs = ((a, ra), (b, rb)) if i % 2 == 0 else ((b, rb), (a, ra))
        for args, out in pairs:
            out.append(_run(args))
    return ra, rb


def _spread(xs: list[float], unit: str = "s") -> str:
    return f"median of {len(xs)}, {min(xs):.3f}-{max(xs):.3f} {unit}"


def _peak_anon_mb(args: Sequence[str]) -> float:
    """Peak anonymous memory (RssAnon: what the process allocated, not the pages of the files it
    maps), sampled every 5 ms while ``args`` runs; Linux only (0 elsewhere)."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, cwd=_ROOT, env=_ENV)
    peak_kb = 0
    status = f"/proc/{proc.pid}/status"
    while proc.poll() is None:
        try:
            with open(status) as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith("RssAnon:")), 0)
        except (OSError, ValueError):
            kb = 0
        peak_kb = max(peak_kb, kb)
        time.sleep(0.005)
    if proc.returncode:
        raise RuntimeError(f"{args} exited with {proc.returncode}")
    return peak_kb / 1024


def _peak_mb(args: Sequence[str]) -> float:
    code = (
        "import sys\n"
        f"sys.argv = {['cinema', *args]!r}\n"
        "from cinema.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )
    return subprocess_peak_rss_mb(code, env={"PYTHONDONTWRITEBYTECODE": ""})


@benchmark("cli", help="whole commands: cinema events --kind crash on 10M events, cinema --help")
def bench_cli(quick: bool) -> Iterator[Figure]:
    n = 1_000_000 if quick else 10_000_000
    path = str(ensure_sandbox_session(n))
    rounds = 3 if quick else 7
    cinema = [sys.executable, "-m", "cinema"]
    events = [*cinema, "events", path, "--kind", "crash"]
    info = [*cinema, "info", path]
    ev, base = _side_by_side(events, info, rounds)
    size = f"{n / 1e6:g}M-event sandbox session"
    ev_wall, base_wall = [w for w, _ in ev], [w for w, _ in base]
    ev_cpu, base_cpu = [c for _, c in ev], [c for _, c in base]
    yield Figure(
        f"cinema events --kind crash, {size}, wall",
        statistics.median(ev_wall),
        "s",
        baseline=statistics.median(base_wall),
        goal="< 0.3 s" if not quick else None,
        note=f"baseline: cinema info on the same file; {_spread(ev_wall)}",
    )
    yield Figure(
        f"cinema events --kind crash, {size}, CPU",
        statistics.median(ev_cpu),
        "s",
        baseline=statistics.median(base_cpu),
        note=f"user + sys of the process (threads included); {_spread(ev_cpu)}",
    )
    yield Figure(
        f"cinema events --kind crash, {size}, peak RSS",
        _peak_mb(events[3:]),
        "MiB",
        baseline=_peak_mb(info[3:]),
        note="baseline: cinema info; peak RSS counts the pages of the mapped file read",
    )
    yield Figure(
        f"cinema events --kind crash, {size}, peak anonymous memory",
        statistics.median(_peak_anon_mb(events) for _ in range(3)),
        "MiB",
        baseline=statistics.median(_peak_anon_mb(info) for _ in range(3)),
        note="RssAnon sampled every 5 ms, median of 3; baseline: cinema info",
    )
    helps, bare = _side_by_side([*cinema, "--help"], [sys.executable, "-c", "pass"], rounds)
    help_wall = [w for w, _ in helps]
    yield Figure(
        "cinema --help, wall",
        statistics.median(help_wall),
        "s",
        baseline=statistics.median([w for w, _ in bare]),
        note=f"baseline: python -c pass; {_spread(help_wall)}",
    )
