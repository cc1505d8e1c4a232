"""Subscriptions, server-side recording, Unix sockets, remote addresses, reconnecting."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from recorder.events import EventKind
from recorder.live import LiveServer, parse_address
from recorder.session.reader import SessionReader

from .conftest import attach

SEND = ["binary", "==", ["name", "kind"], ["lit", "send"]]


def test_filtered_subscriptions_by_kind_process_hops_condition_and_sample(
    program, tmp_path: Path
) -> None:
    path = tmp_path / "bank.cinema"
    p = program("--scenario", "bank", "--pace", "0.5", "--record", str(path), "--linger")
    crashes = attach(p.address, kinds=["crash"])
    ledger = attach(p.address, pids=[1], hops=0)
    around = attach(p.address, pids=[1], hops=1)
    sends = attach(p.address, where={"text": 'kind == "send"', "tree": SEND}, sample=0.25)
    assert p.finished.wait(30)
    for got in (crashes, ledger, around, sends):
        got.wait(lambda g=got: g.events > 0)
    time.sleep(0.5)
    with SessionReader(path) as full:
        sk = full.skeleton()
        kinds = crashes.reader.skeleton().kind
        # only crashes, plus the spawns that name their processes
        assert set(kinds.tolist()) <= {EventKind.CRASH, EventKind.SPAWN}
        assert (kinds == EventKind.CRASH).sum() == (sk.kind == EventKind.CRASH).sum()
        lk = ledger.reader.skeleton()
        named = lk.kind != EventKind.SPAWN  # spawns name the processes the others mention
        assert ((lk.pid == 1) | (lk.peer == 1))[named].all()
        ak = around.reader.skeleton()
        assert len(ak.kind) > len(lk.kind)  # who the ledger talks to, one hop out
        n_sends = int((sk.kind == EventKind.SEND).sum())
        got_sends = int((sends.reader.skeleton().kind == EventKind.SEND).sum())
        assert abs(got_sends - n_sends * 0.25) <= 2
    p.stop()


def test_server_side_recording_starts_at_a_keyframe(program, tmp_path: Path) -> None:
    p = program("--scenario", "chat", "--pace", "1", "--linger")
    got = attach(p.address)
    got.wait(lambda: got.events > 1000)
    out = tmp_path / "server-side.cinema"
    assert got.client.request("record_start", path=str(out))["path"] == str(out)
    time.sleep(1.0)
    files = got.client.request("record_stop")["files"]
    assert files == [str(out)]
    with SessionReader(out) as r:
        assert not r.recovered and r.event_count > 100
        assert r.keyframe_seqs[0] == 0
        assert len(r.processes) > 3  # the keyframe's processes are named by its world
    p.stop()


def test_unix_socket(program) -> None:
    p = program("--scenario", "bank", "--pace", "1", "--listen", "unix", "--linger")
    assert p.address.startswith("unix:")
    got = attach(p.address)
    got.wait(lambda: got.events > 100)
    p.stop()


def test_a_remote_address_needs_an_explicit_flag(capsys) -> None:
    with pytest.raises(ValueError, match="not a loopback address"):
        LiveServer("0.0.0.0:0")
    server = LiveServer("0.0.0.0:0", allow_remote=True)
    try:
        assert "WARNING" in capsys.readouterr().err
    finally:
        server._shutdown()
    assert parse_address(9000).port == 9000 and parse_address("unix").transport == "unix"
    with pytest.raises(ValueError):
        parse_address("nowhere:port")


def test_a_reconnect_continues_the_same_session(program, tmp_path: Path) -> None:
    from cinema.model.live import LiveSource

    path = tmp_path / "pipeline.cinema"
    p = program("--scenario", "pipeline", "--pace", "1", "--record", str(path), "--linger")
    src = LiveSource(p.connection_file)
    src.auto_pump = True
    src.connect()
    deadline = time.monotonic() + 20
    while src.session.event_count < 1500 and time.monotonic() < deadline:
        time.sleep(0.02)
    src.client.close()  # the connection drops...
    assert not src.connected
    time.sleep(0.5)
    src.connect()  # ...and comes back: the session goes on where it was
    assert p.finished.wait(30)
    deadline = time.monotonic() + 20
    with SessionReader(path) as full:
        while src.session.event_count < full.event_count and time.monotonic() < deadline:
            time.sleep(0.05)
        a, b = src.session.reader.skeleton(), full.skeleton()
        assert src.session.event_count == full.event_count
        assert np.array_equal(a.kind, b.kind) and np.array_equal(a.ts, b.ts)
    saved = src.save(tmp_path / "saved.cinema")
    with SessionReader(saved) as r:
        assert r.event_count == src.session.event_count and not r.recovered
    src.discard()
    p.stop()


def test_a_filtered_late_attach_reads_its_history_from_the_file(program, tmp_path: Path) -> None:
    """history="all" with a filter, after the ring dropped the start: the events come from the
    session file, numbered from 0 without gaps, and each maps back to its session number."""
    path = tmp_path / "storm.cinema"
    p = program(
        "--scenario", "storm", "--seconds", "1", "--record", str(path), "--linger",
        "--ring-events", "5000",
    )  # fmt: skip
    assert p.finished.wait(30)
    with SessionReader(path) as full:
        sk = full.skeleton()
        want = int(((sk.kind == EventKind.SEND) & ((sk.pid == 1) | (sk.peer == 1))).sum())
        assert len(sk.kind) > 5000 * 4  # the ring no longer holds the start
    got = attach(p.address, history="all", kinds=["send"], pids=[1], hops=0)
    got.wait(lambda: sum(n.get("op") == "seqs" for n in got.notices) > 0)
    got.wait(lambda: (got.reader.skeleton().kind == EventKind.SEND).sum() >= want)
    time.sleep(0.3)
    k = got.reader.skeleton()
    sends = k.kind == EventKind.SEND
    assert int(sends.sum()) == want
    assert ((k.pid[sends] == 1) | (k.peer[sends] == 1)).all()
    first = [n["first"] for n in got.notices if n.get("op") == "seqs"]
    assert first == sorted(first) and first[0] == 0  # client numbers from 0, in order
    p.stop()
