"""Cinema's desktop app (PySide6 + pyqtgraph): the only package that imports Qt.

Importing ``cinema.ui`` itself loads no Qt; :func:`cinema.ui.app.run_viewer` does, when a window
opens. Every widget is a thin view over one model object from :mod:`cinema.model`.
"""

import importlib

# The Qt-free layers every window reads are loaded before Qt: once PySide6 is imported, it
# reads the source of each module imported after it (to find ``from __feature__ import``),
# ~0.3 ms a module, and these are about 200 (numpy, recorder, cinema.model, cinema.views).
# A module left out of this list is only imported a little slower.
for _name in (
    "cinema.model.causality", "cinema.model.playback", "cinema.model.session",
    "cinema.views.eventquery", "cinema.views.graphpixels", "cinema.views.graphview",
    "cinema.views.hitjob", "cinema.views.metrics", "cinema.views.viewport",
):  # fmt: skip
    importlib.import_module(_name)

__all__: list[str] = []
