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


def test_a_process_cut_seeks_through_keyframes_as_the_original_does(
    demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process cut carries keyframes through the cut (not only the first), about as far apart
    in events as the original's, and each holds the world the cut's own events replay to: a
    seek from any of them shows what replaying the cut from its start shows."""
    out = tmp_path / "proc.cinema"
    with Session.open(demo) as orig:
        busy = sorted(orig.processes, key=lambda p: -int((orig.skeleton.pid == p).sum()))[:3]
        spacing = orig.event_count / max(len(orig.reader.keyframe_seqs), 1)
    args = ["export", demo, "-o", str(out), "--redact", "none", "--from", "#300"]
    for p in busy:
        args += ["-p", str(p)]
    doc = json.loads(_ok(*args, "--json"))
    with Session.open(out) as cut:
        n = cut.event_count
        kf = cut.reader.keyframe_seqs
        assert kf[0] == 0 and doc["keyframes"] == len(kf)
        gaps = [b - a for a, b in zip(kf, [*kf[1:], n], strict=True)]
        # no further apart than the original's (in the cut's events)
        assert max(gaps) <= max(spacing, 4096), (kf, spacing)
        if n > 2 * max(spacing, 4096):
            assert len(kf) > 2
        step = max(1, n // 40)
        seqs = sorted({*range(0, n, step), n - 1, *(s - 1 for s in kf if s), *kf})
        with monkeypatch.context() as m:  # the cut replayed from its first keyframe only
            m.setattr(type(cut.reader), "keyframe_seqs", property(lambda r: r._ix.kf_seqs[:1]))
            with Session.open(out) as replayed:
                want = [_world(replayed.world_at(k)) for k in seqs]
        for k, w in zip(seqs, want, strict=True):
            cut._worlds.clear()  # a seek from the nearest keyframe
            assert _world(cut.world_at(k)) == w, k


def test_a_process_cut_of_a_loaded_sandbox_program_keeps_keyframes(tmp_path: Path) -> None:
    """The sandbox program of the benchmarks (supervised workers, clients calling them): a
    process cut of a few clients and workers seeks through keyframes as the original does."""
    from benchmarks._sandbox_sessions import record_sandbox_session

    src = tmp_path / "load.cinema"
    record_sandbox_session(src, 60_000, workers=100, supervisors=5, clients=20)
    out = tmp_path / "cut.cinema"
    with Session.open(src) as orig:
        names = {orig.process_name(p): p for p in orig.processes}
        assert len(orig.reader.keyframe_seqs) > 5
    args = ["export", str(src), "-o", str(out), "--from", "#5000"]
    for name in ("client1", "client2", "w3", "w7", "sup0"):
        args += ["-p", name]
    _ok(*args)
    with Session.open(src) as orig, Session.open(out) as cut:
        kf = cut.reader.keyframe_seqs
        spacing = orig.event_count / len(orig.reader.keyframe_seqs)
        gaps = [b - a for a, b in zip(kf, [*kf[1:], cut.event_count], strict=True)]
        assert len(kf) > 1 and max(gaps) <= max(spacing, 4096)
        pids = {names[x] for x in ("client1", "w3")}
        last = cut.event_count - 1
        cut._worlds.clear()
        got = _world(cut.world_at(last), pids)["processes"]
        # the last moment from the last keyframe: each chosen process's own state as in the
        # original at the same event (their own events are all in the cut)
        want = _world(orig.world_at(orig.event_count - 1), pids)["processes"]
        for pid in pids:
            assert got[pid]["state"] == want[pid]["state"]
            assert got[pid]["handled"] == want[pid]["handled"]
