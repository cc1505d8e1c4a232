"""The graph's camera views tell the truth and stay readable: the sequence diagram shows its
messages (with heads and types), a crashed child is drawn red in its slot, and a tree of
thousands of processes is collapsible, labelled by zoom level and searchable."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from benchmarks._sessions import write_synthetic
from cinema.model.expr_eval import message_type
from cinema.ui.graph import ProcessGraphWidget
from recorder.events import NO_PID, EventKind

from ._trees import record_flat_tree


def _widget(qtbot, state, view: str, size: tuple[int, int] = (600, 500)) -> ProcessGraphWidget:  # type: ignore[no-untyped-def]
    w = ProcessGraphWidget(state, view=view)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.refresh()
    return w


def double_click(widget, at) -> None:  # type: ignore[no-untyped-def]
    """What a real double click delivers: press, release, double-click, release."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    t = QEvent.Type
    steps = ((t.MouseButtonPress, left), (t.MouseButtonRelease, none),
             (t.MouseButtonDblClick, left), (t.MouseButtonRelease, none))  # fmt: skip
    for kind, buttons in steps:
        p = QPointF(at)
        ev = QMouseEvent(kind, p, QPointF(widget.mapToGlobal(at)), left, buttons,
                         Qt.KeyboardModifier.NoModifier)  # fmt: skip
        QApplication.sendEvent(widget, ev)


def _label_rects(w: ProcessGraphWidget):  # type: ignore[no-untyped-def]
    return w.labels.scene_rects()


def _no_overlaps(rects) -> bool:  # type: ignore[no-untyped-def]
    return not any(
        a.adjusted(1, 1, -1, -1).intersects(b) for a, b in itertools.combinations(rects, 2)
    )


# ---------------------------------------------------------------- messages


