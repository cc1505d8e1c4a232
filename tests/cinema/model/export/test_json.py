"""The exports' one-pass JSON of a payload is the reference JSON, text for text."""

from __future__ import annotations

import json
import math
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model.export._json import (
    JSON_DECLINED,
    TEXT_DECLINED,
    json_message_type,
    native_columns,
    native_texts,
    payload_json,
)
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


# --------------------------------------------------------------------------- in bulk


def _opaque(text: str) -> msgpack.ExtType:
    """A value recorded as its ``repr`` (an Opaque: extension 8, ``[type name, repr]``)."""
    return msgpack.ExtType(8, msgpack.packb(["pkg.mod.T", text]))


# reprs as Python writes them, and bits of them shuffled: quotes, addresses, dotted paths
_repr_bits = st.sampled_from(
    ["<", ">", "'", " at 0x", "7f3a", "0x", " at ", "pkg.", "mod.", "<locals>.", "Cls", "f",
     "_x1", ".", " ", "é", "9", "a.b", "'pkg.mod.C'", "<class ", "<function "]
)  # fmt: skip
_reprs = st.lists(_repr_bits, max_size=12).map(lambda bits: "<" + "".join(bits))
_bulky = (
    _texty.map(encode_payload)
    | _reprs.map(lambda r: msgpack.packb(_opaque(r)))
    | st.lists(_reprs.map(_opaque), max_size=3).map(msgpack.packb)
)


def _columns(raws: list[bytes]) -> tuple[list[str], list[str], list[int]]:
    lengths = np.array([len(r) for r in raws], dtype=np.int64)
    got = native_columns(lengths, b"".join(raws))
    assert got is not None
    assert got.jsons is not None and got.json_offsets is not None
    assert got.texts is not None and got.text_offsets is not None
    jo, to = got.json_offsets.tolist(), got.text_offsets.tolist()
    js = [got.jsons[jo[i] : jo[i + 1]].decode() for i in range(len(raws))]
    ts = [got.texts[to[i] : to[i + 1]].decode() for i in range(len(raws))]
    return js, ts, got.declined.tolist()


@native
@settings(max_examples=400, deadline=None)
@given(st.lists(_bulky, max_size=6))
def test_the_native_columns_are_the_native_texts(payloads: list[bytes]) -> None:
    """The bulk form (Arrow's layout, the GIL released) says what the per-payload one says,
    declines the same payloads (empty items there), and its texts are the reference's."""
    raws = [*payloads, b""]
    js, ts, declined = _columns(raws)
    lengths = np.array([len(r) for r in raws], dtype=np.int64)
    one = native_texts(lengths, b"".join(raws), json=True, text=True)
    assert one is not None and one[0] is not None and one[1] is not None
    for i, raw in enumerate(raws):
        assert bool(declined[i] & JSON_DECLINED) == (one[0][i] is None)
        assert bool(declined[i] & TEXT_DECLINED) == (one[1][i] is None)
        assert js[i] == (one[0][i] or "") and ts[i] == (one[1][i] or "")
        if raw and not declined[i] & TEXT_DECLINED:
            assert ts[i] == data_text(decode_payload(raw))
    assert js[-1] == ts[-1] == "" and declined[-1] == 0


@native
@settings(max_examples=300, deadline=None)
@given(_reprs)
def test_a_recorded_repr_loses_its_module_paths_and_address_as_the_reference_says(
    text: str,
) -> None:
    raw = msgpack.packb(_opaque(text))
    _, ts, declined = _columns([raw])
    if declined[0] & TEXT_DECLINED:  # non-ASCII: the regexes' \w is Unicode's
        assert not text.isascii()
        return
    assert ts[0] == data_text(decode_payload(raw))


@native
def test_the_native_columns_redo_floats_holding_the_gil_in_order() -> None:
    values = [1.5, {"x": [0.1, "a"]}, "plain", 1e300, [None], (2.5,), -0.0]
    raws = [encode_payload(v) for v in values]
    js, ts, declined = _columns(raws)
    assert declined == [0] * len(values)
    assert js == [_reference(r)[1] for r in raws]
    assert ts == [data_text(decode_payload(r)) for r in raws]


@native
def test_the_native_columns_refuse_an_index_outside_the_block() -> None:
    from recorder._native._core import payload_columns

    offsets = np.array([0, 5, 99], dtype=np.int64)
    with pytest.raises(IndexError):
        payload_columns(b"\x01" * 5, offsets, np.array([1], dtype=np.int64), True, True)
