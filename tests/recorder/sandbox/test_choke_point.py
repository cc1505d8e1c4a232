"""One recording choke point: every event leaves through ``Recording.record``, and a sink that
raises never hurts the program (Trio's ``Instrument`` rule)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from recorder.events import EventKind
from recorder.sandbox import Process, Runtime
from recorder.testing import CaptureSink

SANDBOX = Path(__file__).resolve().parents[3] / "recorder" / "sandbox"


class FailingSink(CaptureSink):
    """Keeps events until the first one of ``kind``, then raises on it."""

    def __init__(self, kind: int | None = None, keyframes_fail: bool = False) -> None:
        super().__init__()
        self.fail_on = kind
        self.keyframes_fail = keyframes_fail
        self.calls_after_failure = 0
        self.failed = False

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        if self.failed:
            self.calls_after_failure += 1
        if kind == self.fail_on:
            self.failed = True
            raise OSError("disk on fire")
        super().emit(kind, pid, peer, ref, data)

    def keyframe(self, world: Any = None) -> None:
        if self.keyframes_fail and self.events:
            self.failed = True
            raise OSError("no room for a keyframe")
        super().keyframe(world)


async def echo_twice(proc: Process, got: list[Any]) -> None:
    got.append(await proc.receive())
    proc.send(proc.pid, "again")
    got.append(await proc.receive())


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "detached" in r.getMessage()]


def test_a_sink_that_raises_on_send_is_detached_and_the_program_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = FailingSink(EventKind.SEND)
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None)
    got: list[Any] = []
    pid = rt.spawn(echo_twice, got)
    with caplog.at_level(logging.ERROR, logger="recorder.sandbox"):
        rt.send(pid, "hi")
        rt.run()
    assert got == ["hi", "again"]  # the process carried on
    assert rt.dead[pid.n] == "dead"  # and ended normally, not killed by the sink's error
    assert rt.recording.sink_failures == 1 and not rt.recording.active
    assert sink.calls_after_failure == 0  # detached: the sink hears nothing more
    assert sink.events.kinds() == [EventKind.SPAWN]
    (record,) = _failures(caplog)  # logged once
    assert "disk on fire" in (record.exc_text or "") or record.exc_info is not None


def test_a_sink_that_raises_inside_a_process_step_does_not_crash_it() -> None:
    sink = FailingSink(EventKind.MARKER)
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None)
    after: list[str] = []

    async def marks(proc: Process) -> None:
        proc.marker("first")  # the sink raises here, inside the process's own step
        after.append("still running")
        proc.marker("second")

    pid = rt.spawn(marks)
    rt.run()
    assert after == ["still running"] and rt.dead[pid.n] == "dead"
    assert rt.recording.sink_failures == 1


def test_a_sink_whose_keyframe_raises_is_detached(caplog: pytest.LogCaptureFixture) -> None:
    sink = FailingSink(keyframes_fail=True)
    rt = Runtime(deterministic=True, record=sink, profile_interval_ms=None, keyframe_min_events=1)
    got: list[Any] = []
    pid = rt.spawn(echo_twice, got)
    with caplog.at_level(logging.ERROR, logger="recorder.sandbox"):
        rt.send(pid, "hi")
        rt.run()
    assert got == ["hi", "again"]
    assert rt.recording.sink_failures == 1 and not rt.recording.active
    assert len(_failures(caplog)) == 1


def test_nothing_is_built_or_recorded_when_nobody_records() -> None:
    rt = Runtime(deterministic=True, record=None, profile_interval_ms=10)
    assert not rt.recording.active
    got: list[Any] = []
    pid = rt.spawn(echo_twice, got)
    rt.send(pid, "hi")
    rt.run()
    assert got == ["hi", "again"] and rt.recording.sink_failures == 0
    assert len(rt.timers) == 0  # no profile sampler armed for nobody


def test_only_the_recording_talks_to_sinks() -> None:
    """No sandbox module but ``recording.py`` calls a sink's ``emit`` or holds an emit hook:
    every event goes through ``Recording.record``."""
    offenders = []
    for path in sorted(SANDBOX.rglob("*.py")):
        if path.name == "recording.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.emit\(|\bemit_raw\b|\.emit\b\s*=", line):
                offenders.append(f"{path.relative_to(SANDBOX)}:{number}: {line.strip()}")
    assert offenders == []
