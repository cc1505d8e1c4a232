"""The graph panel draws what shows, at pixel resolution, and only what changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks._sessions import write_synthetic
from cinema.ui.graph import ProcessGraphWidget


@pytest.fixture(scope="module")
def big_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.cinema"
    write_synthetic(path, 20_000, 2_000)  # 20 supervisors of ~100 workers
    return path


@pytest.fixture
def big(big_path: Path, qapp):  # type: ignore[no-untyped-def]
    from cinema.ui.app import load_state

    st = load_state(str(big_path))
    st.seek(st.event_count - 1)
    yield st
    st.close()
    st.session.close()


def _shown(item) -> int:  # type: ignore[no-untyped-def]
    return len(item.data)


def test_big_tree_draws_one_node_per_pixel_and_repicks_on_zoom(qtbot, big) -> None:  # type: ignore[no-untyped-def]
    w = ProcessGraphWidget(big, view="supervision")
    qtbot.addWidget(w)
    w.resize(400, 300)
    w.show()
    qtbot.waitExposed(w)
    w.refresh()
    assert w.frame is not None and len(w.frame.pids) < 100  # opens with the subtrees collapsed
    w.expand_all()  # every worker shown: the densest picture
    fr = w.frame
    assert fr is not None and len(fr.pids) > 1500
    drawn = sum(_shown(item) for item in w.nodes.values())
    assert drawn == w.drawn["nodes"] < len(fr.pids) // 2  # overlapping leaves merged
    assert w.drawn["edges"] < len(fr.edges) // 2
    # every status that is in the frame still shows
    assert {s for s, item in w.nodes.items() if _shown(item)} == set(fr.status)
    # zoom into the top of the leaf column: re-picked for the new pixels, without a recompute
    redraws = w.redraws
    vb = w.plot.getViewBox()
    (x0, x1), _ = vb.viewRange()
    vb.setRange(xRange=(x0, x1), yRange=(0.0, 40.0), padding=0)  # the first 40 leaves
    qtbot.waitUntil(lambda: w.drawn["nodes"] != drawn)
    assert w.redraws == redraws
    ys = np.concatenate([item.data["y"] for item in w.nodes.values()])
    # ~7 pixels a leaf now: each visible one drawn, none outside (but for its radius)
    leaves = {float(y) for y in fr.y if 0 <= y <= 40}
    assert leaves <= set(ys.tolist()) and ys.max() <= 41


def test_unchanged_layers_are_not_set_again(qtbot, big, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = ProcessGraphWidget(big, view="supervision")
    qtbot.addWidget(w)
    w.resize(400, 300)
    w.show()
    qtbot.waitExposed(w)
    w.refresh()
    calls: list[object] = []
    for item in [*w.nodes.values(), w.edges, w.recent, w.dots, w.rings]:
        original = item.setData
        monkeypatch.setattr(
            item, "setData", lambda *a, _o=original, _i=item, **k: (calls.append(_i), _o(*a, **k))
        )
    w.refresh()  # same playhead, same view: nothing to send to the items
    assert calls == []
    big.seek(big.seq - 1)  # one event back: at most a few layers change
    w.refresh()
    assert len(calls) < len(w.nodes) + 4


def test_a_burst_of_moves_refreshes_once_before_the_paint(qtbot, big) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QMainWindow

    win = QMainWindow()
    w = ProcessGraphWidget(big, view="supervision")
    win.setCentralWidget(w)
    qtbot.addWidget(win)
    win.resize(400, 300)
    win.show()
    qtbot.waitExposed(win)
    redraws = w.redraws
    for step in range(1, 6):  # e.g. a slider drag delivering several positions at once
        big.seek(big.seq - step)
    assert w.redraws == redraws  # deferred
    # the window is about to paint: the pending refresh runs first, so one paint shows it
    QCoreApplication.sendEvent(win, QEvent(QEvent.Type.UpdateRequest))
    assert w.redraws == redraws + 1
    assert w.frame is not None and f"event #{big.seq:,}" in w.caption.text()
    qtbot.wait(20)  # the posted request finds nothing left to do
    assert w.redraws == redraws + 1
