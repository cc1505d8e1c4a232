"""Each detector on a sandbox program built to trigger it, and on one built not to."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinema.model.analysis import Finding, Severity, analyze
from cinema.model.session import Session
from recorder.events import EventKind

from ._programs import PROGRAMS, record

#: detector -> (programs that must trigger it, programs that must not)
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mailbox_growth": (("flood",), ("paced", "spread")),
    "crash_loop": (("crash_loop",), ("rare_crashes", "restart_storm", "steady_tree")),
    "restart_storm": (("restart_storm",), ("rare_crashes", "steady_tree")),
    "supervisor_gave_up": (("gave_up",), ("crash_loop", "steady_tree")),
    "deadlock": (("deadlock", "deadlock_timeout"), ("chained_calls", "timeouts")),
    "call_timeout": (("timeouts", "deadlock_timeout", "unanswered"), ("patient", "deadlock")),
    "hot_process": (("hub",), ("spread",)),
    "hot_edge": (("chatty_pair",), ("spread", "hub")),
    "slow_handler": (("slow_handler",), ("uniform_handlers", "always_slow")),
    "dropped_messages": (("drops",), ("delivered",)),
    "held_messages": (("held",), ("delivered", "delayed", "drops")),
    "lost_messages": (("lost",), ("delivered",)),
    "never_received": (("deadlock",), ("delivered",)),
    "unsupervised": (("lonely_server",), ("supervised_server",)),
    "link_cascade": (("link_cascade",), ("trapped_link",)),
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    folder = tmp_path_factory.mktemp("programs")
    out = {}
    for name, program in PROGRAMS.items():
        with Session.open(record(folder, name, program)) as s:
            out[name] = analyze(s)
    return out


def _of(found: list[Finding], detector: str) -> list[Finding]:
    return [f for f in found if f.detector == detector]


@pytest.mark.parametrize("detector", sorted(CASES))
def test_triggered(detector: str, findings: dict[str, list[Finding]]) -> None:
    for program in CASES[detector][0]:
        hits = _of(findings[program], detector)
        assert hits, (program, [f.title for f in findings[program]])
        for f in hits:
            assert f.events and f.pids and f.explanation and f.title
            assert list(f.events) == sorted(set(f.events))


@pytest.mark.parametrize("detector", sorted(CASES))
def test_not_triggered(detector: str, findings: dict[str, list[Finding]]) -> None:
    for program in CASES[detector][1]:
        assert not _of(findings[program], detector), (
            program, [f.title for f in _of(findings[program], detector)],
        )  # fmt: skip


def test_every_detector_has_cases() -> None:
    from cinema.model.analysis import DETECTOR_NAMES

    assert set(CASES) == set(DETECTOR_NAMES)


def _session(tmp_path: Path, name: str) -> Session:
    return Session.open(record(tmp_path, name, PROGRAMS[name]))


def test_mailbox_growth_figures(tmp_path: Path) -> None:
    with _session(tmp_path, "flood") as s:
        (f,) = _of(analyze(s), "mailbox_growth")
        # 400 casts at 0.1 ms, handled at 5 ms each: ~10,000 arrive per second, 200 handled.
        assert f.figures["peak"] >= 300
        assert 5_000 < f.figures["rate_per_s"] < 12_000
        assert s.process_name(f.pids[0]) == "slow"
        assert f.severity is Severity.INFO  # it drains in the end: all 400 are handled


def test_deadlock_names_the_circle(tmp_path: Path) -> None:
    with _session(tmp_path, "deadlock") as s:
        (f,) = _of(analyze(s), "deadlock")
        assert {s.process_name(p) for p in f.pids} == {"alice", "bob"}
        assert f.severity is Severity.ERROR and f.figures["broken_by_timeout"] is False
        kinds = {s.event(e).kind_name for e in f.events}
        assert kinds == {"send"}


def test_slow_handler_points_at_the_slow_messages(tmp_path: Path) -> None:
    with _session(tmp_path, "slow_handler") as s:
        (f,) = _of(analyze(s), "slow_handler")
        assert f.figures["slow"] == 2 and f.figures["worst_ns"] >= 40_000_000
        for e in f.events:
            ev = s.event(e)
            assert ev.kind_name == "receive"
            sent = next(x for x in s.events(0, e) if x.kind_name == "send" and x.ref == ev.ref)
            assert sent.data[2] == ("slow", 40)


def test_gave_up_is_an_error_with_the_supervisor(tmp_path: Path) -> None:
    with _session(tmp_path, "gave_up") as s:
        (f,) = _of(analyze(s), "supervisor_gave_up")
        assert f.severity is Severity.ERROR and s.process_name(f.pids[0]) == "sup"
        assert any(s.event(e).kind_name == "restart" for e in f.events)


def test_findings_are_ordered_worst_first(findings: dict[str, list[Finding]]) -> None:
    for found in findings.values():
        sev = [f.severity for f in found]
        assert sev == sorted(sev, reverse=True)


def test_call_timeout_says_whether_the_callee_ever_took_the_request(tmp_path: Path) -> None:
    with _session(tmp_path, "timeouts") as s:
        (f,) = _of(analyze(s), "call_timeout")
        assert f.figures["timeouts"] == 3 and f.figures["never_taken"] == 0
        assert "did take every request" in f.explanation
    with _session(tmp_path, "unanswered") as s:
        found = analyze(s)
        (f,) = _of(found, "call_timeout")
        assert f.figures["timeouts"] == 2 and f.figures["never_taken"] == 2
        assert "2 of the requests were never taken" in f.explanation
        # never taken and the callee ended with them: lost, not "never received"
        (lost,) = _of(found, "lost_messages")
        assert lost.figures["messages"] == 2 and not _of(found, "never_received")


def test_held_messages_name_the_rule_and_its_delay(tmp_path: Path) -> None:
    with _session(tmp_path, "held") as s:
        found = analyze(s)
        (f,) = [f for f in found if f.detector == "held_messages"]
        assert f.figures == {"messages": 1, "rule": 1, "receivers": 1}
        assert "rule 1" in f.title and "60,000 ms" in f.explanation
        (seq,) = f.events
        assert s.event(seq).kind == EventKind.DELAY
        # what the rule held is in no mailbox: not also reported as queued or lost
        assert not [f for f in found if f.detector in ("never_received", "lost_messages")]
