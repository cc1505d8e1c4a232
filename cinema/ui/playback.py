"""Playback controls: play / pause, step, jump to start / end, speed, run to breakpoints.

The controls only call :class:`ViewState` commands, which are the model's
:class:`~cinema.model.playback.PlaybackController`'s (ViewState's timer ticks it).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, Theme, themed_icon
from cinema.views.timefmt import format_offset

__all__ = ["SPEEDS", "PlaybackBar"]

#: Playback speeds offered (events per second at 1x: ``ViewState.BASE_RATE``).
SPEEDS = (0.25, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0, 1000.0)


class PlaybackBar(QWidget):
    """Transport buttons, a position slider, speed, and the current time and event number."""

    def __init__(
        self, state: ViewState, theme: Theme = THEMES["light"], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.state = state
        self.theme = theme
        self._icons: dict[QToolButton, QStyle.StandardPixmap] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)

        sp = QStyle.StandardPixmap

        def button(icon: QStyle.StandardPixmap, tip: str, slot: object) -> QToolButton:
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
            sp.SP_MediaSeekBackward, "Run to previous breakpoint (F6)", state.run_to_prev_breakpoint
        )
        self.b_back = button(sp.SP_ArrowLeft, "Step back (Left)", lambda: state.step(-1))
        self.b_play = button(sp.SP_MediaPlay, "Play / pause (Space)", state.toggle_play)
        self.b_fwd = button(sp.SP_ArrowRight, "Step forward (Right)", lambda: state.step(1))
        self.b_next_bp = button(
            sp.SP_MediaSeekForward, "Run to next breakpoint (F5)", state.run_to_next_breakpoint
        )
        self.b_end = button(
            sp.SP_MediaSkipForward, "Jump to end (End)", lambda: state.seek(state.event_count - 1)
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-1, max(state.event_count - 1, 0))
        self.slider.setPageStep(max(state.event_count // 50, 1))
        self.slider.valueChanged.connect(self._on_slider)
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
        self.position.setMinimumWidth(230)
        lay.addWidget(self.position)

        state.sigPosition.connect(self._on_position)
        state.sigPlaying.connect(self._on_playing)
        state.sigGrown.connect(self._on_grown)
        self.apply_theme(theme)
        self._on_position(state.seq)

    def apply_theme(self, theme: Theme) -> None:
        """Redraw the transport icons in the theme's text colour."""
        self.theme = theme
        for b, icon in self._icons.items():
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
        self.position.setText(f"#{seq:,} of {st.event_count:,}   {when}")

    def _on_playing(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self._icons[self.b_play] = sp.SP_MediaPause if playing else sp.SP_MediaPlay
        self.b_play.setIcon(themed_icon(self, self._icons[self.b_play], self.theme))

    def _on_grown(self, n: int) -> None:
        self.slider.setRange(-1, max(n - 1, 0))
        self.slider.setPageStep(max(n // 50, 1))
        self._on_position(self.state.seq)
