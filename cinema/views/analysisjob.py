"""Every detector over a session, away from the window, with progress and cancel (Qt-free).

Analysing a big session takes seconds (7 s on 10 M events): in the window's thread that froze
the window. An :class:`AnalysisJob` runs the same :func:`~cinema.model.analysis.
analyze` (so the findings are the same) in a thread, on its own
:class:`~cinema.model.session.Session` of the file: the window's session, its reader caches
and its index are never touched from two threads. Most of the work is numpy over whole
columns and zstd, which release the GIL, so the window's event loop keeps running. The caller
only polls (:attr:`done`, :attr:`progress`, :attr:`findings`): no event loop, no locks.
Cancelling stops the analysis at its next step (the columns, the flow, each detector).
"""

from __future__ import annotations

import threading
from typing import Any

from cinema.model.analysis import Context, Finding, analyze
from cinema.model.session import Session
from recorder.session.format import SessionFormatError

__all__ = ["AnalysisJob"]


class _Cancelled(Exception):
    """Raised from the progress callback to stop :func:`analyze` between two steps."""


class AnalysisJob:
    """The findings of the session file at ``path``.

    Args:
        path: the session file (opened by the job itself).
        n: the events the caller's session had when the job started (what the result is for).

    Attributes:
        progress: 0 .. 1, how far the analysis got.
        done: finished, failed or cancelled.
        findings: the findings, once done (empty if it failed or was cancelled).
        unreadable: what a damaged file could not give (:attr:`Context.unreadable`).
        error: the file could not be analysed at all (not a session any more, ...).
        cancelled: :meth:`cancel` stopped it.
    """

    def __init__(self, path: str, n: int) -> None:
        self.path, self.n = path, n
        self.progress = 0.0
        self.done = False
        self.cancelled = False
        self.findings: list[Finding] = []
        self.unreadable: list[tuple[SessionFormatError, int | None]] = []
        self.error: SessionFormatError | OSError | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AnalysisJob:
        """Run in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.run, name="cinema-analyze", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Analyse now, in the calling thread."""
        try:
            with Session.open(self.path) as s:
                cx = Context(s)
                try:
                    self.findings = analyze(s, context=cx, progress=self._step)
                finally:
                    self.unreadable = list(cx.unreadable)
            self.progress = 1.0
        except _Cancelled:
            self.cancelled = True
            self.findings = []
        except (SessionFormatError, OSError) as exc:
            self.error = exc
            self.findings = []
        finally:
            self.done = True

    def _step(self, fraction: float) -> None:
        if self._cancel.is_set():
            raise _Cancelled
        self.progress = fraction

    def cancel(self) -> None:
        """Stop at the next step (the result is then empty and :attr:`cancelled` set)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread (tests, closing); whether it is done."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    def __repr__(self) -> str:
        state: Any = "done" if self.done else f"{self.progress:.0%}"
        return f"AnalysisJob({self.path!r}, {state})"
