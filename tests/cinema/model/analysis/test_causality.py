"""``why``: causal chains backwards and forwards, on sandbox recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinema.model.causality import why
from cinema.model.errors import ModelError
from cinema.model.session import Session

from ._programs import PROGRAMS, record


def _open(tmp_path: Path, name: str) -> Session:
    return Session.open(record(tmp_path, name, PROGRAMS[name]))


def _first(s: Session, kind: str, process: str | None = None, start: int = 0) -> int:
    for ev in s.events(start):
        if ev.kind_name == kind and (process is None or s.process_name(ev.pid) == process):
            return ev.seq
    raise AssertionError(f"no {kind} of {process}")


def _kinds(s: Session, steps: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(s.event(st.seq).kind_name, s.process_name(s.event(st.seq).pid)) for st in steps]


def test_a_state_change_goes_back_through_the_call_to_its_caller(tmp_path: Path) -> None:
    with _open(tmp_path, "chained_calls") as s:
        # bob's first state change after init: caused by alice's call, which alice made while
        # handling the client's call.
        state = _first(s, "state", "bob", _first(s, "receive", "bob"))
        w = why(s, state)
        assert _kinds(s, w.backward)[:6] == [
            ("state", "bob"), ("receive", "bob"), ("send", "alice"), ("receive", "alice"),
            ("send", "client"), ("spawn", "client"),
        ]  # fmt: skip
        assert w.cut_backward == ""
        sent = s.event(w.backward[2].seq)
        assert sent.ref == s.event(w.backward[1].seq).ref  # the message bob took
        for a, b in zip(w.backward, w.backward[1:], strict=False):
            assert b.seq < a.seq and b.cause == a.seq and b.depth == a.depth + 1


def test_forward_from_a_call_reaches_the_reply(tmp_path: Path) -> None:
    with _open(tmp_path, "chained_calls") as s:
        call = _first(s, "send", "client")
        w = why(s, call)
        kinds = _kinds(s, w.forward)
        assert kinds[0] == ("send", "client")
        for needed in [("receive", "alice"), ("send", "alice"), ("receive", "bob"),
                       ("state", "bob"), ("receive", "client")]:  # fmt: skip
            assert needed in kinds, (needed, kinds)
        seqs = {st.seq for st in w.forward}
        assert all(st.cause in seqs for st in w.forward[1:])


def test_a_link_cascade_crash_is_explained_by_the_other_crash(tmp_path: Path) -> None:
    with _open(tmp_path, "link_cascade") as s:
        died = _first(s, "crash", "bystander")
        w = why(s, died)
        assert _kinds(s, w.backward)[:3] == [
            ("crash", "bystander"),
            ("exit_signal", "bystander"),
            ("crash", "crasher"),
        ]
        fw = why(s, _first(s, "crash", "crasher"))
        assert ("exit_signal", "bystander") in _kinds(s, fw.forward)
        assert ("crash", "bystander") in _kinds(s, fw.forward)


def test_a_restart_is_explained_by_the_child_crash(tmp_path: Path) -> None:
    with _open(tmp_path, "crash_loop") as s:
        restart = _first(s, "restart")
        w = why(s, restart)
        assert _kinds(s, w.backward)[1] == ("crash", "flaky0")
        crash = w.backward[1].seq
        assert ("restart", "sup") in _kinds(s, why(s, crash).forward)


def test_bounds(tmp_path: Path) -> None:
    with _open(tmp_path, "hub") as s:
        last = s.event_count - 1
        late = max(e.seq for e in s.events() if e.kind_name == "state")
        w = why(s, late, max_hops=3)
        assert len(w.backward) == 4 and "3 hops" in w.cut_backward
        w = why(s, late, max_processes=1)
        assert len({s.event(st.seq).pid for st in w.backward}) == 1
        assert "1 processes" in w.cut_backward
        first_send = _first(s, "send", "client0")
        w = why(s, first_send, max_events=5, max_hops=50)
        assert len(w.forward) == 5 and "5 events" in w.cut_forward
        with pytest.raises(ModelError):
            why(s, last + 1)
