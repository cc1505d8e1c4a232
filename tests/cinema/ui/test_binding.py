"""cinema.ui._binding answers PySide6's "does this module use PySide6?" question cheaply: the
answer must be PySide6's own for every module loaded (what decides how PySide6 treats calls
from that module)."""

from __future__ import annotations

import sys

import pytest

from cinema.ui import _binding, main_window  # noqa: F401  (main_window: a window's modules)


def test_the_cheap_check_is_installed() -> None:
    feature = sys.modules.get("__feature__")
    if not callable(getattr(feature, "_mod_uses_pyside", None)):
        pytest.skip("this PySide6 has no per-module source check")
    assert feature._mod_uses_pyside is _binding._mod_uses_pyside  # type: ignore[union-attr]
    assert _binding._original is not None and _binding._original is not _binding._mod_uses_pyside


def test_it_gives_pysides_answer_for_every_loaded_module() -> None:
    if _binding._original is None:
        pytest.skip("this PySide6 has no per-module source check")
    checked = uses = 0
    for name, module in list(sys.modules.items()):
        if module is None:
            continue
        cheap = _binding.source_mentions_pyside(module)
        if cheap is None:  # not from a .py file: PySide6's own check answers
            continue
        assert cheap == bool(_binding._original(module)), name
        checked += 1
        uses += cheap
    # pyqtgraph, the UI's modules and the standard library: both answers occur
    assert checked > 300 and 0 < uses < checked
    assert _binding.source_mentions_pyside(sys.modules["cinema.ui.main_window"]) is True
    assert _binding.source_mentions_pyside(sys.modules["json"]) is False
    assert _binding.source_mentions_pyside(sys.modules["PySide6.QtCore"]) is None  # extension
