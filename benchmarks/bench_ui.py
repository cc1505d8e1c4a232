"""``ui``: the desktop app stays interactive whatever the size of the session.

- timeline: frame time (visible-window query + redraw) while panning across a 10,000,000-event,
  5,000-process session, against the same on a 10,000-event session in the same run
  (goal: at most 2x, and under 16 ms per frame);
- scrubbing: the playhead moved to 100 random positions with every panel updated (p95 < 50 ms);
- graph: a 10,000-process supervision tree laid out (< 1 s), and the supervision view redrawn
  while the playhead moves (>= 30 frames per second), every process shown;
- breakpoints: the window's longest freeze while a payload breakpoint added in the editor has
  its hits computed (800,000 events; ``--quick``: 200,000), against the same computation done
  in the window's thread.

Quick mode uses 1,000,000 events for the big session. Qt runs offscreen.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._harness import Figure, benchmark, percentile
from benchmarks._sessions import ensure_synthetic


def _app():  # a QApplication (Qt is imported lazily)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from cinema.ui.app import ensure_app

    return ensure_app("light")


def _pan_frame_ms(path: Path, frames: int = 60) -> float:
    """Median ms per frame: pan by 10 % of a window showing 1/200 of the session, redraw."""
    from cinema.ui.app import load_state
    from cinema.ui.timeline import TimelineWidget

    app = _app()
    state = load_state(str(path))
    w = TimelineWidget(state)
    w.resize(1400, 700)
    w.show()
    app.processEvents()
    dur = state.session.duration_ns / 1e9
    width = dur / 200
    times = []
    for i in range(frames):
        x0 = (dur - width) * i / frames
        start = time.perf_counter()
        w.vb.setXRange(x0, x0 + width, padding=0, update=False)
        w.refresh()
        w.glw.viewport().repaint()  # paint now, offscreen: the frame is really drawn
        times.append(time.perf_counter() - start)
    w.close()
    state.session.close()
    return statistics.median(times) * 1e3


def _scrub_positions(path: Path, positions: int = 100) -> list[int]:
    from cinema.model.session import Session

    with Session.open(path) as s:
        n = s.event_count
    rng = random.Random(7)
    return [rng.randrange(n) for _ in range(positions)]


def _world_query_ms(path: Path, seqs: list[int]) -> tuple[float, float]:
    """p95 and median of ``session.world_at`` alone at the scrub positions (a fresh session:
    no cached worlds), the model's part of a scrub."""
    from cinema.model.session import Session

    with Session.open(path) as s:
        _ = s.skeleton
        times = []
        for seq in seqs:
            start = time.perf_counter()
            s.world_at(seq)
            times.append(time.perf_counter() - start)
    return percentile([t * 1e3 for t in times], 95), statistics.median(times) * 1e3


def _scrub_p95_ms(path: Path, positions: int = 100) -> tuple[float, float]:
    from PySide6.QtCore import QSettings

    from cinema.ui.app import load_state
    from cinema.ui.main_window import MainWindow

    app = _app()
    state = load_state(str(path))
    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(
            state, settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        )
        win.resize(1600, 1000)
        win.show()
        app.processEvents()
        times = []
        for seq in _scrub_positions(path, positions):
            start = time.perf_counter()
            state.select_event(seq)  # playhead + selection: every panel updates
            app.processEvents()
            times.append(time.perf_counter() - start)
        win.close()
    return percentile([t * 1e3 for t in times], 95), statistics.median(times) * 1e3


def _tree_layout_s(n: int = 10_000) -> float:
    from cinema.views.layout import TreeLayout

    sups = 100
    children: dict[int, list[int]] = {0: list(range(1, sups + 1))}
    nxt = sups + 1
    per = (n - sups - 1) // sups
    for s in range(1, sups + 1):
        children[s] = list(range(nxt, nxt + per))
        nxt += per
    start = time.perf_counter()
    TreeLayout().update([0], children)
    return time.perf_counter() - start


