"""history.last_change: the indexed answer equals the one from the full state history."""

from __future__ import annotations

from pathlib import Path

from cinema.model import history
from cinema.model.session import Session

from . import bp_sessions


def test_last_change_matches_the_full_history(tmp_path: Path) -> None:
    s = Session.open(bp_sessions.bank_session(tmp_path / "bank.cinema"))
    n = s.event_count
    for pid in list(s.processes)[:8]:
        changes = history.state_history(s, pid)
        for seq in (0, n // 3, n // 2, n - 1):
            before = [c for c in changes if c.seq <= seq]
            want = (
                (history.diff(before[-2].state if len(before) > 1 else None, before[-1].state),
                 before[-1].seq) if before else ([], None)
            )  # fmt: skip
            assert history.last_change(s, pid, seq) == want
