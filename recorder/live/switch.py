"""A shorter GIL switch interval while live clients are attached.

The observed program's thread is CPU-bound and holds the GIL; the server's I/O thread and the
recorder's writer thread each need it back after every system call they make (a ``select``
that returns, a ``send``, the wake-up byte). CPython hands it over only when the waiting
thread has waited a whole switch interval (``sys.getswitchinterval()``, 5 ms by default) and
then asks the holder to drop it, so an event crossed 7-9 such waits between ``emit`` and the
client's socket: 65-270 ms at p99 with the live benchmark's storm, where the frames themselves
wait ~10 ms (the live flush interval). With the interval at
:data:`LIVE_SWITCH_INTERVAL` each wait is ten times shorter.

The interval is process-wide: it is lowered while at least one client is attached (to any
server of the process), never raised, and put back when the last client goes, unless the
program changed it meanwhile (then the program's value stays).
"""

from __future__ import annotations

import sys
import threading

__all__ = ["LIVE_SWITCH_INTERVAL", "hold", "release"]

#: Seconds: the GIL switch interval while a live client is attached.
LIVE_SWITCH_INTERVAL = 0.0005

_lock = threading.Lock()
_holders = 0
_saved: float | None = None  # the interval before we lowered it (None: we did not lower it)


def hold() -> None:
    """One more attached client: lower the interval if it is longer than ours."""
    global _holders, _saved
    with _lock:
        _holders += 1
        if _holders == 1:
            current = sys.getswitchinterval()
            if current > LIVE_SWITCH_INTERVAL:
                _saved = current
                sys.setswitchinterval(LIVE_SWITCH_INTERVAL)


def release() -> None:
    """One client fewer: after the last, restore the interval (if it is still ours)."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0 and _saved is not None:
            # sys.setswitchinterval rounds to microseconds: compare as the interpreter keeps it
            if abs(sys.getswitchinterval() - LIVE_SWITCH_INTERVAL) < 1e-6:
                sys.setswitchinterval(_saved)
            _saved = None
