"""``format``: how fast a session file opens and answers, against plain msgpack.

On a 10,000,000-event synthetic session (1,000,000 with ``--quick``):

- skeleton load (timestamps, kinds, processes, peers of every event into numpy arrays) vs a
  plain msgpack decode of the same events (one ``(ts, kind, pid, peer, ref, data)`` array per
  event, written with ``msgpack.Packer`` and read back with ``msgpack.Unpacker``); goal < 1 s
  and >= 10x faster;
- peak memory of a fresh process that opens the file and loads the skeleton; goal < 1 GB;
- random access to event N (open, decode the one frame, decode the payload) vs a scan from the
  start of the plain msgpack file to the same N; goal < 5 ms.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import msgpack

from benchmarks._harness import Figure, benchmark, percentile, subprocess_peak_rss_mb
from benchmarks._sessions import ensure_synthetic
from recorder.session.reader import SessionReader

_PROCESSES = 5000


def ensure_plain_copy(path: Path) -> Path:
    """The same events as a plain msgpack stream (cached beside the session)."""
    plain = path.with_suffix(".plain-msgpack")
    if not plain.exists():
        tmp = plain.with_suffix(".partial")
        packer = msgpack.Packer(use_bin_type=True)
        with SessionReader(path) as r, open(tmp, "wb") as out:
            buf: list[bytes] = []
            for ev in r.events():
                buf.append(packer.pack((ev.ts, ev.kind, ev.pid, ev.peer, ev.ref, _plain(ev.data))))
                if len(buf) >= 65536:
                    out.write(b"".join(buf))
                    buf.clear()
            out.write(b"".join(buf))
        tmp.replace(plain)
    return plain


def _plain(v: object) -> object:
    # Decoded display types (Pid, Record, ...) are not msgpack natives: keep their text.
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return repr(v)


def _plain_decode(plain: Path) -> int:
    n = 0
    with open(plain, "rb") as f:
        for _ in msgpack.Unpacker(f, raw=False, strict_map_key=False, max_buffer_size=1 << 30):
            n += 1
    return n


def _plain_scan_to(plain: Path, target: int) -> object:
    with open(plain, "rb") as f:
        for i, row in enumerate(msgpack.Unpacker(f, raw=False, strict_map_key=False)):
            if i == target:
                return row
    raise IndexError(target)


@benchmark("format", help="session file: skeleton load, memory and random access vs plain msgpack")
def run(quick: bool) -> Iterator[Figure]:
    n = 1_000_000 if quick else 10_000_000
    path = ensure_synthetic(n, _PROCESSES)
    plain = ensure_plain_copy(path)

    def load_skeleton() -> None:
        with SessionReader(path) as r:
            r.skeleton()

    load_skeleton()  # warm the page cache for both files alike
    _plain_decode(plain) if quick else None
    rounds = 3
    skel_times: list[float] = []
    plain_times: list[float] = []
    for i in range(rounds):
        for fn, out in ((load_skeleton, skel_times), (lambda: _plain_decode(plain), plain_times))[
            :: 1 if i % 2 == 0 else -1
        ]:
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
            if out is plain_times and not quick:
                break  # one plain decode of 10M events takes long; a single round is enough
        if not quick and len(plain_times) >= 1 and len(skel_times) >= rounds:
            break
    skel = statistics.median(skel_times)
    base = statistics.median(plain_times)
    yield Figure(
        f"skeleton load, {n:,} events",
        skel,
        "s",
        base,
        skel / base,
        goal="< 1 s and >= 10x faster (ratio <= 0.1)",
        note="baseline: msgpack.Unpacker over the same events as plain tuples",
    )

    code = (
        "from recorder.session.reader import SessionReader\n"
        f"r = SessionReader({str(path)!r})\n"
        "sk = r.skeleton()\n"
        "assert len(sk.ts) > 0\n"
    )
    mem = subprocess_peak_rss_mb(code)
    base_mem = subprocess_peak_rss_mb("import numpy, msgpack, zstandard\n")
    yield Figure(
        f"peak memory, open + skeleton of {n:,} events",
        mem,
        "MiB",
        base_mem,
        mem / base_mem,
        goal="< 1024 MiB",
        note="baseline: an interpreter that only imports numpy, msgpack, zstandard",
    )

    rng = random.Random(3)
    with SessionReader(path) as r:
        count = r.event_count
    targets = [rng.randrange(count) for _ in range(200)]
    times = []
    warm = []
    for t in targets:
        t0 = time.perf_counter()
        with SessionReader(path) as r:  # a fresh reader: nothing decoded or cached yet
            t1 = time.perf_counter()
            r.event(t)
            t2 = time.perf_counter()
        times.append(t2 - t0)
        warm.append(t2 - t1)
    scan_targets = targets[:2] if not quick else targets[:5]
    scan_times = []
    for t in scan_targets:
        t0 = time.perf_counter()
        _plain_scan_to(plain, t)
        scan_times.append(time.perf_counter() - t0)
    p50 = statistics.median(times)
    p99 = percentile(times, 99)
    scan = statistics.median(scan_times)
    yield Figure(
        f"random access to event N (open + decode), p50, {n:,} events",
        p50 * 1e3,
        "ms",
        scan * 1e3,
        p50 / scan,
        goal="< 5 ms",
        note="baseline: msgpack scan from the start to the same N",
    )
    yield Figure(
        f"random access to event N in an open session, p99, {n:,} events",
        percentile(warm, 99) * 1e3,
        "ms",
        scan * 1e3,
        percentile(warm, 99) / scan,
        goal="< 5 ms",
        note="the session is open, the event's frame not yet decoded",
    )
    yield Figure(
        f"random access to event N (open + decode), p99, {n:,} events",
        p99 * 1e3,
        "ms",
        scan * 1e3,
        p99 / scan,
        goal="< 5 ms",
    )
