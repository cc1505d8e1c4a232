"""Work around a PySide6 refcount bug, detected at import time, before Qt is used.

The PySide6 6.12.0 wheels in use here return ``None``, ``True`` and ``False`` from wrapped
C++ calls without taking a new reference: correct on Python 3.12+, where those objects are
immortal, but on Python 3.11 every void call (``item.update()``, ``setPos()``...) and every
``signal.emit()`` steals one reference, and after some thousands of calls the interpreter
aborts with ``Fatal Python error: none_dealloc`` (or ``bool_dealloc``).

When the bug is measured, :func:`install` gives these singletons a huge reference count --
what Python 3.12 does for them anyway (PEP 683, immortal objects) -- so the stolen references
never bring them to zero. On a fixed PySide6 or a newer Python it changes nothing.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

__all__ = ["install", "steals_singleton_references"]

_IMMORTAL = 1 << 40  # about 10^12 stolen references before anything could go wrong
_installed = False


class _Probe(QObject):
    sig = Signal()


def steals_singleton_references() -> bool:
    """Whether wrapped calls returning None / bools steal references (measured)."""
    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(8):
        probe.setObjectName("probe")  # a void C++ call: returns None
        probe.sig.emit()  # returns a bool
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    return sum(b - a for b, a in zip(before, after, strict=True)) >= 8


def install() -> None:
    """Make None, True and False effectively immortal, if (and only if) the bug is present."""
    global _installed
    if _installed:
        return
    _installed = True
    if sys.version_info >= (3, 12) or not steals_singleton_references():
        return
    for obj in (None, True, False, Ellipsis, NotImplemented):
        # ob_refcnt is the first field of every CPython object
        ctypes.c_ssize_t.from_address(id(obj)).value += _IMMORTAL


install()
