"""One pass over a range of events, a frame at a time, in bounded memory.

:meth:`SessionReader.scan` serves a listing, a search or an export over a session of any size
without loading its whole skeleton (170 MB for 10 M events) or decoding payloads nobody asked
for: each :class:`FrameScan` holds one frame's skeleton columns (block 0 only) and decodes the
frame's refs (block 1) and payloads (block 2) the first time one is read, once. Block 0 of the
frames ahead is decompressed on a small thread pool (zstd releases the GIL), a bounded number
at a time, so a slow consumer (``cinema events | less``) never piles frames up in memory.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from recorder.events import Event
from recorder.payload import PayloadError, decode_payload
from recorder.session.columns import check_pids, check_times
from recorder.session.format import SessionFormatError
from recorder.session.frames import check_crc

if TYPE_CHECKING:
    from recorder.session.reader import SessionReader

__all__ = ["FrameScan", "scan_frames"]

#: Frames decompressed ahead of the consumer.
LOOKAHEAD = 8


class FrameScan:
    """Events ``first_seq .. first_seq + len - 1`` of one frame (clipped to the scanned range).

    ``ts, kind, pid, peer`` are numpy columns indexed from 0, each built on first use (a kind
    filter never pays for the timestamps); :meth:`refs`, :meth:`data` and :meth:`event` decode
    the rest of the frame on first use.
    """

    __slots__ = ("_cols", "_frame", "_n", "_offsets", "_payloads", "_raw", "_reader", "_refs",
                 "_skip", "_t0", "first_seq", "rows")  # fmt: skip

    def __init__(self, reader: SessionReader, frame: int, skip: int, stop: int,
                 block0: bytes | tuple[np.ndarray, ...]) -> None:  # fmt: skip
        self._reader, self._frame, self._skip = reader, frame, skip
        self.first_seq = reader._ix.firsts[frame] + skip
        self._n = stop - skip
        self._t0 = reader._ix.t0s[frame]
        self._raw = block0 if isinstance(block0, bytes) else b""
        self._cols: list[np.ndarray | None] = (
            list(block0) if isinstance(block0, tuple) else [None, None, None, None]
        )
        self._refs: np.ndarray | None = None
        self._offsets: np.ndarray | None = None
        self._payloads = b""
        self.rows: np.ndarray | None = None
        """With ``scan(where=...)``: the rows (0-based) the predicate selected."""

    def __len__(self) -> int:
        return self._n

    @property
    def skip(self) -> int:
        """Events of the frame before the first one of this scan."""
        return self._skip

    def payload_block(self) -> tuple[bytes, np.ndarray]:
        """The frame's decompressed payload block and its offset table (``n + 1`` int64
        positions into the block, for all ``n`` events of the frame): event ``j`` of this scan
        is ``block[offsets[skip + j] : offsets[skip + j + 1]]``. Checks the frame's CRC and
        the table on first use, like :meth:`data`.

        Raises:
            SessionFormatError: the frame is corrupt.
        """
        if self._offsets is None:
            self._load_payloads()
        assert self._offsets is not None
        return self._payloads, self._offsets

    def _col(self, i: int) -> np.ndarray:
        col = self._cols[i]
        if col is None:
            n, a, b = self._reader._ix.counts[self._frame], self._skip, self._skip + self._n
            if i == 0:  # timestamps: deltas from the frame's first
                col = (np.cumsum(np.frombuffer(self._raw, "<i8", b, 0)) + self._t0)[a:]
            else:
                dtype, at = (("u1", 16 * n), ("<u4", 8 * n), ("<u4", 12 * n))[i - 1]
                col = np.frombuffer(self._raw, dtype, n, at)[a:b]
            self._check(i, col)
            self._cols[i] = col
        return col

    def _check(self, i: int, col: np.ndarray) -> None:
        """The reader's range checks (``columns.check_columns``) on a column as it is built."""
        r = self._reader
        try:
            if i == 0:
                check_times(self.first_seq, col, r._ix.offsets[self._frame])
            elif i > 1:
                name = "process" if i == 2 else "peer"
                check_pids(self.first_seq, col, name, r._ix.offsets[self._frame], r.limits.max_pid)
        except SessionFormatError as exc:
            raise r._err(exc) from None

    @property
    def ts(self) -> np.ndarray:
        """Timestamps (int64 ns)."""
        return self._col(0)

    @property
    def kind(self) -> np.ndarray:
        """Kinds (uint8)."""
        return self._col(1)

    @property
    def pid(self) -> np.ndarray:
        """Acting processes (uint32; ``NO_PID`` for none)."""
        return self._col(2)

    @property
    def peer(self) -> np.ndarray:
        """Peers (uint32; ``NO_PEER`` for none)."""
        return self._col(3)

    def refs(self) -> np.ndarray:
        """The ``ref`` column of these events."""
        if self._refs is None:
            self._load_refs()
        assert self._refs is not None
        return self._refs

    def _load_refs(self, decompress: Any = None) -> None:
        raw = self._reader._checked_block(self._frame, 1, decompress)
        n = self._reader._ix.counts[self._frame]
        self._refs = np.frombuffer(raw, "<i8", n)[self._skip : self._skip + len(self)]

    def _load_payloads(self, decompress: Any = None) -> None:
        """Check the frame's CRC, decompress its payload block and check its offset table."""
        r, i = self._reader, self._frame
        try:
            h = r._header(i)
            check_crc(h, r._body(i, h))
        except SessionFormatError as exc:
            raise r._err(exc) from None
        raw = r._checked_block(i, 2, decompress)
        n = r._ix.counts[i]
        base = 4 * (n + 1)
        offsets = np.frombuffer(raw, "<u4", n + 1).astype(np.int64) if len(raw) >= base else None
        if (offsets is None or offsets[0] != 0 or np.any(np.diff(offsets) < 0)
                or base + offsets[-1] != len(raw)):  # fmt: skip
            raise r._err(SessionFormatError("payload offsets are inconsistent", h.offset))
        self._offsets, self._payloads = offsets + base, raw

    def data(self, j: int) -> Any:
        """The decoded data of the ``j``-th event of this scan.

        Raises:
            SessionFormatError: the frame or the payload is corrupt.
        """
        r = self._reader
        if self._offsets is None:
            self._load_payloads()
        assert self._offsets is not None
        k = self._skip + j
        a, b = int(self._offsets[k]), int(self._offsets[k + 1])
        try:
            return decode_payload(self._payloads[a:b])
        except PayloadError as exc:
            where = f"event {self.first_seq + j} (in the frame)"
            raise r._err(
                SessionFormatError(f"{where}: {exc}", r._ix.offsets[self._frame])
            ) from None

    def event(self, j: int) -> Event:
        """The ``j``-th event of this scan, payload decoded."""
        return Event(
            self.first_seq + j,
            int(self.ts[j]),
            int(self.kind[j]),
            int(self.pid[j]),
            int(self.peer[j]),
            int(self.refs()[j]),
            self.data(j),
        )


