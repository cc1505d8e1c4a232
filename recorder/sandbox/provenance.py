"""What a session header records so that the run can be repeated (``cinema verify``,
``cinema gen-test``).

A deterministic sandbox run is a function of its program, its arguments, its seed and the few
runtime options that change events; the header's ``rerun`` map (``docs/session-format.md``)
names them all:

- a **program** recording (``cinema record -o F -- python prog.py ARGS``, or a program that
  passes ``Runtime(record="F")`` itself): the interpreter's arguments (``sys.orig_argv`` without
  the interpreter), the working directory, the main script and the SHA-256 of its source, which
  runtime of the program made the file, and the ``CINEMA_RECORD_SEED`` it ran with, if any;
- a **scenario** recording (``cinema demo``): the scenario's name, its arguments and the hash of
  its module's source.

A runtime created with ``metadata={"rerun": None}`` records no ``rerun`` map: a library
function that records inside a larger program (a benchmark generator under pytest) says so, since
re-running that program would not repeat the recording.

Re-running: a program recorded by ``cinema record`` is run with ``CINEMA_RECORD`` naming a
temporary file (its N-th runtime records to ``FILE-N``, as it did); with ``CINEMA_RERUN=FOLDER``
in its environment, every runtime that names a file itself records to ``FOLDER/program-N.cinema``
instead, in creation order, so that a re-run never writes over the user's recordings.

Nothing here depends on what the process did before (how many runtimes it ran): two
recordings of the same seed in one process are byte-identical.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

__all__ = [
    "ENV_RERUN",
    "REPLAYABLE_OPTIONS",
    "program_rerun",
    "rerun_path",
    "scenario_rerun",
    "source_digest",
]

#: Set by a re-run: the folder where runtimes that name their own file record instead.
ENV_RERUN = "CINEMA_RERUN"
#: Runtime options that change the events of a deterministic run (recorded in ``rerun``).
REPLAYABLE_OPTIONS = ("profile_interval_ms", "step_cost_ns")
_MAX_SOURCE = 64 << 20  # a "script" bigger than this is not hashed (it is not a script)


def source_digest(path: str | None) -> str | None:
    """The SHA-256 (hex) of a file's bytes, or ``None`` when it cannot be read."""
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_SOURCE + 1)
    except OSError:
        return None
    if len(data) > _MAX_SOURCE:
        return None
    return hashlib.sha256(data).hexdigest()


def _main_script() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if isinstance(path, str) and path:
        return os.path.abspath(path)
    return None


def program_rerun(*, how: str, runtime_index: int | None) -> dict[str, Any]:
    """The ``rerun`` map of a program's recording, made when its runtime opens the file.

    Args:
        how: ``"cinema record"`` (the file came from ``CINEMA_RECORD``) or ``"program"`` (the
            program named it).
        runtime_index: for ``"cinema record"``: 1 for the program's first recording runtime
            (``FILE``), 2 for the next (``FILE-2``), ...; ``None`` for ``"program"``.

    The runtime adds its :data:`REPLAYABLE_OPTIONS` as ``options``.
    """
    script = _main_script()
    argv = list(getattr(sys, "orig_argv", sys.argv))[1:]  # without the interpreter
    try:
        cwd: str | None = os.getcwd()
    except OSError:  # the working directory was removed under the program
        cwd = None
    seed_env = os.environ.get("CINEMA_RECORD_SEED", "").strip() or None
    return {
        "kind": "program",
        "how": how,
        "python_argv": argv,
        "cwd": cwd,
        "script": script,
        "source_sha256": source_digest(script),
        "runtime_index": runtime_index,
        "seed_env": seed_env,
    }


def scenario_rerun(name: str, *, scale: int, source: str | None) -> dict[str, Any]:
    """The ``rerun`` map of a built-in scenario's recording (``cinema demo``).

    Args:
        name: the scenario (a key of :data:`recorder.sandbox.scenarios.SCENARIOS`).
        scale: its ``scale`` argument.
        source: the scenario module's file, whose hash tells whether it changed since.
    """
    return {
        "kind": "scenario",
        "scenario": name,
        "args": {"scale": scale},
        "script": source,
        "source_sha256": source_digest(source),
    }


def rerun_path(folder: str, n: int) -> str:
    """Where the ``n``-th runtime of a re-run that names its own file records instead."""
    return os.path.join(folder, f"program-{n}.cinema")
