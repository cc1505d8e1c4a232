"""``hostile``: what hostile input costs now, and what the readers' checks cost honest files.

Hostile input (``tests/corpus``), each against the honest thing it imitates:

- a footer claiming 2^32 events and 24 zstd bombs of 256 MiB, opened and skeleton-loaded, vs
  the same for the small honest corpus session (both refused or read in milliseconds; before,
  ``Unable to allocate 32 GiB`` and MemoryError);
- a payload of 2,000 map keys chosen to share one hash, refused, vs 2,000 honest tuple keys
  decoded (quadratic before: 17-33 s for 600 KB);
- ``(a+)+$`` searched in 40 characters with RE2 vs Python's ``re`` in 18 (``re`` doubles with
  each character: 40 never finished);
- parsing a 2,000-link ``1+1+...`` chain (refused at parse time) vs a 100-link one.

The checks' price on honest sessions (the 1,000,000-event synthetic session; 200,000 with
``--quick``): the pid and timestamp checks against loading the skeleton, the keyframe schema
check against decoding the keyframe, and decoding payloads with the hash-collision and
nesting checks against msgpack alone.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import time
from collections.abc import Callable, Iterator

import msgpack

from benchmarks._harness import Figure, benchmark, interleaved
from benchmarks._sessions import ensure_synthetic
from fuzz import corpus
from recorder.payload import EXT_TUPLE, decode_payload
from recorder.payload._decode import _ext_hook
from recorder.session.columns import check_columns
from recorder.session.format import SessionFormatError
from recorder.session.frames import decode_block, decode_map_block
from recorder.session.reader import SessionReader
from recorder.session.worldcheck import normalize_world

_SESSIONS = corpus.CORPUS / "sessions"


def _best(fn: Callable[[], object], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _open_and_load(name: str) -> Callable[[], None]:
    def run() -> None:
        try:
            with SessionReader(_SESSIONS / f"{name}.cinema") as r:
                r.skeleton()
                r.refs()
        except SessionFormatError:
            pass

    return run


@benchmark("hostile", help="hostile input refused in proportion to the file; the checks' price")
def run(quick: bool) -> Iterator[Figure]:
    good = _open_and_load("good")
    for name in ("footer-2e32-events", "zstd-bombs"):
        value, base = interleaved(_open_and_load(name), good, rounds=5)
        yield Figure(f"open + skeleton: {name}", value * 1e3, "ms", base * 1e3,
                     goal="milliseconds (was: 32 GiB allocation / MemoryError)",
                     note="baseline: the same on the honest corpus session")  # fmt: skip

    pairs = list(corpus.colliding_pairs(2000))
    colliding = msgpack.packb(
        {msgpack.ExtType(EXT_TUPLE, msgpack.packb([a, b])): 0 for a, b in pairs}
    )
    honest = msgpack.packb({msgpack.ExtType(EXT_TUPLE, msgpack.packb([a, a])): 0 for a, _ in pairs})

    def refuse() -> None:
        with contextlib.suppress(ValueError):
            decode_payload(colliding)

    value, base = interleaved(refuse, lambda: decode_payload(honest), rounds=7)
    yield Figure("2,000 colliding map keys, refused", value * 1e3, "ms", base * 1e3,
                 goal="linear: ratio ~1 (was quadratic)",
                 note="baseline: decoding 2,000 honest tuple keys")  # fmt: skip

    from cinema.model.pattern import compile_regex

    rx = compile_regex("(a+)+$")
    slow = re.compile("(a+)+$")
    value = _best(lambda: rx.search("a" * 40 + "b"), 20)
    base = _best(lambda: slow.search("a" * 18 + "b"), 3)
    yield Figure("(a+)+$ over 40 characters, RE2", value * 1e6, "us", base * 1e6,
                 note="baseline: Python re over 18 characters (x2 per character)")  # fmt: skip

    from cinema.model.expr import ExprError, parse

    def deep() -> None:
        with contextlib.suppress(ExprError):
            parse("+".join(["1"] * 2000))

    value, base = interleaved(deep, lambda: parse("+".join(["1"] * 100)), rounds=7)
    yield Figure("2,000-link chain, refused at parse time", value * 1e3, "ms", base * 1e3,
                 note="baseline: parsing a 100-link chain")  # fmt: skip

    yield from _honest_costs(200_000 if quick else 1_000_000)


def _honest_costs(n: int) -> Iterator[Figure]:
    path = ensure_synthetic(n, 5000)
    with SessionReader(path) as r:
        load = _best(lambda: SessionReader(path).skeleton(), 3)
        sk = r.skeleton()
        checks = _best(lambda: check_columns(0, sk.ts, sk.pid, sk.peer, 0, 1 << 22), 5)
        yield Figure(
            f"pid and time checks, {n:,}-event skeleton",
            checks * 1e3,
            "ms",
            load * 1e3,
            note="baseline: loading that skeleton, checks included",
        )
        if r.keyframe_seqs:
            i = r._ix.kf_frames[len(r.keyframe_seqs) // 2]
            h = r._header(i)
            raw = decode_block(h, r._body(i, h), 0, r._decompress)
            world = decode_map_block(h, raw)["world"]
            decode = _best(lambda: decode_map_block(h, raw), 3)
            norm = _best(lambda: normalize_world(world, 1 << 22), 5)
            yield Figure("keyframe schema check", norm * 1e3, "ms", decode * 1e3,
                         note="baseline: decoding that keyframe's map")  # fmt: skip
        step = max(r.event_count // 20000, 1)
        blobs = [r.payload_bytes(s) for s in range(0, r.event_count, step)]
    blobs = [b for b in blobs if b]

    def ours() -> None:
        for b in blobs:
            decode_payload(b)

    def plain() -> None:
        for b in blobs:
            msgpack.unpackb(b, ext_hook=_ext_hook, strict_map_key=False, raw=False)

    value, base = interleaved(ours, plain, rounds=5)
    yield Figure(
        f"decode {len(blobs):,} payloads with the checks",
        value * 1e3,
        "ms",
        base * 1e3,
        note="baseline: msgpack, same extension types, no checks",
    )
