"""The graph's labels, painted by one item, look exactly like one pyqtgraph TextItem each."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QFont, QImage

from cinema.ui.graph_labels import LabelPool

_LABELS = [(1.0, 2.0, "w42"), (3.25, 7.5, "sup3 ▸ +2,400"), (8.0, 4.125, "client17 (3) ↻")]


def _plot(qtbot):  # type: ignore[no-untyped-def]
    plot = pg.PlotWidget(enableMenu=False)
    qtbot.addWidget(plot)
    for axis in ("left", "bottom"):
        plot.hideAxis(axis)
    plot.hideButtons()
    plot.setBackground("#ffffff")
    plot.getViewBox().invertY(True)
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.getViewBox().setRange(xRange=(0, 10), yRange=(0, 9), padding=0)
    return plot


def _pixels(plot) -> np.ndarray:  # type: ignore[no-untyped-def]
    img = plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(img.constBits(), np.uint32, img.width() * img.height()).copy()


@pytest.mark.parametrize(
    ("anchor", "offsets"), [((-0.08, 0.5), [6.0, 11.5, 4.0]), ((0.5, 1.0), None)]
)
def test_labels_paint_the_pixels_and_boxes_text_items_did(qtbot, anchor, offsets) -> None:  # type: ignore[no-untyped-def]
    font = QFont()
    font.setPointSizeF(8)
    reference = _plot(qtbot)
    boxes = []
    for i, (x, y, text) in enumerate(_LABELS):  # the way the pool drew them before
        item = pg.TextItem(anchor=anchor)
        item.setFont(font)
        reference.addItem(item)
        item.setText(text, color="#303030")
        if offsets is not None:
            w = max(item.textItem.boundingRect().width(), 1.0)
            item.setAnchor((-offsets[i] / w, anchor[1]))
        item.setPos(x, y)
        boxes.append(item)
    plot = _plot(qtbot)
    pool = LabelPool(plot, font, anchor)
    pool.show(_LABELS, "#303030", offsets=offsets)
    qtbot.wait(10)
    assert pool.texts() == [t for _x, _y, t in _LABELS]
    for got, item in zip(pool.scene_rects(), boxes, strict=True):
        want = item.sceneBoundingRect()
        assert abs(got.x() - want.x()) < 1e-6 and abs(got.y() - want.y()) < 1e-6
        assert abs(got.width() - want.width()) < 1e-6
        assert abs(got.height() - want.height()) < 1e-6
    drawn = _pixels(plot)
    assert (drawn != drawn[0]).sum() > 100  # text was drawn
    assert np.array_equal(drawn, _pixels(reference))
    pool.show([], "#303030")
    qtbot.wait(10)
    blank = _pixels(plot)
    assert (blank == blank[0]).all()
