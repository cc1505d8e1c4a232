"""``live``: what live attach costs the observed program, and how fast it answers.

A sandbox (``python -m recorder.live --scenario storm``: ten ping-pong pairs, real-time
clock, recording in memory) runs for a few seconds in a child process. Each round runs it
twice, interleaved: with no client attached (baseline), and with three clients, two reading
everything and one that never reads. Figures:

- sandbox events/s with three clients vs none (goal >= 0.8x; the storm itself must reach
  100,000 events/s);
- events the two reading clients missed (goal: 0), and the server's peak memory (its peak RSS,
  and the flight recorder's peak bytes against its bound);
- event-to-client latency p99 (each event's wall time, from the stream's clock anchor, to its
  arrival; goal < 50 ms);
- pause-to-stopped p99 (a client sends ``pause`` and waits for the ``paused`` notice that the
  server sends once the program stands still; goal < 20 ms).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmarks._harness import Figure, benchmark, percentile

__all__ = ["run"]


class _Program:
    def __init__(self, seconds: float, runtime_dir: str, *extra: str) -> None:
        env = dict(os.environ, CINEMA_RUNTIME_DIR=runtime_dir)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recorder.live", "--scenario", "storm", "--seconds",
             str(seconds), "--linger", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        _, self.address, self.connection_file = line.split()

    def finished(self) -> dict[str, float]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("FINISHED"):
                return {k: float(v) for k, v in (p.split("=") for p in line.split()[1:])}
        raise RuntimeError("the sandbox ended without finishing")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Reader:
    """A client that reads everything and measures each event's latency."""

    def __init__(self, address: str) -> None:
        from recorder.live import LiveClient
        from recorder.session.reader import SessionReader

        self.client = LiveClient(address, name="bench")
        self.client.connect()
        self.reader = SessionReader(None)
        self.latencies: list[np.ndarray] = []
        self.anchor: tuple[int, int] | None = None
        self.since = time.time_ns()  # history from before the subscription is not latency
        self.closed = threading.Event()
        self.client.on_data = self._data
        self.client.on_close = lambda _r: self.closed.set()
        self.client.on_notice = self._notice
        self.gap_missed = 0
        self.offset = int(self.client.subscribe(history="recent").get("seq_offset", 0))

    def _notice(self, msg: dict[str, Any]) -> None:
        if msg.get("op") == "gap":
            self.gap_missed += int(msg.get("missed", 0))
            self.offset = int(msg.get("seq_offset", self.offset))

    def _data(self, data: bytes) -> None:
        now = time.time_ns()
        before = self.reader.event_count
        self.reader.feed(data)
        if self.anchor is None and self.reader.meta:
            a = self.reader.meta.get("clock_anchor", {})
            self.anchor = (int(a.get("wall_ns", 0)), int(a.get("monotonic_ns", 0)))
        after = self.reader.event_count
        if after > before and self.anchor is not None:
            ts = self.reader.columns(before, after).ts
            wall = self.anchor[0] + (ts - self.anchor[1])
            wall = wall[wall >= self.since]
            if len(wall):
                self.latencies.append((now - wall) / 1e6)


def _stalled(address: str, connection_file: str) -> socket.socket:
    """A client that authenticates, subscribes and never reads again."""
    from recorder.live import auth
    from recorder.live.protocol import MAGIC, PROTOCOL, encode_control

    host, _, port = address.rpartition(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, int(port)))
    token = auth.read_token_file(connection_file)
    s.sendall(
        MAGIC
        + encode_control({"op": "hello", "protocol": list(PROTOCOL), "token": token})
        + encode_control({"op": "subscribe", "id": 1, "history": "none"})
    )
    return s


def _alone(seconds: float, folder: str) -> dict[str, float]:
    p = _Program(seconds, folder)
    try:
        return p.finished()
    finally:
        p.stop()


