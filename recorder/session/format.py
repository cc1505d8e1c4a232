"""Byte layout of session files and live streams (specified in ``docs/session-format.md``).

A session is a *file header* followed by *frames*. A file also ends with a *footer* frame and a
16-byte *trailer* pointing at it; a file without them (the recorder was killed) is still read by
scanning frame headers. A live stream is the same header and frames, sent over a socket.

Every frame starts with a fixed 64-byte little-endian header (:data:`FRAME_HEADER`) that says
how long it is, what it holds and which events it covers, so an index can be rebuilt without
decompressing anything. Event frames hold three separately compressed blocks: the *skeleton*
columns (timestamps, processes, peers, kinds), the *ref* column, and the payloads with their
offsets; a viewer that only needs the skeleton never touches the payloads.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "FILE_MAGIC",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "FRAME_HEADER",
    "FRAME_MAGIC",
    "MAX_ABS_TIME",
    "TRAILER",
    "TRAILER_MAGIC",
    "FrameHeader",
    "FrameType",
    "ReadLimits",
    "SessionFormatError",
    "UnsupportedVersion",
]

FILE_MAGIC = b"\x89CINEMA\n"  # 8 bytes; the high byte and newline catch text-mode mangling
FORMAT_MAJOR = 1
FORMAT_MINOR = 2  # 1.1: frame summaries (recorder.session.summary); 1.2: kind index (kindex)
#: magic, major, minor, metadata length
FILE_HEADER = struct.Struct("<8sHHI")

FRAME_MAGIC = b"CFRM"
#: magic, type, flags, reserved, count, crc32, first_seq, t_first, t_last,
#: stored lengths of blocks 0..2, raw lengths of blocks 0..2
FRAME_HEADER = struct.Struct("<4sBBHIIqqqIIIIII")
assert FRAME_HEADER.size == 64

TRAILER_MAGIC = b"CINEMEND"
#: footer frame offset, magic
TRAILER = struct.Struct("<Q8s")

FLAG_ZSTD = 0x01

#: Skeleton column widths (block 0), in file order: ts deltas int64, pid uint32, peer uint32,
#: kind uint8. Block 1: ref int64. Block 2: payload offsets uint32[count + 1] then payloads.
SKELETON_BYTES_PER_EVENT = 8 + 4 + 4 + 1
REF_BYTES_PER_EVENT = 8


class FrameType(IntEnum):
    EVENTS = 1
    KEYFRAME = 2
    FOOTER = 3
    META = 4  # free-form metadata appended during a recording (e.g. breakpoints, notes)


class SessionFormatError(Exception):
    """A session file or stream is malformed. ``offset`` is the byte offset of the problem."""

    def __init__(self, message: str, offset: int | None = None, path: str | None = None):
        self.reason = message
        self.offset = offset
        self.path = path
        super().__init__(self._text())

    def _text(self) -> str:
        where = self.path or "session"
        at = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{where}{at}: {self.reason}"

    def with_path(self, path: str) -> SessionFormatError:
        self.path = path
        self.args = (self._text(),)
        return self


class UnsupportedVersion(SessionFormatError):
    """The file was written by a newer, incompatible major version of the format."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds a reader enforces on untrusted input, so that a crafted file costs memory and
    time in proportion to its size (``docs/session-format.md``, "Limits")."""

    max_meta_bytes: int = 1 << 20
    max_block_bytes: int = 256 << 20
    max_frame_events: int = 1 << 20
    max_footer_bytes: int = 64 << 20
    max_keyframe_bytes: int = 256 << 20
    max_pid: int = 1 << 22
    """Process ids (``pid``, ``peer``) are interned small integers: anything from this value up
    (other than ``NO_PEER``) is refused, so arrays indexed by pid stay small."""
    max_expansion: int = 256
    """With :attr:`expansion_floor`: the frames of a file (or of a stream so far) may declare
    at most ``expansion_floor + max_expansion * its size`` decompressed bytes in all. Real
    recordings expand 3-10x (a million identical events ~800x, within the floor); a zstd bomb
    declares thousands of times its size and is refused before anything is decompressed."""
    expansion_floor: int = 128 << 20
    max_keyframe_rows: int = 4096
    """A keyframe's process table may hold ``max(max_keyframe_rows, 4 * stored bytes)`` rows:
    every process costs its keyframe at least a byte, even compressed."""
    cache_bytes: int = 64 << 20
    """Decompressed frames a reader keeps for reuse (at least one frame)."""

    def expansion_budget(self, size: int) -> int:
        """Decompressed bytes that ``size`` bytes of frames may declare."""
        return self.expansion_floor + self.max_expansion * size


#: Timestamps (ns) a reader accepts: +-2^62 (146 years either side of the clock's zero), so
#: that the difference of any two fits in an int64.
MAX_ABS_TIME = 1 << 62


DEFAULT_READ_LIMITS = ReadLimits()


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The decoded fixed header of one frame, plus where it sits in the file."""

    offset: int
    type: int
    flags: int
    count: int
    crc: int
    first_seq: int
    t_first: int
    t_last: int
    stored: tuple[int, int, int]
    raw: tuple[int, int, int]

    @property
    def body_len(self) -> int:
        return self.stored[0] + self.stored[1] + self.stored[2]

    @property
    def end(self) -> int:
        return self.offset + FRAME_HEADER.size + self.body_len

    @property
    def compressed(self) -> bool:
        return bool(self.flags & FLAG_ZSTD)


