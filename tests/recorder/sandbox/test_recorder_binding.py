"""Recording speed without losing faithfulness (issue 13).

A runtime recording into a :class:`~recorder.Recorder` calls its native ``emit`` directly (no
Python forwarder per event), and still never lets the Recorder hurt the program: closed under
the runtime, the Recorder is detached at the next event, logged once, counted. STATE events are
frozen as the exact bytes of their map."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from recorder import Recorder
from recorder.events import EventKind, Trigger
from recorder.payload import Pid, freeze
from recorder.sandbox import Process, Runtime
from recorder.sandbox.recording import state_data
from recorder.session.reader import SessionReader


async def echo_twice(proc: Process, got: list[Any]) -> None:
    got.append(await proc.receive())
    proc.send(proc.pid, "again")
    got.append(await proc.receive())


def test_a_runtime_calls_a_recorders_emit_directly(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "s.cinema")
    rt = Runtime(deterministic=True, record=rec, profile_interval_ms=None)
    assert rt.recording.record == rec.emit  # the native emit itself, no forwarder
    rt.close()
    rec.close()


def test_a_recorder_closed_under_a_runtime_is_detached_and_the_program_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder(tmp_path / "s.cinema")
    rt = Runtime(deterministic=True, record=rec, profile_interval_ms=None)
    got: list[Any] = []
    pid = rt.spawn(echo_twice, got)
    rec.close()  # the user closes it while the runtime still records into it
    with caplog.at_level(logging.ERROR, logger="recorder.sandbox"):
        rt.send(pid, "hi")
        rt.run()
    assert got == ["hi", "again"] and rt.dead[pid.n] == "dead"
    assert rt.recording.sink_failures == 1 and not rt.recording.active
    (record,) = [r for r in caplog.records if "detached" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0].__name__ == "RecorderClosed"
    with SessionReader(tmp_path / "s.cinema") as reader:  # what it wrote before stays whole
        assert [e.kind for e in reader.events()] == [EventKind.SPAWN]


def test_a_recorder_closed_by_its_own_runtime_logs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        rt = Runtime(deterministic=True, record=tmp_path / "s.cinema", profile_interval_ms=None)
        got: list[Any] = []
        pid = rt.spawn(echo_twice, got)
        rt.send(pid, "hi")
        rt.run()
        rt.close()
    assert got == ["hi", "again"] and rt.recording.sink_failures == 0
    assert not caplog.records


def test_a_recorder_closed_after_the_run_logs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder(tmp_path / "s.cinema")
    with caplog.at_level(logging.ERROR):
        rt = Runtime(deterministic=True, record=rec, profile_interval_ms=None)
        got: list[Any] = []
        pid = rt.spawn(echo_twice, got)
        rt.send(pid, "hi")
        rt.run()
        rec.close()  # without rt.close(): nothing is emitted after it, nothing to report
    assert rt.recording.sink_failures == 0 and not caplog.records
    with pytest.raises(Exception, match="closed"):
        rec.emit(EventKind.MARKER, 0)  # a direct caller still hears about it


@pytest.mark.parametrize("trigger", [*Trigger.ALL, "a user's own trigger"])
@pytest.mark.parametrize(
    "state",
    [None, 0, "text", {"balance": 3, "recent": [1, 2]}, ["y" * 4000] * 17, {1, 2}, (Pid(3),)],
)
def test_state_data_is_the_encoded_map_of_trigger_and_state(trigger: str, state: Any) -> None:
    frozen = freeze(state)
    expected = freeze({"trigger": trigger, "state": frozen})
    assert state_data(trigger, frozen) == expected
    assert state_data(trigger, frozen).decode() == {"trigger": trigger, "state": frozen.decode()}


@pytest.mark.parametrize("trigger", [*Trigger.ALL, "a user's own trigger"])
@pytest.mark.parametrize(
    "state",
    [None, 0, "text", {"balance": 3, "recent": [1, 2]}, ["y" * 4000] * 17, {1, 2}, (Pid(3),)],
)
def test_freeze_after_gives_the_frozen_state_and_its_event_data(trigger: str, state: Any) -> None:
    from recorder import payload
    from recorder.sandbox.recording import _state_prefix

    prefix = _state_prefix(trigger)
    assert prefix is not None
    twins = [payload.freeze_after]
    native = getattr(getattr(payload, "_native", None), "freeze_after", None)
    if native is not None:
        twins.append(native)
    for freeze_after in twins:
        for value in (state, freeze(state)):  # a live value, or one frozen already
            frozen, data = freeze_after(value, prefix)
            assert frozen == freeze(state)
            assert data == state_data(trigger, freeze(state))
            assert data == freeze({"trigger": trigger, "state": freeze(state)})


def test_the_python_twin_of_freeze_after_is_the_reference() -> None:
    # payload.freeze_after is the native one when it is built: its Python twin, called here
    # by hand, must write the same bytes (a build without the module runs only the twin)
    from recorder import payload

    twin = payload.__dict__.get("_py_freeze_after")
    assert twin is not None
    frozen, data = twin({"x": [1, 2]}, b"\x82\xa7trigger\xa4call\xa5state")
    assert data == freeze({"trigger": "call", "state": {"x": [1, 2]}})
    assert frozen == freeze({"x": [1, 2]})
