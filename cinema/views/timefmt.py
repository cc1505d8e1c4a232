"""Times for people: one adaptive unit (s, ms, µs, ns) per value or per axis (Qt-free).

Every place the window shows a time -- the playback bar, the status bar, the event table, the
timeline's and the metrics' axes, the inspector -- formats it here, so they agree and none of
them prints ``2520036.500µs`` or ``+0.000 ms`` for a 300 ns gap.

- :func:`format_offset` is exact: a time since the first event, in the largest unit that keeps
  it at 1 or more, with as many decimals as its nanoseconds need (``2.5200365 s``,
  ``280.019 ms``, ``1.5 µs``, ``0 s``).
- :func:`format_duration` is short: a duration to about four significant digits
  (``1.23 s``, ``15.0 µs``), for figures like CPU time.
- :func:`axis_labels` labels the ticks of an axis: one unit for all of them (chosen by the
  largest value shown), and just the decimals the tick spacing needs, so deep zoom reads
  ``2.520036 s`` / ``2.520037 s`` instead of microseconds in the millions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["UNITS", "axis_labels", "format_duration", "format_offset", "unit_for"]

#: (name, nanoseconds per unit), largest first.
UNITS: tuple[tuple[str, int], ...] = (("s", 1_000_000_000), ("ms", 1_000_000), ("µs", 1_000),
                                      ("ns", 1))  # fmt: skip


def unit_for(ns: float) -> tuple[str, int]:
    """The largest unit in which ``|ns|`` is at least 1 (ns below a microsecond; s for 0)."""
    a = abs(ns)
    if a == 0:
        return UNITS[0]
    for name, scale in UNITS:
        if a >= scale:
            return name, scale
    return UNITS[-1]


def format_offset(ns: int, *, sign: bool = False) -> str:
    """An exact time since the first event: ``280.019 ms``, ``2.5200365 s``, ``0 s``.

    Args:
        ns: nanoseconds (an integer: the session's clock resolution).
        sign: prefix ``+`` to a positive value (the status bar's "+280.019 ms").
    """
    ns = int(ns)
    name, scale = unit_for(ns)
    whole, frac = divmod(abs(ns), scale)
    digits = len(str(scale)) - 1  # decimals that hold the unit's nanoseconds
    text = str(whole)
    if frac and digits:
        text += "." + str(frac).rjust(digits, "0").rstrip("0")
    prefix = "-" if ns < 0 else ("+" if sign and ns > 0 else "")
    return f"{prefix}{text} {name}"


def format_duration(ns: float, *, digits: int = 3) -> str:
    """A duration to ``digits`` significant decimals in its unit: ``1.23 s``, ``15.0 µs``."""
    if not math.isfinite(ns):
        return "?"
    name, scale = unit_for(ns)
    v = ns / scale
    decimals = max(digits - len(str(int(abs(v)))), 0) if name != "ns" else 0
    return f"{v:.{decimals}f} {name}"


def axis_labels(values: Sequence[float], spacing: float) -> list[str]:
    """Tick labels for times ``values`` (seconds) spaced ``spacing`` seconds apart.

    One unit for the whole axis (the one the largest value needs, so the labels are never
    millions of a small unit), and the decimals the spacing needs to tell ticks apart.
    """
    if not values:
        return []
    biggest = max(abs(v) for v in values) * 1e9
    step_ns = abs(spacing) * 1e9
    name, scale = unit_for(max(biggest, step_ns))
    step = step_ns / scale
    decimals = 0 if step <= 0 or step >= 1 else min(math.ceil(-math.log10(step) - 1e-9), 9)
    while True:  # ticks are multiples of the spacing; if some are not, show more decimals
        out = [_tick(v, scale, decimals, name) for v in values]
        if decimals >= 9 or len(set(out)) == len(set(values)):
            return out
        decimals += 1


def _tick(v: float, scale: int, decimals: int, unit: str) -> str:
    x = v * 1e9 / scale
    if abs(x) < 0.5 * 10.0**-decimals:
        x = 0.0  # no "-0.000"
    return f"{x:.{decimals}f} {unit}"