def _three_clients(seconds: float, folder: str) -> dict[str, Any]:
    p = _Program(seconds, folder)
    try:
        stalled = _stalled(p.address, p.connection_file)
        readers = [_Reader(p.connection_file), _Reader(p.connection_file)]
        result: dict[str, Any] = dict(p.finished())
        total = int(result["events"])
        deadline = time.monotonic() + 30
        while any(r.reader.event_count < total for r in readers) and time.monotonic() < deadline:
            time.sleep(0.05)
        # what each reading client holds: it started at the flight recorder's keyframe
        result["missed"] = sum(
            max(0, total - (r.reader.event_count + r.offset)) + r.gap_missed for r in readers
        )
        result["latencies"] = np.concatenate([np.concatenate(r.latencies) for r in readers])
        for r in readers:
            r.client.close()
        stalled.close()
        return result
    finally:
        p.stop()


def _pause_latencies(n: int, folder: str) -> list[float]:
    from recorder.live import LiveClient

    p = _Program(60, folder)
    out: list[float] = []
    try:
        client = LiveClient(p.connection_file, name="bench pause")
        client.connect()
        paused = threading.Event()
        resumed = threading.Event()

        def notice(msg: dict[str, Any]) -> None:
            if msg.get("op") == "paused":
                paused.set()
            elif msg.get("op") == "resumed":
                resumed.set()

        client.on_notice = notice
        time.sleep(0.5)
        for _ in range(n):
            paused.clear()
            resumed.clear()
            t0 = time.perf_counter()
            client.send("pause", id=0)
            paused.wait(5)
            out.append((time.perf_counter() - t0) * 1e3)
            client.send("resume", id=0)
            resumed.wait(5)
            time.sleep(0.02)
        client.close()
    finally:
        p.stop()
    return out


@benchmark("live", help="live attach: sandbox throughput with 3 clients (one stuck), latencies")
def run(quick: bool) -> Iterator[Figure]:
    seconds = 2.0 if quick else 5.0
    rounds = 2 if quick else 3
    with tempfile.TemporaryDirectory(prefix="cinema-bench-live-") as folder:
        alone, crowded = [], []
        for _ in range(rounds):
            alone.append(_alone(seconds, folder))
            crowded.append(_three_clients(seconds, folder))
        rate_alone = [a["events"] / a["seconds"] for a in alone]
        rate_crowded = [c["events"] / c["seconds"] for c in crowded]
        m_alone, m_crowded = statistics.median(rate_alone), statistics.median(rate_crowded)
        spread = (
            f"runs: {', '.join(f'{r:,.0f}' for r in rate_crowded)} vs "
            f"{', '.join(f'{r:,.0f}' for r in rate_alone)}"
        )
        yield Figure("sandbox events/s, 3 clients (1 stuck) vs none", m_crowded, "events/s",
                     m_alone, goal=">= 0.8x, >= 100,000/s", note=spread)  # fmt: skip
        yield Figure("events the 2 reading clients missed", sum(c["missed"] for c in crowded),
                     "events", 0, ratio=None, goal="0")  # fmt: skip
        rss = max(c["peak_rss_kb"] for c in crowded) / 1024
        rss_alone = max(a["peak_rss_kb"] for a in alone) / 1024
        yield Figure("server process peak RSS, 3 clients vs none", rss, "MB", rss_alone,
                     goal="bounded")  # fmt: skip
        ring = max(c["ring_peak_bytes"] for c in crowded) / 2**20
        yield Figure("flight recorder peak vs its bound", ring, "MiB", 64.0, goal="<= 2x")
        lat = np.concatenate([c["latencies"] for c in crowded])
        p99, p50 = percentile(lat.tolist(), 99), percentile(lat.tolist(), 50)
        yield Figure("event-to-client latency p99", p99, "ms", p50, goal="< 50 ms",
                     note="baseline: the median")  # fmt: skip
        pauses = _pause_latencies(30 if quick else 100, folder)
        p99 = percentile(pauses, 99)
        yield Figure("pause-to-stopped p99", p99, "ms", percentile(pauses, 50),
                     goal="< 20 ms", note="baseline: the median")  # fmt: skip
