"""The Findings panel analyses a big session in a worker: the window's event loop keeps
running meanwhile (it froze for 7 s on 10 M events), the panel shows the progress and a
Cancel button, closing the window cancels, and the findings are the model's."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QTimer

import cinema.ui.findings as findings_mod
from cinema.model.analysis import analyze
from cinema.model.session import Session
from cinema.ui.app import load_state
from cinema.ui.main_window import MainWindow
from cinema.views.analysisjob import AnalysisJob
from recorder.sandbox import GenServer, Process, Runtime
from recorder.sandbox.process import From


class _Counter(GenServer):
    def init(self, *args: Any) -> Any:
        return ("ok", 0)

    def handle_call(self, request: Any, from_: From, state: int) -> Any:
        return ("reply", state + 1, state + 1)


@pytest.fixture(scope="module")
def busy_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 clients calling 8 servers 4,000 times each: about 320,000 events, above the
    panel's AUTO_ANALYZE_EVENTS and WORKER_ABOVE (analysed when shown, by the worker)."""
    path = tmp_path_factory.mktemp("busy") / "busy.cinema"
    with Runtime(deterministic=True, seed=2, record=str(path)) as rt:
        for i in range(8):
            rt.start(_Counter, name=f"peer{i}")

        async def client(proc: Process, i: int) -> None:
            for k in range(4000):
                await proc.call(f"peer{(i + k) % 8}", ("add",), timeout=None)

        for i in range(16):
            rt.spawn(client, i, name=f"client{i}")
        rt.run()
    return path


class _HeldJob(AnalysisJob):
    """The real job, which waits at its message-flow step until the test releases or cancels
    it: on an idle machine the whole analysis of ``busy_path`` takes ~0.25 s, about two of the
    panel's polls, so without the hold whether a poll (or a Cancel click) lands mid-way is
    luck."""

    release = threading.Event()

    def _step(self, fraction: float) -> None:
        super()._step(fraction)
        if 0.45 <= fraction < 0.5:
            deadline = time.monotonic() + 30
            while not (self.release.is_set() or self._cancel.is_set()):
                if time.monotonic() > deadline:
                    raise TimeoutError("the test never released the job")
                time.sleep(0.005)


def _window(qtbot, path: Path, settings):  # type: ignore[no-untyped-def]
    st = load_state(str(path))
    st.autosave = False
    w = MainWindow(st, settings=settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return st, w


def test_the_window_stays_responsive_while_the_findings_are_computed(  # type: ignore[no-untyped-def]
    qtbot, busy_path, settings, tmp_path, monkeypatch
) -> None:
    _HeldJob.release.clear()
    monkeypatch.setattr(findings_mod, "AnalysisJob", _HeldJob)
    st, w = _window(qtbot, busy_path, settings)
    assert st.event_count > max(findings_mod.AUTO_ANALYZE_EVENTS, findings_mod.WORKER_ABOVE)
    panel = w.analysis.findings
    assert panel.job is None and panel._analysed_at < 0  # a background tab: nothing yet
    ticks: list[tuple[float, int]] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), panel.progress.value())))
    timer.start()
    shown: list[int] = []  # every value the bar took (a 10 ms sample can miss steps under load)
    panel.progress.valueChanged.connect(shown.append)
    w.show_panel("findings")
    qtbot.waitUntil(lambda: panel.job is not None, timeout=5000)
    start = time.perf_counter()
    assert panel.progress.isVisible() and panel.cancel_button.isVisible()
    assert not panel.run_button.isEnabled() and "Analysing" in panel.summary.text()
    # The bar follows the job (it polls every 100 ms): 45% while the job is held there.
    qtbot.waitUntil(lambda: panel.progress.value() == 45, timeout=10_000)
    w.grab().save(str(tmp_path / "findings-progress.png"))
    _HeldJob.release.set()
    qtbot.waitUntil(lambda: panel.job is None, timeout=120_000)
    took = time.perf_counter() - start
    timer.stop()
    during = [t for t, _ in ticks if t >= start]
    # The event loop ran all along: ticks throughout, no gap near the analysis's length
    # (in the window's thread there was one gap as long as the analysis, and no tick).
    assert len(during) >= 5, (len(during), took)
    gaps = np.diff([start, *during])
    assert gaps.max() < max(0.5, 0.6 * took), (gaps.max(), took)  # here: ~0.18 s of ~0.6 s
    assert shown[0] == 0 and 45 in shown, shown  # from 0, through the held step
    assert not panel.progress.isVisible() and panel.run_button.isEnabled()
    with Session.open(busy_path) as s:
        want = analyze(s)
    assert [f.title for f in panel.findings] == [f.title for f in want] and want
    assert panel.tree.topLevelItemCount() == len(want)
    assert not panel.damage_note.isVisible()
    w.grab().save(str(tmp_path / "findings-done.png"))


def test_cancel_and_closing_the_window_stop_the_worker(  # type: ignore[no-untyped-def]
    qtbot, busy_path, settings, monkeypatch
) -> None:
    _HeldJob.release.clear()  # held mid-way: a Cancel cannot come after the end
    monkeypatch.setattr(findings_mod, "AnalysisJob", _HeldJob)
    _st, w = _window(qtbot, busy_path, settings)
    panel = w.analysis.findings
    panel.run()
    job = panel.job
    assert job is not None
    qtbot.waitUntil(lambda: job.progress >= 0.45, timeout=10_000)
    qtbot.mouseClick(panel.cancel_button, findings_mod.Qt.MouseButton.LeftButton)
    assert panel.job is None and "cancelled" in panel.summary.text()
    assert job.wait(60) and job.cancelled and job.findings == []
    assert panel.findings == [] and panel.run_button.isEnabled()
    panel.run()  # again, then the window closes
    job = panel.job
    assert job is not None
    qtbot.waitUntil(lambda: job.progress >= 0.45, timeout=10_000)
    w.close()
    assert job.wait(60) and job.cancelled


def test_a_damaged_file_is_analysed_with_a_note(  # type: ignore[no-untyped-def]
    qtbot, bank_frames_path, settings, tmp_path, monkeypatch
) -> None:
    from recorder.session.format import FrameType
    from recorder.session.reader import SessionReader

    with SessionReader(bank_frames_path) as r:
        t = r.frame_table()
    ev = t["type"] == FrameType.EVENTS
    offsets, firsts, counts = t["offset"][ev], t["first_seq"][ev], t["count"][ev]
    data = bytearray(bank_frames_path.read_bytes())
    data[int(offsets[3]) - 40] ^= 0xFF  # the end of the third events frame: its payloads
    path = tmp_path / "damaged.cinema"
    path.write_bytes(bytes(data))
    a, b = int(firsts[2]), int(firsts[2] + counts[2] - 1)
    monkeypatch.setattr(findings_mod, "WORKER_ABOVE", 0)  # the bank is small: the worker anyway
    st, w = _window(qtbot, path, settings)
    panel = w.analysis.findings
    w.show_panel("findings")
    panel.run()
    assert panel.job is not None
    qtbot.waitUntil(lambda: panel.job is None, timeout=60_000)
    assert panel.damage_note.isVisible()
    assert f"events #{a:,}–#{b:,} cannot be read (frame checksum mismatch" in (
        panel.damage_note.text()
    )
    assert {"supervisor_gave_up", "call_timeout"} <= {f.detector for f in panel.findings}
    assert all(not a <= e <= b for f in panel.findings for e in f.events)
    assert st.damage.problems  # the window's banner knows it too
    w.grab().save(str(tmp_path / "findings-damaged.png"))
