"""The safe payload codec: structural round-trips, visible truncation, hostile bytes."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import itertools
import math
from collections import OrderedDict, namedtuple

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.payload import (
    EXT_TUPLE,
    EnumValue,
    Limits,
    Opaque,
    PayloadError,
    Pid,
    Record,
    Ref,
    Truncated,
    decode_payload,
    encode_payload,
)

# The nested strategies below have a long repr; hypothesis warns about building it. Harmless.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
    | st.binary(max_size=50)
    | st.builds(Pid, st.integers(0, 2**32 - 1))
    | st.builds(Ref, st.integers(0, 2**62))
)
hashables = st.recursive(
    scalars.filter(lambda v: not isinstance(v, float) or not math.isinf(v)),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4),
    max_leaves=8,
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.lists(inner, max_size=6).map(tuple)
        | st.dictionaries(hashables, inner, max_size=6)
        | st.sets(hashables, max_size=6)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_structural_values_round_trip_exactly(value: object) -> None:
    assert decode_payload(encode_payload(value)) == value


@given(values)
def test_types_survive_the_round_trip(value: object) -> None:
    def shape(v: object) -> object:
        if isinstance(v, (list, tuple)):
            return (type(v).__name__, [shape(x) for x in v])
        if isinstance(v, dict):
            return ("dict", sorted(repr(shape(x)) for x in v.values()))
        if isinstance(v, (set, frozenset)):
            return (type(v).__name__, len(v))
        return type(v).__name__

    assert shape(decode_payload(encode_payload(value))) == shape(value)


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        decode_payload(data)


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Account:
    owner: str
    balance: int
    history: list[int]


Point = namedtuple("Point", "x y")


class Plain:
    def __init__(self) -> None:
        self.a = 1
        self.b = ("x", 2)


class Unreprable:
    __slots__ = ()

    def __repr__(self) -> str:
        raise RuntimeError("boom")


def test_objects_become_display_records_not_live_objects() -> None:
    acc = decode_payload(encode_payload(Account("ann", 10, [1, 2])))
    assert isinstance(acc, Record)
    assert acc.type_name.endswith("Account")
    assert acc.as_dict() == {"owner": "ann", "balance": 10, "history": [1, 2]}
    assert decode_payload(encode_payload(Point(1, 2))).as_dict() == {"x": 1, "y": 2}
    assert decode_payload(encode_payload(Plain())).as_dict() == {"a": 1, "b": ("x", 2)}
    color = decode_payload(encode_payload(Color.RED))
    assert isinstance(color, EnumValue) and (color.name, color.value) == ("RED", 1)
    err = decode_payload(encode_payload(ValueError("bad", 3)))
    assert isinstance(err, Record) and err.as_dict() == {"args": ("bad", 3)}
    assert decode_payload(encode_payload(OrderedDict(a=1))) == {"a": 1}


def test_unknown_objects_fall_back_to_a_bounded_repr() -> None:
    op = decode_payload(encode_payload(object()))
    assert isinstance(op, Opaque) and op.text.startswith("<object object")
    broken = decode_payload(encode_payload(Unreprable()))
    assert isinstance(broken, Opaque) and "repr failed" in broken.text
    long_repr = decode_payload(encode_payload(range(10**6), Limits(max_repr=20)))
    assert isinstance(long_repr, Opaque) and len(long_repr.text) <= 20


def test_limits_leave_visible_markers() -> None:
    lim = Limits(max_depth=3, max_items=5, max_str=10, max_bytes=10_000)
    s = decode_payload(encode_payload("x" * 100, lim))
    assert s == Truncated("str", 100, "x" * 10)
    items = decode_payload(encode_payload(list(range(100)), lim))
    # max_items entries in all, the marker included: encoding the result again changes nothing
    assert items == [0, 1, 2, 3, Truncated("items", 100, None)]
    deep = decode_payload(encode_payload([[[[[1]]]]], lim))
    assert deep[0][0][0].what == "depth"
    d = decode_payload(encode_payload({i: i for i in range(20)}, lim))
    assert len(d) == 5 and d["\u2026"].what == "items"


def test_total_size_is_bounded() -> None:
    big = [("item", i, "x" * 100) for i in range(10_000)]
    encoded = encode_payload(big, Limits(max_bytes=5_000, max_items=100_000))
    assert len(encoded) < 20_000
    decoded = decode_payload(encoded)
    assert any(isinstance(x, Truncated) for x in decoded)


def test_cycles_are_cut_not_fatal() -> None:
    a: list[object] = [1]
    a.append(a)
    out = decode_payload(encode_payload(a))
    assert out[0] == 1
    depth = 0
    while isinstance(out, list) and len(out) > 1:
        out = out[1]
        depth += 1
    assert isinstance(out, Truncated) and depth <= Limits().max_depth + 1


def test_hostile_extension_nesting_is_refused() -> None:
    data = msgpack.packb([1])
    for _ in range(200):
        data = msgpack.packb(msgpack.ExtType(EXT_TUPLE, data))
    with pytest.raises(PayloadError, match="nested deeper"):
        decode_payload(data)


@pytest.mark.parametrize(
    "bad",
    [
        msgpack.packb(msgpack.ExtType(6, msgpack.packb("not an int"))),
        msgpack.packb(msgpack.ExtType(4, msgpack.packb([1]))),
        msgpack.packb(msgpack.ExtType(10, msgpack.packb("12; import os"))),
        msgpack.packb(msgpack.ExtType(2, msgpack.packb([[1, 2]]))),
        b"\xc1",
        b"\x92\x01",
    ],
)
def test_malformed_extensions_are_payload_errors(bad: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_payload(bad)


def test_unknown_extension_codes_decode_to_an_opaque_marker() -> None:
    value = decode_payload(msgpack.packb(msgpack.ExtType(99, b"abc")))
    assert isinstance(value, Opaque) and "unknown extension 99" in value.text


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        values | st.builds(Account, st.text(max_size=3), st.integers(), st.just([])), max_size=30
    )
)
def test_batch_encoding_decodes_like_one_by_one(batch: list[object]) -> None:
    from recorder.payload import encode_many

    offsets, data = encode_many(batch)
    assert len(offsets) == len(batch) + 1 and offsets[0] == 0 and offsets[-1] == len(data)
    got = [decode_payload(data[a:b]) for a, b in itertools.pairwise(offsets)]
    assert got == [decode_payload(encode_payload(v)) for v in batch]


def test_encoding_a_structural_value_again_changes_nothing_above_the_fast_path_size() -> None:
    """A state frozen by to_structural and packing to well over 1000 bytes used to be walked a
    second time and decoded as ``Record("msgpack.ext.ExtType", ...)``."""
    from recorder.payload import freeze, to_structural

    value = {"children": [("child", i, {i, i + 1}, Pid(i)) for i in range(200)]}
    expected = decode_payload(encode_payload(value))
    assert decode_payload(encode_payload(to_structural(value))) == expected
    frozen = freeze(value)
    assert freeze(frozen) is frozen
    assert encode_payload(frozen) == encode_payload(value)
    assert decode_payload(encode_payload({"state": frozen})) == {"state": expected}


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True),
        st.text(max_size=50),
        st.text(alphabet=st.characters(max_codepoint=127), min_size=4090, max_size=4100),
        st.just("\ud800 lone"),
    )
)
@settings(max_examples=300, deadline=None)
def test_to_structural_of_scalars_is_the_encoded_value_read_back(value: object) -> None:
    """The scalar shortcuts of to_structural (values msgpack packs as they are) give what the
    encoder's bytes read back give: cut strings, replaced surrogates and all."""
    from recorder.payload import to_structural

    data = encode_payload(value)
    expected = msgpack.unpackb(data, raw=False) if data else None
    got = to_structural(value)
    assert type(got) is type(expected)
    assert msgpack.packb(got, use_bin_type=True) == msgpack.packb(expected, use_bin_type=True)
