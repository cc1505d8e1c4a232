"""``ui``: the desktop app stays interactive whatever the size of the session.

On sessions recorded by the sandbox itself (:mod:`benchmarks._sandbox_sessions`; the big one is
issue 13's ~10,000,000 events among ~6,700 processes, ``--quick``: ~1,000,000), each against
the same on a 10,000-event sandbox session in the same run:

- timeline: frame time (visible-window query + redraw, painted) while panning, median and p95
  (goal: under 16 ms per frame);
- timeline at rest: paint events of the whole window during one second in which nothing
  happens (goal: none);
- scrubbing: the playhead moved to 100 random positions in the main window, every panel
  updated and painted before the next (p95 < 50 ms); and the same for a drag of the position
  slider, 1-4 of its pixels forward per step;
- graph: a 10,000-process supervision tree laid out (< 1 s), and the supervision view of a
  sandbox session with 10,000 GenServers redrawn while the playhead moves (>= 60 frames per
  second);
- breakpoints: the window's longest freeze while a payload breakpoint added in the editor has
  its hits computed (a synthetic session of 800,000 events; ``--quick``: 200,000), against the
  same computation done in the window's thread.

Qt runs offscreen.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._harness import Figure, Timings, benchmark, percentile
from benchmarks._sandbox_sessions import ensure_sandbox_session
from benchmarks._sessions import ensure_synthetic


def _small() -> Path:
    """The 10,000-event sandbox session every figure here is compared with."""
    return ensure_sandbox_session(10_000, workers=50, supervisors=5, clients=10)


def _tree_session(quick: bool) -> Path:
    """A sandbox session with 10,000 GenServers under 100 supervisors."""
    return ensure_sandbox_session(
        200_000 if quick else 400_000, workers=10_000, supervisors=100, clients=200
    )


def _app():  # a QApplication (Qt is imported lazily)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from cinema.ui.app import ensure_app

    return ensure_app("light")


def _pan_frames(path: Path, frames: int = 60) -> Timings:
    """Frame times: pan a window showing 1/200 of the session, redraw, paint."""
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
    times = Timings()

    def frame(x0: float) -> None:
        w.vb.setXRange(x0, x0 + width, padding=0, update=False)
        w.refresh()
        w.glw.viewport().repaint()  # paint now, offscreen: the frame is really drawn

    for i in range(frames):
        times.time(frame, (dur - width) * i / frames)
    w.close()
    state.session.close()
    return times


def _window(path: Path) -> tuple[Any, Any, Any]:
    """``(app, state, MainWindow)`` on ``path``, shown and settled (its first screen painted)."""
    from PySide6.QtCore import QSettings

    from cinema.ui.app import load_state
    from cinema.ui.main_window import MainWindow

    app = _app()
    state = load_state(str(path))
    tmp = tempfile.mkdtemp(prefix="cinema-bench-ui-")
    win = MainWindow(
        state, settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
    )
    win.resize(1600, 1000)
    win.show()
    state.seek(0)
    _spin(app, 0.5)
    return app, state, win


def _spin(app: Any, seconds: float) -> None:
    """Run the event loop for ``seconds``, as an idle application would."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


