"""The world the sandbox builds for a Recorder (processes as the columns of their keyframe
table, mailboxes as encoded cells) packs to the bytes of the world of maps every other sink
gets, and a recording made with it is the file made without it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgpack
import pytest

from recorder.payload import NATIVE, Limits
from recorder.sandbox import ChildSpec, GenServer, Process, Runtime, start_supervisor
from recorder.sandbox.introspection import world
from recorder.sandbox.recording import _mailbox_entries
from recorder.sandbox.scenarios import SCENARIOS
from recorder.session.keyframes import MailboxCells, ProcessColumns, pack_world

_FIXED = {"argv": [], "host": "test", "pid": 0, "program": "columns", "python": "3", "rerun": None}


class _Counter(GenServer):
    def init(self, start: int) -> Any:
        return ("ok", {"n": start, "seen": [start]})

    def handle_call(self, request: Any, from_: Any, state: dict[str, Any]) -> Any:
        state["n"] += 1
        state["seen"].append(request)
        return ("reply", state["n"], state)

    def handle_cast(self, request: Any, state: dict[str, Any]) -> Any:
        if request == "crash":
            raise RuntimeError("asked to")
        return ("noreply", state)


async def _idle(proc: Process) -> None:
    proc.trap_exit = True
    await proc.receive(("never",))


def _busy_runtime(path: Path) -> Runtime:
    rt = Runtime(deterministic=True, seed=7, record=str(path), metadata=_FIXED,
                 recorder_options={"flush_interval": None, "wall_clock": lambda: 0})  # fmt: skip
    start_supervisor(
        rt,
        [ChildSpec(f"c{i}", _Counter, (i,), name=f"counter{i}") for i in range(4)],
        strategy="one_for_one",
        name="top",
        max_restarts=10,
    )
    idle = [rt.spawn(_idle, name=f"idle{i}") for i in range(3)]
    rt.run()
    for i, pid in enumerate(idle):
        for j in range(i * 40):  # queued, never taken: 0, 40 and 80 messages
            rt.send(pid, (j, "text" * j, [j] * (j % 3)))
    rt.suspend(idle[2])
    rt.cast("counter1", "crash")
    for i in range(3):
        rt.cast("counter0", i)
    rt.run()
    rt.profile_sample()
    return rt


@pytest.mark.parametrize("limits", [Limits(), Limits(max_str=6, max_items=30)], ids=repr)
def test_the_recorder_world_packs_as_the_world_of_maps(tmp_path: Path, limits: Limits) -> None:
    rt = _busy_runtime(tmp_path / "busy.cinema")
    maps, columns = world(rt), world(rt, limits)
    assert isinstance(columns["processes"], ProcessColumns)
    rows = columns["processes"].rows()
    made = [isinstance(r["mailbox"], MailboxCells) for r in rows if r["mailbox_len"]]
    # 40 and 80 queued: cells (made by the native module only), or lists past max_items
    assert any(made) == (NATIVE and limits.max_items >= 80)
    for r in rows:
        if isinstance(r["mailbox"], MailboxCells):
            r["mailbox"] = r["mailbox"].as_rows()
    assert rows == maps["processes"]
    assert _mailbox_entries(columns) == _mailbox_entries(maps) > 100
    want = msgpack.packb(pack_world(maps, limits), use_bin_type=True)
    assert msgpack.packb(pack_world(columns, limits), use_bin_type=True) == want
    rt.close()


def _record(path: Path, scenario: str, columns: bool) -> str:
    rt = Runtime(deterministic=True, seed=5, record=str(path), metadata=_FIXED,
                 recorder_options={"flush_interval": None, "wall_clock": lambda: 0})  # fmt: skip
    if not columns:  # keyframes from the world of maps, as any other sink gets them
        rt.recording._recorder_world = None
    SCENARIOS[scenario](rt)
    rt.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_recording_is_the_same_file_with_or_without_the_recorder_world(
    tmp_path: Path, scenario: str
) -> None:
    with_columns = _record(tmp_path / "columns.cinema", scenario, True)
    assert _record(tmp_path / "maps.cinema", scenario, False) == with_columns
