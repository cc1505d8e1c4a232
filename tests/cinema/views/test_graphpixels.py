"""Graph drawing at pixel resolution: visible nodes one per pixel, edges one per pixel pair."""

from __future__ import annotations

import numpy as np

from cinema.model.world import STATUSES
from cinema.views.graphpixels import STATUS_RANK, PixelView, pick_nodes, pick_segments

CODE = {s: i for i, s in enumerate(STATUSES)}


def test_one_node_per_pixel_the_one_that_matters() -> None:
    view = PixelView(0.0, 100.0, 0.0, 100.0, 100.0, 100.0)  # one unit per pixel
    x = np.array([10.1, 10.2, 10.3, 50.0, 50.5, 500.0])
    y = np.array([10.1, 10.4, 10.9, 50.0, 50.2, 50.0])
    size = np.array([5.0, 9.0, 5.0, 5.0, 5.0, 5.0])
    names = ("waiting", "waiting", "crashed", "running", "running", "crashed")
    status = np.array([CODE[s] for s in names])
    picked = pick_nodes(x, y, size, STATUS_RANK[status], view).tolist()
    # pixel (10, 10): the crashed one; pixel (50, 50): the first of equals; x=500: off screen
    assert picked == [2, 3]
    status[2] = CODE["waiting"]
    assert pick_nodes(x, y, size, STATUS_RANK[status], view).tolist() == [1, 3]  # the biggest


def test_nodes_half_outside_still_show_and_empty_input() -> None:
    view = PixelView(0.0, 10.0, 0.0, 10.0, 100.0, 100.0)  # ten pixels per unit
    x, y = np.array([-0.3, -2.0, 5.0]), np.array([5.0, 5.0, 10.4])
    size = np.array([10.0, 10.0, 10.0])
    assert pick_nodes(x, y, size, np.zeros(3, np.int64), view).tolist() == [0, 2]
    assert len(pick_nodes(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), view)) == 0


def test_ranking_puts_crashes_first() -> None:
    order = sorted(STATUSES, key=lambda s: -STATUS_RANK[CODE[s]])
    assert order[:2] == ["crashed", "restarting"] and order[-1] == "waiting"


def test_segments_culled_and_merged_per_pixel_pair() -> None:
    view = PixelView(0.0, 100.0, 0.0, 10.0, 100.0, 100.0)  # y: ten pixels per unit
    seg = np.array(
        [
            [0.0, 0.0, 50.0, 5.00],
            [0.0, 0.0, 50.0, 5.01],  # same pixels as the first
            [0.0, 0.0, 50.0, 6.0],
            [200.0, 0.0, 300.0, 5.0],  # right of the view
            [-50.0, -5.0, 150.0, 20.0],  # crosses the view, both ends outside
        ]
    )
    assert pick_segments(seg, view).tolist() == [0, 2, 4]
    assert len(pick_segments(np.zeros((0, 4)), view)) == 0


def test_ten_thousand_leaves_in_four_hundred_pixels() -> None:
    n = 10_000
    y = np.arange(n, dtype=np.float64)
    x = np.full(n, 4.0)
    view = PixelView(-1.0, 5.0, 0.0, float(n), 500.0, 400.0)
    picked = pick_nodes(x, y, np.full(n, 5.0), np.zeros(n, np.int64), view)
    assert 390 <= len(picked) <= 401
    seg = np.column_stack([np.zeros(n), np.full(n, n / 2), x, y])  # one parent's fan
    assert len(pick_segments(seg, view)) <= 401
