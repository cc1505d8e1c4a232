"""Lane layout and the timeline's visible-window selection (cinema.views.viewport)."""

from __future__ import annotations

import numpy as np
import pytest

from cinema.views.viewport import LaneLayout, Viewport, lane_order
from recorder.events import NO_PID
from recorder.session.reader import ProcessInfo


def _procs(n_workers: int = 4) -> dict[int, ProcessInfo]:
    procs = {0: ProcessInfo(0, "root", "supervisor", NO_PID, NO_PID)}
    procs[1] = ProcessInfo(1, "sup", "supervisor", 0, 0)
    for i in range(2, 2 + n_workers):
        procs[i] = ProcessInfo(i, f"w{i}", "gen_server", 1, 1)
    procs[99] = ProcessInfo(99, "loner", "process", NO_PID, NO_PID)
    return procs


def test_lane_order_is_depth_first_by_supervision_tree() -> None:
    order, depth, end = lane_order(_procs(2))
    assert order == [0, 1, 2, 3, 99]
    assert depth == [0, 1, 2, 2, 0]
    assert end[1] == 4 and end[0] == 4 and end[99] == 5


def test_collapse_folds_a_subtree_into_one_row() -> None:
    lay = LaneLayout(_procs(3))
    assert len(lay.rows) == 6
    lay.toggle(1)
    assert [r.pid for r in lay.rows] == [0, 1, 99]
    sup = lay.rows[1]
    assert sup.collapsed and (sup.lo, sup.hi) == (1, 5)
    assert lay.row_of_pid(3) == 1  # a hidden worker shows on its group's row
    lay.toggle(1)
    assert len(lay.rows) == 6


def test_unknown_pids_map_past_the_last_lane() -> None:
    lay = LaneLayout(_procs(1))
    assert lay.rank(np.array([NO_PID, 5000, 2], np.uint32)).tolist() == [
        lay.lane_count,
        lay.lane_count,
        2,
    ]


def _viewport(n: int = 10_000, workers: int = 4, seed: int = 3, **options: int) -> Viewport:
    rng = np.random.default_rng(seed)
    procs = _procs(workers)
    pids = np.array(sorted(procs), np.uint32)
    ts = np.cumsum(rng.integers(1, 100, n)).astype(np.int64)
    pid = rng.choice(pids, n).astype(np.uint32)
    kind = rng.integers(0, 20, n).astype(np.uint8)
    send = np.arange(0, n - 2, 7)
    return Viewport.from_arrays(ts, kind, pid, LaneLayout(procs), (send, send + 2), **options)


def _brute_counts(vp: Viewport, row: int, edges: np.ndarray) -> np.ndarray:
    r = vp.layout.rows[row]
    ranks = vp.layout.rank(vp.source.pid)
    sel = (ranks >= r.lo) & (ranks < r.hi)
    counts, _ = np.histogram(vp.source.ts[sel], bins=edges)
    # np.histogram closes the last bin; the viewport's bins are half-open [a, b)
    counts[-1] -= int(np.sum(vp.source.ts[sel] == edges[-1]))
    return counts


def test_density_counts_match_a_brute_force_histogram() -> None:
    vp = _viewport()
    t0, t1 = int(vp.source.ts[1000]), int(vp.source.ts[8000])
    fr = vp.frame(t0, t1, -0.5, 10, pixels=50, glyph_limit=0)
    assert fr.mode == "density" and fr.density is not None
    edges = np.linspace(t0, t1 + 1, 51).astype(np.int64)
    for row in range(fr.row_lo, fr.row_hi):
        np.testing.assert_array_equal(fr.density[row - fr.row_lo], _brute_counts(vp, row, edges))
    assert fr.density.sum() == fr.visible_events


def test_glyphs_are_exactly_the_visible_events() -> None:
    vp = _viewport()
    t0, t1 = int(vp.source.ts[5000]), int(vp.source.ts[5100])
    fr = vp.frame(t0, t1, 1.5, 3.5, pixels=800)  # rows 2 and 3 only
    assert fr.mode == "glyphs"
    rows = vp.layout.row_of_rank[vp.layout.rank(vp.source.pid)]
    expect = np.flatnonzero((vp.source.ts >= t0) & (vp.source.ts <= t1) & (rows >= 2) & (rows <= 3))
    np.testing.assert_array_equal(fr.glyph_seq, expect)
    assert set(fr.glyph_row.tolist()) <= {2, 3}
    np.testing.assert_array_equal(fr.glyph_x, vp.source.ts[expect])


def test_many_events_turn_into_density() -> None:
    vp = _viewport()
    fr = vp.frame(vp.t_first, vp.t_last, -0.5, 10, pixels=100)
    assert fr.mode == "density"
    assert fr.visible_events == len(vp.source.ts)


def test_collapsed_group_counts_are_the_sum_of_its_lanes() -> None:
    vp = _viewport()
    vp.layout.set_collapsed([1])
    edges = np.linspace(vp.t_first, vp.t_last + 1, 21).astype(np.int64)
    got = vp.row_counts(1, 2, edges)[0]
    np.testing.assert_array_equal(got, _brute_counts(vp, 1, edges))


