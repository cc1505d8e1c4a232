"""``freeze`` is one C call with the native encoder, and the same as the pure-Python one;
``to_structural`` of an int skips the encoder and reads the same."""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

import pytest

import recorder.payload as payload
from recorder.payload import DEFAULT_LIMITS, Limits, Packed, Pid
from tests.recorder.payload.conftest import native


@dataclasses.dataclass
class Account:
    name: str
    balance: int = 0
    recent: list[int] = dataclasses.field(default_factory=list)


VALUES: list[Any] = [
    None,
    0,
    "text",
    ("$call", (Pid(3), 7), ("deposit", 5)),
    {"k": [1, 2, {3}]},
    Account("a", 3, [1, 2]),
    ["y" * 5000] * 20,
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("limits", [DEFAULT_LIMITS, Limits(max_str=8, max_items=2)])
def test_native_freeze_is_the_python_one(value: Any, limits: Limits) -> None:
    if native is None or not payload.NATIVE:
        pytest.skip("the native encoder is not built (or CINEMA_NATIVE=0)")
    got = native.freeze(value, limits)
    assert type(got) is Packed and got == payload._py_freeze(value, limits)
    assert native.freeze(value, limits=limits) == got
    assert gc.is_tracked(got) == gc.is_tracked(Packed(b""))


def test_freezing_a_packed_returns_it_and_bad_calls_are_type_errors() -> None:
    frozen = payload.freeze([1, 2])
    assert payload.freeze(frozen) is frozen and frozen.decode() == [1, 2]
    if native is None or not payload.NATIVE:
        return
    for args, kwargs in [((), {}), ((1, None, 2), {}), ((1,), {"other": 2}), ((1,), {"value": 2})]:
        with pytest.raises(TypeError):
            native.freeze(*args, **kwargs)


def test_the_public_freeze_is_the_native_one_when_built() -> None:
    assert (payload.freeze is getattr(native, "freeze", None)) == payload.NATIVE


@pytest.mark.parametrize(
    "value", [0, 1, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30, True]
)
def test_to_structural_of_an_int_is_what_its_encoding_reads_back(value: int) -> None:
    """The fast path for ints (keyframe id columns) gives what encode-then-unpack gives."""
    import msgpack

    expected = msgpack.unpackb(
        payload.encode_payload(value), raw=False, strict_map_key=False, use_list=True
    )
    got = payload.to_structural(value)
    assert type(got) is type(expected) and got == expected
    assert msgpack.packb(got, use_bin_type=True) == msgpack.packb(expected, use_bin_type=True)
