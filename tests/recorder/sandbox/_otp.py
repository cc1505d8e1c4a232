"""Helpers of the OTP rule tests: runtimes in both modes, and the real OTP 25 as reference.

The scripts in ``otp/`` run the same scenarios on Erlang/OTP and print their observable
outcomes as ``scenario.key = python literal`` lines (see ``otp/show.hrl``). A sandbox scenario
returns the same keys; :func:`otp_value` turns its values into what the scripts print (pids and
references become ``"pid"`` / ``"ref"``, ``None`` becomes OTP's ``undefined``).
"""

from __future__ import annotations

import ast
import functools
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from recorder.payload import Pid, Ref
from recorder.sandbox import Process, ReceiveTimeout, Runtime, StartError, process_info
from recorder.testing import CaptureSink

OTP_DIR = Path(__file__).resolve().parent / "otp"
MODES = ("deterministic", "realtime")
ESCRIPT = shutil.which("escript")
requires_otp = pytest.mark.skipif(
    ESCRIPT is None,
    reason="escript not found: install Erlang/OTP (apt-get install erlang-base) to compare "
    "the sandbox with the real OTP; ./run test installs it under CI as root",
)

Scenario = Callable[[Process, dict[str, Any]], Awaitable[None]]


def runtime(mode: str, seed: int = 7, sink: CaptureSink | None = None) -> Runtime:
    """A runtime in ``mode`` (``"deterministic"`` or ``"realtime"``), recording to ``sink``."""
    return Runtime(
        deterministic=mode == "deterministic",
        seed=seed,
        record=sink if sink is not None else CaptureSink(),
        profile_interval_ms=None,
    )


def otp_value(value: Any) -> Any:
    """``value`` as the OTP scripts print it (see the module docstring)."""
    if isinstance(value, Pid):
        return "pid"
    if isinstance(value, Ref):
        return "ref"
    if value is None:
        return "undefined"
    if isinstance(value, tuple):
        return tuple(otp_value(v) for v in value)
    if isinstance(value, list):
        return [otp_value(v) for v in value]
    if isinstance(value, dict):
        return {otp_value(k): otp_value(v) for k, v in value.items()}
    return value


def run_scenario(mode: str, scenario: Scenario, seed: int = 7) -> dict[str, Any]:
    """Run ``scenario(main_process, outcome)`` in a fresh runtime; the outcome, normalized."""
    rt = runtime(mode, seed)
    outcome: dict[str, Any] = {}

    async def main(proc: Process) -> None:
        await scenario(proc, outcome)

    rt.spawn(main, name="main")
    rt.run()
    rt.close()
    return {key: otp_value(value) for key, value in outcome.items()}


@functools.cache
def otp_outcomes(script: str) -> dict[str, dict[str, Any]]:
    """Run ``otp/<script>`` with the real OTP; ``{scenario: {key: value}}``."""
    assert ESCRIPT is not None
    result = subprocess.run(
        [ESCRIPT, str(OTP_DIR / script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcomes: dict[str, dict[str, Any]] = {}
    for line in result.stdout.splitlines():
        name, sep, literal = line.partition(" = ")
        if not sep or "." not in name:
            continue
        scenario, key = name.split(".", 1)
        outcomes.setdefault(scenario, {})[key] = ast.literal_eval(literal)
    return outcomes


# ------------------------------------------------------------------ what scenarios use


def mailbox(proc: Process) -> list[Any]:
    """The messages waiting in ``proc``'s mailbox, oldest first (``process_info(messages)``)."""
    return [message for _, _, message in process_info(proc.runtime, proc.pid)["mailbox"]]


def alive(proc: Process, pid: Pid) -> bool:
    """``is_process_alive(Pid)``."""
    return proc.runtime.resolve(pid) is not None


async def receive_or(proc: Process, pattern: Any, timeout: float, default: Any = "none") -> Any:
    """``receive Pattern -> M after Timeout -> Default end``."""
    try:
        return await proc.receive(pattern, timeout=timeout)
    except ReceiveTimeout:
        return default


async def start_result(proc: Process, server: Any, *args: Any, link: bool = False) -> Any:
    """``gen_server:start[_link]``'s return value: ``("ok", pid)`` or ``("error", reason)``."""
    try:
        return ("ok", await proc.start(server, *args, link=link))
    except StartError as exc:
        return exc.result