def pack_frame_header(
    ftype: int,
    flags: int,
    count: int,
    crc: int,
    first_seq: int,
    t_first: int,
    t_last: int,
    stored: tuple[int, int, int],
    raw: tuple[int, int, int],
) -> bytes:
    return FRAME_HEADER.pack(
        FRAME_MAGIC, ftype, flags, 0, count, crc, first_seq, t_first, t_last, *stored, *raw
    )


def unpack_frame_header(
    buf: bytes | memoryview, offset: int, limits: ReadLimits = DEFAULT_READ_LIMITS
) -> FrameHeader:
    """Decode and validate a frame header found at file ``offset``.

    Raises:
        SessionFormatError: bad magic, unknown type, or sizes beyond ``limits``.
    """
    (magic, ftype, flags, _res, count, crc, first_seq, t_first, t_last, s0, s1, s2, r0, r1, r2) = (
        FRAME_HEADER.unpack(buf)
    )
    if magic != FRAME_MAGIC:
        raise SessionFormatError("bad frame magic (not a frame boundary)", offset)
    if ftype not in FrameType._value2member_map_:
        raise SessionFormatError(f"unknown frame type {ftype}", offset)
    if count > limits.max_frame_events:
        raise SessionFormatError(
            f"frame claims {count} events (limit {limits.max_frame_events})", offset
        )
    for n in (s0, s1, s2, r0, r1, r2):
        if n > limits.max_block_bytes:
            raise SessionFormatError(f"frame block of {n} bytes exceeds the limit", offset)
    if first_seq < 0:
        raise SessionFormatError("negative sequence number", offset)
    if not (-MAX_ABS_TIME <= t_first <= MAX_ABS_TIME and -MAX_ABS_TIME <= t_last <= MAX_ABS_TIME):
        raise SessionFormatError("frame timestamps beyond +-2^62 ns", offset)
    if ftype == FrameType.EVENTS:
        if r0 != count * SKELETON_BYTES_PER_EVENT or r1 != count * REF_BYTES_PER_EVENT:
            raise SessionFormatError("event frame column sizes do not match its count", offset)
        if r2 < 4 * (count + 1):
            raise SessionFormatError("event frame payload block too small", offset)
    if not flags & FLAG_ZSTD and (s0, s1, s2) != (r0, r1, r2):
        raise SessionFormatError("uncompressed frame with stored size != raw size", offset)
    return FrameHeader(
        offset, ftype, flags, count, crc, first_seq, t_first, t_last, (s0, s1, s2), (r0, r1, r2)
    )


def pack_file_header(meta_bytes: bytes) -> bytes:
    """The file header: magic, version, and the msgpack metadata map (already packed)."""
    return FILE_HEADER.pack(FILE_MAGIC, FORMAT_MAJOR, FORMAT_MINOR, len(meta_bytes)) + meta_bytes


def parse_file_header(buf: bytes, limits: ReadLimits = DEFAULT_READ_LIMITS) -> tuple[int, int, int]:
    """Validate the fixed part of a file header; return ``(major, minor, metadata_length)``.

    Raises:
        SessionFormatError: not a Cinema session, or metadata larger than ``limits`` allow.
        UnsupportedVersion: a newer major version.
    """
    if len(buf) < FILE_HEADER.size:
        raise SessionFormatError("too short to be a Cinema session (no header)", 0)
    magic, major, minor, meta_len = FILE_HEADER.unpack_from(buf)
    if magic != FILE_MAGIC:
        raise SessionFormatError("not a Cinema session file (bad magic bytes)", 0)
    if major > FORMAT_MAJOR or major == 0:
        raise UnsupportedVersion(
            f"session format version {major}.{minor} is not supported by this Cinema "
            f"(it reads versions 1.x up to {FORMAT_MAJOR}.x); upgrade Cinema to open it",
            8,
        )
    if meta_len > limits.max_meta_bytes:
        raise SessionFormatError(f"header metadata of {meta_len} bytes exceeds the limit", 12)
    return major, minor, meta_len
