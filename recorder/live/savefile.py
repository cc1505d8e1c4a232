"""Writing a session file from a stream's frames, with the footer a finished file has.

Used on both sides of a live connection: the server's ``record_start`` (a file that begins at
a fresh keyframe, renumbered from 0) and the client's "save this live session" (the bytes it
received). The footer holds what the writer's own footer holds (index, kinds, processes), so
the file opens instantly and is not reported as recovered.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import stat
import struct
import tempfile
from typing import IO, Any

import numpy as np

from recorder.events import NO_PEER, EventKind
from recorder.payload import PayloadError, decode_payload
from recorder.session.assembler import footer_body
from recorder.session.columns import decode_event_frame
from recorder.session.format import (
    FRAME_HEADER,
    TRAILER,
    TRAILER_MAGIC,
    FrameHeader,
    FrameType,
    unpack_frame_header,
)
from recorder.session.frames import Compressor, encode_map_frame

__all__ = ["StreamFile", "check_target"]

_FIRST_SEQ = struct.Struct("<q")


def _pid(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    n = getattr(v, "n", None)
    return n if isinstance(n, int) else NO_PEER


def check_target(path: str) -> None:
    """Refuse a target the rename at close would destroy or fail on: a directory, a device, a
    FIFO (``/dev/null`` would become a regular file), or a missing folder.

    Raises:
        OSError: the target cannot be a session file (the message says why).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "its folder does not exist", path) from None
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory (name the file to write)", path)
    if not stat.S_ISREG(st.st_mode):
        raise FileExistsError(errno.EEXIST, "exists and is not a regular file", path)


class StreamFile:
    """A session file written frame by frame (atomically: a temporary file renamed at close).

    Args:
        path: where the file goes (an existing file is replaced only at a successful close).
        header: the session's file header bytes.
        decompress: a zstd decompressor (to read kinds and spawns out of event frames).
    """

    def __init__(self, path: str | os.PathLike[str], header: bytes, decompress: Any) -> None:
        self.path = os.fspath(path)
        check_target(self.path)
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, self._tmp = tempfile.mkstemp(prefix=".cinema-", suffix=".part", dir=folder)
        self._file: IO[bytes] | None = os.fdopen(fd, "wb")
        self._decompress = decompress
        self._offset = 0
        self._index: list[tuple[int, int, int, int, int, int]] = []
        self._kinds: collections.Counter[int] = collections.Counter()
        self._processes: dict[int, list[Any]] = {}
        self.events = 0
        self._t_first: int | None = None
        self._t_last = 0
        self._lost = 0
        self._write(header)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._offset += len(data)

    def add(self, header: FrameHeader, frame: bytes) -> None:
        """Append one frame (its whole bytes; ``header`` is its parsed header, read again from
        the bytes when they were renumbered)."""
        if header.type == FrameType.FOOTER:
            return
        if _FIRST_SEQ.unpack_from(frame, 16)[0] != header.first_seq:
            header = unpack_frame_header(frame[: FRAME_HEADER.size], self._offset)
        self._index.append(
            (
                self._offset,
                header.type,
                header.first_seq,
                header.count,
                header.t_first,
                header.t_last,
            )
        )
        if header.type == FrameType.EVENTS and header.count:
            fr = decode_event_frame(header, frame[FRAME_HEADER.size :], self._decompress)
            self._kinds.update(fr.kind.tolist())
            for j in np.flatnonzero(fr.kind == EventKind.SPAWN).tolist():
                self._note_spawn(fr, j)
            for j in np.flatnonzero(fr.kind == EventKind.LOST).tolist():
                data = self._payload(fr, j)
                if isinstance(data, dict) and isinstance(data.get("count"), int):
                    self._lost += data["count"]
            if self._t_first is None:
                self._t_first = header.t_first
            self._t_last = header.t_last
            self.events = header.first_seq + header.count
        self._write(frame)

    @staticmethod
    def _payload(fr: Any, j: int) -> Any:
        try:
            return decode_payload(fr.payloads[int(fr.offsets[j]) : int(fr.offsets[j + 1])])
        except PayloadError:
            return None

    def _note_spawn(self, fr: Any, j: int) -> None:
        d = self._payload(fr, j)
        d = d if isinstance(d, dict) else {}
        pid = int(fr.pid[j])
        self._processes[pid] = [
            pid,
            str(d.get("name", f"<{pid}>")),
            str(d.get("behaviour", "process")),
            _pid(d.get("parent", int(fr.peer[j]))),
            _pid(d.get("supervisor")),
            str(d.get("node", "local")),
        ]

    def close(self) -> str:
        """Write the footer and trailer and put the file in place; returns its path."""
        if self._file is None:
            return self.path
        footer = footer_body(
            self.events, self._lost, self._t_first, self._t_last, self._kinds,
            self._processes, self._index,
        )  # fmt: skip
        offset = self._offset
        self._write(
            encode_map_frame(
                FrameType.FOOTER, footer, Compressor(1), self.events, self._t_last, structural=False
            )
        )
        self._write(TRAILER.pack(offset, TRAILER_MAGIC))
        self._file.close()
        self._file = None
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Give up: remove the temporary file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)
