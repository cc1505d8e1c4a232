"""Cinema's desktop app (PySide6 + pyqtgraph): the only package that imports Qt.

Importing ``cinema.ui`` itself loads no Qt; :func:`cinema.ui.app.run_viewer` does, when a window
opens. Every widget is a thin view over one model object from :mod:`cinema.model`.
"""

__all__: list[str] = []
