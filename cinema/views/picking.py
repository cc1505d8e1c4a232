"""What is under the pointer on the timeline, and marks thinned to one per pixel (Qt-free).

A click must select what the user sees. Glyphs are squares a few pixels wide drawn in layers
(a crash over a burst of messages), so at a glance several events share a pixel; the visible
one is the top-most glyph that covers the point, not the event nearest in time (which may be
hidden under it). :func:`pick_glyph` answers that from the frame the timeline drew.
:func:`one_per_pixel` thins marks (say 100,000 log hits) to what can show on a strip.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cinema.views.viewport import Frame

__all__ = ["one_per_pixel", "pick_glyph"]

IntArray = npt.NDArray[np.int64]


def pick_glyph(
    frame: Frame,
    row: int,
    t_ns: float,
    ns_per_px: float,
    layer_of_kind: IntArray,
    *,
    half_px: float = 4.0,
    reach_px: float = 6.0,
) -> int | None:
    """The event whose glyph the user clicked at time ``t_ns`` on ``row``, or None.

    Args:
        frame: the frame on screen (glyph mode; a density frame has no glyphs to pick).
        row: the row clicked.
        t_ns: the time under the pointer.
        ns_per_px: the horizontal scale of the view.
        layer_of_kind: the drawing layer of each kind code (higher is drawn later, on top).
        half_px: half a glyph's width: glyphs this close cover the point.
        reach_px: when no glyph covers the point, the nearest one this close is taken.

    Among the glyphs that cover the point, the one drawn last wins: the highest layer, then
    (within a layer, drawn in event order) the latest event.
    """
    if frame.mode != "glyphs" or not len(frame.glyph_seq):
        return None
    on_row = np.flatnonzero(frame.glyph_row == row)
    if not len(on_row):
        return None
    dx = np.abs(frame.glyph_x[on_row].astype(np.float64) - t_ns) / max(ns_per_px, 1e-12)
    covering = on_row[dx <= half_px]
    if len(covering):
        layer = layer_of_kind[frame.glyph_kind[covering]]
        top = covering[layer == layer.max()]
        return int(frame.glyph_seq[top[-1]])  # glyph arrays are in event order
    j = int(np.argmin(dx))
    return int(frame.glyph_seq[on_row[j]]) if dx[j] <= reach_px else None


def one_per_pixel(x: npt.ArrayLike, x0: float, x1: float, pixels: int) -> IntArray:
    """Indices of the first of ``x`` in each pixel column of ``[x0, x1]`` (``x`` ascending);
    marks outside the range are left out."""
    xs = np.asarray(x, dtype=np.float64)
    if not len(xs) or x1 <= x0 or pixels <= 0:
        return np.zeros(0, np.int64)
    lo = int(np.searchsorted(xs, x0, side="left"))
    hi = int(np.searchsorted(xs, x1, side="right"))
    if hi <= lo:
        return np.zeros(0, np.int64)
    col = np.floor((xs[lo:hi] - x0) * (pixels / (x1 - x0))).astype(np.int64)
    first = np.r_[True, col[1:] != col[:-1]]
    return (np.flatnonzero(first) + lo).astype(np.int64)
