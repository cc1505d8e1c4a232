"""``cinema attach``: the headless client against a sandbox running in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.recorder.live.conftest import Program, attach

CINEMA = [sys.executable, "-m", "cinema"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CINEMA, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


def test_headless_prints_the_crashes_as_they_come_with_the_file_numbers(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    path = tmp_path / "bank.cinema"
    # paused until the client is there (a loaded machine starts `cinema attach` slowly: the
    # scenario must not be over by then)
    p = Program(["--scenario", "bank", "--pace", "1", "--record", str(path), "--paused"])
    try:
        client = subprocess.Popen(
            [*CINEMA, "attach", p.port, "--headless", "--events", "--kind", "crash", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        )  # fmt: skip
        control = attach(p.address)
        control.wait(lambda: len(control.client.request("status")["clients"]) >= 2, timeout=60)
        control.client.request("resume")
        stdout, stderr = client.communicate(timeout=120)
        got = subprocess.CompletedProcess(client.args, client.returncode, stdout, stderr)
    finally:
        p.stop()
    assert got.returncode == 0, got.stderr
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert rows and {r["kind"] for r in rows} == {"crash"}
    assert all(r["process"] == "clearing" for r in rows)
    recorded = _run("events", str(path), "--kind", "crash", "--json")
    assert [r["seq"] for r in rows] == [json.loads(x)["seq"] for x in recorded.stdout.splitlines()]


def test_attach_without_a_session_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    got = _run("attach", "--headless", "--events")
    assert got.returncode == 2
    assert "no live session of yours" in got.stderr
    got = _run("attach", "1", "--headless", "--events")
    assert got.returncode == 2 and "cannot connect" in got.stderr
    assert "Traceback" not in got.stderr


def test_record_listen_and_attach_with_a_token_file(tmp_path: Path, monkeypatch) -> None:
    """``cinema record --listen``: the program's runtime listens (CINEMA_LISTEN); another
    process attaches with ``--token-file`` (its connection file) and sees the events."""
    import re

    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    monkeypatch.setenv("CINEMA_LISTEN_OPTIONS", "pace=2")
    script = tmp_path / "prog.py"
    script.write_text(
        "from recorder.sandbox import Runtime\n"
        "from recorder.sandbox.scenarios import SCENARIOS\n"
        "with Runtime(deterministic=True, seed=1) as rt:\n"
        "    SCENARIOS['bank'](rt)\n"
    )
    out = tmp_path / "run.cinema"
    rec = subprocess.Popen(
        [*CINEMA, "record", "--listen", "tcp", "-o", str(out), "--", "python", str(script)],
        stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert rec.stderr is not None
    line = rec.stderr.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+).*token in (\S+)\)", line)
    assert m, line
    token_file = tmp_path / "token"
    token_file.write_text(json.loads(Path(m.group(2)).read_text())["token"] + "\n")
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "elsewhere"))  # no local lookup
    got = _run("attach", m.group(1), "--token-file", str(token_file), "--headless", "--events",
               "--kind", "restart", "--json")  # fmt: skip
    rec.wait(60)
    assert got.returncode == 0, got.stderr
    assert [json.loads(x)["kind"] for x in got.stdout.splitlines()] and out.exists()


def test_odd_process_arguments_and_token_files_end_cleanly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = Program(["--scenario", "bank", "--linger"])
    try:
        for arg in ("9" * 5000, "²", "4294967296", "x" * 300):
            got = _run("attach", p.port, "--headless", "--events", "--count", "1", "-p", arg)
            assert got.returncode == 2 and "--process" in got.stderr, got.stderr
            assert "Traceback" not in got.stderr and len(got.stderr) < 400
        got = _run("attach", p.port, "--headless", "--events", "--token-file", str(fifo))
        assert got.returncode == 2 and "not a regular file" in got.stderr, got.stderr
        got = _run("attach", p.port, "--headless", "--events", "--count", "1", "-p", "<0.0.0>")
        assert got.returncode == 0, got.stderr
    finally:
        p.stop()
