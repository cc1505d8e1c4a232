"""Render the screenshots of docs/gui.md, offscreen.

Run ``.venv/bin/python docs/screenshots/make_screenshots.py`` from the project's root.

Sessions: the bank demo (``cinema demo --headless --seed 5``), a supervisor of 2,400 workers
recorded by the sandbox, a 10,000-process synthetic session, and a copy of a bank recording
with one damaged frame. Each picture is the window (or one panel) as a user sees it after a few
gestures, made through the same widgets and model calls the gestures make.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "cinema" / "ui"))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from cinema.ui.app import ensure_app, load_state  # noqa: E402
from cinema.ui.main_window import MainWindow  # noqa: E402
from cinema.ui.state import ViewState  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def _settle(app: QApplication, n: int = 6) -> None:
    for _ in range(n):
        app.processEvents()


Setup = Callable[[ViewState, MainWindow], None]


def window(
    path: Path, size: tuple[int, int] = (1600, 1000), theme: str = "light",
    setup: Setup | None = None,
) -> tuple[ViewState, MainWindow]:  # fmt: skip
    app = ensure_app(theme)
    st = load_state(str(path))
    st.autosave = False
    ini = Path(tempfile.mkdtemp()) / "s.ini"
    win = MainWindow(st, theme=theme, settings=QSettings(str(ini), QSettings.Format.IniFormat))
    win.resize(*size)
    win.show()
    _settle(app)
    if setup is not None:
        setup(st, win)
    _settle(app)
    return st, win


def zoom_around(st: ViewState, win: MainWindow, seq: int, half: int = 150) -> None:
    ts = st.skeleton.ts
    lo, hi = max(seq - half, 0), min(seq + half, st.event_count - 1)
    t0 = (int(ts[lo]) - st.session.t_first) / 1e9
    t1 = (int(ts[hi]) - st.session.t_first) / 1e9
    win.timeline.show_window(t0, max(t1, t0 + 1e-6))


def save(widget: QWidget, name: str) -> None:
    _settle(QApplication.instance())  # type: ignore[arg-type]
    widget.grab().save(str(OUT / name))
    print(OUT / name)


def panel(win: MainWindow, key: str, size: tuple[int, int]) -> QWidget:
    dock = win.docks[key]
    dock.show()
    dock.setFloating(True)
    dock.resize(*size)
    _settle(QApplication.instance())  # type: ignore[arg-type]
    return dock.widget()


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    bank = tmp / "bank.cinema"
    subprocess.run([str(ROOT / ".venv" / "bin" / "cinema"), "demo", "--headless", "--seed", "5",
                    "--record", str(bank)], check=True, capture_output=True)  # fmt: skip
    from recorder.events import EventKind
    from recorder.session.reader import SessionReader

    with SessionReader(bank) as r:
        kinds = r.skeleton().kind
    crashes = [i for i, k in enumerate(kinds.tolist()) if k == EventKind.CRASH]
    states = [i for i, k in enumerate(kinds.tolist()) if k == EventKind.STATE]
    crash = crashes[0]

    # the window at the first crash, light and dark
    for theme, name in (("light", "all.png"), ("dark", "all-dark.png")):
        st, win = window(bank, theme=theme, setup=lambda st, win: st.select_event(crash))
        zoom_around(st, win, crash)
        save(win, name)
        win.close()
    # a small window
    st, win = window(bank, (800, 500), setup=lambda st, win: st.select_event(crash))
    save(win, "small.png")
    win.close()

    # the timeline: stops, log hits and bookmarks on the strip; "pause and highlight"
    def marks(st: ViewState, win: MainWindow) -> None:
        st.breakpoints.add('kind == "send"', action="log")
        st.breakpoints.add('kind == "exit_signal"', action="pause_highlight")
        st.breakpoints.add('kind == "crash"')
        st.controller.add_bookmark("look here", seq=crash - 40)
        st.seek(0)
        st.run_to_next_breakpoint()  # the crash
        st.run_to_next_breakpoint()  # the exit signal that follows it: pause and highlight

    st, win = window(bank, setup=marks)
    zoom_around(st, win, st.seq)
    save(win.timeline, "timeline.png")
    save(win, "highlight.png")
    win.show_panel("log")
    save(panel(win, "log", (1000, 320)), "log.png")
    win.close()

    # the supervision tree at the crash: the crashed child red in its slot
    st, win = window(bank, setup=lambda st, win: st.select_event(crash))
    save(panel(win, "graph", (700, 480)), "supervision.png")
    win.graph.set_view("messages")
    save(panel(win, "graph", (700, 560)), "messages.png")
    st.select_event(states[len(states) // 2])
    win.graph.set_view("process")
    save(panel(win, "graph", (700, 480)), "graph.png")
    win.close()

    # inspector: a state change (old -> new) and a crash's traceback
    def balance_change(st: ViewState, win: MainWindow) -> None:
        from cinema.model import history

        for seq in states:
            pid = int(st.skeleton.pid[seq])
            changes, at = history.last_change(st.session, pid, seq)
            if at == seq and any(c.path and c.path[-1] == "balance" for c in changes):
                st.select_event(seq)
                return

    st, win = window(bank, setup=balance_change)
    save(panel(win, "inspector", (700, 700)), "inspector.png")
    st.select_event(crash)
    save(panel(win, "inspector", (700, 700)), "inspector-crash.png")
    win.close()

    # events: a payload filter; breakpoints: a structured one being edited; metrics
    def filtered(st: ViewState, win: MainWindow) -> None:
        win.events.filter.setText("type:transfer 200ms-300ms")
        win.events.apply_filter()
        while win.events.searching():
            _settle(QApplication.instance(), 2)  # type: ignore[arg-type]

    st, win = window(bank, setup=filtered)
    save(panel(win, "events", (1100, 360)), "events-filter.png")
    from cinema.model import breakpoints as bpm

    st.breakpoints.add(bpm.StateCondition("balance", "<", 100, "acct-3"), where="t > 0.5")
    st.breakpoints.add(bpm.ProcessEventCondition(("crash", "restart")), action="log")
    st.hits.wait()
    ed = win.breakpoint_editor
    ed.list.setCurrentItem(ed.list.topLevelItem(0))
    save(panel(win, "breakpoints", (900, 520)), "breakpoints.png")
    st.select_event(states[len(states) // 3])
    save(panel(win, "metrics", (1000, 340)), "metrics.png")
    win.close()

    # analysis: a finding with its marks, the why-path of a receive, the Top table
    st, win = window(bank, size=(1500, 950))
    a = win.analysis
    win.show_panel("findings")
    a.findings.select(next(i for i, f in enumerate(a.findings.findings)
                           if f.detector == "supervisor_gave_up"))  # fmt: skip
    _settle(ensure_app("light"))
    save(win, "findings.png")
    st.select_event(2755)
    a.explain()
    _settle(ensure_app("light"))
    save(win, "why.png")
    win.graph.set_view("messages")
    save(panel(win, "graph", (760, 640)), "why-messages.png")
    win.graph.set_view("supervision")
    win.show_panel("metrics")
    st.seek(2000)
    a.top.refresh()
    _settle(ensure_app("light"))
    save(win, "top.png")
    win.close()

    # traced calls: the Calls table beside Top, its first call on the lane
    traced = tmp / "bank-calls.cinema"
    subprocess.run([str(ROOT / ".venv" / "bin" / "cinema"), "demo", "--headless", "--seed", "5",
                    "--trace-calls", "recorder.sandbox.scenarios.bank:Account.handle_call",
                    "--record", str(traced)], check=True, capture_output=True)  # fmt: skip
    st, win = window(traced)
    win.show_panel("metrics")
    _settle(ensure_app("light"))
    win.analysis.calls.table.cellClicked.emit(0, 0)
    t = st.rel_seconds()
    win.timeline.show_window(t - 0.003, t + 0.003)
    save(win, "calls.png")
    win.close()

    # a damaged file: one banner, the rest works
    frames_bank = record_frames(tmp)
    damaged = damage(frames_bank, tmp)
    st, win = window(damaged, setup=lambda st, win: st.select_event(1200))
    save(win, "damaged.png")
    win.close()

    # big trees: 2,400 children of one supervisor (opened, searched); 10,000 processes
    from _trees import record_flat_tree

    from benchmarks._sessions import write_synthetic

    flat = record_flat_tree(tmp / "flat.cinema", 2400)
    st, win = window(flat, setup=lambda st, win: st.seek(st.event_count - 1))
    g = panel(win, "graph", (700, 560))
    save(g, "supervision-2400-collapsed.png")
    win.graph.expand_all()
    save(g, "supervision-2400.png")
    win.graph.find_box.setText("w1234")
    save(g, "supervision-search.png")
    win.close()
    wide = tmp / "wide.cinema"
    write_synthetic(wide, 30_000, 10_000)
    st, win = window(wide, setup=lambda st, win: st.seek(st.event_count - 1))
    save(panel(win, "graph", (700, 560)), "supervision-10000.png")
    win.close()
    shutil.rmtree(tmp, ignore_errors=True)


def record_frames(tmp: Path) -> Path:
    from conftest import record_bank

    return record_bank(tmp / "bank-frames.cinema", frame_events=500)


def damage(path: Path, tmp: Path) -> Path:
    from recorder.session.format import FrameType
    from recorder.session.reader import SessionReader

    with SessionReader(path) as r:
        t = r.frame_table()
    offs = [int(o) for o, k in zip(t["offset"], t["type"], strict=True) if k == FrameType.EVENTS]
    data = bytearray(path.read_bytes())
    data[offs[3] - 40] ^= 0xFF  # the payloads at the end of the third events frame
    out = tmp / "damaged.cinema"
    out.write_bytes(bytes(data))
    return out


if __name__ == "__main__":
    main()
