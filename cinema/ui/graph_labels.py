"""Reusable text labels and arrow heads for the process graph (pools of pyqtgraph items).

Creating and deleting a ``TextItem`` per label per frame is what made big graphs slow; a pool
keeps the items, and a label whose text, colour and position did not change is not touched
(``setText`` repaints even when the text is the same).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtGui import QFont

__all__ = ["ArrowPool", "LabelPool"]


class LabelPool:
    """Text labels at fixed pixel size, placed in view coordinates.

    Args:
        plot: the PlotWidget (or PlotItem) the labels live in.
        font: their font.
        anchor: where the text sits relative to its position (pyqtgraph's TextItem anchor).
    """

    def __init__(self, plot: object, font: QFont, anchor: tuple[float, float]) -> None:
        self._plot = plot
        self._font = font
        self._anchor = anchor
        self.items: list[pg.TextItem] = []
        self._shows: dict[int, tuple[str, str, float, float, float | None]] = {}

    def show(
        self,
        labels: Sequence[tuple[float, float, str]],
        color: str,
        offsets: Sequence[float] | None = None,
    ) -> None:
        """Show these ``(x, y, text)`` labels (and hide the rest of the pool); ``offsets``
        moves each label that many pixels right of its point (left-anchored labels)."""
        while len(self.items) < len(labels):
            t = pg.TextItem(anchor=self._anchor)
            t.setFont(self._font)
            self._plot.addItem(t)  # type: ignore[attr-defined]
            self.items.append(t)
        for i, item in enumerate(self.items):
            if i < len(labels):
                x, y, text = labels[i]
                gap = offsets[i] if offsets is not None else None
                shows = (text, color, float(x), float(y), gap)
                if self._shows.get(i) != shows:
                    self._shows[i] = shows
                    item.setText(text, color=color)
                    if gap is not None:  # the anchor is a fraction of the text's width
                        w = max(item.textItem.boundingRect().width(), 1.0)
                        item.setAnchor((-gap / w, self._anchor[1]))
                    item.setPos(x, y)
                item.setVisible(True)
            elif item.isVisible():
                item.setVisible(False)

    def visible(self) -> list[pg.TextItem]:
        return [t for t in self.items if t.isVisible()]

    def texts(self) -> list[str]:
        return [t.textItem.toPlainText() for t in self.visible()]

    def forget(self) -> None:
        """Draw every label again next time (the theme changed)."""
        self._shows.clear()


class ArrowPool:
    """Arrow heads (fixed pixel size) at given tips, pointing along given directions."""

    def __init__(self, plot: object) -> None:
        self._plot = plot
        self.items: list[pg.ArrowItem] = []
        self._color = "#000000"

    def set_color(self, color: str) -> None:
        self._color = color
        for a in self.items:
            a.setStyle(brush=pg.mkBrush(color))

    def show(self, tips: Sequence[tuple[float, float, float]]) -> None:
        """``(x, y, angle)`` per head: the tip in view coordinates, the angle in screen degrees
        (pyqtgraph's convention: 0 points left, the way the arrow came from the right)."""
        while len(self.items) < len(tips):
            a = pg.ArrowItem(headLen=9, tipAngle=32, tailLen=0, pen=None,
                             brush=pg.mkBrush(self._color))  # fmt: skip
            a.setZValue(3)
            self._plot.addItem(a)  # type: ignore[attr-defined]
            self.items.append(a)
        for i, a in enumerate(self.items):
            if i < len(tips):
                x, y, angle = tips[i]
                a.setStyle(angle=angle)
                a.setPos(x, y)
                a.setVisible(True)
            elif a.isVisible():
                a.setVisible(False)

    def shown(self) -> int:
        return sum(1 for a in self.items if a.isVisible())


def screen_angle(dx_px: float, dy_px: float) -> float:
    """The ArrowItem angle of a head pointing along ``(dx, dy)`` on screen (y down)."""
    # ArrowItem at angle 0 points towards -x; rotating by a turns it clockwise on screen
    return math.degrees(math.atan2(-dy_px, -dx_px)) * -1.0


__all__ += ["screen_angle"]
