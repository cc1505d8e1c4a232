"""A session file's bytes, read with ``pread``: a file that shrinks under its reader gives a
clean error, never a ``SIGBUS``.

A memory map of a file that another program truncates (``cp other.cinema open.cinema``, a
re-record by an older tool, ``truncate``) kills the process with ``SIGBUS`` on the next read of
a page past the new end, and Python cannot catch that. Reading with ``os.pread`` instead gets a
short read, which :class:`FileBytes` turns into a :class:`SessionFormatError` that says what
happened. Frames are read whole, as the map's slices were (slicing a map copies too), so the
price is one system call per frame read.
"""

from __future__ import annotations

import io
import os
import threading

from recorder.session.format import SessionFormatError

__all__ = ["FileBytes"]


class FileBytes:
    """The first ``size`` bytes of the open file ``fd``, sliced like ``bytes``.

    Only ``buf[a:b]`` slices (step 1) are supported; each one reads the file now.

    Args:
        fd: an open file descriptor; :meth:`close` closes it.
        size: the file's size when it was opened (what the index was built from).
    """

    __slots__ = ("_busy", "_closing", "_fd", "_file", "_lock", "size")

    def __init__(self, fd: int, size: int) -> None:
        # a file object owns the descriptor: a reader nobody closed gives it back when it is
        # collected (a bare descriptor would leak until the process ends)
        self._file: io.FileIO | None = io.FileIO(fd, "rb", closefd=True)
        self._fd: int | None = fd
        self.size = size
        # close() from one thread while another reads (a window closed while its worker still
        # reads the file): the descriptor is closed after the last read in flight, never under
        # it (its number could already name another file)
        self._lock = threading.Lock()
        self._busy = 0
        self._closing = False

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("FileBytes supports only contiguous slices")
        start, stop, _ = key.indices(self.size)
        want = stop - start
        if want <= 0:
            return b""
        with self._lock:
            fd = self._fd
            if fd is None or self._closing:
                raise ValueError("read from a closed session file")
            self._busy += 1
        try:
            return self._read(fd, start, want)
        finally:
            with self._lock:
                self._busy -= 1
                if self._closing and not self._busy:
                    self._close_now()

    def _read(self, fd: int, start: int, want: int) -> bytes:
        data = os.pread(fd, want, start)
        if len(data) == want:
            return data
        while 0 < len(data) < want:  # a short read that is not the end: go on
            more = os.pread(fd, want - len(data), start + len(data))
            if not more:
                break
            data += more
        if len(data) != want:
            now = os.fstat(fd).st_size
            raise SessionFormatError(
                f"the file shrank while it was open (from {self.size:,} to {now:,} bytes: "
                "another program truncated or rewrote it); reopen it",
                start,
            )
        return data

    @property
    def closed(self) -> bool:
        return self._closing or self._fd is None

    def close(self) -> None:
        """Close the file (after the reads in flight in other threads, if any)."""
        with self._lock:
            self._closing = True
            if not self._busy:
                self._close_now()

    def _close_now(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._fd = None