def test_big_groups_keep_totals() -> None:
    vp = _viewport(n=20_000, workers=74)
    vp.layout.set_collapsed([0])
    edges = np.array([vp.t_first, vp.t_last + 1])
    total = vp.row_counts(0, 1, edges)[0].sum()
    group = vp.layout.rows[0]
    ranks = vp.layout.rank(vp.source.pid)
    assert total == pytest.approx(np.sum((ranks >= group.lo) & (ranks < group.hi)), rel=1e-6)


def test_arrows_join_sender_and_receiver_rows_inside_the_window() -> None:
    vp = _viewport()
    t0, t1 = int(vp.source.ts[3000]), int(vp.source.ts[3060])
    fr = vp.frame(t0, t1, -0.5, 10, pixels=800)
    rows = vp.layout.row_of_rank[vp.layout.rank(vp.source.pid)]
    for x0, r0, x1, r1 in fr.arrows.tolist():
        s = int(np.flatnonzero(vp.source.ts == x0)[0])
        assert x1 >= t0 and x0 <= t1
        assert rows[s] == r0 and r0 != r1


def test_step_in_lane() -> None:
    vp = _viewport(n=500)
    pid = int(vp.source.pid[100])
    mine = np.flatnonzero(vp.source.pid == pid)
    nxt = vp.step_in_lane(pid, 100, 1)
    assert nxt == int(mine[mine > 100][0])
    prev = vp.step_in_lane(pid, 100, -1)
    assert prev == int(mine[mine < 100][-1])
    assert vp.step_in_lane(pid, int(mine[-1]), 1) is None


