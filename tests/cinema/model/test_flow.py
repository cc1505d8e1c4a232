from __future__ import annotations

from pathlib import Path

import numpy as np

from cinema.model import Session
from cinema.model.flow import (
    DROPPED,
    LOST,
    QUEUED,
    RECEIVED,
    TIMED_OUT,
    communication_graph,
    message_chain,
    message_flow,
)  # fmt: skip
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER


def _session(path: Path) -> Path:
    clock = iter(range(1000, 10**9, 100))
    with Recorder(path, clock=lambda: next(clock), flush_interval=None) as rec:
        for pid in range(4):
            rec.emit(K.SPAWN, pid, NO_PEER, 0, {"name": f"p{pid}"})
        rec.emit(K.SEND, 0, 1, 1, "a")  # 4: received at 6
        rec.emit(K.SEND, 0, 1, 2, "bb")  # 5: dropped at 7
        rec.emit(K.RECEIVE, 1, 0, 1)  # 6
        rec.emit(K.DROP, 0, 1, 2, {"reason": "rule"})  # 7
        rec.emit(K.SEND, 1, 2, 3, ("x", 1))  # 8: sent while 1 handled message 1 -> chain
        rec.emit(K.RECEIVE, 2, 1, 3)  # 9
        rec.emit(K.SEND, 2, 3, 4, "z")  # 10: lost: 3 crashes
        rec.emit(K.CRASH, 3, NO_PEER, 0, {"reason": "boom"})  # 11
        rec.emit(K.SEND, 0, 2, 5, "call")  # 12: timed out
        rec.emit(K.TIMEOUT, 0, 2, 5, {"op": "call", "after_ms": 5})  # 13
        rec.emit(K.SEND, 0, 1, 6, "late")  # 14: still queued
    return path


def test_pairing_outcomes_and_latency(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        f = message_flow(s)
        assert f.send_seq.tolist() == [4, 5, 8, 10, 12, 14]
        assert f.recv_seq.tolist() == [6, 7, 9, -1, 13, -1]
        assert f.outcome.tolist() == [RECEIVED, DROPPED, RECEIVED, LOST, TIMED_OUT, QUEUED]
        assert f.latency_ns.tolist() == [200, 200, 100, -1, 100, -1]
        sizes = f.size_bytes()
        assert sizes.tolist() == [len(s.reader.payload_bytes(int(q))) for q in f.send_seq]


def test_graph_stats(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        g = communication_graph(s)
        e = g.edges[0, 1]
        assert (e["count"], e["dropped"], e["latency_max"], e["latency_p50"]) == (3, 1, 200, 200)
        assert e["bytes"] == int(message_flow(s).size_bytes()[[0, 1, 5]].sum())
        assert g.edges[2, 3]["lost"] == 1 and g.edges[2, 3]["latency_mean"] is None
        assert g.nodes[0]["name"] == "p0"
        window = communication_graph(s, t_from=s.time_of(8), t_to=s.time_of(10))
        assert sorted(window.edges) == [(1, 2), (2, 3)]


def test_message_chain(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path / "f.cinema")) as s:
        chain = message_chain(s, 4)
        assert [(c.depth, c.send_seq, c.receiver) for c in chain] == [
            (0, 4, 1),
            (1, 8, 2),
            (2, 10, 3),
        ]
        assert message_chain(s, 6)[0].send_seq == 4
        assert np.all(np.diff([c.depth for c in chain]) >= 0)
