"""The installed Qt binding must not leak references to Python's singletons.

PySide6 6.12.0 on CPython 3.11 returned None / True / False from wrapped calls without taking a
reference; a long session then aborted with ``Fatal Python error: none_dealloc``. pyproject.toml
excludes it; this test catches any other release with the same bug.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    sig = Signal()


def test_void_calls_and_emits_keep_singleton_refcounts() -> None:
    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(1000):
        probe.setObjectName("probe")
        probe.sig.emit()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (before, after)
