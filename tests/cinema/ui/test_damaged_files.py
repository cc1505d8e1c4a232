"""A damaged or unfinished file: one clear note in place, everything else keeps working, and
no traceback (pytest-qt fails a test on any exception raised in a Qt callback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cinema.ui.app import load_state
from cinema.ui.eventlist import UNREADABLE
from cinema.ui.main_window import MainWindow
from recorder.events import EventKind
from recorder.session.format import FrameType
from recorder.session.reader import SessionReader


def _event_frames(path: Path) -> list[tuple[int, int, int]]:
    """(offset, first_seq, count) of each EVENTS frame, and the file size after the last."""
    with SessionReader(path) as r:
        t = r.frame_table()
    ev = t["type"] == FrameType.EVENTS
    return list(zip(t["offset"][ev].tolist(), t["first_seq"][ev].tolist(), t["count"][ev].tolist(),
                    strict=True))  # fmt: skip


@pytest.fixture
def damaged(bank_frames_path: Path, tmp_path: Path) -> tuple[Path, int, int]:
    """The bank session with one byte flipped in the payloads of its third events frame."""
    frames = _event_frames(bank_frames_path)
    (_, first, count), (nxt, _, _) = frames[2], frames[3]
    path = tmp_path / "damaged.cinema"
    data = bytearray(bank_frames_path.read_bytes())
    data[nxt - 40] ^= 0xFF  # the end of the frame: its payload block
    path.write_bytes(bytes(data))
    return path, first, first + count - 1


def test_a_corrupt_frame_is_said_once_and_the_rest_works(qtbot, damaged, settings) -> None:  # type: ignore[no-untyped-def]
    path, first, last = damaged
    st = load_state(str(path))
    st.autosave = False
    st.breakpoints.add('msg_type == "transfer"')  # needs payloads: meets the damage
    win = MainWindow(st, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    inside, before, after = (first + last) // 2, first - 10, last + 50
    for seq in (before, inside, after):  # scrub across, every panel redraws
        st.select_event(seq)
        qtbot.wait(5)
    st.select_event(inside)
    win.inspector.refresh()
    assert "Unreadable" in win.inspector.sections
    assert str(f"#{first:,}") in win.inspector.sections["Unreadable"].child(0).text(1) or (
        "cannot be shown" in win.inspector.sections["Unreadable"].child(0).text(1)
    )
    # one clear message at the top of the window: which events, and why
    assert win.banner.isVisible()
    assert f"events #{first:,}–#{last:,} cannot be read" in win.banner.text()
    assert "checksum" in win.banner.text() or "corrupt" in win.banner.text()
    # the event list shows the damaged rows as such, the others as usual
    model = win.events.model
    assert model.data(model.index(inside, 5), Qt.ItemDataRole.DisplayRole) == UNREADABLE
    assert model.data(model.index(before, 5), Qt.ItemDataRole.DisplayRole) != UNREADABLE
    # the timeline and the graph still draw
    win.timeline.refresh()
    assert win.timeline.last_frame is not None and win.timeline.last_frame.visible_events > 0
    win.graph.refresh()
    assert win.graph.frame is not None and len(win.graph.frame.pids) > 0
    # outside the damage the inspector shows the state as usual
    states = np.flatnonzero(st.skeleton.kind == EventKind.STATE)
    st.select_event(int(states[states < first][-1]))
    win.inspector.refresh()
    assert "State" in win.inspector.sections and "Unreadable" not in win.inspector.sections
    # the breakpoint's hits say why they are missing; F5 and play say so instead of raising
    st.hits.wait()  # a payload condition: its hits come from the worker
    win.breakpoint_editor.refresh()
    item = win.breakpoint_editor.list.topLevelItem(0)
    # counted over the readable frames, and saying which events are left out
    assert item.text(4).endswith("⚠") and f"#{first:,}" in item.toolTip(4)
    hits = st.breakpoints.cached_hits(st.session, item.text(1))
    assert hits is not None and len(hits) and not ((hits >= first) & (hits <= last)).any()
    st.seek(before)
    st.run_to_next_breakpoint()
    st.set_speed(1000.0)
    st.play()
    qtbot.waitUntil(lambda: not st.playing, timeout=10_000)


def test_an_unfinished_recording_says_what_was_recovered(
    qtbot, bank_frames_path: Path, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    frames = _event_frames(bank_frames_path)
    cut_at = frames[5][0] + 100  # inside the sixth events frame: frames 0-4 are complete
    path = tmp_path / "unfinished.cinema"
    path.write_bytes(bank_frames_path.read_bytes()[:cut_at])
    st = load_state(str(path))
    kept = sum(c for _o, _f, c in frames[:5])
    assert st.event_count == kept
    win = MainWindow(st, settings=settings)
    qtbot.addWidget(win)
    win.show()
    assert win.banner.isVisible()
    assert f"The recording did not finish: {kept:,} events recovered" in win.banner.text()


def test_a_finished_file_has_no_banner(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    assert not win.banner.isVisible()


def test_the_reopened_copy_of_a_damaged_file_reports_again(damaged, tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    path, first, last = damaged
    copy = tmp_path / "copy.cinema"
    shutil.copy(path, copy)
    st = load_state(str(copy))
    st.seek((first + last) // 2)
    from cinema.ui.eventlist import EventTableModel

    model = EventTableModel(st)
    assert model.cell(first, "details", Qt.ItemDataRole.DisplayRole) == UNREADABLE
    assert st.damage and st.damage.problems[0].first == first


def test_the_export_dialog_leaves_the_damaged_frame_out_or_says_why_it_cannot(
    qtbot, damaged, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """File › Export… on a damaged file: JSON Lines are written without the unreadable frame
    and the dialog says which events it left out; a bundle (renumbered from #0) fails with the
    events it needs. The worker thread used to die on the checksum error, and the dialog then
    failed on the outcome it never got."""
    path, first, last = damaged
    st = load_state(str(path))
    st.autosave = False
    win = MainWindow(st, settings=settings)
    qtbot.addWidget(win)
    win.show()
    for fmt, out in (("jsonl", tmp_path / "out.jsonl"), ("cinema", tmp_path / "out.cinema")):
        dlg = win.show_export()
        qtbot.addWidget(dlg)
        dlg.format.setCurrentIndex(dlg.format.findData(fmt))
        dlg.output.setText(str(out))
        qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda d=dlg: not d.busy() and (d.outcome is not None or d.error is not None),
            timeout=60_000,
        )
        span = f"events #{first:,}–#{last:,} cannot be read"
        if fmt == "jsonl":
            assert dlg.error is None and dlg.outcome is not None
            seqs = [json.loads(line)["seq"] for line in out.read_text().splitlines()]
            assert not any(first <= s <= last for s in seqs) and seqs[-1] > last
            assert dlg.outcome.events == len(seqs) and f"left out: {span}" in dlg.status.text()
        else:
            assert dlg.outcome is None and dlg.error is not None and span in dlg.error
            assert "export failed" in dlg.status.text() and not out.exists()
            dlg.close()
