"""``cinema why`` and ``cinema top`` on the demo recordings: text, JSON by the schema, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import cinema


def _seqs(path: str, kind: str) -> list[int]:
    _, out, _ = cinema("events", path, "--kind", kind, "--json")
    return [json.loads(line)["seq"] for line in out.splitlines()]


def test_why_json_follows_the_schema(demo: str, validator: Callable[[str], Any]) -> None:
    for kind in ("state", "crash", "receive"):
        seqs = _seqs(demo, kind)
        if not seqs:
            continue
        seq = seqs[len(seqs) // 2]
        code, out, err = cinema("why", demo, "--event", str(seq), "--json")
        assert code == 0, err
        doc = json.loads(out)
        validator("why").validate(doc)
        assert doc["event"]["seq"] == seq == doc["backward"][0]["seq"] == doc["forward"][0]["seq"]
        back = [s["seq"] for s in doc["backward"]]
        assert back == sorted(back, reverse=True)
        code, text, _ = cinema("why", demo, "--event", f"#{seq}")
        assert code == 0 and text.startswith(f"Why #{seq}")
        for step in doc["backward"][1:]:
            assert f"#{step['seq']}" in text


def test_why_options_and_errors(demo_files: dict[str, str]) -> None:
    bank = demo_files["bank"]
    seq = _seqs(bank, "crash")[0]
    _, out, _ = cinema("why", bank, "--event", str(seq), "--json", "--hops", "1", "--backward-only")
    doc = json.loads(out)
    assert len(doc["backward"]) == 2 and doc["forward"] == []
    assert doc["cut_backward"] == "stopped after 1 hops"
    code, _, err = cinema("why", bank, "--event", "99999999")
    assert code == 2 and "out of range" in err
    code, _, err = cinema("why", bank, "--event", "soon")
    assert code == 2


@pytest.mark.parametrize("by", ["cpu", "memory", "mailbox", "handled"])
def test_top_json_follows_the_schema(demo: str, by: str, validator: Callable[[str], Any]) -> None:
    code, out, err = cinema("top", demo, "--at", "0.5s", "--by", by, "--json")
    assert code == 0, err
    doc = json.loads(out)
    validator("top").validate(doc)
    key = {
        "cpu": "cpu_recent_ns",
        "memory": "memory",
        "mailbox": "mailbox_len",
        "handled": "handled",
    }[by]
    values = [p[key] for p in doc["processes"]]
    assert values == sorted(values, reverse=True) and doc["processes"]
    code, text, _ = cinema("top", demo, "--at", "0.5s", "--by", by)
    assert code == 0
    for p in doc["processes"]:
        assert p["name"][:24] in text


def test_top_errors(demo_files: dict[str, str]) -> None:
    bank = demo_files["bank"]
    assert cinema("top", bank, "--at", "99s")[0] == 2
    assert cinema("top", bank, "--window", "#3")[0] == 2
    assert cinema("top", bank, "--by", "colour")[0] == 2


def test_top_without_at_shows_the_last_sample_when_nothing_lives_at_the_end(
    demo_files: dict[str, str],
) -> None:
    import numpy as np

    from cinema.model.session import Session
    from recorder.events import EventKind

    bank = demo_files["bank"]  # the bank demo shuts its whole tree down at the end
    with Session.open(bank) as s:
        last_event = s.event_count - 1
        last_sample = int(np.flatnonzero(s.skeleton.kind == EventKind.PROFILE)[-1])
    _, end, _ = cinema("top", bank, "--at", f"#{last_event}", "--json")
    assert json.loads(end)["alive"] == 0
    code, out, err = cinema("top", bank, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["seq"] == last_sample and doc["alive"] > 0 and doc["processes"]
