"""What happens when, frame by frame, without reading every event: the timeline's pyramid.

A first screen of ten million events shows each process's activity over the whole session; a
kind filter needs only the frames holding that kind. :class:`Activity` answers both from one
row per EVENTS frame -- its span (first event, count, first and last timestamps), the mask of
kinds it holds, and how many events each process acts in it -- read from the summaries the
writer stores (``recorder.session.summary``, format 1.1) and, for frames without one (older
files, the tail of a killed recording), worked out from the frame's own skeleton once. It
also serves the fixed fields of a window of events from a small cache of decoded skeleton
blocks (:meth:`Activity.window`), so a view of a few frames never loads the whole session's
columns. Perfetto's UI draws tracks the same way: summaries for the zoomed-out view, events
for the zoomed-in one. A live session grows all of it frame by frame.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from recorder.session import summary
from recorder.session.format import FrameType
from recorder.session.reader import Columns, SessionReader, Skeleton
from recorder.session.scan import FrameScan

__all__ = ["Activity", "FrameLanes", "FrameSpans", "kind_mask_of"]

IntArray = npt.NDArray[np.int64]
#: Decoded skeleton blocks kept (a frame of 4,096 events is ~70 kB of columns).
CACHED_FRAMES = 256
#: Up to this many frames to load are read on the calling thread, not by the read-ahead pool:
#: a seek reads one keyframe interval (~12 frames on the 10M-event sandbox session), and the
#: pool's threads only added waits for a processor there (up to ~11 ms per cold seek at p99
#: on the loaded 2-core benchmark machine, for decompressing ~4 ms of skeleton blocks).
INLINE_FRAMES = 16


@dataclass(frozen=True, slots=True)
class FrameSpans:
    """The EVENTS frames of a session, in order: events ``first[k] .. first[k] + count[k] - 1``
    with timestamps from ``t0[k]`` to ``t1[k]``."""

    first: IntArray
    count: IntArray
    t0: IntArray
    t1: IntArray

    @property
    def frames(self) -> int:
        return len(self.first)

    def of_seq(self, seq: npt.ArrayLike) -> IntArray:
        """The frame holding each event number."""
        out: IntArray = np.searchsorted(self.first, seq, side="right") - 1
        return out


class FrameLanes(NamedTuple):
    """How many events each process acts in each frame: one entry per (frame, pid) with
    events, ordered by frame, then pid."""

    frame: IntArray
    pid: npt.NDArray[np.uint32]
    events: IntArray


def kind_mask_of(kinds: npt.ArrayLike) -> int:
    """The frame-summary mask of kind codes: bit ``k`` for each (63 for codes past 63)."""
    mask = 0
    for k in np.asarray(kinds, np.int64).ravel().tolist():
        mask |= 1 << min(max(int(k), 0), 63)
    return mask


def _empty_lanes() -> FrameLanes:
    return FrameLanes(np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.int64))


class Activity:
    """Per-frame facts of one session, grown with a live session (see the module docstring).

    Safe to ask from several threads: every part is built under a lock.
    """

    def __init__(self, reader: SessionReader) -> None:
        self.reader = reader
        self._lock = threading.RLock()
        self._spans: FrameSpans | None = None
        self._kinds = np.zeros(0, np.uint64)
        self._lanes = _empty_lanes()
        self._done = 0  # frames whose kinds and lanes are known
        self._stored: summary.FrameSummaries | None = None
        self._stored_frames = -1  # reader frames when the stored summaries were read
        self._blocks: OrderedDict[int, FrameScan] = OrderedDict()

    # ------------------------------------------------------------------ frames

    def spans(self) -> FrameSpans:
        """Every EVENTS frame (from the frame index: nothing is decompressed)."""
        n = self.reader.event_frame_count
        got = self._spans
        if got is None or got.frames != n:
            with self._lock:
                ft = self.reader.frame_table()
                ev = ft["type"] == FrameType.EVENTS
                got = self._spans = FrameSpans(
                    ft["first_seq"][ev].astype(np.int64), ft["count"][ev].astype(np.int64),
                    ft["t_first"][ev].astype(np.int64), ft["t_last"][ev].astype(np.int64),
                )  # fmt: skip
        return got

    def kinds(self) -> npt.NDArray[np.uint64]:
        """Per frame: bit ``k`` set when it holds an event of kind ``k`` (63: any past 63)."""
        self._update()
        return self._kinds

    def lanes(self) -> FrameLanes:
        """Per frame, the events each process acts (see :class:`FrameLanes`)."""
        self._update()
        return self._lanes

    def frames_with(self, kinds: npt.ArrayLike, *, stored_only: bool = False) -> IntArray:
        """The frames holding an event of one of ``kinds`` (kind codes). With
        ``stored_only``, frames the file has no summary for are listed too (so that nothing
        is read to find out): what a one-pass filter wants."""
        mask = np.uint64(kind_mask_of(kinds))
        if not stored_only:
            return np.flatnonzero(self.kinds() & mask).astype(np.int64)
        spans = self.spans()
        stored = self._read_stored()
        keep = np.ones(spans.frames, bool)
        if stored is not None and len(stored.first_seq):
            at = np.searchsorted(stored.first_seq, spans.first)
            known = at < len(stored.first_seq)
            known[known] = stored.first_seq[at[known]] == spans.first[known]
            keep[known] = (stored.kinds[at[known]] & mask) != 0
        return np.flatnonzero(keep).astype(np.int64)

    def _update(self) -> None:
        spans = self.spans()
        if self._done == spans.frames:
            return
        with self._lock:
            if self._done == spans.frames:
                return
            start = self._done
            stored = self._read_stored()
            kinds = np.zeros(spans.frames - start, np.uint64)
            frames: list[IntArray] = []
            pids: list[np.ndarray] = []
            counts: list[IntArray] = []
            have = np.zeros(spans.frames - start, bool)
            if stored is not None:
                at = np.searchsorted(stored.first_seq, spans.first[start:])
                ok = at < len(stored.first_seq)
                ok[ok] = stored.first_seq[at[ok]] == spans.first[start:][ok]
                rows = at[ok]
                have[ok] = True
                kinds[ok] = stored.kinds[rows]
                lo, hi = stored.starts[rows], stored.starts[rows + 1]
                sizes = hi - lo
                frames.append(np.repeat(np.flatnonzero(ok) + start, sizes).astype(np.int64))
                if len(rows) == len(stored.first_seq) and np.array_equal(
                    rows, np.arange(len(rows))
                ):  # every stored frame, in order (opening a file): its columns as they are
                    pids.append(stored.pid)
                    counts.append(stored.counts.astype(np.int64))
                else:
                    total = int(sizes.sum())
                    take = np.repeat(lo - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(total)
                    pids.append(stored.pid[take])
                    counts.append(stored.counts[take].astype(np.int64))
            missing = np.flatnonzero(~have)
            if len(missing):
                k_m, f_m, p_m, c_m = self._summarise(start + missing)
                kinds[missing] = k_m
                frames.append(f_m)
                pids.append(p_m)
                counts.append(c_m)
            if len(frames) == 1 and not len(self._lanes.frame):  # no copy of the one part
                new = FrameLanes(frames[0], pids[0].astype(np.uint32, copy=False), counts[0])
            else:
                new = FrameLanes(
                    np.concatenate([self._lanes.frame, *frames]),
                    np.concatenate([self._lanes.pid, *pids]).astype(np.uint32),
                    np.concatenate([self._lanes.events, *counts]),
                )
            if len(frames) > 1:  # stored and worked-out entries interleave
                order = np.lexsort((new.pid, new.frame))
                new = FrameLanes(new.frame[order], new.pid[order], new.events[order])
            self._lanes = new
            self._kinds = np.concatenate([self._kinds, kinds])
            self._done = spans.frames

    def _read_stored(self) -> summary.FrameSummaries | None:
        frames = self.reader.frame_count
        if self._stored_frames != frames:
            with self._lock:
                self._stored = summary.read(self.reader)
                self._stored_frames = frames
        return self._stored

    def _summarise(self, ks: IntArray) -> tuple[np.ndarray, IntArray, np.ndarray, IntArray]:
        """Kinds masks and lane entries of frames ``ks``, from their skeletons."""
        spans = self.spans()
        if len(ks) > CACHED_FRAMES:
            self.reader.skeleton()  # many frames: load the columns at once (in parallel)
        masks = np.zeros(len(ks), np.uint64)
        frames: list[IntArray] = []
        pids: list[np.ndarray] = []
        counts: list[IntArray] = []
        bits = np.left_shift(np.uint64(1), np.minimum(np.arange(256), 63).astype(np.uint64))
        for j, k in enumerate(ks.tolist()):
            a = int(spans.first[k])
            cols = self.window(a, a + int(spans.count[k]))
            present = np.flatnonzero(np.bincount(cols.kind, minlength=256))
            masks[j] = np.bitwise_or.reduce(bits[present]) if len(present) else 0
            u, c = np.unique(cols.pid, return_counts=True)
            frames.append(np.full(len(u), k, np.int64))
            pids.append(u)
            counts.append(c.astype(np.int64))
        cat = np.concatenate
        return (
            masks,
            cat(frames) if frames else np.zeros(0, np.int64),
            cat(pids) if pids else np.zeros(0, np.uint32),
            cat(counts) if counts else np.zeros(0, np.int64),
        )

    # ------------------------------------------------------------------ event windows

    def window(self, start: int, stop: int) -> Skeleton:
        """``ts, kind, pid, peer`` of events ``start <= seq < stop`` (clamped): slices of the
        session's columns when they are loaded, else from decoded skeleton blocks (cached)."""
        cols = self.columns(start, stop, refs=False)
        return Skeleton(cols.ts, cols.kind, cols.pid, cols.peer)

    def columns(self, start: int, stop: int, *, refs: bool = True) -> Columns:
        """The fixed fields of events ``start <= seq < stop`` (clamped), ``ref`` included
        (empty unless ``refs``): from the loaded columns, else from the skeleton and ref blocks
        of the frames that hold them -- never their payloads."""
        n = self.reader.event_count
        start, stop = max(start, 0), min(stop, n)
        if stop <= start:
            e = np.zeros(0, np.int64)
            return Columns(start, e, e.astype(np.uint8), e.astype(np.uint32),
                           e.astype(np.uint32), e)  # fmt: skip
        if self.reader.refs_loaded or (self.reader.skeleton_loaded and not refs):
            sk = self.reader.skeleton()
            ref = self.reader.refs()[start:stop] if refs else np.zeros(0, np.int64)
            return Columns(start, sk.ts[start:stop], sk.kind[start:stop], sk.pid[start:stop],
                           sk.peer[start:stop], ref)  # fmt: skip
        spans = self.spans()
        ka, kb = int(spans.of_seq(start)), int(spans.of_seq(stop - 1))
        with self._lock:
            self._load_blocks(ka, kb)
            parts = []
            for k in range(ka, kb + 1):
                fs = self._blocks[k]
                self._blocks.move_to_end(k)
                first = int(spans.first[k])
                a, b = max(start - first, 0), min(stop - first, len(fs))
                cols = (fs.ts, fs.kind, fs.pid, fs.peer) + ((fs.refs(),) if refs else ())
                parts.append(tuple(c[a:b] for c in cols))
        if not refs:
            parts = [(*p, np.zeros(0, np.int64)) for p in parts]
        if len(parts) == 1:
            return Columns(start, *parts[0])
        joined = [np.concatenate([p[i] for p in parts]) for i in range(5)]
        return Columns(start, *joined)

    def at(self, seqs: npt.ArrayLike) -> Skeleton:
        """``ts, kind, pid, peer`` of the given events (ascending or not), reading only the
        frames that hold them when the session's columns are not loaded."""
        at = np.asarray(seqs, np.int64)
        if self.reader.skeleton_loaded or not len(at):
            sk = self.reader.skeleton()
            return Skeleton(sk.ts[at], sk.kind[at], sk.pid[at], sk.peer[at])
        spans = self.spans()
        frames = spans.of_seq(at)
        out = [np.empty(len(at), dt) for dt in (np.int64, np.uint8, np.uint32, np.uint32)]
        with self._lock:
            for k in np.unique(frames).tolist():
                self._load_blocks(k, k)
                fs = self._blocks[k]
                rows = np.flatnonzero(frames == k)
                j = at[rows] - int(spans.first[k])
                for col, src in zip(out, (fs.ts, fs.kind, fs.pid, fs.peer), strict=True):
                    col[rows] = src[j]
        return Skeleton(*out)

    def _load_blocks(self, ka: int, kb: int) -> None:
        spans = self.spans()
        # the cached blocks of this range become the newest first: the eviction below must not
        # drop one of them for the blocks loaded next to it (a KeyError in the caller)
        for k in range(ka, kb + 1):
            if k in self._blocks:
                self._blocks.move_to_end(k)
        todo = [k for k in range(ka, kb + 1) if k not in self._blocks]
        if not todo:
            return
        a, b = todo[0], todo[-1]
        lo, hi = int(spans.first[a]), int(spans.first[b] + spans.count[b])
        for fs in self.reader.scan(lo, hi, ahead=len(todo) > INLINE_FRAMES):
            k = int(spans.of_seq(fs.first_seq))
            if k not in self._blocks and len(fs) == spans.count[k]:
                self._blocks[k] = fs
        while len(self._blocks) > max(CACHED_FRAMES, kb - ka + 1):
            self._blocks.popitem(last=False)
