"""Native vs pure-Python: the same bytes for every value and every limit; encoding is
idempotent (``to_structural`` then encode == encode) at every size; event buffers of both kinds
make the same frames as ``encode_events``."""

from __future__ import annotations

import collections
import dataclasses
import enum
import itertools
from typing import Any, NamedTuple

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder.payload import (
    DEFAULT_LIMITS,
    Limits,
    Packed,
    Pid,
    Record,
    Ref,
    _walk,
    decode_payload,
    to_structural,
)
from recorder.session.frames import Compressor, encode_batch, encode_events

from . import test_hostile
from .conftest import Encode, both, buffer_class_of

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


class Color(enum.Enum):
    RED = 1
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    R = 1
    W = 2


@dataclasses.dataclass
class Account:
    owner: Any
    balance: Any
    history: Any = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    a: Any
    b: Any


class Point(NamedTuple):
    x: Any
    y: Any


class Plain:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class MyStr(str):
    pass


class MyList(list):  # type: ignore[type-arg]
    pass


class MyDict(dict):  # type: ignore[type-arg]
    pass


class MyInt(int):
    pass


# Hostile objects that do not change themselves when encoded.
_HOSTILE_NAMES = [
    n
    for n in test_hostile.HOSTILE
    if n not in test_hostile._SELF_CHANGING
    and n not in test_hostile._SLOWER
    and "million" not in n
    and "huge" not in n
    and "100,000" not in n
]
_HOSTILE = {n: test_hostile.HOSTILE[n]() for n in _HOSTILE_NAMES}

texts = st.text(alphabet=st.characters(blacklist_categories=()), max_size=40) | st.sampled_from(
    [("a", 31), ("a", 32), ("é", 16), ("x", 255), ("y", 256), ("z", 4096), ("w", 4097)]
).map(lambda cn: cn[0] * cn[1])  # around the str8 / str16 / max_str thresholds
ints = (
    st.integers(-(2**64), 2**65)
    | st.sampled_from([-33, -32, -129, -128, 127, 128, 255, 256, 65535, 65536, 2**32, 2**63])
    | st.integers(-(10**60), 10**60)
    | st.sampled_from(["10**4095", "10**4096", "-(10**5000)", "1 << 14000", "1 << 14001"]).map(
        lambda text: eval(text)  # built here from the literals above
    )
)
scalars = (
    st.none()
    | st.booleans()
    | ints
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
    | st.binary(max_size=40)
    | st.builds(Pid, st.integers(0, 2**64 - 1) | st.integers(-(2**70), 2**70))
    | st.builds(Ref, st.integers(-(2**63), 2**63))
    | st.sampled_from([Color.RED, Color.BLUE, Level.HIGH, Perm.R | Perm.W, Perm(0)])
    | st.builds(MyStr, texts)
    | st.builds(MyInt, st.integers(-(2**70), 2**70))
)
hashables = st.recursive(
    scalars.filter(lambda v: _hashable(v)),
    lambda inner: (
        st.tuples(inner, inner)
        | st.frozensets(inner, max_size=4)
        | st.builds(Point, inner, inner)
        | st.builds(Frozen, inner, inner)
    ),
    max_leaves=8,
)


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except Exception:
        return False
    return True


def _containers(inner: st.SearchStrategy[Any], packed: bool = True) -> st.SearchStrategy[Any]:
    out = (
        st.lists(inner, max_size=8)
        | st.lists(inner, max_size=8).map(tuple)
        | st.dictionaries(hashables, inner, max_size=6)
        | st.sets(hashables, max_size=6)
        | st.frozensets(hashables, max_size=6)
        | st.builds(Account, inner, inner, st.lists(inner, max_size=4))
        | st.builds(Frozen, inner, inner)
        | st.builds(Point, inner, inner)
        | st.builds(lambda a, b: ValueError(a, b), inner, inner)
        | st.builds(lambda a, b: Plain(a=a, b=b), inner, inner)
        | st.builds(lambda kv: collections.OrderedDict(kv), st.lists(st.tuples(texts, inner)))
        | st.builds(MyList, st.lists(inner, max_size=4))
        | st.builds(MyDict, st.dictionaries(texts, inner, max_size=4))
        | st.binary(max_size=20).map(bytearray)
        | inner.map(lambda v: [v, v, (v,), {"again": v}])  # the same object, several times
        | inner.map(lambda v: [to_structural(v)])  # structural forms (ExtTypes) inside values
    )
    if packed:  # frozen with the default limits: verbatim whatever the limits of the encoding
        out = out | inner.map(lambda v: Packed(_walk.encode(v, DEFAULT_LIMITS)))
    return out


values = st.recursive(scalars, _containers, max_leaves=30)
# Encoding is idempotent for limits at least as large as those a value was frozen with; these
# values hold no Packed, so any limits go.
unfrozen = st.recursive(scalars, lambda inner: _containers(inner, packed=False), max_leaves=30)
# Hostile objects are mixed in by the tests, not drawn: hypothesis itself would trip on them.
hostile_names = st.lists(st.sampled_from(_HOSTILE_NAMES), max_size=4)


def _with_hostile(value: Any, names: list[str]) -> Any:
    if not names:
        return value
    objs = [_HOSTILE[n] for n in names]
    return [value, *objs, {"in": (value, objs[0]), "deep": [[objs[-1]]]}]


