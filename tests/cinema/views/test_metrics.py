"""Metrics series: the cached, indexed path gives what the full-array functions give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cinema.model.session import Session
from cinema.views import metrics

from ..model import bp_sessions


@pytest.fixture
def bank(tmp_path: Path) -> Session:
    return Session.open(bp_sessions.bank_session(tmp_path / "bank.cinema"))


def test_the_cache_matches_the_full_scan_for_every_process(bank: Session) -> None:
    sk = bank.skeleton
    cache = metrics.MetricsCache(sk, bank, bank.index, bank.t_first, bank.t_last, bins=50)
    for pid in bank.processes:
        got = cache.series(pid)
        for a, b in (
            (got.mailbox, metrics.mailbox_series(sk, pid)),
            (got.memory, metrics.memory_series(sk, bank, pid)),
            (got.rate, metrics.message_rate(sk, pid, bank.t_first, bank.t_last, bins=50)),
        ):
            assert np.array_equal(a.t, b.t) and np.array_equal(a.value, b.value)
    assert any(len(cache.series(p).mailbox.t) for p in bank.processes)


def test_series_are_computed_once_per_process(bank: Session) -> None:
    cache = metrics.MetricsCache(bank.skeleton, bank, bank.index, bank.t_first, bank.t_last, size=2)
    pids = sorted(bank.processes)[:3]
    first = cache.series(pids[0])
    assert cache.series(pids[0]) is first and cache.computed == 1
    cache.series(pids[1])
    cache.series(pids[2])  # evicts pids[0] (least recently used)
    assert cache.computed == 3
    cache.series(pids[0])
    assert cache.computed == 4
