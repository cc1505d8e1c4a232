"""Proc copies share their containers until they change one (copy on write)."""

from __future__ import annotations

from pathlib import Path

from benchmarks._sessions import write_synthetic
from cinema.model import Session
from cinema.model._proc import Proc

from ._worlds import assert_same, full


def test_a_copy_changes_its_own_containers_only() -> None:
    p = Proc(1)
    p.mailbox[5] = (2, "m")
    p.links.add(3)
    p.monitors[9] = 4
    q = p.copy()
    assert q.mailbox is p.mailbox and q.links is p.links and q.monitors is p.monitors
    q.own_mailbox()[6] = (2, "n")
    q.own_links().discard(3)
    q.own_monitors()[10] = 7
    assert p.mailbox == {5: (2, "m")} and p.links == {3} and p.monitors == {9: 4}
    assert q.mailbox == {5: (2, "m"), 6: (2, "n")} and q.links == set()
    assert q.monitors == {9: 4, 10: 7}
    box = q.own_mailbox()
    assert box is q.mailbox, "copied once"
    r = q.copy()
    r.own_links().add(8)
    assert q.links == set() and r.links == {8}


def test_worlds_replayed_from_a_world_leave_it_as_it_was(tmp_path: Path) -> None:
    """Every process a later replay copies from a cached world (mailboxes filled and emptied,
    links, monitors, exits) keeps its containers: the world reads the same afterwards."""
    path = tmp_path / "syn.cinema"
    write_synthetic(path, 40_000, 200)
    with Session.open(path) as s:
        for at in (1_000, 12_345, 20_000):
            w = s.world_at(at)
            before = full(w)
            held = {
                pid: (dict(e.mailbox), set(e.links), dict(e.monitors))
                for pid, e in w._procs.items()
            }
            for seq in range(at + 1, min(at + 6_000, s.event_count), 97):
                s.world_at(seq)  # replayed from w or from worlds replayed from it
            s.world_at(s.event_count - 1)
            now = {
                pid: (dict(e.mailbox), set(e.links), dict(e.monitors))
                for pid, e in w._procs.items()
            }
            assert now == held, at
            w._views.clear()
            assert_same(f"after event #{at}", "again", full(w), "first", before)


def test_keyframe_processes_share_the_empty_containers_and_never_change_them(
    tmp_path: Path,
) -> None:
    from cinema.model import _proc

    path = tmp_path / "syn.cinema"
    write_synthetic(path, 40_000, 200)
    with Session.open(path) as s:
        for seq in range(s.reader.keyframe_seqs[1] + 1, s.event_count, 61):
            s.world_at(seq)
        shared = [
            e
            for w in s._worlds.values()
            for e in w._procs.values()
            if e.mailbox is _proc._EMPTY_MAILBOX or e.links is _proc._EMPTY_LINKS
        ]
        assert shared, "some keyframe process with empty containers was read"
    assert not _proc._EMPTY_MAILBOX and not _proc._EMPTY_LINKS
    assert not _proc._EMPTY_MONITORS
