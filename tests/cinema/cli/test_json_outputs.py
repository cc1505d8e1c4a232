"""Every ``--json`` command over sandbox recordings of the three demos, at several events: the
output parses, follows docs/schema/, and says the same as the model (nothing lost, no private
keys, "no process" always null)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cinema.model.present import from_json, to_json
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, EventKind

from .conftest import cinema


def _errors(validate: Any, doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in validate.iter_errors(doc)
    ]


def _same(a: Any, b: Any) -> bool:
    """Equality that takes NaN as equal to itself (a recorded float('nan') reads back as one)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _walk_keys(doc: Any) -> set[str]:
    keys: set[str] = set()
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            keys.update(x)
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return keys


def _moments(s: Session) -> list[int]:
    """Events worth a look: the first, the last, quarters, the first crash and restart."""
    n = s.event_count
    kinds = s.skeleton.kind
    picks = {0, 1, n // 4, n // 2, 3 * n // 4, n - 1}
    for k in (EventKind.CRASH, EventKind.RESTART, EventKind.EXIT):
        hits = np.flatnonzero(kinds == k)
        if len(hits):
            picks.add(int(hits[0]))
    return sorted(picks)


def test_schemas_name_every_kind_and_status(validator: Callable[[str], Any]) -> None:
    from cinema.model.world import STATUSES

    kinds = validator("event-row").schema["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(KIND_NAMES.values())
    statuses = validator("process-row").schema["properties"]["status"]["enum"]
    assert sorted(statuses) == sorted(STATUSES)


def test_info(demo: str, validator: Callable[[str], Any]) -> None:
    code, out, _ = cinema("info", demo, "--json")
    doc = json.loads(out)
    assert code == 0 and _errors(validator("info"), doc) == []
    with Session.open(demo) as s:
        assert doc["events"] == s.event_count and doc["processes"] == len(s.processes)
        assert sum(doc["kinds"].values()) == s.event_count


def test_events_rows_follow_the_schema_and_lose_nothing(
    demo: str, validator: Callable[[str], Any]
) -> None:
    code, out, _ = cinema("events", demo, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    check = validator("event-row")
    with Session.open(demo) as s:
        assert [r["seq"] for r in rows] == list(range(s.event_count))
        sk = s.skeleton
        seen_kinds: dict[str, int] = {}
        for r in rows:
            ev = s.event(r["seq"])
            seen_kinds[r["kind"]] = seen_kinds.get(r["kind"], 0) + 1
            # full schema validation costs ~1 ms a row: a sample of every kind, and a stride
            if seen_kinds[r["kind"]] <= 3 or r["seq"] % 23 == 0:
                assert _errors(check, r) == [], r
            assert r["kind"] == ev.kind_name and r["ts"] == int(sk.ts[r["seq"]])
            assert r["pid"] == (None if ev.pid == NO_PID else ev.pid)
            assert r["peer"] == (None if ev.peer == NO_PID else ev.peer)
            assert (r["process"] is None) == (r["pid"] is None)
            assert (r["peer_process"] is None) == (r["peer"] is None)
            if r["peer"] is not None:
                assert r["peer_process"] == s.process_name(r["peer"])
            assert _same(from_json(r["data"]), ev.data), r["seq"]
    assert "4294967295" not in out and not any(k.startswith("_") for k in _walk_keys(rows))


@pytest.mark.parametrize("which", ["world", "process"])
def test_state_at_several_events(demo: str, which: str, validator: Callable[[str], Any]) -> None:
    check = validator("state")
    with Session.open(demo) as s:
        for seq in _moments(s):
            world = s.world_at(seq)
            if which == "world":
                code, out, err = cinema("state", demo, "--event", str(seq), "--json")
                assert code == 0, err
                doc = json.loads(out)
                assert _errors(check, doc) == [] and doc["seq"] == seq
                rows = doc["processes"]
                assert [r["pid"] for r in rows] == list(world.processes)
                assert doc["registry"] == dict(world.registry)
            else:  # the last process spawned by then, by name
                pid = max(world.processes)
                name = world.processes[pid].name
                code, out, err = cinema("state", demo, "--at", f"#{seq}", "-p", name, "--json")
                assert code == 0, err
                doc = json.loads(out)
                assert _errors(check, doc) == [] and doc["seq"] == seq
                rows = [doc["process"]]
            for r in rows:
                p = world.processes[r["pid"]]
                assert _same(from_json(r["state"]), p.state)
                assert [from_json(m["message"]) for m in r["mailbox"]] == [
                    m.message for m in p.mailbox
                ]
                assert r["mailbox_len"] == p.mailbox_len and r["links"] == list(p.links)
            assert not any(k.startswith("_") for k in _walk_keys(doc))
            assert "4294967295" not in out


@pytest.mark.parametrize(
    "expression", ['kind == "crash" or kind == "restart"', 'kind == "state"', "seq < 40"]
)
def test_breaks(demo: str, expression: str, validator: Callable[[str], Any]) -> None:
    code, out, _ = cinema("breaks", demo, "--when", expression, "--json", "--limit", "40")
    doc = json.loads(out)
    assert code == 0 and _errors(validator("breaks"), doc) == []
    seqs = [h["seq"] for h in doc["hits"]]
    assert seqs and doc["count"] == len(seqs)
    _, lines, _ = cinema("events", demo, "--json", "--from", f"#{seqs[0]}", "--to", f"#{seqs[-1]}")
    by_seq = {r["seq"]: r for r in map(json.loads, lines.splitlines())}
    assert all(h == by_seq[h["seq"]] for h in doc["hits"])  # the same rows as `events`


def test_graph(demo: str, validator: Callable[[str], Any]) -> None:
    code, out, _ = cinema("graph", demo, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and _errors(validator("graph"), doc) == [] and doc["edges"]
    with Session.open(demo) as s:
        sends = int((s.skeleton.kind == EventKind.SEND).sum())
    assert sum(e["count"] for e in doc["edges"]) == sends


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        math.nan,
        math.inf,
        "",
        "$type",
        [],
        {},
        {"$pid": 1},
        {"a": [1, (2,)]},
        {1: "x", (1, 2): None},
        {"$x": 1},
        (),
        (1, "a"),
        {1, 2},
        frozenset({"a"}),
        set(),
        b"\x00\xff",
    ],
)
def test_values_round_trip(value: Any, validator: Callable[[str], Any]) -> None:
    j = to_json(value)
    assert _errors(validator("value"), j) == []
    assert json.loads(json.dumps(j, allow_nan=False)) == j
    assert _same(from_json(j), value)
