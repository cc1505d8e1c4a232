"""Opening a session to the window's first screen imports only what that screen needs: not
networkx (~0.3 s of import; the graph panel and the timeline draw from numpy arrays), which
only the communication-graph and call-cycle analyses load (measured in a fresh interpreter).
A small session runs the detectors as its window opens (the Findings panel): the probe opens
the window as for a big one, where they run when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, sys
from PySide6.QtCore import QSettings
from cinema.ui import findings
from cinema.ui.app import Opener, ensure_app
findings.AUTO_ANALYZE_EVENTS = 0  # as for a big session: detectors run when asked
app = ensure_app("light")
opener = Opener("light", QSettings(sys.argv[2], QSettings.Format.IniFormat))
win = opener.open(sys.argv[1])
assert win is not None
for _ in range(20):
    app.processEvents()
print("\\n@@" + json.dumps(sorted(sys.modules)))
"""


def _modules_after_open(path: Path, tmp_path: Path) -> list[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), str(tmp_path / "s.ini")],
        capture_output=True, text=True, check=True, env=env, timeout=300,
    ).stdout  # fmt: skip
    return list(json.loads(out.rpartition("\n@@")[2]))


def test_first_screen_does_not_import_networkx(bank_path: Path, tmp_path: Path) -> None:
    modules = _modules_after_open(bank_path, tmp_path)
    assert "cinema.ui.main_window" in modules  # the probe did open the window
    assert [m for m in modules if m.partition(".")[0] in ("networkx", "scipy")] == []


def test_the_graph_functions_still_load_networkx(bank_path: Path) -> None:
    from cinema.model.flow import communication_graph
    from cinema.model.session import Session

    with Session.open(str(bank_path)) as s:
        g = communication_graph(s)
    assert type(g).__module__.startswith("networkx") and g.number_of_edges() > 0
