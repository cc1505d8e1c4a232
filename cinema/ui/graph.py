"""The process graph with three camera views: process-centric, message-centric, supervision.

A thin view over :class:`cinema.views.graphview.GraphModel`: each playhead move asks the model for
a :class:`~cinema.views.graphview.GraphFrame` and draws its arrays (one scatter layer per status,
all edges as one line item, message dots, arrow heads, labels). Layouts come from the model and
are kept between frames; nothing here lays anything out.

Only what shows is drawn: the nodes and edges inside the view, one node per pixel and one edge
per distinct pair of pixel end points (:mod:`cinema.views.graphpixels`), and the labels that
fit at this zoom level (:mod:`cinema.views.labels`), so a 10,000-process tree in a small dock
costs what its few hundred visible pixels cost. A layer whose picked arrays did not change is
not touched (no repaint of it); zooming or panning only re-picks.

Supervision view: a collapsed supervisor is a square with "▸ +N" (double-click opens or closes
it; the tree opens by itself as far as it stays readable); the *Find* box matches process
names or pids, opens the way to the first match, selects it and zooms to it (Enter: next).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cinema.model.causality import Why
from cinema.model.expr_eval import message_type
from cinema.model.world import STATUSES
from cinema.ui._deferred import DeferredRefresh
from cinema.ui.graph_labels import ArrowPool, LabelPool, screen_angle
from cinema.ui.graph_why import WhyOverlay
from cinema.ui.state import ViewState
from cinema.ui.theme import HIGHLIGHT, STATUS_COLORS, THEMES, Theme
from cinema.ui.why_path import BACK_COLOR, FORWARD_COLOR
from cinema.views.graphpixels import STATUS_RANK, PixelView, pick_nodes, pick_segments
from cinema.views.graphview import GraphFrame, GraphModel
from cinema.views.labels import estimate_widths, label_priority, place_labels, thin_candidates
from cinema.views.supervision import slot_keys
from recorder.session.format import SessionFormatError

__all__ = ["VIEWS", "ProcessGraphWidget", "graph_model"]

VIEWS = {"process": "Process", "messages": "Messages", "supervision": "Supervision"}
_CAPTIONS = {"supervision": "supervision tree", "process": "neighbours of the selection",
             "messages": "last messages (sequence diagram)"}  # fmt: skip
_ALARM = "#e0302b"


def graph_model(state: ViewState, previous: GraphModel | None = None) -> GraphModel:
    """The graph model of ``state``'s session (keeping ``previous``'s open/closed subtrees)."""
    session = state.session
    names = {pid: p.name for pid, p in session.processes.items()}
    labels: dict[int, str] = {}

    def message_label(send_seq: int) -> str:
        text = labels.get(send_seq)
        if text is None:
            try:
                text = message_type(session.data(send_seq))
            except SessionFormatError:  # an unreadable payload: the arrow has no type
                text = "?"
            labels[send_seq] = text if len(text) <= 24 else text[:23] + "…"
        return labels[send_seq]

    model = GraphModel(
        state.viewport.source, names, slot_of=slot_keys(session.processes),
        message_label=message_label,
    )  # fmt: skip
    if previous is not None:
        model.sup_view.collapsed = previous.sup_view.collapsed
        model.sup_view.expanded = previous.sup_view.expanded
    return model


def _member(pids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.isin(pids, values)``, without its sort when there are no values (the usual case
    for the search matches and the highlighted processes, on every frame)."""
    return np.isin(pids, values) if len(values) else np.zeros(len(pids), bool)


