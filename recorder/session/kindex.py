"""The kind index (format 1.2): the rare events of each EVENTS frame, kept beside its summary.

A kind filter (``cinema events --kind crash``) on ten million events found the frames that hold
a crash from the frame summaries' kind masks, but 1,500 crashes spread over 2,600 frames sit in
1,100 of them: it still decompressed and checked 40% of the file. The writer now copies, for
each frame, the events of every kind that is *rare in that frame* (at most
:data:`RARE_PER_FRAME` events, their payloads within :data:`RARE_BYTES` per frame all kinds
together) into a small table, and marks those kinds as *listed*: a reader that wants only listed
kinds reads the table and never opens the frame (``docs/session-format.md``, "Kind index").

The table of 64 frames goes into block 1 of the META frame that carries their summaries
(block 0 keeps the summary map of format 1.1, which a 1.1 reader still reads; block 1 is
decompressed on its own, so reading kinds never reads the per-process lane counts), and the
table of the last frames into the footer (key :data:`KEY`). A map of little-endian arrays as
msgpack bins:

- per summarised frame: ``first_seq`` (int64), ``kinds`` (uint64: the summary's mask) and
  ``listed`` (uint64: bit ``k`` when every event of kind ``k`` in the frame is in the table;
  never bit 63);
- per event of the table, in seq order: ``seq``, ``ts``, ``ref`` (int64), ``kind`` (uint8),
  ``pid``, ``peer`` (uint32), ``offsets`` (uint32, one more than events: event ``j``'s payload
  is ``data[offsets[j]:offsets[j + 1]]``) and ``data`` (the payloads, as in the frame).

The writer needs only msgpack (numpy, when present, counts kinds faster); the reader checks
every column against the file's frame index before any of it is used (:func:`read`).
"""

from __future__ import annotations

import struct
import sys
from array import array
from typing import TYPE_CHECKING, Any, NamedTuple

import msgpack

from recorder.session.format import FrameType, SessionFormatError
from recorder.session.frames import check_crc, decode_block

if TYPE_CHECKING:
    import numpy as np

    from recorder.session.reader import SessionReader

__all__ = ["KEY", "RARE_BYTES", "RARE_PER_FRAME", "KindIndex", "KindIndexer", "read"]

#: The key of the footer's kind index.
KEY = "kindex"
#: A kind is listed for a frame when the frame holds at most this many events of it ...
RARE_PER_FRAME = 16
#: ... and the payloads of the frame's listed events stay within this many bytes.
RARE_BYTES = 32 << 10
_BIG = sys.byteorder == "big"
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_COLUMNS = ("first_seq", "kinds", "listed", "seq", "ts", "ref", "kind", "pid", "peer", "offsets")

_np: Any
try:
    import numpy as _np
except ImportError:  # pragma: no cover - the writer works without numpy
    _np = None


def _arr(code: str, values: list[int]) -> bytes:
    a = array(code, values)
    if _BIG:
        a.byteswap()
    return a.tobytes()


def _counts(kinds: bytes) -> list[tuple[int, int]]:
    """(kind, events) of each kind code below 63 present in a frame's kind column."""
    if _np is not None:
        tally = _np.bincount(_np.frombuffer(kinds, "u1"), minlength=64)[:63]
        present = _np.flatnonzero(tally)
        return list(zip(present.tolist(), tally[present].tolist(), strict=True))
    return [(k, kinds.count(bytes([k]))) for k in sorted(set(kinds)) if k < 63]