def scan_frames(
    reader: SessionReader,
    start: int,
    stop: int | None,
    where: Callable[[FrameScan], np.ndarray] | None = None,
    frames: Iterable[int] | None = None,
    on_error: Callable[[SessionFormatError], None] | None = None,
    ahead: bool = True,
) -> Iterator[FrameScan]:
    """The :class:`FrameScan` s covering events ``start <= seq < stop`` (clamped), in order.

    ``frames`` (EVENTS frame numbers, ascending) restricts the scan to those frames: the
    others are never read (what a kind filter knows from the frame summaries), and one pool
    reads ahead across all of them.

    With ``where`` (columns -> selected row indexes), frames where it selects nothing are
    skipped, and for the others :attr:`FrameScan.rows` holds the selection and the refs and
    payloads are already decompressed: the predicate and the decompression run ahead, on the
    pool, while the consumer decodes and prints.

    A frame that cannot be read (corrupt, or failing its checksum) raises
    :class:`SessionFormatError`, in order, when the scan reaches it; with ``on_error`` it is
    handed to ``on_error`` instead and the scan goes on with the next frame (a damaged file
    still lists everything it can).

    ``ahead=False`` reads every frame on the calling thread: what a latency-bound reader of a
    few frames wants (a seek), for which the pool's threads only add waits for a processor.
    """
    ix = reader._ix
    n_events = ix.event_count
    start, stop = max(start, 0), n_events if stop is None else min(stop, n_events)
    if stop <= start:
        return
    ka, kb = ix.event_frame_of(start), ix.event_frame_of(stop - 1) + 1
    if frames is None:
        todo = ix.ev_frames[ka:kb]
    else:
        todo = [ix.ev_frames[k] for k in frames if ka <= k < kb]
    sk = reader.skeleton() if reader._columns.complete(ix) else None

    def prepare(i: int, decompress: Any = None) -> FrameScan | SessionFormatError | None:
        try:
            return _prepare(i, decompress)
        except SessionFormatError as exc:  # raised where the consumer reaches this frame
            return exc

    def _prepare(i: int, decompress: Any = None) -> FrameScan | None:
        first, count = ix.firsts[i], ix.counts[i]
        lo, hi = max(start, first), min(stop, first + count)
        if sk is not None:
            block0: bytes | tuple[np.ndarray, ...] = tuple(c[lo:hi] for c in sk)
        else:
            block0 = reader._checked_block(i, 0, decompress)
        fs = FrameScan(reader, i, lo - first, hi - first, block0)
        if where is not None:
            fs.rows = np.asarray(where(fs), dtype=np.int64)
            if not len(fs.rows):
                return None
            fs._load_refs(decompress)
            fs._load_payloads(decompress)
        return fs

    for fs in _ahead(reader, todo, prepare) if ahead else map(prepare, todo):
        if isinstance(fs, SessionFormatError):
            if on_error is None:
                raise fs
            on_error(fs)
        elif fs is not None:
            yield fs


def _ahead(
    reader: SessionReader,
    frames: list[int],
    prepare: Callable[..., FrameScan | SessionFormatError | None],
) -> Iterator[FrameScan | SessionFormatError | None]:
    """``prepare(frame)`` of each frame in order, up to :data:`LOOKAHEAD` frames ahead on a
    small thread pool (zstd releases the GIL); inline for a few frames or one core."""
    if len(frames) < 4 or (os.cpu_count() or 1) < 2:
        for i in frames:
            yield prepare(i)
        return
    local = threading.local()  # a zstd decompression context is not thread-safe

    def work(i: int) -> FrameScan | SessionFormatError | None:
        dctx = getattr(local, "dctx", None)
        if dctx is None and reader._decompress is not None:
            import zstandard

            dctx = local.dctx = zstandard.ZstdDecompressor().decompress
        return prepare(i, dctx)

    pending: deque[Future[FrameScan | SessionFormatError | None]] = deque()
    todo = iter(frames)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
        try:
            for i in todo:
                pending.append(pool.submit(work, i))
                if len(pending) >= LOOKAHEAD:
                    break
            while pending:
                done = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(work, nxt))
                yield done
        finally:  # the consumer stopped early (| head): drop what was read ahead
            for f in pending:
                f.cancel()
