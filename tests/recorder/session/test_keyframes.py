"""Keyframe process tables: columns read in one pass agree with the rows."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.payload import Limits
from recorder.session.keyframes import RowTable, pack_world, table_column, unpack_world


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
    # a tuple: the collector stops walking a column of atomic values after its first pass
    assert table_column(rows, "pid") == tuple(r["pid"] for r in rows) == tuple(range(5))
    assert table_column(rows, "monitors") == tuple(r["monitors"] for r in rows)
    assert table_column(rows, "state") is None  # lazy: decoded per row only
    assert table_column(rows, "nope") is None
    assert table_column(rows[1:], "pid") is None  # not the whole table
    assert table_column([dict(r) for r in rows], "pid") is None
    assert table_column([], "pid") is None


def test_pick_reads_what_plain_reads_for_every_row() -> None:
    from recorder.payload import freeze

    world = _world(7)
    world["dead"] = [{"pid": 9, "status": "crashed", "reason": ("boom", 9), "state": freeze(1)}]
    w = unpack_world(pack_world(world, Limits()))
    keys = ("pid", "name", "state", "mailbox", "monitors", "reason", "nope", "status", "pid")
    for table in ("processes", "dead"):
        for row in w[table]:
            want = [row.plain().get(k) for k in keys]
            assert row.pick(keys) == want
            assert row.pick(keys) == want  # the second time from the remembered columns
            assert row.pick(keys[:2]) == want[:2]


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


def _as_lists(v: Any) -> Any:
    """``v`` with its plain tuples as lists (what decode_payload gives for msgpack arrays)."""
    if type(v) in (list, tuple):
        return [_as_lists(x) for x in v]
    if type(v) is dict:
        return {k: _as_lists(x) for k, x in v.items()}
    return v


def _keyframe_body(world: object) -> bytes:
    from recorder.payload import encode_payload

    return encode_payload({"seq": 7, "world": pack_world(world, Limits())}, Limits())


def test_decode_keyframe_gives_decode_payload_value_with_rows_as_tuples() -> None:
    import gc

    from recorder.payload import NATIVE, decode_payload
    from recorder.session.keyframes import ROW_KEYS, decode_keyframe

    world: Any = _world(300)
    for i, p in enumerate(world["processes"]):
        p["links"] = [i - 1] if i else []
        p["mailbox"] = [[i, 0, ("m", i)], [i + 1000, 0, ["x"]]] if i % 3 == 0 else []
    world["supervisors"] = [
        {"pid": 0, "children": [{"id": ["a", 1], "pid": 1, "restart": "permanent"}]}
    ]  # a child id that is a list stays a list: only the rows of ROW_KEYS become tuples
    body = _keyframe_body(world)
    want, got = decode_payload(body), decode_keyframe(body)
    assert _as_lists(got) == want
    assert got["world"]["supervisors"] == want["world"]["supervisors"]
    table = got["world"]["processes"]
    cols = dict(zip(table["keys"], table["columns"], strict=True))
    assert all(type(c) is list for c in table["columns"])
    if not NATIVE:
        return  # without the native scan the bytes are decoded whole, with lists
    assert set(cols) >= ROW_KEYS
    for key in ROW_KEYS:
        assert all(type(cell) is tuple for cell in cols[key])
    assert cols["mailbox_ids"][3] == ((3, 0), (1003, 0))
    gc.collect()  # rows of ints left the collector's care: none of them is tracked
    assert not any(gc.is_tracked(cell) for key in ROW_KEYS for cell in cols[key])
    # the world the reader builds reads the same either way
    a, b = unpack_world(want["world"]), unpack_world(got["world"])
    assert [_as_lists(dict(r)) for r in a["processes"]] == [
        _as_lists(dict(r)) for r in b["processes"]
    ]


def test_decode_keyframe_takes_any_other_layout_whole() -> None:
    from recorder.payload import PayloadError, decode_payload, encode_payload
    from recorder.session.keyframes import decode_keyframe

    odd = [
        {"seq": 1, "world": {"processes": [{"pid": 1, "links": [2]}], "dead": [[3, "dead"]]}},
        {"seq": 1, "world": {"processes": {"columns": [[1]], "keys": ["links"]}}},  # keys late
        {"seq": 1, "world": [1, 2]},
        {"world": {"processes": {"keys": [["x"]], "columns": [[1]]}}},  # a key not a string
        [1, 2, 3],
    ]
    for value in odd:
        body = encode_payload(value, Limits())
        assert decode_keyframe(body) == decode_payload(body)
    body = _keyframe_body(_world(3))
    for cut in (1, len(body) // 2, len(body) - 1):
        try:
            want: object = decode_payload(body[:cut])
        except PayloadError as exc:
            want = type(exc)
        try:
            got: object = decode_keyframe(body[:cut])
        except PayloadError as exc:
            got = type(exc)
        assert got == want
    for extra in (b"\xc0", b"\x90"):  # trailing bytes: refused, as decode_payload refuses them
        with pytest.raises(PayloadError):
            decode_keyframe(body + extra)


def test_mailbox_ids_built_directly_match_the_encoder_round_trip() -> None:
    """The common case skips ``to_structural``; every mailbox and every limit gives what the
    round trip through the encoder gives (the bytes on disk are the same)."""
    import random

    import msgpack

    from recorder.payload import Pid, to_structural
    from recorder.session.keyframes import _mailbox_ids, _mailbox_pairs

    class Row(tuple):  # type: ignore[type-arg]
        pass

    rng = random.Random(7)
    cells: list[object] = [
        -1, 1 << 62, (1 << 64) + 3, True, 2.5, "x", Pid(3), None, [1], {"a": 1}, 10**30,
    ]  # fmt: skip
    mailboxes: list[object] = [[], (), None, "abc", [[1, 2, "m"]], [(5, 6)], [[1]], [Row((1, 2))]]
    for _ in range(300):
        n = rng.choice([1, 2, 5, 40, 100, 300])
        rows: list[object] = []
        for _ in range(n):
            a = rng.randrange(1 << 20) if rng.random() < 0.97 else rng.choice(cells)
            b = rng.randrange(64) if rng.random() < 0.97 else rng.choice(cells)
            rows.append((rng.choice([list, tuple]))([a, b, rng.random()]))
        mailboxes.append(rows)
    limits = [
        Limits(),
        Limits(max_items=3),
        Limits(max_items=40),
        Limits(max_nodes=50),
        Limits(max_nodes=121),
        Limits(max_depth=1),
        Limits(max_depth=2),
        Limits(max_bytes=64),
        Limits(max_bytes=19 * 40 + 5),
    ]
    for mailbox in mailboxes:
        for lim in limits:
            pairs = _mailbox_pairs(mailbox) if isinstance(mailbox, (list, tuple)) else None
            want = None if pairs is None else to_structural(pairs, lim)
            got = _mailbox_ids(mailbox, lim)
            assert got == want, (mailbox, lim)
            assert msgpack.packb(got) == msgpack.packb(want)


def test_supervisor_children_read_late_are_the_ones_read_whole() -> None:
    """A keyframe's supervisor entries keep their children encoded until read; read, they are
    what decoding the whole keyframe and checking it gives, damaged rows fixed the same way."""
    from recorder.payload import NATIVE, decode_payload
    from recorder.session.keyframes import SupervisorRow, decode_keyframe
    from recorder.session.worldcheck import normalize_world

    world: Any = _world(20)

    def good() -> list[dict[str, Any]]:
        return [{"id": f"w{i}", "pid": i, "restart": "permanent", "type": "worker"} for i in (1, 2)]

    world["supervisors"] = [
        {"pid": 0, "strategy": "one_for_one", "max_restarts": 3, "children": good()},
        {"pid": 3, "children": [*good(), {"id": "x", "pid": -5, "restart": 7}, "not a row"]},
        {"pid": 4, "strategy": 12, "children": good()},  # a bad field: checked whole, at once
        {"pid": 5, "children": "not a list"},
        {"pid": 6},
        "not an entry",
    ]
    body = _keyframe_body(world)
    whole = normalize_world(decode_payload(body)["world"], 1 << 20)["supervisors"]
    late = normalize_world(decode_keyframe(body)["world"], 1 << 20)["supervisors"]
    if NATIVE:
        rows = [s for s in late if type(s) is SupervisorRow]
        assert len(rows) == 3, "entries 0, 3 and 5 wait for their children to be read"
        assert all(s._encoded is not None for s in rows)
        assert rows[0].get("strategy") == "one_for_one" and rows[0]._encoded is not None
    # the same entries in the schema's terms (a field the whole check added as None, a late
    # one leaves absent)
    keys = ("pid", "strategy", "max_restarts", "max_seconds", "children")
    assert [[s.get(k) for k in keys] for s in late] == [[s.get(k) for k in keys] for s in whole]
    assert whole[1]["children"][2] == {"id": "x", "pid": None}  # fixed: pid, restart
    assert len(whole[1]["children"]) == 3  # the row that is no map dropped
    assert len(whole) == 5  # the entry that is no map dropped


def test_lazy_rows_read_as_the_list_of_rows() -> None:
    world = _world(6)
    world["dead"] = [{"pid": 9, "status": "crashed", "reason": ("boom", 9)}]
    packed = pack_world(world, Limits())
    eager, lazy = unpack_world(packed), unpack_world(packed, lazy_rows=True)
    for name in ("processes", "dead"):
        rows, table = eager[name], lazy[name]
        assert type(table) is RowTable and len(table) == len(rows)
        assert [dict(r) for r in table] == [dict(r) for r in rows]
        assert dict(table[-1]) == dict(rows[-1]) and [dict(r) for r in table[1:3]] == [
            dict(r) for r in rows[1:3]
        ]
        for key in ("pid", "monitors", "state", "nope"):
            assert table_column(table, key) == table_column(rows, key)
        with pytest.raises(IndexError):
            table[len(rows)]