def test_the_sequence_diagram_shows_its_messages_with_heads_and_types(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    state.seek(state.event_count // 2)
    w = _widget(qtbot, state, "messages")
    fr = w.frame
    assert fr is not None and len(fr.recent) >= 10  # the message arrows
    (x0, x1), (y0, y1) = w.plot.getViewBox().viewRange()
    for seg in fr.recent:  # every message is inside the fitted view (none below it)
        assert y0 <= min(seg[1], seg[3]) and max(seg[1], seg[3]) <= y1, (seg, y0, y1)
        assert x0 <= min(seg[0], seg[2]) and max(seg[0], seg[2]) <= x1
    # a head per delivered message, at its receiver's end, pointing away from the sender
    assert w.heads.shown() == len(fr.heads) >= 10
    vp = state.viewport
    hi = int(np.searchsorted(vp.send_seq, state.seq, side="right"))
    sends = vp.send_seq[:hi][-30:]
    types = {message_type(state.session.data(int(s))) for s in sends}
    shown = set(w.message_labels.texts())
    assert shown and shown <= types
    assert _no_overlaps(_label_rects(w) + w.message_labels.scene_rects())


def test_arrow_heads_point_from_sender_to_receiver(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    state.seek(state.event_count // 2)
    w = _widget(qtbot, state, "messages")
    fr = w.frame
    vb = w.plot.getViewBox()
    for item, (tx, ty, bx, by) in zip(w.heads.items, fr.heads, strict=False):
        tip = vb.mapViewToScene(QPointF(tx, ty))
        back = vb.mapViewToScene(QPointF(bx, by))
        shape = item.mapToScene(item.boundingRect().center())  # the head's body is behind its tip
        direction = np.array([tip.x() - back.x(), tip.y() - back.y()])
        body = np.array([shape.x() - tip.x(), shape.y() - tip.y()])
        assert float(direction @ body) < 0, (direction, body)


# ---------------------------------------------------------------- crashes


def test_a_crashed_child_is_drawn_red_in_its_slot_until_replaced(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    sk = state.skeleton
    crash = int(np.flatnonzero(sk.kind == EventKind.CRASH)[0])
    dead = int(sk.pid[crash])
    restart = int(
        np.flatnonzero((sk.kind == EventKind.RESTART) & (np.arange(len(sk.kind)) > crash))[0]
    )
    new = int(sk.peer[restart])
    w = _widget(qtbot, state, "supervision")
    state.seek(crash - 1)
    w.refresh()
    before = w.frame.pids.index(dead)
    y_before = float(w.frame.y[before])
    state.seek(crash)
    w.refresh()
    fr = w.frame
    assert dead in fr.pids
    i = fr.pids.index(dead)
    assert fr.status[i] == "crashed" and float(fr.y[i]) == y_before
    assert len(w.nodes["crashed"].data) >= 1  # drawn, in the red layer
    state.seek(restart)
    w.refresh()
    fr = w.frame
    assert dead not in fr.pids and new in fr.pids
    assert float(fr.y[fr.pids.index(new)]) == y_before  # the replacement takes its slot
    assert fr.restarted[fr.pids.index(new)]


def test_pause_and_highlight_on_a_crash_rings_the_red_node(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = _widget(qtbot, state, "supervision")
    state.breakpoints.add('kind == "crash"', action="pause_highlight")
    state.run_to_next_breakpoint()
    w.refresh()
    assert state.highlighted_pids() == [int(state.skeleton.pid[state.seq])]
    assert w.drawn["highlighted"] == 1


# ---------------------------------------------------------------- wide trees


@pytest.fixture(scope="module")
def flat_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_flat_tree(tmp_path_factory.mktemp("flat") / "flat.cinema", 2400)


@pytest.fixture(scope="module")
def wide_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wide") / "wide.cinema"
    write_synthetic(path, 30_000, 10_000)  # 100 supervisors of 100 workers
    return path


def _open(path: Path):  # type: ignore[no-untyped-def]
    from cinema.ui.app import load_state

    st = load_state(str(path))
    st.autosave = False
    st.seek(st.event_count - 1)
    return st


def test_2400_children_are_a_comb_not_a_black_fan(qtbot, qapp, flat_path: Path) -> None:  # type: ignore[no-untyped-def]
    st = _open(flat_path)
    w = _widget(qtbot, st, "supervision")
    assert len(w.frame.pids) == 1 and int(w.frame.hidden[0]) == 2400  # opens collapsed
    assert "+2,400" in w.labels.texts()[0]
    w.toggle(w.frame.pids[0])
    fr = w.frame
    assert len(fr.pids) == 2401
    # every segment drawn is horizontal or vertical (elbows), and there are few of them
    x, y = w.edges.getData()
    seg = np.column_stack([x[0::2], y[0::2], x[1::2], y[1::2]])
    assert len(seg) <= 50
    assert np.all((seg[:, 0] == seg[:, 2]) | (seg[:, 1] == seg[:, 3]))
    # labels by zoom: as many as fit, none overlapping
    n0 = w.drawn["labels"]
    assert 10 <= n0 <= w.plot.height() / 14 + 2
    assert _no_overlaps(_label_rects(w))
    vb = w.plot.getViewBox()
    (x0, x1), _ = vb.viewRange()
    vb.setRange(xRange=(x0, x1), yRange=(100, 120), padding=0)  # 20 leaves in view
    want = {f"w{i}" for i in range(100, 120)}
    qtbot.waitUntil(lambda: want <= set(w.labels.texts()))
    assert _no_overlaps(_label_rects(w))
    st.close()


def test_10000_processes_open_collapsed_and_search_finds_one(qtbot, qapp, wide_path: Path) -> None:  # type: ignore[no-untyped-def]
    st = _open(wide_path)
    w = _widget(qtbot, st, "supervision")
    fr = w.frame
    assert len(st.session.processes) >= 10_000
    assert 50 <= len(fr.pids) <= 250 and int(fr.hidden.sum()) > 9_000
    assert "more in collapsed subtrees" in w.caption.text()
    assert _no_overlaps(_label_rects(w)) and w.drawn["labels"] >= 10
    # double-click a collapsed supervisor: it opens
    sup = next(p for p, h in zip(fr.pids, fr.hidden, strict=True) if h)
    w.zoom_to(sup)
    qtbot.waitUntil(lambda: w.drawn.get("labels", 0) > 0)
    j = w.frame.pids.index(sup)
    pos = w.plot.getViewBox().mapViewToScene(QPointF(w.frame.x[j], w.frame.y[j]))
    double_click(w.plot.viewport(), w.plot.mapFromScene(pos))
    qtbot.waitUntil(lambda: sup in (w.model.display.children if w.model.display else {}))
    assert len(w.frame.pids) > len(fr.pids)
    # search: a worker inside a collapsed subtree is revealed, selected, shown and labelled
    name = "worker_4321"
    pid = next(p for p, info in st.session.processes.items() if info.name == name)
    qtbot.keyClicks(w.find_box, name)
    assert st.pid == pid and w.matches[0] == pid
    assert pid in w.frame.pids
    j = w.frame.pids.index(pid)
    (x0, x1), (y0, y1) = w.plot.getViewBox().viewRange()
    assert x0 <= w.frame.x[j] <= x1 and y0 <= w.frame.y[j] <= y1
    qtbot.waitUntil(lambda: any(t.startswith(name) for t in w.labels.texts()))
    w.find_box.clear()
    qtbot.keyClicks(w.find_box, "no such process")
    assert w.matches == [] and "e0302b" in w.find_box.styleSheet()
    st.close()


def test_a_tree_that_grows_under_the_playhead_opens_level_by_level(
    qtbot, qapp, wide_path: Path
) -> None:  # type: ignore[no-untyped-def]
    st = _open(wide_path)
    st.seek(0)  # only the root exists yet
    w = _widget(qtbot, st, "supervision")
    st.seek(st.event_count - 1)
    w.refresh()
    tree = w.model.display
    assert tree is not None and len(tree.roots) == 1
    root = tree.roots[0]
    assert root in tree.children and 50 <= len(w.frame.pids) <= 250  # the root opened
    assert all(int(h) > 0 for p, h in zip(w.frame.pids, w.frame.hidden, strict=True) if p != root)
    st.close()


def test_clicking_the_outside_senders_lifeline_selects_nothing(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    """The messages view draws the sandbox's sender outside any process (no process:
    ``NO_PID``) as a lifeline. A click on it leaves the selection and says why; selecting
    0xFFFFFFFF overflowed ``sigProcess`` (a signed int) and broke the timeline's slot."""
    from cinema.ui.main_window import MainWindow

    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    sk = state.skeleton
    sends = np.flatnonzero((sk.kind == EventKind.SEND) & (sk.pid == NO_PID))
    assert len(sends), "the bank demo sends from outside any process (its shutdown)"
    seq = int(sends[-1])
    receiver = int(sk.peer[seq])
    state.select_process(receiver)
    state.seek(seq + 1)
    w = win.graph
    w.set_view("messages")
    w.refresh()
    assert NO_PID in w.frame.pids
    said: list[str] = []
    state.sigMessage.connect(said.append)
    other = next(p for p in w.frame.pids if p not in (NO_PID, receiver))

    def click(pid: int) -> None:
        j = w.frame.pids.index(pid)
        pos = w.plot.getViewBox().mapViewToScene(QPointF(w.frame.x[j], w.frame.y[j]))
        at = w.plot.mapFromScene(pos)
        qtbot.mouseClick(w.plot.viewport(), Qt.MouseButton.LeftButton, pos=at)

    click(NO_PID)  # the outside lifeline: nothing to inspect, said
    assert state.pid == receiver
    assert said and "outside any process" in said[0]
    click(other)  # a process's lifeline: selected as ever
    assert state.pid == other
    win.timeline.refresh()
    win.inspector.refresh()
    assert "not alive" not in win.inspector.title.text()
