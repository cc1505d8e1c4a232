"""``cinema verify``: re-runs of real recordings (the demos, programs under ``cinema record``,
programs that record themselves) match; a changed program is caught at its first differing
event; recordings that cannot be re-run say why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cinema.reuse import RerunError, first_divergence, plan_rerun, verify_recording
from recorder.sandbox import Runtime
from recorder.session.reader import SessionReader

from ._programs import COUNTER, cinema, record, write_program

DEMOS = ("bank", "chat", "pipeline")


def fresh(tmp_path: Path) -> str:
    """A new empty folder for a re-run's recordings."""
    folder = tmp_path / f"rerun-{len(list(tmp_path.glob('rerun-*')))}"
    folder.mkdir()
    return str(folder)


@pytest.mark.parametrize("scenario", DEMOS)
def test_demo_recordings_match_their_rerun(tmp_path: Path, scenario: str) -> None:
    path = tmp_path / f"{scenario}.cinema"
    done = cinema(
        "demo", "--headless", "--scenario", scenario, "--seed", "5", "--record", str(path)
    )
    assert done.returncode == 0, done.stderr
    result = verify_recording(str(path), fresh(tmp_path))
    assert result.matches, result.report
    assert result.recorded_events == result.rerun_events > 1000
    assert result.source_changed is False
    assert result.plan.description == f"the {scenario} demo (seed 5, scale 1)"


def test_cli_says_matches_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "bank.cinema"
    assert cinema("demo", "--headless", "--seed", "2", "--record", str(path)).returncode == 0
    done = cinema("verify", str(path), "--keep", str(tmp_path / "rerun.cinema"))
    assert done.returncode == 0, done.stderr
    assert "re-ran the bank demo (seed 2, scale 1)" in done.stdout
    assert "matches: all" in done.stdout
    with SessionReader(path) as a, SessionReader(tmp_path / "rerun.cinema") as b:
        assert a.event_count == b.event_count
        assert first_divergence(a, b) is None


