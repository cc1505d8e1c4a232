"""EventBuffer: events stamped and encoded on emit, taken as column batches; a batch becomes
the same EVENTS frame as encode_events over the same events."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from recorder.payload import (
    DEFAULT_LIMITS,
    NATIVE,
    EventBuffer,
    Pid,
    decode_payload,
    encode_payload,
)
from recorder.session.frames import Compressor, encode_batch, encode_events


def _counter(start: int = 1000, step: int = 7) -> object:
    it = itertools.count(start, step)
    return lambda: next(it)


EVENTS = [
    (0, 1, 0xFFFFFFFF, 0, {"name": "a", "behaviour": "gen_server"}),
    (3, 1, 2, 5, ("deposit", 100, Pid(2))),
    (4, 2, 1, 5, None),
    (11, 2, 0xFFFFFFFF, 0, {"trigger": "call", "state": {"balance": 100, "log": [1, 2, 3]}}),
    (3, 2, 1, 6, "x" * 5000),
    (2, 1, 0xFFFFFFFF, 0, {"reason": ValueError("boom")}),
]


def _rows(clock: object) -> list[tuple[int, int, int, int, int, object]]:
    return [(clock(), k, p, q, r, d) for k, p, q, r, d in EVENTS]  # type: ignore[operator]


def test_the_public_buffer_is_the_native_one_when_built() -> None:
    assert (EventBuffer.__module__ == "recorder._native._core") == NATIVE


@pytest.mark.parametrize("level", [None, 1])
def test_a_batch_is_the_frame_encode_events_writes(level: int | None, buffer_class: Any) -> None:
    buf = buffer_class(_counter())
    for ev in EVENTS:
        buf.emit(*ev)
    assert len(buf) == len(EVENTS)
    batch = buf.take()
    assert len(buf) == 0 and buf.nbytes == 0
    comp = Compressor(level)
    frame, kinds = encode_batch(batch, 17, comp)
    want, want_kinds = encode_events(_rows(_counter()), 17, comp)
    assert frame == want and kinds == want_kinds


def test_columns_hold_each_event_and_payloads_decode(buffer_class: Any) -> None:
    buf = buffer_class(_counter())
    for ev in EVENTS:
        buf.emit(*ev)
    assert buf.nbytes == sum(len(encode_payload(d)) for *_, d in EVENTS)
    batch = buf.take()
    assert batch.count == len(batch) == len(EVENTS)
    assert batch.column("ts") == [1000 + 7 * i for i in range(len(EVENTS))]
    assert batch.column("kind") == [e[0] for e in EVENTS]
    assert batch.column("pid") == [e[1] for e in EVENTS]
    assert batch.column("peer") == [e[2] for e in EVENTS]
    assert batch.column("ref") == [e[3] for e in EVENTS]
    offsets = batch.column("offsets")
    assert offsets[0] == 0 and offsets[-1] == len(batch.payloads) and len(offsets) == 7
    for i, (*_, data) in enumerate(EVENTS):
        assert batch.payload(i) == encode_payload(data)
    assert decode_payload(batch.payload(1)) == ("deposit", 100, Pid(2))
    assert batch.payload(2) == b""  # None: no payload


def test_out_of_range_fields_wrap_instead_of_raising(buffer_class: Any) -> None:
    buf = buffer_class(lambda: 2**64 + 5)
    buf.emit(256 + 3, -1, 2**40 + 1, -(2**63) - 1, object())
    b = buf.take()
    assert b.column("ts") == [5]
    assert b.column("kind") == [3]
    assert b.column("pid") == [0xFFFFFFFF]
    assert b.column("peer") == [1]
    assert b.column("ref") == [2**63 - 1]


def test_an_empty_take_is_an_empty_batch(buffer_class: Any) -> None:
    b = buffer_class().take()
    assert b.count == 0 and b.payloads == b"" and b.column("offsets") == [0]
    with pytest.raises(ValueError):
        encode_batch(b, 0, Compressor(None))


def test_emit_captures_the_value_as_it_was(buffer_class: Any) -> None:
    buf = buffer_class(_counter())
    state = {"n": 1}
    buf.emit(11, 1, 0, 0, state)
    state["n"] = 2
    assert decode_payload(buf.take().payload(0)) == {"n": 1}


def test_concurrent_emits_and_takes_lose_and_split_nothing(buffer_class: Any) -> None:
    buf = buffer_class()
    n_threads, per_thread = 3, 3000
    batches = []
    done = threading.Event()

    def taker() -> None:
        while not done.is_set():
            batches.append(buf.take())
            time.sleep(0.0002)
        batches.append(buf.take())

    def emitter(t: int) -> None:
        for i in range(per_thread):
            buf.emit(t, t, i, i, (t, i))

    th = threading.Thread(target=taker)
    th.start()
    workers = [threading.Thread(target=emitter, args=(t,)) for t in range(n_threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    th.join()
    seen = []
    for b in batches:
        for i, (k, p, q, r) in enumerate(
            zip(b.column("kind"), b.column("pid"), b.column("peer"), b.column("ref"), strict=True)
        ):
            assert k == p and q == r
            assert decode_payload(b.payload(i)) == (k, q)
            seen.append((k, q))
    assert sorted(seen) == sorted((t, i) for t in range(n_threads) for i in range(per_thread))


def test_keywords_defaults_and_properties(buffer_class: Any) -> None:
    clock = _counter()
    buf = buffer_class(clock=clock, limits=DEFAULT_LIMITS)
    assert buf.clock is clock and buf.limits is DEFAULT_LIMITS
    buf.emit(3, 1)
    buf.emit(kind=4, pid=2, data=[1])
    buf.emit(5, 3, ref=9)
    b = buf.take()
    assert b.column("peer") == [0xFFFFFFFF] * 3 and b.column("ref") == [0, 0, 9]
    assert b.payload(0) == b"" and decode_payload(b.payload(1)) == [1]
    with pytest.raises(TypeError):
        buf.emit(1)
    with pytest.raises(TypeError):
        buf.emit("kind", 1)
    with pytest.raises(TypeError):
        buffer_class(limits=object())


def test_a_data_that_raises_a_signal_records_nothing(buffer_class: Any) -> None:
    class Interrupt:
        __slots__ = ()

        def __repr__(self) -> str:
            raise KeyboardInterrupt

    buf = buffer_class(_counter())
    buf.emit(1, 1, data="before")
    with pytest.raises(KeyboardInterrupt):
        buf.emit(1, 2, data=[Interrupt()])
    buf.emit(1, 3, data="after")
    b = buf.take()
    assert b.column("pid") == [1, 3]
    assert [decode_payload(b.payload(i)) for i in range(2)] == ["before", "after"]


def test_the_monotonic_clock_is_read_in_c_and_agrees_with_time(buffer_class: Any) -> None:
    buf = buffer_class()  # time.monotonic_ns: read without a Python call by the native buffer
    t0 = time.monotonic_ns()
    buf.emit(1, 1)
    t1 = time.monotonic_ns()
    (ts,) = buf.take().column("ts")
    assert t0 <= ts <= t1


def test_a_user_repr_that_emits_into_the_same_buffer_leaves_both_events_whole(
    buffer_class: Any,
) -> None:
    buf = buffer_class(_counter())

    class Reentrant:
        __slots__ = ()

        def __repr__(self) -> str:
            buf.emit(2, 2, data={"inner": "event"})
            return "reentrant"

    buf.emit(1, 1, data=["outer", Reentrant()])
    b = buf.take()
    assert b.column("pid") == [2, 1]  # the inner one finished first
    assert decode_payload(b.payload(0)) == {"inner": "event"}
    assert decode_payload(b.payload(1))[0] == "outer"


def test_on_threshold_calls_the_slow_path_back_once_per_crossing(buffer_class: Any) -> None:
    # The recorder's hot path is the buffer's own emit: it calls the slow path back when the
    # buffer reaches its threshold, and never re-enters it (the slow path emits too).
    buf = buffer_class(_counter())
    assert buf.on_threshold is None and buf.threshold >= 1 << 62
    seen: list[int] = []

    def slow_path() -> None:
        seen.append(len(buf))
        buf.emit(19, 0xFFFFFFFF, data={"count": 1})  # not a second call
        buf.threshold = len(buf) + 3

    buf.threshold = 2
    buf.on_threshold = slow_path
    for i in range(8):
        buf.emit(3, 1, 2, i + 1, ("m", i))
    assert seen == [2, 6, 10]
    assert len(buf) == 11
    buf.on_threshold = None
    buf.emit(3, 1)
    assert seen == [2, 6, 10]


def test_an_on_threshold_that_raises_keeps_the_event_and_raises(buffer_class: Any) -> None:
    buf = buffer_class(_counter())

    def closed() -> None:
        raise RuntimeError("closed")

    buf.threshold = 0
    buf.on_threshold = closed
    with pytest.raises(RuntimeError, match="closed"):
        buf.emit(3, 1, data="kept")
    assert decode_payload(buf.take().payload(0)) == "kept"
    with pytest.raises(TypeError):
        buf.on_threshold = 42
