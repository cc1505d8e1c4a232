"""Plot axes shared by the timeline and the metrics panel."""

from __future__ import annotations

import pyqtgraph as pg

from cinema.views.timefmt import axis_labels

__all__ = ["BytesAxis", "TimeAxis", "format_bytes"]


class TimeAxis(pg.AxisItem):
    """A time axis (seconds since the first event) labelled in one adaptive unit."""

    def __init__(self, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)  # the labels carry their unit

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return axis_labels(values, spacing)


class BytesAxis(pg.AxisItem):
    """A byte-count axis: ``832 B``, ``1.5 KiB``, ``12 MiB``."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [format_bytes(v) for v in values]


def format_bytes(n: float) -> str:
    """``832 B``, ``1.5 KiB``, ``12.0 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
