"""Transport icons drawn in the theme's text colour (the style has no rewind / fast-forward /
run-to-breakpoint pair that reads apart from skip and seek)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPixmap

__all__ = ["ICONS", "transport_icon"]

#: What each icon shows: triangles pointing left or right, bars, and a breakpoint dot.
ICONS = ("rewind", "fast_forward", "prev_breakpoint", "next_breakpoint")


def _triangle(path: QPainterPath, x: float, y: float, w: float, h: float, right: bool) -> None:
    if right:
        path.moveTo(x, y)
        path.lineTo(x + w, y + h / 2)
        path.lineTo(x, y + h)
    else:
        path.moveTo(x + w, y)
        path.lineTo(x, y + h / 2)
        path.lineTo(x + w, y + h)
    path.closeSubpath()


def _draw(name: str, size: int, color: QColor) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    s = size / 16.0
    path = QPainterPath()
    if name in ("rewind", "fast_forward"):
        right = name == "fast_forward"
        _triangle(path, 1 * s, 3 * s, 7 * s, 10 * s, right)
        _triangle(path, 8 * s, 3 * s, 7 * s, 10 * s, right)
        p.fillPath(path, color)
    else:  # a breakpoint dot and the way to it
        right = name == "next_breakpoint"
        _triangle(path, (1 if right else 8) * s, 3 * s, 7 * s, 10 * s, right)
        p.fillPath(path, color)
        dot = QColor("#e0302b")
        p.setBrush(dot)
        cx = 12 * s if right else 4 * s
        p.drawEllipse(
            QRectF(QPointF(cx - 3.2 * s, 8 * s - 3.2 * s), QPointF(cx + 3.2 * s, 8 * s + 3.2 * s))
        )
    p.end()
    return pm


def transport_icon(name: str, color: str, dim: str) -> QIcon:
    """Icon ``name`` (one of :data:`ICONS`) in ``color`` (``dim`` when disabled)."""
    icon = QIcon()
    for size in (16, 20, 24, 32):
        icon.addPixmap(_draw(name, size, QColor(color)), QIcon.Mode.Normal)
        icon.addPixmap(_draw(name, size, QColor(dim)), QIcon.Mode.Disabled)
    return icon
