"""``cinema analyze``: text, JSON that follows docs/schema, and the --fail-on exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import cinema


def test_json_follows_the_schema(demo: str, validator: Callable[[str], Any]) -> None:
    code, out, err = cinema("analyze", demo, "--json")
    assert code == 0, err
    doc = json.loads(out)
    validator("analyze").validate(doc)
    assert doc["findings"], "every demo has something worth reporting"
    code, text, _ = cinema("analyze", demo)
    assert code == 0
    for row in doc["findings"]:
        assert row["title"] in text
        assert row["seq"] == row["events"][0]


def test_every_detector_is_in_the_schema(tmp_path: Path, validator: Callable[[str], Any]) -> None:
    """`held_messages` was missing from docs/schema/finding-row.json: a recording cut while an
    interception rule still held messages (the bank demo at scale 2, killed mid-frame) gave
    `analyze --json` output that its own schema refused (found by tools/smoke.py)."""
    from cinema.model.analysis import DETECTOR_NAMES
    from recorder.session.format import FrameType
    from recorder.session.reader import SessionReader

    enum = validator("finding-row").schema["properties"]["detector"]["enum"]
    assert sorted(enum) == sorted(DETECTOR_NAMES)
    sound = tmp_path / "bank.cinema"
    code, _, err = cinema("demo", "--headless", "--seed", "5", "--scale", "2",
                          "--record", str(sound))  # fmt: skip
    assert code == 0, err
    with SessionReader(sound) as r:
        t = r.frame_table()
    offsets = t["offset"][t["type"] == FrameType.EVENTS]
    cut = tmp_path / "killed.cinema"
    cut.write_bytes(sound.read_bytes()[: int(offsets[len(offsets) // 2]) + 100])
    code, out, err = cinema("analyze", str(cut), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert "held_messages" in {f["detector"] for f in doc["findings"]}
    validator("analyze").validate(doc)


def test_demos_findings(demo_files: dict[str, str]) -> None:
    """What the demos are built to show: bank's clearing supervisor gives up, the pipeline's
    parser is in a crash loop and its source's crash takes down a linked process."""

    def detectors(name: str) -> set[str]:
        _, out, _ = cinema("analyze", demo_files[name], "--json")
        return {f["detector"] for f in json.loads(out)["findings"]}

    assert {"supervisor_gave_up", "crash_loop", "call_timeout"} <= detectors("bank")
    assert {"crash_loop", "link_cascade", "lost_messages"} <= detectors("pipeline")
    assert {"dropped_messages", "mailbox_growth"} <= detectors("chat")


@pytest.mark.parametrize(
    ("fail_on", "expected"), [("error", 1), ("warning", 1), ("info", 1), (None, 0)]
)
def test_fail_on_with_findings(
    demo_files: dict[str, str], fail_on: str | None, expected: int
) -> None:
    args = ["analyze", demo_files["bank"]] + (["--fail-on", fail_on] if fail_on else [])
    code, _, _ = cinema(*args)
    assert code == expected


def test_fail_on_clean_session(tmp_path: Path) -> None:
    path = _record_clean(tmp_path)
    code, out, _ = cinema("analyze", str(path), "--fail-on", "info")
    assert code == 0 and "No findings" in out
    code, out, _ = cinema("analyze", str(path), "--json", "--fail-on", "info")
    assert code == 0 and json.loads(out)["findings"] == []


def test_fail_on_below_the_worst(tmp_path: Path) -> None:
    """Only info findings: --fail-on warning passes, --fail-on info fails."""
    path = _record(tmp_path, "lonely_server")
    assert cinema("analyze", str(path), "--fail-on", "warning")[0] == 0
    assert cinema("analyze", str(path), "--fail-on", "info")[0] == 1


def test_min_severity_filters(demo_files: dict[str, str]) -> None:
    _, out, _ = cinema("analyze", demo_files["chat"], "--json", "--min-severity", "warning")
    assert all(f["severity"] != "info" for f in json.loads(out)["findings"])


def test_bad_input_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.cinema"
    junk.write_bytes(b"not a session at all")
    code, _, err = cinema("analyze", str(junk))
    assert code == 2 and "error" in err
    code, _, err = cinema("analyze", str(tmp_path / "missing.cinema"), "--fail-on", "error")
    assert code == 2
    code, _, err = cinema("analyze", str(junk), "--fail-on", "fatal")
    assert code == 2


def _record(tmp_path: Path, name: str) -> Path:
    import importlib.util

    here = Path(__file__).resolve().parents[1] / "model" / "analysis" / "_programs.py"
    spec = importlib.util.spec_from_file_location("analysis_programs", here)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.record(tmp_path, name, mod.PROGRAMS[name])


def _record_clean(tmp_path: Path) -> Path:
    return _record(tmp_path, "supervised_server")
