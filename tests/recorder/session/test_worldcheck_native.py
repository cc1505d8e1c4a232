"""The keyframe column checks in C (recorder/_native/checks.c) give the answers of their
pure-Python twins in recorder.session.worldcheck, on columns of every kind of value a hostile
keyframe can hold; and a whole keyframe world is normalized to the same world by both."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.payload import native_column_checks
from recorder.session.worldcheck import _Rules, normalize_world

pytestmark = pytest.mark.skipif(
    native_column_checks is None, reason="the native module is not built"
)

NO_PID = 0xFFFFFFFF
MAX_PID = 1 << 22
#: Around every bound the checks compare with, and values of the wrong type.
_INTS = st.one_of(
    st.integers(-3, 3),
    st.integers(MAX_PID - 2, MAX_PID + 1),
    st.sampled_from([NO_PID, (1 << 63) - 1, 1 << 63, -(1 << 63), -(1 << 63) - 1, 1 << 80]),
    st.integers(),
)
_ODD = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=3),
    st.just(float(NO_PID)), st.binary(max_size=2),
)  # fmt: skip
_VALUE = st.one_of(_INTS, _INTS, _INTS, _ODD)
_SEQ = st.sampled_from([list, tuple])


@st.composite
def _cells(draw: Any, item: Any) -> Any:
    kind = draw(_SEQ)
    return kind(draw(st.lists(item, max_size=4)))


_ROW = st.one_of(_cells(_VALUE), _VALUE)
#: Mostly valid rows: a column passes only when all its rows do.
_GOOD_ROW = st.builds(
    lambda kind, a, b, more: kind([a, b, *more]),
    _SEQ, st.integers(-(1 << 63), (1 << 63) - 1),
    st.one_of(st.integers(0, MAX_PID - 1), st.just(NO_PID)), st.lists(_VALUE, max_size=1),
)  # fmt: skip
_ROWS_CELL = st.one_of(_cells(_ROW), _cells(_GOOD_ROW), _cells(_GOOD_ROW), _VALUE)
_PIDS_CELL = st.one_of(_cells(_VALUE), _cells(st.integers(0, MAX_PID - 1)), _VALUE)

native, python = _Rules(MAX_PID), _Rules(MAX_PID, native=None)


@settings(max_examples=400, deadline=None)
@given(
    col=st.one_of(st.lists(_VALUE, max_size=8), st.lists(_INTS, max_size=8)),
    optional=st.booleans(),
    bounds=st.sampled_from([(0, MAX_PID), (0, 1 << 63), (-(1 << 63), 1 << 63), (5, 6)]),
)
def test_ints_ok(col: list[Any], optional: bool, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    assert native.ints_ok(col, lo, hi, optional=optional) == python.ints_ok(
        col, lo, hi, optional=optional
    )


@settings(max_examples=400, deadline=None)
@given(col=st.lists(_PIDS_CELL, max_size=6))
def test_links_ok(col: list[Any]) -> None:
    assert native.links_ok(col) == python.links_ok(col)


@settings(max_examples=600, deadline=None)
@given(col=st.lists(_ROWS_CELL, max_size=6), sender=st.booleans(), width=st.integers(2, 3))
def test_rows_ok(col: list[Any], sender: bool, width: int) -> None:
    assert native.rows_ok(col, width, 0, sender) == python.rows_ok(col, width, 0, sender)


def test_the_checks_pass_and_fail_where_expected() -> None:
    """Examples the answers are known for (the twins could agree on being wrong)."""
    for r in (native, python):
        assert r.ints_ok([0, MAX_PID - 1], 0, MAX_PID)
        assert not r.ints_ok([0, MAX_PID], 0, MAX_PID)
        assert not r.ints_ok([True], 0, MAX_PID)
        assert not r.ints_ok([1 << 80], 0, 1 << 63)
        assert r.ints_ok([None, NO_PID, 3], 0, MAX_PID, optional=True)
        assert not r.ints_ok([None], 0, MAX_PID)
        assert r.links_ok([(1, 2), [3], ()])
        assert not r.links_ok([(1, -1)])
        assert not r.links_ok([7])
        assert r.rows_ok([((5, 1),), [[-(1 << 63), NO_PID]]], 2, 0, True)
        assert not r.rows_ok([((5, NO_PID),)], 2, 0, False)
        assert not r.rows_ok([((5,),)], 2, 0, True)
        assert not r.rows_ok([(("a", 1),)], 2, 0, True)


@settings(max_examples=150, deadline=None)
@given(
    columns=st.fixed_dictionaries(
        {
            "pid": st.lists(_VALUE, min_size=3, max_size=3),
            "parent": st.lists(_VALUE, min_size=3, max_size=3),
            "restarts": st.lists(_VALUE, min_size=3, max_size=3),
            "links": st.lists(_PIDS_CELL, min_size=3, max_size=3),
            "monitors": st.lists(_ROWS_CELL, min_size=3, max_size=3),
            "mailbox_ids": st.lists(_ROWS_CELL, min_size=3, max_size=3),
        }
    )
)
def test_a_hostile_keyframe_table_normalizes_the_same(columns: dict[str, list[Any]]) -> None:
    import recorder.session.worldcheck as wc

    keys = list(columns)
    table = {"__table__": 1, "keys": keys, "columns": [columns[k] for k in keys], "lazy": []}
    world = {"time_ns": 5, "processes": table, "dead": [], "supervisors": [], "registry": {}}
    got = normalize_world(world, MAX_PID)
    saved = wc.native_column_checks
    wc.native_column_checks = None
    try:
        # _Rules binds the checks when it is made: a world normalized with none of them
        original = _Rules.__init__.__defaults__
        _Rules.__init__.__defaults__ = (None,)
        try:
            want = normalize_world(world, MAX_PID)
        finally:
            _Rules.__init__.__defaults__ = original
    finally:
        wc.native_column_checks = saved
    assert _plain(got) == _plain(want)


def _plain(v: Any) -> Any:
    """Lists and tuples alike (the checks decide whether a column is rebuilt, not its values)."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v
