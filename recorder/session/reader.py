"""The session reader: opens a file (or a growing live stream) without decoding it.

Opening reads the header and the footer index (or, when the recording was killed and there is
no footer, rebuilds the index by scanning frame headers, keeping every complete frame). The
*skeleton* of all events (timestamps, kinds, processes, peers) loads straight into numpy
arrays without touching a payload; single events and payloads are decoded on demand, one frame
at a time, through a small cache.
"""

from __future__ import annotations

import bisect
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeGuard

import numpy as np

from recorder.events import NO_PEER, Event, EventKind
from recorder.payload import PayloadError, decode_payload
from recorder.session import kindex
from recorder.session.columns import (
    Columns,
    ColumnStore,
    DecodedFrame,
    ProcessInfo,
    Skeleton,
    decode_event_frame,
)
from recorder.session.filebytes import FileBytes
from recorder.session.format import (
    DEFAULT_READ_LIMITS,
    FILE_HEADER,
    FRAME_HEADER,
    FrameHeader,
    FrameType,
    ReadLimits,
    SessionFormatError,
    parse_file_header,
    unpack_frame_header,
)
from recorder.session.frames import check_crc, decode_block, decode_map_block
from recorder.session.index import FrameIndex, index_file
from recorder.session.keyframes import decode_keyframe, unpack_world
from recorder.session.scan import FrameScan, scan_frames
from recorder.session.stream import StreamDecoder, decode_metadata
from recorder.session.worldcheck import normalize_world

__all__ = ["Columns", "ProcessInfo", "SessionReader", "Skeleton"]

