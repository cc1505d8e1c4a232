"""Light and dark themes: a Qt palette, pyqtgraph colours, and the colours of kinds and statuses."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QStyle, QWidget

from recorder.events import EventKind

__all__ = [
    "CATEGORIES",
    "HIGHLIGHT",
    "KIND_CATEGORY",
    "STATUS_COLORS",
    "THEMES",
    "Theme",
    "apply_theme",
    "themed_icon",
]

_K = EventKind

#: Kinds grouped for colouring and the legend (one glyph layer per category). Every kind is in
#: exactly one category, named for what it holds; the hues are far apart (no two purples).
CATEGORIES: dict[str, tuple[str, tuple[EventKind, ...]]] = {
    "spawn": ("#2ca02c", (_K.SPAWN, _K.REGISTER)),
    "exit": ("#8c8c8c", (_K.EXIT, _K.UNREGISTER)),
    "crash": ("#e0302b", (_K.CRASH,)),
    # an exit signal is how a normal shutdown travels too: not painted as a crash
    "exit signal": ("#8c564b", (_K.EXIT_SIGNAL, _K.PROCESS_FLAG)),
    "restart": ("#ff8c00", (_K.RESTART, _K.CHILD_SPEC)),
    "send": ("#1f77d4", (_K.SEND,)),
    "receive": ("#17becf", (_K.RECEIVE,)),
    "timeout/drop": ("#a35bc4", (_K.TIMEOUT, _K.DROP)),
    "intercept/delay": ("#e377c2", (_K.INTERCEPT, _K.DELAY)),
    "state": ("#d6c21a", (_K.STATE,)),
    "link/monitor": ("#3d7f6e", (_K.LINK, _K.UNLINK, _K.MONITOR, _K.DEMONITOR)),
    "profile": ("#aec7e8", (_K.PROFILE,)),
    "call": ("#7a8b00", (_K.CALL, _K.RETURN)),  # traced function calls
    "marker": ("#cc148e", (_K.BREAKPOINT, _K.MARKER, _K.SUSPEND, _K.RESUME, _K.LOST)),
}
KIND_CATEGORY: dict[int, str] = {int(k): cat for cat, (_c, ks) in CATEGORIES.items() for k in ks}

#: Processes a "pause and highlight" breakpoint points at: rings, lane bands, strip marks.
HIGHLIGHT = "#ff2fd0"

STATUS_COLORS: dict[str, str] = {
    "running": "#2ca02c",
    "waiting": "#5aa9e6",
    "suspended": "#a35bc4",
    "dead": "#8c8c8c",
    "crashed": "#e0302b",
    "restarting": "#ff8c00",
}


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    grid: str
    accent: str
    playhead: str
    highlight: str  # diff highlight background in the inspector
    window: str
    base: str
    alt_base: str
    button: str
    text_dim: str


THEMES: dict[str, Theme] = {
    "light": Theme(
        "light",
        "#ffffff",
        "#202020",
        "#e4e4e4",
        "#1f77d4",
        "#d62728",
        "#fff1a8",
        "#f2f2f2",
        "#ffffff",
        "#f6f6f6",
        "#e8e8e8",
        "#707070",
    ),
    "dark": Theme(
        "dark",
        "#1b1d21",
        "#e2e2e2",
        "#33363b",
        "#5aa9e6",
        "#ff5f56",
        "#5a4a10",
        "#25272b",
        "#1b1d21",
        "#222428",
        "#2f3237",
        "#9a9a9a",
    ),
}


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Set the application palette and pyqtgraph's defaults for ``theme``."""
    app.setStyle("Fusion")
    pal = QPalette()
    fg, dim = QColor(theme.foreground), QColor(theme.text_dim)
    pal.setColor(QPalette.ColorRole.Window, QColor(theme.window))
    pal.setColor(QPalette.ColorRole.WindowText, fg)
    pal.setColor(QPalette.ColorRole.Base, QColor(theme.base))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(theme.alt_base))
    pal.setColor(QPalette.ColorRole.Text, fg)
    pal.setColor(QPalette.ColorRole.Button, QColor(theme.button))
    pal.setColor(QPalette.ColorRole.ButtonText, fg)
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(theme.base))
    pal.setColor(QPalette.ColorRole.ToolTipText, fg)
    pal.setColor(QPalette.ColorRole.PlaceholderText, dim)
    pal.setColor(QPalette.ColorRole.Highlight, QColor(theme.accent))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, dim)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, dim)
    app.setPalette(pal)
    pg.setConfigOptions(background=theme.background, foreground=theme.foreground, antialias=False)


def _tint(pm: QPixmap, color: QColor) -> QPixmap:
    out = QPixmap(pm)
    painter = QPainter(out)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(out.rect(), color)  # keeps the glyph's shape (alpha), takes the colour
    painter.end()
    return out


def themed_icon(widget: QWidget, which: QStyle.StandardPixmap, theme: Theme) -> QIcon:
    """The style's standard icon ``which`` drawn in the theme's text colour (dimmed when
    disabled), so it reads on a dark background as well as on a light one."""
    base = widget.style().standardIcon(which)
    icon = QIcon()
    fg, dim = QColor(theme.foreground), QColor(theme.text_dim)
    for size in (16, 20, 24, 32):
        pm = base.pixmap(size, size)
        if pm.isNull():
            continue
        icon.addPixmap(_tint(pm, fg), QIcon.Mode.Normal)
        icon.addPixmap(_tint(pm, fg), QIcon.Mode.Active)
        icon.addPixmap(_tint(pm, dim), QIcon.Mode.Disabled)
    return icon
