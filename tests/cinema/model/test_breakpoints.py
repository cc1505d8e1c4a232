"""Breakpoints: each condition kind on a crafted session, next / previous hits, the sidecar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cinema.model.breakpoints import (
    BreakpointSet,
    ExpressionCondition,
    MessageCondition,
    MessageResultCondition,
    ProcessEventCondition,
    StateCondition,
    condition_from_json,
)
from cinema.model.errors import ModelError
from cinema.model.expr import ExprError
from cinema.model.session import Session
from cinema.model.sidecar import (
    Bookmark,
    SidecarError,
    load_sidecar,
    save_sidecar,
    sidecar_path,
)
from recorder.session.reader import SessionReader

from . import bp_sessions


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return Session.open(bp_sessions.bank_session(tmp_path_factory.mktemp("b") / "bank.cinema"))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (MessageCondition(message_type="withdraw"), [10, 16]),
        (MessageCondition(message_type="withdraw", on="send"), [9, 15]),
        (MessageCondition(message_type="withdraw", on="any", process="client"), [9, 15]),
        (MessageCondition(pattern="overdrawn"), [13]),
        (MessageCondition(message_type="deposit", process="account-1"), [7]),
        (StateCondition("balance", ">", 20), [8]),
        (StateCondition("balance", "<", 0, process="account-1"), [11, 14]),
        (StateCondition("status", "changed"), [14]),
        (StateCondition("balance", "changed"), [8, 11]),
        (StateCondition("status", "equals", "frozen"), [14]),
        (StateCondition("balance", "==", 10, process=4), [20]),
        (ProcessEventCondition(("crash",)), [17]),
        (ProcessEventCondition(("spawn",), process="account-2"), [2, 19]),
        (ProcessEventCondition(("restart",), process="account-2"), [18]),
        (ProcessEventCondition(("exit", "crash")), [17, 25]),
        (MessageResultCondition(("timeout",)), [22]),
        (MessageResultCondition(("dropped",)), [24]),
        (MessageResultCondition(process="account-1"), [22]),
        (ExpressionCondition('msg_type == "withdraw" and state.balance < 0'), [11]),
    ],
)
def test_condition_kinds(bank: Session, condition: Any, expected: list[int]) -> None:
    bps = BreakpointSet()
    bp = bps.add(condition)
    assert bps.hits_of(bank, bp.id).tolist() == expected
    # every condition round-trips through JSON to the same expression
    assert condition_from_json(json.loads(json.dumps(bp.to_json()["condition"]))) == condition


def test_bad_conditions_are_clear() -> None:
    with pytest.raises(ModelError, match="needs a message type or a pattern"):
        MessageCondition()
    with pytest.raises(ModelError, match="unknown state operator '=~'"):
        StateCondition("balance", "=~", 1)
    with pytest.raises(ModelError, match="bad state field '_x'"):
        StateCondition("_x", ">", 1)
    with pytest.raises(ModelError, match="unknown process event 'explode'"):
        ProcessEventCondition(("explode",))
    with pytest.raises(ModelError, match="unknown message result 'lost'"):
        MessageResultCondition(("lost",))
    with pytest.raises(ExprError, match="col 1: unknown name 'nope'"):
        ExpressionCondition("nope == 1")
    bps = BreakpointSet()
    with pytest.raises(ModelError, match="unknown breakpoint action 'explode'"):
        bps.add("pid == 1", action="explode")
    with pytest.raises(ModelError, match="no breakpoint 'bp9'"):
        bps.remove("bp9")
    with pytest.raises(ModelError, match="unknown condition type 'magic'"):
        condition_from_json({"type": "magic"})


def test_edit_enable_next_prev_and_actions(bank: Session) -> None:
    bps = BreakpointSet()
    changes: list[int] = []
    bps.subscribe(lambda s: changes.append(len(s)))
    crash = bps.add(ProcessEventCondition(("crash",)))
    state = bps.add(StateCondition("balance", "<", 0), action="log")
    assert bps.hits(bank).tolist() == [11, 14, 17]
    assert bps.hits(bank, actions=("pause",)).tolist() == [17]
    hit = bps.next_hit(bank, 11)
    assert (
        hit is not None and hit.seq == 14 and hit.breakpoints == (state.id,) and hit.action == "log"
    )
    assert bps.prev_hit(bank, 11) is None
    back = bps.prev_hit(bank, 25)
    assert back is not None and back.seq == 17 and back.action == "pause"
    bps.disable(crash.id)
    assert bps.next_hit(bank, 14) is None
    bps.enable(crash.id)
    bps.edit(state.id, where="t > 0.1", action="pause_highlight")
    assert bps.hits_of(bank, state.id).tolist() == [14]
    bps.edit(crash.id, condition="kind == 'exit'")
    assert bps.hits_of(bank, crash.id).tolist() == [25]
    with pytest.raises(ExprError):
        bps.edit(crash.id, condition="kind ==")
    assert bps.hits_of(bank, crash.id).tolist() == [25]  # a failed edit changes nothing
    both = bps.add("seq == 14")
    at = bps.hit_at(bank, 14)
    assert at is not None and at.breakpoints == (state.id, both.id) and at.action == "pause"
    bps.remove(both.id)
    assert len(bps) == 2 and both.id not in bps
    assert changes  # listeners were told


def test_hits_extend_when_a_session_grows(tmp_path: Path) -> None:
    path = bp_sessions.bank_session(tmp_path / "bank.cinema")
    data = path.read_bytes()
    live = Session.live()
    bps = BreakpointSet()
    bp = bps.add(StateCondition("balance", "changed"))
    with SessionReader(path) as r:  # half the frames (the footer is most of a small file)
        offsets = r.frame_table()["offset"]
    cut = int(offsets[len(offsets) // 2])
    live.feed(data[:cut])
    n_first = live.event_count
    assert 0 < n_first < 26
    first = bps.hits_of(live, bp.id).tolist()
    assert first == [s for s in [8, 11] if s < n_first]
    live.feed(data[cut:])
    assert live.event_count == 26
    assert bps.hits_of(live, bp.id).tolist() == [8, 11]


def test_sidecar_round_trip(tmp_path: Path, bank: Session) -> None:
    bps = BreakpointSet()
    bps.add(StateCondition("balance", "<", 0, process="account-1"), label="overdraft")
    bps.add(MessageCondition(pattern="dep.*"), action="log", enabled=False)
    bps.get("bp1").hit_count = 3
    path = sidecar_path(tmp_path / "bank.cinema")
    assert path.name == "bank.cinema.cinema-bp.json"
    save_sidecar(path, bps, [Bookmark(11, "overdrawn here"), Bookmark(2, "")])
    loaded, marks = load_sidecar(path)
    assert loaded.to_json() == bps.to_json()
    assert marks == [Bookmark(2, ""), Bookmark(11, "overdrawn here")]
    assert loaded.hits(bank).tolist() == [11, 14]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "corrupt breakpoint file (invalid JSON at line 1, column 2)"),
        ("[]", "not a Cinema breakpoint file"),
        ('{"format": "cinema-breakpoints"}', "has no version number"),
        ('{"format": "cinema-breakpoints", "version": 7}', "version 7 is newer than"),
        (
            '{"format": "cinema-breakpoints", "version": 1, "breakpoints": '
            '[{"condition": {"type": "expression", "text": "pid =="}}]}',
            "breakpoint 1: bad expression: col 7",
        ),
        (
            '{"format": "cinema-breakpoints", "version": 1, "breakpoints": '
            '[{"condition": {"type": "state", "field": "x", "op": "?"}}]}',
            "breakpoint 1: unknown state operator",
        ),
        (
            '{"format": "cinema-breakpoints", "version": 1, "bookmarks": [{"seq": -1}]}',
            "bookmark 1 has no valid event number",
        ),
    ],
)
def test_corrupt_sidecar_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.cinema-bp.json"
    path.write_text(content)
    with pytest.raises(SidecarError) as info:
        load_sidecar(path)
    assert message in str(info.value) and str(path) in str(info.value)
