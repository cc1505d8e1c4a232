"""Live attach never costs the user a file: socket paths, connection-file cleanup, token files."""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path

import pytest

from recorder.live import auth
from recorder.live.server import LiveServer


def _dead_pid() -> int:
    """A process id that no process has right now (a child that already ended)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_listening_on_a_path_that_holds_a_file_refuses_and_keeps_the_file(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("precious")
    with pytest.raises(FileExistsError, match="not a socket"):
        LiveServer(f"unix:{precious}")
    assert precious.read_text() == "precious"
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(FileExistsError):
        LiveServer(f"unix:{folder}")
    assert folder.is_dir()


def test_a_dead_servers_socket_is_replaced_and_a_live_one_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays: a server that died
    server = LiveServer(f"unix:{path}")
    try:
        with pytest.raises(OSError) as refused:
            LiveServer(f"unix:{path}")
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        server._shutdown()
    assert not os.path.exists(path)  # its own socket goes when it closes


def test_closing_leaves_a_file_that_replaced_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = LiveServer(f"unix:{path}")
    path.unlink()
    path.write_text("the user's file now")
    server._shutdown()
    assert path.read_text() == "the user's file now"


def test_cleaning_a_dead_servers_connection_file_removes_only_a_dead_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(auth.ENV_RUNTIME_DIR, str(tmp_path / "runtime"))
    precious = tmp_path / "notes.txt"
    precious.write_text("precious")
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()
    pid = _dead_pid()
    for n, target in enumerate((precious, stale)):
        info = {"transport": "unix", "path": str(target), "token": "t", "pid": pid,
                "program": "x", "started_ns": n}  # fmt: skip
        (auth.runtime_dir() / f"live-{pid}-{n}.json").write_text(json.dumps(info))
    assert auth.list_sessions() == []
    assert precious.read_text() == "precious"  # a path named in a file is not a licence
    assert not stale.exists()
    assert list(auth.runtime_dir().glob("live-*.json")) == []


def test_token_files_that_are_not_small_regular_files_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1 << 20))
    started = time.monotonic()
    for path, reason in ((fifo, "not a regular file"), (big, "too big"),
                         ("/dev/zero", "not a regular file")):  # fmt: skip
        with pytest.raises(ValueError, match=reason):
            auth.read_token_file(path)
    assert time.monotonic() - started < 5  # nothing waited for a writer or read forever
    good = tmp_path / "token"
    good.write_text("abc\n")
    assert auth.read_token_file(good) == "abc"


def test_recording_starts_at_once_while_paused_and_refuses_bad_targets(
    program, tmp_path: Path
) -> None:
    from recorder.live import LiveClient, LiveError
    from recorder.session.reader import SessionReader

    p = program("--scenario", "bank", "--paused", "--linger")
    client = LiveClient(p.address, timeout=10)
    client.connect()
    try:
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        for target, reason in ((tmp_path, "is a directory"), (tmp_path / "no" / "x.cinema",
                               "folder does not exist"), (fifo, "not a regular file")):  # fmt: skip
            with pytest.raises(LiveError, match=reason):
                client.request("record_start", path=str(target), timeout=5)
        assert fifo.exists()  # a rename at close would have replaced it
        path = tmp_path / "from-now.cinema"
        started = time.monotonic()
        # a paused program takes no housekeeping keyframe: the request takes one itself
        assert client.request("record_start", path=str(path), timeout=5)["path"] == str(path)
        assert time.monotonic() - started < 5
        client.request("step", events=50)
        time.sleep(0.5)
        assert client.request("record_stop")["files"] == [str(path)]
    finally:
        client.close()
    with SessionReader(path) as r:
        assert r.keyframe_seqs and r.keyframe_seqs[0] == 0 and not r.recovered


PROGRAM = """
from recorder.sandbox import Runtime
from recorder.sandbox.scenarios import SCENARIOS

with Runtime(deterministic=True, seed=1) as rt:
    SCENARIOS["bank"](rt, scale=1)
print("after the with block", rt.live is None)
"""


@pytest.mark.parametrize("how", ["file", "port in use", "bad address", "bad option"])
def test_a_server_the_environment_asks_for_never_stops_the_program(
    tmp_path: Path, runtime_dir: Path, how: str
) -> None:
    import subprocess
    import sys

    precious = tmp_path / "notes.txt"
    precious.write_text("precious")
    busy = socket.create_server(("127.0.0.1", 0))
    env = dict(os.environ, CINEMA_RUNTIME_DIR=str(runtime_dir))
    env["CINEMA_LISTEN"] = {
        "file": f"unix:{precious}",
        "port in use": str(busy.getsockname()[1]),
        "bad address": "nowhere:port",
        "bad option": "tcp",
    }[how]
    if how == "bad option":
        env["CINEMA_LISTEN_OPTIONS"] = "pace=fast"
    try:
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        busy.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "after the with block True"
    assert done.stderr.count("the program runs without live attach") == 1
    assert "Traceback" not in done.stderr
    assert precious.read_text() == "precious"