def _graph_fps(path: Path, frames: int = 40) -> tuple[float, int]:
    from cinema.ui.app import load_state
    from cinema.ui.graph import ProcessGraphWidget

    app = _app()
    state = load_state(str(path))
    g = ProcessGraphWidget(state, view="supervision")
    g.resize(900, 700)
    g.show()
    state.seek(state.event_count // 2)
    app.processEvents()
    if hasattr(g, "expand_all"):
        g.expand_all()  # every process shown (the tree opens collapsed): the densest picture
        app.processEvents()
    start = time.perf_counter()
    for _i in range(frames):
        state.seek(state.seq + 25)  # playback: the playhead moves, the view redraws
        g.refresh()  # what the coalescing timer runs on the next event-loop turn
        g.plot.viewport().repaint()
    elapsed = time.perf_counter() - start
    n = len(g.frame.pids) if g.frame else 0
    g.close()
    return frames / elapsed, n


def _breakpoint_stall_ms(path: Path) -> tuple[float, float, float]:
    """Adding a payload-condition breakpoint in the editor: the longest gap between 5-ms
    ticks of the event loop until its hits are known (the window's freeze), the time until
    then, and the same hits computed synchronously in the window's thread (the old way)."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    from cinema.model.condition import Condition
    from cinema.ui.app import load_state
    from cinema.ui.breakpoints import BreakpointEditor

    app = _app()
    expr = 'kind == "send" and msg ~ "work, 99[0-9]"'
    state = load_state(str(path))
    state.autosave = False
    editor = BreakpointEditor(state)
    editor.show()
    app.processEvents()
    editor.set_kind("expression")
    editor.expr.setText(expr)
    clock = QElapsedTimer()
    gaps: list[int] = []
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    clock.start()
    timer.start()
    start = time.perf_counter()
    editor.commit()
    bp_id = next(iter(state.breakpoints)).id
    while state.hits.pending(bp_id) is not None:
        app.processEvents()
        time.sleep(0.002)
    total = time.perf_counter() - start
    app.processEvents()
    timer.stop()
    start = time.perf_counter()
    Condition(expr).hits(state.session)
    sync = time.perf_counter() - start
    editor.close()
    state.close()
    return float(max(gaps)), total * 1e3, sync * 1e3


@benchmark("ui", help="timeline pan frame time, scrubbing latency, graph layout and redraw rate")
def run(quick: bool) -> Iterator[Figure]:
    big_n = 1_000_000 if quick else 10_000_000
    small = ensure_synthetic(10_000, 50)
    big = ensure_synthetic(big_n, 5_000)
    small_ms = _pan_frame_ms(small)
    big_ms = _pan_frame_ms(big)
    yield Figure(
        f"timeline frame, panning ({big_n:,} events, 5,000 lanes)", big_ms, "ms", small_ms,
        goal="<= 2x and < 16 ms", note="baseline: the same on a 10,000-event session",
    )  # fmt: skip
    p95, median = _scrub_p95_ms(big)
    w95, wmed = _world_query_ms(big, _scrub_positions(big))
    yield Figure(
        f"scrub to 100 random positions, all panels ({big_n:,} events), p95", p95, "ms", median,
        goal="< 50 ms",
        note=f"baseline: the median of the same positions; of it, the world query alone "
        f"(session.world_at) p95 {w95:.0f} ms / median {wmed:.0f} ms, panels the rest",
    )  # fmt: skip
    layout_s = _tree_layout_s()
    yield Figure(
        "supervision tree layout, 10,000 processes", layout_s * 1e3, "ms", goal="< 1000 ms"
    )
    bp_n = 200_000 if quick else 800_000
    stall, total, sync = _breakpoint_stall_ms(ensure_synthetic(bp_n, 2_000))
    yield Figure(
        f"window freeze while a payload breakpoint's hits are computed ({bp_n:,} events)",
        stall, "ms", sync, goal="< 100 ms",
        note=f"longest event-loop gap; hits known after {total:.0f} ms (worker); baseline: the "
        "same hits computed in the window's thread, as before (the whole time frozen)",
    )  # fmt: skip
    tree = ensure_synthetic(200_000 if quick else 400_000, 10_000)
    fps, nodes = _graph_fps(tree)
    yield Figure(
        f"supervision view redraw during playback ({nodes:,} processes)", fps, "fps",
        goal=">= 30 fps",
    )  # fmt: skip
