"""Adaptive time units: exact offsets, short durations, axis labels without huge numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cinema.views.timefmt import axis_labels, format_duration, format_offset


def test_offsets_pick_the_unit_and_keep_every_nanosecond() -> None:
    assert format_offset(0) == "0 s"
    assert format_offset(280_019_000) == "280.019 ms"
    assert format_offset(2_520_036_500) == "2.5200365 s"
    assert format_offset(2_520_000_000) == "2.52 s"
    assert format_offset(1_500) == "1.5 µs"
    assert format_offset(300) == "300 ns"
    assert format_offset(280_019_000, sign=True) == "+280.019 ms"
    assert format_offset(-1_000_000) == "-1 ms"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_offsets_read_back_exactly(ns: int) -> None:
    text = format_offset(ns)
    number, unit = text.split(" ")
    scale = {"s": 10**9, "ms": 10**6, "µs": 10**3, "ns": 1}[unit]
    whole, _, frac = number.lstrip("-").partition(".")
    digits = len(str(scale)) - 1
    value = int(whole) * scale + (int(frac.ljust(digits, "0")) if frac else 0)
    assert (-value if number.startswith("-") else value) == ns
    assert abs(float(number)) >= 1 or ns == 0 or unit == "ns"


def test_durations_are_short() -> None:
    assert format_duration(1_234_567_890) == "1.23 s"
    assert format_duration(15_000) == "15.0 µs"
    assert format_duration(999) == "999 ns"


def test_axis_labels_use_one_unit_and_the_decimals_the_spacing_needs() -> None:
    # deep zoom at 2.52 s: seconds with microsecond decimals, never millions of µs
    ticks = [2.520036, 2.520037, 2.520038]
    assert axis_labels(ticks, 1e-6) == ["2.520036 s", "2.520037 s", "2.520038 s"]
    assert axis_labels([0.0, 0.05, 0.1], 0.05) == ["0 ms", "50 ms", "100 ms"]
    assert axis_labels([0.0, 0.5, 1.0, 1.5], 0.5) == ["0.0 s", "0.5 s", "1.0 s", "1.5 s"]
    assert axis_labels([0.0002, 0.0004], 0.0002) == ["200 µs", "400 µs"]
    assert axis_labels([], 1.0) == []


@given(
    st.floats(min_value=0, max_value=1e5, allow_nan=False),
    st.sampled_from([1e-9, 1e-7, 1e-6, 1e-4, 1e-3, 0.01, 0.5, 1, 10]),
)
def test_axis_labels_stay_short_and_distinct(start: float, spacing: float) -> None:
    ticks = [start + i * spacing for i in range(4)]
    labels = axis_labels(ticks, spacing)
    assert all(len(label.split(" ")[0]) <= 16 for label in labels), labels
    if start < 1e4 or spacing >= 1e-3:  # float seconds resolve the spacing
        assert len(set(labels)) == 4, labels
