"""Plot layers that show data or hide: a pyqtgraph item left shown with nothing in it still
costs a paint call and its bounding rects every frame (~10 of the timeline's ~16 scatter
layers are empty in a zoomed-out view), so every layer the panels fill goes through these."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

__all__ = ["EMPTY", "show_curve", "show_points"]

#: No points.
EMPTY = np.empty(0)


def show_points(item: pg.ScatterPlotItem, x: Any, y: Any, **options: Any) -> None:
    """Show these points in ``item`` (``options``: ``size``, ``pen``, ... as ``setData``
    takes them); hidden when there are none."""
    item.setData(x=x, y=y, **options)
    item.setVisible(len(x) > 0)


def show_curve(item: pg.PlotCurveItem, x: Any, y: Any) -> None:
    """Show this curve (or these segments) in ``item``; hidden when it has no point."""
    item.setData(x, y)
    item.setVisible(len(x) > 0)
