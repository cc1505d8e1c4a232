"""Keyframe process tables: columns read in one pass agree with the rows."""

from __future__ import annotations

from recorder.payload import Limits
from recorder.session.keyframes import pack_world, table_column, unpack_world


def _world(n: int) -> dict[str, object]:
    procs = [
        {
            "pid": i,
            "name": f"p{i}",
            "state": {"n": i},
            "mailbox": [],
            "monitors": [[1, 0]] * (i % 2),
        }
        for i in range(n)
    ]
    return {"time_ns": 1, "processes": procs, "dead": [], "supervisors": [], "registry": {}}


def test_table_column_matches_rows_and_refuses_what_is_not_a_table() -> None:
    w = unpack_world(pack_world(_world(5), Limits()))
    rows = w["processes"]
    assert table_column(rows, "pid") == [r["pid"] for r in rows] == list(range(5))
    assert table_column(rows, "monitors") == [r["monitors"] for r in rows]
    assert table_column(rows, "state") is None  # lazy: decoded per row only
    assert table_column(rows, "nope") is None
    assert table_column(rows[1:], "pid") is None  # not the whole table
    assert table_column([dict(r) for r in rows], "pid") is None
    assert table_column([], "pid") is None


def test_dead_entries_convert_once_and_pack_the_same() -> None:
    from recorder.payload import freeze

    dead = [
        {"pid": i, "status": "crashed", "state": freeze({"n": i}), "reason": ("boom", i)}
        for i in range(5)
    ]
    world = {"time_ns": 1, "processes": [], "dead": dead, "supervisors": [], "registry": {}}
    limits = Limits()
    first = pack_world(world, limits)
    dead.append({"pid": 9, "status": "dead", "name": "late", "reason": "normal"})  # a new key
    second = unpack_world(pack_world(world, limits))
    rows = second["dead"]
    assert [r["pid"] for r in rows] == [0, 1, 2, 3, 4, 9]
    assert rows[2]["state"] == {"n": 2} and rows[2]["reason"] == ("boom", 2)
    assert rows[5]["name"] == "late" and rows[0]["name"] is None and rows[5]["state"] is None
    dead.pop()
    assert pack_world(world, limits) == first  # the same form, converted or remembered
