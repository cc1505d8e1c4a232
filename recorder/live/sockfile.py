"""Unix socket paths that never cost the user a file.

A server told to listen on ``unix:PATH`` may only remove what is at ``PATH`` when it is a
socket nobody listens on any more (a server that died); a regular file, a directory, a device
or a live socket there is refused with a clear error. When the server closes it removes its
socket only if ``PATH`` still holds that very socket (same device and inode): a file that
replaced it meanwhile stays. The cleanup of dead servers' connection files follows the same
rule (:func:`remove_stale_socket`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat

__all__ = ["bind_unix", "remove_own_socket", "remove_stale_socket", "socket_alive"]


def socket_alive(path: str) -> bool:
    """Whether a server accepts connections on the Unix socket ``path``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(0.2)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def bind_unix(path: str) -> tuple[socket.socket, tuple[int, int]]:
    """A socket bound to ``path`` (mode 0600) and the ``(st_dev, st_ino)`` of its file.

    Raises:
        FileExistsError: something other than a dead server's socket is at ``path``.
        OSError: binding failed.
    """
    st = _lstat(path)
    if st is not None:
        if not stat.S_ISSOCK(st.st_mode):
            raise FileExistsError(
                errno.EEXIST,
                "exists and is not a socket: refusing to replace it (name a new path)",
                path,
            )
        if socket_alive(path):
            raise OSError(errno.EADDRINUSE, "another live server listens on this socket", path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a dead server's socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
    st = os.lstat(path)
    return sock, (st.st_dev, st.st_ino)


def remove_own_socket(path: str, ident: tuple[int, int] | None) -> None:
    """Remove ``path`` if it is still the socket ``ident`` names (nothing else)."""
    st = _lstat(path)
    if st is None or ident is None or not stat.S_ISSOCK(st.st_mode):
        return
    if (st.st_dev, st.st_ino) == ident:
        with contextlib.suppress(OSError):
            os.unlink(path)


def remove_stale_socket(path: str) -> None:
    """Remove ``path`` if it is a socket that nobody listens on (a dead server's)."""
    st = _lstat(path)
    if st is not None and stat.S_ISSOCK(st.st_mode) and not socket_alive(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
