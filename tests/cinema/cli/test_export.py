"""The jsonl and chrome-trace exports over sandbox recordings of the three demos, through the
real CLI: jsonl is `cinema events --json`, chrome-trace holds to the Trace Event Format's
documented fields; ranges, processes and kinds select what `cinema events` selects."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from recorder.session.reader import SessionReader

from .conftest import cinema


def _run(*args: str) -> tuple[int, str, str]:
    return cinema(*args)


def _ok(*args: str) -> str:
    code, out, err = cinema(*args)
    assert code == 0, err
    return out


SELECTIONS = [
    (),
    ("--from", "#100", "--to", "#700"),
    ("--kind", "send", "--kind", "crash"),
    ("--process", "1", "--from", "0.01s"),
]


@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: " ".join(s) or "all")
def test_jsonl_is_cinema_events_json(demo: str, tmp_path: Path, selection: tuple[str, ...]) -> None:
    out = tmp_path / "x.jsonl"
    _ok("export", demo, "-o", str(out), "--redact", "none", *selection)
    expected = _ok("events", demo, "--json", *selection)
    assert out.read_text(encoding="utf-8") == expected
    assert expected  # every selection holds events


def test_jsonl_rows_hold_to_the_schema(demo: str, tmp_path: Path, validator: Any) -> None:
    out = tmp_path / "x.jsonl"
    _ok("export", demo, "-o", str(out))
    row = validator("event-row")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == SessionReader(demo).event_count
    for line in lines:
        row.validate(json.loads(line))


# --------------------------------------------------------------------------- chrome-trace

_PHASES = {"X", "i", "s", "f", "M"}
_META = {"process_name", "thread_name", "process_sort_index", "thread_sort_index"}


def check_trace_event_format(doc: Any) -> Counter[str]:
    """Validate ``doc`` against the Trace Event Format's documented fields (JSON Object
    Format); return the count of each phase."""
    assert isinstance(doc, dict)
    assert doc.get("displayTimeUnit") in ("ms", "ns")
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    phases: Counter[str] = Counter()
    threads: set[tuple[int, int]] = set()
    named_threads: set[tuple[int, int]] = set()
    named_groups: set[int] = set()
    flows: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    slices: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        ph = e["ph"]
        assert ph in _PHASES, e
        phases[ph] += 1
        assert isinstance(e["name"], str)
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if ph == "M":
            assert e["name"] in _META
            key = "name" if e["name"].endswith("_name") else "sort_index"
            assert key in e["args"]
            if e["name"] == "thread_name":
                named_threads.add((e["pid"], e["tid"]))
            elif e["name"] == "process_name":
                named_groups.add(e["pid"])
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        assert isinstance(e.get("cat"), str), e
        threads.add((e["pid"], e["tid"]))
        if ph == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0, e
            slices[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
        elif ph == "i":
            assert e["s"] in ("g", "p", "t")
        else:
            assert isinstance(e["id"], int)
            if ph == "f":
                assert e["bp"] == "e"
            flows[(e["cat"], e["name"], e["id"])].append(e)
        if "args" in e:
            assert isinstance(e["args"], dict)
    assert threads <= named_threads, threads - named_threads
    assert {p for p, _ in threads} <= named_groups
    for key, fl in flows.items():
        starts = [f for f in fl if f["ph"] == "s"]
        ends = [f for f in fl if f["ph"] == "f"]
        assert len(starts) == 1, key
        assert len(ends) <= 1, key
        if ends:
            assert ends[0]["ts"] >= starts[0]["ts"]
    for track, spans in slices.items():  # slices of one thread nest (or follow each other)
        stack: list[float] = []
        for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            if stack:
                assert end <= stack[-1] + 1e-6, (track, start, end, stack[-1])
            stack.append(end)
    return phases


def test_chrome_trace_holds_to_the_format(demo: str, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    _ok("export", demo, "-o", str(out))  # the format from the suffix
    doc = json.loads(out.read_text(encoding="utf-8"))
    phases = check_trace_event_format(doc)
    r = SessionReader(demo)
    kinds = Counter(ev.kind_name for ev in r.events())
    sends_with_ids = sum(1 for ev in r.events() if ev.kind_name == "send" and ev.ref)
    assert phases["s"] == sends_with_ids
    assert phases["f"] == kinds["receive"]  # every received message was sent in the recording
    handlers = [e for e in doc["traceEvents"] if e.get("cat") == "handler"]
    assert len(handlers) == kinds["receive"]
    instants = Counter(e["cat"] for e in doc["traceEvents"] if e["ph"] == "i")
    for kind in ("state", "crash", "restart", "exit", "spawn"):
        assert instants[kind] == kinds[kind], kind
    assert doc["otherData"]["events"] == r.event_count


def test_chrome_trace_tracks_are_named_and_grouped_by_supervisor(
    demo_files: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "bank.json"
    _ok("export", demo_files["bank"], "-o", str(out))
    doc = json.loads(out.read_text(encoding="utf-8"))
    r = SessionReader(demo_files["bank"])
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name"}  # fmt: skip
    groups = {e["pid"]: e["args"]["name"] for e in doc["traceEvents"]
              if e["ph"] == "M" and e["name"] == "process_name"}  # fmt: skip
    for pid, info in r.processes.items():
        group = 0x7FFFFFFF if info.supervisor in (0xFFFFFFFF, pid) else info.supervisor + 1
        assert names[(group, pid + 1)] == f"{info.name} <0.{pid}.0>"
        if group != 0x7FFFFFFF:
            sup = r.processes[info.supervisor].name
            assert groups[group] == f"children of {sup} <0.{info.supervisor}.0>"
    crash = next(e for e in doc["traceEvents"] if e.get("cat") == "crash")
    assert "traceback" in crash["args"]["data"]
    state = next(e for e in doc["traceEvents"] if e.get("cat") == "state")
    assert state["name"].startswith("state (") and "state" in state["args"]["data"]


def test_chrome_trace_of_a_cut_has_no_dangling_flow_ends(
    demo_files: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "cut.json"
    _ok("export", demo_files["chat"], "-o", str(out), "--from", "#501", "--to", "#1500")
    doc = json.loads(out.read_text(encoding="utf-8"))
    check_trace_event_format(doc)
    assert doc["otherData"]["range"] == [501, 1500]


# --------------------------------------------------------------------------- user errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-f", "cinema", "--kind", "send"), "--kind applies to"),
        (("--from", "#5", "--to", "#2"), "no event between"),
        (("--redact", "path:card"), "ROOT.FIELD"),
        (("--redact", "re:(unclosed"), "bad regular expression"),
        (("--kind", "nonsense"), "nonsense"),
        (("--process", "nobody"), "no process"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    demo_files: dict[str, str], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "x.jsonl"
    code, _, err = _run("export", demo_files["bank"], "-o", str(out), *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no half-written file left behind


def test_export_never_overwrites_its_own_session(demo_files: dict[str, str]) -> None:
    before = Path(demo_files["pipeline"]).read_bytes()
    code, _, err = _run(
        "export", demo_files["pipeline"], "-o", demo_files["pipeline"], "-f", "jsonl"
    )
    assert code == 2 and "overwrite the session" in err
    assert Path(demo_files["pipeline"]).read_bytes() == before


# --------------------------------------------------------------------------- parquet


def test_parquet_holds_the_events_table_of_docs_sql(demo: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from cinema.model.present import data_text, from_json

    out = tmp_path / "events.parquet"
    _ok("export", demo, "-o", str(out), "--redact", "none", "--from", "#50")
    rows = [
        json.loads(line) for line in _ok("events", demo, "--json", "--from", "#50").splitlines()
    ]
    table = pq.read_table(out)
    assert table.schema.names == [
        "seq", "ts", "t", "kind", "pid", "process", "peer", "peer_process", "ref", "data", "text",
    ]  # fmt: skip
    assert table.num_rows == len(rows)
    for got, row in zip(table.to_pylist(), rows, strict=True):
        data = got.pop("data")
        text = got.pop("text")
        want = row.pop("data")
        assert (json.loads(data) if data is not None else None) == want
        assert got == row
        assert text == data_text(from_json(want))  # the listing's rendering, in full


# --------------------------------------------------------------------------- targets


def test_an_export_never_destroys_what_its_target_is(demo: str, tmp_path: Path) -> None:
    import os
    import stat

    # a device is written in place, never renamed over (a rename would replace /dev/null)
    _ok("export", demo, "-o", os.devnull, "--format", "jsonl")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    # a symlink keeps pointing at the export, which keeps the replaced file's permissions
    real = tmp_path / "real.jsonl"
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    # an existing file is kept unless --force
    code, _out, err = _run("export", demo, "-o", str(link), "--format", "jsonl")
    assert code == 2 and "--force" in err and real.read_text() == "old"
    _ok("export", demo, "-o", str(link), "--format", "jsonl", "--force")
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("{")
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    # a FIFO is refused at once (nobody reads it)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _out, err = _run("export", demo, "-o", str(fifo), "--format", "jsonl")
    assert code == 2 and "FIFO" in err and "Traceback" not in err


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize("processes", [None, [1]], ids=["range cut", "process cut"])
def test_a_bundle_reports_progress_that_never_goes_back(
    demo: str, tmp_path: Path, processes: list[int] | None
) -> None:
    """A process cut's second pass (its own keyframes) reports too: one bar over both passes,
    its fraction never going back, full at the end."""
    from cinema.model.export.scope import ExportOptions, export_session
    from cinema.model.session import Session

    calls: list[tuple[int, int]] = []
    with Session.open(demo) as s:
        opts = ExportOptions(format="cinema", seq_from=100, processes=processes)
        result = export_session(
            s, tmp_path / "cut.cinema", opts, progress=lambda d, t: calls.append((d, t))
        )
        span = s.event_count - 100
    fractions = [d / t for d, t in calls]
    assert fractions == sorted(fractions) and calls[-1][0] == calls[-1][1]
    if processes is None:
        assert calls[-1] == (span, span)
    else:  # the second pass read the cut's own events after the first pass's span
        assert calls[-1] == (span + result.events, span + result.events)
        assert any(d > span for d, _ in calls)
