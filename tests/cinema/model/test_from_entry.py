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


def test_links_stay_the_rows_until_changed_and_mailbox_entries_of_sends_are_ints() -> None:
    """A process's links are its keyframe row's tuple until a replay changes them (then a set
    of its own, the row untouched); a message a replay queues is one int that gives back its
    sender and SEND."""
    from cinema.model._overlay import Lazy
    from cinema.model._proc import mailbox_entry, sent

    world = _world(3)
    procs: Any = world["processes"]
    procs[0]["links"] = [1, 2]
    procs[1]["links"] = [0]
    procs[2]["links"] = [0, 0]  # a hostile duplicate: the set of before
    # as the reader reads a keyframe (rows of ids as tuples, when the native scan vouches)
    from recorder.payload import NATIVE, encode_payload
    from recorder.session.keyframes import decode_keyframe
    from recorder.session.worldcheck import normalize_world

    body = encode_payload({"seq": 7, "world": pack_world(world, Limits())}, Limits())
    read = normalize_world(decode_keyframe(body)["world"], 1 << 22)
    rows = unpack_world(read, lazy_rows=True)["processes"]
    p = Proc.from_entry(rows[0], 7)
    assert sorted(p.links) == [1, 2]
    if NATIVE:
        assert p.links is rows[0]["links"], "no set of its own until changed"
    q = p.copy()
    q.own_links().discard(1)
    assert q.links == {2} and sorted(rows[0]["links"]) == [1, 2] and sorted(p.links) == [1, 2]
    assert Proc.from_entry(rows[2], 7).links == {0}
    entry = sent(123_456_789_012, 0xFFFFFFFE)
    assert type(entry) is int
    assert mailbox_entry(entry) == (0xFFFFFFFE, Lazy(123_456_789_012))
    assert mailbox_entry((5, "m")) == (5, "m")
