"""Work around a PySide6 refcount bug, detected at import time, before any signal is emitted.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` / ``False`` without taking a new
reference. Every ``emit()`` from Python (ours, and pyqtgraph's on every pan and zoom) then
steals one reference from the bool singletons, and after a few thousand emits the interpreter
aborts with ``Fatal Python error: bool_dealloc``. When the bug is present, :func:`install`
wraps ``emit`` to give the reference back; on a fixed PySide6 it changes nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

__all__ = ["emit_steals_bool_reference", "install"]

_installed = False


class _Probe(QObject):
    sig = Signal()


def emit_steals_bool_reference() -> bool:
    """Whether this PySide6 has the bug (measured, not guessed from the version)."""
    probe = _Probe()
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(4):
        probe.sig.emit()
    after = sys.getrefcount(True), sys.getrefcount(False)
    return (before[0] - after[0]) + (before[1] - after[1]) >= 4


def install() -> None:
    """Patch ``SignalInstance.emit`` once, if (and only if) the bug is present."""
    global _installed
    if _installed:
        return
    _installed = True
    if not emit_steals_bool_reference():
        return
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None

    def emit(self: SignalInstance, *args: Any) -> Any:
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    SignalInstance.emit = emit  # type: ignore[method-assign]


install()
