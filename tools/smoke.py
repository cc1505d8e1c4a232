"""Smoke-run every ``cinema`` command, as a user types it, over recordings made as users make them.

    python tools/smoke.py OUTDIR [--scale N] [--jobs 2] [--only TEXT] [--timeout S]

Records the three demos (``cinema demo --headless --scenario bank|chat|pipeline --seed 5 --scale
N``) and a bank run with call tracing, makes damaged copies of each demo (one byte flipped in the
payload block of a middle event frame; the same without its footer; the file cut in the middle of
a frame) plus an empty file and a text file, then runs every command of ``cinema --help`` in text
and ``--json`` over them, and the mistakes users make (a missing file, a bad expression, an event
out of range, an unknown process, a bad time). Each run is a subprocess with a timeout; its
command line, stdout and stderr are kept in ``OUTDIR/runs/``. A run fails when its exit status is
not one it may have (0 sound, 1 damaged but read, 2 user error), when stderr holds a Python
traceback, when its ``--json`` output does not parse (or does not fit its schema in
``docs/schema/``), or when what it wrote does not open again (a bundle in ``cinema info``, Parquet
in pyarrow, chrome-trace and JSON Lines as JSON, a PNG, a generated test in pytest).

The summary table (command, file, exit, seconds, problem) goes to stdout and
``OUTDIR/summary.txt``, every result to ``OUTDIR/summary.json``; the exit status is 1 when any run
failed. This is a developer tool (docs/testing.md, "Smoke run"), not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recorder.session.format import FRAME_HEADER, TRAILER, FrameType, unpack_frame_header
from recorder.session.reader import SessionReader

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "docs" / "schema"
DEMOS = ("bank", "chat", "pipeline")
TRACE = "recorder.sandbox.scenarios.bank:Account.handle_call"
TRACEBACK = "Traceback (most recent call last)"

SOUND, DAMAGED, USER_ERROR = 0, 1, 2
# What a command may answer on each kind of input file.
SOUND_EXITS = frozenset({SOUND})
DAMAGED_EXITS = frozenset({SOUND, DAMAGED})  # 0 when the command never needed the damaged bytes
NOT_A_SESSION_EXITS = frozenset({USER_ERROR})
USER_ERROR_EXITS = frozenset({USER_ERROR})
# Commands that stop (exit 2) when they need events a damaged file cannot give, saying which;
# the others (events, breaks, graph, analyze, info, calls) read the rest and exit 1.
STOPS = frozenset({"state", "top", "why", "sql", "export", "verify", "screenshot", "gen-test"})

# A follow-up check of what a run wrote: the problem, or None.
Check = Callable[["Context"], "str | None"]


@dataclass(frozen=True)
class Run:
    """One ``cinema ARGS`` invocation and what it must do."""

    name: str  # unique: names the files kept in OUTDIR/runs/
    args: tuple[str, ...]
    file: str  # the input's label (bank, chat-flipped, empty, ...; "-" for none)
    exits: frozenset[int]
    output: str = "text"  # text | json (one document) | jsonl (one document per line)
    schema: str | None = None  # docs/schema/NAME.json that the document (or each line) fits
    checks: tuple[Check, ...] = ()
    may_be_silent: bool = False  # an empty stdout is fine even when the run succeeded
    no_display: bool = False  # run without DISPLAY and without QT_QPA_PLATFORM
    verdict: bool = False  # exit 1 is an answer on stdout (analyze --fail-on, verify)
    damaged: bool = False  # the input is damaged: an exit 2 must name the unreadable events


@dataclass
class Result:
    run: Run
    exit: int | None
    seconds: float
    problems: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What a follow-up check may use: the run's stdout and a way to run cinema again."""

    out_dir: Path
    stdout: str
    env: dict[str, str]
    timeout: float


# ---------------------------------------------------------------------------- running


def cinema_argv(args: Iterable[str]) -> list[str]:
    return [sys.executable, "-m", "cinema", *args]


def cinema_run(
    args: Iterable[str], out_dir: Path, env: dict[str, str], timeout: float | None
) -> subprocess.CompletedProcess[bytes]:
    """``cinema ARGS`` in ``out_dir``, its output captured (the checks and the setup; the runs
    themselves go through :func:`run_one`)."""
    return subprocess.run(
        cinema_argv(args), cwd=out_dir, env=env, capture_output=True, timeout=timeout, check=False
    )


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONFAULTHANDLER"] = "1"
    env.pop("DISPLAY", None)
    env["COLUMNS"] = "120"
    return env


