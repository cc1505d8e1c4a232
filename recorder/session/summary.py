"""Frame summaries: which kinds each EVENTS frame holds, and how many events each process acts.

A viewer opening ten million events needs the activity of each process over time for its
first screen, and a kind filter (``cinema events --kind crash``) needs only the frames that
hold that kind. Both would otherwise decompress the skeleton of every frame. The writer
summarises each EVENTS frame as it builds it (format 1.1, ``docs/session-format.md``):

- ``kinds``: a 64-bit mask, bit ``k`` set when the frame holds an event of kind ``k``
  (kinds past 63 set bit 63);
- lane counts: for each process acting in the frame, its number of events (pids ascending).

Summaries of 64 frames at a time go into a META frame (``{"summary": S}``), those of the last
frames into the footer (key ``"summary"``), so the writer keeps at most 64 frames' worth in
memory and a recording that was killed keeps all but its last few. A reader (:func:`read`)
gathers them in one pass over the META frames; frames without one (older files, the tail of a
killed recording) are summarised from their own skeleton by the caller.

``S`` is a map of little-endian arrays as msgpack bins: ``first_seq`` (int64, one per frame),
``kinds`` (uint64), ``entries`` (uint32: lane entries of each frame), ``pid`` and ``count``
(uint32, the entries of all frames back to back).
"""

from __future__ import annotations

import collections
import sys
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from recorder.payload import native_frame_tally
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.frames import check_crc, decode_block, decode_map_block

if TYPE_CHECKING:
    import numpy as np

    from recorder.session.reader import SessionReader

__all__ = [
    "FRAMES_PER_META",
    "KEY",
    "FrameSummaries",
    "Summarizer",
    "Tally",
    "frame_tally",
    "kind_mask",
    "mask_of",
    "py_frame_tally",
    "read",
]

#: The key of a summary in a META frame's map and in the footer.
KEY = "summary"
#: EVENTS frames summarised per META frame.
FRAMES_PER_META = 64
_BIG = sys.byteorder == "big"


_np: Any
try:  # the writer needs only msgpack: numpy, when the program has it, summarises 5x faster
    import numpy as _np
except ImportError:  # pragma: no cover - the tests force ``_np = None`` instead
    _np = None


#: What :func:`frame_tally` counts in a frame: ``[(kind, events), ...]`` for each kind code
#: present (ascending), the number of distinct pids, and those pids (ascending) and each one's
#: events, both as little-endian uint32 bytes.
Tally = tuple[list[tuple[int, int]], int, bytes, bytes]


def kind_mask(kinds: bytes) -> int:
    """The frame's ``kinds`` mask: bit ``k`` for each kind code ``k`` present (63 for any
    code past 63)."""
    present = (
        _np.flatnonzero(_np.bincount(_np.frombuffer(kinds, "u1"), minlength=64)).tolist()
        if _np is not None
        else set(kinds)
    )
    mask = 0
    for k in present:
        mask |= 1 << min(k, 63)
    return mask


def mask_of(kind_counts: list[tuple[int, int]]) -> int:
    """:func:`kind_mask` of a frame from its :data:`Tally` kind counts."""
    mask = 0
    for k, _ in kind_counts:
        mask |= 1 << min(k, 63)
    return mask


def py_frame_tally(kinds: bytes, pids: bytes) -> Tally:
    """:func:`frame_tally` in Python (numpy when present): the twin of the native one."""
    if _np is not None:
        tally = _np.bincount(_np.frombuffer(kinds, "u1"), minlength=256)
        present = _np.flatnonzero(tally)
        counts = list(zip(present.tolist(), tally[present].tolist(), strict=True))
    else:
        counts = [(k, kinds.count(bytes([k]))) for k in sorted(set(kinds))]
    n, keys, lane_counts = _lane_counts(pids)
    return counts, n, keys, lane_counts


#: A frame's kind column and pid column counted (:data:`Tally`), in one pass: the writer
#: thread needs both for every frame (summary, kind index, footer counts), and the numpy
#: calls of :func:`py_frame_tally`, a dozen per frame, hold the GIL the program wants.
frame_tally: Callable[[bytes, bytes], Tally] = native_frame_tally or py_frame_tally


def _lane_counts(pids: bytes) -> tuple[int, bytes, bytes]:
    """Distinct pids of a little-endian uint32 column, ascending, and their counts: how many,
    and both as little-endian uint32 bytes."""
    if _np is not None:
        col = _np.frombuffer(pids, "<u4")
        if len(col) and int(col.max()) < 16 * len(col) + (1 << 16):  # small pids: a tally
            tally = _np.bincount(col)
            keys = _np.flatnonzero(tally)
            counts = tally[keys]
        else:
            keys, counts = _np.unique(col, return_counts=True)
        return len(keys), keys.astype("<u4").tobytes(), counts.astype("<u4").tobytes()
    col = array("I")
    col.frombytes(pids)
    if _BIG:
        col.byteswap()
    tally = collections.Counter(col)
    ordered = sorted(tally)
    return len(ordered), _u32(ordered), _u32([tally[k] for k in ordered])


def _u32(values: list[int]) -> bytes:
    a = array("I", values)
    if _BIG:
        a.byteswap()
    return a.tobytes()


