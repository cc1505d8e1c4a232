"""Paths a command will write, checked before any work starts (Qt-free, import-light).

Writing to a FIFO blocks until something reads it, and to a device writes where nobody meant;
a missing folder or a symlink loop is better said before a recording than after it.
"""

from __future__ import annotations

import os
import stat

from cinema.errors import UserError

__all__ = ["check_output"]


def check_output(path: str, what: str = "file") -> None:
    """Refuse an output ``path`` that is not a regular file (or does not exist yet) in an
    existing folder.

    Raises:
        UserError: a FIFO, a device, a socket or a directory is in the way.
        OSError: the path cannot be looked at (a symlink loop, a name too long...).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return  # a new file (a missing folder is reported where it is created)
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        if stat.S_ISFIFO(st.st_mode):
            kind = "a FIFO (named pipe)"
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            kind = "a device"
        elif stat.S_ISSOCK(st.st_mode):
            kind = "a socket"
        raise UserError(f"{path}: is {kind}; give a path for the {what} to write")
