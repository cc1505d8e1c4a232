"""Values are captured when they are emitted: what a program does to them later never changes
what the session says happened. And the sink protocol: emit, keyframe(world), close."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from recorder import EventKind, Recorder
from recorder.payload import Record
from recorder.sandbox import From, GenServer, Process, Runtime
from recorder.session.reader import SessionReader
from recorder.sink import EventSink, KeyframeSink, wants_world
from recorder.testing import CaptureSink, as_recorded


def test_a_value_mutated_after_emit_is_recorded_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    message = {"balance": 1, "log": ["opened"]}
    with Recorder(path, flush_interval=None) as rec:
        rec.emit(EventKind.SEND, 0, 1, 1, message)
        message["balance"] = 999
        message["log"].append("tampered")
        rec.emit(EventKind.SEND, 0, 1, 2, message)
    with SessionReader(path) as reader:
        first, second = reader.events()
    assert first.data == {"balance": 1, "log": ["opened"]}
    assert second.data == {"balance": 999, "log": ["opened", "tampered"]}


def test_the_capture_sink_sees_what_a_file_would() -> None:
    sink = CaptureSink()
    state = {"n": [1]}
    sink.emit(EventKind.STATE, 0, 1, 0, {"trigger": "cast", "state": state})
    state["n"].append(2)
    (event,) = sink.events
    assert event.data == {"trigger": "cast", "state": {"n": [1]}}


async def _mutating_receiver(proc: Process, seen: list[Any]) -> None:
    message = await proc.receive()
    message["items"].append("added by the receiver")
    message["count"] = -1
    seen.append(message)


async def _sender(proc: Process, to: Any) -> None:
    proc.send(to, {"items": ["original"], "count": 1})


def _mutation_program(record: Any) -> list[Any]:
    seen: list[Any] = []
    rt = Runtime(deterministic=True, seed=1, record=record, profile_interval_ms=None)
    receiver = rt.spawn(_mutating_receiver, seen)
    rt.spawn(_sender, receiver)
    rt.run()
    rt.close()
    return seen


def test_a_receiver_that_mutates_its_message_does_not_rewrite_the_send(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    seen = _mutation_program(str(path))
    assert seen[0]["count"] == -1  # the program really mutated the very object that was sent
    with SessionReader(path) as reader:
        (send,) = [e for e in reader.events() if e.kind == EventKind.SEND]
    assert send.data == {"items": ["original"], "count": 1}
    sink = CaptureSink()
    _mutation_program(sink)
    (captured,) = sink.events.of(EventKind.SEND)
    assert captured.data == send.data


@dataclass
class Tally:
    total: int = 0
    seen: list[int] = field(default_factory=list)


class Counter(GenServer):
    """Mutates its dataclass state in place, as Python code does."""

    def init(self, *args: Any) -> Any:
        return ("ok", Tally())

    def handle_call(self, request: Any, from_: From, state: Tally) -> Any:
        state.total += request
        state.seen.append(request)
        return ("reply", state.total, state)


async def _client(proc: Process, server: Any, got: list[Any]) -> None:
    for amount in (5, 7, 11):
        got.append(await proc.call(server, amount))


def test_states_mutated_in_place_are_recorded_at_each_state_event(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    got: list[Any] = []
    with Runtime(deterministic=True, record=str(path), profile_interval_ms=None) as rt:
        server = rt.start(Counter)
        rt.spawn(_client, server, got)
        rt.run()
    assert got == [5, 12, 23]
    with SessionReader(path) as reader:
        states = [e.data["state"] for e in reader.events() if e.kind == EventKind.STATE]
    assert [s.as_dict()["total"] for s in states] == [0, 5, 12, 23]
    assert [s.as_dict()["seen"] for s in states] == [[], [5], [5, 7], [5, 7, 11]]
    assert states[-1] == as_recorded(Tally(23, [5, 7, 11]))
    assert isinstance(states[-1], Record)


def test_keyframe_world_is_captured_on_the_calling_thread(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    process = {"pid": 0, "name": "p", "state": {"v": 1}, "mailbox": []}
    world = {"time_ns": 0, "processes": [process], "dead": [], "supervisors": [], "registry": {}}
    with Recorder(path, flush_interval=None) as rec:
        rec.emit(EventKind.MARKER, 0, data={"label": "a"})
        rec.keyframe(world)  # the sink protocol: the source pushes the world
        process["state"]["v"] = 2
        rec.emit(EventKind.MARKER, 0, data={"label": "b"})
    with SessionReader(path) as reader:
        assert reader.keyframe_seqs == [1]
        seq, kept = reader.keyframe_before(1)
        assert seq == 1 and kept["processes"][0]["state"] == {"v": 1}
    sink = CaptureSink()
    sink.keyframe(world)
    assert sink.events.keyframes[0][1]["processes"][0]["state"] == {"v": 2}


def test_recorder_and_capture_sink_follow_the_sink_protocol(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "s.cinema")
    for sink in (rec, CaptureSink()):
        assert isinstance(sink, EventSink) and isinstance(sink, KeyframeSink)
        assert wants_world(sink)
        sink.emit(EventKind.MARKER, 0, 0, 0, {"label": "x"})
        assert sink.events_emitted == 1
        sink.close()

    class OldSink:
        def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None: ...

        def keyframe(self) -> None: ...

    assert isinstance(OldSink(), EventSink) and not wants_world(OldSink())


def test_emit_after_close_is_refused() -> None:
    from recorder import RecorderClosed

    rec = Recorder(None, outputs=[lambda b: None])
    rec.close()
    with pytest.raises(RecorderClosed):
        rec.emit(EventKind.MARKER, 0)


def test_events_from_another_thread_while_the_writer_takes_are_all_kept(tmp_path: Path) -> None:
    # The writer's timer takes from the buffer while the program thread emits: nothing is lost
    # or doubled.
    path = tmp_path / "s.cinema"
    with Recorder(path, flush_interval=0.001, frame_events=64) as rec:

        def produce() -> None:
            for i in range(30_000):
                rec.emit(EventKind.SEND, 1, 2, i + 1, ("m", i))

        t = threading.Thread(target=produce)
        t.start()
        t.join()
    with SessionReader(path) as reader:
        assert reader.refs().tolist() == list(range(1, 30_001))
