"""The exports' one-pass JSON of a payload is the reference JSON, text for text."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model.export._json import json_message_type, payload_json
from cinema.model.expr_eval import message_type
from cinema.model.present import to_json
from recorder.payload import decode_payload, encode_payload
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