def test_recorded_program_matches_then_a_change_is_caught(tmp_path: Path) -> None:
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    record(prog, out, "3")
    done = cinema("verify", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "re-ran python prog.py 3 (seed 3)" in done.stdout and "matches" in done.stdout

    prog.write_text(COUNTER.replace("STEP = 1", "STEP = 2"))  # the behaviour changes
    done = cinema("verify", str(out))
    assert done.returncode == 1, done.stderr
    text = done.stdout
    assert "prog.py changed since it was recorded" in text
    assert "the runs part at event #" in text
    recorded = next(line for line in text.splitlines() if line.lstrip().startswith("recorded "))
    rerun = next(line for line in text.splitlines() if line.lstrip().startswith("re-run "))
    # side by side: the same event of the same process, with the state that differs
    assert "state" in recorded and "counter <0.0.0>" in recorded and "n: 1" in recorded
    assert "state" in rerun and "counter <0.0.0>" in rerun and "n: 2" in rerun

    js = json.loads(cinema("verify", str(out), "--json").stdout)
    assert js["matches"] is False and js["source_changed"] is True
    div = js["divergence"]
    assert div["fields"] == ["data"]
    assert div["recorded"]["data"]["state"]["n"] == 1 and div["rerun"]["data"]["state"]["n"] == 2
    assert div["recorded"]["seq"] == div["rerun"]["seq"] == div["seq"]


def test_a_run_that_does_less_diverges_where_it_ends_or_turns(tmp_path: Path) -> None:
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    record(prog, out, "2")
    prog.write_text(COUNTER.replace("await proc.sleep(5)\n", "await proc.sleep(5)\n    return\n"))
    result = verify_recording(str(out), fresh(tmp_path))
    assert not result.matches
    assert result.rerun_events < result.recorded_events
    assert result.divergence is not None and result.divergence.seq < result.rerun_events + 1


def test_seed_given_to_cinema_record_is_reused(tmp_path: Path) -> None:
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    record(prog, out, "4", seed=11)
    with SessionReader(out) as r:
        assert r.meta["seed"] == 11 and r.meta["rerun"]["seed_env"] == "11"
    result = verify_recording(str(out), fresh(tmp_path))
    assert result.matches, result.report


def test_program_that_records_itself_is_rerun_without_touching_its_file(tmp_path: Path) -> None:
    own = tmp_path / "own.cinema"
    prog = write_program(tmp_path, COUNTER.replace("RECORD = None", f"RECORD = {str(own)!r}"))
    subprocess.run([sys.executable, str(prog), "2"], cwd=tmp_path, check=True, capture_output=True)
    before = own.read_bytes()
    stat = os.stat(own)
    result = verify_recording(str(own), fresh(tmp_path))
    assert result.matches, result.report
    assert result.plan.runtime_index == 1
    assert own.read_bytes() == before and os.stat(own).st_mtime_ns == stat.st_mtime_ns


def test_a_program_naming_its_files_is_compared_runtime_for_runtime(tmp_path: Path) -> None:
    first, second = tmp_path / "first.cinema", tmp_path / "second.cinema"
    two = COUNTER.replace("RECORD = None", f"RECORD = {str(first)!r}") + (
        f"\nwith Runtime(deterministic=True, seed=8, record={str(second)!r}) as rt2:\n"
        "    c2 = rt2.start(Counter, name='second')\n"
        "    rt2.spawn(client, c2, 6, name='only')\n"
        "    rt2.run()\n"
    )
    prog = write_program(tmp_path, two)
    subprocess.run([sys.executable, str(prog), "2"], cwd=tmp_path, check=True, capture_output=True)
    kept = {p: p.read_bytes() for p in (first, second)}
    for path, twin in ((first, "program-1.cinema"), (second, "program-2.cinema")):
        result = verify_recording(str(path), fresh(tmp_path))
        assert result.matches, result.report
        assert result.rerun_path.endswith(twin)
    assert {p: p.read_bytes() for p in (first, second)} == kept


def test_second_runtime_of_a_program_is_compared_with_the_second_rerun(tmp_path: Path) -> None:
    two = COUNTER + (
        "\nwith Runtime(deterministic=True, seed=8) as rt2:\n"
        "    c2 = rt2.start(Counter, name='second')\n"
        "    rt2.spawn(client, c2, 6, name='only')\n"
        "    rt2.run()\n"
    )
    prog = write_program(tmp_path, two)
    out = tmp_path / "run.cinema"
    record(prog, out, "1")
    second = tmp_path / "run-2.cinema"
    with SessionReader(second) as r:
        assert r.meta["rerun"]["runtime_index"] == 2 and r.meta["seed"] == 8
    result = verify_recording(str(second), fresh(tmp_path))
    assert result.matches, result.report
    assert result.rerun_path.endswith("run-2.cinema")


def test_real_time_recordings_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "rt.cinema"

    async def idle(proc):  # type: ignore[no-untyped-def]
        await proc.sleep(1)

    with Runtime(deterministic=False, record=str(path)) as rt:
        rt.spawn(idle)
        rt.run()
    done = cinema("verify", str(path))
    assert done.returncode == 2
    assert "real-time runtime (deterministic=False)" in done.stderr
    assert "Traceback" not in done.stderr


def test_recordings_without_rerun_facts_are_refused(tmp_path: Path) -> None:
    from recorder import Recorder

    path = tmp_path / "plain.cinema"
    with Recorder(str(path), metadata={"runtime": "recorder.sandbox", "deterministic": True}) as r:
        r.emit(18, 0xFFFFFFFF, 0xFFFFFFFF, 0, {"label": "x"})
    with pytest.raises(RerunError, match="does not say how to re-run it"):
        plan_rerun(SessionReader(path).meta, "plain.cinema")
    done = cinema("verify", str(path))
    assert done.returncode == 2 and "does not say how to re-run it" in done.stderr


def test_a_program_that_is_gone_is_a_clear_error(tmp_path: Path) -> None:
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    record(prog, out, "1")
    prog.unlink()
    done = cinema("verify", str(out))
    assert done.returncode == 2
    assert "prog.py is gone" in done.stderr


def test_a_program_that_now_fails_before_recording_says_what_it_printed(tmp_path: Path) -> None:
    prog = write_program(tmp_path)
    out = tmp_path / "run.cinema"
    record(prog, out, "1")
    prog.write_text("raise SystemExit('the program refuses to start')\n")
    done = cinema("verify", str(out))
    assert done.returncode == 2
    assert "recorded nothing" in done.stderr and "refuses to start" in done.stderr


def test_crash_tracebacks_may_move_but_the_crash_must_not(tmp_path: Path) -> None:
    crashing = COUNTER.replace("range(times)", "range(14)")
    prog = write_program(tmp_path, crashing)
    out = tmp_path / "run.cinema"
    record(prog, out, "1")
    with SessionReader(out) as r:
        assert 2 in r.kind_counts()  # a CRASH
    prog.write_text("# a comment moves every line number\n" + crashing)
    result = verify_recording(str(out), fresh(tmp_path))
    assert result.matches, result.report
    assert result.source_changed is True
    prog.write_text(crashing.replace("unlucky number", "bad luck"))
    result = verify_recording(str(out), fresh(tmp_path))
    assert not result.matches and "bad luck" in result.report