class KindIndexer:
    """The writer's side: each EVENTS frame's rare events, handed out 64 frames at a time
    (with the summaries of the same frames)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._first: list[int] = []
        self._kinds: list[int] = []
        self._listed: list[int] = []
        self._rows: list[tuple[int, int, int, int, int, int]] = []  # seq ts ref kind pid peer
        self._offsets: list[int] = [0]
        self._data: list[bytes] = []
        self._size = 0

    def add(
        self,
        first_seq: int,
        mask: int,
        batch: Any,
        kind_counts: list[tuple[int, int]] | None = None,
    ) -> None:
        """Index the EVENTS frame of events ``first_seq ..`` made from ``batch`` (an
        :class:`~recorder.payload.EventBatch`); ``mask`` is its summary's kind mask,
        ``kind_counts`` its kinds counted (``[(kind, events), ...]``, ascending; counted here
        when not given)."""
        kinds, offsets = batch.kind, batch.offsets
        picked: list[int] = []
        listed, budget = 0, RARE_BYTES
        for k, n in _counts(kinds) if kind_counts is None else kind_counts:
            if n > RARE_PER_FRAME or k >= 63:
                continue
            at, code, size = [], bytes([k]), 0
            i = kinds.find(code)
            while i >= 0:
                at.append(i)
                size += (
                    _U32.unpack_from(offsets, 4 * i + 4)[0] - _U32.unpack_from(offsets, 4 * i)[0]
                )
                i = kinds.find(code, i + 1)
            if size > budget:
                continue
            budget -= size
            listed |= 1 << k
            picked += at
        picked.sort()
        self._first.append(first_seq)
        self._kinds.append(mask)
        self._listed.append(listed)
        for i in picked:
            a, b = _U32.unpack_from(offsets, 4 * i)[0], _U32.unpack_from(offsets, 4 * i + 4)[0]
            self._rows.append((
                first_seq + i, _I64.unpack_from(batch.ts, 8 * i)[0],
                _I64.unpack_from(batch.ref, 8 * i)[0], kinds[i],
                _U32.unpack_from(batch.pid, 4 * i)[0], _U32.unpack_from(batch.peer, 4 * i)[0],
            ))  # fmt: skip
            self._data.append(batch.payloads[a:b])
            self._size += b - a
            self._offsets.append(self._size)

    def __len__(self) -> int:
        return len(self._first)

    def take(self) -> bytes | None:
        """The waiting frames' index as one packed map (``None`` when there are none)."""
        if not self._first:
            return None
        cols = list(zip(*self._rows, strict=True)) if self._rows else [()] * 6
        out = {
            "first_seq": _arr("q", self._first),
            "kinds": _arr("Q", self._kinds),
            "listed": _arr("Q", self._listed),
            "seq": _arr("q", list(cols[0])),
            "ts": _arr("q", list(cols[1])),
            "ref": _arr("q", list(cols[2])),
            "kind": bytes(cols[3]),
            "pid": _arr("I", list(cols[4])),
            "peer": _arr("I", list(cols[5])),
            "offsets": _arr("I", self._offsets),
            "data": b"".join(self._data),
        }
        self._reset()
        packed: bytes = msgpack.packb(out, use_bin_type=True)
        return packed


class KindIndex(NamedTuple):
    """The kind index of a file: the frames it covers and their listed events (seq order)."""

    first_seq: np.ndarray  # int64[m]: the covered EVENTS frames, ascending
    kinds: np.ndarray  # uint64[m]
    listed: np.ndarray  # uint64[m]
    seq: np.ndarray  # int64[r], ascending
    ts: np.ndarray  # int64[r]
    ref: np.ndarray  # int64[r]
    kind: np.ndarray  # uint8[r]
    pid: np.ndarray  # uint32[r]
    peer: np.ndarray  # uint32[r]
    offsets: np.ndarray  # int64[r + 1] into data
    data: bytes

    def payload(self, j: int) -> bytes:
        """The encoded payload of listed event ``j``."""
        return self.data[int(self.offsets[j]) : int(self.offsets[j + 1])]


def _parse(raw: bytes, where: int) -> dict[str, Any]:
    import numpy as np

    try:
        m = msgpack.unpackb(raw, raw=False, strict_map_key=True, max_ext_len=0)
    except Exception:  # msgpack raises several types for malformed input
        raise SessionFormatError("the kind index is not a msgpack map", where) from None
    if not isinstance(m, dict) or not all(isinstance(m.get(k), bytes) for k in (*_COLUMNS, "data")):
        raise SessionFormatError("the kind index lacks a column", where)
    dtypes = ("<i8", "<u8", "<u8", "<i8", "<i8", "<i8", "u1", "<u4", "<u4", "<u4")
    out: dict[str, Any] = {"data": m["data"]}
    for name, dt in zip(_COLUMNS, dtypes, strict=True):
        b = m[name]
        if len(b) % np.dtype(dt).itemsize:
            raise SessionFormatError(f"the kind index's {name} column is cut short", where)
        out[name] = np.frombuffer(b, dt)
    return out


class _EventFrames(NamedTuple):
    """The frame index's EVENTS frames as arrays: first event, events, first and last time."""

    first: np.ndarray
    events: np.ndarray
    t0: np.ndarray
    t1: np.ndarray


def _event_frames(reader: SessionReader) -> _EventFrames:
    """Built once per :func:`read` (a file has one index part per 64 frames: converting the
    frame lists for each part was ~20 ms of ``cinema events --kind crash`` on 10M events)."""
    import numpy as np

    ix = reader._ix
    ev = np.asarray(ix.ev_frames, np.int64)
    return _EventFrames(
        np.asarray(ix.ev_firsts, np.int64),
        np.asarray(ix.counts, np.int64)[ev],
        np.asarray(ix.t0s, np.int64)[ev],
        np.asarray(ix.t1s, np.int64)[ev],
    )


