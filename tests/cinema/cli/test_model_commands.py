"""cinema events / state / graph: output, and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cinema.cli import main
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER


@pytest.fixture
def session(tmp_path: Path) -> Path:
    path = tmp_path / "s.cinema"
    clock = iter(range(1_000_000_000, 10**12, 1_000_000))  # 1 ms per event
    with Recorder(path, clock=lambda: next(clock), flush_interval=None) as rec:
        rec.emit(K.SPAWN, 0, NO_PEER, 0, {"name": "db"})
        rec.emit(K.SPAWN, 1, 0, 0, {"name": "web"})
        rec.emit(K.SEND, 1, 0, 1, ("get", "key"))
        rec.emit(K.STATE, 0, 1, 1, {"trigger": "call", "state": {"hits": 1}})
        rec.emit(K.SEND, 1, 0, 2, ("put", "other"))
        rec.emit(K.CRASH, 1, NO_PEER, 0, {"reason": "boom"})
    return path


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_events_filters_and_json(session: Path) -> None:
    code, out, _ = run("events", str(session), "--process", "web", "--kind", "send")
    assert code == 0 and len(out.splitlines()) == 2 and "(get, key)" in out
    code, out, _ = run("events", str(session), "--match", "/PUT/", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["seq"] for r in rows] == [4] and rows[0]["data"] == {"$tuple": ["put", "other"]}
    code, out, _ = run("events", str(session), "--from", "2ms", "--to", "#4", "-n", "5")
    assert [line.split()[0] for line in out.splitlines()] == ["#2", "#3", "#4"]


def test_state_world_and_process(session: Path) -> None:
    code, out, _ = run("state", str(session), "--event", "4", "--process", "db", "--json")
    p = json.loads(out)["process"]
    assert code == 0 and p["state"] == {"hits": 1} and p["mailbox_len"] == 2
    assert p["mailbox"][1]["message"] == {"$tuple": ["put", "other"]}
    code, out, _ = run("state", str(session), "--at", "5ms")
    assert code == 0 and "crashed" in out and "hits" in out


def test_graph_formats(session: Path) -> None:
    code, out, _ = run("graph", str(session), "--format", "json")
    g = json.loads(out)
    assert code == 0 and g["edges"][0]["from"] == 1 and g["edges"][0]["count"] == 2
    code, out, _ = run("graph", str(session))
    assert out.startswith("digraph") and "p1 -> p0" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["state", "{s}", "--event", "99"], "event #99 is out of range"),
        (["state", "{s}", "--at", "-5s"], "bad time"),
        (["state", "{s}", "--at", "10s"], "after the end"),
        (["state", "{s}"], "exactly one of --event"),
        (["events", "{s}", "--process", "nobody"], "no process 'nobody'"),
        (["events", "{s}", "--kind", "nope"], "unknown event kind 'nope'"),
        (["events", "{s}", "--match", "/(/"], "bad regular expression"),
        (["graph", "{bad}"], "not a Cinema session"),
        (["events", "{missing}"], "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_2(session: Path, args: list[str], message: str) -> None:
    bad = session.parent / "bad.cinema"
    bad.write_bytes(b"garbage" * 10)
    subst = {"s": str(session), "bad": str(bad), "missing": str(session.parent / "none.cinema")}
    code, _out, err = run(*(a.format(**subst) for a in args))
    assert code == 2
    assert err.startswith("cinema: error: ") and message.lower() in err.lower()
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
