"""The ``encode`` benchmark runs and reports every figure it promises (not a timed test)."""

from __future__ import annotations

import math

from benchmarks.bench_encode import hostile_values, run, typical_values
from recorder.payload import DEFAULT_LIMITS, NATIVE, decode_payload, encode_payload


def test_the_typical_values_fit_their_limits_and_the_hostile_ones_decode() -> None:
    for name, (value, _plain) in typical_values().items():
        data = encode_payload(value)
        assert len(data) < DEFAULT_LIMITS.max_bytes, name  # measured whole, not cut
        assert b"\xa5items" not in data and b"\xa4size" not in data, name
    for value in hostile_values().values():
        decode_payload(encode_payload(value))


def test_the_quick_run_yields_every_figure() -> None:
    figures = list(run(quick=True))
    names = [f.figure for f in figures]
    assert sum("pure-Python" in n for n in names) >= 5
    assert any("worst hostile value" in n for n in names)
    assert any("EventBuffer.emit" in n for n in names)
    if NATIVE:
        assert sum("native" in n for n in names) >= 5
    for f in figures:
        assert math.isfinite(f.value) and f.value > 0 and f.baseline
