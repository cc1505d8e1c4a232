"""Keyframe details of docs/world-schema.md: messages shown as sent, older keyframes, the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cinema.cli import main
from cinema.model import Session
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER
from recorder.sandbox import Process, Runtime
from recorder.session.reader import SessionReader

from ._gen import comparable_model, comparable_ref, generate
from ._recordings import demo_twins, program_twins


def test_a_queued_message_reads_as_its_send_recorded_it(tmp_path: Path) -> None:
    # A keyframe's copy of a queued message is taken when the snapshot is; the SEND holds the
    # message as it was sent. The world shows the SEND's (as replay from event 0 does).
    path = tmp_path / "copy.cinema"
    copy = {"box": ["changed after sending"]}
    world = {
        "time_ns": 5, "registry": {}, "supervisors": [], "dead": [],
        "processes": [{
            "pid": 0, "name": "a", "behaviour": "process", "status": "running",
            "parent": None, "supervisor": None, "registered": None, "trap_exit": False,
            "state": None, "mailbox": [[1, 0, copy["box"]]], "mailbox_len": 1,
            "links": [], "monitors": [], "restarts": 0, "handled": 0, "cpu_ns": 0, "memory": 0,
        }],
    }  # fmt: skip
    clock = iter(range(10, 10**9, 10))
    rec = Recorder(path, clock=lambda: next(clock), snapshot=lambda: world, keyframe_every=10**6,
                   flush_interval=None)  # fmt: skip
    rec.emit(K.SPAWN, 0, NO_PEER, 0, {"name": "a"})
    rec.emit(K.SEND, 0, 0, 1, ["as sent"])
    rec.keyframe()
    rec.emit(K.MARKER, NO_PEER, NO_PEER, 0, {"label": "after"})
    rec.close()
    with Session.open(path) as s:
        assert s.reader.keyframe_seqs == [2]
        s._worlds.clear()
        from_keyframe = s.world_at(2).processes[0].mailbox
        assert s._kf_worlds, "the seek started from the keyframe"
        assert [m.message for m in from_keyframe] == [["as sent"]]


def test_keyframe_messages_agree_with_replay_when_the_sender_changes_them(tmp_path: Path) -> None:
    # End to end in the sandbox: a message stays queued (its receiver waits for another) while
    # its sender changes the object; keyframes are taken meanwhile. Both paths agree, and the
    # world shows exactly the SEND's data.
    def record(target: Any) -> None:
        with Runtime(deterministic=True, seed=1, record=target, keyframe_min_events=1) as rt:

            async def waiter(proc: Process) -> None:
                await proc.receive(("never",))

            async def sender(proc: Process, to: Any) -> None:
                box = ["as sent"]
                proc.send(to, box)
                box[0] = "changed after sending"
                for i in range(300):  # enough events for keyframes while it is queued
                    proc.marker(f"tick {i}")
                    await proc.yield_now()

            rt.spawn(sender, rt.spawn(waiter))
            rt.run()

    twins = program_twins(tmp_path, record, "mutate")
    with Session.open(twins.keyframes) as s, Session.open(twins.linear) as linear:
        kf_seq = s.reader.keyframe_seqs[-1]
        assert kf_seq > 100 and not linear.reader.keyframe_seqs
        (send,) = [e for e in s.events() if e.kind == K.SEND]
        s._worlds.clear()
        (message,) = s.world_at(kf_seq - 1).processes[send.peer].mailbox
        (again,) = linear.world_at(kf_seq - 1).processes[send.peer].mailbox
        assert message == again and message.message == send.data


def test_a_keyframe_message_without_its_send_reads_as_the_keyframe_has_it(tmp_path: Path) -> None:
    # A recording that starts mid-run (a stream joined late): the SEND is not in the file.
    world = {
        "time_ns": 5, "registry": {}, "supervisors": [], "dead": [],
        "processes": [{
            "pid": 0, "name": "late", "behaviour": "process", "status": "waiting",
            "parent": None, "supervisor": None, "registered": None, "trap_exit": False,
            "state": None, "mailbox": [[77, 9, ("hello", 1)], [78, 9]], "mailbox_len": 2,
            "links": [], "monitors": [], "restarts": 0, "handled": 0, "cpu_ns": 0, "memory": 0,
        }],
    }  # fmt: skip
    path = tmp_path / "late.cinema"
    clock = iter(range(10, 10**9, 10))
    rec = Recorder(path, clock=lambda: next(clock), snapshot=lambda: world, keyframe_every=10**6,
                   flush_interval=None)  # fmt: skip
    rec.keyframe()
    rec.emit(K.MARKER, NO_PEER, NO_PEER, 0, {"label": "joined"})
    rec.emit(K.RECEIVE, 0, 9, 78, None)
    rec.close()
    with Session.open(path) as s:
        p = s.world_at(0).processes[0]
        assert [(m.msg_id, m.message) for m in p.mailbox] == [(77, ("hello", 1)), (78, None)]
        assert p.status == "running"
        after = s.world_at(1).processes[0]
        assert [m.msg_id for m in after.mailbox] == [77] and after.handled == 1


def test_older_keyframes_with_dead_pairs_are_read(tmp_path: Path) -> None:
    refs, _ = generate(tmp_path / "old.cinema", 4, 300, 8, old_dead=True)
    with Session.open(tmp_path / "old.cinema") as s:
        assert s.reader.keyframe_seqs
        dead_seen = 0
        for seq in range(0, 300, 7):
            s._worlds.clear()
            got, want = comparable_model(s.world_at(seq)), comparable_ref(refs[seq])
            for pid, p in want["procs"].items():
                if p["status"] in ("dead", "crashed"):  # an old keyframe keeps only the status
                    dead_seen += 1
                    assert got["procs"][pid]["status"] == p["status"], (seq, pid)
                    got["procs"][pid] = p
            assert got == want, seq
        assert dead_seen


def test_cinema_state_text_is_the_same_from_a_keyframe_and_from_event_0(tmp_path: Path) -> None:
    twins = demo_twins(tmp_path, "bank", seed=5, keyframe_min_events=32)
    with SessionReader(twins.keyframes) as reader:
        seqs = [k - 1 for k in reader.keyframe_seqs[1::4]] + [reader.event_count - 1]
    for seq in seqs:
        outs = []
        for path in (twins.keyframes, twins.linear):
            r = CliRunner().invoke(main, ["state", str(path), "--event", str(seq)])
            assert r.exit_code == 0, r.output
            outs.append(r.output)
        assert outs[0] == outs[1], seq
    assert "crashed" in outs[0] and "handled=" in outs[0]


def test_a_mailbox_past_100_messages_is_whole_from_a_keyframe(tmp_path: Path) -> None:
    # A keyframe lists the first 100 queued messages; the world completes the mailbox from the
    # events since the SEND of the oldest listed one (docs/world-schema.md).
    def record(target: Any) -> None:
        with Runtime(deterministic=True, seed=2, record=target, keyframe_min_events=1) as rt:

            async def hoarder(proc: Process) -> None:
                while True:  # takes only the odd ones: the even ones pile up
                    await proc.receive(lambda m: m % 2 == 1)

            async def flood(proc: Process, to: Any) -> None:
                # long enough for keyframes in its second half: each one shows 100 queued
                # messages, which spaces keyframes 8 x (processes + 100) events apart
                for i in range(1200):
                    proc.send(to, i)
                    await proc.yield_now()

            rt.spawn(flood, rt.spawn(hoarder))
            rt.run()

    twins = program_twins(tmp_path, record, "hoard")
    with Session.open(twins.keyframes) as s, Session.open(twins.linear) as linear:
        late = [k for k in s.reader.keyframe_seqs if k > s.event_count // 2]
        assert late
        got = s.reader.keyframe_before(late[0])
        assert got is not None
        (entry,) = [p for p in got[1]["processes"] if p["name"] == "hoarder"]
        assert len(entry["mailbox"]) == 100 < entry["mailbox_len"]
        pid = entry["pid"]
        for seq in (late[0] - 1, late[0] + 3, s.event_count - 1):
            s._worlds.clear()
            a, b = s.world_at(seq).processes[pid], linear.world_at(seq).processes[pid]
            assert a.mailbox == b.mailbox and a.mailbox_len == b.mailbox_len > 100, seq
            evens = [m.message for m in a.mailbox if m.message % 2 == 0]
            assert evens == list(range(0, 2 * len(evens), 2)) and len(evens) > 100
            assert s.world_at(seq).status_table().mailbox_len.max() == a.mailbox_len
