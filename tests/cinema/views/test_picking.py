"""Picking the glyph on top, and thinning marks to one per pixel."""

from __future__ import annotations

import numpy as np

from cinema.views.picking import one_per_pixel, pick_glyph
from cinema.views.viewport import Frame


def _frame(xs: list[int], kinds: list[int], rows: list[int]) -> Frame:
    return Frame(
        0, 1000, 0, 3, "glyphs", len(xs),
        glyph_seq=np.arange(len(xs), dtype=np.int64),
        glyph_x=np.asarray(xs, np.int64),
        glyph_row=np.asarray(rows, np.int64),
        glyph_kind=np.asarray(kinds, np.uint8),
    )  # fmt: skip


LAYER = np.zeros(256, np.int64)
LAYER[2] = 10  # kind 2 (crash) is drawn over everything


def test_the_top_layer_wins_where_glyphs_overlap() -> None:
    fr = _frame([100, 103], [4, 2], [1, 1])  # a receive, then a crash 3 px later
    # 1 px right of the receive: nearer to it, but the crash's glyph covers the point too
    assert pick_glyph(fr, 1, 101, 1.0, LAYER) == 1
    # far left of both glyphs' cover, the nearest within reach
    assert pick_glyph(fr, 1, 95, 1.0, LAYER) == 0
    assert pick_glyph(fr, 1, 50, 1.0, LAYER) is None
    assert pick_glyph(fr, 2, 100, 1.0, LAYER) is None  # another row


def test_within_a_layer_the_later_event_is_on_top() -> None:
    fr = _frame([100, 101, 102], [4, 4, 4], [0, 0, 0])
    assert pick_glyph(fr, 0, 100, 1.0, LAYER) == 2


def test_one_per_pixel() -> None:
    x = np.array([0.0, 0.1, 0.15, 0.9, 1.5, 2.2, 9.99, 12.0])
    keep = one_per_pixel(x, 0.0, 10.0, 10)
    assert keep.tolist() == [0, 4, 5, 6]
    assert one_per_pixel([], 0, 1, 10).tolist() == []
    big = np.sort(np.random.default_rng(1).uniform(0, 1, 100_000))
    assert len(one_per_pixel(big, 0, 1, 800)) == 800
