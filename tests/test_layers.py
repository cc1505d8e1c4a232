"""The layers stay apart: recorder works without Qt/networkx/cinema, contracts hold, the CLI
imports no Qt."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_BLOCK = textwrap.dedent(
    """
    import sys

    class _Blocker:
        blocked = {"PySide6", "shiboken6", "pyqtgraph", "networkx", "cinema", "numpy"}

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in self.blocked:
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, _Blocker())
    """
)


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_recorder_records_with_only_msgpack_and_zstandard(tmp_path: Path) -> None:
    path = tmp_path / "headless.cinema"
    code = _BLOCK + textwrap.dedent(
        """
        from recorder import EventKind, Recorder

        rec = Recorder(sys.argv[1], compress=1)
        rec.emit(EventKind.SPAWN, 0, data={"name": "main", "behaviour": "process"})
        rec.emit(EventKind.SPAWN, 1, 0, data={"name": "worker", "behaviour": "gen_server"})
        rec.emit(EventKind.SEND, 0, 1, 1, ("ping", 1))
        rec.emit(EventKind.RECEIVE, 1, 0, 1)
        rec.emit(EventKind.STATE, 1, 0, 1, {"trigger": "cast", "state": {"pings": 1}})
        rec.close()

        from recorder.sandbox import GenServer, Runtime  # the sandbox records the same way

        class Counter(GenServer):
            def init(self, n):
                return ("ok", n)

            def handle_call(self, request, from_, n):
                return ("reply", n + 1, n + 1)

        with Runtime(deterministic=True, seed=1, record=sys.argv[1] + ".sandbox") as rt:
            rt.call(rt.start(Counter, 0), "incr")
        leaked = sorted(m for m in sys.modules if m.partition(".")[0] in _Blocker.blocked)
        assert not leaked, leaked
        """
    )
    result = _python(code, str(path))
    assert result.returncode == 0, result.stderr
    assert path.exists()
    assert path.stat().st_size > 0
    assert Path(f"{path}.sandbox").stat().st_size > 0


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_import_does_not_load_qt() -> None:
    code = (
        "import sys, cinema.cli\n"
        "heavy = sorted(m for m in ('PySide6', 'shiboken6', 'pyqtgraph') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
