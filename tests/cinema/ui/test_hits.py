"""Slow breakpoint hits are computed by a worker: the window stays responsive, shows progress,
can cancel; the hits are the model's own."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QTimer

from benchmarks._sessions import write_synthetic
from cinema.model.condition import Condition
from cinema.ui.breakpoints import BreakpointEditor
from cinema.views.hitjob import HitJob


@pytest.fixture(scope="module")
def big_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hits") / "big.cinema"
    write_synthetic(path, 60_000, 200)
    return path


@pytest.fixture
def big(big_path: Path, qapp):  # type: ignore[no-untyped-def]
    from cinema.ui.app import load_state

    st = load_state(str(big_path))
    st.autosave = False
    yield st
    st.close()


EXPR = 'kind == "send" and msg ~ "work, 99[0-9]"'


def test_the_job_gives_the_models_hits(big_path: Path) -> None:
    from cinema.model.session import Session

    with Session.open(big_path) as s:
        want = Condition(EXPR).hits(s)
        job = HitJob(str(big_path), EXPR, s.event_count, chunk=6_000)
        seen: list[float] = []
        job.run(on_chunk=seen.append)
    assert job.result is not None and job.result.tolist() == want.tolist()
    assert len(seen) >= 6 and seen[-1] == 1.0 and seen == sorted(seen)


def test_adding_a_payload_breakpoint_keeps_the_window_responsive(qtbot, big, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import cinema.views.hitjob as hitjob

    monkeypatch.setattr(hitjob, "PROCESS_ABOVE", 10_000)  # as a big session: a child process
    editor = BreakpointEditor(big)
    qtbot.addWidget(editor)
    editor.show()
    editor.set_kind("expression")
    editor.expr.setText(EXPR)
    # the event loop keeps turning: the longest gap between 5-ms ticks stays small
    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    editor.commit()  # returns at once: the hits are computed by a worker
    bp_id = next(iter(big.breakpoints)).id
    assert big.hits.pending(bp_id) is not None
    qtbot.waitUntil(lambda: "%" in editor.list.topLevelItem(0).text(4), timeout=10_000)
    assert editor.progress.isVisible()
    qtbot.waitUntil(lambda: big.hits.pending(bp_id) is None, timeout=120_000)
    timer.stop()
    started = time.perf_counter()
    want = Condition(EXPR).hits(big.session)  # what the window used to do in its own thread
    sync_ms = (time.perf_counter() - started) * 1e3
    assert big.breakpoints.cached_hits(big.session, bp_id).tolist() == want.tolist()
    assert editor.list.topLevelItem(0).text(4) == f"{len(want):,}"
    assert not editor.progress.isVisible()
    # the synchronous way froze the window for the whole computation
    assert max(gaps) < max(0.5 * sync_ms, 300), (max(gaps), sync_ms)


def test_a_big_job_runs_in_a_child_process_with_the_same_hits(big_path: Path) -> None:
    from cinema.model.session import Session

    with Session.open(big_path) as s:
        want = Condition(EXPR).hits(s).tolist()
        n = s.event_count
    job = HitJob(str(big_path), EXPR, n, chunk=6_000).start(process=True)
    assert job._proc is not None  # a process, not a thread
    job.join(120)
    assert job.done and job.failure is None and job.result is not None
    assert job.result.tolist() == want
    stopped = HitJob(str(big_path), EXPR, n, chunk=6_000).start(process=True)
    stopped.cancel()
    assert stopped.done and stopped.cancelled and stopped.result is None


def test_cancel_stops_and_disables_the_breakpoint(qtbot, big) -> None:  # type: ignore[no-untyped-def]
    editor = BreakpointEditor(big)
    qtbot.addWidget(editor)
    editor.show()
    bp = big.breakpoints.add('kind == "receive" and msg ~ "work, 5"')
    assert big.hits.pending(bp.id) is not None
    editor.b_cancel.click()
    assert big.hits.pending(bp.id) is None and not big.breakpoints.get(bp.id).enabled
    assert big.breakpoints.cached_hits(big.session, bp.id) is None


def test_f5_and_play_wait_for_pending_hits_and_say_so(qtbot, big) -> None:  # type: ignore[no-untyped-def]
    big.breakpoints.add('kind == "receive" and msg ~ "work, 7"')
    with qtbot.waitSignal(big.sigMessage) as msg:
        big.run_to_next_breakpoint()
    assert "computing" in msg.args[0] and big.seq == 0
    with qtbot.waitSignal(big.sigMessage) as msg:
        big.play()
    assert "computing" in msg.args[0] and not big.playing
    big.hits.wait()
    big.run_to_next_breakpoint()
    assert big.seq > 0


def test_a_column_only_breakpoint_needs_no_worker(qtbot, big) -> None:  # type: ignore[no-untyped-def]
    bp = big.breakpoints.add('kind == "crash"')
    assert big.hits.pending(bp.id) is None
    started = time.perf_counter()
    hits = big.breakpoints.hits_of(big.session, bp.id)
    assert time.perf_counter() - started < 1.0
    assert hits.tolist() == np.flatnonzero(big.skeleton.kind == 2).tolist()
