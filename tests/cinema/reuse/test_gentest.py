"""``cinema gen-test``: the generated pytest file passes on the program that made the recording
and fails, readably, once the program's behaviour changes (both checked by running pytest on
it in a child process)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ._programs import COUNTER, cinema, record, write_program


def pytest_on(test: Path) -> subprocess.CompletedProcess[str]:
    """Run pytest on one generated file, in its folder, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         test.name],
        cwd=test.parent, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture
def recorded_program(tmp_path: Path) -> tuple[Path, Path]:
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    record(prog, out, "3")
    return prog, out


def test_generated_test_passes_then_catches_a_change(recorded_program: tuple[Path, Path]) -> None:
    prog, out = recorded_program
    test = out.parent / "test_counter.py"
    made = cinema("gen-test", str(out), "-o", str(test), "--at", "#19,#40")
    assert made.returncode == 0, made.stderr
    assert "60 events in order, the processes after #19, #40" in made.stdout
    source = test.read_text()
    ast.parse(source)  # valid Python
    # readable: named steps, the program and seed in plain sight, expectations inline
    assert "def test_the_run_has_the_recorded_events(run: NewRun)" in source
    assert "def test_after_event_19_state_counter(run: NewRun)" in source
    assert "RECORDED = program(['prog.py', '3'], cwd=HERE, seed=3)" in source
    assert "'counter <0.0.0>': {'status':" in source and "'state': {'n': 3, 'adds': 3}" in source
    assert (out.parent / "test_counter.events.jsonl").read_text().count("\n") == 60

    passed = pytest_on(test)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "3 passed" in passed.stdout

    prog.write_text(COUNTER.replace("STEP = 1", "STEP = 2"))  # the behaviour changes
    failed = pytest_on(test)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    text = failed.stdout
    assert "python prog.py 3 (seed 3) no longer does what was recorded" in text
    seq = re.search(r"the runs part at event #(\d+)", text)
    assert seq is not None, text
    lines = text.splitlines()
    recorded = next(x for x in lines if f"recorded  #{seq[1]} " in x)
    now = next(x for x in lines if f"new run   #{seq[1]} " in x)
    assert "state       counter <0.0.0>" in recorded and "state       counter <0.0.0>" in now
    old_n = re.search(r"state: \{n: (\d+), adds: (\d+)\}", recorded)
    new_n = re.search(r"state: \{n: (\d+), adds: (\d+)\}", now)
    assert old_n and new_n and int(new_n[1]) == 2 * int(old_n[1]) and new_n[2] == old_n[2]
    assert re.search(
        r"counter <0.0.0>: state recorded \{n: 3, adds: 3\}, new run \{n: 6, adds: 3\}", text
    ), text
    assert "3 failed" in text
    assert "cinema/reuse" not in text  # the helpers' frames are hidden: the test line shows


def test_a_run_that_ends_early_fails_at_the_missing_events(
    recorded_program: tuple[Path, Path],
) -> None:
    prog, out = recorded_program
    test = out.parent / "test_short.py"
    assert (
        cinema("gen-test", str(out), "-o", str(test), "--at", "#10", "--at", "#59").returncode == 0
    )
    prog.write_text(COUNTER.replace("int(sys.argv[1])", "int(sys.argv[1]) - 1"))
    failed = pytest_on(test)
    assert failed.returncode == 1
    assert "3 failed" in failed.stdout
    assert "the runs part at event #" in failed.stdout
    assert "client-2 <0.3.0>: missing in the new run (recorded: status " in failed.stdout
    assert "never reached event #59" in failed.stdout


def test_a_program_recorded_with_traced_calls_is_run_again_with_them(tmp_path: Path) -> None:
    """`cinema record --trace-calls` (found by tools/smoke.py): the generated test ran the
    program without the tracing, so its CALL and RETURN events were missing and it failed at
    the first call on the code that made the recording."""
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    done = cinema(
        "record", "-o", str(out), "--trace-calls", "prog:Counter.handle_cast", "--",
        "python", prog.name, "3", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    test = tmp_path / "test_traced.py"
    made = cinema("gen-test", str(out), "-o", str(test))
    assert made.returncode == 0, made.stderr
    assert "'trace_calls': ['prog:Counter.handle_cast']" in test.read_text()
    assert '"kind": "call"' in (tmp_path / "test_traced.events.jsonl").read_text()
    passed = pytest_on(test)
    assert passed.returncode == 0, passed.stdout + passed.stderr


@pytest.mark.parametrize("scenario", ["bank", "chat"])
def test_demo_tests_pass_and_a_different_seed_fails(tmp_path: Path, scenario: str) -> None:
    path = tmp_path / f"{scenario}.cinema"
    done = cinema(
        "demo", "--headless", "--scenario", scenario, "--seed", "5", "--record", str(path)
    )
    assert done.returncode == 0, done.stderr
    test = tmp_path / f"test_{scenario}.py"
    made = cinema("gen-test", str(path), "-o", str(test))
    assert made.returncode == 0, made.stderr
    source = test.read_text()
    assert f"RECORDED = scenario('{scenario}', seed=5, scale=1" in source
    if scenario == "bank":  # the first crash and the end are checked by default
        assert source.count("def test_after_event_") == 2 and "_crash_" in source
    else:  # 183 processes: their states are too long to read inline
        assert "STATES[" in source and (tmp_path / f"test_{scenario}.states.json").exists()
    passed = pytest_on(test)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    if scenario != "bank":
        return
    test.write_text(source.replace("seed=5", "seed=6"))
    failed = pytest_on(test)
    assert failed.returncode == 1
    assert "no longer does what was recorded" in failed.stdout


def test_gen_test_refuses_what_it_cannot_make(
    tmp_path: Path, recorded_program: tuple[Path, Path]
) -> None:
    _, out = recorded_program
    test = tmp_path / "test_x.py"
    test.write_text("# mine\n")
    done = cinema("gen-test", str(out), "-o", str(test))
    assert done.returncode == 2 and "already exists" in done.stderr
    assert test.read_text() == "# mine\n"
    done = cinema("gen-test", str(out), "-o", str(tmp_path / "test_y.py"), "--at", "#999")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = cinema("gen-test", str(out), "-o", str(tmp_path / "notes.txt"))
    assert done.returncode == 2 and ".py file" in done.stderr
    from recorder.sandbox import Runtime

    live = tmp_path / "rt.cinema"

    async def idle(proc):  # type: ignore[no-untyped-def]
        await proc.sleep(1)

    with Runtime(deterministic=False, record=str(live)) as rt:
        rt.spawn(idle)
        rt.run()
    done = cinema("gen-test", str(live), "-o", str(tmp_path / "test_rt.py"))
    assert done.returncode == 2 and "deterministic=False" in done.stderr
    assert not (tmp_path / "test_rt.py").exists()
