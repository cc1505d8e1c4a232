"""Incremental frame decoder: bytes in (from a file or a socket), frames out.

Perfetto-style "one engine fed by a byte pipe": :class:`StreamDecoder.feed` accepts chunks of
any size and returns the complete frames found so far; a partial frame waits for more bytes.
The file reader's recovery scan and the live client use this same parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recorder.payload import PayloadError, decode_payload
from recorder.session.format import (
    DEFAULT_READ_LIMITS,
    FILE_HEADER,
    FRAME_HEADER,
    TRAILER,
    TRAILER_MAGIC,
    FrameHeader,
    ReadLimits,
    SessionFormatError,
    parse_file_header,
    unpack_frame_header,
)

__all__ = ["Frame", "StreamDecoder", "decode_metadata"]


@dataclass(frozen=True, slots=True)
class Frame:
    header: FrameHeader
    body: bytes


def decode_metadata(raw: bytes, offset: int) -> dict[str, Any]:
    try:
        meta = decode_payload(raw)
    except PayloadError as exc:
        raise SessionFormatError(f"corrupt header metadata: {exc}", offset) from None
    if not isinstance(meta, dict):
        raise SessionFormatError("header metadata is not a map", offset)
    return meta


class StreamDecoder:
    """Parses a session byte stream incrementally.

    After the file header, ``meta`` and ``version`` are set. ``feed`` returns new frames; the
    footer frame and the trailer are recognised and reported through ``footer_seen``.
    """

    def __init__(self, limits: ReadLimits = DEFAULT_READ_LIMITS) -> None:
        self.limits = limits
        self._buf = bytearray()
        self._pos = 0  # absolute stream offset of self._buf[0]
        self.meta: dict[str, Any] | None = None
        self.version: tuple[int, int] | None = None
        self.header_size = 0
        self.footer_seen = False

    @property
    def offset(self) -> int:
        """Absolute offset of the first byte not yet consumed."""
        return self._pos

    @property
    def pending_bytes(self) -> int:
        """Bytes received that do not yet make a complete frame."""
        return len(self._buf)

    def skip_to(self, offset: int) -> None:
        """Continue at stream ``offset`` (a frame boundary past the header), as when a reader
        resumes in the middle of a file it read the header of.

        Raises:
            ValueError: the header was not read yet, bytes are pending, or ``offset`` lies
                inside the header.
        """
        if self.meta is None or self._buf or offset < self.header_size:
            raise ValueError("skip_to needs the header read, nothing pending, a frame offset")
        self._pos = offset

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every frame completed by them (possibly none).

        Raises:
            SessionFormatError: the stream is corrupt at the returned offset.
        """
        self._buf += data
        out: list[Frame] = []
        if self.meta is None and not self._read_header():
            return out
        buf = self._buf
        hsize = FRAME_HEADER.size
        start = 0
        while True:
            avail = len(buf) - start
            if self.footer_seen:
                if avail >= TRAILER.size and bytes(buf[start + 8 : start + 16]) == TRAILER_MAGIC:
                    start += TRAILER.size
                    continue
                if 0 < avail < TRAILER.size:
                    break  # the trailer is split across two feeds: wait for the rest
                if avail:
                    raise SessionFormatError("data after the session trailer", self._pos + start)
                break
            if avail < hsize:
                break
            h = unpack_frame_header(
                bytes(buf[start : start + hsize]), self._pos + start, self.limits
            )
            if avail < hsize + h.body_len:
                break
            body = bytes(buf[start + hsize : start + hsize + h.body_len])
            out.append(Frame(h, body))
            start += hsize + h.body_len
            if h.type == 3:  # FOOTER: only the trailer may follow
                self.footer_seen = True
        if start:
            del buf[:start]
            self._pos += start
        return out

    def _read_header(self) -> bool:
        buf = self._buf
        if len(buf) < FILE_HEADER.size:
            if len(buf) >= 8 and not bytes(buf[:8]).startswith(b"\x89CINEMA"):
                parse_file_header(bytes(buf) + bytes(FILE_HEADER.size), self.limits)
            return False
        major, minor, meta_len = parse_file_header(bytes(buf[: FILE_HEADER.size]), self.limits)
        total = FILE_HEADER.size + meta_len
        if len(buf) < total:
            return False
        self.meta = decode_metadata(bytes(buf[FILE_HEADER.size : total]), FILE_HEADER.size)
        self.version = (major, minor)
        self.header_size = total
        del buf[:total]
        self._pos = total
        return True
