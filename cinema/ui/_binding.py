"""PySide6 for the whole UI, with its check of every later import made cheap.

Once ``PySide6.QtCore`` is imported, PySide6 looks at each module imported after it (for its
opt-in ``from __feature__ import snake_case``): ``__feature__._mod_uses_pyside(module)`` asks
whether the module's source mentions PySide6, through ``inspect.getsource`` -- linecache reads
and splits the whole file with encoding detection and keeps it in memory. A window imports
~270 modules after Qt (pyqtgraph's ~150 among them): ~0.05-0.15 s of CPU and ~10 MiB at start.
:func:`install` answers the same question for a module loaded from a ``.py`` file by looking
for the bytes ``PySide6`` in that file, and asks PySide6's own function about anything else
(extension modules, zip imports, no source); tests/cinema/ui/test_binding.py checks both give
the same answer for every module a window imports. Import this module before any other Qt
module of the UI: modules imported before it are checked the slow way.
"""

from __future__ import annotations

import sys
from importlib.machinery import SourceFileLoader
from types import ModuleType
from typing import Any

import PySide6.QtCore  # noqa: F401  (first: PySide6 installs its import hook here)

__all__ = ["install", "source_mentions_pyside"]

_original: Any = None


def source_mentions_pyside(module: ModuleType) -> bool | None:
    """Whether the ``.py`` file ``module`` was loaded from holds ``PySide6``; None when it was
    not loaded from a source file (PySide6's own check answers then)."""
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if not isinstance(getattr(spec, "loader", None), SourceFileLoader) or not isinstance(
        origin, str
    ):
        return None
    try:
        with open(origin, "rb") as f:
            return b"PySide6" in f.read()
    except OSError:
        return False  # as inspect.getsource's OSError


def _mod_uses_pyside(module: ModuleType) -> bool:
    found = source_mentions_pyside(module)
    return bool(_original(module)) if found is None else found


def install() -> bool:
    """Replace PySide6's check by the cheap one (once); False when this PySide6 has no such
    check (then nothing is changed)."""
    global _original
    feature = sys.modules.get("__feature__")
    current = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(current):
        return False
    if current is not _mod_uses_pyside:
        _original = current
        feature._mod_uses_pyside = _mod_uses_pyside  # type: ignore[attr-defined]
    return True


install()
