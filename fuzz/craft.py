"""Hand-built session files, byte by byte, for the hostile-input corpus and its tests.

The real writer never produces these files: :class:`Craft` writes whatever header, frames,
keyframes and footer it is told, with correct checksums, so a file gets past the cheap checks
and reaches the code under attack. The layout is ``docs/session-format.md``.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import msgpack

from recorder.events import NO_PEER
from recorder.session.format import (
    FLAG_ZSTD,
    TRAILER,
    TRAILER_MAGIC,
    FrameType,
    pack_file_header,
    pack_frame_header,
)

__all__ = ["Craft", "EventRow", "ext", "packb"]

#: One event as written: ``(ts, kind, pid, peer, ref, payload bytes)``.
EventRow = tuple[int, int, int, int, int, bytes]


def packb(value: Any) -> bytes:
    """msgpack bytes of a plain value (bin for bytes, str for str)."""
    out: bytes = msgpack.packb(value, use_bin_type=True)
    return out


def ext(code: int, inner: bytes) -> msgpack.ExtType:
    """A payload extension value (``recorder.payload`` codes) around packed ``inner`` bytes."""
    return msgpack.ExtType(code, inner)


def _zstd(raw: bytes) -> bytes:
    import zstandard

    out: bytes = zstandard.ZstdCompressor(level=19).compress(raw)
    return out


@dataclass
class _Frame:
    ftype: int
    first: int
    count: int
    t0: int
    t1: int
    data: bytes


@dataclass
class Craft:
    """A session file under construction. Frames are appended in order; :meth:`build` adds a
    footer (from the frames written, or the one given) and the trailer.

    Args:
        meta: the header's metadata map.
        compress: zstd-compress every frame's blocks.
    """

    meta: dict[str, Any] = field(default_factory=lambda: {"program": "craft"})
    compress: bool = False
    _frames: list[_Frame] = field(default_factory=list)
    _offset: int = 0
    _seq: int = 0
    _spawns: list[list[Any]] = field(default_factory=list)
    _kinds: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._head = pack_file_header(packb(self.meta))
        self._offset = len(self._head)

    # ------------------------------------------------------------------ frames

    def raw_frame(
        self,
        ftype: int,
        blocks: Sequence[bytes],
        *,
        count: int = 0,
        first: int = 0,
        t0: int = 0,
        t1: int = 0,
        raw_sizes: Sequence[int] | None = None,
        stored: Sequence[bytes] | None = None,
        compress: bool | None = None,
    ) -> Craft:
        """Append one frame with these (raw) blocks; ``stored`` replaces the stored bytes (an
        already compressed bomb, say) and ``raw_sizes`` the declared raw sizes."""
        blocks = list(blocks) + [b""] * (3 - len(blocks))
        on = self.compress if compress is None else compress
        flags = FLAG_ZSTD if on or stored is not None else 0
        if stored is None:
            stored = [(_zstd(b) if b else b"") for b in blocks] if flags else blocks
        stored = list(stored) + [b""] * (3 - len(stored))
        raw = list(raw_sizes) if raw_sizes is not None else [len(b) for b in blocks]
        body = b"".join(stored)
        header = pack_frame_header(
            ftype, flags, count, zlib.crc32(body), first, t0, t1,
            (len(stored[0]), len(stored[1]), len(stored[2])), (raw[0], raw[1], raw[2]),
        )  # fmt: skip
        data = header + body
        self._frames.append(_Frame(ftype, first, count, t0, t1, data))
        self._offset += len(data)
        return self

    def events(self, rows: Sequence[EventRow], *, first: int | None = None) -> Craft:
        """Append an EVENTS frame holding ``rows`` (``ts`` absolute; deltas are computed)."""
        first = self._seq if first is None else first
        for r in rows:
            self._kinds[r[1]] = self._kinds.get(r[1], 0) + 1
        ts = [r[0] for r in rows]
        deltas = [0] + [b - a for a, b in pairwise(ts)]
        skeleton = b"".join(
            (
                array("q", deltas).tobytes(),
                array("I", [r[2] for r in rows]).tobytes(),
                array("I", [r[3] for r in rows]).tobytes(),
                bytes(r[1] for r in rows),
            )
        )
        refs = array("q", [r[4] for r in rows]).tobytes()
        offsets = [0]
        for r in rows:
            offsets.append(offsets[-1] + len(r[5]))
        payloads = array("I", offsets).tobytes() + b"".join(r[5] for r in rows)
        self.raw_frame(
            FrameType.EVENTS, (skeleton, refs, payloads), count=len(rows), first=first,
            t0=ts[0], t1=ts[-1],
        )  # fmt: skip
        self._seq = first + len(rows)
        return self

    def event(self, kind: int, pid: int = 0, peer: int = NO_PEER, ref: int = 0,
              data: Any = None, ts: int | None = None) -> Craft:  # fmt: skip
        """Append a one-event EVENTS frame (``data`` is packed unless it is ``bytes``)."""
        payload = data if isinstance(data, bytes) else (b"" if data is None else packb(data))
        if kind == 0 and isinstance(data, dict):  # SPAWN: the footer's process table lists it
            d = data
            self._spawns.append([pid, d.get("name"), d.get("behaviour", "process"), peer,
                                 NO_PEER, "local"])  # fmt: skip
        return self.events(
            [(1000 + self._seq if ts is None else ts, kind, pid, peer, ref, payload)]
        )

    def keyframe(self, seq: int, world: Any, *, raw: bytes | None = None) -> Craft:
        """Append a KEYFRAME frame ``{"seq": seq, "world": world}`` (or the given raw body)."""
        body = raw if raw is not None else packb({"seq": seq, "world": world})
        return self.raw_frame(FrameType.KEYFRAME, (body,), first=seq)

    def pad(self, nbytes: int) -> Craft:
        """Append a META frame of about ``nbytes`` (room for lying footer offsets)."""
        body = packb({"pad": b"\0" * max(nbytes - 80, 0)})
        return self.raw_frame(FrameType.META, (body,), compress=False)

    # ------------------------------------------------------------------ footer

    def index(self) -> dict[str, bytes]:
        """The footer's frame index of the frames written so far."""
        offs, off = [], len(self._head)
        for f in self._frames:
            offs.append(off)
            off += len(f.data)
        return {
            "offset": array("q", offs).tobytes(),
            "type": bytes(f.ftype for f in self._frames),
            "first_seq": array("q", [f.first for f in self._frames]).tobytes(),
            "count": array("q", [f.count for f in self._frames]).tobytes(),
            "t_first": array("q", [f.t0 for f in self._frames]).tobytes(),
            "t_last": array("q", [f.t1 for f in self._frames]).tobytes(),
        }

    def build(self, *, footer: dict[str, Any] | bool = True) -> bytes:
        """The file: header, frames, then (``footer`` True: a correct one; a dict: that map)
        a footer frame and the trailer. ``footer=False`` leaves them out (a killed recorder)."""
        out = [self._head, *(f.data for f in self._frames)]
        if footer is False:
            return b"".join(out)
        doc = footer if isinstance(footer, dict) else {
            "events": self._seq, "lost": 0, "kinds": dict(sorted(self._kinds.items())),
            "processes": packb(self._spawns),
            "frames": self.index(),
        }  # fmt: skip
        body = packb(doc)
        stored = _zstd(body) if self.compress else body
        frame = pack_frame_header(
            FrameType.FOOTER, FLAG_ZSTD if self.compress else 0, 0, zlib.crc32(stored),
            self._seq, 0, 0, (len(stored), 0, 0), (len(body), 0, 0),
        ) + stored  # fmt: skip
        return b"".join(out) + frame + TRAILER.pack(self._offset, TRAILER_MAGIC)
