"""Deterministic sandbox programs the reuse tests record, re-run and then change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

#: A counter GenServer and clients that cast to it; ``STEP`` and ``CLIENTS`` are the knobs the
#: tests turn to change its behaviour.
COUNTER = """\
import sys
from recorder.sandbox import GenServer, Runtime

STEP = 1
RECORD = None


class Counter(GenServer):
    def init(self):
        return ("ok", {"n": 0, "adds": 0})

    def handle_cast(self, msg, state):
        if msg[1] == 13:
            raise ValueError("unlucky number")
        return ("noreply", {"n": state["n"] + msg[1] * STEP, "adds": state["adds"] + 1})

    def handle_call(self, req, from_, state):
        return ("reply", state["n"], state)


async def client(proc, counter, times):
    for i in range(times):
        proc.cast(counter, ("add", i))
    await proc.sleep(5)
    print("total", await proc.call(counter, "get"))


with Runtime(deterministic=True, seed=3, record=RECORD) as rt:
    counter = rt.start(Counter, name="counter")
    for k in range(int(sys.argv[1])):
        rt.spawn(client, counter, 4, name=f"client-{k}")
    rt.run()
"""


def write_program(folder: Path, source: str = COUNTER, name: str = "prog.py") -> Path:
    path = folder / name
    path.write_text(source)
    return path


def cinema(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``cinema ARGS`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "cinema", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout, check=False,
    )  # fmt: skip


def record(program: Path, output: Path, *args: str, seed: int | None = None) -> None:
    """``cinema record -o OUTPUT -- python PROGRAM ARGS`` (from the program's folder)."""
    extra = [] if seed is None else ["--seed", str(seed)]
    done = cinema(
        "record", "-o", str(output), *extra, "--", "python", program.name, *args,
        cwd=program.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert output.exists(), done.stderr
