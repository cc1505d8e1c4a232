"""A bundle (``cinema export --format cinema``) carries the kind index of format 1.2, written by
the recorder's indexer: a kind filter on the bundle reads the index instead of the frames, and
lists the same events as reading every frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from cinema.cli import main
from cinema.model import Session
from cinema.model.filters import EventFilter
from recorder import EventKind as K
from recorder import Recorder
from recorder.session.format import FrameType

# crashes and restarts rare enough (~8 in a bundle frame of 4,096 events) to be listed
_KINDS = [K.SEND, K.RECEIVE, K.STATE, K.CRASH, K.RESTART, K.MARKER]
_P = [0.5, 0.38, 0.108, 0.002, 0.002, 0.008]


def _record(path: Path, n: int = 60_000) -> Path:
    rng = np.random.default_rng(3)
    clock = iter(range(1000, 10**12, 7))
    with Recorder(path, clock=lambda: next(clock), flush_interval=None) as rec:
        for pid in range(30):
            rec.emit(K.SPAWN, pid, 0xFFFFFFFF, 0, {"name": f"p{pid}"})
        for i, k in enumerate(rng.choice(np.array(_KINDS), n, p=_P).tolist()):
            pid = int(rng.integers(0, 30))
            rec.emit(int(k), pid, (pid + 1) % 30, i + 1, {"i": i, "why": "x" * (i % 50)})
    return path


def _export(src: Path, out: Path, *args: str) -> Path:
    res = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "-f", "cinema", *args])
    assert res.exit_code == 0, res.output
    return out


def _spy_scan(s: Session, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened: list[int] = []
    real = s.reader.scan

    def spy(*a: Any, frames: Any = None, **kw: Any) -> Any:
        opened.extend(frames if frames is not None else range(s.reader.event_frame_count))
        return real(*a, frames=frames, **kw)

    monkeypatch.setattr(s.reader, "scan", spy)
    return opened


@pytest.mark.parametrize("cut", [(), ("--from", "#5000", "--to", "#52000")])
def test_a_bundle_has_the_kind_index_and_kind_filters_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: tuple[str, ...]
) -> None:
    src = _record(tmp_path / "s.cinema")
    bundle = _export(src, tmp_path / "cut.cinema", *cut)
    with Session.open(bundle) as s:
        assert s.reader.version == (1, 2)
        kx = s.reader.kind_index()
        assert kx is not None
        ft = s.reader.frame_table()
        events = ft["type"] == FrameType.EVENTS
        assert kx.first_seq.tolist() == ft["first_seq"][events].tolist()  # every frame
        crash = np.uint64(1 << K.CRASH)
        assert np.all((kx.kinds & crash) == (kx.listed & crash))  # listed where present
        opened = _spy_scan(s, monkeypatch)
        crashes = list(EventFilter(kinds=[K.CRASH, K.RESTART]).scan(s))
        assert opened == []  # not one frame decompressed
        monkeypatch.undo()
        # the same events, data included, as the frames hold
        every = [e for e in s.events(0, s.event_count) if e.kind in (K.CRASH, K.RESTART)]
        assert crashes == every and len(crashes) > 50


def test_cinema_events_kind_on_a_bundle_lists_what_the_original_lists(tmp_path: Path) -> None:
    src = _record(tmp_path / "s.cinema")
    bundle = _export(src, tmp_path / "all.cinema")
    runner = CliRunner()
    got = runner.invoke(main, ["events", str(bundle), "--kind", "crash", "--json"])
    want = runner.invoke(main, ["events", str(src), "--kind", "crash", "--json"])
    assert got.exit_code == want.exit_code == 0
    assert got.output == want.output and got.output.count("\n") > 50
