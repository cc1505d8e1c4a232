"""`cinema graph --format dot`: DOT a real parser (pydot) reads back, whatever the names hold."""

from __future__ import annotations

from pathlib import Path

import pydot
import pytest

from cinema.cli.graph import dot_quote
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER

from .conftest import cinema

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot")

NAMES = ["café «naïve»", '数据库 "main"', "back\\slash\\", "tab\there", "new\nline", "plain"]


def _label_text(quoted: str) -> str:
    """What Graphviz shows for a quoted DOT label: the DOT unquoting (only ``\\"``), then the
    label escapes (``\\\\`` is a backslash, ``\\n`` a centred line break)."""
    assert quoted.startswith('"') and quoted.endswith('"')
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, c + nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    path = tmp_path / "names.cinema"
    clock = iter(range(1_000, 10**9, 1_000))
    with Recorder(path, clock=lambda: next(clock), flush_interval=None) as rec:
        for pid, name in enumerate(NAMES):
            rec.emit(K.SPAWN, pid, NO_PEER, 0, {"name": name})
        ref = 1
        for a in range(len(NAMES)):
            b = (a + 1) % len(NAMES)
            rec.emit(K.SEND, a, b, ref, ("hello", a))
            rec.emit(K.RECEIVE, b, a, ref, None)
            ref += 1
    return path


def test_odd_names_parse_back(odd_names: Path) -> None:
    code, out, _ = cinema("graph", str(odd_names))
    assert code == 0
    (graph,) = pydot.graph_from_dot_data(out)
    labels = {n.get_name(): _label_text(n.get_label()) for n in graph.get_nodes() if n.get_label()}
    expected = {
        f"p{pid}": f"{name.replace(chr(9), ' ')} <0.{pid}.0>" for pid, name in enumerate(NAMES)
    }
    assert labels == expected
    edges = {(e.get_source(), e.get_destination()) for e in graph.get_edges()}
    assert edges == {(f"p{a}", f"p{(a + 1) % len(NAMES)}") for a in range(len(NAMES))}
    assert all(_label_text(e.get_label()).startswith("1 msgs, ") for e in graph.get_edges())
    assert "p50" in _label_text(graph.get_edges()[0].get_label())


def test_demo_graphs_parse(demo: str) -> None:
    _, out, _ = cinema("graph", demo)
    (graph,) = pydot.graph_from_dot_data(out)
    _, js, _ = cinema("graph", demo, "--format", "json")
    import json

    doc = json.loads(js)
    assert len([n for n in graph.get_nodes() if n.get_label()]) == len(doc["nodes"])
    assert len(graph.get_edges()) == len(doc["edges"])


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("a", '"a"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("two\nlines", '"two\\nlines"'),
        ("bell\x07", '"bell "'),
        ("ünïcödé", '"ünïcödé"'),
        ("ends with \\", '"ends with \\\\"'),
    ],
)
def test_dot_quote(text: str, quoted: str) -> None:
    assert dot_quote(text) == quoted
