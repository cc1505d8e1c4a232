"""Many ``cinema`` command lines in one process, through the real entry point.

``python -m fuzz.clitable FILE...`` runs each command of :data:`COMMANDS` on each ``FILE``;
``python -m fuzz.clitable --json '[["info", "x"], ...]'`` runs the command lines given. Each
runs in this one process (``cinema.cli.main`` as the ``cinema`` script calls it, with click's
test runner capturing the streams) and prints one JSON line: its arguments, exit code, the
lines it wrote to stderr, and the exception that escaped, if any. A table of files times
commands stays fast (Python, numpy and Qt start once) and a file that crashes or hangs the
interpreter is still caught by the caller. ``tests/fuzz/test_cli_hostile.py`` runs it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback

__all__ = ["COMMANDS", "run"]

#: ``{file}`` and ``{out}`` are replaced by the session and a scratch folder.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("info", "{file}"),
    ("info", "{file}", "--json"),
    ("events", "{file}"),
    ("events", "{file}", "--json", "--match", "/a+b/"),
    ("events", "{file}", "--process", "1", "--from", "0s", "--to", "#3"),
    ("breaks", "{file}", "--when", 'kind == "send" or state.done > 0'),
    ("breaks", "{file}", "--when", 'msg ~ "wor(k|d)"', "--json"),
    ("state", "{file}", "--at", "#0"),
    ("state", "{file}", "--at", "0s", "--json"),
    ("graph", "{file}"),
    ("graph", "{file}", "--format", "json"),
    ("screenshot", "{file}", "-o", "{out}/shot.png"),
    ("analyze", "{file}", "--json"),
    ("why", "{file}", "--event", "1"),
    ("top", "{file}", "--json"),
    ("sql", "{file}", "SELECT * FROM events JOIN processes USING (pid) LIMIT 5"),
)


def run(path: str | None, commands: list[list[str]] | None = None) -> list[dict[str, object]]:
    """Run every command of :data:`COMMANDS` on ``path`` (or the ``commands`` given); one
    result dict per command."""
    from click.testing import CliRunner

    from cinema.cli import main

    out: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for cmd in commands if commands is not None else COMMANDS:
            args = [a.replace("{file}", path or "").replace("{out}", tmp) for a in cmd]
            runner = CliRunner()
            result = runner.invoke(main, args, catch_exceptions=True)
            stderr = result.stderr.splitlines() + _flush_qt()
            exc = result.exception
            escaped = None
            if exc is not None and not isinstance(exc, SystemExit):
                escaped = "".join(traceback.format_exception(exc))[-2000:]
            out.append({
                "args": cmd, "exit": result.exit_code, "stderr": stderr, "exception": escaped,
            })  # fmt: skip
    return out


def _flush_qt() -> list[str]:
    """Let Qt delete the windows a command closed, now (their teardown belongs to that
    command); return what it printed on stderr."""
    if "PySide6.QtWidgets" not in sys.modules:
        return []
    import gc
    import io

    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    err, sys.stderr = sys.stderr, io.StringIO()
    try:
        for _ in range(3):
            QApplication.processEvents()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            gc.collect()
        return sys.stderr.getvalue().splitlines()
    finally:
        sys.stderr = err


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if sys.argv[1] == "--json":
        for row in run(None, json.loads(sys.argv[2])):
            print(json.dumps(row), flush=True)
        return
    for path in sys.argv[1:]:
        for row in run(path):
            print(json.dumps({"file": path, **row}), flush=True)


if __name__ == "__main__":
    main()
