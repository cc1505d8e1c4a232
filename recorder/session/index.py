"""The frame index of a session: where each frame is and which events it holds.

Built from a footer in one vectorised pass (:meth:`FrameIndex.load_footer`) or frame by frame
while scanning a file without a footer or reading a live stream (:meth:`FrameIndex.add`).
Either way it checks what it is told: event frames must follow each other without gaps,
keyframes must refer to recorded events, offsets must be in order.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

import numpy as np

from recorder.session.format import (
    FRAME_HEADER,
    MAX_ABS_TIME,
    REF_BYTES_PER_EVENT,
    SKELETON_BYTES_PER_EVENT,
    TRAILER,
    TRAILER_MAGIC,
    FrameHeader,
    FrameType,
    ReadLimits,
    SessionFormatError,
    unpack_frame_header,
)
from recorder.session.frames import check_crc, decode_block, decode_map_block

_HSIZE = FRAME_HEADER.size
#: Decompressed bytes an event costs at least: its skeleton, its ref and its payload offset.
MIN_BYTES_PER_EVENT = SKELETON_BYTES_PER_EVENT + REF_BYTES_PER_EVENT + 4

__all__ = ["FrameIndex", "index_file"]


class FrameIndex:
    """Parallel lists, one entry per frame, plus the positions of event frames and keyframes."""

    def __init__(self) -> None:
        self.headers: list[FrameHeader | None] = []  # parsed lazily for footer-indexed files
        self.types: list[int] = []
        self.offsets: list[int] = []
        self.firsts: list[int] = []
        self.counts: list[int] = []
        self.t0s: list[int] = []
        self.t1s: list[int] = []
        self.ev_frames: list[int] = []  # indices (into the lists above) of EVENTS frames
        self.ev_firsts: list[int] = []
        self.kf_frames: list[int] = []
        self.kf_seqs: list[int] = []
        self.event_count = 0
        self.declared = 0  # decompressed bytes declared by the frame headers checked so far

    def account(self, h: FrameHeader, budget: int) -> None:
        """Count the decompressed bytes frame ``h`` declares against ``budget`` (the file's
        expansion budget, see ``ReadLimits``), once per frame, before anything is
        decompressed.

        Raises:
            SessionFormatError: the frames declare more than the budget allows.
        """
        total = self.declared + h.raw[0] + h.raw[1] + h.raw[2]
        if total > budget:
            raise SessionFormatError(
                f"frames declare {total:,} decompressed bytes, more than a file of this size "
                f"may hold ({budget:,}; ReadLimits.max_expansion): a zstd bomb?",
                h.offset,
            )
        self.declared = total

    def __len__(self) -> int:
        return len(self.types)

    def add(
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
        """Append one frame (scan or live stream). Raises SessionFormatError at ``where``."""
        i = len(self.types)
        if ftype == FrameType.EVENTS:
            if first != self.event_count:
                raise SessionFormatError(
                    f"event frame starts at event {first}, expected {self.event_count}", where
                )
            self.ev_frames.append(i)
            self.ev_firsts.append(first)
            self.event_count += count
        elif ftype == FrameType.KEYFRAME:
            if first > self.event_count:
                raise SessionFormatError("keyframe refers to events not recorded yet", where)
            self.kf_frames.append(i)
            self.kf_seqs.append(first)
        self.headers.append(h)
        self.types.append(ftype)
        self.offsets.append(off)
        self.firsts.append(first)
        self.counts.append(count)
        self.t0s.append(t0)
        self.t1s.append(t1)

    @classmethod
    def from_footer(
        cls,
        footer: dict[str, Any],
        hdr_end: int,
        footer_off: int,
        limits: ReadLimits,
        size: int | None = None,
    ) -> FrameIndex:
        """The index a footer holds, checked in a few numpy passes (opening stays ~1 ms).

        Every frame must have room for its header before the next one, and the events it
        claims must fit the expansion budget of a file of ``size`` bytes (default: up to the
        footer), so a lying index is refused before anything is sized by it.
        """
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
        offs, types = cols["offset"], cols["type"]
        firsts, counts = cols["first_seq"], cols["count"]
        if n and (
            offs[0] < hdr_end or offs[-1] + _HSIZE > footer_off or np.any(np.diff(offs) < _HSIZE)
        ):
            raise SessionFormatError("footer frame offsets are out of order or range", footer_off)
        for name in ("t_first", "t_last"):
            col = cols[name]
            if n and (col.min() < -MAX_ABS_TIME or col.max() > MAX_ABS_TIME):
                raise SessionFormatError("footer timestamps beyond +-2^62 ns", footer_off)
        if np.any(counts < 0) or np.any(counts > limits.max_frame_events):
            raise SessionFormatError("footer frame counts out of range", footer_off)
        if not np.isin(types, [int(t) for t in FrameType]).all():
            raise SessionFormatError("footer names an unknown frame type", footer_off)
        ev = np.flatnonzero(types == FrameType.EVENTS)
        ev_counts = counts[ev]
        expected = np.concatenate(([0], np.cumsum(ev_counts)[:-1])) if len(ev) else ev_counts
        if not np.array_equal(firsts[ev], expected):
            raise SessionFormatError("footer event frames do not follow each other", footer_off)
        total = int(ev_counts.sum())
        budget = limits.expansion_budget(footer_off if size is None else size)
        if total * MIN_BYTES_PER_EVENT > budget:
            raise SessionFormatError(
                f"footer claims {total:,} events, more than a file of this size can hold",
                footer_off,
            )
        kf = np.flatnonzero(types == FrameType.KEYFRAME)
        if len(kf) and (firsts[kf].max() > total or firsts[kf].min() < 0):
            raise SessionFormatError("footer keyframe refers to events not recorded", footer_off)
        ix = cls()
        ix.types = types.tolist()
        ix.offsets = offs.tolist()
        ix.firsts = firsts.tolist()
        ix.counts = counts.tolist()
        ix.t0s = cols["t_first"].tolist()
        ix.t1s = cols["t_last"].tolist()
        ix.headers = [None] * n
        ix.ev_frames = ev.tolist()
        ix.ev_firsts = firsts[ev].tolist()
        ix.kf_frames = kf.tolist()
        ix.kf_seqs = firsts[kf].tolist()
        ix.event_count = total
        return ix

    def event_frame_of(self, seq: int) -> int:
        """Which EVENTS frame (k-th) holds event ``seq``. Raises IndexError when out of range."""
        if not 0 <= seq < self.event_count:
            raise IndexError(
                f"event {seq} out of range (the session has {self.event_count} events)"
            )
        return bisect.bisect_right(self.ev_firsts, seq) - 1

    def table(self) -> dict[str, np.ndarray]:
        """The index as arrays: type, offset, first_seq, count, t_first, t_last."""
        return {
            "type": np.array(self.types, dtype="u1"),
            "offset": np.array(self.offsets, dtype="<i8"),
            "first_seq": np.array(self.firsts, dtype="<i8"),
            "count": np.array(self.counts, dtype="<i8"),
            "t_first": np.array(self.t0s, dtype="<i8"),
            "t_last": np.array(self.t1s, dtype="<i8"),
        }


def index_file(
    buf: Any, hdr_end: int, size: int, limits: ReadLimits, decompress: Callable[..., bytes] | None
) -> tuple[FrameIndex, dict[str, Any] | None, str | None]:
    """Index a whole session file held in ``buf`` (sliced like bytes: a ``FileBytes``): from
    its footer when it has a usable one, else by scanning frame headers.

    Returns:
        ``(index, footer or None, recovery note or None)``; the note says why the footer was
        not used, what was recovered and where the scan stopped.
    """
    why = "no footer (the recording did not finish)"
    if size >= hdr_end + TRAILER.size:
        off, magic = TRAILER.unpack(buf[size - TRAILER.size : size])
        if magic == TRAILER_MAGIC:
            try:
                footer = _read_footer(buf, off, hdr_end, size, limits, decompress)
                return FrameIndex.from_footer(footer, hdr_end, off, limits, size), footer, None
            except SessionFormatError as exc:
                why = f"footer unusable ({exc.reason} at byte {exc.offset})"
                why += "; index rebuilt by scanning"
    ix, scan_note = _scan(buf, hdr_end, size, limits)
    kept = f"recovered {ix.event_count} events in {len(ix.ev_frames)} complete frames"
    return ix, None, f"{why}: {kept}" + (f"; {scan_note}" if scan_note else "")


def _read_footer(
    buf: Any,
    off: int,
    hdr_end: int,
    size: int,
    limits: ReadLimits,
    decompress: Callable[..., bytes] | None,
) -> dict[str, Any]:
    if not hdr_end <= off <= size - TRAILER.size - _HSIZE:
        raise SessionFormatError("trailer points outside the file", size - TRAILER.size)
    h = unpack_frame_header(buf[off : off + _HSIZE], off, limits)
    if h.type != FrameType.FOOTER or h.end != size - TRAILER.size:
        raise SessionFormatError("trailer does not point at a footer frame", off)
    if h.raw[0] > limits.max_footer_bytes:
        raise SessionFormatError("footer exceeds the size limit", off)
    body = buf[off + _HSIZE : h.end]
    check_crc(h, body)
    footer: dict[str, Any] = decode_map_block(h, decode_block(h, body, 0, decompress))
    return footer


def _scan(buf: Any, start: int, size: int, limits: ReadLimits) -> tuple[FrameIndex, str]:
    """Index every complete frame from ``start``; say what was skipped, where and why the scan
    stopped.

    A frame whose body fails its checksum does not end the scan when its header is believable
    (the next frame starts where it says it ends, and continues its numbering): an EVENTS frame
    stays in the index, unreadable as in a file with a footer (``bad_event_frames`` finds it),
    so the events after it keep their numbers; a damaged keyframe or META frame is left out.
    """
    ix = FrameIndex()
    budget = limits.expansion_budget(size)
    notes: list[str] = []
    off = start
    stop = ""
    while off < size:
        if size - off < _HSIZE:
            stop = f"{size - off} bytes of an incomplete frame header at byte {off}"
            break
        try:
            h = unpack_frame_header(buf[off : off + _HSIZE], off, limits)
            if h.end > size:
                stop = f"incomplete frame at byte {off} ({size - off} of {h.end - off} bytes)"
                break
            if h.type == FrameType.FOOTER:
                break
            ix.account(h, budget)
            try:
                check_crc(h, buf[off + _HSIZE : h.end])
            except SessionFormatError as exc:
                if not _resumes_after(buf, h, ix.event_count, size, limits):
                    raise
                if h.type != FrameType.EVENTS:
                    notes.append(f"skipped a damaged {_NAMES[h.type]} at byte {off}")
                    off = h.end
                    continue
                last = h.first_seq + h.count - 1
                notes.append(
                    f"kept the damaged event frame at byte {off} "
                    f"(events {h.first_seq}-{last} unreadable: {exc.reason})"
                )
            ix.add(h, h.type, off, h.first_seq, h.count, h.t_first, h.t_last, off)
        except SessionFormatError as exc:
            stop = f"{exc.reason} at byte {exc.offset}"
            break
        off = h.end
    kept = [*notes, f"dropped {stop}"] if stop else notes
    return ix, "; ".join(kept)


_NAMES: dict[int, str] = {FrameType.KEYFRAME: "keyframe", FrameType.META: "metadata frame"}


def _resumes_after(buf: Any, h: FrameHeader, events: int, size: int, limits: ReadLimits) -> bool:
    """Whether a frame follows ``h`` where ``h``'s header says it ends, with numbers that fit:
    then the header of the damaged frame ``h`` is believable and only its body is damaged
    (a torn write at the end of a killed recording has nothing after it)."""
    if h.end + _HSIZE > size or (h.type == FrameType.EVENTS and h.first_seq != events):
        return False
    try:
        nxt = unpack_frame_header(buf[h.end : h.end + _HSIZE], h.end, limits)
    except SessionFormatError:
        return False
    after = events + h.count if h.type == FrameType.EVENTS else events
    if nxt.type == FrameType.EVENTS:
        return nxt.first_seq == after
    return nxt.type == FrameType.FOOTER or nxt.first_seq <= after
