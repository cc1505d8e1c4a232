"""numpy for the commands, loaded without OpenBLAS's thread pool.

numpy's OpenBLAS starts a thread per core when it loads, and they spin for ~0.1 s waiting for
matrix products that no command asks for (cinema does no linear algebra at a size where threads
help). On a 2-core machine that was 0.02-0.09 s of CPU in every command, competing with the
command's own thread for the cores: `cinema events --kind crash` on 10M events, CPU median
0.334 -> 0.304 s and wall 0.97 -> 0.74 s at load 5, 0.320 -> 0.302 s and 1.19 -> 1.14 s at
load 7.5 (11 alternating runs each); ``import numpy`` alone 0.19 -> 0.11 s CPU.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["THREAD_VARIABLES", "import_numpy", "numpy_first"]

#: The variables OpenBLAS reads for its thread count, in its order: one set by the user wins.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def import_numpy() -> None:
    """Import numpy with one OpenBLAS thread unless the environment names a thread count (or
    numpy is loaded already). The variable is removed again right after the import, so the
    programs a command starts (``cinema record``'s program, a re-run) get the environment as
    the user gave it."""
    if "numpy" in sys.modules or any(v in os.environ for v in THREAD_VARIABLES):
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read once, when the library loads
    try:
        import numpy  # noqa: F401
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


def numpy_first(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` (a command's), calling :func:`import_numpy` first: after its options are
    parsed, so ``cinema CMD --help`` still loads no numpy."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        import_numpy()
        return callback(*args, **kwargs)

    run.numpy_first = True  # type: ignore[attr-defined]
    return run
