"""The exports' one-pass JSON of a payload is the reference JSON, text for text."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model.export._json import json_message_type, native_texts, payload_json
from cinema.model.expr_eval import message_type
from cinema.model.present import data_text, to_json
from recorder.payload import NATIVE, decode_payload, encode_payload
from recorder.sandbox.process import Pid

_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats() | st.text(max_size=8) | st.binary(max_size=6)
)  # fmt: skip
_keys = st.text(max_size=4) | st.integers(-3, 3) | st.sampled_from(["$x", "type", "name"])
_values = st.recursive(
    _scalars | st.builds(Pid, st.integers(0, 50)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.tuples(st.sampled_from(["$call", "$cast", "add", "note"]), inner)
        | st.dictionaries(_keys, inner, max_size=3)
        | st.frozensets(st.integers(0, 9), max_size=3)
    ),
    max_leaves=12,
)


def _reference(raw: bytes) -> tuple[Any, str]:
    form = to_json(decode_payload(raw))
    return form, json.dumps(form, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_the_fast_json_is_the_reference_json(value: Any) -> None:
    raw = encode_payload(value)
    fast = payload_json(raw)
    decoded = decode_payload(raw)
    if fast is None:  # declined: sets, NaN, big integers, ... the caller takes the reference
        return
    try:
        ref = _reference(raw)
    except ValueError:  # NaN: the reference path says it typed, the fast one declines
        assert any(isinstance(x, float) and not math.isfinite(x) for x in [decoded])
        return
    assert fast[1] == ref[1]
    got = json_message_type(fast[0])
    if got is not None:
        assert got == message_type(decoded)


def test_it_declines_what_only_the_reference_can_say() -> None:
    assert payload_json(encode_payload({1, 2})) is None  # set order: to_json sorts
    assert payload_json(encode_payload(float("nan"))) is None
    assert payload_json(encode_payload(2**80)) is None
    assert payload_json(b"") == (None, "null")


# --------------------------------------------------------------------------- the native twin

native = pytest.mark.skipif(not NATIVE, reason="the native module is not built")
_texty = st.recursive(
    _scalars
    | st.builds(Pid, st.integers(0, 50))
    | st.text(max_size=6).map(lambda s: s + "\u2028\x85é😀"),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.tuples(st.sampled_from(["$call", "$gen_call", "add", "note"]), inner)
        | st.dictionaries(_keys, inner, max_size=3)
        | st.builds(lambda t, s: {"trigger": t, "state": s}, inner, inner)
        | st.frozensets(st.integers(0, 9), max_size=3)
    ),
    max_leaves=12,
)


def _native(raw: bytes) -> tuple[str | None, str | None, str | None, str | None]:
    lengths = np.array([len(raw)], dtype=np.int64)
    got = native_texts(lengths, raw, json=True, text=True, head=1)
    key = native_texts(lengths, raw, json=False, head=2, key="trigger")
    assert got is not None and key is not None
    js, ts, hs = got
    assert js is not None and ts is not None and hs is not None and key[2] is not None
    return js[0], ts[0], hs[0], key[2][0]


@native
@settings(max_examples=500, deadline=None)
@given(_texty)
def test_the_native_texts_are_the_reference_texts(value: Any) -> None:
    """JSON text, one-line text, message type and a map key's text, from the C reader of the
    payload bytes, are what the Python reference says (or declined: ``None``)."""
    raw = encode_payload(value)
    decoded = decode_payload(raw)
    js, text, head, trigger = _native(raw)
    if not raw:  # None: no payload at all
        assert js == text == ""
        return
    if js is not None:
        assert js == _reference(raw)[1]
    if text is not None:
        assert text == data_text(decoded)
    if head is not None:
        fast = payload_json(raw)
        # what the exports' reference path says: the JSON form's type, else the value's
        want = json_message_type(fast[0]) if fast is not None else None
        assert head == (want if want is not None else message_type(decoded))
    form = to_json(decoded)
    if trigger is not None:
        assert type(form) is dict
        t = form.get("trigger")
        assert trigger == (t if type(t) is str else json.dumps(t))


@native
def test_the_native_texts_decline_what_only_the_reference_can_say() -> None:
    for value in ({1, 2}, float("nan"), 2**80, b"\x00", {1: "a"}, {"$x": 1}):
        js, text, _, _ = _native(encode_payload(value))
        assert js is None and text is None, value
