"""cinema.model.present: rows, typed JSON values and their inverse, pid and process text."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model import present
from recorder.events import NO_PID, NO_REF, Event, EventKind
from recorder.payload import (
    EnumValue,
    Opaque,
    Pid,
    Record,
    Ref,
    Truncated,
    decode_payload,
    encode_payload,
)

SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "schema"


class Names:
    t_first = 1_000

    def process_name(self, pid: int) -> str:
        return {1: "db", 2: "web"}.get(pid, f"<0.{pid}.0>")


_hashable = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.binary(max_size=8),
    st.builds(Pid, st.integers(0, 2**32 - 1)), st.builds(Ref, st.integers(0, 2**40)),
)  # fmt: skip
_leaves = st.one_of(
    _hashable,
    st.floats(allow_nan=False),
    st.sampled_from([math.inf, -math.inf]),
    st.builds(Opaque, st.text(max_size=8), st.text(max_size=20)),
    st.builds(EnumValue, st.text(max_size=8), st.text(max_size=8), st.integers()),
    st.builds(Truncated, st.sampled_from(["str", "items", "depth"]), st.integers(0, 9999)),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.frozensets(_hashable, max_size=4),
        st.sets(_hashable, max_size=4),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
        st.dictionaries(_hashable, children, max_size=4),
        st.builds(
            Record,
            st.text(max_size=10),
            st.dictionaries(st.text(max_size=6), children, max_size=3).map(
                lambda d: tuple(d.items())
            ),
        ),
    )


values = st.recursive(_leaves, _containers, max_leaves=12)


def _validator() -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    docs = [json.loads(p.read_text()) for p in SCHEMA.glob("*.json")]
    reg = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
    return Draft202012Validator({"$ref": "urn:cinema:schema:value"}, registry=reg)


_VALUE = _validator()


@settings(max_examples=80, deadline=None)
@given(values)
def test_json_is_valid_strict_and_lossless(v: Any) -> None:
    j = present.to_json(v)
    text = json.dumps(j, allow_nan=False)  # strict JSON: no NaN / Infinity
    assert list(_VALUE.iter_errors(j)) == []
    assert present.from_json(json.loads(text)) == v


@settings(max_examples=60, deadline=None)
@given(values)
def test_what_a_reader_decodes_reads_back(v: Any) -> None:
    decoded = decode_payload(encode_payload(v))  # the values a session really holds
    assert present.from_json(present.to_json(decoded)) == decoded


def test_special_values() -> None:
    assert present.to_json(math.nan) == {"$float": "nan"}
    assert math.isnan(present.from_json({"$float": "nan"}))
    assert present.to_json(Pid(NO_PID)) == {"$pid": None}
    assert present.from_json({"$pid": None}) == Pid(NO_PID)
    assert present.to_json({"$type": 1}) == {"$map": [["$type", 1]]}  # never read as a record
    odd = Record("r", (("$x", 1), (2, 3)))
    assert present.to_json(odd) == {"$type": "r", "$fields": [["$x", 1], [2, 3]]}
    assert present.from_json(present.to_json(odd)) == odd
    deep: Any = 1
    for _ in range(present.JSON_MAX_DEPTH + 5):
        deep = [deep]
    assert "$truncated" in json.dumps(present.to_json(deep))
    with pytest.raises(ValueError, match="unknown"):
        present.from_json({"$nope": 1})
    with pytest.raises(ValueError, match="malformed"):
        present.from_json({"$pid": "x"})


def test_pids_and_processes() -> None:
    n = Names()
    assert present.pid_text(12) == "<0.12.0>"
    assert present.pid_text(None) == present.pid_text(NO_PID) == present.pid_text(-1) == "-"
    assert present.pid_or_none(NO_PID) is None and present.pid_or_none(0) == 0
    assert present.process_label(n, 1) == "db <0.1.0>"
    assert present.process_label(n, 9) == "<0.9.0>"  # never named
    assert present.process_label(n, NO_PID) == "-"
    assert present.brief(("EXIT", Pid(NO_PID), "normal")) == '("EXIT", <no process>, normal)'


@pytest.mark.parametrize(
    ("kind", "arrow"),
    [(EventKind.SEND, "->"), (EventKind.RECEIVE, "<-"), (EventKind.STATE, "<-"),
     (EventKind.SPAWN, "<-"), (EventKind.LINK, "->"), (EventKind.RESTART, "->")],
)  # fmt: skip
def test_event_lines_and_rows(kind: int, arrow: str) -> None:
    n = Names()
    ev = Event(7, 1_500_000_000 + 1_000, kind, 1, 2, 5, ("get", "key 1"))
    assert present.event_line(n, ev) == (
        f'#7        +1.500000s  {ev.kind_name:<11} db <0.1.0> {arrow} web <0.2.0>  (get, "key 1")'
    )
    row = present.event_row(n, ev)
    assert row == {
        "seq": 7, "ts": ev.ts, "t": 1.5, "kind": ev.kind_name, "pid": 1, "process": "db",
        "peer": 2, "peer_process": "web", "ref": 5, "data": {"$tuple": ["get", "key 1"]},
    }  # fmt: skip
    lonely = Event(8, 2_000, EventKind.MARKER, NO_PID, NO_PID, NO_REF, None)
    assert present.event_line(n, lonely) == "#8        +0.000001s  marker      -"
    assert present.event_row(n, lonely)["pid"] is None
    assert present.event_row(n, lonely)["ref"] is None
