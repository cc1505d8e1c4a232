"""The same events give the same file bytes, whichever encoder runs (native or pure Python),
and a deterministic recording is byte-identical from run to run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from recorder.payload import NATIVE

from ._programs import run_program

RECORD = """
    import sys
    from dataclasses import dataclass
    from recorder import EventKind, Pid, Recorder
    from recorder.payload import ENCODER
    from recorder.sandbox import Runtime
    from recorder.sandbox.scenarios import SCENARIOS

    scenario, path = sys.argv[1], sys.argv[2]
    fixed = {"argv": [], "host": "test", "pid": 0, "program": "identity", "python": "3",
             "rerun": None}  # no re-run facts: the command line names the file
    if scenario == "values":  # a Recorder fed values of every kind, straight
        @dataclass
        class Account:
            owner: str
            balance: int

        class Opaque:  # no structural form: a bounded repr (fixed, unlike object()'s address)
            def __repr__(self):
                return "<opaque thing>"

        values = [None, 1, -2**70, 1.5, "text" * 2000, b"\\x00" * 10, (1, (2, [3])),
                  {"k": {1, 2, 3}, (1, 2): frozenset("ab")}, Account("ann", 5), Pid(3),
                  ValueError("boom"), Opaque(), list(range(5000))]
        clock = iter(range(10**6, 10**9, 1000)).__next__
        with Recorder(path, clock=clock, wall_clock=lambda: 0, flush_interval=None,
                      frame_events=7, metadata=fixed) as rec:
            for i in range(300):
                rec.emit(EventKind.SEND, i % 4, (i + 1) % 4, i + 1, values[i % len(values)])
                if i % 50 == 0:
                    rec.keyframe({"processes": [{"pid": 0, "state": values[i % 13]}]})
    else:
        rt = Runtime(deterministic=True, seed=5, record=path, metadata=fixed,
                     recorder_options={"flush_interval": None, "wall_clock": lambda: 0})
        SCENARIOS[scenario](rt)
        rt.close()
    print(ENCODER)
"""


def _record(tmp_path: Path, scenario: str, native: bool, name: str) -> str:
    path = tmp_path / f"{scenario}-{name}.cinema"
    env = {"CINEMA_NATIVE": "1" if native else "0"}
    result = run_program(RECORD, scenario, str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("native" if native else "pure-Python"), result.stdout
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.skipif(not NATIVE, reason="the native encoder is not built here")
@pytest.mark.parametrize("scenario", ["values", "bank", "chat", "pipeline"])
def test_native_and_pure_python_encoders_write_the_same_file(tmp_path: Path, scenario: str) -> None:
    native = _record(tmp_path, scenario, True, "native")
    assert _record(tmp_path, scenario, False, "python") == native
    assert _record(tmp_path, scenario, True, "again") == native  # and run to run
