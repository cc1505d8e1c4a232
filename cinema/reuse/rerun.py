"""Run a deterministic sandbox recording again, from what its header says (``rerun``).

A recording's header names its program (a built-in scenario, or a Python program with its
arguments and working directory), its seed and the runtime options that change events (see
:mod:`recorder.sandbox.provenance`). :func:`rerun` runs it again and records the new run to a
file of its own; a program runs in a child process with ``CINEMA_RERUN`` set, so that it records
there instead of over its own files.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cinema.errors import UserError
from recorder.sandbox.calltrace import (
    DEFAULT_MAX_CALLS,
    ENV_TRACE_CALLS,
    ENV_TRACE_FOR_MS,
    ENV_TRACE_MAX_CALLS,
)
from recorder.sandbox.provenance import ENV_RERUN, rerun_path, source_digest

__all__ = ["RerunError", "RerunPlan", "plan_rerun", "rerun"]

#: How long a re-run program may take by default (seconds).
DEFAULT_TIMEOUT = 300.0
_STDERR_TAIL = 2000


class RerunError(UserError):
    """The recording cannot be re-run, or the re-run failed (the message says why)."""


@dataclass(frozen=True)
class RerunPlan:
    """What re-running a recording means, read from its header.

    Attributes:
        kind: ``"scenario"`` or ``"program"``.
        how: for a program: ``"cinema record"`` (it recorded through ``CINEMA_RECORD``) or
            ``"program"`` (it named its file).
        seed: the seed of the recorded runtime.
        description: a short text for people: ``the bank demo (seed 5, scale 1)``.
        scenario: the built-in scenario (``kind == "scenario"``).
        scale: the scenario's scale.
        python_argv: the interpreter's arguments, interpreter left out (``kind == "program"``).
        cwd: the working directory the program ran in.
        runtime_index: which of the program's ``cinema record`` runtimes made the file (1, 2,
            ...).
        seed_env: the ``CINEMA_RECORD_SEED`` the program ran with, if any.
        options: runtime options that change events (``profile_interval_ms``, ...).
        script: the program's (or scenario module's) source file, if known.
        source_sha256: the hash of that source when it was recorded.
    """

    kind: str
    seed: int
    description: str
    how: str = ""
    scenario: str | None = None
    scale: int = 1
    python_argv: tuple[str, ...] = ()
    cwd: str | None = None
    runtime_index: int = 1
    seed_env: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    script: str | None = None
    source_sha256: str | None = None

    def source_changed(self) -> bool | None:
        """Whether the source differs from the recorded hash (``None``: cannot tell)."""
        if not self.source_sha256 or not self.script:
            return None
        now = source_digest(self.script)
        return None if now is None else now != self.source_sha256


def plan_rerun(meta: Mapping[str, Any], name: str = "the recording") -> RerunPlan:
    """Read how to re-run a recording from its header metadata.

    Raises:
        RerunError: the recording is not a deterministic sandbox run, or its header does not
            say how it was made.
    """
    if meta.get("runtime") != "recorder.sandbox":
        raise RerunError(
            f"{name} was not recorded by the sandbox runtime (recorder.sandbox), so there is no "
            "program to re-run"
        )
    if meta.get("deterministic") is not True:
        raise RerunError(
            f"{name} was recorded by a real-time runtime (deterministic=False): its run order and "
            "clock came from the machine, so a re-run cannot be compared event by event. Record "
            "it with Runtime(deterministic=True, seed=N) to make it verifiable"
        )
    rerun_map = meta.get("rerun")
    seed = meta.get("seed")
    if not isinstance(rerun_map, Mapping) or not isinstance(seed, int):
        raise RerunError(
            f"{name} does not say how to re-run it (its header has no 'rerun' entry: it was "
            "recorded by an older Cinema); record it again with `cinema record` or `cinema demo`"
        )
    options = rerun_map.get("options")
    opts = tuple(sorted(options.items())) if isinstance(options, Mapping) else ()
    script = _text(rerun_map.get("script"))
    digest = _text(rerun_map.get("source_sha256"))
    kind = rerun_map.get("kind")
    if kind == "scenario":
        scenario = _text(rerun_map.get("scenario"))
        args = rerun_map.get("args")
        scale = args.get("scale", 1) if isinstance(args, Mapping) else 1
        if scenario is None or not isinstance(scale, int):
            raise RerunError(f"{name}: its header names no scenario to re-run")
        return RerunPlan(
            "scenario", seed, f"the {scenario} demo (seed {seed}, scale {scale})",
            scenario=scenario, scale=scale, options=opts, script=script, source_sha256=digest,
        )  # fmt: skip
    if kind == "program":
        argv = rerun_map.get("python_argv")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise RerunError(f"{name}: its header does not say how the program was started")
        index = rerun_map.get("runtime_index")
        return RerunPlan(
            "program", seed, f"python {' '.join(argv)} (seed {seed})",
            how="cinema record" if rerun_map.get("how") == "cinema record" else "program",
            python_argv=tuple(argv), cwd=_text(rerun_map.get("cwd")),
            runtime_index=index if isinstance(index, int) and index >= 1 else 1,
            seed_env=_text(rerun_map.get("seed_env")), options=opts, script=script,
            source_sha256=digest,
        )  # fmt: skip
    raise RerunError(f"{name}: unknown kind of re-run {kind!r} in its header")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def rerun(plan: RerunPlan, folder: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Run the recording again, recording into ``folder`` (an empty folder).

    Returns:
        the new recordings that may be the recorded runtime's twin: one for a scenario and for
        a program recorded by ``cinema record`` (its runtime is known by its number); for a
        program that named its own file, each file its runtimes recorded, in order.

    Raises:
        RerunError: the program is gone, failed before it recorded, or timed out.
    """
    if plan.kind == "scenario":
        output = os.path.join(folder, "scenario.cinema")
        _rerun_scenario(plan, output)
        return [output]
    return _rerun_program(plan, folder, timeout)


