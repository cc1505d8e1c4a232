"""The benchmark registry, output formats and timing helpers.

A benchmark is a function ``fn(quick: bool) -> Iterable[Figure]`` registered with
``@benchmark("name", help=...)`` in a module ``benchmarks/bench_<name>.py``; :func:`discover`
imports every such module. Machines are noisy, so a figure is always reported next to a baseline
measured in the same run (see :func:`interleaved`), and the ratio is what to compare across
machines.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pkgutil
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

__all__ = [
    "Benchmark",
    "Figure",
    "Timings",
    "benchmark",
    "best_of",
    "discover",
    "figure_json",
    "format_table",
    "interleaved",
    "peak_rss_mb",
    "percentile",
    "registry",
    "subprocess_peak_rss_mb",
]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, next to its baseline.

    ``ratio`` defaults to ``value / baseline`` when a non-zero baseline is given.
    """

    figure: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline:
            object.__setattr__(self, "ratio", self.value / self.baseline)


BenchmarkFn = Callable[[bool], Iterable[Figure]]


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    fn: BenchmarkFn = field(repr=False)
    help: str = ""


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, *, help: str = "") -> Callable[[BenchmarkFn], BenchmarkFn]:
    """Register ``fn(quick) -> Iterable[Figure]`` under ``name``."""

    def register(fn: BenchmarkFn) -> BenchmarkFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _REGISTRY[name] = Benchmark(name, fn, help or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


def registry() -> dict[str, Benchmark]:
    """The registered benchmarks, by name (call :func:`discover` first to load them all)."""
    return dict(sorted(_REGISTRY.items()))


def discover() -> dict[str, Benchmark]:
    """Import every ``benchmarks/bench_*.py`` module and return the registry."""
    import benchmarks

    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name.startswith("bench_"):
            importlib.import_module(f"benchmarks.{info.name}")
    return registry()


# --------------------------------------------------------------------------- output


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0 or not math.isfinite(x):
        return str(x)
    mag = abs(x)
    if mag >= 1000:
        return f"{x:,.0f}"
    if mag >= 100:
        return f"{x:.1f}"
    if mag >= 1:
        return f"{x:.3g}" if mag < 10 else f"{x:.2f}"
    return f"{x:.3g}"


def format_table(rows: Sequence[tuple[str, Figure]]) -> str:
    """An aligned plain-text table of ``(benchmark name, figure)`` rows."""
    header = ("benchmark", "figure", "value", "unit", "baseline", "ratio", "goal", "note")
    cells = [header] + [
        (
            name,
            f.figure,
            _num(f.value),
            f.unit,
            _num(f.baseline),
            "-" if f.ratio is None else f"{f.ratio:.2f}x",
            f.goal or "",
            f.note or "",
        )
        for name, f in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = {2, 4, 5}  # numbers align right
    lines = []
    for row in cells:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def figure_json(name: str, fig: Figure) -> str:
    """One JSON object (one line) for a figure: benchmark, figure, value, unit, baseline, ratio,
    goal, note."""
    return json.dumps({"benchmark": name, **asdict(fig)}, allow_nan=False)


# --------------------------------------------------------------------------- timing


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` calls of ``fn``, in seconds."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


class Timings:
    """Wall and CPU seconds of repeated calls, side by side.

    On a shared machine wall time also counts the time other programs had the processors; the
    process's CPU time (every thread, :func:`time.process_time`) is what the work itself cost,
    and what the wall time would be on an idle machine for single-threaded work.
    """

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __len__(self) -> int:
        return len(self.wall)

    def time(self, fn: Callable[..., object], *args: object) -> object:
        """Call ``fn(*args)``, record its wall and CPU time, return its result."""
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(*args)
        self.wall.append(time.perf_counter() - t0)
        self.cpu.append(time.process_time() - c0)
        return out

    def ms(self, p: float, *, cpu: bool = False) -> float:
        """The ``p``-th percentile in milliseconds (wall time, or CPU time)."""
        return percentile(self.cpu if cpu else self.wall, p) * 1e3


def percentile(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of ``values``, linearly interpolated."""
    xs = sorted(values)
    if not xs:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    k = (len(xs) - 1) * p / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def interleaved(
    a: Callable[[], object], b: Callable[[], object], rounds: int = 5
) -> tuple[float, float]:
    """Time ``a`` and ``b`` alternately ``rounds`` times; return their median times in seconds.

    The order flips every round, so drift in the machine's speed (other load, frequency scaling,
    a warming cache) falls on both sides alike.
    """
    ta, tb = interleaved_timings(a, b, rounds)
    return statistics.median(ta.wall), statistics.median(tb.wall)


def interleaved_timings(
    a: Callable[[], object], b: Callable[[], object], rounds: int = 5
) -> tuple[Timings, Timings]:
    """:func:`interleaved`, keeping every call's wall and CPU time (:class:`Timings`)."""
    ta, tb = Timings(), Timings()
    for i in range(rounds):
        pair = ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))
        for fn, out in pair:
            out.time(fn)
    return ta, tb


def _maxrss_mb(ru_maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes.
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# Runs in the child: report the peak RSS of *this* interpreter at exit. Linux's VmHWM belongs to
# the address space created by exec; ru_maxrss would also count the parent's memory when the
# child was forked (or vforked) from a big process.
_PEAK_RSS_PRELUDE = """\
import atexit, os, resource, sys

def _report_peak_rss():
    kb = None
    try:
        with open("/proc/self/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kb = maxrss // 1024 if sys.platform == "darwin" else maxrss
    with open(os.environ["CINEMA_BENCH_PEAK_RSS_FILE"], "w") as out:
        out.write(str(kb))

atexit.register(_report_peak_rss)
_code = sys.argv.pop(1)
exec(compile(_code, "<benchmark>", "exec"), {"__name__": "__main__"})
"""


def subprocess_peak_rss_mb(code: str, *, env: dict[str, str] | None = None) -> float:
    """Run ``code`` in a fresh ``python -c`` interpreter; return its peak resident memory, MiB.

    The child runs with the repository root as its working directory.

    Raises:
        RuntimeError: with the end of the child's stderr, when it exits non-zero.
    """
    with tempfile.TemporaryDirectory(prefix="cinema-bench-") as tmp:
        report = os.path.join(tmp, "peak_rss_kb")
        proc = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_PRELUDE, code],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {}), "CINEMA_BENCH_PEAK_RSS_FILE": report},
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            check=False,
        )
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"benchmark subprocess failed ({proc.returncode}): {tail}")
        with open(report) as f:
            return int(f.read()) / 1024


def run(names: Iterable[str], quick: bool) -> Iterator[tuple[str, Figure]]:
    """Run the named benchmarks (all must be registered); yield ``(name, figure)`` rows."""
    for name in names:
        for fig in _REGISTRY[name].fn(quick):
            yield name, fig