class ProcessGraphWidget(QWidget):
    """Process graph; ``view`` is one of :data:`VIEWS`."""

    def __init__(
        self,
        state: ViewState,
        model: GraphModel | None = None,
        theme: Theme = THEMES["light"],
        view: str = "supervision",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.state = state
        self.model = model if model is not None else graph_model(state)
        self.theme = theme
        self.view = view
        self.frame: GraphFrame | None = None
        self.redraws = 0  # frames computed (playhead, selection, view changes)
        self.drawn: dict[str, int] = {}  # items per layer after the last pick (for tests)
        self._signatures: dict[int, bytes] = {}  # id(item) -> what it shows now
        self._size = np.zeros(0)
        self._restarted: tuple[list[bool], np.ndarray] = ([], np.zeros(0, bool))
        self.matches: list[int] = []  # search hits (pids), in order
        self.problem = ""  # why the frame is empty when the file is damaged here
        self._match_at = -1

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self.buttons = QButtonGroup(self)
        for key, text in VIEWS.items():
            b = QPushButton(text)
            b.setCheckable(True)
            b.setChecked(key == view)
            b.setProperty("view", key)
            self.buttons.addButton(b)
            bar.addWidget(b)
        self.buttons.buttonClicked.connect(lambda b: self.set_view(b.property("view")))
        self.find_box = QLineEdit()
        self.find_box.setPlaceholderText("Find process…")
        self.find_box.setClearButtonEnabled(True)
        self.find_box.setToolTip("Name or pid; Enter goes to the next match")
        self.find_box.setMinimumWidth(80)
        self.find_box.textChanged.connect(self.search)
        self.find_box.returnPressed.connect(self.next_match)
        bar.addWidget(self.find_box, 1)
        self.b_collapse = QToolButton()
        self.b_collapse.setText("⊟")
        self.b_collapse.setToolTip("Collapse every supervisor")
        self.b_collapse.clicked.connect(self.collapse_all)
        self.b_expand = QToolButton()
        self.b_expand.setText("⊞")
        self.b_expand.setToolTip("Open every supervisor")
        self.b_expand.clicked.connect(self.expand_all)
        bar.addWidget(self.b_collapse)
        bar.addWidget(self.b_expand)

        self.plot = pg.PlotWidget(enableMenu=False)  # (a menu would be built, then switched off)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().invertY(True)
        self.edges = pg.PlotCurveItem(connect="pairs")
        self.recent = pg.PlotCurveItem(connect="pairs")
        for curve in (self.edges, self.recent):
            curve.setSegmentedLineMode("on")  # drawLines, not one huge QPainterPath
            self.plot.addItem(curve)
        self.rings = pg.ScatterPlotItem(pen=None, brush=None, symbol="o")
        self.plot.addItem(self.rings)
        self.nodes: dict[str, pg.ScatterPlotItem] = {}
        for status, color in STATUS_COLORS.items():
            item = pg.ScatterPlotItem(pen=None, brush=pg.mkBrush(color), symbol="o")
            self.plot.addItem(item)
            self.nodes[status] = item
        self.dots = pg.ScatterPlotItem(size=7, pen=None, symbol="o")
        self.plot.addItem(self.dots)
        self._label_font = QFont(self.font())  # the UI's font (QFont("") may pick a serif)
        self._label_font.setPointSizeF(8)
        self._char_px = QFontMetrics(self._label_font).averageCharWidth() * 1.05
        self.labels = LabelPool(self.plot, self._label_font, (-0.08, 0.5))
        self.message_labels = LabelPool(self.plot, self._label_font, (0.5, 1.0))
        self.heads = ArrowPool(self.plot)
        self.why = WhyOverlay(self.plot)
        self.chain: Why | None = None  # the Why panel's chain, drawn in the messages view
        self._auto_fit = True  # refit on resize until the user pans or zooms
        vb = self.plot.getViewBox()
        vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse)
        self.plot.viewport().installEventFilter(self)
        self.empty = QLabel(self.plot)  # says why the view is empty, over the plot
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setVisible(False)
        self.caption = QLabel()
        # a long caption must not widen the dock: it wraps
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend = QLabel()
        self.legend.setWordWrap(True)  # wraps in a narrow dock instead of widening it
        self.legend.setTextFormat(Qt.TextFormat.RichText)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.caption)
        lay.addWidget(self.legend)

        self._last_view_shape: tuple[str, int, int, int] | None = None
        # a seek and a selection arrive together: redraw once per event-loop turn, on screen
        self._pending = DeferredRefresh(self, self.refresh)
        state.sigPosition.connect(self._pending.request)
        state.sigProcess.connect(self._pending.request)
        state.sigHighlight.connect(self._pending.request)
        # zoom, pan, resize: the same frame, picked again for the new pixels
        self._repick = DeferredRefresh(self, self.draw)
        vb.sigRangeChanged.connect(self._repick.request)
        vb.sigResized.connect(self._repick.request)
        state.sigGrown.connect(self._on_grown)
        self.apply_theme(theme)
        self._show_tree_tools()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot.setBackground(theme.background)
        grey = QColor(theme.foreground)
        grey.setAlpha(90)
        self.edges.setPen(pg.mkPen(grey, width=1))
        accent = QColor(theme.accent)
        accent.setAlpha(190)
        self.recent.setPen(pg.mkPen(accent, width=1.5))
        self.dots.setBrush(pg.mkBrush(theme.accent))
        self.heads.set_color(theme.accent)
        self.empty.setStyleSheet(f"color: {theme.text_dim}; background: transparent")
        self._ring_pen = pg.mkPen("#ff8c00", width=2)
        self._signatures.clear()  # pens and colours changed: draw everything again
        self.labels.forget()
        self.message_labels.forget()
        self.legend.setText(
            "<small>"
            + " ".join(
                f"<span style='color:{c}'>●</span>&nbsp;{s}" for s, c in STATUS_COLORS.items()
            )
            + " · <span style='color:#ff8c00'>◯</span>&nbsp;restarted"
            + " · ■&nbsp;collapsed supervisor (+N inside)"
            + f" · <span style='color:{_ALARM}'>□</span>&nbsp;with a crash inside"
            + " · (n) mailbox</small>"
        )
        self.refresh()

    def _on_grown(self, _n: int) -> None:
        # a live session grew: the model's columns and message pairs are the old, shorter ones
        self.model = graph_model(self.state, self.model)
        self._last_view_shape = None
        self._pending.request()

    def show_why(self, chain: Why | None) -> None:
        """Draw ``chain`` (the Why panel's) over the messages view; ``None`` clears it."""
        self.chain = chain
        self._last_view_shape = None  # the diagram's rows changed: fit it again
        self.refresh()

    def _why_note(self) -> str:
        c = self.chain
        if c is None or self.view != "messages":
            return ""
        return (
            f" · why #{c.seq:,}: <span style='color:{BACK_COLOR}'>━</span>&nbsp;causes "
            f"<span style='color:{FORWARD_COLOR}'>━</span>&nbsp;effects (up to the playhead)"
        )

    def set_view(self, view: str) -> None:
        if view not in VIEWS:
            raise ValueError(f"unknown graph view {view!r} (valid: {', '.join(VIEWS)})")
        self.view = view
        for b in self.buttons.buttons():
            b.setChecked(b.property("view") == view)
        self._last_view_shape = None
        self._show_tree_tools()
        self.refresh()

    def set_compact(self, compact: bool) -> None:
        """A small window: the legend is hidden (the caption's tooltip has it)."""
        self.legend.setVisible(not compact)
        self.caption.setToolTip(self.legend.text() if compact else "")

    def _show_tree_tools(self) -> None:
        tree = self.view == "supervision"
        for w in (self.find_box, self.b_collapse, self.b_expand):
            w.setVisible(tree)

    # ---------------------------------------------------------------- drawing

    def compute(self) -> GraphFrame:
        """The frame at the playhead (an empty one, with :attr:`problem` saying why, where
        the file is damaged)."""
        st = self.state
        self.problem = ""
        try:
            world = st.world()
        except SessionFormatError as exc:
            self.problem = st.world_problem(exc)
            return GraphFrame(self.view)
        if self.view == "supervision":
            return self.model.supervision(world, st.seq)
        if self.view == "process":
            return self.model.process_centric(world, st.seq, st.pid)
        return self.model.message_centric(world, st.seq, st.pid, chain=self.chain)

    def refresh(self, *_args: Any) -> None:
        """Ask the model for the frame at the playhead and draw it."""
        self._pending.done()
        fr = self.compute()
        self.frame = fr
        self.redraws += 1
        n = len(fr.pids)
        size = (
            np.clip(10 + 3 * np.sqrt(fr.mailbox.astype(np.float64)), 10, 34) if n else np.zeros(0)
        )
        if n > 2000:
            size = size * 0.5
        # whole pixels: pyqtgraph renders each (symbol, size, brush) once into an atlas and
        # rebuilds it when a new one appears; sizes that differ by a fraction made that happen
        # on every move (~15 ms a paint)
        self._size = np.round(size)
        sel = self.state.pid if self.view != "supervision" else -1
        shape = (self.view, n, sel, int(fr.hidden.sum()) if len(fr.hidden) else 0)
        if shape != self._last_view_shape:
            self._last_view_shape = shape
            self._auto_fit = True
            self.fit_view()  # before drawing: what is picked depends on the view
        self.draw()
        hl = self.state.highlighted_pids()
        note = (
            f" · <span style='color:{HIGHLIGHT}'>◯</span> highlighted: "
            + html.escape(", ".join(self.state.process_label(p) for p in hl))
            if hl
            else ""
        )
        self.empty.setVisible(n == 0)
        if n == 0:
            self.empty.setText(
                self.problem
                if self.problem
                else f"no live process at event #{self.state.seq:,}"
                if self.view == "supervision"
                else (
                    "select a process to see its neighbours"
                    if self.view == "process" and self.state.pid < 0
                    else "nothing to show at this event"
                )
            )
        folded = int(fr.hidden.sum()) if len(fr.hidden) else 0
        shown = f"{n:,} node{'s' if n != 1 else ''}"
        if folded:
            shown += f", {folded:,} more in collapsed subtrees"
        self.caption.setText(
            f"<small>{_CAPTIONS[self.view]} · {shown} · event #{self.state.seq:,}{note}"
            f"{self._why_note()}</small>"
        )

    def pixel_view(self) -> PixelView:
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        return PixelView(x0, x1, y0, y1, max(vb.width(), 1.0), max(vb.height(), 1.0))

    def draw(self, *_args: Any) -> None:
        """Draw the current frame: what is inside the view, at pixel resolution."""
        self._repick.done()
        fr = self.frame
        if fr is None:
            return
        pv = self.pixel_view()
        size = self._fit_sizes(pv)
        code = fr.status_code
        pids = fr.pid_array
        shown = pick_nodes(fr.x, fr.y, size, STATUS_RANK[code], pv)
        self.drawn = {"nodes": len(shown)}
        folded = fr.hidden > 0 if len(fr.hidden) == len(pids) else np.zeros(len(pids), bool)
        for s, item in self.nodes.items():
            sel = shown[code[shown] == STATUSES.index(s)]
            symbols = np.where(folded[sel], "s", "o")
            self._set_points(item, fr.x[sel], fr.y[sel], size[sel], pids[sel], symbols)
        self._draw_rings(fr, size, folded)
        edges = fr.edges
        if fr.stubs_from >= 0 and self._leaf_px(pv) < 4:
            edges = edges[: fr.stubs_from]  # leaves too close: the trunk says it all
        edges = edges[pick_segments(edges, pv)]
        self.drawn["edges"] = len(edges)
        self._set_lines(self.edges, edges)
        self._set_lines(self.recent, fr.recent)
        self._set_points(self.dots, fr.dots[:, 0], fr.dots[:, 1])
        self._draw_heads(fr, pv)
        self._draw_labels(fr, shown, pv, size)
        self.why.draw(fr, size)

    def _fit_sizes(self, pv: PixelView) -> np.ndarray:
        """Node sizes no bigger than the room between neighbouring leaves at this zoom (a
        comb of 100 supervisors in 400 px is 100 small squares, not one bar)."""
        size = self._size
        fr = self.frame
        if self.view != "supervision" or fr is None or not len(size):
            return size
        capped = np.minimum(size, max(round(self._leaf_px(pv) * 0.8), 3))
        # open supervisors sit apart from their neighbours: they keep their size
        tree = self.model.display
        if tree is not None and tree.children:
            open_ = _member(fr.pid_array, np.fromiter(tree.children, np.int64))
            capped = np.where(open_, size, capped)
        return capped

    @staticmethod
    def _leaf_px(pv: PixelView) -> float:
        """Pixels between neighbouring leaves of the tree (one graph unit) at this zoom."""
        return pv.height / max(pv.y1 - pv.y0, 1e-9)

    def _draw_rings(self, fr: GraphFrame, size: np.ndarray, folded: np.ndarray) -> None:
        restarted, is_sel = self._marked(fr)
        is_hl = self.highlighted_mask(fr)
        is_found = _member(fr.pid_array, np.asarray(self.matches, np.int64))
        alarm = fr.alarm if len(fr.alarm) == len(fr.pids) else np.zeros(len(fr.pids), bool)
        groups = (
            (restarted, 8, self._ring_pen, "o"),
            (alarm & folded, 8, pg.mkPen(_ALARM, width=2), "s"),
            (
                is_found & ~is_sel,
                8,
                pg.mkPen(self.theme.accent, width=1, style=Qt.PenStyle.DashLine),
                "o",
            ),
            (is_sel, 8, pg.mkPen(self.theme.accent, width=2), "o"),
            (is_hl, 14, pg.mkPen(HIGHLIGHT, width=3), "o"),
        )
        xs, ys, ss, pens, symbols, counts = [], [], [], [], [], []
        for mask, grow, pen, symbol in groups:
            xs.append(fr.x[mask])
            ys.append(fr.y[mask])
            ss.append(size[mask] + min(grow, max(size[mask].max(initial=0), 4)))
            n = int(mask.sum())
            pens += [pen] * n
            symbols += [symbol] * n
            counts.append(n)
        rx, ry, rs = np.concatenate(xs), np.concatenate(ys), np.concatenate(ss)
        sig = self._signature(rx, ry, rs, np.array(counts), self.theme.accent)
        if self._changed(self.rings, sig):
            self.rings.setData(x=rx, y=ry, size=rs, pen=pens, brush=None, symbol=symbols)
            self.rings.setVisible(len(rx) > 0)
        self.drawn["highlighted"] = counts[-1]
        self.drawn["alarms"] = counts[1]

    def _draw_heads(self, fr: GraphFrame, pv: PixelView) -> None:
        """Arrow heads of the sequence diagram's messages, pointing the way each went."""
        if not len(fr.heads):
            self.heads.show([])
            return
        tx, ty = pv.to_pixels(fr.heads[:, 0], fr.heads[:, 1])
        bx, by = pv.to_pixels(fr.heads[:, 2], fr.heads[:, 3])
        tips = [
            (float(fr.heads[i, 0]), float(fr.heads[i, 1]),
             screen_angle(float(tx[i] - bx[i]), float(ty[i] - by[i])))
            for i in range(len(fr.heads))
        ]  # fmt: skip
        self.heads.show(tips)

    def highlighted_mask(self, fr: GraphFrame) -> np.ndarray:
        """Nodes of the processes a "pause and highlight" hit points at."""
        pids = fr.pid_array
        return _member(pids, np.asarray(self.state.highlighted_pids(), dtype=np.int64))

    def _marked(self, fr: GraphFrame) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the nodes with a ring: restarted recently, and the selected process."""
        if self._restarted[0] is not fr.restarted:  # a new frame: its list as an array, once
            self._restarted = (fr.restarted, np.array(fr.restarted, bool).reshape(-1))
        return self._restarted[1], fr.pid_array == self.state.pid

    def _draw_labels(
        self, fr: GraphFrame, shown: np.ndarray, pv: PixelView, size: np.ndarray
    ) -> None:
        """Node labels that fit at this zoom level, the most important first; and the
        sequence diagram's message labels where they do not collide (``size``: the node sizes
        drawn, :meth:`_fit_sizes`)."""
        n = len(fr.pids)
        pids = fr.pid_array
        restarted, is_sel = self._marked(fr)
        folded = fr.hidden > 0 if len(fr.hidden) == n else np.zeros(n, bool)
        alarm = (fr.alarm if len(fr.alarm) == n else np.zeros(n, bool)) | restarted
        alarm |= np.asarray(fr.status_code) == STATUSES.index("crashed")
        prio_all = label_priority(
            n, selected=is_sel, highlighted=self.highlighted_mask(fr),
            found=_member(pids, np.asarray(self.matches, np.int64)), alarming=alarm,
            supervisors=folded | _member(pids, np.fromiter(self._parents(), np.int64)),
        )  # fmt: skip
        cand = shown if n > len(shown) else np.arange(n)
        px, py = pv.to_pixels(fr.x[cand], fr.y[cand])
        keep = thin_candidates(px, py, prio_all[cand])  # text only for those that may show
        cand, px, py = cand[keep], px[keep], py[keep]
        texts = [fr.labels[int(j)] + (" ↻" if fr.restarted[int(j)] else "") for j in cand]
        widths = estimate_widths(texts, self._char_px)
        gap = size[cand] / 2 + 4  # right of the node, whatever its size
        placed: list[tuple[float, float, float]] = []
        take = place_labels(
            px, py, widths, prio_all[cand], pv.width, pv.height, offset=gap, obstacles=placed
        )
        self.labels.show(
            [(float(fr.x[cand[i]]), float(fr.y[cand[i]]), texts[i]) for i in take.tolist()],
            self.theme.foreground,
            offsets=[float(gap[i]) for i in take.tolist()],
        )
        self.drawn["labels"] = len(take)
        if fr.texts:
            xy = np.array([(x, y) for x, y, _t in fr.texts], np.float64)
            mx, my = pv.to_pixels(xy[:, 0], xy[:, 1])
            mtexts = [t for _x, _y, t in fr.texts]
            mw = estimate_widths(mtexts, self._char_px)
            # centred labels: place as if left-aligned at x - w/2; newest messages first
            prio = np.arange(len(mtexts), dtype=np.int64)
            keep = place_labels(
                mx - mw / 2, my - 7, mw, prio, pv.width, pv.height, offset=0, obstacles=placed
            )
            self.message_labels.show(
                [(float(xy[i, 0]), float(xy[i, 1]), mtexts[i]) for i in sorted(keep.tolist())],
                self.theme.text_dim,
            )
        else:
            self.message_labels.show([], self.theme.text_dim)
        self.drawn["message_labels"] = len(self.message_labels.texts())

    def _parents(self) -> list[int]:
        tree = self.model.display
        return list(tree.children) if tree is not None and self.view == "supervision" else []

    @staticmethod
    def _signature(*parts: Any) -> bytes:
        return b"|".join(
            p.tobytes() if isinstance(p, np.ndarray) else str(p).encode() for p in parts
        )

    def _changed(self, item: Any, sig: bytes) -> bool:
        """Remember what ``item`` shows; False when it already shows exactly that."""
        if self._signatures.get(id(item)) == sig:
            return False
        self._signatures[id(item)] = sig
        return True

    def _set_points(
        self,
        item: pg.ScatterPlotItem,
        x: np.ndarray,
        y: np.ndarray,
        size: np.ndarray | None = None,
        data: np.ndarray | None = None,
        symbols: np.ndarray | None = None,
    ) -> None:
        parts = [x, y] + [a for a in (size, data) if a is not None]
        if symbols is not None:
            parts.append((symbols == "s").astype(np.uint8))
        if not self._changed(item, self._signature(*parts)):
            return
        kw: dict[str, Any] = {"x": x, "y": y}
        if size is not None:
            kw["size"] = size
        if data is not None:
            kw["data"] = data
        if symbols is not None:
            kw["symbol"] = symbols.tolist()
        item.setData(**kw)
        item.setVisible(len(x) > 0)  # an empty layer costs a paint call a frame all the same

    def _on_manual_range(self, *_args: Any) -> None:
        self._auto_fit = False

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        self.empty.setGeometry(self.plot.rect())
        if self._auto_fit:
            self.fit_view()

    def fit_view(self) -> None:
        """Show every node, every edge *and the labels at the right*: labels are drawn at a
        fixed pixel size to the right of their node, so the x range is widened until the
        widest label of the rightmost nodes fits (an autoRange on the nodes alone would cut
        "clearing" in a narrow dock, and leave the messages below the sequence diagram's
        lifeline heads out of view)."""
        fr = self.frame
        if fr is None or not len(fr.pids):
            return
        vb = self.plot.getViewBox()
        w, h = max(vb.width(), 80.0), max(vb.height(), 80.0)
        pad, node = 10.0, 36.0  # px: margin, and room for the biggest node and its ring
        xs = [fr.x] + [seg[:, c] for seg in (fr.edges, fr.recent) if len(seg) for c in (0, 2)]
        ys = [fr.y] + [seg[:, c] for seg in (fr.edges, fr.recent) if len(seg) for c in (1, 3)]
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        xmin, xmax = float(x_all.min()), float(x_all.max())
        ymin, ymax = float(y_all.min()), float(y_all.max())
        # the labels of the rightmost nodes need room beyond them
        right = np.flatnonzero(fr.x >= xmax - 1e-9)[:500]
        texts = [fr.labels[int(j)] + " ↻" for j in right]
        label_px = float(estimate_widths(texts, self._char_px).max()) if texts else 0.0
        room = max(w - 2 * pad - node - label_px, 20.0)
        sx = (xmax - xmin) / room or 1.0 / w
        x0 = xmin - (pad + node / 2) * sx
        sy = (ymax - ymin) / max(h - 2 * pad - node, 20.0) or 1.0 / h
        y0 = ymin - (pad + node / 2) * sy
        vb.setRange(xRange=(x0, x0 + w * sx), yRange=(y0, y0 + h * sy), padding=0)

    def _set_lines(self, item: pg.PlotCurveItem, seg: np.ndarray) -> None:
        if not self._changed(item, self._signature(seg)):
            return
        item.setVisible(len(seg) > 0)
        if not len(seg):
            item.setData([], [])
            return
        xs = np.empty(2 * len(seg))
        ys = np.empty(2 * len(seg))
        xs[0::2], xs[1::2] = seg[:, 0], seg[:, 2]
        ys[0::2], ys[1::2] = seg[:, 1], seg[:, 3]
        item.setData(xs, ys)

    # ---------------------------------------------------------------- gestures

    def node_at(self, scene_pos: Any, reach_px: float = 9.0) -> int | None:
        """The pid of the node drawn nearest ``scene_pos`` (within ``reach_px``)."""
        fr = self.frame
        if fr is None or not len(fr.pids):
            return None
        vb = self.plot.getViewBox()
        p = vb.mapSceneToView(scene_pos)
        pv = self.pixel_view()
        px, py = pv.to_pixels(fr.x, fr.y)
        cx, cy = pv.to_pixels(np.array([p.x()]), np.array([p.y()]))
        d = np.hypot(px - cx[0], py - cy[0])
        j = int(np.argmin(d))
        return int(fr.pids[j]) if d[j] <= max(reach_px, self._size[j] / 2 + 2) else None

    def _on_mouse(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double():
            return  # a double click is eventFilter's
        pid = self.node_at(ev.scenePos())
        if pid is not None:
            self.state.select_process(pid)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A double click on a supervisor (the Qt event: one per double click) opens or
        collapses its subtree."""
        if (
            event.type() == QEvent.Type.MouseButtonDblClick
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and self.view == "supervision"
        ):
            pid = self.node_at(self.plot.mapToScene(event.position().toPoint()))
            if pid is not None:
                self.toggle(pid)
                return True
        return False

    def toggle(self, pid: int) -> None:
        """Open or collapse supervisor ``pid``'s subtree (supervision view)."""
        tree = self.model.display
        if tree is not None:
            self.model.sup_view.toggle(pid, tree)
            self.refresh()

    def collapse_all(self) -> None:
        if self.model.display is not None:
            self.model.sup_view.collapse_all(self.model.display)
            self.refresh()

    def expand_all(self) -> None:
        if self.model.display is not None:
            self.model.sup_view.expand_all(self.model.display)
            self.refresh()

    def search(self, text: str) -> None:
        """Find processes by name or pid among those in the tree; go to the first."""
        tree = self.model.display
        if tree is None:
            self.matches = []
            return
        candidates = set(tree.roots) | set(tree.parent)
        self.matches = self.model.sup_view.find(text, candidates)
        self._match_at = -1
        if self.matches:
            self.next_match()
        else:
            self.find_box.setStyleSheet("color: #e0302b" if text.strip() else "")
            self.draw()

    def next_match(self) -> None:
        """Go to the next search match: open its way, select it, zoom to it."""
        if not self.matches:
            return
        self.find_box.setStyleSheet("")
        self._match_at = (self._match_at + 1) % len(self.matches)
        pid = self.matches[self._match_at]
        tree = self.model.display
        if tree is not None:
            self.model.sup_view.reveal(pid, tree)
        self.state.select_process(pid)
        self.refresh()
        self.zoom_to(pid)
        self.find_box.setToolTip(f"match {self._match_at + 1} of {len(self.matches)}; Enter: next")

    def zoom_to(self, pid: int, rows: float = 24.0) -> None:
        """Centre the view on ``pid`` with about ``rows`` leaves in its height."""
        fr = self.frame
        if fr is None or pid not in fr.pids:
            return
        j = fr.pids.index(pid)
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        h = min(y1 - y0, rows)
        x = float(fr.x[j])
        if not x0 <= x <= x1 - (x1 - x0) * 0.3:  # off screen, or its label would be cut
            x0, x1 = x - (x1 - x0) * 0.3, x + (x1 - x0) * 0.7
        vb.setRange(xRange=(x0, x1), yRange=(float(fr.y[j]) - h / 2, float(fr.y[j]) + h / 2),
                    padding=0)  # fmt: skip
        self._auto_fit = False
