"""``dumps_indented`` writes what ``json.dumps(indent=2, allow_nan=False)`` writes, character for
character, and refuses what it refuses with the same error."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.cli._json import dumps_indented

from ..model import bp_sessions


class _Level(enum.IntEnum):
    LOW = 1


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.just(_Level.LOW)
)
_KEYS = st.text(max_size=6) | st.integers(-5, 5) | st.booleans() | st.none() | st.floats()
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=30,
)


def _outcome(fn: Any, value: Any) -> tuple[str, str]:
    try:
        return "ok", fn(value)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_same_text_as_the_standard_encoder(value: Any) -> None:
    assert _outcome(dumps_indented, value) == _outcome(
        lambda v: json.dumps(v, indent=2, allow_nan=False), value
    )


@pytest.mark.parametrize(
    "value",
    [math.nan, [1, math.inf], {"a": -math.inf}, {1: {2: 3}}, [object()], {(1, 2): 3}, b"x"],
)
def test_what_json_refuses_or_converts_goes_to_json(value: Any) -> None:
    assert _outcome(dumps_indented, value) == _outcome(
        lambda v: json.dumps(v, indent=2, allow_nan=False), value
    )


def test_a_circle_is_refused_as_json_refuses_it() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(loop)


def test_breaks_json_is_the_standard_encoders_text(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from cinema.cli import main

    path = str(bp_sessions.bank_session(tmp_path / "bank.cinema"))
    r = CliRunner().invoke(
        main, ["breaks", path, "--when", 'kind in ["send", "receive"]', "--json"]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["count"] >= 10 and doc["hits"][0]["data"] is not None
    assert r.output == json.dumps(doc, indent=2, allow_nan=False) + "\n"
