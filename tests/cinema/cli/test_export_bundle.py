"""The cinema bundle: a cut of a sandbox recording that opens like any session and shows, at
every event, the world the original shows at that event; breakpoints, bookmarks, the note and
the redaction report travel with it; `cinema info` says it is a cut."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cinema.model.breakpoints import BreakpointSet
from cinema.model.present import process_row
from cinema.model.session import Session
from cinema.model.sidecar import Bookmark, save_sidecar, sidecar_path
from cinema.model.world import World

from .conftest import cinema


def _ok(*args: str) -> str:
    code, out, err = cinema(*args)
    assert code == 0, err
    return out


def _world(w: World, pids: set[int] | None = None) -> dict[str, Any]:
    procs = {pid: process_row(p) for pid, p in w.processes.items() if pids is None or pid in pids}
    sups = {
        pid: (s.strategy, s.max_restarts, s.max_seconds, [dict(c) for c in s.children])
        for pid, s in w.supervisors.items()
        if pids is None or pid in pids
    }
    reg = {k: v for k, v in w.registry.items() if pids is None or v in pids}
    return {"processes": procs, "supervisors": sups, "registry": reg}


CUTS = [("#0", "#999"), ("#1000", "#2999"), ("#1777", None), ("0.05s", "0.2s")]


@pytest.mark.parametrize(("t_from", "t_to"), CUTS)
def test_a_range_cut_shows_the_original_world_at_every_event(
    demo: str, tmp_path: Path, t_from: str, t_to: str | None
) -> None:
    out = tmp_path / "cut.cinema"
    args = ["export", demo, "-o", str(out), "--redact", "none", "--from", t_from]
    if t_to is not None:
        args += ["--to", t_to]
    doc = json.loads(_ok(*args, "--json"))
    lo, hi = doc["range"]
    with Session.open(demo) as orig, Session.open(out) as cut:
        assert cut.event_count == hi - lo + 1
        step = max(1, cut.event_count // 60)
        seqs = sorted({*range(0, cut.event_count, step), cut.event_count - 1, 0, 1})
        for k in seqs:
            a, b = orig.event(lo + k), cut.event(k)
            assert (a.ts, a.kind, a.pid, a.peer, a.ref, a.data) == (
                b.ts, b.kind, b.pid, b.peer, b.ref, b.data,
            )  # fmt: skip
            assert _world(cut.world_at(k)) == _world(orig.world_at(lo + k)), k
        # seeking backwards through the copied keyframes agrees too
        for k in reversed(seqs[-5:]):
            assert _world(cut.world_at(k)) == _world(orig.world_at(lo + k)), k
        kf = cut.reader.keyframe_seqs
        assert (lo == 0) or kf[0] == 0  # a cut that starts mid-run starts at a keyframe
        orig_kf = [s - lo for s in orig.reader.keyframe_seqs if lo < s <= hi]
        assert set(orig_kf) <= set(kf)  # it seeks as fast as the original


def test_a_process_cut_keeps_their_events_and_their_world(
    demo_files: dict[str, str], tmp_path: Path
) -> None:
    demo = demo_files["bank"]
    out = tmp_path / "acct.cinema"
    with Session.open(demo) as orig:
        pids = sorted(p for p, info in orig.processes.items() if info.name in ("acct-1", "ledger"))
    doc = json.loads(_ok("export", demo, "-o", str(out), "-p", "acct-1", "-p", "ledger",
                         "--from", "#800", "--json"))  # fmt: skip
    assert doc["processes"] == pids
    with Session.open(demo) as orig, Session.open(out) as cut:
        kept = [ev for ev in orig.events(800) if ev.pid in pids or ev.peer in pids]
        assert cut.event_count == len(kept) == doc["events"]
        for k, ev in enumerate(kept[:300]):
            got = cut.event(k)
            assert (got.ts, got.kind, got.pid, got.peer, got.data) == (
                ev.ts, ev.kind, ev.pid, ev.peer, ev.data,
            )  # fmt: skip
        first = _world(cut.world_at(0), set(pids))
        before = orig.world_at(799)
        want = _world(before, set(pids))
        # the first keyframe holds the chosen processes as the original had them at the cut
        for pid in pids:
            row, exp = first["processes"][pid], want["processes"][pid]
            exp_state = exp["state"]
            assert row["state"] == exp_state if cut.event(0).pid != pid else True
            assert (row["name"], row["supervisor"]) == (exp["name"], exp["supervisor"])
        assert set(cut.world_at(0).processes) <= set(pids)
        names = {cut.process_name(p) for p in pids}
        assert names == {"acct-1", "ledger"}


def test_breakpoints_bookmarks_note_and_cut_facts_travel(
    demo_files: dict[str, str], tmp_path: Path, validator: Any
) -> None:
    src = tmp_path / "bank.cinema"
    src.write_bytes(Path(demo_files["bank"]).read_bytes())
    bps = BreakpointSet()
    bps.add('kind == "crash"', id="crashes", label="every crash")
    save_sidecar(sidecar_path(src), bps, [Bookmark(1200, "the overdraft"), Bookmark(10, "boot")])
    out = tmp_path / "cut.cinema"
    _ok("export", str(src), "-o", str(out), "--from", "#1000", "--to", "#2999",
        "--note", "look at acct-3")  # fmt: skip
    with Session.open(out) as cut:
        meta = cut.meta["export"]
        assert meta["cut_from"] == "bank.cinema" and meta["range"] == [1000, 2999]
        assert meta["note"] == "look at acct-3"
        (extra,) = cut.reader.meta_frames()
        assert extra["bookmarks"] == [{"seq": 200, "note": "the overdraft"}]
        assert [b["id"] for b in extra["breakpoints"]] == ["crashes"]
        assert extra["export"]["events"] == 2000
        assert extra["redaction"]["redacted"] == 0
    info = _ok("info", str(out))
    assert "cut from    bank.cinema: events #1000..#2999" in info
    assert "look at acct-3" in info
    doc = json.loads(_ok("info", str(out), "--json"))
    validator("info").validate(doc)
    assert doc["export"]["range"] == [1000, 2999]
    assert json.loads(_ok("info", demo_files["bank"], "--json"))["export"] is None
