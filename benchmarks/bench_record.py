"""``record``: what recording costs the observed program, and what it costs on disk.

Three figures, each against a baseline measured in the same run:

- hot path: ``Recorder.emit`` per event vs a bare ``list.append`` of the same tuple, with the
  calling loop, and net of it (the bare loop, timed in the same rounds, subtracted from both);
- sustained throughput: first ``emit`` to ``close()`` returning (everything encoded, compressed
  and on disk) vs writing the same events as a plain msgpack dump;
- size: bytes per event in the session file (zstd) vs the plain msgpack dump.

The events are a realistic mix from a message-passing system: SEND with a small tuple message,
RECEIVE with no data, STATE with a small dict, among a few dozen processes spawned first.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import msgpack

from benchmarks._harness import Figure, benchmark, interleaved
from recorder import EventKind, Recorder

Row = tuple[int, int, int, int, Any]  # kind, pid, peer, ref, data

_PROCESSES = 48
_OPS = ("get", "put", "incr", "tick")


def make_events(n: int, processes: int = _PROCESSES) -> list[Row]:
    """``n`` events: ``processes`` spawns, then SEND / RECEIVE / STATE triples."""
    spawn, send, receive, state = (
        EventKind.SPAWN,
        EventKind.SEND,
        EventKind.RECEIVE,
        EventKind.STATE,
    )
    rows: list[Row] = [
        (
            spawn,
            p,
            0 if p else 0xFFFFFFFF,
            0,
            {"name": f"worker-{p}", "behaviour": "gen_server", "parent": 0, "node": "local"},
        )
        for p in range(processes)
    ]
    ref = 0
    i = 0
    while len(rows) < n:
        sender = i % processes
        receiver = (i * 7 + 3) % processes
        ref += 1
        rows.append((send, sender, receiver, ref, (_OPS[i & 3], i, 1.5)))
        rows.append((receive, receiver, sender, ref, None))
        rows.append(
            (
                state,
                receiver,
                sender,
                ref,
                {"trigger": "cast", "state": {"count": i, "last": sender}},
            )
        )
        i += 1
    return rows[:n]


def _recorder(path: str) -> Recorder:
    return Recorder(path, compress=1, flush_interval=0.2, buffer_events=1 << 22)


def _emit_all(rec: Recorder, rows: list[Row]) -> None:
    emit = rec.emit
    for kind, pid, peer, ref, data in rows:
        emit(kind, pid, peer, ref, data)


def _append_all(rows: list[Row]) -> list[Row]:
    out: list[Row] = []
    append = out.append
    for kind, pid, peer, ref, data in rows:
        append((kind, pid, peer, ref, data))
    return out


def _loop_only(rows: list[Row]) -> None:
    # The calling loop alone (unpacking each row, as the others do): what a per-event figure
    # pays before emit or append is even called.
    for kind, pid, peer, ref, data in rows:  # noqa: B007
        pass


def _msgpack_dump(path: str, rows: list[Row]) -> None:
    pack = msgpack.Packer().pack
    clock = time.monotonic_ns
    with open(path, "wb") as f:
        write = f.write
        for kind, pid, peer, ref, data in rows:
            write(pack((clock(), kind, pid, peer, ref, data)))


def _hot_path(rows: list[Row], rounds: int, tmp: str) -> tuple[float, float, float]:
    """Median seconds per event of emit, of a bare append, and of the loop around them.

    emit runs with the recorder open, so its writer thread competes for the GIL as it would in
    the observed program; append and the bare loop run with no recorder alive (each recorder
    is closed first).
    """
    path = os.path.join(tmp, "hot.cinema")
    emit_s: list[float] = []
    append_s: list[float] = []
    loop_s: list[float] = []

    def timed_emit() -> None:
        rec = _recorder(path)
        t0 = time.perf_counter()
        _emit_all(rec, rows)
        emit_s.append(time.perf_counter() - t0)
        rec.close()

    def timed_append() -> None:
        t0 = time.perf_counter()
        _append_all(rows)
        append_s.append(time.perf_counter() - t0)

    def timed_loop() -> None:
        t0 = time.perf_counter()
        _loop_only(rows)
        loop_s.append(time.perf_counter() - t0)

    order = (timed_emit, timed_append, timed_loop)
    for i in range(rounds):
        for fn in order if i % 2 == 0 else order[::-1]:
            fn()
    n = len(rows)
    return (
        statistics.median(emit_s) / n,
        statistics.median(append_s) / n,
        statistics.median(loop_s) / n,
    )


@benchmark("record", help="Recorder.emit hot path, sustained events/s to disk, bytes/event")
def record(quick: bool) -> Iterator[Figure]:
    n_hot, hot_rounds = (100_000, 5) if quick else (500_000, 7)
    n, rounds = (200_000, 3) if quick else (2_000_000, 3)
    with tempfile.TemporaryDirectory(prefix="cinema-bench-") as tmp:
        rows = make_events(n)
        # The prebuilt input is not part of the observed program: keep the collector from
        # rescanning it, so both sides pay only for the objects they create themselves.
        gc.collect()
        gc.freeze()
        try:
            yield from _figures(rows, n_hot, hot_rounds, rounds, tmp)
        finally:
            gc.unfreeze()


def _figures(
    rows: list[Row], n_hot: int, hot_rounds: int, rounds: int, tmp: str
) -> Iterator[Figure]:
    n = len(rows)
    emit_s, append_s, loop_s = _hot_path(rows[:n_hot], hot_rounds, tmp)
    yield Figure(
        "emit cost per event",
        emit_s * 1e6,
        "us/event",
        baseline=append_s * 1e6,
        note=f"the loop included; baseline: list.append of the same tuple; median of "
        f"{hot_rounds} x {n_hot:,}",
    )
    # What the program pays per event for calling emit, the loop that calls it taken out
    # (the loop costs the same with or without a recorder: the figure the goal is about).
    yield Figure(
        "emit cost per event, net of the loop",
        (emit_s - loop_s) * 1e6,
        "us/event",
        baseline=(append_s - loop_s) * 1e6,
        goal="<= 0.5 us/event",
        note=f"the bare loop ({loop_s * 1e9:.0f} ns/event) subtracted from both; baseline: "
        "list.append of the same tuple",
    )

    session = os.path.join(tmp, "sustained.cinema")
    dump = os.path.join(tmp, "sustained.msgpack")

    def recorded() -> None:
        rec = _recorder(session)
        _emit_all(rec, rows)
        rec.close()

    rec_s, dump_s = interleaved(recorded, lambda: _msgpack_dump(dump, rows), rounds)
    yield Figure(
        "sustained throughput to disk",
        n / rec_s,
        "events/s",
        baseline=n / dump_s,
        goal=">= 2,000,000 events/s",
        note=f"first emit to close(); baseline: plain msgpack dump; {n:,} events",
    )
    yield Figure(
        "size on disk (zstd level 1)",
        os.path.getsize(session) / n,
        "B/event",
        baseline=os.path.getsize(dump) / n,
        goal="<= 16 B/event",
        note="baseline: plain msgpack (ts, kind, pid, peer, ref, data) per event",
    )
