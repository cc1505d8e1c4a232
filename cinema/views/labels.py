"""Which node labels fit on screen, by zoom level (Qt-free).

A label is drawn at a fixed pixel size to the right of its node. Zoomed out over thousands of
nodes only a few can be read; zoomed in, more. :func:`place_labels` chooses greedily, most
important first (the selection, highlighted and search hits, then crashed or restarted ones,
supervisors, the rest in order), and takes a label only where it does not overlap one already
taken: the labels that show depend on the pixels, never on a fixed node count.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import numpy.typing as npt

__all__ = ["LABEL_HEIGHT", "estimate_widths", "label_priority", "place_labels", "thin_candidates"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Pixel height a label needs (an 8-pt line plus a little air).
LABEL_HEIGHT = 12.0


def place_labels(
    px: FloatArray,
    py: FloatArray,
    widths: FloatArray,
    priority: IntArray,
    width: float,
    height: float,
    *,
    offset: float | FloatArray = 8.0,
    row_px: float = LABEL_HEIGHT,
    limit: int = 400,
    obstacles: list[tuple[float, float, float]] | None = None,
) -> IntArray:
    """Indices of the labels to draw, most important first.

    Args:
        px, py: the nodes' centres in pixels (0, 0 at the top left of the view).
        widths: each label's width in pixels.
        priority: higher is placed first; ties go in index order.
        width, height: the view's size in pixels.
        offset: gap between a node's centre and its label's left edge (one for all, or one
            per node).
        row_px: a label's height.
        limit: at most this many labels.
        obstacles: ``(left, right, top)`` of labels already drawn (one row high), which these
            must not overlap; the labels taken are appended to it.
    """
    n = len(px)
    if not n:
        return np.zeros(0, np.int64)
    x0 = px + offset
    inside = (x0 < width) & (x0 + widths > 0) & (py >= -row_px / 2) & (py <= height + row_px / 2)
    cand = np.flatnonzero(inside)
    if not len(cand):
        return np.zeros(0, np.int64)
    order = cand[np.lexsort((cand, -priority[cand]))]
    taken: list[int] = []
    bands: defaultdict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for a0, b0, t0 in obstacles or ():
        bands[int(np.floor(t0 / row_px))].append((a0, b0, t0))
    top = py - row_px / 2
    for i in order.tolist():
        a, b = float(x0[i]), float(x0[i] + widths[i])
        band = int(np.floor(top[i] / row_px))
        y_lo = float(top[i])
        # labels are one band high: only those filed under this band and its two
        # neighbours can overlap this one
        clash = any(
            ia < b and a < ib and abs(iy - y_lo) < row_px
            for k in (band - 1, band, band + 1)
            for ia, ib, iy in bands.get(k, ())
        )
        if clash:
            continue
        bands[band].append((a, b, y_lo))
        if obstacles is not None:
            obstacles.append((a, b, y_lo))
        taken.append(i)
        if len(taken) >= limit:
            break
    return np.asarray(taken, np.int64)


def label_priority(
    n: int,
    *,
    selected: npt.ArrayLike = (),
    highlighted: npt.ArrayLike = (),
    found: npt.ArrayLike = (),
    alarming: npt.ArrayLike = (),
    supervisors: npt.ArrayLike = (),
) -> IntArray:
    """Per node, how much its label matters (masks or index arrays of the groups): the
    selection, then highlighted processes, search hits, crashed / restarted / collapsed-with-
    trouble nodes, supervisors, then everything else."""
    out = np.zeros(n, np.int64)
    for weight, group in ((10, supervisors), (30, alarming), (50, found), (70, highlighted),
                          (90, selected)):  # fmt: skip
        g = np.asarray(group)
        if g.size:
            out[g] = np.maximum(out[g], weight)
    return out


def estimate_widths(texts: list[str], char_px: float, pad: float = 4.0) -> FloatArray:
    """Label widths in pixels from their length (no font metrics per label)."""
    return np.fromiter((len(t) * char_px + pad for t in texts), np.float64, len(texts))


def thin_candidates(
    px: FloatArray, py: FloatArray, priority: IntArray, *, row_px: float = LABEL_HEIGHT,
    col_px: float = 40.0,
) -> IntArray:  # fmt: skip
    """Of the nodes that would compete for one label slot (same priority, same label row band,
    same ~``col_px`` column), the first: thousands of leaves one pixel apart leave a few dozen
    candidates whose text is worth making."""
    if not len(px):
        return np.zeros(0, np.int64)
    band = np.floor(py / row_px).astype(np.int64)
    col = np.floor(px / col_px).astype(np.int64)
    keys = np.column_stack([-priority, band, col])
    _, first = np.unique(keys, axis=0, return_index=True)
    return np.sort(first).astype(np.int64)
