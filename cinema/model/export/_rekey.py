"""Keyframes through a process cut: the second pass of a bundle of some processes.

A range cut copies the original's keyframes (the same worlds, renumbered). A process cut's
worlds are not the original's (it holds only the chosen processes and the events that name
them), so its keyframes must be the worlds its own events replay to: the first pass writes the
bundle with only the keyframe at ``#0``; :func:`rekeyed` reads it back as a session and writes
the same events again with a keyframe every ``every`` events (a frame ends there), each the
world ``world_at(s - 1)`` of the first pass. The worlds are built walking forward, each
replayed from the one before (vectorised, the model's own replay), so the pass costs one
replay of the cut, in bounded memory.
"""

from __future__ import annotations

from typing import IO

import numpy as np

from cinema.model.export._keyframes import world_keyframe
from cinema.model.export.redact import Redactor, Rules
from cinema.model.export.scope import Chunk, Progress
from cinema.model.session import Session
from recorder.session.format import FrameType
from recorder.session.frames import RawFrame, raw_map_frame

__all__ = ["rekeyed"]

#: Already redacted in the first pass: the second applies no rule.
_NO_RULES = Rules(keys=())


def rekeyed(first_pass: str, out: IO[bytes], every: int, progress: Progress | None = None) -> int:
    """Write the bundle at ``first_pass`` to ``out`` with a keyframe every ``every`` events;
    the number of keyframes written. ``progress(events_done, events)`` after each frame."""
    from cinema.model.export.bundle import _Events, _Writer

    redactor = Redactor(_NO_RULES)
    with Session.open(first_pass) as s, open(first_pass, "rb") as f:
        r = s.reader
        table = r.frame_table()
        header = f.read(int(table["offset"][0]))
        w = _Writer(out, header)
        events = _Events(w)
        keyframes = 0
        if 0 in r.keyframe_seqs:
            t = int(table["t_first"][table["type"] == FrameType.KEYFRAME][0])
            w.add(RawFrame(FrameType.KEYFRAME, 0, 0, t, t, (r.keyframe_body(0), b"", b"")))
            keyframes += 1
        n = s.event_count
        due = every
        for fs in r.scan(0, n):
            first, a = fs.first_seq, 0
            while a < len(fs):
                b = min(len(fs), due - first) if due > first else 0
                if b > a:
                    c = Chunk(fs, np.arange(a, b), redactor)
                    events.add(c.ts, c.kind, c.pid, c.peer, c.ref, *c.payload_run())
                    a = b
                if a < len(fs):  # event first + a is due a keyframe before it
                    events.flush()
                    world = s.world_at(first + a - 1)
                    body = world_keyframe(world, first + a, redactor, None, r.payload_bytes)
                    t = world.time_ns
                    w.add(RawFrame(FrameType.KEYFRAME, 0, first + a, t, t, (body, b"", b"")))
                    keyframes += 1
                    due = first + a + every
            if progress is not None:
                progress(first + len(fs), n)
        events.flush()
        for extra in r.meta_frames():
            w.add(raw_map_frame(FrameType.META, extra, n, w.t_last, structural=True))
        rows = [[p.pid, p.name, p.behaviour, p.parent, p.supervisor, p.node]
                for _, p in sorted(r.processes.items())]  # fmt: skip
        w.footer(rows)
    return keyframes
