"""The bounds of an encoding: what each limit cuts, the marker it leaves, and that the output
and the work stay proportional to the limits whatever the value (issue 17)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from recorder.payload import DEFAULT_LIMITS, Limits, Pid, Record, Truncated, decode_payload

from .conftest import Encode


def dec(encode: Encode, v: Any, lim: Limits = DEFAULT_LIMITS) -> Any:
    return decode_payload(encode(v, lim))


def test_limits_must_be_positive_ints() -> None:
    for bad in ({"max_items": 0}, {"max_depth": 201}, {"max_bytes": -1}, {"max_nodes": 1.5}):
        with pytest.raises(ValueError):
            Limits(**bad)  # type: ignore[arg-type]


def test_a_container_keeps_max_items_entries_marker_included(encode: Encode) -> None:
    lim = Limits(max_items=4)
    assert dec(encode, list(range(10)), lim) == [0, 1, 2, Truncated("items", 10)]
    assert dec(encode, tuple(range(10)), lim) == (0, 1, 2, Truncated("items", 10))
    assert dec(encode, list(range(4)), lim) == [0, 1, 2, 3]
    d = dec(encode, {i: i for i in range(10)}, lim)
    assert d == {0: 0, 1: 1, 2: 2, "\u2026": Truncated("items", 10)}
    s = dec(encode, set(range(10)), lim)
    assert len(s) == 4 and Truncated("items", 10) in s


def test_records_are_cut_like_maps(encode: Encode) -> None:
    class Many:
        def __init__(self) -> None:
            for i in range(50):
                setattr(self, f"f{i}", i)

    rec = dec(encode, Many(), Limits(max_items=5))
    assert isinstance(rec, Record) and len(rec.fields) == 5
    assert rec.as_dict()["\u2026"] == Truncated("items", 50)


def test_strings_and_bytes_keep_a_preview(encode: Encode) -> None:
    lim = Limits(max_str=4)
    assert dec(encode, "abcdefgh", lim) == Truncated("str", 8, "abcd")
    assert dec(encode, b"abcdefgh", lim) == Truncated("bytes", 8, b"abcd")
    assert dec(encode, "abcd", lim) == "abcd"


def test_depth_is_cut_with_the_type_named(encode: Encode) -> None:
    @dataclasses.dataclass
    class Box:
        inner: Any

    out = dec(encode, [[[[1]]], Box(Box(Box(1)))], Limits(max_depth=3))
    assert out[0][0][0] == Truncated("depth", 1, "list")
    inner = out[1].as_dict()["inner"].as_dict()["inner"]
    assert isinstance(inner, Truncated) and inner.what == "depth" and inner.preview.endswith("Box")


def test_a_container_met_again_is_a_marker(encode: Encode) -> None:
    cyc: list[Any] = [1]
    cyc.append(cyc)
    assert dec(encode, cyc) == [1, Truncated("cycle", 2, "list")]
    shared = [1, 2]
    d = {"a": shared}
    out = dec(encode, {"x": shared, "y": shared, "d1": d, "d2": d})
    assert out["x"] == [1, 2] and out["y"] == Truncated("shared", 2, "list")
    assert out["d2"] == Truncated("shared", 1, "dict")
    t = (1, Pid(2))
    assert dec(encode, [t, t, t]) == [t, t, t]  # immutable: expanded every time


def test_the_byte_budget_counts_what_is_written_markers_included(encode: Encode) -> None:
    lim = Limits(max_bytes=1000, max_items=100_000, max_nodes=1_000_000)
    data = encode(list(range(100_000)), lim)
    assert 1000 <= len(data) <= 1000 + 32
    out = decode_payload(data)
    assert out[-1].what == "size" and out[-1].size + len(out) - 1 == 100_000
    # shared immutable structure: once the budget is spent, every open container ends at once
    dag: Any = "leaf"
    for _ in range(30):
        dag = (dag, dag, dag)
    data = encode(dag, lim)
    assert len(data) <= 1000 + 30 * 20


def test_the_node_budget_bounds_the_work(encode: Encode) -> None:
    lim = Limits(max_nodes=500, max_bytes=1 << 30, max_items=1 << 20)
    dag: Any = 1
    for _ in range(40):  # 2**40 leaves if expanded
        dag = (dag, dag)
    t0 = time.perf_counter()
    data = encode(dag, lim)
    assert time.perf_counter() - t0 < 0.5
    assert b"nodes" in data
    assert data.count(b"\x01") <= 500  # the leaves written


def test_structural_markers_are_never_cut_again(encode: Encode) -> None:
    from recorder.payload import to_structural

    lim = Limits(max_bytes=200)
    value = [["x" * 50] * 20, list(range(50))]
    once = encode(value, lim)
    assert encode(to_structural(value, lim), lim) == once
