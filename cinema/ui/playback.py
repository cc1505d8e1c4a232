"""Playback controls: play / pause, rewind, fast-forward, step, jump to start / end, speed, run
to breakpoints.

The controls only call :class:`ViewState` commands, which are the model's
:class:`~cinema.model.playback.PlaybackController`'s (ViewState's timer ticks it). Rewind plays
backwards and fast-forward plays faster (each press doubles the rate); the play button pauses
whatever is moving. In a narrow window the slider keeps a usable width and the position text
gives way first (its tooltip keeps it whole).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

from cinema.ui.icons import transport_icon
from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, Theme, themed_icon
from cinema.views.timefmt import format_offset

__all__ = ["SPEEDS", "PlaybackBar"]

#: Playback speeds offered (events per second at 1x: ``ViewState.BASE_RATE``).
SPEEDS = (0.25, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0, 1000.0)
_MODE_MARK = {"playing": "▶", "rewinding": "◀◀", "fast_forward": "▶▶", "paused": ""}

Icon = QStyle.StandardPixmap | str  # a style icon, or one of cinema.ui.icons.ICONS


class PlaybackBar(QWidget):
    """Transport buttons, a position slider, speed, and the current time and event number."""

    def __init__(
        self, state: ViewState, theme: Theme = THEMES["light"], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.state = state
        self.theme = theme
        self._icons: dict[QToolButton, Icon] = {}
        self.compact = False  # a small window: the position text is shorter
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(1)

        sp = QStyle.StandardPixmap

        def button(icon: Icon, tip: str, slot: Callable[[], object]) -> QToolButton:
            b = QToolButton()
            self._icons[b] = icon
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            lay.addWidget(b)
            return b

        self.b_start = button(
            sp.SP_MediaSkipBackward, "Jump to start (Home)", lambda: state.seek(0)
        )
        self.b_prev_bp = button(
            "prev_breakpoint", "Run back to the previous breakpoint (F6)",
            state.run_to_prev_breakpoint,
        )  # fmt: skip
        self.b_rewind = button("rewind", "Rewind: play backwards (J; again: faster)", state.rewind)
        self.b_back = button(sp.SP_ArrowLeft, "Step back (Left)", lambda: state.step(-1))
        self.b_play = button(sp.SP_MediaPlay, "Play / pause (Space, K pauses)", state.toggle_play)
        self.b_fwd = button(sp.SP_ArrowRight, "Step forward (Right)", lambda: state.step(1))
        self.b_ff = button("fast_forward", "Fast-forward (L; again: faster)", state.fast_forward)
        self.b_next_bp = button(
            "next_breakpoint", "Run to the next breakpoint (F5)", state.run_to_next_breakpoint
        )
        self.b_end = button(
            sp.SP_MediaSkipForward, "Jump to end (End)", lambda: state.seek(state.event_count - 1)
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(120)  # a window that shrinks takes it from the text first
        self.slider.setRange(-1, max(state.event_count - 1, 0))
        self.slider.setPageStep(max(state.event_count // 50, 1))
        self.slider.valueChanged.connect(self._on_slider)
        lay.addSpacing(4)
        lay.addWidget(self.slider, 1)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip(f"Playback speed (1x = {ViewState.BASE_RATE:g} events/s)")
        self.speed.currentIndexChanged.connect(
            lambda _i: state.set_speed(float(self.speed.currentData()))
        )
        lay.addWidget(self.speed)
        self.position = QLabel()
        self.position.setMinimumWidth(60)
        self.position.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.position)

        state.sigPosition.connect(self._on_position)
        state.sigPlaying.connect(self._on_playing)
        state.sigGrown.connect(self._on_grown)
        self.apply_theme(theme)
        self._on_position(state.seq)

    def set_compact(self, compact: bool) -> None:
        self.compact = compact
        self._on_position(self.state.seq)

    def apply_theme(self, theme: Theme) -> None:
        """Redraw the transport icons in the theme's text colour."""
        self.theme = theme
        for b, icon in self._icons.items():
            if isinstance(icon, str):
                b.setIcon(transport_icon(icon, theme.foreground, theme.text_dim))
            else:
                b.setIcon(themed_icon(self, icon, theme))

    def _on_slider(self, value: int) -> None:
        if value != self.state.seq:
            self.state.seek(value)

    def _on_position(self, seq: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(seq)
        self.slider.blockSignals(False)
        st = self.state
        when = format_offset(st.rel_ns(), sign=True)
        mark = _MODE_MARK.get(st.mode, "")
        rate = st.controller.events_per_second
        moving = f"{mark} {rate / st.BASE_RATE:g}x   " if mark and rate else ""
        text = f"{moving}#{seq:,} of {st.event_count:,}   {when}"
        self.position.setText(f"{moving}#{seq:,}  {when}" if self.compact else text)
        self.position.setToolTip(text)

    def _on_playing(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self._icons[self.b_play] = sp.SP_MediaPause if playing else sp.SP_MediaPlay
        self.b_play.setIcon(themed_icon(self, sp.SP_MediaPause if playing else sp.SP_MediaPlay,
                                        self.theme))  # fmt: skip
        self._on_position(self.state.seq)

    def _on_grown(self, n: int) -> None:
        self.slider.setRange(-1, max(n - 1, 0))
        self.slider.setPageStep(max(n // 50, 1))
        self._on_position(self.state.seq)
