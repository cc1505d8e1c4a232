"""The native byte scan that lets ``decode_payload`` skip its Python-level checks: it never
finds fewer levels than the decoded value has, it says "unsure" (-2) for whatever the careful
path must decide, and decoding gives the same values and the same refusals with and without it.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.payload import (
    EXT_ENUM,
    EXT_OPAQUE,
    EXT_PID,
    EXT_RECORD,
    EXT_TRUNCATED,
    EXT_TUPLE,
    EnumValue,
    Limits,
    PayloadError,
    Record,
    Truncated,
    _decode,
    decode_payload,
    encode_payload,
)
from recorder.payload._decode import _HASH_CHECK, MAX_NESTING, _unpack

from .conftest import native

pytestmark = pytest.mark.skipif(
    native is None or not hasattr(native, "scan"), reason="the native module is not built"
)
TOO_DEEP, UNSURE = -1, -2


def scan(data: bytes, limit: int = MAX_NESTING) -> int:
    assert native is not None
    return native.scan(data, limit, _HASH_CHECK)


def levels(v: Any) -> int:
    """Levels of containers of a decoded value, counted as ``_decode._too_deep`` counts."""
    t = type(v)
    if t is dict:
        children = list(v.values())
    elif t in (list, tuple, set, frozenset):
        children = list(v)
    elif t is Record:
        children = [x for _, x in v.fields]
    elif t is EnumValue:
        children = [v.value]
    elif t is Truncated:
        children = [v.preview]
    else:
        return 0
    return 1 + max(map(levels, children), default=0)


class Color(enum.Enum):
    RED = (1, [2, {"x": (3,)}])


@dataclasses.dataclass
class Box:
    inner: Any
    other: Any = None


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=5), st.binary(max_size=5), st.just(Color.RED),
)  # fmt: skip
values = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.tuples(kids, kids),
        st.dictionaries(st.text(max_size=3), kids, max_size=4),
        st.dictionaries(st.floats(allow_nan=False), kids, max_size=3),
        st.dictionaries(st.tuples(st.integers(), st.integers()), kids, max_size=3),
        st.frozensets(st.integers(), max_size=3),
        st.builds(Box, kids, kids),
    ),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([3, 8, 24, 200]), st.sampled_from([2, 1000]))
def test_the_scan_never_finds_fewer_levels_than_the_value_has(
    value: Any, depth: int, items: int
) -> None:
    data = encode_payload(value, Limits(max_depth=depth, max_items=items))
    if not data:
        return
    want = levels(_unpack(data))
    got = scan(data)
    assert got == UNSURE or got >= want or (got == TOO_DEEP and want <= MAX_NESTING)
    if want <= MAX_NESTING and got >= 0:
        # and decoding after the scan is the same value as the careful decode
        assert decode_payload(data) == _unpack(data)
    for limit in (want - 1, want):
        if limit >= 0:
            got = scan(data, limit)
            assert got in (UNSURE, TOO_DEEP) or want <= got <= limit


def test_levels_are_counted_as_the_decoder_counts_them() -> None:
    cases: list[tuple[Any, int]] = [
        (5, 0), ([], 1), ([[]], 2), ({"a": {"b": []}}, 3), ({(1, (2, (3,))): 1}, 1),
        ((1, [2]), 2), (Box([1]), 2), (Color.RED, 5), (frozenset({1}), 1),
    ]  # fmt: skip
    for value, want in cases:
        data = encode_payload(value)
        assert levels(_unpack(data)) == want, value
        assert scan(data) == want, value
    truncated = encode_payload([[[[1]]]], Limits(max_depth=2))
    assert scan(truncated) == levels(_unpack(truncated)) == 3  # list, list, Truncated


@pytest.mark.parametrize("n", [1, 255, 256, 257, 100_000])
def test_nested_lists_at_the_limit(n: int) -> None:
    data = b"\x91" * n + b"\x00"
    assert scan(data) == (n if n <= MAX_NESTING else TOO_DEEP)


def _ext_chain(levels: int, code: int = EXT_TUPLE) -> bytes:
    data = msgpack.packb([1])
    for _ in range(levels):
        data = msgpack.packb(msgpack.ExtType(code, b"\x91" + data))
    return data


def test_what_the_careful_path_must_decide_is_unsure() -> None:
    deep_key = b"\x81" + b"\x91" * 100_000 + b"\x00" + b"\x00"
    keys = {msgpack.ExtType(EXT_TUPLE, msgpack.packb([i, i])): 0 for i in range(_HASH_CHECK + 1)}
    floats = {float(i) + 0.5: 0 for i in range(_HASH_CHECK + 1)}
    in_a_key = msgpack.packb([msgpack.ExtType(EXT_TUPLE, msgpack.packb([keys]))])
    in_a_name = msgpack.ExtType(EXT_RECORD, msgpack.packb([keys, {}]))
    for data in (
        _ext_chain(100),  # extensions nested past MAX_DECODE_DEPTH
        deep_key,
        msgpack.packb(keys),  # more extension keys than _HASH_CHECK
        msgpack.packb(floats),
        in_a_key,  # a map built inside a key before the key is found unhashable
        msgpack.packb(in_a_name),
        b"\xc1",  # never used
        b"\x92\x01",  # incomplete
        b"\x00\x00",  # trailing bytes
        msgpack.packb(msgpack.ExtType(EXT_TUPLE, b"\x91\x01\x02")),  # extra bytes inside
        msgpack.packb(msgpack.ExtType(EXT_ENUM, msgpack.packb([1, 2]))),  # wrong arity
    ):
        assert scan(data) == UNSURE, data[:20]
    assert scan(msgpack.packb(dict(list(keys.items())[:_HASH_CHECK]))) == 1
    # plain keys never make the scan unsure: their hashes cannot be chosen to collide
    assert scan(msgpack.packb({f"k{i}": i for i in range(5000)} | {"n": list(range(9))})) == 2


def test_leaf_extensions_are_not_levels_and_their_bodies_are_unpacked_carefully() -> None:
    keys = {msgpack.ExtType(EXT_TUPLE, msgpack.packb([a, b])): 0 for a, b in _pairs(40)}
    hidden = msgpack.packb([msgpack.ExtType(EXT_OPAQUE, msgpack.packb(["x", keys]))])
    assert scan(hidden) == 1  # the scan skips an Opaque's body...
    with pytest.raises(PayloadError, match="chosen to collide"):
        decode_payload(hidden)  # ...and the decoder unpacks it with every check
    pid = msgpack.packb([msgpack.ExtType(EXT_PID, msgpack.packb(7))])
    assert scan(pid) == 1


def _pairs(n: int) -> Iterator[tuple[int, int]]:
    from fuzz.corpus import colliding_pairs

    return colliding_pairs(n)


def test_random_bytes_never_crash_the_scan_and_decode_the_same_either_way() -> None:
    rng = random.Random(13)
    seeds = [encode_payload(v) for v in ([1, {"a": (2, 3)}], Box([Color.RED]), {1.5: [b"x"]})]
    seeds += [_ext_chain(3), msgpack.packb(msgpack.ExtType(EXT_TRUNCATED, b"\x93\xa1x\x01\x90"))]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data) + 1)]
        got = scan(bytes(data))
        assert got >= UNSURE
        fast = _outcome(bytes(data))
        _decode.use_scanner(None)
        try:
            careful = _outcome(bytes(data))
        finally:
            _decode.use_scanner(native.scan if native is not None else None)
        assert fast == careful, bytes(data)


def _outcome(data: bytes) -> Any:
    try:
        return ("ok", repr(decode_payload(data)))
    except PayloadError:
        return ("refused",)


def test_decode_payload_takes_the_fast_path_for_honest_payloads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def pairs(items: list[tuple[Any, Any]]) -> dict[Any, Any]:
        calls.append(1)
        return dict(items)

    monkeypatch.setattr(_decode, "_pairs", pairs)
    value = {"rows": [{"pid": i, "name": f"w{i}", "links": [i, i + 1]} for i in range(1000)]}
    data = encode_payload(value, Limits(max_items=5000, max_bytes=1 << 20))
    assert decode_payload(data) == value
    assert calls == []  # no Python call per map
    _decode.use_scanner(None)
    try:
        assert decode_payload(data) == value
    finally:
        _decode.use_scanner(native.scan if native is not None else None)
    assert len(calls) == 1001
