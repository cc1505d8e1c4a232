"""A keyframe's process table made with its shortcuts (keys read from the first entry when all
share them, whole columns of plain values checked at once) packs to the bytes of the plain
rule: every key in order of first appearance, each cell through ``to_structural``."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.payload import DEFAULT_LIMITS, Limits, Pid, encode_payload, freeze, to_structural
from recorder.session import keyframes


def _reference(procs: list[dict[Any, Any]], limits: Limits) -> dict[str, Any]:
    keys: dict[str, None] = {}
    for p in procs:
        for k in p:
            keys.setdefault(str(k), None)
    ids = None
    if "mailbox" in keys:
        keys.setdefault("mailbox_ids", None)
        ids = [keyframes._mailbox_ids(p.get("mailbox"), limits) for p in procs]
    columns = []
    for k in keys:
        if k == "mailbox_ids" and ids is not None:
            columns.append(ids)
        elif k in keyframes.LAZY_KEYS:
            columns.append([encode_payload(p.get(k), limits) for p in procs])
        else:
            columns.append([to_structural(p.get(k), limits) for p in procs])
    lazy = [k for k in keys if k in keyframes.LAZY_KEYS]
    return {"__table__": 1, "keys": list(keys), "columns": columns, "lazy": lazy}


def _same(procs: list[dict[Any, Any]], limits: Limits = DEFAULT_LIMITS) -> None:
    got = keyframes._pack_table(procs, limits, reuse=False)
    assert msgpack.packb(got, use_bin_type=True) == msgpack.packb(
        _reference(procs, limits), use_bin_type=True
    )


_CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=300),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.text(alphabet="ab", min_size=0, max_size=40),
    st.lists(st.integers(min_value=-(2**66), max_value=2**66), max_size=6),
    st.lists(st.integers(min_value=0, max_value=50), max_size=6),
    st.lists(st.lists(st.integers(min_value=0, max_value=9), max_size=2), max_size=3),
    st.builds(Pid, st.integers(min_value=0, max_value=99)),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.binary(max_size=5),
)
_KEYS = st.sampled_from(["pid", "name", "status", "parent", "links", "state", "memory", "x"])


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.dictionaries(_KEYS, _CELLS, max_size=6), min_size=1, max_size=8),
    uniform=st.booleans(),
    max_str=st.sampled_from([4, 30, 4096]),
    max_items=st.sampled_from([3, 1000]),
)
def test_tables_pack_as_the_plain_rule(
    rows: list[dict[str, Any]], uniform: bool, max_str: int, max_items: int
) -> None:
    if uniform:  # every entry with the first one's keys, in its order (the sandbox's case)
        order = list(rows[0])
        rows = [{k: r.get(k, i) for k in order} for i, r in enumerate(rows)]
    _same(rows, Limits(max_str=max_str, max_items=max_items))


def test_the_sandbox_shape_and_its_edges() -> None:
    procs = [
        {
            "pid": i,
            "name": f"acct-{i}" if i != 3 else "caf\u00e9",
            "status": "waiting",
            "parent": i // 10 if i % 4 else None,
            "registered": None if i % 5 else f"r{i}",
            "trap_exit": i % 2 == 0,
            "state": freeze({"n": i}),
            "mailbox": [] if i % 3 else [[i, 1, "m"]],
            "mailbox_len": 0,
            "links": [i // 10] if i != 7 else [2**64],
            "monitors": [] if i != 8 else [[5, 6]],
            "cpu_ns": i * 1000 if i != 9 else 2**64,
            "memory": 1.5 if i == 2 else 1234,
        }
        for i in range(40)
    ]
    _same(procs)
    _same(procs, Limits(max_str=5, max_items=2))
    _same([{1: "int key", "a": 1}, {"1": "same name", "a": 2}])  # str(key) names collide
    _same([{"a": 1}, {"b": 2, "a": 3}, {"a": 4}])  # keys in order of first appearance
