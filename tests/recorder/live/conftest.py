"""Live attach tests: real sandboxes in subprocesses, real sockets on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recorder.live import LiveClient
from recorder.session.reader import SessionReader


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Connection files of this test only (and of the programs it starts)."""
    folder = tmp_path / "runtime"
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(folder))
    return folder


class Program:
    """A ``python -m recorder.live`` child process."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recorder.live", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING"):
            self.proc.kill()
            raise AssertionError(f"no LISTENING line: {line!r} {self.proc.stderr.read()}")  # type: ignore[union-attr]
        _, self.address, self.connection_file = line.split()
        self.finished = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("FINISHED"):
                self.finished.set()

    @property
    def port(self) -> str:
        return self.address.rpartition(":")[2]

    def stop(self) -> str:
        """End the program (closing its stdin ends a lingering one); returns its stderr."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                if not self.finished.is_set():
                    self.proc.terminate()  # still in its scenario: no need to wait for the end
                self.proc.wait(70)  # the server waits for clients still reading (up to 60 s)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait(5)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


@pytest.fixture
def program() -> Iterator[Callable[..., Program]]:
    started: list[Program] = []

    def start(*args: str) -> Program:
        p = Program(list(args))
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


class Received:
    """What a client got: the session it is growing, and the notices."""

    def __init__(self, client: LiveClient) -> None:
        self.client = client
        self.reader = SessionReader(None)
        self.notices: list[dict[str, Any]] = []
        self.closed: list[str] = []
        self.bytes = bytearray()
        self._lock = threading.Lock()
        client.on_data = self._data
        client.on_notice = self.notices.append
        client.on_close = self.closed.append

    def _data(self, data: bytes) -> None:
        with self._lock:
            self.bytes += data
            self.reader.feed(data)

    @property
    def events(self) -> int:
        with self._lock:
            return self.reader.event_count

    def wait(self, what: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; notices: {self.notices[-5:]}")
            time.sleep(0.01)

    def notice(self, op: str, timeout: float = 20.0) -> dict[str, Any]:
        self.wait(lambda: any(n.get("op") == op for n in self.notices), timeout)
        found = [n for n in self.notices if n.get("op") == op][-1]
        return found


def attach(address: str, **subscription: Any) -> Received:
    client = LiveClient(address, name="test")
    client.connect()
    got = Received(client)
    client.subscribe(**subscription)
    return got
