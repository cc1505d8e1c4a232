"""Attaching to a sandbox running in another process: receive, history, pause, breakpoints,
state edits, interception, snapshots, saving."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from recorder.events import EventKind
from recorder.live import LiveClient, LiveError
from recorder.live.savefile import StreamFile
from recorder.session.reader import SessionReader
from recorder.session.stream import StreamDecoder

from .conftest import Received, attach

CRASH = ["binary", "==", ["name", "kind"], ["lit", "crash"]]


def _same_events(a: SessionReader, b: SessionReader) -> None:
    assert a.event_count == b.event_count
    sa, sb = a.skeleton(), b.skeleton()
    for col in ("ts", "kind", "pid", "peer"):
        assert np.array_equal(getattr(sa, col), getattr(sb, col)), col
    assert np.array_equal(a.refs(), b.refs())
    for seq in range(0, a.event_count, max(1, a.event_count // 300)):
        assert a.payload_bytes(seq) == b.payload_bytes(seq)


def test_attach_receives_every_event_of_the_recording(program, tmp_path: Path) -> None:
    path = tmp_path / "bank.cinema"
    p = program("--scenario", "bank", "--pace", "1", "--record", str(path), "--linger")
    got = attach(p.address, history="all")
    assert p.finished.wait(30)
    stderr = p.stop()
    got.wait(lambda: bool(got.closed))
    assert "goodbye" in got.closed[0], stderr
    with SessionReader(path) as recorded:
        _same_events(got.reader, recorded)
        assert got.reader.keyframe_seqs == recorded.keyframe_seqs
    # the client received the whole file, footer and trailer included: the same bytes
    assert bytes(got.bytes) == path.read_bytes()


def test_late_attach_sees_the_flight_recorder_history(program) -> None:
    p = program("--scenario", "chat", "--pace", "1", "--linger")
    time.sleep(1.5)
    got = attach(p.address, history="recent")
    welcome = got.client.welcome
    assert welcome["events"] > 0  # events happened before this client attached
    got.wait(lambda: got.events >= welcome["events"])
    # the history starts with a keyframe (the world to replay from), at its sequence number 0
    assert got.reader.keyframe_seqs and got.reader.keyframe_seqs[0] == 0
    p.stop()


def test_pause_and_resume(program) -> None:
    p = program("--scenario", "bank", "--pace", "3", "--linger")
    got = attach(p.address)
    got.wait(lambda: got.events > 100)
    got.client.request("pause")
    paused = got.notice("paused")
    got.wait(lambda: got.events >= paused["seq"] + 1)
    held = got.events
    time.sleep(0.5)
    assert got.events == held, "events arrived while paused"
    assert got.client.request("status")["paused"] is True
    got.client.request("resume")
    got.notice("resumed")
    got.wait(lambda: got.events > held)
    p.stop()


def test_a_breakpoint_pauses_the_system_at_its_event(program) -> None:
    p = program("--scenario", "bank", "--pace", "0.5", "--linger")
    got = attach(p.address)
    reply = got.client.request("break_add", text='kind == "crash"', tree=CRASH)
    assert reply["breakpoint"]["where"] == "sandbox"
    hit = got.notice("paused")
    assert hit["reason"] == "breakpoint" and hit["kind"] == "crash"
    got.wait(lambda: got.events > hit["seq"])
    assert got.reader.event(hit["seq"]).kind == EventKind.CRASH
    time.sleep(0.3)
    assert got.events == hit["seq"] + 1  # nothing ran after the crash
    p.stop()


def test_a_state_edit_takes_effect(program) -> None:
    p = program("--scenario", "bank", "--pace", "1", "--linger")
    got = attach(p.address)
    got.wait(lambda: got.events > 300)
    got.client.request("pause")
    got.notice("paused")
    info = got.client.request("info", pid="acct-0")["info"]
    assert "balance" in info["state"]
    got.client.request("set_state", pid="acct-0", path=["balance"], value=12345)
    assert got.client.request("info", pid="acct-0")["info"]["state"]["balance"] == 12345
    got.client.request("resume")

    # the edit is recorded as a STATE event (trigger replace) with the new balance
    def edited() -> bool:
        sk = got.reader.skeleton()
        for seq in np.flatnonzero(sk.kind == EventKind.STATE).tolist():
            d = got.reader.event(seq).data
            if d.get("trigger") == "replace" and d["state"].get("balance") == 12345:
                return True
        return False

    got.wait(edited)
    p.stop()


def test_interception_rules_delay_and_drop(program) -> None:
    p = program("--scenario", "chat", "--pace", "1", "--paused", "--linger")
    got = attach(p.address)
    got.wait(lambda: got.client.request("status")["paused"])
    anything = ["binary", "==", ["name", "kind"], ["lit", "send"]]
    drop = got.client.request(
        "intercept_add",
        action="drop",
        probability=0.5,
        where={"text": 'kind == "send"', "tree": anything},
    )["rule"]
    delay = got.client.request("intercept_add", action="delay", delay_ms=5.0)["rule"]
    got.client.request("resume")
    got.wait(lambda: got.events > 2000)

    def actions() -> set[tuple[str, int]]:
        sk = got.reader.skeleton()
        out = set()
        for seq in np.flatnonzero(sk.kind == EventKind.INTERCEPT).tolist()[:500]:
            d = got.reader.event(seq).data
            out.add((d["action"], d["rule"]))
        return out

    got.wait(lambda: {("drop", drop["id"]), ("delay", delay["id"])} <= actions())
    sk = got.reader.skeleton()
    assert (sk.kind == EventKind.DROP).any() and (sk.kind == EventKind.DELAY).any()
    rules = got.client.request("intercept_list")["rules"]
    assert {drop["id"], delay["id"]} <= {r["id"] for r in rules}
    assert got.client.request("intercept_remove", rule=drop["id"])["removed"] is True
    rules = got.client.request("intercept_list")["rules"]
    assert drop["id"] not in {r["id"] for r in rules}
    p.stop()


def test_snapshot_restore_rewinds_states_and_mailboxes(program) -> None:
    p = program("--scenario", "bank", "--pace", "2", "--linger")
    got = attach(p.address)
    got.wait(lambda: got.events > 300)
    got.client.request("pause")
    got.notice("paused")
    before = {n: got.client.request("info", pid=n)["info"] for n in ("acct-0", "acct-1", "ledger")}
    snap = got.client.request("snapshot", label="t1")["snapshot"]
    assert snap["processes"] > 3
    got.client.request("resume")
    got.wait(lambda: got.events > 1500)
    got.client.request("pause")
    later = got.client.request("info", pid="ledger")["info"]
    assert later["state"] != before["ledger"]["state"]  # the system moved on
    result = got.client.request("restore", snapshot=snap["id"])
    assert result["restored"]
    for name, then in before.items():
        now = got.client.request("info", pid=name)["info"]
        assert now["state"] == then["state"], name
        assert [m[2] for m in now["mailbox"]] == [m[2] for m in then["mailbox"]], name
    p.stop()


def test_wrong_token_no_token_and_wrong_version_are_refused(program) -> None:
    import socket

    from recorder.live.protocol import (
        CLIENT_LIMITS,
        MAGIC,
        MessageReader,
        decode_control,
        encode_control,
    )

    p = program("--scenario", "bank", "--pace", "5", "--linger")
    with pytest.raises(LiveError, match="wrong token"):
        LiveClient(p.address, token="nope").connect()
    bad = LiveClient(p.address)
    bad.token = None
    with pytest.raises(LiveError, match="no token"):
        bad.connect()
    host, _, port = p.address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(MAGIC + encode_control({"op": "hello", "protocol": [99, 0], "token": "x"}))
        reader = MessageReader(CLIENT_LIMITS, accept_data=True)
        msgs = []
        while not msgs:
            data = s.recv(4096)
            assert data
            msgs = [decode_control(b) for _t, b in reader.feed(data)]
        assert msgs[0]["op"] == "refused" and "99.0 is not supported" in msgs[0]["reason"]
    ok = attach(p.address)  # the right token still works
    ok.client.request("ping")
    stderr = p.stop()
    assert stderr.count("refused") >= 3  # each refusal is logged


def test_garbage_and_oversize_messages_close_only_that_connection(program) -> None:
    import os
    import socket
    import struct

    from recorder.live.protocol import MAGIC

    p = program("--scenario", "bank", "--pace", "5", "--linger")
    good = attach(p.address)
    host, _, port = p.address.rpartition(":")
    for payload in (os.urandom(4096), MAGIC + struct.pack("<BI", 1, 1 << 30) + b"x" * 100):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(payload)
            s.settimeout(5)
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        assert b"refused" in got
    assert good.client.request("ping")["ok"]
    assert good.client.connected
    p.stop()


def test_a_silent_half_open_connection_is_closed_after_the_hello_timeout(program) -> None:
    import socket

    p = program("--scenario", "bank", "--pace", "5", "--linger", "--hello-timeout", "1")
    host, _, port = p.address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        start = time.monotonic()
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert time.monotonic() - start < 5
        assert b"no hello" in data
    p.stop()


def test_a_killed_client_is_cleaned_up(program) -> None:
    import subprocess
    import sys

    p = program("--scenario", "bank", "--pace", "5", "--linger")
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from recorder.live import LiveClient; c=LiveClient(sys.argv[1]); "
         "c.connect(); c.subscribe(); print('ok', flush=True); time.sleep(60)", p.address],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == "ok"
    watcher = attach(p.address)
    watcher.wait(lambda: len(watcher.client.request("status")["clients"]) == 2)
    child.kill()
    child.wait()
    watcher.wait(lambda: len(watcher.client.request("status")["clients"]) == 1)
    p.stop()


def test_the_saved_live_session_equals_the_file_recorded_at_the_same_time(
    program, tmp_path: Path
) -> None:
    path = tmp_path / "pipeline.cinema"
    p = program("--scenario", "pipeline", "--pace", "1", "--record", str(path), "--linger")
    got = attach(p.address)
    got.wait(lambda: got.events > 2000)
    # saved while it still runs: header + frames so far + a footer of our own
    saved = tmp_path / "saved.cinema"
    dec = StreamDecoder()
    data = bytes(got.bytes)
    frames = dec.feed(data)
    import zstandard

    out = StreamFile(saved, data[: dec.header_size], zstandard.ZstdDecompressor().decompress)
    for fr in frames:
        out.add(fr.header, data[fr.header.offset : fr.header.end])
    out.close()
    assert p.finished.wait(30)
    p.stop()
    with SessionReader(saved) as mid, SessionReader(path) as full:
        assert not mid.recovered and mid.footer is not None
        n = mid.event_count
        assert n > 2000
        assert np.array_equal(mid.skeleton().kind, full.skeleton().kind[:n])
        assert all(mid.payload_bytes(s) == full.payload_bytes(s) for s in range(0, n, 97))
        assert mid.processes == {k: v for k, v in full.processes.items() if k in mid.processes}


def test_a_stalled_client_neither_slows_the_sandbox_nor_costs_the_others(
    program, tmp_path: Path
) -> None:
    import socket

    from recorder.live import auth
    from recorder.live.protocol import MAGIC, PROTOCOL, encode_control

    path = tmp_path / "storm.cinema"
    p = program(
        "--scenario", "storm", "--seconds", "3", "--payload", "300", "--record", str(path),
        "--linger", "--stall-timeout", "1",
    )  # fmt: skip
    host, _, port = p.address.rpartition(":")
    token = auth.read_token_file(p.connection_file)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    stalled.connect((host, int(port)))
    stalled.sendall(
        MAGIC
        + encode_control({"op": "hello", "protocol": list(PROTOCOL), "token": token})
        + encode_control({"op": "subscribe", "id": 1})
    )  # and never reads again
    fast = attach(p.address)
    started = time.monotonic()
    assert p.finished.wait(30)
    elapsed = time.monotonic() - started
    fast.wait(lambda: len(fast.client.request("status")["clients"]) == 1, timeout=10)
    stderr = p.stop()
    fast.wait(lambda: bool(fast.closed))
    assert elapsed < 3 + 5, "the sandbox was held up"
    assert "stalled" in stderr  # the stalled client was dropped, and it was logged
    with SessionReader(path) as recorded:
        assert recorded.event_count > 50_000
        _same_events(fast.reader, recorded)  # the reading client lost nothing
    stalled.close()


def test_a_client_that_falls_behind_the_ring_catches_up_from_the_session_file(
    program, tmp_path: Path
) -> None:
    """A slow client on a busy machine: the ring dropped the frames it has not read yet, but the
    session file being written still has them; it gets them from there, with no gap."""
    path = tmp_path / "storm.cinema"
    p = program(
        "--scenario", "storm", "--seconds", "2", "--payload", "300", "--record", str(path),
        "--linger", "--ring-events", "5000",
    )  # fmt: skip
    client = LiveClient(p.address, name="slow")
    client.connect()
    got = Received(client)
    taken = got._data
    paused: list[bool] = []

    def slow(data: bytes) -> None:
        if not paused:  # the first bytes: stop reading while the ring goes round many times
            paused.append(True)
            # until the program is done, however fast it runs (a fixed sleep let a slow run,
            # the pure-Python encoder under load, keep the client inside the ring)
            p.finished.wait(30)
        taken(data)

    client.on_data = slow
    client.subscribe()
    assert p.finished.wait(30)
    got.wait(lambda: got.client.request("status")["clients"][0]["behind_frames"] == 0, 30)
    status = got.client.request("status")["clients"][0]
    p.stop()
    got.wait(lambda: bool(got.closed))
    assert status["caught_up_from_file"] >= 1, status
    assert status["missed"] == 0
    assert not [n for n in got.notices if n.get("op") == "gap"]
    with SessionReader(path) as recorded:
        assert recorded.event_count > 5000 * 4  # the ring went round several times
        _same_events(got.reader, recorded)