def _check(p: dict[str, Any], reader: SessionReader, frames: _EventFrames, where: int) -> None:
    """Every column of one parsed index agrees with the others and with the frame index."""
    import numpy as np

    from recorder.session.columns import check_pids, check_times  # numpy: readers only

    m, r = len(p["first_seq"]), len(p["seq"])
    if not (len(p["kinds"]) == len(p["listed"]) == m):
        raise SessionFormatError("kind index frame columns disagree", where)
    if not all(len(p[c]) == r for c in ("ts", "ref", "kind", "pid", "peer")):
        raise SessionFormatError("kind index event columns disagree", where)
    off = p["offsets"].astype(np.int64)
    if len(off) != r + 1 or off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] != len(p["data"]):
        raise SessionFormatError("kind index payload offsets are inconsistent", where)
    if np.any(p["listed"] & ~p["kinds"]) or np.any(p["listed"] >> np.uint64(63)):
        raise SessionFormatError("kind index lists a kind its frame does not hold", where)
    firsts = frames.first
    at = np.searchsorted(firsts, p["first_seq"])
    if m and (np.any(at >= len(firsts)) or np.any(firsts[np.minimum(at, len(firsts) - 1)]
                                                   != p["first_seq"])):  # fmt: skip
        raise SessionFormatError("kind index names a frame the file does not have", where)
    if np.any(np.diff(p["first_seq"]) <= 0) or np.any(np.diff(p["seq"]) <= 0):
        raise SessionFormatError("kind index is not in event order", where)
    if not r:
        return
    # each listed event lies in a covered frame, within its counts and times, of a listed kind
    row = np.searchsorted(p["first_seq"], p["seq"], side="right") - 1
    if np.any(row < 0):
        raise SessionFormatError("kind index lists an event outside its frames", where)
    frame = at[row]
    counts = frames.events[frame]
    if np.any(p["seq"] >= p["first_seq"][row] + counts):
        raise SessionFormatError("kind index lists an event outside its frames", where)
    kind = p["kind"].astype(np.uint64)
    if np.any(kind >= 63) or np.any((p["listed"][row] >> kind) & np.uint64(1) == 0):
        raise SessionFormatError("kind index lists an event of a kind it does not list", where)
    t0, t1 = frames.t0[frame], frames.t1[frame]
    check_times(int(p["seq"][0]), p["ts"], where)
    if np.any((p["ts"] < t0) | (p["ts"] > t1)):
        raise SessionFormatError("kind index lists an event outside its frame's times", where)
    check_pids(int(p["seq"][0]), p["pid"], "process", where, reader.limits.max_pid)
    check_pids(int(p["seq"][0]), p["peer"], "peer", where, reader.limits.max_pid)


def read(reader: SessionReader) -> KindIndex | None:
    """The kind index of a file or stream, from its META frames' block 1 and its footer
    (``None`` when it has none: files before format 1.2). Frames without one (older writers,
    the tail of a killed recording) are simply not covered.

    Raises:
        SessionFormatError: an index is malformed or disagrees with the file (the message
            names the offset); a caller can still read the frames themselves.
    """
    import numpy as np

    ix = reader._ix
    parts: list[dict[str, Any]] = []
    wheres: list[int] = []
    try:
        for i, t in enumerate(ix.types):
            if t != FrameType.META:
                continue
            h = reader._header(i)
            if h.raw[1] == 0:
                continue
            body = reader._body(i, h)
            check_crc(h, body)
            parts.append(_parse(decode_block(h, body, 1, reader._decompress), ix.offsets[i]))
            wheres.append(ix.offsets[i])
        footer = reader.footer
        tail = footer.get(KEY) if footer is not None and not reader.recovered else None
        if tail is not None:
            if not isinstance(tail, bytes):
                raise SessionFormatError("the footer's kind index is not a packed map", 0)
            parts.append(_parse(tail, 0))
            wheres.append(0)
        frames = _event_frames(reader)
        for p, where in zip(parts, wheres, strict=True):
            _check(p, reader, frames, where)
    except SessionFormatError as exc:
        raise reader._err(exc) from None
    if not parts:
        return None
    cat = {c: np.concatenate([p[c] for p in parts]) for c in _COLUMNS if c != "offsets"}
    offsets, base = [np.zeros(1, np.int64)], 0
    for p in parts:
        offsets.append(p["offsets"][1:].astype(np.int64) + base)
        base += len(p["data"])
    out = KindIndex(
        cat["first_seq"], cat["kinds"], cat["listed"], cat["seq"], cat["ts"], cat["ref"],
        cat["kind"], cat["pid"], cat["peer"], np.concatenate(offsets),
        b"".join(p["data"] for p in parts),
    )  # fmt: skip
    if np.any(np.diff(out.first_seq) <= 0) or np.any(np.diff(out.seq) <= 0):
        raise reader._err(SessionFormatError("kind index is not in event order", 0))
    return out
