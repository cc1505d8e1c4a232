"""The session reader: opens a file (or a growing live stream) without decoding it.

Opening reads the header and the footer index (or, when the recording was killed and there is
no footer, rebuilds the index by scanning frame headers, keeping every complete frame). The
*skeleton* of all events (timestamps, kinds, processes, peers) loads straight into numpy
arrays without touching a payload; single events and payloads are decoded on demand, one frame
at a time, through a small cache.
"""

from __future__ import annotations

import bisect
import contextlib
import mmap
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from recorder.events import NO_PEER, Event, EventKind
from recorder.payload import PayloadError, decode_payload
from recorder.session.format import (
    DEFAULT_READ_LIMITS,
    FILE_HEADER,
    FRAME_HEADER,
    TRAILER,
    TRAILER_MAGIC,
    FrameHeader,
    FrameType,
    ReadLimits,
    SessionFormatError,
    parse_file_header,
    unpack_frame_header,
)
from recorder.session.frames import check_crc, decode_block, decode_map_block
from recorder.session.keyframes import unpack_world
from recorder.session.stream import StreamDecoder, decode_metadata

__all__ = ["Columns", "ProcessInfo", "SessionReader", "Skeleton"]

_HSIZE = FRAME_HEADER.size


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
class _DecodedFrame:
    first_seq: int
    ts: np.ndarray
    kind: np.ndarray
    pid: np.ndarray
    peer: np.ndarray
    ref: np.ndarray
    offsets: np.ndarray
    payloads: bytes
    cache: dict[int, Any] = field(default_factory=dict)


class _Growable:
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


