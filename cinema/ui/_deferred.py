"""Panels redraw at most once per event-loop turn, and only while they are on screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QGraphicsView, QWidget

__all__ = ["DeferredRefresh"]

_REFRESH = QEvent.Type(QEvent.registerEventType())


class DeferredRefresh(QObject):
    """Coalesces refresh requests of one panel and skips work while the panel is not shown.

    A seek and a selection arrive together (and playback moves the playhead 30 times a second):
    :meth:`request` posts one event to itself, so a burst costs one refresh. If the window is
    about to be painted first (its ``UpdateRequest``), the pending refreshes run just before
    that paint, like a browser's animation-frame callbacks: one paint shows them all (after a
    0-ms timer, the window was painted before the refreshes and again after them). A panel in a
    hidden dock or a background tab is only marked dirty; it refreshes when it is shown again
    (its dock's ``visibilityChanged``; a background tab's widget stays "visible" to Qt with an
    empty visible region). A free-standing widget (no parent: driven by a test or a script)
    always refreshes.
    """

    def __init__(self, widget: QWidget, refresh: Callable[[], None]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._refresh = refresh
        self.dirty = False
        self._posted = False
        self._dock: QDockWidget | None = None
        self._dock_shown = False  # the dock said it became visible since the last refresh
        widget.installEventFilter(self)

    def _post(self) -> None:
        if not self._posted:
            self._posted = True
            QCoreApplication.postEvent(self, QEvent(_REFRESH))
            _FrameFlush.of(self._widget.window()).pending.append(self)

    def event(self, event: QEvent) -> bool:
        if event.type() == _REFRESH:
            self._posted = False
            self._fire()
            return True
        return super().event(event)

    def on_screen(self) -> bool:
        w = self._widget
        if w.parentWidget() is None:
            return True
        self._watch_dock()
        return w.isVisible() and _shows_anything(w)

    def _watch_dock(self) -> None:
        if self._dock is not None:
            return
        p = self._widget.parentWidget()
        while p is not None and not isinstance(p, QDockWidget):
            p = p.parentWidget()
        if p is not None:
            self._dock = p
            p.visibilityChanged.connect(self._on_dock_visibility)

    def _on_dock_visibility(self, visible: bool) -> None:
        self._dock_shown = visible
        if visible and self.dirty:
            self._post()

    def request(self, *_args: Any, now: bool = False) -> None:
        """Ask for a refresh: on the next event-loop turn (or ``now``), once the panel shows."""
        self.dirty = True
        if not self.on_screen():
            return
        if now:
            self._fire()
        else:
            self._post()

    def done(self) -> None:
        """The panel has just refreshed (a pending request is dropped)."""
        self.dirty = False

    def _fire(self) -> None:
        # a dock that has just become visible may not have its visible region yet: its
        # visibilityChanged(True) is trusted. Not its isVisible(): a dock in a background tab
        # is "visible" too, and its panel would refresh unseen (the Findings panel ran every
        # detector before the first screen).
        if self.dirty and (self.on_screen() or self._dock_shown):
            self.dirty = False
            self._dock_shown = False
            self._refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # getattr: while a closed window is torn down (a later garbage collection), Qt may
        # still filter an event through a wrapper whose attributes are gone
        widget = getattr(self, "_widget", None)
        if (
            widget is not None
            and watched is widget
            and event.type() == QEvent.Type.Show
            and (self.dirty)
        ):
            self._post()
        return False


def _shows_anything(widget: QWidget) -> bool:
    """True when some part of ``widget`` or of a widget inside it can be painted now.

    A widget's own visible region leaves out what its opaque children cover: a panel that is
    one plot from edge to edge has an empty region even in the front tab, so the children are
    asked too (a background tab's widgets all have empty regions).
    """
    if not widget.visibleRegion().isEmpty():
        return True
    return any(
        not child.visibleRegion().isEmpty()
        for child in widget.findChildren(QWidget)
        if child.isVisible()
    )


class _FrameFlush(QObject):
    """Runs the pending refreshes of a window's panels just before Qt paints the window."""

    NAME = "cinema-frame-flush"

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName(self.NAME)
        self.pending: list[DeferredRefresh] = []
        window.installEventFilter(self)

    @classmethod
    def of(cls, window: QWidget) -> _FrameFlush:
        found = window.findChild(QObject, cls.NAME, Qt.FindChildOption.FindDirectChildrenOnly)
        return found if isinstance(found, _FrameFlush) else cls(window)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.UpdateRequest and self.pending:
            pending, self.pending = self.pending, []
            for refresh in pending:
                refresh._fire()
            for refresh in pending:
                _settle_scenes(refresh._widget)
        return False


def _settle_scenes(widget: QWidget) -> None:
    """Bring the graphics scenes inside ``widget`` up to date before the window paints them.

    A scene learns of its items' changes in a queued call, and pyqtgraph's view boxes apply a
    new range to their items only while the view paints (``prepareForPaint``), which asks for
    another paint: left alone, a scrub step painted the timeline twice (the second time over
    the items moved in the first) and the graph in a paint of its own. Here the view boxes
    take their range and the scene its queued changes now: one paint shows the whole step.
    """
    for view in widget.findChildren(QGraphicsView):
        scene = view.scene()
        if scene is None:
            continue
        prepare = getattr(scene, "prepareForPaint", None)  # pyqtgraph's GraphicsScene
        if prepare is not None:
            prepare()
        QCoreApplication.sendPostedEvents(scene, QEvent.Type.MetaCall)
