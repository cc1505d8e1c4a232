"""Values are recorded as they were when they happened (issue 11, "values captured at the moment").

The differential test runs every demo scenario into a real session file while a tap beside
the recorder deep-copies each GenServer's live state at the moment its STATE event is
recorded; the state decoded from the file, from each STATE event and from each keyframe, must
equal that copy.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from recorder.events import EventKind
from recorder.payload import Packed, decode_payload, encode_payload
from recorder.sandbox import GenServer, Process, Runtime
from recorder.sandbox.scenarios import SCENARIOS
from recorder.session.reader import SessionReader
from recorder.session.writer import Recorder
from recorder.testing import CaptureSink

_STATE = int(EventKind.STATE)


def as_recorded(value: Any) -> Any:
    """What a reader decodes for ``value`` encoded now."""
    return decode_payload(encode_payload(value))


class StateTap:
    """An event sink in front of a Recorder: remembers, for each STATE event, a deep copy of
    the live state at that moment (and passes every event and keyframe on)."""

    def __init__(self, path: Path) -> None:
        self.runtime: Runtime | None = None
        self._world: Any = None
        self.recorder = Recorder(
            path,
            snapshot=lambda: self._world,
            keyframe_every=1 << 62,
            flush_interval=None,
            wall_clock=lambda: 0,
        )
        self.path = str(path)
        self.live: list[tuple[int, int, Any]] = []  # (seq, pid, deep copy of the live state)

    @property
    def events_emitted(self) -> int:
        return self.recorder.events_emitted

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        if kind == _STATE and self.runtime is not None:
            live = self.runtime.processes[pid].state
            self.live.append((self.recorder.events_emitted, pid, copy.deepcopy(live)))
        self.recorder.emit(kind, pid, peer, ref, data)

    def keyframe(self, world: Any) -> None:
        self._world = world
        self.recorder.keyframe()

    def close(self) -> None:
        self.recorder.close()


def _record_with_tap(tmp_path: Path, name: str) -> StateTap:
    tap = StateTap(tmp_path / f"{name}.cinema")
    rt = Runtime(deterministic=True, seed=3, record=tap, keyframe_min_events=300)
    tap.runtime = rt
    SCENARIOS[name](rt)
    rt.close()
    tap.close()
    return tap


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_recorded_states_equal_the_live_states_of_every_scenario(tmp_path: Path, name: str) -> None:
    """Every STATE event, and every keyframe, holds the state the process had when it was
    recorded, though the scenarios' servers mutate their states in place afterwards."""
    tap = _record_with_tap(tmp_path, name)
    assert len(tap.live) > 100
    with SessionReader(tap.path) as reader:
        states = [e for e in reader.events() if e.kind == _STATE]
        assert [(e.seq, e.pid) for e in states] == [(seq, pid) for seq, pid, _ in tap.live]
        for event, (_, _, live) in zip(states, tap.live, strict=True):
            assert event.data["state"] == as_recorded(live), f"STATE #{event.seq}"
        keyframes = reader.keyframe_seqs
        assert len(keyframes) >= 3
        for kf_seq in keyframes:
            got = reader.keyframe_before(kf_seq)
            assert got is not None
            _, world = got
            last: dict[int, Any] = {}
            for seq, pid, live in tap.live:
                if seq < kf_seq:
                    last[pid] = live
            checked = 0
            for row in world["processes"]:
                if row["pid"] in last:
                    assert row["state"] == as_recorded(last[row["pid"]]), (
                        f"keyframe {kf_seq}, pid {row['pid']}"
                    )
                    checked += 1
            assert checked or kf_seq == 0


class Hoarder(GenServer):
    """Keeps its state's list and mutates it in place."""

    def init(self) -> Any:
        return ("ok", {"items": []})

    def handle_cast(self, item: Any, state: Any) -> Any:
        state["items"].append(item)
        return ("noreply", state)


def test_a_state_mutated_in_place_after_it_was_recorded_keeps_its_recorded_value() -> None:
    sink = CaptureSink()
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None)
    pid = rt.start(Hoarder)
    for item in ("a", "b", "c"):
        rt.cast(pid, item)
    rt.run()
    recorded = [e.data["state"] for e in sink.events.of(EventKind.STATE)]
    assert recorded == [  # the CaptureSink shows each state as a file holds it
        {"items": []},
        {"items": ["a"]},
        {"items": ["a", "b"]},
        {"items": ["a", "b", "c"]},
    ]
    assert rt.get_state(pid) == {"items": ["a", "b", "c"]}


def test_keyframes_reuse_the_frozen_state_bytes() -> None:
    sink = CaptureSink()
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None)
    pid = rt.start(Hoarder)
    rt.cast(pid, "x")
    rt.run()
    last_state = sink.events.of(EventKind.STATE)[-1].data["state"]
    frozen = rt.process(pid)._recorded_state
    world = rt.recording._world()
    (row,) = [p for p in world["processes"] if p["pid"] == pid.n]
    assert isinstance(frozen, Packed) and frozen.decode() == last_state
    assert row["state"] is frozen  # the same Packed: embedded as is, never re-encoded


def test_a_receiver_that_mutates_its_message_does_not_change_what_was_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mutate.cinema"

    async def receiver(proc: Process) -> None:
        message = await proc.receive()
        message["seen"] = True
        message["items"].append("extra")

    with Runtime(deterministic=True, record=str(path), profile_interval_ms=None) as rt:
        pid = rt.spawn(receiver)
        rt.send(pid, {"items": ["original"]})
        rt.run()
    with SessionReader(path) as reader:
        (send,) = [e for e in reader.events() if e.kind == EventKind.SEND]
    assert send.data == {"items": ["original"]}


def test_a_queued_message_changed_by_its_sender_shows_as_sent_in_keyframes() -> None:
    sink = CaptureSink()
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None)

    async def idle(proc: Process) -> None:
        await proc.receive("never")

    pid = rt.spawn(idle)
    buffer = {"n": 1}
    rt.send(pid, buffer)
    buffer["n"] = 2  # the sender reuses its buffer; the message waits in the mailbox
    rt.run()
    (send,) = sink.events.of(EventKind.SEND)
    assert send.data == {"n": 1}  # the CaptureSink shows it as a file holds it
    (row,) = rt.recording._world()["processes"]
    ((msg_id, _, message),) = row["mailbox"]
    assert msg_id == send.ref and message.decode() == {"n": 1}


def test_immutable_messages_are_recorded_as_they_are() -> None:
    sink = CaptureSink()
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None)

    async def idle(proc: Process) -> None:
        await proc.receive("never")

    pid = rt.spawn(idle)
    for message in (1, "text", pid, ("ping", pid, 3), ("$cast", ("nested", 1.5))):
        rt.send(pid, message)
    rt.send(pid, ("with", ["a list"]))
    rt.run()
    sends = [e.data for e in sink.events.of(EventKind.SEND)]
    assert sends[:5] == [1, "text", pid, ("ping", pid, 3), ("$cast", ("nested", 1.5))]
    assert sends[5] == ("with", ["a list"])  # frozen when sent (the CaptureSink decodes it)
