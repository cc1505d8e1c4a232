"""``top`` and the PROFILE samples it reads: per-process CPU in handlers, messages handled,
mailbox length and memory, system totals, at the configured interval."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from cinema.model.errors import ModelError
from cinema.model.session import Session
from cinema.model.top import top
from recorder.events import NO_PID
from recorder.sandbox import Runtime

from ._programs import PROGRAMS


def _flood(path: Path, interval_ms: float) -> Path:
    with Runtime(
        deterministic=True, seed=1, record=str(path), profile_interval_ms=interval_ms
    ) as rt:
        PROGRAMS["flood"](rt)
    return path


@pytest.mark.parametrize("interval_ms", [5.0, 20.0])
def test_profile_samples_carry_every_figure_at_the_interval(
    tmp_path: Path, interval_ms: float
) -> None:
    with Session.open(_flood(tmp_path / "f.cinema", interval_ms)) as s:
        samples = [e for e in s.events() if e.kind_name == "profile"]
        system = [e for e in samples if e.pid == NO_PID]
        procs = [e for e in samples if e.pid != NO_PID]
        assert procs and system
        for e in procs:
            assert set(e.data) == {"cpu_ns", "handled", "mailbox_len", "memory"}
            assert all(isinstance(v, int) and v >= 0 for v in e.data.values())
        for e in system:
            assert {"processes", "messages_queued", "memory", "cpu_ns", "handled", "timers"} <= set(
                e.data
            )
        gaps = {b.ts - a.ts for a, b in itertools.pairwise(system)}
        assert gaps == {int(interval_ms * 1e6)}
        # The figures agree with the events: handled counts RECEIVEs, mailbox_len the queue.
        last = procs[-1]
        w = s.world_at(last.seq)
        p = w.process(last.pid)
        assert p is not None
        assert last.data["handled"] == p.handled and last.data["mailbox_len"] == p.mailbox_len
        totals = system[-1].data
        alive = [q for q in w.processes.values() if q.alive]
        assert totals["processes"] == len(alive)
        assert totals["handled"] == sum(q.handled for q in alive)


def test_top_sorts_by_each_figure(tmp_path: Path) -> None:
    with Session.open(_flood(tmp_path / "f.cinema", 5.0)) as s:
        mid = next(
            e.seq for e in s.events() if e.kind_name == "profile" and e.ts > s.t_first + 20_000_000
        )
        by_mailbox = top(s, mid, by="mailbox")
        assert by_mailbox.rows[0].name == "slow" and by_mailbox.rows[0].mailbox_len > 100
        assert (
            by_mailbox.rows[0].mailbox_len
            == s.world_at(mid).process(by_mailbox.rows[0].pid).mailbox_len
        )  # type: ignore[union-attr]
        by_cpu = top(s, mid, by="cpu")
        # the producer sends 10 messages a ms; the server handles one per 5 ms of sleep
        assert {r.name for r in by_cpu.rows} == {"slow", "producer"}
        assert abs(sum(r.cpu_share for r in by_cpu.rows) - 1) < 1e-9
        cpus = [r.cpu_recent_ns for r in by_cpu.rows]
        assert cpus == sorted(cpus, reverse=True)
        mem = [r.memory for r in top(s, mid, by="memory").rows]
        assert mem == sorted(mem, reverse=True) and mem[0] > 0
        assert by_cpu.system["processes"] == by_cpu.alive == 2
        small = top(s, mid, by="cpu", window_ns=1_000_000)
        assert all(r.cpu_recent_ns <= r.cpu_ns for r in small.rows)
        with pytest.raises(ModelError):
            top(s, mid, by="colour")


def _reference(s: Session, seq: int, window_ns: int) -> dict[int, tuple[int, int, int, int, int]]:
    """pid -> (cpu_ns, cpu_recent_ns, handled, memory, sampled_seq) read event by event."""
    ts = s.time_of(seq)
    now: dict[int, tuple[int, dict[str, int]]] = {}
    then: dict[int, dict[str, int]] = {}
    for e in s.events(0, seq + 1):
        if e.kind_name == "profile" and e.pid != NO_PID:
            now[e.pid] = (e.seq, e.data)
            if e.ts <= ts - window_ns:
                then[e.pid] = e.data
    out = {}
    for pid in s.world_at(seq).alive():
        got = now.get(pid)
        d = got[1] if got else {}
        cpu = d.get("cpu_ns", 0)
        recent = max(cpu - then.get(pid, {}).get("cpu_ns", 0), 0)
        out[pid] = (cpu, recent, d.get("handled", 0), d.get("memory", 0), got[0] if got else -1)
    return out


def test_top_agrees_with_the_samples_read_event_by_event(tmp_path: Path) -> None:
    with Session.open(_flood(tmp_path / "f.cinema", 5.0)) as s:
        for seq in (0, 7, s.event_count // 3, s.event_count // 2, s.event_count - 1):
            for window in (1_000_000, 1_000_000_000):
                t = top(s, seq, by="cpu", limit=None, window_ns=window)
                want = _reference(s, seq, window)
                assert {r.pid: (r.cpu_ns, r.cpu_recent_ns, r.handled, r.memory, r.sampled_seq)
                        for r in t.rows} == want  # fmt: skip
                keys = [(-r.cpu_recent_ns, -r.cpu_ns, r.pid) for r in t.rows]
                assert keys == sorted(keys)
