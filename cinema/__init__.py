"""Cinema: a time-travel debugger for actor systems.

The viewing side of the project, in three layers (each may import only the ones before it):

- :mod:`cinema.model` -- the Qt-free time-travel engine: a session, the world at event *N*
  (nearest keyframe + replay), timelines, message pairing, the supervision tree, the
  communication graph, filters, breakpoints and playback. Everything the GUI shows, the model
  computes headless.
- :mod:`cinema.views` -- the Qt-free view-models: what each panel draws (timeline viewport,
  graph frames and layouts, metrics series, the event filter), at pixel resolution.
- :mod:`cinema.ui` -- PySide6 + pyqtgraph widgets, the only place Qt is imported. Each widget
  reads one model and writes back only through model methods.
- :mod:`cinema.cli` -- the ``cinema`` command. Qt is imported only inside the commands that
  open a window, so ``cinema info`` never pays for it.

The capture side lives in the separate, dependency-light :mod:`recorder` package, which never
imports anything from here. Importing :mod:`cinema` itself is cheap: it loads neither Qt nor the
model.
"""

from cinema.errors import UserError

__all__ = ["UserError", "__version__"]

__version__ = "0.1.0"
