"""A sandbox mailbox's keyframe cells made natively (``MailboxCells``) are the bytes the
world's lists give: the lazy ``mailbox`` cell is the payload encoding of the rows (native and
pure-Python encoders alike), the ``mailbox_ids`` cell packs as the pairs, and a whole keyframe
of a recording is the same either way."""

from __future__ import annotations

import collections
import hashlib
from pathlib import Path
from typing import Any

import msgpack
import pytest

from recorder.payload import Limits, Packed, Pid, _walk, encode_payload, freeze
from recorder.sandbox import Process, Runtime, introspection
from recorder.session import keyframes
from recorder.session.keyframes import MailboxCells, mailbox_cells, pack_world

pytestmark = pytest.mark.skipif(
    keyframes.native_mailbox_cells is None, reason="the native encoder is not in use"
)


class _Loud:
    def __repr__(self) -> str:
        return "<loud " + "x" * 300 + ">"


_SHARED = ["the same list", "in two envelopes"]

_MESSAGES: list[tuple[Any, Any]] = [  # (message, recorded) as the sandbox queues them
    (7, 7),
    ("text", "text"),
    ((1, "a"), freeze((1, "a"))),
    ([1, 2, {"k": {3}}], freeze([1, 2, {"k": {3}}])),
    ({"deep": [[[[[[1]]]]]]}, None),  # recorded before recording started: the live value
    (_SHARED, None),
    (_SHARED, None),
    ("y" * 5000, "y" * 5000),
    (list(range(3000)), None),
    (_Loud(), None),
    (Pid(4), Pid(4)),
    (None, None),
    (b"\x00" * 70, b"\x00" * 70),
    (2**80, 2**80),
    (1.5, 1.5),
]

_LIMITS = [
    Limits(),
    Limits(max_str=8),
    Limits(max_depth=3),
    Limits(max_items=3),
    Limits(max_bytes=400),
    Limits(max_nodes=60),
    Limits(max_repr=10),
]


def _mailbox(n: int, start: int = 1) -> collections.deque[tuple[Any, ...]]:
    return collections.deque(
        (start + i, 3 + i % 5, *_MESSAGES[i % len(_MESSAGES)]) for i in range(n)
    )


def _rows(mb: Any, limit: int) -> list[list[Any]]:
    return [[m, s, msg if rec is None else rec] for m, s, msg, rec in list(mb)[:limit]]


@pytest.mark.parametrize("limits", _LIMITS, ids=repr)
@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 40, 150])
def test_cells_are_the_bytes_of_the_lists(limits: Limits, n: int) -> None:
    mb = _mailbox(n)
    cells = mailbox_cells(mb, 100, limits)
    rows = _rows(mb, 100)
    k = len(rows)
    if cells is None:  # limits too small for whole rows: the lists are used
        assert (
            k > limits.max_items
            or 3 * k + 1 > limits.max_nodes
            or 19 * k + 5 >= limits.max_bytes
            or limits.max_items < 3
        )
        return
    assert len(cells) == k
    assert cells.payload == encode_payload(rows, limits) == _walk.encode(rows, limits)
    assert cells.as_rows() == rows
    assert msgpack.packb(cells.ids) == msgpack.packb(keyframes._mailbox_ids(rows, limits))


def test_uncommon_envelopes_are_left_to_the_lists() -> None:
    limits = Limits()
    for bad in (
        [(1, 2, "m")],  # not a 4-tuple
        [[1, 2, "m", None]],  # a list
        [(1, Pid(2), "m", None)],  # a sender that is not a small int
        [(-1, 2, "m", None)],
        [(1 << 62, 2, "m", None)],
        [(True, 2, "m", None)],  # an int subclass
    ):
        assert mailbox_cells(collections.deque(bad), 100, limits) is None
    assert mailbox_cells(_mailbox(5), 100, Limits(max_items=2)) is None


def test_a_world_with_cells_packs_as_the_world_with_lists() -> None:
    limits = Limits(max_str=20)
    procs = []
    for pid, n in ((0, 0), (1, 5), (2, 120), (3, 33)):
        mb = _mailbox(n, start=100 * pid)
        cells = mailbox_cells(mb, 100, limits)
        assert cells is not None
        procs.append(({"pid": pid, "name": f"p{pid}", "mailbox_len": n}, cells, _rows(mb, 100)))

    def world(with_cells: bool) -> dict[str, Any]:
        return {
            "time_ns": 5,
            "processes": [
                {**p, "mailbox": cells if with_cells else rows} for p, cells, rows in procs
            ],
            "dead": [],
            "supervisors": [],
            "registry": {},
        }

    want = msgpack.packb(pack_world(world(False), limits), use_bin_type=True)
    assert msgpack.packb(pack_world(world(True), limits), use_bin_type=True) == want
    # under other limits the cells are not used: the rows they keep are encoded again
    other = Limits(max_str=5)
    assert msgpack.packb(pack_world(world(True), other), use_bin_type=True) == msgpack.packb(
        pack_world(world(False), other), use_bin_type=True
    )


def test_cells_keep_the_recorded_value_not_the_live_one() -> None:
    live = [1, 2]
    mb = collections.deque([(1, 2, live, freeze(live))])
    live.append(3)  # the receiver mutated it after the SEND
    cells = mailbox_cells(mb, 100, Limits())
    assert cells is not None
    assert cells.payload == encode_payload([[1, 2, Packed(encode_payload([1, 2]))]])


async def _fan_sender(proc: Process, targets: list[Any], count: int) -> None:
    for i in range(count):
        for t in targets:
            proc.send(t, (i, "job") if i % 3 else i)
        if i % 64 == 63:
            await proc.yield_now()


async def _fan_receiver(proc: Process, count: int) -> None:
    for _ in range(count):
        await proc.receive()


def _record_fan_out(path: Path) -> str:
    rt = Runtime(
        deterministic=True,
        seed=3,
        record=str(path),
        metadata={"host": "h", "pid": 1, "argv": [], "clock_anchor": None},
        recorder_options={"flush_interval": None, "wall_clock": lambda: 0},
        keyframe_min_events=256,
        profile_interval_ms=None,
    )
    targets = [rt.spawn(_fan_receiver, 1500) for _ in range(12)]
    rt.spawn(_fan_sender, targets, 1500)
    rt.run()
    rt.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_fan_out_recording_is_the_same_file_without_the_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = introspection.mailbox_cells

    def counted(*args: Any) -> MailboxCells | None:
        got = real(*args)
        calls.append(got is not None)
        return got

    monkeypatch.setattr(introspection, "mailbox_cells", counted)
    with_cells = _record_fan_out(tmp_path / "cells.cinema")
    assert any(calls)  # the keyframes had queued messages, made as cells
    monkeypatch.setattr(introspection, "mailbox_cells", lambda *args: None)
    assert _record_fan_out(tmp_path / "lists.cinema") == with_cells
