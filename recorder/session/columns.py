"""Column types of the reader, and the decoding of one EVENTS frame into columns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from recorder.events import NO_PEER
from recorder.session.format import MAX_ABS_TIME, FrameHeader, SessionFormatError
from recorder.session.frames import check_crc, decode_block
from recorder.session.index import FrameIndex

__all__ = [
    "ColumnStore",
    "Columns",
    "DecodedFrame",
    "Growable",
    "ProcessInfo",
    "Skeleton",
    "check_columns",
    "check_pids",
    "check_times",
    "decode_event_frame",
]


class Columns(NamedTuple):
    """``ts, kind, pid, peer, ref`` of the events ``start .. start + len(ts) - 1``."""

    start: int
    ts: np.ndarray
    kind: np.ndarray
    pid: np.ndarray
    peer: np.ndarray
    ref: np.ndarray


class Skeleton(NamedTuple):
    """The fixed fields of every event, as arrays indexed by sequence number."""

    ts: np.ndarray  # int64 ns
    kind: np.ndarray  # uint8
    pid: np.ndarray  # uint32
    peer: np.ndarray  # uint32 (NO_PEER = 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    name: str
    behaviour: str = "process"
    parent: int = NO_PEER
    supervisor: int = NO_PEER
    node: str = "local"


@dataclass(slots=True)
class DecodedFrame:
    first_seq: int
    ts: np.ndarray
    kind: np.ndarray
    pid: np.ndarray
    peer: np.ndarray
    ref: np.ndarray
    offsets: np.ndarray
    payloads: bytes
    offset: int = 0  # of the frame in the file, for error messages
    cache: dict[int, Any] = field(default_factory=dict)
    cached_bytes: int = 0  # encoded size of the payloads in ``cache``

    @property
    def nbytes(self) -> int:
        """Memory held by the decoded columns and payload block."""
        return len(self.payloads) + 41 * len(self.kind)


class Growable:
    """A 1-D numpy array with amortised appends (live sessions keep growing)."""

    def __init__(self, dtype: str, capacity: int = 0) -> None:
        self.a = np.empty(max(capacity, 1024), dtype=dtype)
        self.n = 0

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > len(self.a):
            bigger = np.empty(max(need, 2 * len(self.a)), dtype=self.a.dtype)
            bigger[: self.n] = self.a[: self.n]
            self.a = bigger

    def view(self) -> np.ndarray:
        return self.a[: self.n]


def check_columns(
    first_seq: int, ts: np.ndarray, pid: np.ndarray, peer: np.ndarray, offset: int, max_pid: int
) -> None:
    """Refuse a frame whose timestamps leave +-2^62 ns or whose process ids are not below
    ``max_pid`` (``NO_PEER`` aside): everything downstream may subtract timestamps and index
    arrays by pid. Six numpy reductions per frame (~15 ms per 10 M events).

    Raises:
        SessionFormatError: naming the first offending event.
    """
    check_times(first_seq, ts, offset)
    check_pids(first_seq, pid, "process", offset, max_pid)
    check_pids(first_seq, peer, "peer", offset, max_pid)


def check_times(first_seq: int, ts: np.ndarray, offset: int) -> None:
    """The timestamp part of :func:`check_columns`."""
    if len(ts) and (ts.min() < -MAX_ABS_TIME or ts.max() > MAX_ABS_TIME):
        j = int(np.flatnonzero(np.abs(ts) > MAX_ABS_TIME)[0])
        raise SessionFormatError(
            f"event {first_seq + j} has timestamp {int(ts[j])}, beyond +-2^62 ns", offset
        )


def check_pids(first_seq: int, col: np.ndarray, name: str, offset: int, max_pid: int) -> None:
    """The process-id part of :func:`check_columns`, for one uint32 column."""
    if not len(col):
        return
    top = min(max_pid, 1 << 31)
    v = col.view(np.int32)  # NO_PEER is -1 here; every valid pid is 0 <= v < top
    if v.min() < -1 or v.max() >= top:
        j = int(np.flatnonzero((v < -1) | (v >= top))[0])
        raise SessionFormatError(
            f"event {first_seq + j} names {name} id {int(col[j])}: process ids must be "
            f"below {max_pid:,} (ReadLimits.max_pid)",
            offset,
        )


def decode_event_frame(
    h: FrameHeader,
    body: bytes | memoryview,
    decompress: Callable[..., bytes] | None,
    max_pid: int = 1 << 22,
) -> DecodedFrame:
    """Check and decode every block of an EVENTS frame into numpy columns (payloads stay
    encoded; :attr:`DecodedFrame.offsets` says where each one is)."""
    check_crc(h, body)
    raw0 = decode_block(h, body, 0, decompress)
    raw1 = decode_block(h, body, 1, decompress)
    raw2 = decode_block(h, body, 2, decompress)
    n = h.count
    offsets = np.frombuffer(raw2, "<u4", n + 1).astype(np.int64)
    base = 4 * (n + 1)
    if np.any(np.diff(offsets) < 0) or offsets[0] != 0 or base + offsets[-1] != len(raw2):
        raise SessionFormatError("payload offsets are inconsistent", h.offset)
    ts = np.cumsum(np.frombuffer(raw0, "<i8", n, 0)) + h.t_first
    pid = np.frombuffer(raw0, "<u4", n, 8 * n)
    peer = np.frombuffer(raw0, "<u4", n, 12 * n)
    check_columns(h.first_seq, ts, pid, peer, h.offset, max_pid)
    return DecodedFrame(
        first_seq=h.first_seq,
        ts=ts,
        pid=pid,
        peer=peer,
        kind=np.frombuffer(raw0, "u1", n, 16 * n),
        ref=np.frombuffer(raw1, "<i8", n),
        offsets=offsets + base,
        payloads=raw2,
        offset=h.offset,
    )


class ColumnStore:
    """The skeleton and ref columns of every event, loaded frame by frame and kept; a live
    session that grows loads only its new frames."""

    def __init__(self) -> None:
        self._skel = [Growable("<i8"), Growable("u1"), Growable("<u4"), Growable("<u4")]
        self._skel_frames = 0  # EVENTS frames whose skeleton is loaded
        self._refs = Growable("<i8")
        self._ref_frames = 0

    @property
    def skeleton_frames(self) -> int:
        """EVENTS frames whose skeleton is loaded (the first ones, in order)."""
        return self._skel_frames

    @property
    def ref_frames(self) -> int:
        """EVENTS frames whose refs are loaded."""
        return self._ref_frames

    def skeleton_complete(self, ix: FrameIndex) -> bool:
        """Whether the skeleton covers every event frame of ``ix``."""
        return self._skel_frames == len(ix.ev_frames)

    def complete(self, ix: FrameIndex) -> bool:
        """Whether both columns cover every event frame of ``ix``."""
        n = len(ix.ev_frames)
        return self._skel_frames == n and self._ref_frames == n

    def skeleton(
        self,
        ix: FrameIndex,
        blocks0: Callable[[list[int]], Iterator[bytes]],
        max_pid: int = 1 << 22,
    ) -> Skeleton:
        """The skeleton, after loading the frames not loaded yet (``blocks0`` yields their
        decompressed block 0, in order; the caller has checked their headers)."""
        todo = ix.ev_frames[self._skel_frames :]
        if todo:
            ts, kind, pid, peer = self._skel
            n_new = sum(ix.counts[i] for i in todo)
            for g in self._skel:
                g.reserve(n_new)
            for i, raw in zip(todo, blocks0(todo), strict=True):
                n = ix.counts[i]
                s = ts.n
                ts.a[s : s + n] = np.cumsum(np.frombuffer(raw, "<i8", n, 0)) + ix.t0s[i]
                pid.a[s : s + n] = np.frombuffer(raw, "<u4", n, 8 * n)
                peer.a[s : s + n] = np.frombuffer(raw, "<u4", n, 12 * n)
                kind.a[s : s + n] = np.frombuffer(raw, "u1", n, 16 * n)
                check_columns(
                    ix.firsts[i], ts.a[s : s + n], pid.a[s : s + n], peer.a[s : s + n],
                    ix.offsets[i], max_pid,
                )  # fmt: skip
                for g in self._skel:
                    g.n += n
                self._skel_frames += 1  # per frame: a refused frame leaves the store whole
        return Skeleton(*(g.view() for g in self._skel))

    def refs(self, ix: FrameIndex, block1: Callable[[int], bytes]) -> np.ndarray:
        """The ref column, after loading the frames not loaded yet."""
        todo = ix.ev_frames[self._ref_frames :]
        if todo:
            self._refs.reserve(sum(ix.counts[i] for i in todo))
            for i in todo:
                n = ix.counts[i]
                raw = block1(i)
                self._refs.a[self._refs.n : self._refs.n + n] = np.frombuffer(raw, "<i8", n)
                self._refs.n += n
                self._ref_frames += 1
        return self._refs.view()
