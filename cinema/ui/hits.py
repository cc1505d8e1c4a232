"""Breakpoint hits that take long are computed by a worker, with progress and cancel.

A breakpoint whose condition reads only event columns gets its hits at once (numpy masks).
One that reads payloads may need seconds on a big session: :class:`HitsComputer` runs it as a
:class:`~cinema.views.hitjob.HitJob` (its own reader of the file, chunk by chunk), polls it
from a timer, and hands the result to the breakpoint set. While hits are pending, panels show
the progress instead of computing them in the window's thread, and playback and F5 wait
(they say so). Cancelling disables the breakpoint: its hits are not known.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from cinema.model.errors import ModelError
from cinema.views.hitjob import HitJob

if TYPE_CHECKING:  # the view state owns this object
    from cinema.ui.state import ViewState

__all__ = ["HitsComputer"]


class HitsComputer(QObject):
    """Computes the hits of a :class:`~cinema.ui.state.ViewState`'s slow breakpoints.

    Signals:
        sigProgress(str, float): breakpoint id, fraction done.
        sigDone(str): the hits of this breakpoint are known now (or it was cancelled).
    """

    sigProgress = Signal(str, float)
    sigDone = Signal(str)

    POLL_MS = 40

    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state
        self.jobs: dict[str, HitJob] = {}
        #: breakpoints whose hits leave out damaged frames: id -> what could not be read
        self.partial: dict[str, list[str]] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self.poll)

    # ---------------------------------------------------------------- queries

    def pending(self, bp_id: str) -> float | None:
        """How far the hits of ``bp_id`` are (0..1), or None when nothing is pending."""
        job = self.jobs.get(bp_id)
        return job.progress if job is not None else None

    def busy(self) -> bool:
        return bool(self.jobs)

    def describe(self) -> str:
        """ "computing the hits of bp3 (45%)", for messages."""
        if not self.jobs:
            return ""
        parts = [f"{bp} ({job.progress:.0%})" for bp, job in self.jobs.items()]
        return "computing the hits of " + ", ".join(parts)

    # ---------------------------------------------------------------- work

    def schedule(self) -> None:
        """Start a job for every enabled breakpoint whose hits are unknown and slow to find;
        drop jobs whose breakpoint changed or went away."""
        st = self.state
        path = getattr(st.session.reader, "path", None)
        bps = st.breakpoints
        for bp_id, job in list(self.jobs.items()):
            if bp_id not in bps or bps.get(bp_id).expression != job.expression:
                job.cancel()
                del self.jobs[bp_id]
        if path is None:  # a live session: hits grow with it, computed as they are asked for
            return
        for bp in bps:
            if not bp.enabled or bp.id in self.jobs or bp.compiled.columnar:
                continue
            if bps.cached_hits(st.session, bp.id) is not None:
                continue
            n = int(st.event_count)
            self.jobs[bp.id] = HitJob(path, bp.expression, n, bp.id).start()
        if self.jobs:
            self._timer.start()

    def cancel(self, bp_id: str | None = None) -> None:
        """Stop computing (one breakpoint, or all); each cancelled breakpoint is disabled."""
        bps = self.state.breakpoints
        for key in [bp_id] if bp_id is not None else list(self.jobs):
            job = self.jobs.pop(key, None)
            if job is None:
                continue
            job.cancel()
            if key in bps:
                bps.enable(key, False)
            self.state.sigMessage.emit(
                f"Breakpoint {key} disabled: its hits were not computed (cancelled)"
            )
            self.sigDone.emit(key)
        if not self.jobs:
            self._timer.stop()

    def poll(self) -> None:
        """Report progress; store finished results (the timer calls this)."""
        st = self.state
        bps = st.breakpoints
        for bp_id, job in list(self.jobs.items()):
            if not job.done:
                self.sigProgress.emit(bp_id, job.progress)
                continue
            del self.jobs[bp_id]
            missed = [st.report(exc).text() for exc in job.errors]
            if missed:
                self.partial[bp_id] = list(dict.fromkeys(missed))
            else:
                self.partial.pop(bp_id, None)
            if job.failure is not None:
                st.sigMessage.emit(f"The hits of {bp_id} could not be computed: {job.failure}")
            elif job.result is not None and bp_id in bps:
                with contextlib.suppress(ModelError):  # the breakpoint was removed meanwhile
                    bps.store_hits(st.session, bp_id, job.result, job.n, job.expression)
            self.sigDone.emit(bp_id)
        if not self.jobs:
            self._timer.stop()

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every job is done and stored (scripts and tests)."""
        for job in list(self.jobs.values()):
            job.join(timeout)
        self.poll()

    def close(self) -> None:
        for job in self.jobs.values():
            job.cancel()
        self.jobs.clear()
        self._timer.stop()
