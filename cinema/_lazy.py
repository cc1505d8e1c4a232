"""Names a package exports without importing them when the package is imported (PEP 562).

``cinema.model`` exports :class:`~cinema.model.session.Session` and the world's types, but a
command that needs only :mod:`cinema.model.present` (``cinema info``) should not load the
time-travel engine to get it: importing any submodule runs the package's ``__init__`` first.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps each exported name to the
    module that defines it, imported on the name's first use (and the value kept in the
    package, so the next use is a plain attribute). Any other name is an ``AttributeError``,
    which lets ``from package import submodule`` import the submodule as usual.

    Declare the names for type checkers and readers under ``if TYPE_CHECKING:`` beside it.
    """

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