_HSIZE = FRAME_HEADER.size
#: Encoded bytes of decoded payloads kept per decoded frame (see ``SessionReader._data``).
_VALUE_CACHE_BYTES = 256 << 10


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
        #: What upper layers derive from this reader and share per reader (the model's index
        #: and event table): kept here, it goes with the reader. A weak-keyed table would keep
        #: it forever, as what is derived refers back to the reader.
        self.derived: dict[str, Any] = {}
        self._mm: FileBytes | None = None  # pread, never a map: a shrinking file (filebytes.py)
        self._file_size = 0
        self._ix = FrameIndex()
        self._mem: dict[int, bytes] = {}  # bodies of frames that came from a stream
        self._columns = ColumnStore()
        self._cache: OrderedDict[int, DecodedFrame] = OrderedDict()
        self._cache_bytes = 0
        self._kf_cache: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._kf_sizes: dict[int, int] = {}
        self._big_values: OrderedDict[int, Any] = OrderedDict()
        self._processes: dict[int, ProcessInfo] | None = None
        self._proc_scan_upto = 0
        self._stream: StreamDecoder | None = None
        self._kindex: tuple[int, kindex.KindIndex | None] | None = None
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
        # O_NONBLOCK: opening a FIFO must not wait for a writer before its type is checked
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SessionFormatError(f"is {_file_type(st.st_mode)}, not a session file")
            self._file_size = size = st.st_size
            if size == 0:
                raise SessionFormatError("empty file (no session header)", 0)
        except BaseException:
            os.close(fd)
            raise
        self._mm = FileBytes(fd, size)
        mm = self._mm
        major, minor, meta_len = parse_file_header(mm[: FILE_HEADER.size], self.limits)
        hdr_end = FILE_HEADER.size + meta_len
        if hdr_end > size:
            raise SessionFormatError("file ends inside its header", size)
        self.meta = decode_metadata(mm[FILE_HEADER.size : hdr_end], FILE_HEADER.size)
        self.version = (major, minor)
        self._ix, self.footer, self.recovery_note = index_file(
            mm, hdr_end, size, self.limits, self._decompress
        )
        self.recovered = self.recovery_note is not None

    # ------------------------------------------------------------------ live streams

    def feed(self, data: bytes) -> int:
        """Append bytes of a live stream (reader created with ``path=None``).

        Returns:
            The number of new events now readable.
        """
        if self._stream is None:
            raise RuntimeError("feed() is for stream readers (SessionReader(None))")
        before = self._ix.event_count
        for fr in self._stream.feed(data):
            h = fr.header
            if h.type == FrameType.FOOTER:
                continue
            check_crc(h, fr.body)
            self._ix.account(h, self._budget())
            i = len(self._ix.types)
            self._ix.add(h, h.type, h.offset, h.first_seq, h.count, h.t_first, h.t_last, h.offset)
            self._mem[i] = fr.body
        if self._stream.meta is not None and not self.meta:
            self.meta = self._stream.meta
            self.version = self._stream.version or (0, 0)
        return self._ix.event_count - before

    # ------------------------------------------------------------------ frame access

    def _budget(self) -> int:
        """Decompressed bytes the frames read so far may declare (``ReadLimits``)."""
        size = self._file_size if self._stream is None else self._stream.offset
        return self.limits.expansion_budget(size)

    def _header(self, i: int) -> FrameHeader:
        h = self._ix.headers[i]
        if h is None:
            off = self._ix.offsets[i]
            mm = self._mm  # once: close() in another thread may clear it
            if mm is None:
                raise ValueError("read from a closed session file")
            if off + _HSIZE > self._file_size:
                raise SessionFormatError("frame header beyond the end of the file", off)
            h = unpack_frame_header(mm[off : off + _HSIZE], off, self.limits)
            ix = self._ix
            if (h.type, h.first_seq, h.count, h.t_first, h.t_last) != (
                ix.types[i], ix.firsts[i], ix.counts[i], ix.t0s[i], ix.t1s[i],
            ):  # fmt: skip
                raise SessionFormatError("frame header disagrees with the footer index", off)
            if h.end > self._file_size:
                raise SessionFormatError("frame extends beyond the end of the file", off)
            ix.account(h, self._budget())
            ix.headers[i] = h
        return h

    def _check_headers(self, frames: list[int]) -> None:
        """Parse and check the headers of ``frames`` (before sizing anything by them)."""
        try:
            for i in frames:
                self._header(i)
        except SessionFormatError as exc:
            raise self._err(exc) from None

    def _body(self, i: int, h: FrameHeader) -> bytes | memoryview:
        body = self._mem.get(i)
        if body is not None:
            return body
        mm = self._mm  # once: close() in another thread may clear it
        if mm is None:
            raise ValueError("read from a closed session file")
        return memoryview(mm[h.offset + _HSIZE : h.end])

    def _err(self, exc: SessionFormatError) -> SessionFormatError:
        return exc.with_path(self.path) if self.path else exc

    # ------------------------------------------------------------------ index facts

    @property
    def event_count(self) -> int:
        """Events readable now (a live session grows)."""
        return self._ix.event_count

    @property
    def frame_count(self) -> int:
        return len(self._ix.types)

    @property
    def event_frame_count(self) -> int:
        return len(self._ix.ev_frames)

    @property
    def keyframe_seqs(self) -> list[int]:
        """Sequence numbers at which keyframes exist (world *before* that event)."""
        return list(self._ix.kf_seqs)

    @property
    def t_first(self) -> int:
        return self._ix.t0s[self._ix.ev_frames[0]] if self._ix.ev_frames else 0

    @property
    def t_last(self) -> int:
        return self._ix.t1s[self._ix.ev_frames[-1]] if self._ix.ev_frames else 0

    @property
    def size_bytes(self) -> int:
        return (
            self._file_size
            if self._mm is not None
            else sum(len(b) + _HSIZE for b in self._mem.values())
        )

    def kind_index(self) -> kindex.KindIndex | None:
        """The rare events of each frame, from the file's kind index (format 1.2; ``None``
        without one): see :mod:`recorder.session.kindex`. Read once (again after a stream
        grows).

        Raises:
            SessionFormatError: the index is malformed or disagrees with the file.
        """
        n = len(self._ix.types)
        if self._kindex is None or self._kindex[0] != n:
            self._kindex = (n, kindex.read(self))
        return self._kindex[1]

    def frame_table(self) -> dict[str, np.ndarray]:
        """The frame index as arrays: type, offset, first_seq, count, t_first, t_last."""
        return self._ix.table()

    # ------------------------------------------------------------------ columns

    def skeleton(self) -> Skeleton:
        """Timestamps, kinds, pids and peers of every event, without decoding payloads."""
        self._check_headers(self._ix.ev_frames[self._columns.skeleton_frames :])
        try:
            return self._columns.skeleton(self._ix, self._skeleton_blocks, self.limits.max_pid)
        except SessionFormatError as exc:
            raise self._err(exc) from None

    @property
    def skeleton_loaded(self) -> bool:
        """Whether :meth:`skeleton` is already loaded for every event (costs nothing now)."""
        return self._columns.skeleton_complete(self._ix)

    @property
    def refs_loaded(self) -> bool:
        """Whether :meth:`skeleton` and :meth:`refs` are both loaded for every event."""
        return self._columns.complete(self._ix)

    def refs(self) -> np.ndarray:
        """The ``ref`` column of every event (message ids, monitor refs, ...)."""
        self._check_headers(self._ix.ev_frames[self._columns.ref_frames :])
        return self._columns.refs(self._ix, lambda i: self._checked_block(i, 1))

    def bad_event_frames(self) -> list[tuple[int, SessionFormatError]]:
        """``(k, error)`` for every EVENTS frame ``k`` (0-based among EVENTS frames) whose
        header or checksum is bad: the frames a whole-session analysis must leave out, since
        :meth:`skeleton` reads block 0 without the frame checksum. Reads every frame's bytes
        once (crc32, about 1 GB/s), decompresses nothing."""
        bad: list[tuple[int, SessionFormatError]] = []
        for k, i in enumerate(self._ix.ev_frames):
            try:
                h = self._header(i)
                check_crc(h, self._body(i, h))
            except SessionFormatError as exc:
                bad.append((k, self._err(exc)))
        return bad

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

    # ------------------------------------------------------------------ events

    def _frame_of(self, seq: int) -> int:
        return self._ix.event_frame_of(seq)

    def _decoded(self, k: int) -> DecodedFrame:
        """Decoded columns of the k-th EVENTS frame (LRU cached)."""
        fr = self._cache.get(k)
        if fr is not None:
            self._cache.move_to_end(k)
            return fr
        i = self._ix.ev_frames[k]
        try:
            h = self._header(i)
            fr = decode_event_frame(h, self._body(i, h), self._decompress, self.limits.max_pid)
        except SessionFormatError as exc:
            raise self._err(exc) from None
        self._cache[k] = fr
        self._cache_bytes += fr.nbytes
        # At most 16 frames and ReadLimits.cache_bytes of them (the newest always stays).
        while len(self._cache) > 1 and (
            len(self._cache) > 16 or self._cache_bytes > self.limits.cache_bytes
        ):
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        return fr

    def _data(self, fr: DecodedFrame, j: int) -> Any:
        cached = fr.cache.get(j, fr)
        if cached is not fr:
            return cached
        seq = fr.first_seq + j
        big = self._big_values.get(seq, fr)
        if big is not fr:
            return big
        a, b = int(fr.offsets[j]), int(fr.offsets[j + 1])
        try:
            value = decode_payload(fr.payloads[a:b])
        except PayloadError as exc:
            where = f"event {seq} (in the frame)"
            raise self._err(SessionFormatError(f"{where}: {exc}", fr.offset)) from None
        # Decoded values cost 10-50x their bytes: a frame keeps 256 KiB worth of small ones;
        # the reader keeps the last two larger ones (a view asks for the same one repeatedly).
        if fr.cached_bytes + (b - a) <= _VALUE_CACHE_BYTES:
            fr.cache[j] = value
            fr.cached_bytes += b - a
        else:
            self._big_values[seq] = value
            if len(self._big_values) > 2:
                self._big_values.popitem(last=False)
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
        stop = self._ix.event_count if stop is None else min(stop, self._ix.event_count)
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

    def scan(
        self,
        start: int = 0,
        stop: int | None = None,
        where: Callable[[FrameScan], np.ndarray] | None = None,
        frames: Iterable[int] | None = None,
        on_error: Callable[[SessionFormatError], None] | None = None,
        ahead: bool = True,
    ) -> Iterator[FrameScan]:
        """Events ``start <= seq < stop`` one frame at a time, in bounded memory: each
        :class:`~recorder.session.scan.FrameScan` has the frame's skeleton columns and decodes
        its refs and payloads only when asked; ``where(frame) -> rows`` selects rows ahead of
        the consumer and skips frames without any; ``frames`` (EVENTS frame numbers,
        ascending) visits only those; ``on_error(exc)`` is told of each frame that cannot be
        read, and the scan goes on; ``ahead=False``: no read-ahead threads (see
        :mod:`recorder.session.scan`)."""
        return scan_frames(self, start, stop, where, frames, on_error, ahead)

    def columns(self, start: int, stop: int) -> Columns:
        """The fixed fields of events ``start <= seq < stop`` (clamped), read from just the
        frames that hold them: what a seek needs, without loading the whole skeleton."""
        start = max(start, 0)
        stop = min(stop, self._ix.event_count)
        if stop <= start:
            e = np.empty(0, dtype=np.int64)
            return Columns(
                start, e, e.astype(np.uint8), e.astype(np.uint32), e.astype(np.uint32), e
            )
        if self._columns.complete(self._ix):
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
        if arr[0] < 0 or arr[-1] >= self._ix.event_count:
            raise IndexError(f"event out of range (the session has {self._ix.event_count} events)")
        frames = (
            np.searchsorted(np.asarray(self._ix.ev_firsts, dtype=np.int64), arr, side="right") - 1
        )
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

    def _frame_runs(self, start: int, stop: int) -> Iterator[tuple[DecodedFrame, int, int]]:
        """``(frame, a, b)``: the slices ``a:b`` of decoded frames covering ``start:stop``."""
        start = max(start, 0)
        stop = min(stop, self._ix.event_count)
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
        i = self._ix.ev_frames[k]
        return self._ix.firsts[i], self._ix.firsts[i] + self._ix.counts[i]

    # ------------------------------------------------------------------ keyframes

    def keyframe_before(self, seq: int) -> tuple[int, dict[str, Any]] | None:
        """The latest keyframe at or before ``seq``: ``(kf_seq, world)``; world is the state
        after events ``0 .. kf_seq - 1``, its process tables
        :class:`~recorder.session.keyframes.RowTable` s. None when there is no such
        keyframe."""
        j = bisect.bisect_right(self._ix.kf_seqs, seq) - 1
        if j < 0:
            return None
        kf_seq = self._ix.kf_seqs[j]
        world = self._kf_cache.get(j)
        if world is None:
            i = self._ix.kf_frames[j]
            try:
                h = self._header(i)
                body = self._body(i, h)
                check_crc(h, body)
                m = decode_map_block(h, decode_block(h, body, 0, self._decompress), decode_keyframe)
            except SessionFormatError as exc:
                raise self._err(exc) from None
            w = m.get("world")
            rows = max(self.limits.max_keyframe_rows, 4 * sum(h.stored))
            try:
                w = normalize_world(w, self.limits.max_pid) if isinstance(w, dict) else {}
                world = unpack_world(w, rows, lazy_rows=True)
            except ValueError as exc:
                raise self._err(SessionFormatError(str(exc), self._ix.offsets[i])) from None
            self._kf_cache[j] = world
            self._kf_sizes[j] = h.raw[0]
            while len(self._kf_cache) > 1 and (
                len(self._kf_cache) > 8 or sum(self._kf_sizes.values()) > self.limits.cache_bytes
            ):
                old, _ = self._kf_cache.popitem(last=False)
                del self._kf_sizes[old]
        else:
            self._kf_cache.move_to_end(j)
        return kf_seq, world

    def keyframe_body(self, kf_seq: int) -> bytes:
        """The raw (decompressed, CRC-checked) msgpack body of the keyframe at exactly
        ``kf_seq``: what a tool that copies keyframes into another file needs, undecoded.

        Raises:
            KeyError: no keyframe at ``kf_seq``.
            SessionFormatError: the frame is corrupt.
        """
        j = bisect.bisect_left(self._ix.kf_seqs, kf_seq)
        if j >= len(self._ix.kf_seqs) or self._ix.kf_seqs[j] != kf_seq:
            raise KeyError(kf_seq)
        i = self._ix.kf_frames[j]
        try:
            h = self._header(i)
            body = self._body(i, h)
            check_crc(h, body)
            return decode_block(h, body, 0, self._decompress)
        except SessionFormatError as exc:
            raise self._err(exc) from None

    def meta_frames(self) -> list[dict[str, Any]]:
        """The maps of the session's META frames, in file order (metadata appended during or
        after a recording: an export's breakpoints, bookmarks, note and redaction report).
        A corrupt META frame is skipped: it holds nothing the events need."""
        out: list[dict[str, Any]] = []
        for i, t in enumerate(self._ix.types):
            if t != FrameType.META:
                continue
            try:
                h = self._header(i)
                body = self._body(i, h)
                check_crc(h, body)
                out.append(decode_map_block(h, decode_block(h, body, 0, self._decompress)))
            except SessionFormatError:
                continue
        return out

    # ------------------------------------------------------------------ processes & stats

    @property
    def processes(self) -> dict[int, ProcessInfo]:
        """Every process named by a spawn event: pid -> :class:`ProcessInfo`.

        Fields of the wrong type or out of range (a crafted footer or SPAWN) fall back to
        defaults: a name that is not a string, a parent that is not a pid."""
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
                    if isinstance(row, list) and len(row) >= 6:
                        pid = self._pid(row[0])
                        if pid != NO_PEER:
                            self._processes[pid] = self._info(pid, row[1], row[2], row[3],
                                                              row[4], row[5])  # fmt: skip
                self._proc_scan_upto = self._ix.event_count
        if self._proc_scan_upto < self._ix.event_count:
            sk = self.skeleton()
            start = self._proc_scan_upto
            for seq in np.flatnonzero(sk.kind[start:] == EventKind.SPAWN) + start:
                try:
                    ev = self.event(int(seq))
                except SessionFormatError:  # a damaged frame: the skeleton's facts only
                    pid = int(sk.pid[seq])
                    self._processes[pid] = self._info(pid, None, None, int(sk.peer[seq]),
                                                      None, None)  # fmt: skip
                    continue
                d = ev.data if isinstance(ev.data, dict) else {}
                self._processes[ev.pid] = self._info(
                    ev.pid, d.get("name"), d.get("behaviour"), d.get("parent", ev.peer),
                    d.get("supervisor"), d.get("node"),
                )  # fmt: skip
            self._proc_scan_upto = self._ix.event_count
        return self._processes

    def _pid(self, v: Any) -> int:
        """``v`` as a pid (an int or a ``Pid`` below ``max_pid``), else ``NO_PEER``."""
        n = v if isinstance(v, int) and not isinstance(v, bool) else getattr(v, "n", None)
        return n if isinstance(n, int) and 0 <= n < self.limits.max_pid else NO_PEER

    def _info(self, pid: int, name: Any, behaviour: Any, parent: Any, sup: Any,
              node: Any) -> ProcessInfo:  # fmt: skip
        return ProcessInfo(
            pid,
            name if isinstance(name, str) else f"<{pid}>",
            behaviour if isinstance(behaviour, str) else "process",
            self._pid(parent),
            self._pid(sup),
            node if isinstance(node, str) else "local",
        )

    def kind_counts(self) -> dict[int, int]:
        """Number of events of each kind."""
        kinds = self.footer.get("kinds") if self.footer is not None else None
        if isinstance(kinds, dict) and all(
            _is_int(k) and 0 <= k < 256 and _is_int(v) and 0 <= v <= self.event_count
            for k, v in kinds.items()
        ):
            return {int(k): int(v) for k, v in kinds.items()}
        counts = np.bincount(self.skeleton().kind, minlength=256)
        return {int(k): int(counts[k]) for k in np.flatnonzero(counts)}

    @property
    def lost(self) -> int:
        """Events the recorder dropped (buffer full), as recorded in LOST events."""
        lost = self.footer.get("lost") if self.footer is not None else None
        if _is_int(lost) and 0 <= lost < 1 << 63:
            return int(lost)
        sk = self.skeleton()
        total = 0
        for seq in np.flatnonzero(sk.kind == EventKind.LOST):
            d = self.event(int(seq)).data
            count = d.get("count") if isinstance(d, dict) else None
            if _is_int(count) and 0 <= count < 1 << 63:
                total += count
        return total

    # ------------------------------------------------------------------ lifetime

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` closed the file (a stream's reader is never closed)."""
        return self.path is not None and (self._mm is None or self._mm.closed)

    def close(self) -> None:
        self._cache.clear()
        self._big_values.clear()
        if self._mm is not None:
            self._mm.close()
            self._mm = None

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"
