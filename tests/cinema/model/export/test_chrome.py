"""The chrome-trace export's native loop (recorder/_native/trace.c) writes what the reference
loop writes, byte for byte, and both what the export wrote without the native module."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cinema.model.export import _json, chrome
from cinema.model.export.redact import Redactor, Rules
from cinema.model.export.scope import ExportOptions
from cinema.model.session import Session
from recorder.events import NO_PEER, EventKind
from recorder.payload import NATIVE
from recorder.session.writer import Recorder

K = EventKind
#: Messages the native reader says itself and ones it leaves to the reference (sets, bytes,
#: NaN, big integers, non-string keys), with types that need escaping in a trace name.
_MESSAGES: list[Any] = [
    ("transfer", 1, [1, 2]),
    {"type": 'quote " and \\ back', "n": 1},
    ("naïve ☃", {3, 1, 2}),
    b"\x00\xffbytes",
    float("nan"),
    ("big", 2**80),
    {1: "int key"},
    ("$call", ("get", "w1")),
    ("tab\there\u2028",),
    "plain",
    ("\U0001f600 emoji",),
    None,
    ("",),
]
_STATES: list[Any] = [
    {"trigger": "call", "state": {"n": 1}},
    {"trigger": "ça ☃", "state": {"seen": {1, 2}}},
    {"trigger": 7, "state": None},
    {"state": 1},  # no trigger
    ["not", "a", "map"],
    None,
    {"trigger": {"$weird": 1}, "password": "hunter2"},
]


@pytest.fixture
def odd_session(tmp_path: Path) -> Path:
    """Processes with names to escape, under supervisors and not; sends and receives (some
    never received, some dropped), states, crashes, exits, restarts, events of no process,
    times past 2**40 µs (the native loop's general formatting)."""
    path = tmp_path / "odd.cinema"
    now = [0]

    def clock() -> int:
        now[0] += 1_234_567
        return now[0]

    with Recorder(path, clock=clock, wall_clock=lambda: 0, frame_events=16,
                  flush_interval=None) as rec:  # fmt: skip
        names = ['sup "root"', "wörker\n1", "plain", "secret-token-proc", "\U0001f600"]
        rec.emit(K.SPAWN, 0, NO_PEER, 0, {"name": names[0], "behaviour": "supervisor"})
        for pid in range(1, 5):
            sup = 0 if pid < 3 else None
            rec.emit(K.SPAWN, pid, NO_PEER, 0, {"name": names[pid], "parent": 0, "supervisor": sup})
        for i in range(400):
            a, b = 1 + i % 4, 1 + (i + 1) % 4
            msg = _MESSAGES[i % len(_MESSAGES)]
            ref = i + 1
            rec.emit(K.SEND, a, b if i % 9 else NO_PEER, ref if i % 11 else 0, msg)
            if i % 7 == 3:
                rec.emit(K.DROP, b, a, ref, None)
            elif i % 5:
                rec.emit(K.RECEIVE, b, a, ref, msg)
            if i % 3 == 0:
                rec.emit(K.STATE, b, NO_PEER, 0, _STATES[i % len(_STATES)])
            if i % 53 == 10:
                rec.emit(K.CRASH, b, NO_PEER, 0, {"error": "boom ☃", "traceback": "tb"})
                rec.emit(K.RESTART, 0, b, 0, {"child_id": f"w{b}", "strategy": "one_for_one"})
                rec.emit(K.RESTART, 0, b, 0, ["odd restart"])
            if i % 97 == 50:
                rec.emit(K.EXIT, a, NO_PEER, 0, "normal")
                rec.emit(K.MARKER, NO_PEER, NO_PEER, 0, {"label": "no process"})
            if i == 300:
                now[0] += 3 * 10**18  # far past 2**40 µs after the first event
    return path


def _trace(path: Path, native: bool, rules: Rules | None = None) -> bytes:
    opts = ExportOptions(format="chrome-trace", rules=rules or Rules(), note="n")
    out = io.BytesIO()
    with Session.open(path) as s:
        lo, hi = opts.check(s)
        chrome.write_chrome_trace(s, lo, hi, opts, Redactor(opts.rules), out, native=native)
    return out.getvalue()


@pytest.mark.skipif(not NATIVE, reason="the native module is not built")
@pytest.mark.parametrize("rules", [None, Rules.parse(["re:secret|ö|☃"])])
def test_the_native_loop_writes_what_the_reference_loop_writes(
    odd_session: Path, rules: Rules | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert chrome._trace_events is not None
    fast = _trace(odd_session, native=True, rules=rules)
    slow = _trace(odd_session, native=False, rules=rules)
    assert fast == slow
    monkeypatch.setattr(_json, "_payload_texts", None)  # no native texts either
    assert _trace(odd_session, native=True, rules=rules) == fast
    doc = json.loads(fast)
    events = doc["traceEvents"]
    names = {e["name"] for e in events}
    assert {"send transfer", 'send quote " and \\ back', "state (call)", "restart w2"} <= names
    assert "state" in names and "restart" in names  # no trigger, data not a map
    assert any(e["ts"] > 2**40 for e in events if "ts" in e)
    if rules is not None:  # the names and data redacted (the report names the rule)
        text = json.dumps(events, ensure_ascii=False)
        assert "secret" not in text and "☃" not in text and "ö" not in text