limits = st.just(DEFAULT_LIMITS) | st.builds(
    Limits,
    max_depth=st.integers(1, 6),
    max_items=st.integers(1, 6),
    max_str=st.integers(1, 40),
    max_bytes=st.integers(1, 400),
    max_repr=st.integers(1, 40),
    max_nodes=st.integers(1, 60),
)

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(values, limits, hostile_names)
def test_native_and_python_write_the_same_bytes(value: Any, lim: Limits, names: list[str]) -> None:
    value = _with_hostile(value, names)
    py, native = both()
    data = py(value, lim)
    assert native(value, lim) == data
    decode_payload(data)


def _canon(v: Any) -> Any:
    """A comparable form of a decoded value (nan equal to nan, sets and maps in one order)."""
    if isinstance(v, float):
        return ("float", repr(v))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_canon(x) for x in v])
    if isinstance(v, dict):
        return ("dict", sorted(repr((_canon(k), _canon(x))) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return (type(v).__name__, sorted(repr(_canon(x)) for x in v))
    if isinstance(v, Record):
        return ("record", v.type_name, _canon(list(v.fields)))
    return (type(v).__name__, repr(v))


def _eq(a: Any, b: Any) -> bool:
    return bool(_canon(a) == _canon(b))


_BIGGER = Limits(max_bytes=1 << 30, max_items=1 << 20, max_nodes=1 << 24)


def _idempotent(encode: Encode, value: Any, lim: Limits, *, same_limits: bool = True) -> None:
    data = encode(value, lim)
    structural = None if not data else msgpack.unpackb(data, strict_map_key=False)
    if same_limits:
        again = encode(structural, lim)
        if again != data:  # only keys that encode alike (cut to one prefix) may merge
            assert _eq(decode_payload(again), decode_payload(data))
    # and with larger limits too (the keyframe limits)
    assert _eq(decode_payload(encode(structural, _BIGGER)), decode_payload(data))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unfrozen, limits, hostile_names)
def test_encoding_the_structural_form_again_changes_nothing(
    value: Any, lim: Limits, names: list[str]
) -> None:
    value = _with_hostile(value, names)
    for encode in both():
        _idempotent(encode, value, lim)


# Values well above a thousand bytes, whatever else they hold: the size at which the first
# encoder switched paths and encoded frozen states a second time.
big_values = st.builds(
    lambda items, pad: {"pad": "p" * pad, "items": items},
    st.lists(unfrozen, min_size=5, max_size=40) | st.builds(tuple, st.lists(unfrozen, max_size=40)),
    st.integers(1000, 3000),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(big_values)
def test_idempotent_well_above_a_thousand_bytes(value: Any) -> None:
    for encode in both():
        assert len(encode(value, DEFAULT_LIMITS)) > 1000
        _idempotent(encode, value, DEFAULT_LIMITS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(values, min_size=5, max_size=40))
def test_frozen_parts_survive_encoding_again_with_limits_that_fit(value: Any) -> None:
    """A ``Packed`` is written verbatim, whatever the budget of the value around it; so the
    structural form of a value holding frozen parts encodes to the same value with limits
    that fit the whole (the budget could otherwise fall inside what was frozen)."""
    for encode in both():
        _idempotent(encode, value, DEFAULT_LIMITS, same_limits=False)


def test_idempotent_at_every_size_threshold() -> None:
    """Records, tuples, sets and pids, from small to past every limit: the structural form
    encodes to the very same bytes."""
    for n in (1, 10, 100, 999, 1000, 1001, 5000, 20000):
        value = {
            "children": [("child", i, {i, i + 1}, Pid(i), Account(f"o{i}", i)) for i in range(n)],
            "text": "t" * min(n, 5000),
            "nested": [[[i]] for i in range(min(n, 50))],
        }
        for encode in both():
            data = encode(value, DEFAULT_LIMITS)
            assert encode(to_structural(value), DEFAULT_LIMITS) == data, n
            assert msgpack.packb(to_structural(value), use_bin_type=True) == data


events = st.lists(
    st.tuples(
        st.integers(0, 300),  # kinds wrap into uint8
        st.integers(-5, 2**33),  # pids wrap into uint32
        st.integers(-5, 2**33),
        st.integers(-(2**63), 2**63 - 1),
        values,
    ),
    min_size=1,
    max_size=40,
)


def _clock(start: int = 10**15) -> Any:
    it = itertools.count(start, 1234)
    return lambda: next(it)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events, st.sampled_from([None, 1]))
def test_both_event_buffers_make_the_frames_encode_events_makes(
    evs: list[tuple[int, int, int, int, Any]], level: int | None
) -> None:
    comp = Compressor(level)
    frames = []
    for impl in ("python", "native"):
        buf = buffer_class_of(impl)(_clock(), DEFAULT_LIMITS)
        for ev in evs:
            buf.emit(*ev)
        assert len(buf) == len(evs)
        batch = buf.take()
        assert len(buf) == 0 and buf.nbytes == 0
        frames.append(encode_batch(batch, 5, comp))
    assert frames[0] == frames[1]
    clock = _clock()
    rows = [(clock(), k & 0xFF, p & 0xFFFFFFFF, q & 0xFFFFFFFF, r, d) for k, p, q, r, d in evs]
    assert frames[0] == encode_events(rows, 5, comp)
