"""Lost and never-received messages, checked against the world: on real recordings of the
three demos and the analysis programs, the messages ``never_received`` reports for a process
are exactly its mailbox at the end (the world from keyframes and replay, an independent
computation), those ``lost_messages`` reports are exactly its mailbox when it ended, and a
``mailbox_growth`` peak is the world's mailbox length at that event."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cinema.model.analysis import Context, analyze
from cinema.model.session import Session

from ._programs import PROGRAMS, record

DEMOS = ("bank", "chat", "pipeline")
PROGRAMS_WITH_MAIL = (
    "deadlock", "deadlock_timeout", "lost", "unanswered", "timeouts", "drops", "flood",
)  # fmt: skip


def _record_demo(folder: Path, scenario: str) -> Path:
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.scenarios import run_scenario

    path = folder / f"{scenario}.cinema"
    # seed 5: the chat's user-2 ends the run with 137 messages it never took
    rt = Runtime(deterministic=True, seed=5, record=str(path),
                 recorder_options={"flush_interval": None, "frame_events": 500})  # fmt: skip
    run_scenario(scenario, rt)
    rt.close()
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("truth")
    out = {name: _record_demo(folder, name) for name in DEMOS}
    out.update({name: record(folder, name, PROGRAMS[name]) for name in PROGRAMS_WITH_MAIL})
    return out


@pytest.mark.parametrize("name", DEMOS + PROGRAMS_WITH_MAIL)
def test_lost_and_never_received_are_the_mailboxes(name: str, recordings: dict[str, Path]) -> None:
    with Session.open(recordings[name]) as s:
        cx = Context(s)
        found = analyze(s, context=cx)
        queued = Counter[str]()
        lost = Counter[str]()
        for f in found:
            if f.detector == "never_received":
                queued[f.figures["receiver"]] += f.figures["messages"]
            elif f.detector == "lost_messages":
                lost[f.figures["receiver"]] += f.figures["messages"]
        end = s.world_at(s.event_count - 1)
        at_end = Counter[str]()
        for pid, p in end.processes.items():
            if p.alive and p.mailbox_len:
                at_end[s.process_name(pid)] += p.mailbox_len
        assert queued == at_end
        when_ended = Counter[str]()
        for pid, death in cx.death_seq.items():
            p = s.world_at(death - 1).processes.get(pid)
            if p is not None and p.mailbox_len:
                when_ended[s.process_name(pid)] += p.mailbox_len
        assert lost == when_ended
        for f in found:
            if f.detector == "mailbox_growth":
                at = s.world_at(f.figures["peak_seq"]).processes[f.pids[0]]
                assert at.mailbox_len == f.figures["peak"], f.title


def test_the_recordings_cover_both(recordings: dict[str, Path]) -> None:
    """The comparison above is not empty: messages are both lost and left queued."""
    seen = set()
    for path in recordings.values():
        with Session.open(path) as s:
            seen |= {f.detector for f in analyze(s)}
    assert {"never_received", "lost_messages", "dropped_messages", "mailbox_growth"} <= seen