def _i64(values: list[int], code: str = "q") -> bytes:
    a = array(code, values)
    if _BIG:
        a.byteswap()
    return a.tobytes()


class Summarizer:
    """The writer's side: summarise each EVENTS frame, hand them out 64 at a time."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._first: list[int] = []
        self._kinds: list[int] = []
        self._entries: list[int] = []
        self._pids: list[bytes] = []
        self._counts: list[bytes] = []

    def add(self, first_seq: int, kinds: bytes, pids: bytes) -> int:
        """Summarise the EVENTS frame of events ``first_seq ..`` (its kind and pid columns);
        returns its kind mask."""
        return self.add_tally(first_seq, frame_tally(kinds, pids))

    def add_tally(self, first_seq: int, tally: Tally) -> int:
        """:meth:`add`, from the frame's :func:`frame_tally`; returns its kind mask."""
        kind_counts, n, keys, counts = tally
        mask = mask_of(kind_counts)
        self._first.append(first_seq)
        self._kinds.append(mask)
        self._entries.append(n)
        self._pids.append(keys)
        self._counts.append(counts)
        return mask

    def due(self) -> bool:
        """Whether a META frame's worth of summaries is waiting."""
        return len(self._first) >= FRAMES_PER_META

    def __len__(self) -> int:
        return len(self._first)

    def take(self) -> dict[str, bytes] | None:
        """The waiting summaries as one ``S`` map (``None`` when there are none)."""
        if not self._first:
            return None
        out = {
            "first_seq": _i64(self._first),
            "kinds": _i64(self._kinds, "Q"),
            "entries": _u32(self._entries),
            "pid": b"".join(self._pids),
            "count": b"".join(self._counts),
        }
        self._reset()
        return out


class FrameSummaries(NamedTuple):
    """Summaries read from a file, one row per summarised EVENTS frame, by ``first_seq``."""

    first_seq: np.ndarray  # int64[m], ascending
    kinds: np.ndarray  # uint64[m]
    starts: np.ndarray  # int64[m + 1]: frame j's entries are pid[starts[j]:starts[j + 1]]
    pid: np.ndarray  # uint32[E]
    counts: np.ndarray  # uint32[E]


def _parse(s: Any, where: int) -> list[np.ndarray] | None:
    import numpy as np

    if not isinstance(s, dict):
        return None
    try:
        first = np.frombuffer(s["first_seq"], "<i8")
        kinds = np.frombuffer(s["kinds"], "<u8")
        entries = np.frombuffer(s["entries"], "<u4")
        pid = np.frombuffer(s["pid"], "<u4")
        count = np.frombuffer(s["count"], "<u4")
    except (KeyError, TypeError, ValueError):
        raise SessionFormatError("malformed frame summary", where) from None
    if not (len(first) == len(kinds) == len(entries)) or int(entries.sum()) != len(pid):
        raise SessionFormatError("frame summary columns disagree", where)
    if len(count) != len(pid):
        raise SessionFormatError("frame summary columns disagree", where)
    return [first, kinds, entries.astype(np.int64), pid, count]


def read(reader: SessionReader) -> FrameSummaries | None:
    """Every frame summary of a file or stream (``None`` when it has none: format 1.0, or a
    stream that has sent none yet). Frames listed twice keep their first summary; summaries
    of frames the reader does not have are dropped.

    Raises:
        SessionFormatError: a summary is malformed (the message names the offset).
    """
    import numpy as np

    ix = reader._ix
    parts: list[list[np.ndarray]] = []
    try:
        for i, t in enumerate(ix.types):
            if t != FrameType.META:
                continue
            h = reader._header(i)
            body = reader._body(i, h)
            check_crc(h, body)
            m = decode_map_block(h, decode_block(h, body, 0, reader._decompress))
            got = _parse(m.get(KEY) if isinstance(m, dict) else None, ix.offsets[i])
            if got is not None:
                parts.append(got)
        footer = reader.footer
        if footer is not None and not reader.recovered:
            got = _parse(footer.get(KEY), 0)
            if got is not None:
                parts.append(got)
    except SessionFormatError as exc:
        raise reader._err(exc) from None
    if not parts:
        return None
    first, kinds, entries, pid, count = (np.concatenate([p[i] for p in parts]) for i in range(5))
    starts = np.zeros(len(first) + 1, np.int64)
    np.cumsum(entries, out=starts[1:])
    # keep the frames the reader has, once each, in seq order
    firsts = np.asarray(ix.ev_firsts, np.int64)
    at = np.searchsorted(firsts, first)
    known = (at < len(firsts)) & (firsts[np.minimum(at, len(firsts) - 1)] == first)
    _, once = np.unique(first, return_index=True)
    keep = np.zeros(len(first), bool)
    keep[once] = True
    keep &= known
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(first[rows], kind="stable")]
    if len(rows) == len(first) and (len(rows) < 2 or bool(np.all(np.diff(first) > 0))):
        # the usual file: every summary once, in order: its columns as they are (no gather)
        return FrameSummaries(first, kinds, starts, pid, count)
    lo, hi = starts[rows], starts[rows + 1]
    sizes = hi - lo
    take = np.repeat(lo - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(int(sizes.sum()))
    new_starts = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(sizes, out=new_starts[1:])
    return FrameSummaries(first[rows], kinds[rows], new_starts, pid[take], count[take])
