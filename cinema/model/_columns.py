"""Column windows: the fixed fields of a range of events, without loading the whole session.

The world at event *N* needs only the events between the nearest keyframe and *N*; loading the
skeleton of a 10-million-event file for that would cost seconds. This module reads just the
frames that hold the window. It is the one place that reaches into the reader's frame cache
(:meth:`SessionReader._decoded`); a public ``SessionReader.columns(start, stop)`` would replace
it (requested from the recorder owners).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from recorder.session.reader import SessionReader

__all__ = ["Columns", "window"]


class Columns(NamedTuple):
    """``ts, kind, pid, peer, ref`` of events ``start .. start + len - 1``."""

    start: int
    ts: np.ndarray
    kind: np.ndarray
    pid: np.ndarray
    peer: np.ndarray
    ref: np.ndarray


def window(reader: SessionReader, start: int, stop: int) -> Columns:
    """The columns of events ``start <= seq < stop`` (clamped to the session)."""
    start = max(start, 0)
    stop = min(stop, reader.event_count)
    if stop <= start:
        empty = np.empty(0, dtype=np.int64)
        return Columns(start, empty, empty.astype(np.uint8), empty, empty, empty)
    if (
        reader._skel_frames == reader.event_frame_count
        and reader._ref_frames == reader._skel_frames
    ):
        sk = reader.skeleton()
        refs = reader.refs()
        return Columns(
            start, sk.ts[start:stop], sk.kind[start:stop], sk.pid[start:stop],
            sk.peer[start:stop], refs[start:stop],
        )  # fmt: skip
    parts: list[tuple[np.ndarray, ...]] = []
    seq = start
    while seq < stop:
        fr = reader._decoded(reader._frame_of(seq))
        a = seq - fr.first_seq
        b = min(stop - fr.first_seq, len(fr.kind))
        parts.append((fr.ts[a:b], fr.kind[a:b], fr.pid[a:b], fr.peer[a:b], fr.ref[a:b]))
        seq = fr.first_seq + b
    if len(parts) == 1:
        return Columns(start, *parts[0])
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return Columns(start, *cols)


def payload_sizes(reader: SessionReader, start: int, stop: int) -> np.ndarray:
    """Encoded payload sizes (bytes, int64) of events ``start <= seq < stop``, from the frames'
    payload offset tables (no payload is decoded)."""
    start = max(start, 0)
    stop = min(stop, reader.event_count)
    parts: list[np.ndarray] = []
    seq = start
    while seq < stop:
        fr = reader._decoded(reader._frame_of(seq))
        a = seq - fr.first_seq
        b = min(stop - fr.first_seq, len(fr.kind))
        parts.append(np.diff(fr.offsets[a : b + 1]))
        seq = fr.first_seq + b
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)
