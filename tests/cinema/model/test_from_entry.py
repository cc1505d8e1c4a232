"""A process made from a keyframe row refers lazily to the values the row holds, and only to
those."""

from __future__ import annotations

from typing import Any

from cinema.model._proc import KfLazy, Proc
from recorder.payload import Limits
from recorder.session.keyframes import pack_world, unpack_world


def _world(n: int) -> dict[str, object]:
    procs = [{"pid": i, "name": f"p{i}", "state": {"n": i}, "mailbox": []} for i in range(n)]
    return {"time_ns": 1, "processes": procs, "dead": [], "supervisors": [], "registry": {}}


def test_a_row_holds_only_the_values_it_has_and_a_process_refers_only_to_those() -> None:
    """``ProcessRow.holds`` says, without decoding, whether a field may hold something other
    than None; a process made from the row refers lazily to those values only (no reference
    object per empty cell), and resolves to the same values either way."""
    world = _world(4)
    procs: Any = world["processes"]
    procs[1]["state"] = None
    procs[2]["state"] = {}
    rows = unpack_world(pack_world(world, Limits()), lazy_rows=True)["processes"]
    assert [rows[i].holds("state") for i in range(4)] == [True, False, True, True]
    assert not rows[0].holds("reason") and not rows[0].holds("nope")  # no such column
    assert rows[0].holds("pid") and rows[0].holds("name")
    for i in range(4):
        p = Proc.from_entry(rows[i], 7)
        assert p.reason is None
        if i == 1:
            assert p.state is None
        else:
            assert type(p.state) is KfLazy and p.state.value() == rows[i]["state"]
        assert (p.state.value() if type(p.state) is KfLazy else p.state) == procs[i]["state"]
