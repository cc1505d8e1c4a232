"""Frames for one client: renumbered, synthesised (a LOST event) or filtered.

A client's stream is always a valid session: event frames start at its sequence number 0 and
follow each other without gaps. When a client starts late (at a keyframe of the flight
recorder) or misses frames, the server renumbers what it sends (the 64-byte header's
``first_seq``, and a keyframe body's ``seq``) and puts a LOST event where events are missing.
A filtered subscription gets new EVENTS frames holding only the events it asked for (their
payload bytes copied as they are, nothing re-encoded).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import msgpack
import numpy as np

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import encode_payload
from recorder.session.format import (
    FLAG_ZSTD,
    FRAME_HEADER,
    FrameHeader,
    FrameType,
    pack_frame_header,
)
from recorder.session.frames import decode_block

__all__ = ["events_frame", "lost_frame", "renumber", "rows_frame"]

_FIRST_SEQ = struct.Struct("<q")
_FIRST_SEQ_AT = 16  # offset of first_seq in the frame header


def _compressor(flags: int) -> Any:
    if flags & FLAG_ZSTD:
        import zstandard

        return zstandard.ZstdCompressor(level=1).compress
    return None


def _assemble(
    ftype: int, flags: int, count: int, first: int, t0: int, t1: int, blocks: list[bytes]
) -> bytes:
    comp = _compressor(flags)
    stored = [comp(b) if comp is not None and b else b for b in blocks]
    body = b"".join(stored)
    header = pack_frame_header(
        ftype, flags if comp is not None else 0, count, zlib.crc32(body), first, t0, t1,
        (len(stored[0]), len(stored[1]), len(stored[2])),
        (len(blocks[0]), len(blocks[1]), len(blocks[2])),
    )  # fmt: skip
    return header + body


def renumber(frame: bytes, header: FrameHeader, new_first: int, decompress: Any) -> bytes:
    """``frame`` with its first sequence number set to ``new_first`` (a keyframe's body seq
    too, which means decompressing and compressing its one block again)."""
    if header.first_seq == new_first:
        return frame
    if header.type != FrameType.KEYFRAME:
        out = bytearray(frame)
        _FIRST_SEQ.pack_into(out, _FIRST_SEQ_AT, new_first)
        return bytes(out)
    body = frame[FRAME_HEADER.size :]
    raw = decode_block(header, body, 0, decompress)
    value = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    if isinstance(value, dict):
        value["seq"] = new_first
    raw = msgpack.packb(value, use_bin_type=True)
    return _assemble(
        FrameType.KEYFRAME,
        header.flags,
        0,
        new_first,
        header.t_first,
        header.t_last,
        [raw, b"", b""],
    )


def events_frame(
    first: int,
    ts: np.ndarray,
    kind: np.ndarray,
    pid: np.ndarray,
    peer: np.ndarray,
    ref: np.ndarray,
    payloads: list[bytes],
    flags: int = FLAG_ZSTD,
) -> bytes:
    """An EVENTS frame of the given columns and encoded payloads, first event ``first``."""
    n = len(kind)
    ts64 = np.asarray(ts, dtype="<i8")
    deltas = np.diff(ts64, prepend=ts64[:1])
    skeleton = (
        deltas.astype("<i8").tobytes()
        + np.asarray(pid, dtype="<u4").tobytes()
        + np.asarray(peer, dtype="<u4").tobytes()
        + np.asarray(kind, dtype="u1").tobytes()
    )
    offsets = np.zeros(n + 1, dtype="<u4")
    if n:
        offsets[1:] = np.cumsum([len(p) for p in payloads])
    block2 = offsets.tobytes() + b"".join(payloads)
    return _assemble(
        FrameType.EVENTS, flags, n, first, int(ts64[0]) if n else 0, int(ts64[-1]) if n else 0,
        [skeleton, np.asarray(ref, dtype="<i8").tobytes(), block2],
    )  # fmt: skip


def lost_frame(seq: int, ts: int, count: int, flags: int = FLAG_ZSTD) -> bytes:
    """One EVENTS frame holding a single LOST event (``{"count": count}``) at ``seq``."""
    return events_frame(
        seq,
        np.array([ts], dtype=np.int64),
        np.array([int(EventKind.LOST)], dtype=np.uint8),
        np.array([NO_PEER], dtype=np.uint32),
        np.array([NO_PEER], dtype=np.uint32),
        np.array([NO_REF], dtype=np.int64),
        [encode_payload({"count": count, "why": "live client fell behind"})],
        flags,
    )


def rows_frame(
    rows: list[tuple[int, int, int, int, int, int, bytes]], first: int, flags: int
) -> bytes:
    """A new EVENTS frame of ``rows`` = ``(source seq, ts, kind, pid, peer, ref, payload)``.
    Timestamps must not go backwards: a row older than the one before takes its time."""
    ts = np.maximum.accumulate(np.array([r[1] for r in rows], dtype=np.int64))
    return events_frame(
        first,
        ts,
        np.array([r[2] for r in rows], dtype=np.uint8),
        np.array([r[3] for r in rows], dtype=np.uint32),
        np.array([r[4] for r in rows], dtype=np.uint32),
        np.array([r[5] for r in rows], dtype=np.int64),
        [r[6] for r in rows],
        flags,
    )
