"""Encoding and decoding of frame bodies. Pure functions: no files, no threads.

The writer thread calls :func:`encode_events` / :func:`encode_map_frame`; readers (file and
live stream alike) call :func:`decode_block`.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Sequence
from operator import sub
from typing import Any

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
    "check_crc",
    "decode_block",
    "decode_map_block",
    "encode_batch",
    "encode_events",
    "encode_map_frame",
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
    except OverflowError:  # e.g. pid -1 from a careless adapter: wrap into the uint32 range
        mask = _U32 if typecode == "I" else (1 << 64) - 1
        a = array(typecode, [v & mask for v in values])
    if not _LITTLE:
        a.byteswap()
    return a.tobytes()


class Compressor:
    """zstd (level configurable) or nothing; one per writer thread."""

    def __init__(self, level: int | None) -> None:
        self.flags = 0
        self._compress: Callable[[bytes], bytes] | None = None
        if level is not None:
            import zstandard  # imported only when compression is on

            self._compress = zstandard.ZstdCompressor(level=level).compress
            self.flags = FLAG_ZSTD

    def __call__(self, raw: bytes) -> bytes:
        return self._compress(raw) if self._compress is not None else raw


def _frame(
    comp: Compressor,
    ftype: int,
    count: int,
    first_seq: int,
    t_first: int,
    t_last: int,
    blocks: tuple[bytes, bytes, bytes],
) -> bytes:
    stored = tuple(comp(b) if b else b"" for b in blocks)
    body = b"".join(stored)
    header = pack_frame_header(
        ftype,
        comp.flags,
        count,
        zlib.crc32(body),
        first_seq,
        t_first,
        t_last,
        (len(stored[0]), len(stored[1]), len(stored[2])),
        (len(blocks[0]), len(blocks[1]), len(blocks[2])),
    )
    return header + body


def encode_events(
    rows: Sequence[EventRow], first_seq: int, comp: Compressor, limits: Limits = DEFAULT_LIMITS
) -> tuple[bytes, bytes]:
    """Encode a batch of hot-path rows as one EVENTS frame.

    Returns:
        The frame's bytes, and the kind column (the writer keeps per-kind counts from it).
    """
    ts, kind_codes, pids, peers, refs, datas = zip(*rows, strict=True)
    kinds = bytes(kind_codes)
    t0 = ts[0]
    deltas = list(map(sub, ts, (t0, *ts[:-1])))
    skeleton = b"".join((_col("q", deltas), _col("I", pids), _col("I", peers), kinds))
    offsets, payloads = encode_many(list(datas), limits)
    payload_block = _col("I", offsets) + payloads
    frame = _frame(
        comp,
        FrameType.EVENTS,
        len(rows),
        first_seq,
        t0,
        ts[-1],
        (skeleton, _col("q", refs), payload_block),
    )
    return frame, kinds


def encode_batch(batch: EventBatch, first_seq: int, comp: Compressor) -> tuple[bytes, bytes]:
    """Encode an :class:`~recorder.payload.EventBatch` (from ``EventBuffer.take()``) as one
    EVENTS frame: the same bytes as :func:`encode_events` for the same events, with the
    payloads already encoded on the program's thread.

    Returns:
        The frame's bytes, and the kind column.

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
    frame = _frame(
        comp,
        FrameType.EVENTS,
        n,
        first_seq,
        t0,
        t1,
        (skeleton, batch.ref, batch.offsets + batch.payloads),
    )
    return frame, batch.kind


def encode_map_frame(
    ftype: FrameType, body: Any, comp: Compressor, seq: int = 0, t: int = 0, *, structural: bool
) -> bytes:
    """Encode a KEYFRAME / FOOTER / META frame whose one block is a msgpack map.

    ``structural=True`` runs the body through the safe payload encoder first (keyframes hold
    arbitrary process states); footers are built from plain values and skip it.
    """
    value = to_structural(body, _MAP_LIMITS) if structural else body
    raw = msgpack.packb(value, use_bin_type=True)
    return _frame(comp, ftype, 0, seq, t, t, (raw, b"", b""))


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


def decode_map_block(h: FrameHeader, raw: bytes) -> Any:
    """Decode the msgpack map of a KEYFRAME / FOOTER / META frame (extension types decoded)."""
    from recorder.payload import decode_payload

    try:
        value = decode_payload(raw)
    except PayloadError as exc:
        raise SessionFormatError(str(exc), h.offset) from None
    if not isinstance(value, dict):
        raise SessionFormatError("frame body is not a map", h.offset)
    return value
