"""Demo scenarios: realistic sandbox programs that exercise every kind of event.

Each module has ``run(runtime, *, scale=1)``; :data:`SCENARIOS` maps names to them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from recorder.sandbox import provenance
from recorder.sandbox.runtime import Runtime
from recorder.sandbox.scenarios import bank, chat, pipeline

__all__ = ["SCENARIOS", "Scenario", "run_scenario", "scenario_rerun"]

Scenario = Callable[..., None]

#: Scenario name -> ``run(runtime, *, scale=1)``.
SCENARIOS: dict[str, Callable[..., None]] = {
    "bank": bank.run,
    "chat": chat.run,
    "pipeline": pipeline.run,
}


def run_scenario(name: str, runtime: Runtime, *, scale: int = 1) -> None:
    """Run scenario ``name`` on ``runtime``.

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    try:
        fn = SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r} (scenarios: {', '.join(SCENARIOS)})") from None
    fn(runtime, scale=scale)


def scenario_rerun(name: str, *, scale: int = 1) -> dict[str, Any]:
    """The header's ``rerun`` map for a recording of scenario ``name`` (what ``cinema verify``
    re-runs; see :mod:`recorder.sandbox.provenance`), with the hash of its module's source."""
    fn = SCENARIOS.get(name)
    source = inspect.getsourcefile(fn) if fn is not None else None
    return provenance.scenario_rerun(name, scale=scale, source=source)
