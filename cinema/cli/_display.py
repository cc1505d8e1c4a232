"""Whether a window can open here, decided without importing Qt."""

from __future__ import annotations

import os
import sys

__all__ = ["NO_DISPLAY_HINT", "display_problem"]

NO_DISPLAY_HINT = (
    "render it offscreen with `cinema screenshot FILE -o view.png`, or run under a desktop "
    "session or a virtual screen (xvfb-run -a cinema open FILE)"
)


def display_problem() -> str | None:
    """Why no window can be shown (a sentence), or None when one can.

    On Linux a window needs an X11 or Wayland display, unless ``QT_QPA_PLATFORM`` names another
    platform plugin (``offscreen``, ``vnc``, ...), in which case the user has chosen one.
    """
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set)"
