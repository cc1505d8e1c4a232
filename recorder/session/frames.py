"""Encoding and decoding of frame bodies. Pure functions: no files, no threads.

The writer thread calls :func:`encode_batch` (events captured and encoded on the program
thread) and :func:`encode_map_frame`; :func:`encode_events` encodes rows whose data is still
a live value. Readers (file and live stream alike) call :func:`decode_block`.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Sequence
from operator import sub
from typing import Any, NamedTuple

import msgpack

from recorder.payload import (
    DEFAULT_LIMITS,
    EventBatch,
    Limits,
    PayloadError,
    encode_many,
    to_structural,
    ts_deltas,
)
from recorder.session.format import (
    FLAG_ZSTD,
    FrameHeader,
    FrameType,
    SessionFormatError,
    pack_frame_header,
)

__all__ = [
    "Compressor",
    "EventRow",
    "RawFrame",
    "build_frames",
    "check_crc",
    "decode_block",
    "decode_map_block",
    "encode_batch",
    "encode_events",
    "encode_map_frame",
    "event_blocks",
    "raw_batch",
    "raw_map_frame",
]

#: What the hot path appends: (ts, kind, pid, peer, ref, data).
EventRow = tuple[int, int, int, int, int, Any]

_LITTLE = sys.byteorder == "little"
_I64 = struct.Struct("<q")
#: Keyframe / meta bodies are whole worlds: bounded by the frame size, not a payload's limits.
_MAP_LIMITS = Limits(max_bytes=1 << 30, max_items=1 << 20, max_nodes=1 << 26)
_U32 = 0xFFFFFFFF


def _col(typecode: str, values: Sequence[int]) -> bytes:
    try:
        a = array(typecode, values)
    except (OverflowError, TypeError):  # a careless source: pid -1, a float ref, None
        a = array(typecode, [_fit(typecode, v) for v in values])
    if not _LITTLE:
        a.byteswap()
    return a.tobytes()


def _fit(typecode: str, v: Any) -> int:
    """Coerce one column value into the column's range: wrap ints, replace non-ints."""
    try:
        n = int(v)
    except (TypeError, ValueError, OverflowError):
        return _U32 if typecode == "I" else 0  # "no process" / "no reference"
    if typecode == "I":
        return n & _U32
    if typecode == "B":
        return n & 0xFF
    return ((n + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)  # int64: two's complement wrap


class Compressor:
    """zstd (level configurable) or nothing; one per writer thread."""

    def __init__(self, level: int | None) -> None:
        self.flags = 0
        self._compress: Callable[[bytes], bytes] | None = None
        self._many: Callable[..., Any] | None = None
        if level is not None:
            import zstandard  # imported only when compression is on

            zc = zstandard.ZstdCompressor(level=level)
            self._compress = zc.compress
            # One call (one release of the GIL) for many blocks: a writer thread that waits
            # for the GIL after every block falls behind a busy program (the convoy effect).
            self._many = getattr(zc, "multi_compress_to_buffer", None)
            self.flags = FLAG_ZSTD

    def __call__(self, raw: bytes) -> bytes:
        return self._compress(raw) if self._compress is not None else raw

    def many(self, blocks: Sequence[bytes]) -> list[bytes]:
        """Compress each block (the same bytes as one call each); empty blocks stay empty."""
        if self._compress is None:
            return list(blocks)
        todo = [b for b in blocks if b]
        if self._many is not None and len(todo) > 1:
            result = self._many(todo, threads=0)
            done = iter([result[i].tobytes() for i in range(len(todo))])
        else:
            done = iter([self._compress(b) for b in todo])
        return [next(done) if b else b"" for b in blocks]


class RawFrame(NamedTuple):
    """A frame before compression: its header fields and its three raw blocks."""

    ftype: int
    events: int
    first_seq: int
    t_first: int
    t_last: int
    blocks: tuple[bytes, bytes, bytes]


def build_frames(frames: Sequence[RawFrame], comp: Compressor) -> list[bytes]:
    """Compress and checksum ``frames`` (all their blocks in one compressor call)."""
    stored = comp.many([b for f in frames for b in f.blocks])
    out = []
    for i, f in enumerate(frames):
        s0, s1, s2 = stored[3 * i : 3 * i + 3]
        body = b"".join((s0, s1, s2))
        header = pack_frame_header(
            f.ftype,
            comp.flags,
            f.events,
            crc32_holding_gil(body),
            f.first_seq,
            f.t_first,
            f.t_last,
            (len(s0), len(s1), len(s2)),
            (len(f.blocks[0]), len(f.blocks[1]), len(f.blocks[2])),
        )
        out.append(header + body)
    return out


_CRC_STEP = 4096  # zlib.crc32 releases the GIL from 5 KiB on


def crc32_holding_gil(data: bytes) -> int:
    """``zlib.crc32(data)``, in pieces small enough that zlib keeps the GIL: a writer thread
    that gives the GIL up waits up to a switch interval (5 ms) to get it back while the
    program runs, once per frame (the convoy effect); holding it costs ~40 us per 30 KB."""
    if len(data) <= _CRC_STEP:
        return zlib.crc32(data)
    view = memoryview(data)
    crc = 0
    for i in range(0, len(data), _CRC_STEP):
        crc = zlib.crc32(view[i : i + _CRC_STEP], crc)
    return crc


def _frame(comp: Compressor, raw: RawFrame) -> bytes:
    return build_frames([raw], comp)[0]


def _kinds(codes: Sequence[int]) -> bytes:
    try:
        return bytes(codes)
    except (ValueError, TypeError):
        return _col("B", codes)


def event_blocks(
    ts: Sequence[int],
    kind_codes: Sequence[int],
    pids: Sequence[int],
    peers: Sequence[int],
    refs: Sequence[int],
    offsets: Sequence[int],
    payloads: bytes,
    first_seq: int,
) -> tuple[RawFrame, bytes]:
    """The raw EVENTS frame of columns (``offsets`` has one more entry than events), and its
    kind column."""
    kinds = _kinds(kind_codes)
    t0 = ts[0]
    deltas = list(map(sub, ts, (t0, *ts[:-1])))
    skeleton = b"".join((_col("q", deltas), _col("I", pids), _col("I", peers), kinds))
    payload_block = _col("I", offsets) + payloads
    blocks = (skeleton, _col("q", refs), payload_block)
    return RawFrame(FrameType.EVENTS, len(ts), first_seq, t0, ts[-1], blocks), kinds


def raw_batch(batch: EventBatch, first_seq: int) -> RawFrame:
    """The raw EVENTS frame of an :class:`~recorder.payload.EventBatch` (from
    ``EventBuffer.take()``): its columns are the frame's, only the timestamps become deltas.

    Raises:
        ValueError: the batch is empty.
    """
    n = batch.count
    if n == 0:
        raise ValueError("an EVENTS frame needs at least one event")
    ts = batch.ts
    t0 = _I64.unpack_from(ts, 0)[0]
    t1 = _I64.unpack_from(ts, 8 * (n - 1))[0]
    skeleton = b"".join((ts_deltas(ts), batch.pid, batch.peer, batch.kind))
    blocks = (skeleton, batch.ref, batch.offsets + batch.payloads)
    return RawFrame(FrameType.EVENTS, n, first_seq, t0, t1, blocks)


def encode_batch(batch: EventBatch, first_seq: int, comp: Compressor) -> tuple[bytes, bytes]:
    """Encode an :class:`~recorder.payload.EventBatch` as one EVENTS frame: the same bytes as
    :func:`encode_events` for the same events, with the payloads already encoded on the
    program's thread.

    Returns:
        The frame's bytes, and the kind column.

    Raises:
        ValueError: the batch is empty.
    """
    return _frame(comp, raw_batch(batch, first_seq)), batch.kind


def encode_events(
    rows: Sequence[EventRow], first_seq: int, comp: Compressor, limits: Limits = DEFAULT_LIMITS
) -> tuple[bytes, bytes]:
    """Encode rows whose data is still a live value as one EVENTS frame.

    Returns:
        The frame's bytes, and the kind column.
    """
    ts, kind_codes, pids, peers, refs, datas = zip(*rows, strict=True)
    offsets, payloads = encode_many(list(datas), limits)
    raw, kinds = event_blocks(ts, kind_codes, pids, peers, refs, offsets, payloads, first_seq)
    return _frame(comp, raw), kinds


def raw_map_frame(
    ftype: FrameType, body: Any, seq: int = 0, t: int = 0, *, structural: bool
) -> RawFrame:
    """A raw KEYFRAME / FOOTER / META frame whose one block is a msgpack map.

    ``structural=True`` runs the body through the safe payload encoder first (keyframes hold
    arbitrary process states); footers and frozen keyframes skip it.
    """
    value = to_structural(body, _MAP_LIMITS) if structural else body
    raw = msgpack.packb(value, use_bin_type=True)
    return RawFrame(ftype, 0, seq, t, t, (raw, b"", b""))


def encode_map_frame(
    ftype: FrameType, body: Any, comp: Compressor, seq: int = 0, t: int = 0, *, structural: bool
) -> bytes:
    """Encode a KEYFRAME / FOOTER / META frame (see :func:`raw_map_frame`)."""
    return _frame(comp, raw_map_frame(ftype, body, seq, t, structural=structural))


# --------------------------------------------------------------------------- decoding


def decode_block(
    h: FrameHeader, body: bytes | memoryview, index: int, decompress: Callable[..., bytes] | None
) -> bytes:
    """Return block ``index`` of a frame body, decompressed and size-checked."""
    start = sum(h.stored[:index])
    stored = body[start : start + h.stored[index]]
    raw_len = h.raw[index]
    if not h.compressed:
        return bytes(stored)
    if h.stored[index] == 0:
        if raw_len:
            raise SessionFormatError("empty compressed block with nonzero size", h.offset)
        return b""
    if decompress is None:
        raise SessionFormatError(
            "frame is zstd-compressed but zstandard is not installed", h.offset
        )
    try:
        raw = decompress(bytes(stored), max_output_size=raw_len)
    except Exception as exc:  # zstandard.ZstdError and friends
        raise SessionFormatError(f"corrupt compressed block: {exc}", h.offset) from None
    if len(raw) != raw_len:
        raise SessionFormatError(
            f"block decompressed to {len(raw)} bytes, header says {raw_len}", h.offset
        )
    return raw


def check_crc(h: FrameHeader, body: bytes | memoryview) -> None:
    if zlib.crc32(body) != h.crc:
        raise SessionFormatError("frame checksum mismatch (corrupt data)", h.offset)


def decode_map_block(
    h: FrameHeader, raw: bytes, decode: Callable[[bytes], Any] | None = None
) -> Any:
    """Decode the msgpack map of a KEYFRAME / FOOTER / META frame (extension types decoded)
    with ``decode`` (default :func:`~recorder.payload.decode_payload`; a keyframe's reader
    passes :func:`~recorder.session.keyframes.decode_keyframe`)."""
    from recorder.payload import decode_payload

    try:
        value = (decode or decode_payload)(raw)
    except PayloadError as exc:
        raise SessionFormatError(str(exc), h.offset) from None
    if not isinstance(value, dict):
        raise SessionFormatError("frame body is not a map", h.offset)
    return value
