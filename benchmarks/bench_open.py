"""``open``: from ``cinema open FILE`` to the window's first screen, in a fresh interpreter.

What the user waits for when opening a session: the interpreter starts, imports numpy (with
one OpenBLAS thread) and Cinema, starts reading the file in a worker thread while it imports Qt
(as ``cinema open`` does), waits for the read (with the progress dialog of ``cinema open``),
builds every panel, and paints each visible one. Each run is a new process (Qt offscreen) that
opens the file through :class:`cinema.ui.app.Opener` (what ``cinema open`` calls), watches
every paint event of the application, and stops once every visible panel of the window (the
timeline and each dock in front) has painted and none of them has a refresh pending. It reports
the wall time since the parent started it and the peak resident memory (``VmHWM``) at that
moment.

Figures (the sandbox-recorded 10,000,000-event session; ``--quick``: 1,000,000):

- open to the first screen, wall time (goal < 1 s), against the same on a 10,000-event sandbox
  session in the same run (start-up, imports, window: the floor every open pays);
- the CPU time of the same runs (user + sys, every thread): on a shared machine wall time
  also counts the time other programs had the processors;
- peak memory at the first screen (goal < 1 GiB), against the same baseline.

The runs alternate big / small (the order flips every round); figures are medians, the note
gives the spread.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from benchmarks._harness import Figure, benchmark
from benchmarks._sandbox_sessions import ensure_sandbox_session

__all__ = ["Run", "first_screen"]

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

# Runs in the child. argv: parent's time.monotonic() at launch, the session, a settings file.
_CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
started, path, ini = float(sys.argv[1]), sys.argv[2], sys.argv[3]
# as `cinema open` does: numpy without OpenBLAS's thread pool (cinema.cli._blas), then the
# file is read from before Qt is imported, then Qt is loaded
from cinema.cli._blas import import_numpy
import_numpy()
from cinema.ui.loading import preload
preload(path)
from cinema.ui.app import Opener, ensure_app
from cinema.ui._deferred import DeferredRefresh, _shows_anything
from PySide6.QtCore import QEvent, QObject, QSettings
from PySide6.QtWidgets import QWidget

app = ensure_app("light")
painted = []

class Watch(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and isinstance(obj, QWidget):
            painted.append(obj)
        return False

watch = Watch()
app.installEventFilter(watch)
opener = Opener("light", QSettings(ini, QSettings.Format.IniFormat))
win = opener.open(path)
assert win is not None, "the session did not open"
panels = [win.timeline] + [
    d.widget() for d in win.docks.values()
    if d.isVisible() and d.widget().isVisible() and _shows_anything(d.widget())
]
refreshes = win.findChildren(DeferredRefresh)
done = {}
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    app.processEvents()
    for w in painted:
        for p in panels:
            if id(p) not in done and (w is p or p.isAncestorOf(w)):
                done[id(p)] = True
    painted.clear()
    pending = any(r.dirty and r.on_screen() for r in refreshes)
    if len(done) == len(panels) and not pending:
        break
else:
    raise SystemExit("the first screen was not painted within 300 s")
elapsed = time.monotonic() - started
with open("/proc/self/status") as f:
    hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu = ru.ru_utime + ru.ru_stime
print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mib": hwm / 1024, "panels": len(panels)}))
sys.stdout.flush()
os._exit(0)  # the figure is taken: skip tearing the window down
"""


class Run(NamedTuple):
    """One run to the first screen."""

    seconds: float  # wall time since the parent started the child
    cpu: float  # user + sys seconds of the child (all its threads)
    peak_mib: float  # VmHWM at the first screen


def first_screen(path: Path) -> Run:
    """One fresh ``cinema open``-equivalent run to the first screen."""
    with tempfile.TemporaryDirectory(prefix="cinema-bench-open-") as tmp:
        ini = str(Path(tmp) / "settings.ini")
        env = {**_ENV, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": tmp}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, repr(started), str(path), ini],
            capture_output=True, text=True, cwd=_ROOT, env=env, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        tail = proc.stderr[-2000:]
        raise RuntimeError(f"open benchmark child failed ({proc.returncode}): {tail}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return Run(float(out["seconds"]), float(out["cpu"]), float(out["peak_mib"]))


def _spread(xs: list[float], unit: str, fmt: str = ".2f") -> str:
    return f"median of {len(xs)}, {min(xs):{fmt}}-{max(xs):{fmt}} {unit}"


@benchmark("open", help="cinema open to the window's first screen (wall, peak RSS), fresh process")
def run(quick: bool) -> Iterator[Figure]:
    n = 1_000_000 if quick else 10_000_000
    big = ensure_sandbox_session(n)
    small = ensure_sandbox_session(10_000, workers=50, supervisors=5, clients=10)
    rounds = 3 if quick else 5
    first_screen(big), first_screen(small)  # page cache and .pyc files warm for both
    runs: dict[Path, list[Run]] = {big: [], small: []}
    for i in range(rounds):
        for p in (big, small) if i % 2 == 0 else (small, big):
            runs[p].append(first_screen(p))
    b_s, s_s = [r.seconds for r in runs[big]], [r.seconds for r in runs[small]]
    b_c, s_c = [r.cpu for r in runs[big]], [r.cpu for r in runs[small]]
    b_m, s_m = [r.peak_mib for r in runs[big]], [r.peak_mib for r in runs[small]]
    size = f"{n / 1e6:g}M-event sandbox session"
    yield Figure(
        f"open to first screen, {size}", statistics.median(b_s), "s",
        baseline=statistics.median(s_s), goal="< 1 s" if not quick else None,
        note=f"fresh process, Qt offscreen, every visible panel painted; {_spread(b_s, 's')}; "
        f"baseline: a 10,000-event sandbox session ({_spread(s_s, 's')})",
    )  # fmt: skip
    yield Figure(
        f"open to first screen, {size}, CPU", statistics.median(b_c), "s",
        baseline=statistics.median(s_c),
        note=f"user + sys of the child, all threads (steadier than wall time on a loaded "
        f"machine); {_spread(b_c, 's')}; baseline: the 10,000-event session",
    )  # fmt: skip
    yield Figure(
        f"open to first screen, {size}, peak RSS", statistics.median(b_m), "MiB",
        baseline=statistics.median(s_m), goal="< 1024 MiB" if not quick else None,
        note=f"VmHWM at the first screen; {_spread(b_m, 'MiB', '.0f')}; baseline: the "
        "10,000-event session",
    )  # fmt: skip
