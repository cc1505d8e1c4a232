"""`cinema --help`, `--version` and every command's `--help` start without the model: no numpy,
no msgpack, no recorder, no Qt (measured in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cinema.cli import COMMAND_MODULES

#: Top-level packages (and cinema subpackages) that only a command's work may import.
HEAVY = (
    "numpy", "msgpack", "zstandard", "networkx", "PySide6", "pyqtgraph", "platformdirs", "rich",
    "recorder", "cinema.model", "cinema.views", "cinema.ui",
)  # fmt: skip

_PROBE = """
import json, sys
sys.argv = ["cinema", *json.loads(sys.argv[1])]
from cinema.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imports(*args: str) -> tuple[int, list[str], str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)], capture_output=True, text=True, check=True
    ).stdout
    text, _, probe = out.rpartition("\n@@")
    doc = json.loads(probe)
    return doc["code"], doc["modules"], text


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        *((name.replace("_", "-"), "--help") for name in COMMAND_MODULES),
    ],
)
def test_help_and_version_stay_light(args: tuple[str, ...]) -> None:
    code, modules, text = _imports(*args)
    assert code in (0, None) and text.strip()
    assert _heavy(modules) == []


def test_the_probe_sees_what_a_command_imports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from recorder import EventKind, Recorder
    from recorder.events import NO_PEER

    path = tmp_path / "s.cinema"
    with Recorder(path, flush_interval=None) as rec:
        rec.emit(EventKind.SPAWN, 0, NO_PEER, 0, {"name": "db"})
    code, modules, text = _imports("events", str(path))
    assert code in (0, None) and "spawn" in text
    assert {"numpy", "recorder.session.reader", "cinema.model.present"} <= set(_heavy(modules))


def test_reading_commands_do_not_load_the_writer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`from recorder import Recorder` loads the writer on first use (PEP 562): `events` and
    `info` read a file without its threads, assembler and live pipe."""
    from recorder import EventKind, Recorder
    from recorder.events import NO_PEER

    path = tmp_path / "s.cinema"
    with Recorder(path, flush_interval=None) as rec:
        rec.emit(EventKind.SPAWN, 0, NO_PEER, 0, {"name": "db"})
        rec.emit(EventKind.CRASH, 0, NO_PEER, 0, {"reason": "boom"})
    for args in (("events", str(path), "--kind", "crash"), ("info", str(path))):
        code, modules, text = _imports(*args)
        assert code in (0, None) and text.strip()
        assert "recorder.session.reader" in modules
        assert "recorder.session.writer" not in modules, args


def test_info_does_not_load_the_engine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`cinema info` needs the model's presentation of values, not sessions and worlds: the
    package's exports load on first use (cinema._lazy)."""
    from recorder import EventKind, Recorder
    from recorder.events import NO_PEER

    path = tmp_path / "s.cinema"
    with Recorder(path, flush_interval=None) as rec:
        rec.emit(EventKind.SPAWN, 0, NO_PEER, 0, {"name": "db"})
    code, modules, text = _imports("info", str(path))
    assert code in (0, None) and "events" in text
    assert "cinema.model.present" in modules
    assert not {"cinema.model.session", "cinema.model.world"} & set(modules)