class _PaintCounter:
    """Counts the paint events of every widget while installed on the application."""

    def __init__(self, app: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class Filter(QObject):
            def eventFilter(self, obj: Any, ev: Any) -> bool:
                if ev.type() == QEvent.Type.Paint:
                    counter.count += 1
                    name = type(obj).__name__
                    counter.by_widget[name] = counter.by_widget.get(name, 0) + 1
                return False

        self.count = 0
        self.by_widget: dict[str, int] = {}
        self._filter = Filter()
        self._app = app
        app.installEventFilter(self._filter)

    def remove(self) -> None:
        self._app.removeEventFilter(self._filter)


def _idle_paints(path: Path) -> tuple[int, dict[str, int]]:
    """Paint events of the whole main window during one second in which nothing happens."""
    app, state, win = _window(path)
    counter = _PaintCounter(app)
    _spin(app, 1.0)
    counter.remove()
    win.close()
    state.session.close()
    return counter.count, counter.by_widget


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


def _drag_positions(n: int, slider_px: int, positions: int = 100) -> list[int]:
    """A drag of the position slider: from a random point of the first half, forward 1-4 of
    the slider's pixels per step (``n / slider_px`` events each), as a hand moves it."""
    rng = random.Random(7)
    seq = rng.randrange(max(n // 2, 1))
    out = []
    for _ in range(positions):
        seq = min(n - 1, seq + rng.randint(1, 4) * n // max(slider_px, 1))
        out.append(seq)
    return out


def _scrub(path: Path, positions: int = 100, drag: bool = False) -> tuple[Timings, int]:
    """Times of scrub steps (playhead and selection moved, every panel updated and painted),
    and how many paint events the steps caused: random jumps, or a drag of the slider."""
    app, state, win = _window(path)
    counter = _PaintCounter(app)
    times = Timings()

    def step(seq: int) -> None:
        state.select_event(seq)  # playhead + selection: every panel updates
        app.processEvents()  # the deferred refreshes, then the window's paint

    seqs = (
        _drag_positions(state.event_count, win.playback.slider.width(), positions)
        if drag
        else _scrub_positions(path, positions)
    )
    for seq in seqs:
        times.time(step, seq)
    counter.remove()
    win.close()
    state.session.close()
    return times, counter.count


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


def _graph_fps(path: Path, frames: int = 40) -> tuple[float, float, int]:
    """Frames per second of the supervision view during playback (wall and CPU), and how many
    processes it shows."""
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
    times = Timings()

    def frame() -> None:
        state.seek(state.seq + 25)  # playback: the playhead moves, the view redraws
        g.refresh()  # what the coalescing timer runs on the next event-loop turn
        g.plot.viewport().repaint()

    for _i in range(frames):
        times.time(frame)
    n = len(g.frame.pids) if g.frame else 0
    g.close()
    return frames / sum(times.wall), frames / sum(times.cpu), n


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
    small = _small()
    big = ensure_sandbox_session(big_n)
    size = f"{big_n / 1e6:g}M-event sandbox session"
    small_pan, big_pan = _pan_frames(small), _pan_frames(big)
    for cpu in (False, True):
        yield Figure(
            f"timeline frame, panning, {size}{', CPU' if cpu else ''}", big_pan.ms(50, cpu=cpu),
            "ms", small_pan.ms(50, cpu=cpu), goal="< 16 ms",
            note=f"median of {len(big_pan)} frames (p95 {big_pan.ms(95, cpu=cpu):.1f} ms); "
            f"baseline: the same on a 10,000-event sandbox session "
            f"(p95 {small_pan.ms(95, cpu=cpu):.1f} ms)",
        )  # fmt: skip
    idle, by_widget = _idle_paints(big)
    idle_small, _ = _idle_paints(small)
    yield Figure(
        f"window at rest, paint events in 1 s, {size}", idle, "paints", idle_small or None,
        goal="0",
        note=f"nothing happens for a second after the first screen; baseline: the 10,000-event "
        f"session ({idle_small}); by widget: {by_widget or 'none'}",
    )  # fmt: skip
    scrub, paints = _scrub(big)
    small_scrub, _ = _scrub(small)
    w95, wmed = _world_query_ms(big, _scrub_positions(big))
    for cpu in (False, True):
        yield Figure(
            f"scrub to 100 random positions, all panels, {size}, p95{', CPU' if cpu else ''}",
            scrub.ms(95, cpu=cpu), "ms", small_scrub.ms(95, cpu=cpu), goal="< 50 ms",
            note=f"median {scrub.ms(50, cpu=cpu):.0f} ms, {paints} paint events; baseline: the "
            f"same on the 10,000-event session (median {small_scrub.ms(50, cpu=cpu):.0f} ms)"
            + ("" if cpu else f"; the world query alone (session.world_at, wall) p95 "
               f"{w95:.0f} ms / median {wmed:.0f} ms"),
        )  # fmt: skip
    drag, drag_paints = _scrub(big, drag=True)
    small_drag, _ = _scrub(small, drag=True)
    for cpu in (False, True):
        yield Figure(
            f"scrub by dragging the slider, 100 steps, all panels, {size}, "
            f"p95{', CPU' if cpu else ''}",
            drag.ms(95, cpu=cpu), "ms", small_drag.ms(95, cpu=cpu), goal="< 50 ms",
            note=f"1-4 slider pixels forward per step; median {drag.ms(50, cpu=cpu):.0f} ms, "
            f"{drag_paints} paint events; baseline: the same on the 10,000-event session "
            f"(median {small_drag.ms(50, cpu=cpu):.0f} ms)",
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
    fps, cpu_fps, nodes = _graph_fps(_tree_session(quick))
    yield Figure(
        f"supervision view redraw during playback ({nodes:,} processes)", fps, "fps",
        goal=">= 60 fps",
        note="sandbox session with 10,000 GenServers under 100 supervisors, every subtree "
        f"open; by CPU time: {cpu_fps:.1f} fps",
    )  # fmt: skip
