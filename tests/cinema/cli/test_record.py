"""``cinema record`` and ``cinema demo --record`` never destroy a file, and say when a recording
failed (real subprocesses, real files)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from recorder.session.reader import SessionReader

ROOT = Path(__file__).resolve().parents[3]

RECORDS = """
from recorder.sandbox import Runtime

async def chatty(proc):
    for i in range(int(__import__("sys").argv[1])):
        proc.marker("tick", n=i, pad="x" * 100)
    await proc.sleep(1)

rt = Runtime(deterministic=True, seed=1)
rt.spawn(chatty)
rt.run()
rt.close()
print("program done")
"""

NEVER_RECORDS = 'print("no runtime here")\n'


def cinema(*args: str, preexec=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        preexec_fn=preexec,
    )


def _script(tmp_path: Path, code: str) -> str:
    path = tmp_path / "prog.py"
    path.write_text(code)
    return str(path)


def test_record_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "precious.cinema"
    out.write_bytes(b"my only copy")
    result = cinema("record", "-o", str(out), "--", "python", _script(tmp_path, RECORDS), "10")
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert "program done" not in result.stdout  # the program never ran
    assert out.read_bytes() == b"my only copy"


def test_force_keeps_the_file_when_the_program_never_records(tmp_path: Path) -> None:
    out = tmp_path / "precious.cinema"
    out.write_bytes(b"my only copy")
    script = _script(tmp_path, NEVER_RECORDS)
    result = cinema("record", "--force", "-o", str(out), "--", "python", script)
    assert result.returncode == 0, result.stderr
    assert "nothing was recorded" in result.stderr and "left as it was" in result.stderr
    assert out.read_bytes() == b"my only copy"


def test_a_program_that_names_its_own_file_is_not_said_to_have_no_runtime(
    tmp_path: Path,
) -> None:
    """The example of docs/sandbox.md passes `record="bank.cinema"` itself: `cinema record -o
    run.cinema` said "also recorded N events to bank.cinema", then "created no sandbox
    Runtime: nothing was recorded" (found by tools/smoke.py)."""
    own = tmp_path / "own.cinema"
    code = RECORDS.replace("seed=1)", f"seed=1, record={str(own)!r})")
    out = tmp_path / "run.cinema"
    result = cinema("record", "-o", str(out), "--", "python", _script(tmp_path, code), "5")
    assert result.returncode == 0, result.stderr
    assert f"also recorded 7 events to {own}" in result.stderr
    assert "created no sandbox Runtime" not in result.stderr
    assert f"nothing was recorded to {out}: the program's runtimes name their own files" in (
        result.stderr
    )
    assert own.exists() and not out.exists()


def test_force_replaces_the_file_with_the_new_recording(tmp_path: Path) -> None:
    out = tmp_path / "run.cinema"
    out.write_bytes(b"old")
    script = _script(tmp_path, RECORDS)
    result = cinema("record", "-f", "-o", str(out), "--", "python", script, "10")
    assert result.returncode == 0, result.stderr
    with SessionReader(out) as reader:
        count = reader.event_count
    assert f"recorded {count:,} events to {out}" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["prog.py", "run.cinema"]


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_a_failed_recording_is_reported_and_the_program_finishes(tmp_path: Path) -> None:
    out = tmp_path / "big.cinema"
    script = _script(tmp_path, RECORDS)
    result = cinema("record", "-o", str(out), "--", "python", script, "50000", preexec=_small_files)
    assert result.returncode == 0, result.stderr
    assert "program done" in result.stdout
    assert f"recording to {out} failed: File too large" in result.stderr
    assert "Traceback" not in result.stderr
    with SessionReader(out) as reader:
        assert 0 < reader.event_count < 50_000


def test_record_into_a_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    result = cinema("record", "-o", str(tmp_path / "no" / "x.cinema"), "--", "true")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_demo_refuses_to_record_over_a_file_without_force(tmp_path: Path) -> None:
    out = tmp_path / "demo.cinema"
    out.write_bytes(b"keep me")
    refused = cinema("demo", "--headless", "--record", str(out))
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert out.read_bytes() == b"keep me"
    forced = cinema("demo", "--headless", "--force", "--record", str(out))
    assert forced.returncode == 0, forced.stderr
    with SessionReader(out) as reader:
        assert reader.event_count > 1000
