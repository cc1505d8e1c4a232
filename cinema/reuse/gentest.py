"""``cinema gen-test``: turn a deterministic recording into a readable pytest regression test.

The test re-runs the recorded program (:mod:`cinema.reuse.regression`) and asserts what the
recording holds: the event sequence (kept beside the test as JSON Lines, one event a line) and,
at chosen moments, every process's status, state and mailbox length (written in the test
itself, one named test per moment, unless they are too long to read there).
"""

from __future__ import annotations

import json
import os
import pprint
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cinema.model import present
from cinema.model.session import Session
from cinema.reuse.expected import event_row, process_expectations, write_rows
from cinema.reuse.rerun import RerunPlan, plan_rerun
from recorder.events import EventKind

__all__ = ["GeneratedTest", "default_moments", "generate_test"]

#: A moment's expectations longer than this many lines go to the states file instead.
INLINE_LINES = 60
_WIDTH = 92


@dataclass(frozen=True)
class GeneratedTest:
    """What :func:`generate_test` wrote.

    Attributes:
        test_path: the pytest file.
        events_path: the recorded events (JSON Lines).
        states_path: the states too long to inline (JSON), if any.
        events: how many events the test expects.
        moments: the event numbers whose processes it checks.
    """

    test_path: str
    events_path: str
    states_path: str | None
    events: int
    moments: tuple[int, ...]


def default_moments(session: Session) -> list[int]:
    """The moments checked when none are given: the first crash, if any, and the end."""
    if session.event_count == 0:
        return []
    crashes = np.flatnonzero(session.skeleton.kind == EventKind.CRASH)
    moments = [int(crashes[0])] if len(crashes) else []
    return sorted({*moments, session.event_count - 1})


def generate_test(
    recording: str, output: str, *, moments: Sequence[int] | None = None, command: str = ""
) -> GeneratedTest:
    """Write a pytest file for ``recording`` at ``output`` (and its data files beside it).

    Args:
        moments: event numbers whose processes the test checks (default
            :func:`default_moments`).
        command: the command that generated it, quoted in the test's docstring.

    Raises:
        RerunError: the recording cannot be re-run (a real-time recording, ...).
        ModelError: an event number out of range.
    """
    stem = os.path.splitext(output)[0]
    events_path = f"{stem}.events.jsonl"
    states_path = f"{stem}.states.json"
    folder = os.path.dirname(os.path.abspath(output))
    with Session.open(recording) as session:
        plan = plan_rerun(session.meta, os.path.basename(recording))
        chosen = sorted({session.check_seq(m) for m in moments}) if moments else None
        at = chosen if chosen is not None else default_moments(session)
        n = write_rows(events_path, (event_row(ev) for ev in session.events()))
        checks, big = [], {}
        for seq in at:
            expected = process_expectations(session, session.world_at(seq))
            text = pprint.pformat(expected, width=_WIDTH - 8, sort_dicts=False)
            if text.count("\n") + 1 > INLINE_LINES:
                big[str(seq)] = expected
                text = ""
            checks.append(_moment_test(session, seq, text))
        source = _module(plan, recording, output, folder, n, at, command, bool(big), checks)
    if big:
        with open(states_path, "w", encoding="utf-8") as f:
            json.dump(big, f, allow_nan=False, ensure_ascii=False, indent=1)
    elif os.path.exists(states_path):
        os.remove(states_path)  # an older generation's, no longer read
    with open(output, "w", encoding="utf-8") as f:
        f.write(source)
    return GeneratedTest(output, events_path, states_path if big else None, n, tuple(at))


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()[:40] or "process"


def _moment_test(session: Session, seq: int, expected_text: str) -> str:
    ev = session.event(seq)
    who = session.process_name(ev.pid) if present.pid_or_none(ev.pid) is not None else "system"
    name = f"test_after_event_{seq}_{_slug(ev.kind_name)}_{_slug(who)}"
    line = re.sub(r"\s{2,}", " ", present.event_line(session, ev, 72))
    line = line.replace("\\", "\\\\").replace('"""', "'''")
    if line.endswith('"'):  # it would run into the closing quotes
        line += " "
    if expected_text:
        body = "    expected = " + expected_text.replace("\n", "\n" + " " * 15) + "\n"
    else:
        body = f"    expected = STATES[{str(seq)!r}]  # long: kept in the states file\n"
    return (
        f"def {name}(run: NewRun) -> None:\n"
        f'    """The processes after {line}"""\n'
        f"{body}"
        f"    run.assert_processes({seq}, expected)\n"
    )


