"""Sessions with wide supervision trees, recorded by the sandbox (what users record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recorder.sandbox import ChildSpec, GenServer, Runtime, start_supervisor


class _Worker(GenServer):
    def init(self, n: int) -> Any:
        return ("ok", {"n": n, "seen": 0})

    def handle_cast(self, request: Any, state: Any) -> Any:
        if request == "boom":
            raise RuntimeError("boom")
        return ("noreply", {**state, "seen": state["seen"] + 1})


def record_flat_tree(path: Path, children: int, crash: tuple[int, ...] = (7,)) -> Path:
    """One supervisor ``pool_sup`` with ``children`` workers ``w0..``; the workers in
    ``crash`` crash once each and are restarted."""
    rt = Runtime(deterministic=True, seed=3, record=str(path),
                 recorder_options={"flush_interval": None})  # fmt: skip
    specs = [ChildSpec(f"w{i}", _Worker, (i,), name=f"w{i}") for i in range(children)]
    start_supervisor(rt, specs, name="pool_sup", max_restarts=1000, max_seconds=1.0)
    rt.run(until_ms=50)
    for i in crash:
        rt.cast(f"w{i}", "boom")
    rt.run(until_ms=100)
    rt.close()
    return path