def test_frame_cost_does_not_grow_with_the_session() -> None:
    """The window query is O(visible rows x pixels x log n): 100x more events, same work."""
    import time

    def cost(vp: Viewport) -> float:
        best = 1e9
        for k in range(5):
            t0 = vp.t_first + (vp.t_last - vp.t_first) * k // 10
            start = time.perf_counter()
            vp.frame(t0, t0 + (vp.t_last - vp.t_first) // 20, -0.5, 5, pixels=400)
            best = min(best, time.perf_counter() - start)
        return best

    small, big = _viewport(n=10_000), _viewport(n=1_000_000)
    assert cost(big) < 10 * cost(small) + 0.005


@pytest.mark.parametrize("collapsed", [(), (1,), (0,)])
def test_wide_windows_count_from_the_frame_activity_exactly_at_frame_edges(
    collapsed: tuple[int, ...],
) -> None:
    """Past ``exact_events`` a window is counted from the per-frame activity: at frame
    boundaries the counts are the exact ones, and the totals always are."""
    exact = _viewport(n=30_000, workers=9, frame_events=500)
    wide = _viewport(n=30_000, workers=9, frame_events=500, exact_events=0)
    for vp in (exact, wide):
        vp.layout.set_collapsed(collapsed)
    spans = wide.source.spans()
    edges = np.r_[spans.t0[::7], spans.t1[-1] + 1].astype(np.int64)
    rows = len(wide.layout.rows)
    got, want = wide.row_counts(0, rows, edges), exact.row_counts(0, rows, edges)
    np.testing.assert_allclose(got, want)
    fine = np.linspace(wide.t_first, wide.t_last + 1, 333).astype(np.int64)
    got = wide.row_counts(0, rows, fine)
    np.testing.assert_allclose(got.sum(axis=1), exact.row_counts(0, rows, fine).sum(axis=1))
    assert (got >= 0).all()
    fr = wide.frame(wide.t_first, wide.t_last, -0.5, rows, pixels=300)
    assert fr.mode == "density" and fr.visible_events == 30_000


@pytest.mark.parametrize("collapsed", [(), (1,), (0,), (1, 99)])
def test_wide_windows_count_the_same_before_and_after_the_lane_sort(
    collapsed: tuple[int, ...],
) -> None:
    """A wide window is counted from the window's slice of the frame-ordered activity until
    ``prepare`` sorts it by lane, then from the visible lanes' entries: the same numbers."""
    slice_vp = _viewport(n=40_000, workers=30, frame_events=300, exact_events=0, seed=8)
    sorted_vp = _viewport(n=40_000, workers=30, frame_events=300, exact_events=0, seed=8)
    sorted_vp.prepare()
    assert sorted_vp.prepared and not slice_vp.prepared
    rng = np.random.default_rng(2)
    for vp in (slice_vp, sorted_vp):
        vp.layout.set_collapsed(collapsed)
    rows = len(slice_vp.layout.rows)
    t_first, t_last = slice_vp.t_first, slice_vp.t_last
    for _ in range(25):
        t0, t1 = sorted(rng.integers(t_first, t_last + 1, 2).tolist())
        y0 = float(rng.uniform(-0.5, rows))
        y1 = y0 + float(rng.uniform(0.5, rows))
        pixels = int(rng.integers(1, 700))
        a = slice_vp.frame(t0, t1 + 1, y0, y1, pixels)
        b = sorted_vp.frame(t0, t1 + 1, y0, y1, pixels)
        assert (a.mode, a.visible_events, a.row_lo, a.row_hi) == (
            b.mode, b.visible_events, b.row_lo, b.row_hi,
        )  # fmt: skip
        if a.density is not None and b.density is not None:
            np.testing.assert_array_equal(a.density, b.density)
        np.testing.assert_array_equal(a.glyph_seq, b.glyph_seq)
        edges = np.linspace(t0, t1 + 1, pixels + 1).astype(np.int64)
        np.testing.assert_array_equal(
            slice_vp.row_counts(0, rows, edges), sorted_vp.row_counts(0, rows, edges)
        )
    sorted_vp.prepare()  # nothing new: kept
    assert sorted_vp.prepared


@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.parametrize("frames_read", [256, 0])
def test_a_wide_window_with_few_visible_events_draws_their_glyphs(
    frames_read: int, prepared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few events in the visible lanes of a wide window: each lane's own events, exactly
    (read from the frames they are in, or from the events by process past a few frames)."""
    from cinema.views import viewport

    monkeypatch.setattr(viewport, "LANE_GLYPH_FRAMES", frames_read)
    rng = np.random.default_rng(5)
    procs = _procs(6)
    n = 40_000
    ts = np.cumsum(rng.integers(1, 50, n)).astype(np.int64)
    pid = np.full(n, 7, np.uint32)  # nearly everything happens in the last worker's lane
    rare = rng.choice(n, 40, replace=False)
    pid[rare] = rng.choice([2, 3], 40)
    kind = rng.integers(0, 20, n).astype(np.uint8)
    vp = Viewport.from_arrays(ts, kind, pid, LaneLayout(procs), exact_events=1000,
                              frame_events=512)  # fmt: skip
    if prepared:
        vp.prepare()
    rows = [vp.layout.row_of_pid(2), vp.layout.row_of_pid(3)]
    fr = vp.frame(int(ts[0]), int(ts[-1]), min(rows) - 0.4, max(rows) + 0.4, pixels=800)
    want = np.flatnonzero(np.isin(pid, [2, 3]))
    assert fr.mode == "glyphs"
    np.testing.assert_array_equal(fr.glyph_seq, want)
    np.testing.assert_array_equal(fr.glyph_x, ts[want])
    assert set(fr.glyph_row.tolist()) == set(rows)


@pytest.mark.parametrize("prepared", [False, True])
def test_a_warmed_viewport_draws_the_same_frames(prepared: bool) -> None:
    """``warm`` counts the first rows over every frame ahead of the first screen; frames of
    those rows (any time window, any subset of them) and of others, before and after a
    collapse changes the rows, are the ones a cold viewport draws."""
    cold = _viewport(n=40_000, workers=30, frame_events=300, exact_events=0, seed=5)
    warm = _viewport(n=40_000, workers=30, frame_events=300, exact_events=0, seed=5)
    warm.warm(12)
    assert warm._warm is not None and warm._warm[3].shape[0] == 12
    if prepared:
        warm.prepare()
    rng = np.random.default_rng(4)
    t_first, t_last = cold.t_first, cold.t_last
    windows = [(t_first, t_last, -0.5, 11.5), (t_first, t_last, 2.5, 6.5)]
    windows += [(t_first, t_last, 5.5, 20.5)]  # past the warmed rows: counted
    for _ in range(10):
        t0, t1 = sorted(rng.integers(t_first, t_last + 1, 2).tolist())
        windows.append((t0, t1 + 1, float(rng.uniform(-0.5, 8)), float(rng.uniform(8, 11.5))))
    counted: list[int] = []
    count_grid = warm._count_grid
    warm._count_grid = lambda *a: counted.append(a[0]) or count_grid(*a)  # type: ignore[method-assign]
    for collapsed in (None, (1,)):
        if collapsed is not None:
            for vp in (cold, warm):
                vp.layout.set_collapsed(collapsed)
        for t0, t1, y0, y1 in windows:
            pixels = int(rng.integers(1, 700))
            a, b = cold.frame(t0, t1, y0, y1, pixels), warm.frame(t0, t1, y0, y1, pixels)
            assert (a.mode, a.visible_events, a.row_lo, a.row_hi) == (
                b.mode, b.visible_events, b.row_lo, b.row_hi,
            )  # fmt: skip
            if a.density is not None and b.density is not None:
                np.testing.assert_array_equal(a.density, b.density)
            np.testing.assert_array_equal(a.glyph_seq, b.glyph_seq)
        if collapsed is None:  # only the window past the warmed rows was counted
            assert counted == [6]
    # the warmed rows were those before the collapse: the collapsed rows were counted anew
    assert len(counted) > 1 and warm._warm is not None and warm._warm[0] is not warm.layout.rows
