"""Which nodes and edges of a process graph to draw, at the pixel resolution of the view.

A 10,000-process supervision tree fitted into a 400-pixel dock puts ~25 leaves on every pixel
row and draws 10,000 overlapping edges: most of that work never reaches the screen. Like a
timeline track that renders only its visible window at pixel resolution (Perfetto UI's
approach), the graph draws the nodes and edges inside the view rectangle only, one node per
occupied pixel (the one whose status matters most there) and one segment per distinct pair
of pixel end points. Pure numpy, no Qt: the panel hands over its view rectangle and size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from cinema.model.world import STATUSES

__all__ = ["STATUS_RANK", "PixelView", "pick_nodes", "pick_segments"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_RANKED = ("waiting", "running", "suspended", "dead", "restarting", "crashed")
#: Which status shows when several nodes share a pixel (higher wins), by status code.
STATUS_RANK: npt.NDArray[np.int64] = np.array([_RANKED.index(s) for s in STATUSES], np.int64)


class PixelView(NamedTuple):
    """The visible rectangle in graph coordinates and its size on screen in pixels."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: float
    height: float

    def to_pixels(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        sx = self.width / (self.x1 - self.x0) if self.x1 != self.x0 else 0.0
        sy = self.height / (self.y1 - self.y0) if self.y1 != self.y0 else 0.0
        return (x - self.x0) * sx, (y - self.y0) * sy


def pick_nodes(
    x: FloatArray, y: FloatArray, size: FloatArray, rank: IntArray, view: PixelView
) -> IntArray:
    """Indices of the nodes to draw: those whose disc (``size`` pixels across) touches the
    view, one per pixel -- the highest ``rank`` there, then the biggest, then the first."""
    if not len(x):
        return np.zeros(0, np.int64)
    px, py = view.to_pixels(x, y)
    r = size / 2.0
    inside = (px >= -r) & (px <= view.width + r) & (py >= -r) & (py <= view.height + r)
    idx = np.flatnonzero(inside)
    if len(idx) < 2:
        return idx.astype(np.int64)
    cx = np.floor(px[idx]).astype(np.int64)
    cy = np.floor(py[idx]).astype(np.int64)
    cell = (cy - int(cy.min())) * (int(cx.max() - cx.min()) + 1) + (cx - int(cx.min()))
    # best first within each cell: the last lexsort key is the primary one
    order = np.lexsort((idx, -size[idx], -rank[idx], cell))
    first = np.r_[True, cell[order][1:] != cell[order][:-1]]
    return np.sort(idx[order[first]])


def pick_segments(seg: FloatArray, view: PixelView) -> IntArray:
    """Indices of the segments (rows ``x0, y0, x1, y1``) to draw: those whose bounding box
    touches the view, one per distinct pair of pixel end points."""
    if not len(seg):
        return np.zeros(0, np.int64)
    ax, ay = view.to_pixels(seg[:, 0], seg[:, 1])
    bx, by = view.to_pixels(seg[:, 2], seg[:, 3])
    inside = (
        (np.maximum(ax, bx) >= 0)
        & (np.minimum(ax, bx) <= view.width)
        & (np.maximum(ay, by) >= 0)
        & (np.minimum(ay, by) <= view.height)
    )
    idx = np.flatnonzero(inside)
    if len(idx) < 2:
        return idx.astype(np.int64)
    # end points far outside are clamped (the visible part of two such lines may differ
    # slightly; a few pixels off screen that does not show)
    lim = 4.0 * max(view.width, view.height) + 64.0
    ends = np.column_stack([ax[idx], ay[idx], bx[idx], by[idx]])
    keys = np.round(np.clip(ends, -lim, lim)).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    return np.sort(idx[first])
