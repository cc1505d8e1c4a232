"""The session's one index: pairing by the rule, growth with a live stream, per-process parts."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model import Session
from cinema.model.event_scope import EventTable
from cinema.model.index import (
    DROPPED,
    LOST,
    QUEUED,
    RECEIVED,
    TIMED_OUT,
    SessionIndex,
    first_after,
)
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER

from . import bp_sessions


def _first_after_slow(seqs: list[int], ids: list[int], ls: list[int], lr: list[int]) -> list[int]:
    out = []
    for s, r in zip(seqs, ids, strict=True):
        later = [t for t, q in zip(ls, lr, strict=True) if q == r and q != 0 and t > s]
        out.append(min(later) if later else -1)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(-3, 5)), max_size=30),
    st.lists(st.tuples(st.integers(0, 60), st.integers(-3, 5)), max_size=30),
    st.booleans(),
)
def test_first_after_is_the_first_later_event_with_the_id(
    queries: list[tuple[int, int]], later: list[tuple[int, int]], huge: bool
) -> None:
    # huge ids take the ranking path (the composite key would overflow)
    scale = 2**59 if huge else 1
    qs, qi = [q for q, _ in queries], [i * scale for _, i in queries]
    ls, li = [t for t, _ in later], [i * scale for _, i in later]
    got = first_after(qs, qi, ls, li).tolist()
    assert got == _first_after_slow(qs, qi, ls, li)


def _session(path: Path) -> Path:
    clock = iter(range(1000, 10**9, 100))
    with Recorder(path, clock=lambda: next(clock), flush_interval=None, frame_events=3) as rec:
        for pid in range(4):
            rec.emit(K.SPAWN, pid, NO_PEER, 0, {"name": f"p{pid}"})
        rec.emit(K.RECEIVE, 1, 0, 1)  # 4: a consume before any SEND of id 1: pairs with none
        rec.emit(K.SEND, 0, 1, 1, "a")  # 5: received at 7
        rec.emit(K.SEND, 0, 1, 2, "bb")  # 6: dropped at 8
        rec.emit(K.RECEIVE, 1, 0, 1)  # 7
        rec.emit(K.DROP, 0, 1, 2, {"reason": "rule"})  # 8
        rec.emit(K.SEND, 2, 3, 4, "z")  # 9: lost: 3 crashes
        rec.emit(K.CRASH, 3, NO_PEER, 0, {"reason": "boom"})  # 10
        rec.emit(K.SEND, 0, 2, 5, "call")  # 11: timed out, then received late
        rec.emit(K.TIMEOUT, 0, 2, 5, {"op": "call", "after_ms": 5})  # 12
        rec.emit(K.STATE, 2, NO_PEER, 0, {"state": 1})  # 13
        rec.emit(K.SEND, 0, 2, 6, "late")  # 14: still queued
        rec.emit(K.STATE, 2, NO_PEER, 0, {"state": 2})  # 15
        rec.emit(K.RECEIVE, 2, 0, 5)  # 16: the timed-out call arrives after all
    return path


def test_messages_pair_by_the_rule(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        m = s.index.messages()
        assert m.send_seq.tolist() == [5, 6, 9, 11, 14]
        assert m.consume_seq.tolist() == [7, 8, -1, 16, -1]
        assert m.timeout_seq.tolist() == [-1, -1, -1, 12, -1]
        assert m.recv_seq.tolist() == [7, 8, -1, 16, -1]
        assert m.outcome.tolist() == [RECEIVED, DROPPED, LOST, RECEIVED, QUEUED]
        assert m.sender.tolist() == [0, 0, 2, 0, 0] and m.receiver.tolist() == [1, 1, 3, 2, 2]
        assert s.index.send_of(5) == 11 and s.index.send_of(3) is None
        assert s.index.send_of(0) is None
        assert m.row_of_send(9) == 2 and m.row_of_outcome(16) == 3 and m.row_of_outcome(4) == -1


def test_states_and_events_by_process(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        ix, sk = s.index, s.skeleton
        assert ix.states_of(2).tolist() == [13, 15] and len(ix.states_of(1)) == 0
        assert ix.prev_state(15, 2) == 13 and ix.prev_state(13, 2) is None
        for pid in range(4):
            assert ix.actor_events(pid).tolist() == np.flatnonzero(sk.pid == pid).tolist()
            assert ix.peer_events(pid).tolist() == np.flatnonzero(sk.peer == pid).tolist()
            both = np.flatnonzero((sk.pid == pid) | (sk.peer == pid)).tolist()
            assert ix.events_of(pid).tolist() == both
        assert len(ix.actor_events(0xFFFFFFFF)) == 0
        assert ix.ended_pids().tolist() == [3]


def test_one_index_per_reader(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        assert s.index is SessionIndex.of(s) is SessionIndex.of(s.reader)
        assert EventTable.of(s).index is s.index


def test_the_index_goes_with_its_reader(tmp_path: Path) -> None:
    # shared per reader, the index and the event table refer back to it: a weak-keyed table
    # of them kept every session ever opened alive
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        s.index.messages()
        refs = [weakref.ref(x) for x in (s, s.reader, s.index, EventTable.of(s))]
    del s
    gc.collect()
    assert [r() for r in refs] == [None] * 4


def test_a_live_session_grows_its_index(tmp_path: Path) -> None:
    """Fed in pieces, every part equals the part built over the whole file at once."""
    whole = _session(tmp_path / "f.cinema").read_bytes()
    live = Session.live()
    ix = live.index
    sizes = []
    step = max(len(whole) // 7, 1)
    for i in range(0, len(whole), step):
        live.feed(whole[i : i + step])
        m = ix.messages()
        ix.states_of(2), ix.actor_events(0), ix.peer_events(1), ix.send_of(5)
        sizes.append(m.n)
    assert sizes[-1] == live.event_count and len(set(sizes)) > 2  # it really grew in steps
    with Session.open(io_path(tmp_path, whole)) as s:
        a, b = live.index, s.index
        for name in ("send_seq", "consume_seq", "timeout_seq", "outcome", "recv_seq"):
            assert getattr(a.messages(), name).tolist() == getattr(b.messages(), name).tolist()
        for pid in range(4):
            assert a.actor_events(pid).tolist() == b.actor_events(pid).tolist()
            assert a.peer_events(pid).tolist() == b.peer_events(pid).tolist()
            assert a.states_of(pid).tolist() == b.states_of(pid).tolist()
        assert a.send_of(5) == b.send_of(5) == 11


def io_path(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "copy.cinema"
    p.write_bytes(data)
    return p


def test_index_agrees_with_a_slow_pairing_on_a_demo(tmp_path: Path) -> None:
    """On a sandbox recording: every message's consume is the first RECEIVE/DROP of its id
    after it, found by brute force."""
    with Session.open(bp_sessions.bank_session(tmp_path / "bank.cinema")) as s:
        sk, refs = s.skeleton, s.refs
        m = s.index.messages()
        consumes = np.flatnonzero(np.isin(sk.kind, [K.RECEIVE, K.DROP]) & (refs != 0))
        for row, seq in enumerate(m.send_seq.tolist()):
            later = consumes[(consumes > seq) & (refs[consumes] == refs[seq])]
            want = int(later[0]) if len(later) and refs[seq] != 0 else -1
            assert m.consume_seq[row] == want
        assert (m.outcome == RECEIVED).sum() > 0
        assert set(m.outcome.tolist()) <= {RECEIVED, DROPPED, TIMED_OUT, QUEUED, LOST}


def test_event_windows_keep_the_cached_blocks_they_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window whose first frame was cached long ago and whose other frames are loaded now:
    # the cache, full, must evict older frames, not that one (a seek raised KeyError).
    from cinema.model import activity

    monkeypatch.setattr(activity, "CACHED_FRAMES", 4)
    path = tmp_path / "w.cinema"
    rec = Recorder(path, flush_interval=None, frame_events=10, keyframe_every=10**6)
    for i in range(200):
        rec.emit(K.MARKER, i % 3, NO_PEER, i, None)
    rec.close()
    with Session.open(path) as s:
        want = s.reader.skeleton()  # loaded here; the second reader reads frames
        with Session.open(path) as fresh:
            act = fresh.index.activity
            act.columns(0, 5)  # frame 0 cached first
            act.columns(170, 200)  # then three more: the cache is full
            assert not fresh.reader.skeleton_loaded
            got = act.columns(5, 55)  # frame 0 (the oldest) and five not cached
            assert got.ts.tolist() == want.ts[5:55].tolist()
            assert got.pid.tolist() == want.pid[5:55].tolist()