def _rerun_scenario(plan: RerunPlan, output: str) -> None:
    from recorder.sandbox import Runtime
    from recorder.sandbox.scenarios import SCENARIOS

    assert plan.scenario is not None
    run = SCENARIOS.get(plan.scenario)
    if run is None:
        raise RerunError(
            f"the recording ran the {plan.scenario!r} scenario, which this Cinema does not have "
            f"(scenarios: {', '.join(SCENARIOS)})"
        )
    options = dict(plan.options)
    with (
        _without_env("CINEMA_RECORD_SEED", "CINEMA_LISTEN", "CINEMA_RECORD", ENV_TRACE_CALLS),
        Runtime(
            deterministic=True,
            seed=plan.seed,
            record=output,
            profile_interval_ms=options.get("profile_interval_ms", 100.0),
            step_cost_ns=int(options.get("step_cost_ns", 1000)),
            **_tracing(options),
            metadata={"scenario": plan.scenario, "scale": plan.scale, "rerun_of": plan.description},
            recorder_options={"flush_interval": None},
        ) as runtime,
    ):
        run(runtime, scale=plan.scale)


def _tracing(options: Mapping[str, Any]) -> dict[str, Any]:
    """The call tracing a recording had (its calls are events too), as Runtime arguments."""
    targets = options.get("trace_calls")
    if not isinstance(targets, list) or not targets:
        return {}
    bound = options.get("trace_max_calls")
    until = options.get("trace_for_ms")
    return {
        "trace_calls": [str(t) for t in targets],
        "trace_max_calls": bound if isinstance(bound, int) else DEFAULT_MAX_CALLS,
        "trace_for_ms": until if isinstance(until, (int, float)) else None,
    }


@contextlib.contextmanager
def _without_env(*names: str) -> Iterator[None]:
    """The scenario runs in this process: the variables that would change its runtime (the
    seed of ``cinema record --seed``, a live server) are set aside meanwhile."""
    saved = {k: os.environ.pop(k) for k in names if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _rerun_program(plan: RerunPlan, folder: str, timeout: float) -> list[str]:
    cwd = plan.cwd
    if cwd is not None and not os.path.isdir(cwd):
        raise RerunError(f"cannot re-run the program: its working directory {cwd} is gone")
    if plan.script is not None and not os.path.exists(plan.script):
        raise RerunError(f"cannot re-run the program: {plan.script} is gone")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINEMA_")}
    env[ENV_RERUN] = folder
    via_env = plan.how == "cinema record"
    base = os.path.join(folder, "run.cinema")
    if via_env:
        env["CINEMA_RECORD"] = base
    if plan.seed_env is not None:
        env["CINEMA_RECORD_SEED"] = plan.seed_env
    options = dict(plan.options)
    tracing = _tracing(options)
    if tracing and options.get("trace_from_env"):  # cinema record --trace-calls
        env[ENV_TRACE_CALLS] = ",".join(tracing["trace_calls"])
        env[ENV_TRACE_MAX_CALLS] = str(tracing["trace_max_calls"])
        if tracing["trace_for_ms"] is not None:
            env[ENV_TRACE_FOR_MS] = repr(float(tracing["trace_for_ms"]))
    args = [sys.executable, *plan.python_argv]
    try:
        done = subprocess.run(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RerunError(
            f"the re-run of {plan.description} did not end within {timeout:g} s"
        ) from None
    except OSError as exc:
        raise RerunError(f"cannot re-run the program: {exc}") from None
    if via_env:
        stem, ext = os.path.splitext(base)
        n = plan.runtime_index
        found = [base if n == 1 else f"{stem}-{n}{ext}"]
    else:
        found = []
        while os.path.exists(rerun_path(folder, len(found) + 1)):
            found.append(rerun_path(folder, len(found) + 1))
    found = [p for p in found if os.path.exists(p)]
    if not found:
        tail = done.stderr.decode("utf-8", "replace")[-_STDERR_TAIL:].strip()
        said = f"; it said:\n{tail}" if tail else ""
        which = f" by its runtime #{plan.runtime_index}" if via_env else ""
        raise RerunError(
            f"the re-run of {plan.description} (exit status {done.returncode}) recorded "
            f"nothing{which}{said}"
        )
    return found