def _module(
    plan: RerunPlan, recording: str, output: str, folder: str, n: int, at: Sequence[int],
    command: str, has_states: bool, checks: list[str],
) -> str:  # fmt: skip
    base = os.path.splitext(os.path.basename(output))[0]
    moments = ", ".join(f"#{m}" for m in at) or "none"
    regenerate = command or f"cinema gen-test {recording} -o {output} --force"
    lines = [
        f'"""Regression test generated by `cinema gen-test` from {os.path.basename(recording)}.',
        "",
        f"It runs {plan.description} again in the deterministic sandbox and checks",
        "that it still does what the recording holds:",
        "",
        f"- the same {n:,} events, in order (kept in {base}.events.jsonl, one a line);",
        f"- every process's status, state and mailbox length after events {moments}.",
        "",
        "When the behaviour changes on purpose, generate the test again:",
        "",
        f"    {regenerate}",
        '"""',
        "",
        "from collections.abc import Iterator",
        "from pathlib import Path",
        "",
        "import pytest",
        "",
        "from cinema.reuse.expected import read_rows",
        f"from cinema.reuse.regression import NewRun, {plan.kind}, run_again",
        "",
        "HERE = Path(__file__).resolve().parent",
        f"RECORDED = {_plan_source(plan, folder)}",
        f'EVENTS = read_rows(HERE / "{base}.events.jsonl")',
    ]
    if has_states:
        lines[lines.index("from pathlib import Path")] = "import json\nfrom pathlib import Path"
        lines.append(f'STATES = json.loads((HERE / "{base}.states.json").read_text("utf-8"))')
    lines += [
        "",
        "",
        '@pytest.fixture(scope="module")',
        "def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewRun]:",
        '    """The recorded program, run again with the recorded seed."""',
        '    with run_again(RECORDED, tmp_path_factory.mktemp("run"), EVENTS) as new_run:',
        "        yield new_run",
        "",
        "",
        "def test_the_run_has_the_recorded_events(run: NewRun) -> None:",
        '    """Every event, in order: kind, process, peer, message id and data."""',
        "    run.assert_events(EVENTS)",
    ]
    for check in checks:
        lines += ["", "", check.rstrip("\n")]
    return "\n".join(lines) + "\n"


def _plan_source(plan: RerunPlan, folder: str) -> str:
    """The ``scenario(...)`` or ``program(...)`` call that stands for ``plan``."""
    options = dict(plan.options)
    if plan.kind == "scenario":
        extra = f", options={options!r}" if options else ""
        return f"scenario({plan.scenario!r}, seed={plan.seed}, scale={plan.scale}{extra})"
    cwd = plan.cwd or folder
    rel = os.path.relpath(cwd, folder)
    where = "HERE" if rel == "." else f"HERE / {rel!r}"
    if rel.startswith(".." + os.sep + ".." + os.sep + ".."):  # far away: say it as it is
        where = repr(cwd)
    args: list[str] = [repr(list(plan.python_argv)), f"cwd={where}", f"seed={plan.seed}"]
    if plan.how != "cinema record":
        args.append(f"how={plan.how!r}")
    if plan.how == "cinema record" and plan.runtime_index != 1:
        args.append(f"runtime_index={plan.runtime_index}")
    if plan.seed_env is not None:
        args.append(f"seed_env={plan.seed_env!r}")
    if options.get("trace_from_env"):  # cinema record --trace-calls: the re-run sets it up
        tracing = {k: v for k, v in options.items() if k.startswith("trace_")}
        shown = pprint.pformat(tracing, width=_WIDTH - 12, sort_dicts=True)
        args.append("options=" + shown.replace("\n", "\n" + " " * 12))
    call = f"program({', '.join(args)})"
    if len(call) + 11 <= _WIDTH:
        return call
    return "program(\n    " + ",\n    ".join(args) + ",\n)"
