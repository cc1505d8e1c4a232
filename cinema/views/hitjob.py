"""Breakpoint hits computed away from the window, in chunks, with progress and cancel
(Qt-free).

A condition that reads payloads (``msg_type == "withdraw"``, ``state.balance < 0``) decodes
every candidate event: on a session of 800,000 events that is seconds of work, and done in the
window's thread it froze the window. A :class:`HitJob` does the same work (the model's
:class:`~cinema.model.condition.Condition`, so the hits are the same) on its own reader of the
file, ``chunk`` events at a time: between chunks it reports how far it got and stops when
cancelled. A chunk that meets a damaged frame is done again frame by frame, so the readable
frames still give their hits and the damaged ones are reported (``errors``).

:meth:`HitJob.start` runs a big job (:data:`PROCESS_ABOVE` events or more) in a child
process: decoding holds Python's GIL for long stretches (a whole frame's payloads in one C
call), and in a thread of the window's process that froze the window for hundreds of
milliseconds at a time. The child reads the file itself and sends back the hits. A small job
runs in a thread (starting a process costs more than it saves there). Either way the caller
only polls (:attr:`done`, :attr:`progress`): no event loop, no locks. :meth:`run` computes in
the calling thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from cinema.model.condition import Condition
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.reader import SessionReader

__all__ = ["CHUNK", "PROCESS_ABOVE", "HitJob", "frames_between", "readable_hits"]

IntArray = npt.NDArray[np.int64]

#: Events per chunk: small enough to report progress and stop within ~0.1 s.
CHUNK = 16_384
#: Jobs over this many events run in a child process, smaller ones in a thread.
PROCESS_ABOVE = 100_000


class HitJob:
    """The hits of ``expression`` over events ``0 .. n-1`` of the session file at ``path``.

    Args:
        path: the session file (read with a reader of the job's own).
        expression: the breakpoint's expression.
        n: how many events (the window's session length when the job started).
        key: what the result is for (the caller's; the job only carries it).
        chunk: events per step.
    """

    def __init__(
        self, path: str, expression: str, n: int, key: object = None, *, chunk: int = CHUNK
    ) -> None:
        self.path, self.expression, self.n, self.key = path, expression, int(n), key
        self.chunk = max(int(chunk), 1)
        self._progress = 0.0  # 0 .. 1
        self._done = False
        self.cancelled = False
        self.result: IntArray | None = None
        self.errors: list[SessionFormatError] = []
        self.failure: str | None = None  # the job could not run at all (the file went away)
        self._cancel = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._shared = 0.0  # the child's progress, as it last said
        self._buffer = b""  # the child's output not read as lines yet
        self._out = ""  # where the child saves the hits
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- the parent's view

    @property
    def progress(self) -> float:
        self._collect()
        return self._shared if self._proc is not None and not self._done else self._progress

    @property
    def done(self) -> bool:
        self._collect()
        return self._done

    def start(self, *, process: bool | None = None) -> HitJob:
        """Compute in a child process or a thread (by default: a process from
        :data:`PROCESS_ABOVE` events on); returns at once."""
        if not (self.n >= PROCESS_ABOVE if process is None else process):
            self._thread = threading.Thread(target=self.run, name="cinema-hits", daemon=True)
            self._thread.start()
            return self
        # a fresh interpreter running this module: nothing of the window's process (Qt,
        # threads, its __main__) is copied or re-run, and starting it does not block
        fd, self._out = tempfile.mkstemp(prefix="cinema-hits-", suffix=".npy")
        os.close(fd)
        cmd = [sys.executable, "-m", __name__, self.path, str(self.n), str(self.chunk), self._out]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(self.expression.encode("utf-8"))
        self._proc.stdin.close()
        os.set_blocking(self._proc.stdout.fileno(), False)
        return self

    def cancel(self) -> None:
        """Stop: at the end of the current chunk in a thread; a child process is ended now
        (it only reads). :attr:`result` stays None."""
        self._cancel.set()
        if self._proc is not None and not self._done:
            self._proc.kill()
            self._proc.wait(5)
            self._finish(cancelled=True)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the child (or the thread) and take its answer."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self._proc is not None and not self._done:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout)
            self._collect()

    def _collect(self) -> None:
        """Read what the child said so far (non-blocking); take its answer at its end."""
        proc = self._proc
        if proc is None or self._done:
            return
        assert proc.stdout is not None
        with contextlib.suppress(BlockingIOError, OSError, ValueError):
            chunk = proc.stdout.read()
            if chunk:
                self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            tag, _, rest = line.decode("utf-8", "replace").partition(" ")
            if tag == "progress":
                with contextlib.suppress(ValueError):
                    self._shared = float(rest)
            elif tag == "done":
                answer = json.loads(rest)
                if answer.get("result"):
                    self.result = np.load(self._out).astype(np.int64)
                self.errors = [SessionFormatError(r, o, p) for r, o, p in answer["errors"]]
                self._finish(failure=answer.get("failure"))
                return
        if proc.poll() is not None and not self._done:
            err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
            last = err.strip().splitlines()[-1] if err.strip() else f"exit code {proc.returncode}"
            self._finish(failure=f"the worker stopped: {last}")

    def _finish(self, *, cancelled: bool = False, failure: str | None = None) -> None:
        self.cancelled = self.cancelled or cancelled
        self.failure = self.failure or failure
        self._progress = 1.0 if self.result is not None else self._progress
        self._done = True
        if self._proc is not None:
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()
            # the child may still be exiting: reaped by a thread, the caller does not wait
            threading.Thread(target=self._proc.wait, name="cinema-hits-reap", daemon=True).start()
        if self._out:
            with contextlib.suppress(OSError):
                os.unlink(self._out)

    # ---------------------------------------------------------------- the work

    def run(self, on_chunk: Callable[[float], None] | None = None) -> None:
        """Compute in the calling thread (what the child runs)."""
        try:
            with SessionReader(self.path) as reader:
                cond = Condition(self.expression)
                parts: list[IntArray] = []
                for a in range(0, self.n, self.chunk):
                    if self._cancel.is_set():
                        self.cancelled = True
                        return
                    b = min(a + self.chunk, self.n)
                    parts.append(self._chunk(cond, reader, a, b))
                    self._progress = b / self.n if self.n else 1.0
                    if on_chunk is not None:
                        on_chunk(self._progress)
                self.result = (
                    np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
                )
                self._progress = 1.0
        except (OSError, SessionFormatError) as exc:
            self.failure = str(exc)
        finally:
            self._done = True

    def _chunk(self, cond: Condition, reader: SessionReader, a: int, b: int) -> IntArray:
        return readable_hits(cond, reader, a, b, lambda exc, _seqs: self.errors.append(exc))


def readable_hits(
    cond: Condition,
    source: Any,
    a: int,
    b: int,
    on_error: Callable[[SessionFormatError, list[int] | None], None],
) -> IntArray:
    """The hits of ``cond`` in events ``a .. b-1`` of a file that may be damaged.

    A range that meets unreadable data is searched again frame by frame; a frame that itself
    cannot be read is told as ``on_error(exc, None)``; a readable frame some of whose events
    need unreadable data from another frame (a RECEIVE whose message was sent there) is
    searched event by event, and the events left out are told as ``on_error(exc, seqs)``.
    Every hit that can be computed is returned, and nothing is left out silently.
    """
    errors, evaluated = cond.errors, cond.evaluated
    try:
        return cond.hits(source, a, b)
    except SessionFormatError:
        cond.errors, cond.evaluated = errors, evaluated  # counted again below
    reader = getattr(source, "reader", source)
    out: list[IntArray] = []
    for lo, hi in frames_between(reader, a, b):
        errors, evaluated = cond.errors, cond.evaluated
        try:
            out.append(cond.hits(source, lo, hi))
            continue
        except SessionFormatError as exc:
            cond.errors, cond.evaluated = errors, evaluated
            if _same_frame(reader, lo, exc.offset):  # this very frame is unreadable
                on_error(exc, None)
                continue
            cause = exc
        missed: list[int] = []
        for seq in range(lo, hi):
            errors, evaluated = cond.errors, cond.evaluated
            try:
                out.append(cond.hits(source, seq, seq + 1))
            except SessionFormatError as exc:
                cond.errors, cond.evaluated = errors, evaluated
                cause = exc
                missed.append(seq)
        if missed:
            on_error(cause, missed)
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def _same_frame(reader: SessionReader, seq: int, offset: int | None) -> bool:
    """Whether file ``offset`` lies in the EVENTS frame that holds event ``seq``."""
    if offset is None:
        return True  # nothing says it is elsewhere
    t = reader.frame_table()
    ev = t["type"] == FrameType.EVENTS
    firsts, offsets = t["first_seq"][ev], t["offset"][ev]
    k = int(np.searchsorted(firsts, seq, side="right")) - 1
    return k == int(np.searchsorted(offsets, offset, side="right")) - 1


def _child_main(argv: list[str]) -> int:
    """``python -m cinema.views.hitjob PATH N CHUNK OUT`` (the expression on stdin): compute,
    print ``progress F`` lines, save the hits to OUT, then print ``done {json}``."""
    path, n, chunk, out = argv[0], int(argv[1]), int(argv[2]), argv[3]
    job = HitJob(path, sys.stdin.read(), n, chunk=chunk)

    def report(fraction: float) -> None:
        print(f"progress {fraction:.4f}", flush=True)

    job.run(report)
    if job.result is not None:
        np.save(out, job.result)
    errors = [(e.reason, e.offset, e.path) for e in job.errors]
    answer = {"result": job.result is not None, "failure": job.failure, "errors": errors}
    print(f"done {json.dumps(answer)}", flush=True)
    return 0


def frames_between(reader: SessionReader, a: int, b: int) -> list[tuple[int, int]]:
    """The event ranges of the frames that overlap ``[a, b)``, clipped to it."""
    t = reader.frame_table()
    ev = t["type"] == FrameType.EVENTS
    firsts, counts = t["first_seq"][ev], t["count"][ev]
    out = []
    for f, c in zip(firsts.tolist(), counts.tolist(), strict=True):
        lo, hi = max(f, a), min(f + c, b)
        if lo < hi:
            out.append((lo, hi))
    return out


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