def run_one(run: Run, out_dir: Path, env: dict[str, str], timeout: float) -> Result:
    runs = out_dir / "runs"
    argv = cinema_argv(run.args)
    (runs / f"{run.name}.cmd").write_text(shlex.join(["cinema", *run.args]) + "\n")
    if run.no_display:
        env = {k: v for k, v in env.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=out_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        seconds = time.monotonic() - start
        (runs / f"{run.name}.out").write_bytes(exc.stdout or b"")
        (runs / f"{run.name}.err").write_bytes(exc.stderr or b"")
        return Result(run, None, seconds, [f"timed out after {timeout:.0f} s"])
    seconds = time.monotonic() - start
    (runs / f"{run.name}.out").write_bytes(proc.stdout)
    (runs / f"{run.name}.err").write_bytes(proc.stderr)
    result = Result(run, proc.returncode, seconds)
    result.problems = judge(run, proc.returncode, proc.stdout, proc.stderr)
    if proc.returncode == SOUND or (proc.returncode == DAMAGED and DAMAGED in run.exits):
        ctx = Context(out_dir, proc.stdout.decode("utf-8", "replace"), env, timeout)
        for check in run.checks:
            try:
                problem = check(ctx)
            except Exception as exc:  # a check that cannot run is a finding, not a crash
                problem = f"check {getattr(check, '__name__', check)}: {exc!r}"
            if problem:
                result.problems.append(problem)
    return result


def judge(run: Run, code: int, out_bytes: bytes, err_bytes: bytes) -> list[str]:
    problems = []
    if code not in run.exits:
        problems.append(f"exit {code}, expected {'/'.join(map(str, sorted(run.exits)))}")
    if code < 0:
        problems.append(f"killed by signal {-code}")
    try:
        out = out_bytes.decode("utf-8")
        err = err_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [*problems, f"output is not UTF-8: {exc}"]
    if TRACEBACK in err:  # (stdout may hold a recorded crash's traceback text)
        last = [line for line in err.splitlines() if line.strip()][-1:] or ["?"]
        problems.append(f"traceback: {last[0].strip()[:160]}")
    if code == USER_ERROR and not err.strip():
        problems.append("exit 2 without a word on stderr")
    if code == DAMAGED and not err.strip() and not run.verdict:
        problems.append("exit 1 without a word on stderr")
    if code == USER_ERROR and run.damaged and not re.search(r"cannot be (read|shown)", err):
        problems.append("exit 2 without naming the events that cannot be read")
    if code in (SOUND, DAMAGED) and not out.strip() and not run.may_be_silent:
        problems.append("nothing on stdout")
    if code in (SOUND, DAMAGED) and run.output != "text" and out.strip():
        problems.extend(parse_problems(out, run.output, run.schema))
    return problems


def parse_problems(out: str, form: str, schema: str | None) -> list[str]:
    try:
        docs = (
            [json.loads(out)]
            if form == "json"
            else [json.loads(line) for line in out.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        return [f"stdout is not {'JSON' if form == 'json' else 'JSON lines'}: {exc}"]
    if schema is None:
        return []
    validator = schema_validator(schema)
    for i in sample(len(docs)):
        error = next(iter(validator.iter_errors(shortened(docs[i]))), None)
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "(top)"
            line = f" (line {i + 1})" if form == "jsonl" else ""
            return [f"{schema} schema{line} at {where}: {error.message[:120]}"]
    return []


# Validating every row of a long listing takes minutes: a sample of the rows, and of each long
# list in a document, shows a wrong row of a kind as well.
SAMPLE = 200


def sample(n: int) -> list[int]:
    if n <= SAMPLE:
        return list(range(n))
    step = n // SAMPLE
    return sorted({*range(SAMPLE // 4), *range(0, n, step), *range(n - SAMPLE // 4, n)})


def shortened(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: shortened(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [shortened(doc[i]) for i in sample(len(doc))]
    return doc


_VALIDATORS: dict[str, Any] = {}


def schema_validator(name: str) -> Any:
    if name not in _VALIDATORS:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        docs = {p.stem: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}
        registry = Registry().with_resources(
            (d["$id"], Resource.from_contents(d)) for d in docs.values()
        )
        for stem, doc in docs.items():
            _VALIDATORS[stem] = Draft202012Validator(doc, registry=registry)
    return _VALIDATORS[name]


# ---------------------------------------------------------------------------- follow-up checks


def bundle_opens(path: str) -> Check:
    def bundle_opens(ctx: Context) -> str | None:
        proc = cinema_run(["info", path, "--check", "--json"], ctx.out_dir, ctx.env, ctx.timeout)
        if proc.returncode != SOUND or TRACEBACK.encode() in proc.stderr:
            return f"the bundle {path}: cinema info --check exits {proc.returncode}"
        return None

    return bundle_opens


def parquet_opens(path: str) -> Check:
    def parquet_opens(ctx: Context) -> str | None:
        import pyarrow.parquet as pq

        table = pq.read_table(ctx.out_dir / path)
        return None if table.num_rows > 0 else f"{path}: no rows"

    return parquet_opens


def chrome_trace_opens(path: str) -> Check:
    def chrome_trace_opens(ctx: Context) -> str | None:
        doc = json.loads((ctx.out_dir / path).read_text())
        events = doc.get("traceEvents") if isinstance(doc, dict) else doc
        if not isinstance(events, list) or not events:
            return f"{path}: no traceEvents"
        if any(not isinstance(e, dict) or "ph" not in e for e in events):
            return f"{path}: a trace event without 'ph'"
        return None

    return chrome_trace_opens


def jsonl_opens(path: str) -> Check:
    def jsonl_opens(ctx: Context) -> str | None:
        text = (ctx.out_dir / path).read_text()
        if not text.strip():
            return f"{path}: empty"
        problems = parse_problems(text, "jsonl", "event-row")
        return problems[0] if problems else None

    return jsonl_opens


def png_written(path: str) -> Check:
    def png_written(ctx: Context) -> str | None:
        data = (ctx.out_dir / path).read_bytes()[:8]
        return None if data == b"\x89PNG\r\n\x1a\n" else f"{path} is not a PNG"

    return png_written


def generated_test_passes(path: str) -> Check:
    def generated_test_passes(ctx: Context) -> str | None:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path],
            cwd=ctx.out_dir,
            env=ctx.env,
            capture_output=True,
            timeout=ctx.timeout * 3,
            check=False,
        )
        if proc.returncode != 0:
            tail = proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            return f"the generated {path} fails: {tail[0][:120]}"
        return None

    return generated_test_passes


def sql_on(path: str) -> Check:
    """The Parquet export answers `cinema sql` as the session does."""

    def sql_on_parquet(ctx: Context) -> str | None:
        query = "SELECT kind, count(*) AS n FROM events GROUP BY 1"
        args = ["sql", path, query, "--format", "json"]
        proc = cinema_run(args, ctx.out_dir, ctx.env, ctx.timeout)
        if proc.returncode != SOUND or TRACEBACK.encode() in proc.stderr:
            return f"cinema sql on {path} exits {proc.returncode}"
        return None

    return sql_on_parquet


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Input:
    label: str
    path: str  # relative to OUTDIR
    kind: str  # sound | damaged | not-a-session
    events: int = 0
    process: str = "nobody"  # a process name of the recording
    duration_s: float = 0.0


def record(out_dir: Path, env: dict[str, str], scale: int, timeout: float) -> list[Input]:
    """The three demos, the bank demo with call tracing, and the first example program of
    docs/sandbox.md under `cinema record` (with call tracing too)."""
    (out_dir / "recordings").mkdir(exist_ok=True)
    example = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "sandbox.md").read_text(), re.S)
    assert example is not None, "docs/sandbox.md has no example program"
    (out_dir / "prog.py").write_text(example.group(1))
    demo = ["demo", "--headless", "--seed", "5", "--scale", str(scale), "--force"]
    plans = [(d, [*demo, "--scenario", d]) for d in DEMOS]
    plans.append(("bank-traced", [*demo, "--scenario", "bank", "--trace-calls", TRACE]))
    for label, args in plans:
        args += ["--record", f"recordings/{label}.cinema"]
    # The example names its file (bank.cinema): `cinema record -o` that name, then moved.
    named = re.search(r'record="([^"]+)"', example.group(1))
    assert named is not None, "the example of docs/sandbox.md records to no file"
    prog = ["--trace-calls", "prog:Account.handle_call", "--", sys.executable, "prog.py"]
    plans.append(("prog", ["record", "-o", named.group(1), "--force", *prog]))
    inputs = []
    for label, args in plans:
        proc = cinema_run(args, out_dir, env, timeout * 5)
        if proc.returncode != 0:
            sys.exit(f"smoke: recording {label} failed:\n{proc.stderr.decode()}")
        path = f"recordings/{label}.cinema"
        if label == "prog":
            (out_dir / named.group(1)).replace(out_dir / path)
        inputs.append(describe(out_dir, env, label, path, "sound", timeout))
    return inputs


def describe(
    out_dir: Path, env: dict[str, str], label: str, path: str, kind: str, timeout: float
) -> Input:
    """The recording's event count and a process with a name (the middle spawn)."""
    info = cinema_run(["info", path, "--json"], out_dir, env, timeout)
    spawns = cinema_run(["events", path, "--kind", "spawn", "--json"], out_dir, env, timeout)
    rows = [json.loads(line) for line in spawns.stdout.splitlines()]
    named = [r["process"] for r in rows if r["process"] and not r["process"].startswith("<")]
    doc = json.loads(info.stdout)
    return Input(label, path, kind, doc["events"], named[len(named) // 2], doc["duration_s"])


def caller(out_dir: Path, env: dict[str, str], inp: Input) -> str:
    """The process that made the first traced call."""
    first = cinema_run(
        ["events", inp.path, "--kind", "call", "-n", "1", "--json"], out_dir, env, None
    )
    return str(json.loads(first.stdout)["process"])


def damage(out_dir: Path, env: dict[str, str], sound: Input) -> list[Input]:
    """One byte flipped in the payload block of the middle event frame; the same without its
    footer; the sound file cut in the middle of that frame."""
    src = out_dir / sound.path
    with SessionReader(str(src)) as reader:
        table = reader.frame_table()
    offsets = [
        int(o) for o, t in zip(table["offset"], table["type"], strict=True) if t == FrameType.EVENTS
    ]
    data = src.read_bytes()
    at = offsets[len(offsets) // 2]
    header = unpack_frame_header(data[at : at + FRAME_HEADER.size], at)
    payload_start = at + FRAME_HEADER.size + header.stored[0] + header.stored[1]
    flipped = bytearray(data)
    flipped[payload_start + header.stored[2] // 2] ^= 0xFF
    footer_at, magic = TRAILER.unpack(data[-TRAILER.size :])
    if magic != b"CINEMEND":
        sys.exit(f"smoke: {sound.path} has no trailer")
    folder = out_dir / "damaged"
    folder.mkdir(exist_ok=True)
    made = {
        "flipped": bytes(flipped),
        "flipped-nofooter": bytes(flipped[:footer_at]),
        "truncated": data[: at + FRAME_HEADER.size + header.body_len // 2],
    }
    inputs = []
    for what, content in made.items():
        path = f"damaged/{sound.label}-{what}.cinema"
        (out_dir / path).write_bytes(content)
        # its own length (a truncated file is shorter), the sound file's process names
        info = cinema_run(["info", path, "--json"], out_dir, env, None)
        doc = json.loads(info.stdout)
        label = f"{sound.label}-{what}"
        inputs.append(
            Input(label, path, "damaged", doc["events"], sound.process, doc["duration_s"])
        )
    return inputs


def not_sessions(out_dir: Path) -> list[Input]:
    folder = out_dir / "damaged"
    folder.mkdir(exist_ok=True)
    (folder / "empty.cinema").write_bytes(b"")
    (folder / "notes.cinema").write_text("these are my notes, not a recording\n" * 20)
    return [
        Input("empty", "damaged/empty.cinema", "not-a-session"),
        Input("text", "damaged/notes.cinema", "not-a-session"),
    ]


# ---------------------------------------------------------------------------- the runs


def session_runs(inp: Input, full: bool) -> list[Run]:
    """Every command over one input; ``full`` adds the variants (filters, cuts, formats)."""
    f, tag, p = inp.path, inp.label, inp.process
    mid = max(inp.events // 2, 0)
    exits = {
        "sound": SOUND_EXITS,
        "damaged": DAMAGED_EXITS,
        "not-a-session": NOT_A_SESSION_EXITS,
    }[inp.kind]
    damaged = inp.kind == "damaged"
    exp = f"exports/{tag}"
    runs: list[Run] = []

    def at(fraction: float) -> str:
        """A time that far into the recording (in ms, as users write it)."""
        return f"{inp.duration_s * fraction * 1e3:.1f}ms" if inp.duration_s else "1s"

    def add(name: str, *args: str, **kw: Any) -> None:
        kw.setdefault("exits", exits | ({USER_ERROR} if damaged and args[0] in STOPS else set()))
        runs.append(Run(f"{tag}.{name}", args, tag, damaged=damaged, **kw))

    add("info", "info", f)
    add("info-json", "info", f, "--json", output="json", schema="info")
    add("info-check", "info", "--check", f)
    add("info-check-json", "info", f, "--check", "--json", output="json", schema="info")
    add("events", "events", f)
    add("events-json", "events", f, "--json", output="jsonl", schema="event-row")
    add("breaks-crash", "breaks", f, "--when", 'kind == "crash"', may_be_silent=True)
    add(
        "breaks-msg-json",
        "breaks",
        f,
        "--when",
        'msg ~ "e"',
        "--json",
        output="json",
        schema="breaks",
    )
    add("calls", "calls", f)
    add("calls-json", "calls", f, "--json", output="json", may_be_silent=True)
    add("analyze", "analyze", f)
    add("analyze-json", "analyze", f, "--json", output="json", schema="analyze")
    add("graph-dot", "graph", f)
    add("graph-json", "graph", f, "--format", "json", output="json", schema="graph")
    add("state", "state", f, "--at", at(0.4))
    add("state-json", "state", f, "--at", at(0.9), "--json", output="json", schema="state")
    add("state-mid-json", "state", f, "--event", str(mid), "--json", output="json", schema="state")
    add("top", "top", f)
    add("top-json", "top", f, "--json", output="json", schema="top")
    add("why-mid", "why", f, "--event", str(mid))
    add("why-mid-json", "why", f, "--event", f"#{mid}", "--json", output="json", schema="why")
    add("sql-kinds", "sql", f, "SELECT kind, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC")
    add(
        "sql-data-json",
        "sql",
        f,
        "SELECT seq, kind, process, text FROM events WHERE kind IN ('crash', 'send') LIMIT 50",
        "--format",
        "json",
        output="jsonl",
    )
    add(
        "export-bundle",
        "export",
        f,
        "-o",
        f"{exp}.cinema",
        "--force",
        "--json",
        output="json",
        checks=(bundle_opens(f"{exp}.cinema"),),
    )
    add(
        "export-chrome",
        "export",
        f,
        "-o",
        f"{exp}.json",
        "--force",
        checks=(chrome_trace_opens(f"{exp}.json"),),
    )
    add(
        "export-jsonl",
        "export",
        f,
        "-o",
        f"{exp}.jsonl",
        "--force",
        checks=(jsonl_opens(f"{exp}.jsonl"),),
    )
    add(
        "export-parquet",
        "export",
        f,
        "-o",
        f"{exp}.parquet",
        "--force",
        checks=(parquet_opens(f"{exp}.parquet"), sql_on(f"{exp}.parquet")),
    )
    add("screenshot", "screenshot", f, "-o", f"{exp}.png", checks=(png_written(f"{exp}.png"),))
    add("verify", "verify", f, verdict=True)
    if not full:
        return runs

    add("events-crash-restart", "events", f, "--kind", "crash", "--kind", "restart")
    add("events-process-json", "events", f, "-p", p, "--json", output="jsonl", schema="event-row")
    add("events-time-cut", "events", f, "--from", at(0.2), "--to", at(0.4), may_be_silent=True)
    add(
        "events-seq-cut-json",
        "events",
        f,
        "--from",
        "#100",
        "--to",
        "#200",
        "--json",
        output="jsonl",
        schema="event-row",
    )
    add("events-match", "events", f, "--match", "/timeout|retry|crash/", "-n", "20")
    add("events-match-text", "events", f, "--match", "error", may_be_silent=True)
    add("events-limit", "events", f, "-n", "5")
    add("breaks-limit-json", "breaks", f, "--when", 'kind == "send"', "--limit", "3", "--json")
    add("calls-process", "calls", f, "-p", p, may_be_silent=True)
    add("calls-process-json", "calls", f, "-p", p, "--json", output="jsonl", may_be_silent=True)
    add(
        "analyze-fail-on",
        "analyze",
        f,
        "--json",
        "--fail-on",
        "error",
        exits=exits | {DAMAGED},
        output="json",
        schema="analyze",
        verdict=True,
    )
    add("analyze-min-warning", "analyze", f, "--min-severity", "warning", may_be_silent=True)
    add("graph-cut", "graph", f, "--from", at(0.1), "--to", at(0.6))
    add(
        "graph-seq-cut-json",
        "graph",
        f,
        "--from",
        "#0",
        "--to",
        f"#{mid}",
        "--format",
        "json",
        output="json",
        schema="graph",
    )
    add("state-event", "state", f, "-e", str(mid))
    add("state-at", "state", f, "--at", "1s")
    add("state-process", "state", f, "-p", p, "--at", f"#{inp.events - 1}")
    add(
        "state-process-json",
        "state",
        f,
        "-p",
        p,
        "-e",
        str(mid),
        "--json",
        output="json",
        schema="state",
    )
    add("state-first", "state", f, "--event", "0")
    add("state-last-json", "state", f, "--at", f"#{inp.events - 1}", "--json", output="json")
    add("top-at-mailbox", "top", f, "--at", at(0.5), "--by", "mailbox")
    add("top-memory-json", "top", f, "--by", "memory", "--json", output="json", schema="top")
    add("top-handled-window", "top", f, "--by", "handled", "--window", "250ms", "-n", "5")
    add("top-cpu-total-json", "top", f, "--by", "cpu_total", "--at", f"#{mid}", "--json")
    add("why-time", "why", f, "--event", at(0.6))
    add("why-backward", "why", f, "--event", str(mid), "--backward-only", "--hops", "3")
    add("why-forward-json", "why", f, "--event", str(mid), "--forward-only", "--json")
    add("why-first", "why", f, "--event", "0", "--processes", "1", "-n", "5")
    add("sql-csv", "sql", f, "SELECT * FROM processes", "--format", "csv")
    add(
        "sql-messages",
        "sql",
        f,
        "SELECT receiver_process, count(*), max(latency_ns) FROM messages GROUP BY 1 ORDER BY 2",
    )
    add(
        "sql-reason",
        "sql",
        f,
        "SELECT seq, data->>'$.reason' AS reason FROM events WHERE kind = 'crash'",
        "--max-width",
        "20",
    )
    add("sql-star", "sql", f, "SELECT * FROM events LIMIT 40", "--format", "json", output="jsonl")
    add(
        "export-bundle-cut",
        "export",
        f,
        "-o",
        f"{exp}-cut.cinema",
        "--force",
        "--from",
        "0.5s",
        "--to",
        "1.5s",
        "--note",
        "the smoke run's cut",
        checks=(bundle_opens(f"{exp}-cut.cinema"),),
    )
    add(
        "export-bundle-seq-process",
        "export",
        f,
        "-o",
        f"{exp}-proc.cinema",
        "--force",
        "--from",
        "#10",
        "--to",
        f"#{mid}",
        "-p",
        p,
        "--redact",
        "key:balance,name",
        checks=(bundle_opens(f"{exp}-proc.cinema"),),
    )
    add(
        "export-chrome-redact",
        "export",
        f,
        "--format",
        "chrome-trace",
        "-o",
        f"{exp}-redacted.trace",
        "--force",
        "--redact",
        "/\\d{3}/",
        "--redact",
        "path:state.*",
        "--json",
        output="json",
        checks=(chrome_trace_opens(f"{exp}-redacted.trace"),),
    )
    add(
        "export-jsonl-kind",
        "export",
        f,
        "-f",
        "jsonl",
        "-o",
        f"{exp}-sends.jsonl",
        "--force",
        "--kind",
        "send",
        "-p",
        p,
        "--redact",
        "none",
        checks=(jsonl_opens(f"{exp}-sends.jsonl"),),
    )
    add(
        "export-parquet-cut",
        "export",
        f,
        "-f",
        "parquet",
        "-o",
        f"{exp}-cut.parquet",
        "--force",
        "--from",
        "1s",
        "--redact",
        "key:name",
        "--json",
        output="json",
        checks=(parquet_opens(f"{exp}-cut.parquet"),),
    )
    add(
        "screenshot-graph-dark",
        "screenshot",
        f,
        "-o",
        f"{exp}-graph.png",
        "--view",
        "graph",
        "--theme",
        "dark",
        "--size",
        "900x600",
        "-e",
        str(mid),
        checks=(png_written(f"{exp}-graph.png"),),
    )
    add(
        "screenshot-why",
        "screenshot",
        f,
        "-o",
        f"{exp}-why.png",
        "--why",
        "--at",
        "1s",
        "--view",
        "messages",
        checks=(png_written(f"{exp}-why.png"),),
    )
    add("verify-json", "verify", f, "--json", output="json", verdict=True)
    add(
        "gen-test",
        "gen-test",
        f,
        "-o",
        f"exports/test_{tag.replace('-', '_')}.py",
        "--force",
        checks=(generated_test_passes(f"exports/test_{tag.replace('-', '_')}.py"),),
    )
    return runs


def traced_runs(inp: Input) -> list[Run]:
    """`cinema calls` and the re-runs over a recording with traced calls."""
    f, tag, p = inp.path, inp.label, inp.process
    test = f"exports/test_{tag.replace('-', '_')}.py"
    runs = [
        ("calls", ("calls", f), "text"),
        ("calls-json", ("calls", f, "--json"), "json"),
        ("calls-process", ("calls", f, "-p", p), "text"),
        ("calls-process-json", ("calls", f, "-p", p, "--json"), "jsonl"),
        ("events-call", ("events", f, "--kind", "call", "--kind", "return", "-n", "20"), "text"),
        ("events-call-json", ("events", f, "--kind", "return", "--json"), "jsonl"),
        ("sql-calls", ("sql", f, "SELECT kind, count(*) FROM events GROUP BY 1"), "text"),
        ("analyze", ("analyze", f), "text"),
        ("why", ("why", f, "--event", str(inp.events // 2)), "text"),
        ("verify", ("verify", f), "text"),
        ("verify-json", ("verify", f, "--json"), "json"),
    ]
    out = [Run(f"{tag}.{name}", args, tag, SOUND_EXITS, form) for name, args, form in runs]
    out.append(
        Run(
            f"{tag}.gen-test",
            ("gen-test", f, "-o", test, "--force"),
            tag,
            SOUND_EXITS,
            checks=(generated_test_passes(test),),
        )
    )
    return out


def help_runs() -> list[Run]:
    proc = subprocess.run(cinema_argv(["--help"]), capture_output=True, text=True, check=True)
    commands = re.findall(r"^  ([a-z][a-z-]+)  ", proc.stdout.split("Commands:")[1], re.M)
    runs = [
        Run("help", ("--help",), "-", SOUND_EXITS),
        Run("version", ("--version",), "-", SOUND_EXITS),
    ]
    runs += [Run(f"help.{c}", (c, "--help"), "-", SOUND_EXITS) for c in commands]
    # The window needs a display: without one, a clear error.
    runs.append(Run("no-display", (), "-", USER_ERROR_EXITS, no_display=True))
    runs.append(Run("unknown-command", ("infos", "x.cinema"), "-", USER_ERROR_EXITS))
    return runs


def mistake_runs(sound: Input) -> list[Run]:
    """What users get wrong: each is exit 2 with a message, never a traceback."""
    f = sound.path
    missing = "recordings/no-such-file.cinema"
    beyond = str(sound.events + 1000)
    cases: list[tuple[str, tuple[str, ...]]] = [
        (c, (c, missing))
        for c in ("info", "events", "analyze", "calls", "graph", "state", "top", "verify")
    ]
    cases += [
        ("breaks-missing", ("breaks", missing, "--when", 'kind == "crash"')),
        ("why-missing", ("why", missing, "--event", "1")),
        ("export-missing", ("export", missing, "-o", "exports/missing.cinema")),
        ("sql-missing", ("sql", missing, "SELECT 1")),
        ("gen-test-missing", ("gen-test", missing, "-o", "exports/test_missing.py")),
        ("screenshot-missing", ("screenshot", missing, "-o", "exports/missing.png")),
        ("folder", ("events", "recordings")),
        ("attach-nobody", ("attach", "127.0.0.1:9")),
        ("attach-bad-address", ("attach", "no-such-host-really:1")),
        ("record-no-program", ("record", "-o", "exports/none.cinema")),
        (
            "record-missing-script",
            ("record", "-o", "exports/none.cinema", "--", sys.executable, "no_such_script.py"),
        ),
        ("breaks-syntax", ("breaks", f, "--when", 'kind == "crash" and')),
        ("breaks-name", ("breaks", f, "--when", "__import__('os')")),
        ("breaks-regex", ("breaks", f, "--when", 'msg ~ "(a+"')),
        ("breaks-backtracking", ("breaks", f, "--when", r'msg ~ "(a)\1"')),
        ("events-regex", ("events", f, "--match", "/(unclosed/")),
        ("state-no-moment", ("state", f)),
        ("state-event-beyond", ("state", f, "--event", beyond)),
        ("state-event-negative", ("state", f, "--event", "-3")),
        ("state-at-beyond", ("state", f, "--at", f"#{beyond}")),
        ("why-beyond", ("why", f, "--event", beyond)),
        ("why-beyond-json", ("why", f, "--event", f"#{beyond}", "--json")),
        ("screenshot-beyond", ("screenshot", f, "-e", beyond, "-o", "exports/beyond.png")),
        ("top-at-beyond", ("top", f, "--at", f"#{beyond}")),
        ("gen-test-at-beyond", ("gen-test", f, "-o", "exports/test_b.py", "--at", f"#{beyond}")),
        ("events-unknown-process", ("events", f, "-p", "nobody-at-all")),
        ("state-unknown-process", ("state", f, "-p", "nobody-at-all")),
        ("calls-unknown-process", ("calls", f, "-p", "nobody-at-all")),
        ("export-unknown-process", ("export", f, "-o", "exports/u.jsonl", "-p", "no-one")),
        ("state-unknown-pid", ("state", f, "-p", "99999")),
        ("events-bad-time", ("events", f, "--from", "yesterday")),
        ("events-bad-unit", ("events", f, "--to", "3parsecs")),
        ("events-bad-seq", ("events", f, "--from", "#x")),
        ("graph-bad-time", ("graph", f, "--from", "soon")),
        ("top-bad-time", ("top", f, "--at", "later")),
        ("top-bad-window", ("top", f, "--window", "a while")),
        ("state-bad-time", ("state", f, "--at", "1.5 s s")),
        ("state-both", ("state", f, "--event", "3", "--at", "1s")),
        ("why-bad-event", ("why", f, "--event", "the crash")),
        ("export-bad-time", ("export", f, "-o", "exports/t.cinema", "--from", "noon")),
        ("export-bad-redact-root", ("export", f, "-o", "exports/r.jsonl", "--redact", "x.y")),
        ("export-empty-redact", ("export", f, "-o", "exports/r.jsonl", "--redact", "key:")),
        ("export-bad-regex", ("export", f, "-o", "exports/r.jsonl", "--redact", "/(x/")),
        ("export-kind-bundle", ("export", f, "-o", "exports/k.cinema", "--kind", "send")),
        ("export-bad-kind", ("export", f, "-o", "exports/k.jsonl", "--kind", "shout")),
        ("events-bad-kind", ("events", f, "--kind", "shout")),
        ("export-exists", ("export", f, "-o", f)),
        ("export-onto-itself", ("export", f, "-o", f, "--force")),
        ("export-into-missing-folder", ("export", f, "-o", "no/such/folder/x.jsonl")),
        ("sql-bad-query", ("sql", f, "SELEC kind FROM events")),
        ("sql-unknown-table", ("sql", f, "SELECT * FROM mailboxes")),
        ("gen-test-bad-at", ("gen-test", f, "-o", "exports/test_bad.py", "--at", "lunch")),
        ("gen-test-exists", ("gen-test", f, "-o", f)),
        ("screenshot-bad-size", ("screenshot", f, "-o", "exports/s.png", "--size", "huge")),
        ("screenshot-bad-at", ("screenshot", f, "-o", "exports/s.png", "--at", "dawn")),
        ("demo-bad-scenario", ("demo", "--headless", "--scenario", "casino")),
        ("demo-record-exists", ("demo", "--headless", "--record", f)),
    ]
    return [Run(f"mistake.{name}", args, sound.label, USER_ERROR_EXITS) for name, args in cases] + [
        Run("mistake.open-no-display", ("open", f), sound.label, USER_ERROR_EXITS, no_display=True),
        Run(
            "mistake.events-empty-cut",
            ("events", f, "--from", "#200", "--to", "#100"),
            sound.label,
            frozenset({0, 2}),
            may_be_silent=True,
        ),
        Run(
            "mistake.events-cut-past-end",
            ("events", f, "--from", "1h"),
            sound.label,
            frozenset({0, 2}),
            may_be_silent=True,
        ),
        Run(
            "mistake.graph-empty-cut",
            ("graph", f, "--from", "1h", "--format", "json"),
            sound.label,
            frozenset({0, 2}),
            "json",
            may_be_silent=True,
        ),
    ]


# ---------------------------------------------------------------------------- main


def table(results: list[Result]) -> str:
    rows = [("command", "file", "exit", "seconds", "problem")]
    for r in results:
        rows.append(
            (
                shlex.join(["cinema", *r.run.args])[:70],
                r.run.file,
                "-" if r.exit is None else str(r.exit),
                f"{r.seconds:.2f}",
                "; ".join(r.problems) or "ok",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=False)) + "  " + row[4]
        for row in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--scale", type=int, default=2, help="the demos' --scale (default 2)")
    ap.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run (default 120)")
    ap.add_argument("--only", default="", help="only the runs whose name contains this")
    opts = ap.parse_args(argv)

    out_dir: Path = opts.outdir.resolve()
    for sub in ("runs", "exports"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    env = environment()
    began = time.monotonic()
    print(f"smoke: recording the demos (scale {opts.scale}) in {out_dir}", flush=True)
    recordings = record(out_dir, env, opts.scale, opts.timeout)
    demos, traced = recordings[: len(DEMOS)], recordings[len(DEMOS) :]
    damaged = [d for sound in demos for d in damage(out_dir, env, sound)]
    runs = help_runs()
    for inp in demos:
        runs += session_runs(inp, full=True)
    for inp in traced:
        runs += traced_runs(replace(inp, process=caller(out_dir, env, inp)))
    for inp in damaged + not_sessions(out_dir):
        runs += session_runs(inp, full=False)
    runs += mistake_runs(demos[0])
    if opts.only:
        runs = [r for r in runs if opts.only in r.name]
    names = [r.name for r in runs]
    assert len(set(names)) == len(names), "run names must be unique"

    print(f"smoke: {len(runs)} runs, {opts.jobs} at a time", flush=True)
    with ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        results = list(pool.map(lambda r: run_one(r, out_dir, env, opts.timeout), runs))
    failed = [r for r in results if r.problems]
    summary = table(results)
    (out_dir / "summary.txt").write_text(summary + "\n")
    (out_dir / "summary.json").write_text(
        json.dumps(
            [
                {
                    "name": r.run.name,
                    "command": ["cinema", *r.run.args],
                    "file": r.run.file,
                    "exit": r.exit,
                    "seconds": round(r.seconds, 3),
                    "problems": r.problems,
                }
                for r in results
            ],
            indent=1,
        )
        + "\n"
    )
    print(summary)
    print(
        f"smoke: {len(results)} runs in {time.monotonic() - began:.0f} s, {len(failed)} failed"
        f" (outputs in {out_dir / 'runs'}, the table in {out_dir / 'summary.txt'})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
