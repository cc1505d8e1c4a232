"""Call tracing: record each call of chosen functions made inside a sandbox process.

``Runtime(trace_calls=["bank:Account.handle_call", "prog:price"])`` (or ``cinema record
--trace-calls MOD:QUALNAME``) replaces each named function, where it is found (a module's
attribute, or a class's), by a wrapper that records:

- a CALL event when a process calls it: ``pid`` the process, ``ref`` the call's id, data
  ``{"function": "mod:qualname", "args": (...), "kwargs": {...}}`` (a method's ``self`` is left
  out; values are captured as every payload is, bounded and never failing);
- a RETURN event when the call ends: the same ``pid`` and ``ref``, data ``{"function", "result"}``
  or ``{"function", "error": "Type: message"}``, ``"duration_ns"`` on the runtime clock
  (virtual in deterministic mode: it counts the steps the call spanned, so it is the same in
  every run) and ``"wall_ns"``, the wall time it took (what a profiler wants; left out when
  ``cinema verify`` compares runs).

An ``async def`` function is wrapped by an ``async def``, so its duration covers its awaits (the
time the process waited inside it). Calls made outside any process (setup code) are not
recorded. Tracing is bounded: after ``max_calls`` calls of all traced functions, or once the
runtime clock passes ``duration_ms``, the wrappers only call through, and a MARKER says why
tracing stopped. :meth:`CallTracer.close` (the runtime's ``close``) puts the original
functions back.

A module named as the main script's file (``prog`` for ``python prog.py``) is the running
``__main__``, not a second import of it. References taken before tracing started (``from mod
import fn`` in another module) keep calling the original.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_PID, EventKind

if TYPE_CHECKING:
    from recorder.sandbox.recording import Recording
    from recorder.sandbox.scheduler import Scheduler

__all__ = [
    "DEFAULT_MAX_CALLS",
    "ENV_TRACE_CALLS",
    "ENV_TRACE_FOR_MS",
    "ENV_TRACE_MAX_CALLS",
    "CallTraceError",
    "CallTracer",
    "env_tracing",
    "parse_targets",
    "resolve_target",
]

log = logging.getLogger("recorder.sandbox")

_CALL = int(EventKind.CALL)
_RETURN = int(EventKind.RETURN)
_MARKER = int(EventKind.MARKER)
_perf_ns = time.perf_counter_ns
#: Default bound on traced calls (all functions together).
DEFAULT_MAX_CALLS = 100_000
#: ``cinema record --trace-calls``: comma-separated targets for runtimes created without any.
ENV_TRACE_CALLS = "CINEMA_TRACE_CALLS"
ENV_TRACE_MAX_CALLS = "CINEMA_TRACE_MAX_CALLS"
ENV_TRACE_FOR_MS = "CINEMA_TRACE_FOR_MS"


class CallTraceError(ValueError):
    """A ``trace_calls`` entry names nothing that can be traced (the message says why)."""


def parse_targets(text: str) -> list[str]:
    """Split a comma-separated list of ``module:qualname`` (what ``CINEMA_TRACE_CALLS`` holds)."""
    return [t.strip() for t in text.split(",") if t.strip()]


def env_tracing() -> tuple[list[str], int, float | None] | None:
    """``(targets, max_calls, duration_ms)`` from the environment (``cinema record
    --trace-calls``), or ``None``; malformed bounds fall back to the defaults (logged)."""
    targets = parse_targets(os.environ.get(ENV_TRACE_CALLS, ""))
    if not targets:
        return None
    max_calls, duration_ms = DEFAULT_MAX_CALLS, None
    try:
        if os.environ.get(ENV_TRACE_MAX_CALLS, "").strip():
            max_calls = int(os.environ[ENV_TRACE_MAX_CALLS])
        if os.environ.get(ENV_TRACE_FOR_MS, "").strip():
            duration_ms = float(os.environ[ENV_TRACE_FOR_MS])
    except ValueError:
        log.error(
            "call tracing: bad %s / %s; using the defaults", ENV_TRACE_MAX_CALLS, ENV_TRACE_FOR_MS
        )
    return targets, max_calls, duration_ms


def _module(name: str) -> Any:
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if isinstance(main_file, str) and os.path.splitext(os.path.basename(main_file))[0] == name:
        return main  # `python prog.py` runs prog as __main__: trace that one, not a copy
    if name == "__main__":
        return main
    try:
        return importlib.import_module(name)
    except Exception as exc:  # ImportError, or the module failed while importing
        raise CallTraceError(f"cannot import {name} ({exc})") from None


def resolve_target(spec: str) -> tuple[Any, str, Any, bool]:
    """Find what ``spec`` (``module:qualname``) names.

    Returns:
        ``(owner, attribute, function, is_method)``: setting ``owner.attribute`` replaces it.

    Raises:
        CallTraceError: a malformed spec, a module that does not import, a missing attribute, or
            something that is not a Python function.
    """
    module_name, sep, qualname = spec.partition(":")
    if not sep or not module_name or not qualname:
        raise CallTraceError(
            f"cannot trace {spec!r}: write module:qualname, e.g. bank:Account.deposit"
        )
    try:
        owner: Any = _module(module_name)
    except CallTraceError as exc:
        raise CallTraceError(f"cannot trace {spec}: {exc}") from None
    parts = qualname.split(".")
    for part in parts[:-1]:
        try:
            owner = getattr(owner, part)
        except AttributeError:
            raise CallTraceError(f"cannot trace {spec}: {module_name} has no {part}") from None
    attribute = parts[-1]
    found = inspect.getattr_static(owner, attribute, None)
    if found is None:
        where = ".".join(parts[:-1]) or module_name
        raise CallTraceError(f"cannot trace {spec}: no {attribute} in {where}")
    is_method = inspect.isclass(owner)
    function = found
    if isinstance(found, (staticmethod, classmethod)):
        raise CallTraceError(f"cannot trace {spec}: static and class methods are not supported")
    if not inspect.isfunction(function):
        raise CallTraceError(
            f"cannot trace {spec}: it is a {type(function).__name__}, not a Python function"
        )
    return owner, attribute, function, is_method


class CallTracer:
    """The wrappers of one runtime's traced functions, and their bound.

    Args:
        targets: ``module:qualname`` of each function.
        recording: where CALL / RETURN events go.
        scheduler: tells which process is running, and the clock.
        max_calls: calls recorded at most (all functions together).
        duration_ms: stop recording once the runtime clock passes this many ms (``None``: no
            time bound).
        strict: raise for a target that cannot be traced; otherwise log it and trace the
            others (targets from the environment must not stop the program).

    Raises:
        CallTraceError: ``strict`` and a target cannot be traced (nothing is patched then).
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        recording: Recording,
        scheduler: Scheduler,
        max_calls: int = DEFAULT_MAX_CALLS,
        duration_ms: float | None = None,
        strict: bool = True,
    ) -> None:
        self._recording = recording
        self._scheduler = scheduler
        self.max_calls = max(0, int(max_calls))
        self._until_ns = None if duration_ms is None else int(duration_ms * 1e6)
        #: Calls recorded so far.
        self.calls = 0
        #: Why tracing stopped (``"max_calls"``, ``"duration"``), or ``None`` while it runs.
        self.stopped: str | None = None
        self._next_ref = 0
        resolved = []
        for spec in targets:
            try:
                resolved.append((spec, *resolve_target(spec)))
            except CallTraceError as exc:
                if strict:
                    raise
                log.error("%s; the program runs without tracing it", exc)
                # the library logger has only a NullHandler: say it where the user looks
                print(f"cinema: {exc}; the program runs without tracing it", file=sys.stderr)
        self._patched: list[tuple[Any, str, Any]] = []
        #: The traced functions (``module:qualname``).
        self.targets = [spec for spec, *_ in resolved]
        for spec, owner, attribute, function, is_method in resolved:
            self._patched.append((owner, attribute, owner.__dict__[attribute]))
            setattr(owner, attribute, self._wrap(spec, function, is_method))

    def close(self) -> None:
        """Put the original functions back (in reverse order, so nested tracers unwind)."""
        for owner, attribute, original in reversed(self._patched):
            try:
                setattr(owner, attribute, original)
            except Exception:  # a frozen owner: log it, the program goes on
                log.exception("could not restore %s.%s after call tracing", owner, attribute)
        self._patched.clear()

    # ------------------------------------------------------------------ recording

    def _begin(
        self, spec: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[int, int, int, int] | None:
        """Record a CALL if this call is traced; returns what :meth:`_end` needs, or ``None``."""
        rec = self._recording
        if self.stopped is not None or not rec.active:
            return None
        proc = self._scheduler.current
        if proc is None:
            return None
        now = self._scheduler.clock()
        if self.calls >= self.max_calls:
            self._stop("max_calls", proc._n)
            return None
        if self._until_ns is not None and now > self._until_ns:
            self._stop("duration", proc._n)
            return None
        self.calls += 1
        self._next_ref += 1
        ref = self._next_ref
        data: dict[str, Any] = {"function": spec, "args": args}
        if kwargs:
            data["kwargs"] = kwargs
        rec.record(_CALL, proc._n, NO_PEER, ref, data)
        return proc._n, ref, now, _perf_ns()

    def _end(self, spec: str, token: tuple[int, int, int, int], outcome: dict[str, Any]) -> None:
        pid, ref, t0, w0 = token
        wall = _perf_ns() - w0
        rec = self._recording
        if rec.active:
            outcome["duration_ns"] = self._scheduler.clock() - t0
            outcome["wall_ns"] = wall
            rec.record(_RETURN, pid, NO_PEER, ref, {"function": spec, **outcome})

    def _stop(self, why: str, pid: int) -> None:
        self.stopped = why
        what = f"{self.max_calls:,} calls" if why == "max_calls" else "its time bound"
        self._recording.record(
            _MARKER,
            pid if pid is not None else NO_PID,
            NO_PEER,
            0,
            {"label": "call tracing stopped", "reason": why, "after": what, "calls": self.calls},
        )

    # ------------------------------------------------------------------ wrappers

    def _wrap(self, spec: str, function: Callable[..., Any], is_method: bool) -> Callable[..., Any]:
        begin, end = self._begin, self._end
        skip = 1 if is_method else 0

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                token = begin(spec, args[skip:], kwargs)
                if token is None:
                    return await function(*args, **kwargs)
                try:
                    result = await function(*args, **kwargs)
                except BaseException as exc:
                    end(spec, token, {"error": _error_text(exc)})
                    raise
                end(spec, token, {"result": result})
                return result

            return traced_async

        @functools.wraps(function)
        def traced(*args: Any, **kwargs: Any) -> Any:
            token = begin(spec, args[skip:], kwargs)
            if token is None:
                return function(*args, **kwargs)
            try:
                result = function(*args, **kwargs)
            except BaseException as exc:
                end(spec, token, {"error": _error_text(exc)})
                raise
            end(spec, token, {"result": result})
            return result

        return traced


def _error_text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a hostile __str__: the type still says what happened
        text = "<unprintable>"
    return f"{type(exc).__name__}: {text}"[:500]
