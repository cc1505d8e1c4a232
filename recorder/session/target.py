"""Where a recording's bytes go on disk, without ever destroying a file that is there.

A recording to ``X`` is written to a fresh file beside it (``.X.<random>.recording``, in the
same directory) and renamed over ``X`` when its first events are on disk, or at close
(:meth:`SessionFile.commit`). So:

- a program that never records, or fails before its first events are written, leaves an
  existing ``X`` as it was;
- a reader that has the old ``X`` open keeps reading the old bytes: the rename
  gives the new recording a new inode instead of truncating the old one under the reader;
- a recording killed after its first events is already ``X`` (readable up to its last
  complete frame); one killed before that leaves only the small hidden temporary file.

Bytes go straight to the OS (unbuffered writes of whole frames), so a killed process loses only
what the writer had not yet written. A target that exists and is not a regular file (a FIFO,
``/dev/null``, ``/dev/full``) is written in place. On a write error the file is cut back to its
last complete frame (:meth:`SessionFile.truncate_to_good`), so it stays readable.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import secrets
import stat

__all__ = ["SessionFile"]

_IOV_MAX = 1024  # Linux's limit on buffers per writev


class SessionFile:
    """An unbuffered, rename-into-place session file (see the module docstring).

    Args:
        path: the session file to (re)place.

    Raises:
        OSError: the file (or its temporary sibling) cannot be created.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.size = 0
        """Bytes written so far."""
        self.good = 0
        """Bytes that end on a frame boundary (set by :meth:`mark_good`)."""
        self.committed = False
        self.frames_written = 0
        """Frames completely written by the last :meth:`write_frames`."""
        self.temp_path: str | None = None
        real = os.path.realpath(path)  # a symlink keeps pointing at the recording
        try:
            st = os.stat(real)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            # A device or FIFO: nothing to protect, and nowhere to rename to.
            self._fd = os.open(real, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
            self.committed = True
            self._target = real
            return
        self._target = real
        folder, name = os.path.split(real)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for _ in range(100):
            temp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.recording")
            try:
                self._fd = os.open(temp, flags, 0o666)  # the usual umask applies
            except FileExistsError:
                continue
            self.temp_path = temp
            break
        else:  # pragma: no cover - a hundred random names taken
            raise FileExistsError(errno.EEXIST, "no free temporary name", real)

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def write(self, data: bytes | memoryview) -> None:
        """Write all of ``data`` (looping over short writes).

        Raises:
            OSError: ``ENOSPC``, ``EIO``, ... (the caller stops recording).
        """
        view = memoryview(data)
        fd = self._fd
        while view:
            n = os.write(fd, view)
            if n <= 0:  # pragma: no cover - a regular file never returns 0 for a nonempty write
                raise OSError(errno.EIO, "write returned 0", self.path)
            self.size += n
            view = view[n:]

    def write_frames(self, frames: list[bytes]) -> int:
        """Write whole frames in as few system calls as the OS allows (``writev``), marking
        every frame boundary reached as good. Returns the number of frames written.

        Raises:
            OSError: after a short write; :attr:`good` then ends at the last complete frame
                (see :attr:`frames_written` for how many made it).
        """
        self.frames_written = 0
        ends = list(itertools.accumulate(map(len, frames), initial=self.size))[1:]
        pending = [memoryview(f) for f in frames if f]
        fd = self._fd
        writev = getattr(os, "writev", None)
        while pending:
            # writev: one system call (one release of the GIL) for the whole round
            n = writev(fd, pending[:_IOV_MAX]) if writev is not None else os.write(fd, pending[0])
            if n <= 0:  # pragma: no cover - a regular file never returns 0 for a nonempty write
                raise OSError(errno.EIO, "write returned 0", self.path)
            self.size += n
            while pending and n >= len(pending[0]):
                n -= len(pending.pop(0))
            if n:
                pending[0] = pending[0][n:]
            while self.frames_written < len(ends) and ends[self.frames_written] <= self.size:
                self.frames_written += 1
                self.good = ends[self.frames_written - 1]
        return len(frames)

    def mark_good(self) -> None:
        """Everything written so far ends on a frame boundary."""
        self.good = self.size

    def commit(self) -> None:
        """Rename the temporary file over the target (once; later calls do nothing)."""
        if self.committed or self.temp_path is None:
            self.committed = True
            return
        os.replace(self.temp_path, self._target)
        self.committed = True
        self.temp_path = None

    def sync(self) -> None:
        """``fsync``: survive power loss too, not only the process being killed."""
        os.fsync(self._fd)

    def truncate_to_good(self) -> None:
        """Cut a partly written frame off the end (after a failed write); never raises."""
        if self._fd < 0 or self.size == self.good:
            return
        try:
            os.ftruncate(self._fd, self.good)
            os.lseek(self._fd, self.good, os.SEEK_SET)
            self.size = self.good
        except OSError:  # a device, or the file system is gone: the reader's scan copes
            pass

    def discard(self) -> None:
        """Close and delete an uncommitted temporary file (the target stays as it was)."""
        self.close_fd()
        if self.temp_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temp_path)
            self.temp_path = None

    def close_fd(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)
