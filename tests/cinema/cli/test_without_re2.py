"""Commands that use no pattern work without google-re2 (a half-set-up environment); a
pattern then says what is missing, in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_BLOCK = """
import sys
class _NoRe2:
    def find_spec(self, name, path=None, target=None):
        if name == "re2":
            raise ImportError("google-re2 is not installed")
sys.meta_path.insert(0, _NoRe2())
sys.argv = ["cinema", *sys.argv[1:]]
from cinema.cli import main
main()
"""


def _cinema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK, *args], capture_output=True, text=True, timeout=120
    )


def test_commands_without_patterns_do_not_need_re2(demo: str) -> None:
    events = _cinema("events", demo, "--json")
    assert events.returncode == 0, events.stderr
    assert all(json.loads(line) for line in events.stdout.splitlines())
    hits = _cinema("breaks", demo, "--when", 'kind == "crash"', "--json")
    assert hits.returncode == 0, hits.stderr
    json.loads(hits.stdout)


def test_a_pattern_without_re2_says_what_is_missing(demo: str, tmp_path: Path) -> None:
    got = _cinema("events", demo, "--match", "/x+/")
    assert got.returncode == 2
    assert "google-re2" in got.stderr and "Traceback" not in got.stderr
