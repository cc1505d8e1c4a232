"""A damaged file is analysed on its readable frames, and no finding rests on the damage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cinema.model.analysis import Context, analyze
from cinema.model.flow import LOST
from cinema.model.session import Session
from recorder.sandbox import Process, Runtime
from recorder.session.format import FrameType
from recorder.session.reader import SessionReader


def _worker_program(rt: Runtime) -> None:
    """A sender sends 300 jobs at once; the worker takes them one by one, then ends."""

    async def worker(proc: Process) -> None:
        for _ in range(300):
            await proc.receive()
            await proc.sleep(0.01)

    async def sender(proc: Process, target: Any) -> None:
        for i in range(300):
            proc.send(target, ("job", i))

    t = rt.spawn(worker, name="worker")
    rt.spawn(sender, t, name="sender")
    rt.run()


def _record(folder: Path) -> tuple[Path, Path, int, int]:
    """The program in frames of 100 events, and a copy with the 5th events frame corrupt."""
    path = folder / "worker.cinema"
    opts = {"flush_interval": None, "frame_events": 100}
    with Runtime(deterministic=True, seed=1, record=str(path), recorder_options=opts) as rt:
        _worker_program(rt)
    with SessionReader(path) as r:
        t = r.frame_table()
    ev = t["type"] == FrameType.EVENTS
    offsets, firsts, counts = t["offset"][ev], t["first_seq"][ev], t["count"][ev]
    data = bytearray(path.read_bytes())
    data[int(offsets[5]) - 30] ^= 0xFF  # the end of the 5th frame: its payload block
    damaged = folder / "damaged.cinema"
    damaged.write_bytes(bytes(data))
    return path, damaged, int(firsts[4]), int(firsts[4] + counts[4])


def test_messages_taken_in_an_unreadable_frame_are_not_lost(tmp_path: Path) -> None:
    sound, damaged, a, b = _record(tmp_path)
    with Session.open(sound) as s:
        cx = Context(s)
        assert analyze(s, context=cx) == [] and cx.unreadable == [] and cx.damage is None
    with Session.open(damaged) as s:
        cx = Context(s)
        found = analyze(s, context=cx)
        assert cx.damage is not None
        assert [(x, y) for x, y, _ in cx.damage.spans] == [(a, b)]
        assert [(exc.reason, seq) for exc, seq in cx.unreadable] == [
            ("frame checksum mismatch (corrupt data)", None)
        ]
        # the frame's rows are out of every column the detectors read
        assert not np.isin(cx.sk.kind[a:b], list(range(32))).any()
        # its RECEIVEs are gone: paired naively, their messages look lost with the worker ...
        fl = cx.flow
        lost = fl.send_seq[fl.outcome == LOST]
        assert len(lost) >= 20
        # ... but they may have been taken there: no finding says they were lost
        assert found == [], [f.title for f in found]


def test_bad_event_frames_names_the_corrupt_frame_only(tmp_path: Path) -> None:
    sound, damaged, _, _ = _record(tmp_path)
    with SessionReader(sound) as r:
        assert r.bad_event_frames() == []
    with SessionReader(damaged) as r:
        assert [k for k, _ in r.bad_event_frames()] == [4]
