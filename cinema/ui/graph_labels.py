"""Text labels and reusable arrow heads for the process graph.

The labels of a graph are painted by one item (:class:`LabelPool`): a ``TextItem`` per label
cost each a Python paint call and a transform update per frame; labels that did not change are
not repainted. Arrow heads are a pool of pyqtgraph items that are kept between frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QStaticText, QTextDocument, QTransform

__all__ = ["ArrowPool", "LabelPool"]


class LabelPool:
    """Text labels at fixed pixel size, placed in view coordinates, painted by one item.

    One ``TextItem`` per label cost each label a Python ``paint`` and a transform update per
    frame, and a ``QTextDocument`` draw; here every visible label is one ``QStaticText``
    (glyphs laid out once per text) drawn in a single pass at the label's pixel position. The
    boxes are those a ``TextItem`` had (its document's size, margins included), so the labels
    sit where they sat.

    Args:
        plot: the PlotWidget (or PlotItem) the labels live in.
        font: their font.
        anchor: where the text sits relative to its position (pyqtgraph's TextItem anchor).
    """

    def __init__(self, plot: object, font: QFont, anchor: tuple[float, float]) -> None:
        self._font = font
        self._anchor = anchor
        self._color = QColor("#000000")
        # what shows: view x, y; box offset from the point's pixel (dx, dy); text
        self._shown: list[tuple[float, float, float, float, str]] = []
        self._key: tuple[object, ...] = ()
        self._texts: dict[str, tuple[QStaticText, float, float]] = {}
        self._doc = QTextDocument()
        self._doc.setDefaultFont(font)
        self._margin = self._doc.documentMargin()
        self.item = _LabelItem(self)
        plot.addItem(self.item, ignoreBounds=True)  # type: ignore[attr-defined]

    def _static(self, text: str) -> tuple[QStaticText, float, float]:
        """The laid-out text and its box (width, height) as a TextItem's document had it."""
        got = self._texts.get(text)
        if got is None:
            self._doc.setPlainText(text)
            size = self._doc.size()
            st = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(QTransform(), self._font)
            got = self._texts[text] = (st, size.width(), size.height())
            if len(self._texts) > 20_000:  # names of a huge session: keep the memory bounded
                self._texts = {text: got}
        return got

    def show(
        self,
        labels: Sequence[tuple[float, float, str]],
        color: str,
        offsets: Sequence[float] | None = None,
    ) -> None:
        """Show these ``(x, y, text)`` labels (and no others); ``offsets`` moves each label
        that many pixels right of its point (left-anchored labels)."""
        key = (tuple(labels), color, None if offsets is None else tuple(offsets))
        if key == self._key:
            return  # the same labels: no repaint
        self._key = key
        self._color = QColor(color)
        ax, ay = self._anchor
        shown = []
        for i, (x, y, text) in enumerate(labels):
            _st, w, h = self._static(text)
            dx = float(offsets[i]) if offsets is not None else -ax * w
            shown.append((float(x), float(y), dx, -ay * h, text))
        self._shown = shown
        self.item.update()

    def forget(self) -> None:
        """Draw every label again next time (the theme changed)."""
        self._key = ()

    def paint(self, p: QPainter) -> None:
        """Draw the labels with ``p`` (set up for the view's coordinates), in pixels."""
        if not self._shown:
            return
        to_device = p.transform()
        p.save()
        p.resetTransform()
        p.setFont(self._font)
        p.setPen(self._color)
        m = self._margin
        for x, y, dx, dy, text in self._shown:
            st, _w, _h = self._static(text)
            at = to_device.map(QPointF(x, y))
            p.drawStaticText(QPointF(at.x() + dx + m, at.y() + dy + m), st)
        p.restore()

    # ------------------------------------------------------------- for tests

    def texts(self) -> list[str]:
        """The texts shown, in the order given."""
        return [s[4] for s in self._shown]

    def scene_rects(self) -> list[QRectF]:
        """The box of each label shown, in scene coordinates (the view's pixels)."""
        rects = []
        for x, y, dx, dy, text in self._shown:
            _st, w, h = self._static(text)
            at = self.item.mapToScene(QPointF(x, y))
            rects.append(QRectF(at.x() + dx, at.y() + dy, w, h))
        return rects


class _LabelItem(pg.GraphicsObject):
    """The one item that paints a :class:`LabelPool`'s labels (in the view's coordinates; its
    bounds are the visible rect)."""

    def __init__(self, pool: LabelPool) -> None:
        super().__init__()
        self._pool = pool

    def boundingRect(self) -> QRectF:
        vb = self.getViewBox()
        return vb.viewRect() if vb is not None else QRectF()

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()  # the visible rect (our bounds) moved

    def paint(self, p: QPainter, *_args: object) -> None:
        self._pool.paint(p)


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
