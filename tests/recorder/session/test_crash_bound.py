"""SIGKILL at random moments of a real-time recording loses at most ``flush_interval`` (or
about 0.1 s when that is shorter: the time a pass takes on a loaded machine).

The recorded program (a real-time sandbox ping-pong, CPU-bound, so its writer thread competes
for the GIL) stamps the monotonic clock into a shared memory page every time round its loop;
after the kill the test reads that page: the last moment the program was alive. The session's
last event must be within the flush interval of it (plus a small allowance for the moment
between the stamp and the kill, and the scheduler's time slice on a loaded machine).
"""

from __future__ import annotations

import mmap
import os
import random
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from recorder.session.reader import SessionReader

from ._programs import ROOT

PROGRAM = """
    import mmap, struct, sys, time
    from recorder.sandbox import Runtime

    path, stamp_file, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(stamp_file, "r+b") as f:
        stamp = mmap.mmap(f.fileno(), 8)
    pack_into, now = struct.pack_into, time.monotonic_ns

    body = {"items": list(range(40)), "names": {f"k{i}": f"value {i}" for i in range(12)}}

    async def ping(proc, peer):
        while True:
            proc.send(peer, (proc.pid, "ping", body))
            await proc.receive()
            pack_into("<q", stamp, 0, now())

    async def pong(proc):
        while True:
            sender, _, _ = await proc.receive()
            proc.send(sender, {"pong": sender})

    rt = Runtime(record=path, recorder_options={"flush_interval": interval})
    for _ in range(4):
        rt.spawn(ping, rt.spawn(pong))
    print(time.monotonic_ns() - rt.clock(), flush=True)  # runtime clock -> monotonic
    rt.run()
"""


def _kill_at_random(tmp_path: Path, k: int, interval: float, rng: random.Random) -> float:
    """Record, SIGKILL after a random time; return seconds between the program's last sign of
    life and the last recorded event."""
    stamp_file = tmp_path / f"stamp{k}"
    stamp_file.write_bytes(b"\0" * 8)
    path = tmp_path / f"k{k}.cinema"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PROGRAM), str(path), str(stamp_file), str(interval)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        offset = int(proc.stdout.readline())
        time.sleep(rng.uniform(0.4, 1.2))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with open(stamp_file, "rb") as f, mmap.mmap(f.fileno(), 8, access=mmap.ACCESS_READ) as m:
        (alive,) = struct.unpack_from("<q", m)
    with SessionReader(path) as reader:  # the killed file opens, and replays
        assert reader.recovered and reader.event_count > 1000
        last = int(reader.skeleton().ts[-1]) + offset
        list(reader.events(reader.event_count - 100))
    return (alive - last) / 1e9


#: A few ms of allowance: the scheduler's slice between the last stamp and the kill.
SLACK = 0.02


@pytest.mark.slow  # ~4 s; ./run test runs it, the suite's pure-Python rerun does not
@pytest.mark.parametrize("interval", [0.2, 0.05])
def test_sigkill_loses_at_most_the_flush_interval(tmp_path: Path, interval: float) -> None:
    rng = random.Random(int(interval * 1000))
    losses = [_kill_at_random(tmp_path, k, interval, rng) for k in range(3)]
    assert max(losses) <= max(interval, 0.1) + SLACK, losses


@pytest.mark.slow
def test_sigkill_under_cpu_load(tmp_path: Path) -> None:
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        rng = random.Random(7)
        losses = [_kill_at_random(tmp_path, k, 0.2, rng) for k in range(3)]
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert max(losses) <= 0.2 + SLACK, losses
