"""Server-side files: a client's ``record_start`` writes the stream to a file of its own,
from the next keyframe on, renumbered to start at 0 (``docs/live.md``)."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from recorder.live._logs import log
from recorder.session.format import FrameType, SessionFormatError

if TYPE_CHECKING:
    from recorder.live.savefile import StreamFile

__all__ = ["Recordings"]


class Recordings:
    """The files being written and the ones waiting for a keyframe to start at.

    Args:
        lock: the server's lock, which guards the two lists against the other threads.
        decompress: the server's zstd decompressor (``None`` without ``zstandard``).
    """

    def __init__(self, lock: threading.Lock, decompress: Any) -> None:
        self._lock = lock
        self._decompress = decompress
        self.files: list[tuple[StreamFile, int]] = []  # (file, seq delta) being written
        # held while a frame is added to the files or they are closed (the recorder's thread
        # adds, a client's record_stop closes: a footer must never land inside a frame)
        self._files_lock = threading.Lock()
        self.wanted: list[tuple[str, Any]] = []  # (path, reply) awaiting a keyframe

    def start(self, path: str, reply: Any) -> None:
        """Record to ``path`` from the next keyframe on (``reply(error or None)`` once begun)."""
        with self._lock:
            self.wanted.append((path, reply))

    def stop(self) -> list[str]:
        with self._files_lock:
            with self._lock:
                files, self.files = self.files, []
            return [f.close() for f, _delta in files]

    def write(self, h: Any, raw: bytes, header: bytes | None) -> None:
        """Add a frame (``h``, its bytes ``raw``) to the files; ``header``: the stream's."""
        if not self.files and not self.wanted:
            return
        with self._files_lock:
            self._write_locked(h, raw, header)

    def _write_locked(self, h: Any, raw: bytes, header: bytes | None) -> None:
        from recorder.live.restream import renumber
        from recorder.live.savefile import StreamFile

        if self.wanted and h.type == FrameType.KEYFRAME and header is not None:
            with self._lock:
                wanted, self.wanted = self.wanted, []
            for path, reply in wanted:
                try:
                    self.files.append((StreamFile(path, header, self._decompress), h.first_seq))
                    reply(None)
                except OSError as exc:
                    reply(f"cannot write {path}: {exc.strerror or exc}")
        for f, delta in list(self.files):
            try:
                f.add(h, renumber(raw, h, h.first_seq - delta, self._decompress) if delta else raw)
            except (OSError, SessionFormatError) as exc:
                log.error("recording to %s failed: %s", f.path, exc)
                f.abort()
                self.files.remove((f, delta))

    def close(self) -> None:
        """Close every file (the server closes)."""
        with self._files_lock:
            for f, _delta in self.files:
                with contextlib.suppress(OSError):
                    f.close()
            self.files = []
