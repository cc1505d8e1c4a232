"""``MonotonicClock``: ``time.monotonic_ns() - origin``, read by the native event buffer in C
(no Python call per event), and the same values through its pure-Python twin."""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest

from recorder.payload import _buffer
from tests.recorder.payload.conftest import IMPLS, native


def clock_class_of(name: str) -> Any:
    if name == "python":
        return _buffer.MonotonicClock
    if native is None:
        pytest.skip("the native encoder is not built")
    return native.MonotonicClock


@pytest.mark.parametrize("impl", IMPLS)
def test_the_clock_counts_from_its_origin(impl: str) -> None:
    clock_class = clock_class_of(impl)
    origin = time.monotonic_ns()
    clock = clock_class(origin)
    before = time.monotonic_ns() - origin
    value = clock()
    after = time.monotonic_ns() - origin
    assert before <= value <= after and clock.origin == origin
    assert clock_class().origin == 0 and abs(clock_class()() - time.monotonic_ns()) < 10**9
    assert repr(clock) == f"MonotonicClock(origin={origin})"


@pytest.mark.parametrize("impl", IMPLS)
def test_an_event_buffer_stamps_events_with_it(impl: str, buffer_class: Any) -> None:
    clock = clock_class_of(impl)(time.monotonic_ns() - 5_000)
    buf = buffer_class(clock)
    before = clock()
    buf.emit(1, 2)
    buf.emit(1, 3)
    after = clock()
    batch = buf.take()
    stamps = struct.unpack("<2q", batch.ts)
    assert before <= stamps[0] <= stamps[1] <= after
    assert buf.clock is clock


@pytest.mark.parametrize("impl", IMPLS)
def test_a_bad_origin_is_refused(impl: str) -> None:
    clock_class = clock_class_of(impl)
    with pytest.raises(TypeError):
        clock_class("0")
    with pytest.raises(OverflowError):
        clock_class(1 << 63)


def test_a_real_time_runtime_runs_on_it() -> None:
    from recorder.payload import MonotonicClock
    from recorder.sandbox import Runtime

    assert isinstance(Runtime(deterministic=False).clock, MonotonicClock)
    assert not isinstance(Runtime(deterministic=True).clock, MonotonicClock)
