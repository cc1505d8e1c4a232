"""Call tracing: ``Runtime(trace_calls=[...])`` and ``cinema record --trace-calls`` record each
call of the chosen functions made inside a process (arguments, result or exception, duration),
bounded in count and time; ``cinema calls`` summarises them; re-runs still match."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recorder.events import EventKind
from recorder.sandbox import GenServer, Runtime
from recorder.sandbox.calltrace import CallTraceError
from recorder.session.reader import SessionReader
from recorder.testing import CaptureSink

ROOT = Path(__file__).resolve().parents[3]


def price(item: str, qty: int = 1) -> int:
    """A plain function the processes call."""
    if item == "unobtainium":
        raise LookupError(f"no price for {item}")
    return len(item) * qty


class Shop(GenServer):
    def init(self) -> object:
        return ("ok", {"sold": 0})

    async def handle_call(self, request: object, from_: object, state: dict) -> object:
        return ("reply", price(str(request), qty=2), {"sold": state["sold"] + 1})


async def buyer(proc, items):  # type: ignore[no-untyped-def]
    for item in items:
        try:
            price(item)
        except LookupError:
            continue
        await proc.call("shop", item)


HERE = __name__


def _run(sink: CaptureSink, **trace: object) -> None:
    with Runtime(deterministic=True, seed=1, record=sink, **trace) as rt:  # type: ignore[arg-type]
        rt.start(Shop, name="shop")
        price("outside a process")  # not traced: no process calls it
        rt.spawn(buyer, ["tea", "unobtainium", "rice"], name="ann")
        rt.spawn(buyer, ["salt"], name="bob")
        rt.run()


def test_calls_are_recorded_with_args_results_errors_and_durations() -> None:
    sink = CaptureSink()
    _run(sink, trace_calls=[f"{HERE}:price", f"{HERE}:Shop.handle_call"])
    calls = sink.events.of(EventKind.CALL)
    returns = sink.events.of(EventKind.RETURN)
    priced = [e for e in calls if e.data["function"].endswith(":price")]
    # the buyers price 4 items (one raises), the shop prices the 3 they then ask for
    assert sorted(e.data["args"] for e in priced) == sorted(
        [("tea",), ("unobtainium",), ("rice",), ("salt",), ("tea",), ("rice",), ("salt",)]
    )
    assert sorted(str(e.data.get("kwargs")) for e in priced).count("{'qty': 2}") == 3
    assert {e.pid for e in priced} == {0, 1, 2}  # shop, ann, bob; not the setup code
    assert len(calls) == len(returns) == 7 + 3
    by_ref = {e.ref: e for e in returns}
    for call in calls:
        ret = by_ref[call.ref]
        assert ret.pid == call.pid and ret.seq > call.seq
        assert ret.data["function"] == call.data["function"]
        assert ret.data["duration_ns"] >= 0 and ret.data["wall_ns"] >= 0
    errors = [e for e in returns if "error" in e.data]
    assert [e.data["error"] for e in errors] == ["LookupError: no price for unobtainium"]
    handled = [e for e in returns if e.data["function"].endswith("Shop.handle_call")]
    assert sorted(e.data["result"][1] for e in handled) == [6, 8, 8]  # tea, rice, salt: 2 each
    assert sorted(e.data["result"][2]["sold"] for e in handled) == [1, 2, 3]
    # a method's self is left out; the coroutine's duration spans its awaits (runtime clock)
    assert all(len(e.data["args"]) == 3 for e in calls if "handle_call" in e.data["function"])
    assert price("x") == 1  # the original is back after close


def test_bounds_stop_tracing_and_say_so() -> None:
    sink = CaptureSink()
    _run(sink, trace_calls=[f"{HERE}:price"], trace_max_calls=3)
    assert len(sink.events.of(EventKind.CALL)) == 3
    stopped = [
        e for e in sink.events.of(EventKind.MARKER) if e.data["label"] == "call tracing stopped"
    ]
    assert len(stopped) == 1 and stopped[0].data["reason"] == "max_calls"
    sink = CaptureSink()
    _run(sink, trace_calls=[f"{HERE}:price"], trace_for_ms=0.0)
    assert len(sink.events.of(EventKind.CALL)) <= 1


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("price", "write module:qualname"),
        ("no_such_module_xyz:f", "cannot import"),
        (f"{__name__}:nothing_here", "no nothing_here"),
        (f"{__name__}:HERE", "not a Python function"),
    ],
)
def test_targets_that_cannot_be_traced_are_refused(spec: str, why: str) -> None:
    with pytest.raises(CallTraceError, match=why):
        Runtime(deterministic=True, record=CaptureSink(), trace_calls=[spec])


PROGRAM = textwrap.dedent(
    """
    from recorder.sandbox import GenServer, Runtime

    def tax(amount):
        return amount // 10

    class Till(GenServer):
        def init(self):
            return ("ok", 0)
        def handle_cast(self, amount, total):
            return ("noreply", total + amount + tax(amount))

    async def customer(proc, n):
        for i in range(n):
            proc.cast("till", 100 + i)
            await proc.sleep(1)

    with Runtime(deterministic=True, seed=4) as rt:
        rt.start(Till, name="till")
        for k in range(3):
            rt.spawn(customer, 5, name=f"c{k}")
        rt.run()
    """
)


def _cinema(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema", *args], cwd=cwd, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip


def test_cinema_record_traces_a_programs_functions_and_calls_summarises(tmp_path: Path) -> None:
    (tmp_path / "till.py").write_text(PROGRAM)
    out = tmp_path / "till.cinema"
    done = _cinema(
        "record", "--trace-calls", "till:tax", "--trace-calls", "till:Till.handle_cast",
        "-o", str(out), "--", "python", "till.py", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with SessionReader(out) as r:
        counts = r.kind_counts()
        assert counts[int(EventKind.CALL)] == counts[int(EventKind.RETURN)] == 30
    table = _cinema("calls", str(out), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["function", "calls", "errors"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["till:tax"][1] == "15" and rows["till:Till.handle_cast"][1] == "15"
    js = json.loads(_cinema("calls", str(out), "--json", cwd=tmp_path).stdout)
    tax = next(r for r in js["functions"] if r["function"] == "till:tax")
    assert tax["calls"] == 15 and tax["errors"] == 0 and tax["processes"] == 1
    assert tax["p99_ns"] >= tax["p50_ns"] > 0 and tax["total_ns"] >= tax["max_ns"]
    per_call = _cinema("calls", str(out), "--process", "till", cwd=tmp_path)
    assert per_call.stdout.count("till:tax") == 15
    # the traced recording is still verifiable: the wall times are left out of the comparison
    verified = _cinema("verify", str(out), cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    events = _cinema("events", str(out), "--kind", "return", "-n", "1", cwd=tmp_path)
    assert "till:" in events.stdout and "duration_ns" in events.stdout


def test_a_bad_trace_target_under_cinema_record_is_reported_and_the_program_runs(
    tmp_path: Path,
) -> None:
    (tmp_path / "till.py").write_text(PROGRAM)
    out = tmp_path / "till.cinema"
    done = _cinema(
        "record", "--trace-calls", "till:nope", "-o", str(out), "--", "python", "till.py",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0
    assert "cannot trace till:nope" in done.stderr
    with SessionReader(out) as r:
        assert r.event_count > 0 and int(EventKind.CALL) not in r.kind_counts()


def test_calls_on_a_session_without_traces_says_how_to_trace(tmp_path: Path) -> None:
    path = tmp_path / "bank.cinema"
    done = _cinema("demo", "--headless", "--record", str(path), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = _cinema("calls", str(path), cwd=ROOT)
    assert out.returncode == 0 and "--trace-calls" in out.stdout


def test_a_traced_demo_is_summarised_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "bank.cinema"
    target = "recorder.sandbox.scenarios.bank:Ledger.handle_cast"
    done = _cinema(
        "demo", "--headless", "--seed", "5", "--record", str(path), "--trace-calls", target,
        cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with SessionReader(path) as r:
        assert r.meta["rerun"]["options"]["trace_calls"] == [target]
        assert r.kind_counts()[int(EventKind.CALL)] > 10
    summary = _cinema("calls", str(path), cwd=ROOT)
    assert target in summary.stdout
    verified = _cinema("verify", str(path), cwd=ROOT)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    bad = _cinema("demo", "--headless", "--record", str(tmp_path / "x.cinema"),
                  "--trace-calls", "nope:x", cwd=ROOT)  # fmt: skip
    assert bad.returncode == 2 and "cannot trace nope:x" in bad.stderr
