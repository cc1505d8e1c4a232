"""Commands load numpy without OpenBLAS's thread pool, and leave the environment as it was
(cinema.cli._blas). Thread counts are read from /proc: Linux with two cores or more only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="counts the threads of /proc/self/task; one core starts no BLAS thread",
)

_PROBE = """
import json, os, sys
sys.argv = ["cinema", *json.loads(sys.argv[1])]
from cinema.cli import main
try:
    main()
except SystemExit:
    pass
print("\\n@@" + json.dumps({
    "threads": len(os.listdir("/proc/self/task")),
    "numpy": "numpy" in sys.modules,
    "env": {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")},
    "child": os.popen("env").read().count("OPENBLAS_NUM_THREADS"),
}))
"""


def _probe(args: list[str], **env: str) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **env},
    ).stdout
    doc: dict[str, object] = json.loads(out.rpartition("\n@@")[2])
    return doc


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> str:
    from recorder import EventKind, Recorder
    from recorder.events import NO_PEER

    path = tmp_path_factory.mktemp("blas") / "s.cinema"
    with Recorder(path, flush_interval=None) as rec:
        rec.emit(EventKind.SPAWN, 0, NO_PEER, 0, {"name": "db"})
        rec.emit(EventKind.CRASH, 0, NO_PEER, 0, {"reason": "boom"})
    return str(path)


def test_a_command_runs_with_one_blas_thread_and_the_environment_untouched(
    session: str,
) -> None:
    got = _probe(["events", session, "--kind", "crash"])
    assert got["numpy"] is True
    assert got["threads"] == 1  # no OpenBLAS worker
    assert got["env"] == {} and got["child"] == 0  # a program it starts sees no variable


def test_a_thread_count_the_user_set_wins(session: str) -> None:
    got = _probe(["events", session], OPENBLAS_NUM_THREADS="2")
    assert got["threads"] == 2 and got["env"] == {"OPENBLAS_NUM_THREADS": "2"}


def test_without_the_cli_numpy_starts_its_pool() -> None:
    """What the two tests above hold against: numpy alone starts a worker per core."""
    code = "import os, numpy; print(len(os.listdir('/proc/self/task')))"
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=base)
    assert int(out.stdout) > 1
