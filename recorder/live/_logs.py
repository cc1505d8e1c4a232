"""The live server's logger: warnings in a bounded way, and on stderr when run from a shell."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

__all__ = ["LogBudget", "log", "log_to_stderr"]

log = logging.getLogger("recorder.live")
log.addHandler(logging.NullHandler())


class LogBudget:
    """At most ``burst`` warnings per ``window`` seconds, then one line saying how many were
    left out: a flood of bad connections must not flood the program's stderr."""

    def __init__(self, burst: int = 20, window: float = 10.0) -> None:
        self.burst, self.window = burst, window
        self._start = -window
        self._count = self._skipped = 0

    def log(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._start >= self.window:
            if self._skipped:
                log.warning("... and %d more refused in %g s", self._skipped, self.window)
            self._start, self._count, self._skipped = now, 0, 0
        if self._count < self.burst:
            self._count += 1
            log.warning(msg, *args)
        else:
            self._skipped += 1


def log_to_stderr() -> None:
    """Refusals and drops on stderr, for a server started from the command line."""
    if not any(getattr(h, "_cinema_live", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("cinema live: %(message)s"))
        handler.setLevel(logging.WARNING)
        handler._cinema_live = True  # type: ignore[attr-defined]
        log.addHandler(handler)
