"""Real sandbox recordings for the path-agreement tests, each with a twin without keyframes.

The sandbox is deterministic (seeded scheduler, virtual clock): the same program and seed
record the same events, timestamps included, whether or not keyframes are taken. So a run
recorded once with keyframes and once without any gives one event stream and two ways to reach
each moment: from a keyframe, and by replay from event 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner

from cinema.cli import main
from recorder.sandbox import Runtime
from recorder.sandbox.scenarios import SCENARIOS
from recorder.session.reader import SessionReader
from recorder.session.writer import Recorder

__all__ = ["Twins", "demo_twins", "program_twins", "same_events"]


@dataclass(frozen=True)
class Twins:
    """One run recorded twice: ``keyframes`` with keyframes, ``linear`` with none at all."""

    name: str
    keyframes: Path
    linear: Path


class _NoKeyframes:
    """A sink that records to a file with no keyframe at all, stamped by the runtime's clock
    (a sink without ``keyframe`` gets none; ``bind`` hands it the clock)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._rec: Recorder | None = None

    def bind(self, *, clock: Callable[[], int]) -> None:
        self._rec = Recorder(self.path, clock=clock, wall_clock=lambda: 0, flush_interval=None)

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        assert self._rec is not None
        self._rec.emit(kind, pid, peer, ref, data)

    @property
    def events_emitted(self) -> int:
        return self._rec.events_emitted if self._rec is not None else 0

    def close(self) -> None:
        if self._rec is not None:
            self._rec.close()


def _scenario_without_keyframes(path: Path, scenario: str, seed: int, scale: int) -> None:
    sink = _NoKeyframes(path)
    with Runtime(deterministic=True, seed=seed, record=sink) as rt:
        SCENARIOS[scenario](rt, scale=scale)
    sink.close()


def demo_twins(
    folder: Path, scenario: str, seed: int, *, scale: int = 1, keyframe_min_events: int | None
) -> Twins:
    """A demo recorded as ``cinema demo --headless`` records it (``keyframe_min_events`` None),
    or with keyframes every ``keyframe_min_events`` events at least; and its linear twin."""
    name = f"{scenario}-s{seed}-x{scale}"
    kf = folder / f"{name}-kf{keyframe_min_events or 'cli'}.cinema"
    if keyframe_min_events is None:
        args = ["demo", "--headless", "--scenario", scenario, "--seed", str(seed)]
        result = CliRunner().invoke(main, [*args, "--scale", str(scale), "--record", str(kf)])
        assert result.exit_code == 0, result.output
    else:
        with Runtime(
            deterministic=True, seed=seed, record=str(kf), keyframe_min_events=keyframe_min_events
        ) as rt:
            SCENARIOS[scenario](rt, scale=scale)
    linear = folder / f"{name}-linear.cinema"
    _scenario_without_keyframes(linear, scenario, seed, scale)
    return Twins(name, kf, linear)


def program_twins(folder: Path, record: Callable[[Any], None], name: str) -> Twins:
    """A sandbox program (``record(target)`` runs it recording to ``target``) and its twin."""
    kf = folder / f"{name}-kf.cinema"
    record(str(kf))
    linear = folder / f"{name}-linear.cinema"
    sink = _NoKeyframes(linear)
    record(sink)
    sink.close()
    return Twins(name, kf, linear)


def same_events(twins: Twins) -> int:
    """Check that the twins hold one event stream; return its length."""
    with SessionReader(twins.keyframes) as a, SessionReader(twins.linear) as b:
        assert a.event_count == b.event_count, twins
        assert len(a.keyframe_seqs) >= 1 and b.keyframe_seqs == [], twins
        sa, sb = a.skeleton(), b.skeleton()
        for col in ("ts", "kind", "pid", "peer"):
            assert np.array_equal(getattr(sa, col), getattr(sb, col)), (twins, col)
        assert np.array_equal(a.refs(), b.refs()), twins
        return a.event_count