class SessionReader:
    """Random access to a recorded session.

    Args:
        path: a session file, or ``None`` for an empty session fed by :meth:`feed`.
        limits: bounds on untrusted input.

    Raises:
        SessionFormatError: the file is not a session, or is corrupt before its first frame
            (the message names the file and the byte offset).
        UnsupportedVersion: written by a newer major version of the format.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, limits: ReadLimits = DEFAULT_READ_LIMITS
    ):
        self.path = os.fspath(path) if path is not None else None
        self.limits = limits
        self.meta: dict[str, Any] = {}
        self.version = (0, 0)
        self.recovered = False
        self.recovery_note: str | None = None
        self.footer: dict[str, Any] | None = None
        self._mm: mmap.mmap | None = None
        self._file_size = 0
        self._headers: list[FrameHeader | None] = []  # lazily parsed for footer-indexed files
        self._mem: dict[int, bytes] = {}  # bodies of frames that came from a stream
        self._types: list[int] = []
        self._offsets: list[int] = []
        self._firsts: list[int] = []
        self._counts: list[int] = []
        self._t0s: list[int] = []
        self._t1s: list[int] = []
        self._ev_frames: list[int] = []  # indices (into the lists above) of EVENTS frames
        self._ev_firsts: list[int] = []
        self._kf_frames: list[int] = []
        self._kf_seqs: list[int] = []
        self.event_count = 0
        self._skel = [_Growable("<i8"), _Growable("u1"), _Growable("<u4"), _Growable("<u4")]
        self._skel_frames = 0  # EVENTS frames whose skeleton is loaded
        self._refs = _Growable("<i8")
        self._ref_frames = 0
        self._cache: OrderedDict[int, _DecodedFrame] = OrderedDict()
        self._kf_cache: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._processes: dict[int, ProcessInfo] | None = None
        self._proc_scan_upto = 0
        self._stream: StreamDecoder | None = None
        self._decompress: Any = None
        try:
            import zstandard

            self._decompress = zstandard.ZstdDecompressor().decompress
        except ImportError:  # only compressed frames need it; say so when one is met
            pass
        if self.path is None:
            self._stream = StreamDecoder(limits)
        else:
            try:
                self._open_file()
            except SessionFormatError as exc:
                self.close()
                raise exc.with_path(self.path) from None

    # ------------------------------------------------------------------ opening

    def _open_file(self) -> None:
        assert self.path is not None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SessionFormatError("is a directory or device, not a session file")
            self._file_size = size = st.st_size
            if size == 0:
                raise SessionFormatError("empty file (no session header)", 0)
            self._mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        mm = self._mm
        major, minor, meta_len = parse_file_header(mm[: FILE_HEADER.size], self.limits)
        hdr_end = FILE_HEADER.size + meta_len
        if hdr_end > size:
            raise SessionFormatError("file ends inside its header", size)
        self.meta = decode_metadata(mm[FILE_HEADER.size : hdr_end], FILE_HEADER.size)
        self.version = (major, minor)
        note = self._try_footer(hdr_end, size)
        if note is not None:
            self._scan(hdr_end, size, note)

    def _try_footer(self, hdr_end: int, size: int) -> str | None:
        """Load the footer index; return why it could not be used, or None on success."""
        mm = self._mm
        assert mm is not None
        if size < hdr_end + TRAILER.size:
            return "no footer (the recording did not finish)"
        off, magic = TRAILER.unpack(mm[size - TRAILER.size : size])
        if magic != TRAILER_MAGIC:
            return "no footer (the recording did not finish)"
        try:
            if not hdr_end <= off <= size - TRAILER.size - _HSIZE:
                raise SessionFormatError("trailer points outside the file", size - TRAILER.size)
            h = unpack_frame_header(mm[off : off + _HSIZE], off, self.limits)
            if h.type != FrameType.FOOTER or h.end != size - TRAILER.size:
                raise SessionFormatError("trailer does not point at a footer frame", off)
            if h.raw[0] > self.limits.max_footer_bytes:
                raise SessionFormatError("footer exceeds the size limit", off)
            body = mm[off + _HSIZE : h.end]
            check_crc(h, body)
            footer = decode_map_block(h, decode_block(h, body, 0, self._decompress))
            self._load_footer(footer, hdr_end, off)
        except SessionFormatError as exc:
            self._reset_index()
            return f"footer unusable ({exc.reason} at byte {exc.offset}); index rebuilt by scanning"
        self.footer = footer
        return None

    def _load_footer(self, footer: dict[str, Any], hdr_end: int, footer_off: int) -> None:
        fr = footer.get("frames")
        if not isinstance(fr, dict):
            raise SessionFormatError("footer has no frame index", footer_off)
        try:
            cols = {
                k: np.frombuffer(fr[k], dtype="<i8" if k != "type" else "u1")
                for k in ("offset", "type", "first_seq", "count", "t_first", "t_last")
            }
        except (KeyError, TypeError, ValueError):
            raise SessionFormatError("footer frame index is malformed", footer_off) from None
        n = len(cols["type"])
        if any(len(c) != n for c in cols.values()):
            raise SessionFormatError("footer frame index columns differ in length", footer_off)
        offs = cols["offset"]
        if n and (offs[0] < hdr_end or offs[-1] >= footer_off or np.any(np.diff(offs) <= 0)):
            raise SessionFormatError("footer frame offsets are out of order or range", footer_off)
        if np.any(cols["count"] < 0) or np.any(cols["count"] > self.limits.max_frame_events):
            raise SessionFormatError("footer frame counts out of range", footer_off)
        types, firsts, counts = cols["type"], cols["first_seq"], cols["count"]
        if not np.isin(types, [int(t) for t in FrameType]).all():
            raise SessionFormatError("footer names an unknown frame type", footer_off)
        ev = np.flatnonzero(types == FrameType.EVENTS)
        ev_counts = counts[ev]
        expected = np.concatenate(([0], np.cumsum(ev_counts)[:-1])) if len(ev) else ev_counts
        if not np.array_equal(firsts[ev], expected):
            raise SessionFormatError("footer event frames do not follow each other", footer_off)
        total = int(ev_counts.sum())
        kf = np.flatnonzero(types == FrameType.KEYFRAME)
        if len(kf) and (firsts[kf].max() > total or firsts[kf].min() < 0):
            raise SessionFormatError("footer keyframe refers to events not recorded", footer_off)
        # One bulk conversion instead of a Python call per frame: opening stays ~1 ms.
        self._types = types.tolist()
        self._offsets = offs.tolist()
        self._firsts = firsts.tolist()
        self._counts = counts.tolist()
        self._t0s = cols["t_first"].tolist()
        self._t1s = cols["t_last"].tolist()
        self._headers = [None] * n
        self._ev_frames = ev.tolist()
        self._ev_firsts = firsts[ev].tolist()
        self._kf_frames = kf.tolist()
        self._kf_seqs = firsts[kf].tolist()
        self.event_count = total

    def _reset_index(self) -> None:
        for lst in (
            self._headers,
            self._types,
            self._offsets,
            self._firsts,
            self._counts,
            self._t0s,
            self._t1s,
            self._ev_frames,
            self._ev_firsts,
            self._kf_frames,
            self._kf_seqs,
        ):
            lst.clear()
        self.event_count = 0

    def _add_index(
        self,
        h: FrameHeader | None,
        ftype: int,
        off: int,
        first: int,
        count: int,
        t0: int,
        t1: int,
        where: int,
    ) -> None:
        i = len(self._types)
        if ftype == FrameType.EVENTS:
            if first != self.event_count:
                raise SessionFormatError(
                    f"event frame starts at event {first}, expected {self.event_count}", where
                )
            self._ev_frames.append(i)
            self._ev_firsts.append(first)
            self.event_count += count
        elif ftype == FrameType.KEYFRAME:
            if first > self.event_count:
                raise SessionFormatError("keyframe refers to events not recorded yet", where)
            self._kf_frames.append(i)
            self._kf_seqs.append(first)
        self._headers.append(h)
        self._types.append(ftype)
        self._offsets.append(off)
        self._firsts.append(first)
        self._counts.append(count)
        self._t0s.append(t0)
        self._t1s.append(t1)

    def _scan(self, start: int, size: int, why: str) -> None:
        """Rebuild the index from frame headers; keep every complete, intact frame."""
        mm = self._mm
        assert mm is not None
        self.recovered = True
        off = start
        stop_reason = ""
        while off < size:
            if size - off < _HSIZE:
                stop_reason = f"{size - off} bytes of an incomplete frame header at byte {off}"
                break
            try:
                h = unpack_frame_header(mm[off : off + _HSIZE], off, self.limits)
                if h.end > size:
                    stop_reason = (
                        f"incomplete frame at byte {off} ({size - off} of {h.end - off} bytes)"
                    )
                    break
                if h.type == FrameType.FOOTER:
                    break
                check_crc(h, mm[off + _HSIZE : h.end])
                self._add_index(h, h.type, off, h.first_seq, h.count, h.t_first, h.t_last, off)
            except SessionFormatError as exc:
                stop_reason = f"{exc.reason} at byte {exc.offset}"
                break
            off = h.end
        kept = f"recovered {self.event_count} events in {len(self._ev_frames)} complete frames"
        self.recovery_note = f"{why}: {kept}" + (f"; dropped {stop_reason}" if stop_reason else "")

    # ------------------------------------------------------------------ live streams

    def feed(self, data: bytes) -> int:
        """Append bytes of a live stream (reader created with ``path=None``).

        Returns:
            The number of new events now readable.
        """
        if self._stream is None:
            raise RuntimeError("feed() is for stream readers (SessionReader(None))")
        before = self.event_count
        for fr in self._stream.feed(data):
            h = fr.header
            if h.type == FrameType.FOOTER:
                continue
            check_crc(h, fr.body)
            i = len(self._types)
            self._add_index(
                h, h.type, h.offset, h.first_seq, h.count, h.t_first, h.t_last, h.offset
            )
            self._mem[i] = fr.body
        if self._stream.meta is not None and not self.meta:
            self.meta = self._stream.meta
            self.version = self._stream.version or (0, 0)
        return self.event_count - before

    # ------------------------------------------------------------------ frame access

    def _header(self, i: int) -> FrameHeader:
        h = self._headers[i]
        if h is None:
            off = self._offsets[i]
            assert self._mm is not None
            if off + _HSIZE > self._file_size:
                raise SessionFormatError("frame header beyond the end of the file", off)
            h = unpack_frame_header(self._mm[off : off + _HSIZE], off, self.limits)
            if (h.type, h.first_seq, h.count) != (self._types[i], self._firsts[i], self._counts[i]):
                raise SessionFormatError("frame header disagrees with the footer index", off)
            if h.end > self._file_size:
                raise SessionFormatError("frame extends beyond the end of the file", off)
            self._headers[i] = h
        return h

    def _body(self, i: int, h: FrameHeader) -> bytes | memoryview:
        body = self._mem.get(i)
        if body is not None:
            return body
        assert self._mm is not None
        return memoryview(self._mm)[h.offset + _HSIZE : h.end]

    def _block(self, i: int, index: int, verify: bool = False) -> bytes:
        h = self._header(i)
        body = self._body(i, h)
        if verify:
            check_crc(h, body)
        return decode_block(h, body, index, self._decompress)

    def _err(self, exc: SessionFormatError) -> SessionFormatError:
        return exc.with_path(self.path) if self.path else exc

    # ------------------------------------------------------------------ index facts

    @property
    def frame_count(self) -> int:
        return len(self._types)

    @property
    def event_frame_count(self) -> int:
        return len(self._ev_frames)

    @property
    def keyframe_seqs(self) -> list[int]:
        """Sequence numbers at which keyframes exist (world *before* that event)."""
        return list(self._kf_seqs)

    @property
    def t_first(self) -> int:
        return self._t0s[self._ev_frames[0]] if self._ev_frames else 0

    @property
    def t_last(self) -> int:
        return self._t1s[self._ev_frames[-1]] if self._ev_frames else 0

    @property
    def size_bytes(self) -> int:
        return (
            self._file_size
            if self._mm is not None
            else sum(len(b) + _HSIZE for b in self._mem.values())
        )

    def frame_table(self) -> dict[str, np.ndarray]:
        """The frame index as arrays: type, offset, first_seq, count, t_first, t_last."""
        return {
            "type": np.array(self._types, dtype="u1"),
            "offset": np.array(self._offsets, dtype="<i8"),
            "first_seq": np.array(self._firsts, dtype="<i8"),
            "count": np.array(self._counts, dtype="<i8"),
            "t_first": np.array(self._t0s, dtype="<i8"),
            "t_last": np.array(self._t1s, dtype="<i8"),
        }

    # ------------------------------------------------------------------ columns

    def skeleton(self) -> Skeleton:
        """Timestamps, kinds, pids and peers of every event, without decoding payloads."""
        todo = self._ev_frames[self._skel_frames :]
        if todo:
            ts, kind, pid, peer = self._skel
            n_new = sum(self._counts[i] for i in todo)
            for g in self._skel:
                g.reserve(n_new)
            for i, raw in zip(todo, self._skeleton_blocks(todo), strict=True):
                n = self._counts[i]
                a, b, c = 8 * n, 12 * n, 16 * n
                s = ts.n
                ts.a[s : s + n] = np.cumsum(np.frombuffer(raw, "<i8", n, 0)) + self._t0s[i]
                pid.a[s : s + n] = np.frombuffer(raw, "<u4", n, a)
                peer.a[s : s + n] = np.frombuffer(raw, "<u4", n, b)
                kind.a[s : s + n] = np.frombuffer(raw, "u1", n, c)
                for g in self._skel:
                    g.n += n
            self._skel_frames = len(self._ev_frames)
        return Skeleton(*(g.view() for g in self._skel))

    def _skeleton_blocks(self, frames: list[int]) -> Iterator[bytes]:
        """Block 0 of each frame, in order. zstd releases the GIL, so many frames are
        decompressed on a small thread pool while the caller copies columns out."""
        if len(frames) < 64 or (os.cpu_count() or 1) < 2:
            for i in frames:
                yield self._checked_block(i, 0)
            return
        local = threading.local()  # a zstd decompression context is not thread-safe

        def block0(i: int) -> bytes:
            dctx = getattr(local, "dctx", None)
            if dctx is None and self._decompress is not None:
                import zstandard

                dctx = local.dctx = zstandard.ZstdDecompressor().decompress
            return self._checked_block(i, 0, dctx)

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
            yield from pool.map(block0, frames, chunksize=16)

    def _checked_block(self, i: int, index: int, decompress: Any = None) -> bytes:
        try:
            h = self._header(i)
            return decode_block(h, self._body(i, h), index, decompress or self._decompress)
        except SessionFormatError as exc:
            raise self._err(exc) from None

    def refs(self) -> np.ndarray:
        """The ``ref`` column of every event (message ids, monitor refs, ...)."""
        todo = self._ev_frames[self._ref_frames :]
        if todo:
            self._refs.reserve(sum(self._counts[i] for i in todo))
            for i in todo:
                try:
                    raw = self._block(i, 1)
                except SessionFormatError as exc:
                    raise self._err(exc) from None
                n = self._counts[i]
                self._refs.a[self._refs.n : self._refs.n + n] = np.frombuffer(raw, "<i8", n)
                self._refs.n += n
            self._ref_frames = len(self._ev_frames)
        return self._refs.view()

    # ------------------------------------------------------------------ events

    def _frame_of(self, seq: int) -> int:
        if not 0 <= seq < self.event_count:
            raise IndexError(
                f"event {seq} out of range (the session has {self.event_count} events)"
            )
        return bisect.bisect_right(self._ev_firsts, seq) - 1

    def _decoded(self, k: int) -> _DecodedFrame:
        """Decoded columns of the k-th EVENTS frame (LRU cached)."""
        fr = self._cache.get(k)
        if fr is not None:
            self._cache.move_to_end(k)
            return fr
        i = self._ev_frames[k]
        try:
            h = self._header(i)
            body = self._body(i, h)
            check_crc(h, body)
            raw0 = decode_block(h, body, 0, self._decompress)
            raw1 = decode_block(h, body, 1, self._decompress)
            raw2 = decode_block(h, body, 2, self._decompress)
        except SessionFormatError as exc:
            raise self._err(exc) from None
        n = h.count
        offsets = np.frombuffer(raw2, "<u4", n + 1).astype(np.int64)
        base = 4 * (n + 1)
        if np.any(np.diff(offsets) < 0) or offsets[0] != 0 or base + offsets[-1] != len(raw2):
            raise self._err(SessionFormatError("payload offsets are inconsistent", h.offset))
        fr = _DecodedFrame(
            first_seq=h.first_seq,
            ts=np.cumsum(np.frombuffer(raw0, "<i8", n, 0)) + h.t_first,
            pid=np.frombuffer(raw0, "<u4", n, 8 * n),
            peer=np.frombuffer(raw0, "<u4", n, 12 * n),
            kind=np.frombuffer(raw0, "u1", n, 16 * n),
            ref=np.frombuffer(raw1, "<i8", n),
            offsets=offsets + base,
            payloads=raw2,
        )
        self._cache[k] = fr
        if len(self._cache) > 16:
            self._cache.popitem(last=False)
        return fr

    def _data(self, fr: _DecodedFrame, j: int) -> Any:
        cached = fr.cache.get(j, fr)
        if cached is not fr:
            return cached
        a, b = int(fr.offsets[j]), int(fr.offsets[j + 1])
        try:
            value = decode_payload(fr.payloads[a:b])
        except PayloadError as exc:
            raise self._err(
                SessionFormatError(
                    f"event {fr.first_seq + j}: {exc}", self._offsets[0] if self._offsets else None
                )
            ) from None
        fr.cache[j] = value
        return value

    def payload_bytes(self, seq: int) -> bytes:
        """The encoded payload of event ``seq`` (its size is the message's encoded size)."""
        fr = self._decoded(self._frame_of(seq))
        j = seq - fr.first_seq
        return fr.payloads[int(fr.offsets[j]) : int(fr.offsets[j + 1])]

    def event(self, seq: int) -> Event:
        """Event ``seq``, payload decoded. Raises IndexError when out of range."""
        fr = self._decoded(self._frame_of(seq))
        j = seq - fr.first_seq
        return Event(
            seq,
            int(fr.ts[j]),
            int(fr.kind[j]),
            int(fr.pid[j]),
            int(fr.peer[j]),
            int(fr.ref[j]),
            self._data(fr, j),
        )

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[Event]:
        """Events ``start <= seq < stop`` in order, payloads decoded."""
        stop = self.event_count if stop is None else min(stop, self.event_count)
        seq = max(start, 0)
        while seq < stop:
            k = self._frame_of(seq)
            fr = self._decoded(k)
            n = len(fr.kind)
            end = min(stop - fr.first_seq, n)
            ts, kind, pid, peer, ref = (
                x.tolist() for x in (fr.ts, fr.kind, fr.pid, fr.peer, fr.ref)
            )
            for j in range(seq - fr.first_seq, end):
                yield Event(
                    fr.first_seq + j, ts[j], kind[j], pid[j], peer[j], ref[j], self._data(fr, j)
                )
            seq = fr.first_seq + end

    def columns(self, start: int, stop: int) -> Columns:
        """The fixed fields of events ``start <= seq < stop`` (clamped), read from just the
        frames that hold them: what a seek needs, without loading the whole skeleton."""
        start = max(start, 0)
        stop = min(stop, self.event_count)
        if stop <= start:
            e = np.empty(0, dtype=np.int64)
            return Columns(
                start, e, e.astype(np.uint8), e.astype(np.uint32), e.astype(np.uint32), e
            )
        if self._skel_frames == len(self._ev_frames) and self._ref_frames == self._skel_frames:
            sk, refs = self.skeleton(), self.refs()
            return Columns(
                start,
                sk.ts[start:stop],
                sk.kind[start:stop],
                sk.pid[start:stop],
                sk.peer[start:stop],
                refs[start:stop],
            )
        parts: list[tuple[np.ndarray, ...]] = []
        for fr, a, b in self._frame_runs(start, stop):
            parts.append((fr.ts[a:b], fr.kind[a:b], fr.pid[a:b], fr.peer[a:b], fr.ref[a:b]))
        if len(parts) == 1:
            return Columns(start, *parts[0])
        return Columns(start, *(np.concatenate([p[i] for p in parts]) for i in range(5)))

    def payload_sizes(self, start: int, stop: int) -> np.ndarray:
        """Encoded payload sizes in bytes (int64) of events ``start <= seq < stop``, from the
        frames' offset tables: no payload is decoded."""
        parts = [np.diff(fr.offsets[a : b + 1]) for fr, a, b in self._frame_runs(start, stop)]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)

    def events_at(self, seqs: np.ndarray | list[int]) -> Iterator[Event]:
        """Events at the given ascending sequence numbers, payloads decoded, with one frame
        lookup per frame (much cheaper than :meth:`event` per sequence number)."""
        arr = np.asarray(seqs, dtype=np.int64)
        if not len(arr):
            return
        if arr[0] < 0 or arr[-1] >= self.event_count:
            raise IndexError(f"event out of range (the session has {self.event_count} events)")
        frames = np.searchsorted(np.asarray(self._ev_firsts, dtype=np.int64), arr, side="right") - 1
        cuts = np.flatnonzero(np.diff(frames)) + 1
        for run, k in zip(np.split(arr, cuts), frames[np.r_[0, cuts]].tolist(), strict=True):
            fr = self._decoded(k)
            js = run - fr.first_seq
            rows = zip(
                run.tolist(),
                js.tolist(),
                fr.ts[js].tolist(),
                fr.kind[js].tolist(),
                fr.pid[js].tolist(),
                fr.peer[js].tolist(),
                fr.ref[js].tolist(),
                strict=True,
            )
            for seq, j, ts, kind, pid, peer, ref in rows:
                yield Event(seq, ts, kind, pid, peer, ref, self._data(fr, j))

    def _frame_runs(self, start: int, stop: int) -> Iterator[tuple[_DecodedFrame, int, int]]:
        """``(frame, a, b)``: the slices ``a:b`` of decoded frames covering ``start:stop``."""
        start = max(start, 0)
        stop = min(stop, self.event_count)
        seq = start
        while seq < stop:
            fr = self._decoded(self._frame_of(seq))
            a = seq - fr.first_seq
            b = min(stop - fr.first_seq, len(fr.kind))
            yield fr, a, b
            seq = fr.first_seq + b

    def frame_bounds(self, seq: int) -> tuple[int, int]:
        """``(first_seq, stop)`` of the frame holding event ``seq``."""
        k = self._frame_of(seq)
        i = self._ev_frames[k]
        return self._firsts[i], self._firsts[i] + self._counts[i]

    # ------------------------------------------------------------------ keyframes

    def keyframe_before(self, seq: int) -> tuple[int, dict[str, Any]] | None:
        """The latest keyframe at or before ``seq``: ``(kf_seq, world)``; world is the state
        after events ``0 .. kf_seq - 1``. None when there is no such keyframe."""
        j = bisect.bisect_right(self._kf_seqs, seq) - 1
        if j < 0:
            return None
        kf_seq = self._kf_seqs[j]
        world = self._kf_cache.get(j)
        if world is None:
            i = self._kf_frames[j]
            try:
                h = self._header(i)
                body = self._body(i, h)
                check_crc(h, body)
                m = decode_map_block(h, decode_block(h, body, 0, self._decompress))
            except SessionFormatError as exc:
                raise self._err(exc) from None
            w = m.get("world")
            try:
                world = unpack_world(w) if isinstance(w, dict) else {}
            except ValueError as exc:
                raise self._err(SessionFormatError(str(exc), self._offsets[i])) from None
            self._kf_cache[j] = world
            if len(self._kf_cache) > 8:
                self._kf_cache.popitem(last=False)
        else:
            self._kf_cache.move_to_end(j)
        return kf_seq, world

    # ------------------------------------------------------------------ processes & stats

    @property
    def processes(self) -> dict[int, ProcessInfo]:
        """Every process named by a spawn event: pid -> :class:`ProcessInfo`."""
        if self._processes is None:
            self._processes = {}
            rows = self.footer.get("processes") if self.footer is not None else None
            if isinstance(rows, bytes):
                try:
                    rows = decode_payload(rows)
                except PayloadError:
                    rows = None
            if isinstance(rows, list):
                for row in rows:
                    if isinstance(row, list) and len(row) >= 6 and isinstance(row[0], int):
                        self._processes[row[0]] = ProcessInfo(
                            row[0],
                            str(row[1]),
                            str(row[2]),
                            _int(row[3]),
                            _int(row[4]),
                            str(row[5]),
                        )
                self._proc_scan_upto = self.event_count
        if self._proc_scan_upto < self.event_count:
            sk = self.skeleton()
            start = self._proc_scan_upto
            for seq in np.flatnonzero(sk.kind[start:] == EventKind.SPAWN) + start:
                ev = self.event(int(seq))
                d = ev.data if isinstance(ev.data, dict) else {}
                self._processes[ev.pid] = ProcessInfo(
                    ev.pid,
                    str(d.get("name", f"<{ev.pid}>")),
                    str(d.get("behaviour", "process")),
                    _int(d.get("parent", ev.peer)),
                    _int(d.get("supervisor")),
                    str(d.get("node", "local")),
                )
            self._proc_scan_upto = self.event_count
        return self._processes

    def kind_counts(self) -> dict[int, int]:
        """Number of events of each kind."""
        if (
            self.footer is not None
            and isinstance(self.footer.get("kinds"), dict)
            and not self.recovered
        ):
            return {int(k): int(v) for k, v in self.footer["kinds"].items() if isinstance(k, int)}
        counts = np.bincount(self.skeleton().kind, minlength=256)
        return {int(k): int(counts[k]) for k in np.flatnonzero(counts)}

    @property
    def lost(self) -> int:
        """Events the recorder dropped (buffer full), as recorded in LOST events."""
        if self.footer is not None and isinstance(self.footer.get("lost"), int):
            return int(self.footer["lost"])
        sk = self.skeleton()
        total = 0
        for seq in np.flatnonzero(sk.kind == EventKind.LOST):
            d = self.event(int(seq)).data
            if isinstance(d, dict) and isinstance(d.get("count"), int):
                total += d["count"]
        return total

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        self._cache.clear()
        if self._mm is not None:
            # BufferError: a caller still holds a view; the OS frees the mapping at exit.
            with contextlib.suppress(BufferError):
                self._mm.close()
            self._mm = None

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _int(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    n = getattr(v, "n", None)
    return n if isinstance(n, int) else NO_PEER
