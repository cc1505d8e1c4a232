"""Hostile input on the command line: every subcommand over every crafted session, and a table
of bad paths, times, event numbers and processes, in subprocesses (``fuzz.clitable`` runs many
command lines through the real entry point in one process). The outcome is always exit status
0, or 2 with one ``cinema: error:`` line on stderr, or 1 when a command listed a damaged file
but for the events it could not read (``cinema: warning:`` lines naming them, then one
``cinema: the file is damaged:`` line); never a traceback, a hang or a crash."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fuzz import corpus

REPO = Path(__file__).resolve().parents[2]
#: The 200^3 state costs every command seconds (8 M objects): it has a test of its own.
SESSIONS = sorted(
    p for p in (corpus.CORPUS / "sessions").glob("*.cinema") if p.stem != "state-200-cubed"
)
GOOD = str(corpus.CORPUS / "sessions" / "good.cinema")
#: Address space a hostile input may make a command use (a few-KB file once asked for 8 TiB).
MEMORY_LIMIT = 3 << 30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(REPO)
    return env


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=REPO,
        preexec_fn=_limit_memory,
    )  # fmt: skip


def _clean(exit_code: int, stderr: list[str], usage_ok: bool = False) -> str | None:
    """Why an outcome is not clean (None when it is): exit 0, or exit 2 with one
    ``cinema: error:`` line (indented lines may follow it: an expression's caret), or with
    click's usage error when ``usage_ok``."""
    if any("Traceback" in line for line in stderr):
        return "a traceback"
    if exit_code == 0:
        return None
    if exit_code == 1:  # listed but for what it could not read (cinema/cli/_damage.py)
        rest = [line for line in stderr if not line.startswith("cinema: warning:")]
        if len(rest) == 1 and rest[0].startswith("cinema: the file is damaged: "):
            return None
        return f"exit status 1 without the one damage summary: {rest[:5]}"
    if exit_code != 2:
        return f"exit status {exit_code}"
    lines = [line for line in stderr if not line.startswith("cinema: warning:")]
    if usage_ok and lines and lines[-1].startswith("Error: "):
        return None  # click's usage error: Usage / Try / Error lines
    if (
        not lines
        or not lines[0].startswith("cinema: error: ")
        or any(line and not line.startswith(" ") for line in lines[1:])
    ):
        return f"stderr is not one error line: {lines[:5]}"
    return None


@pytest.fixture(scope="module")
def corpus_table() -> dict[str, list[dict[str, object]]]:
    """``fuzz.clitable`` over every corpus session: two subprocesses, half the files each."""

    def part(paths: list[Path]) -> list[dict[str, object]]:
        proc = _run([sys.executable, "-m", "fuzz.clitable", *map(str, paths)], timeout=600)
        rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0:  # a crash: blame the file it was on
            last = str(rows[-1]["file"]) if rows else str(paths[0])
            rows.append({"file": last, "args": ["(the whole process)"], "exit": proc.returncode,
                         "stderr": proc.stderr.splitlines()[-5:], "exception": None})  # fmt: skip
        return rows

    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(part, [SESSIONS[0::2], SESSIONS[1::2]]))
    table: dict[str, list[dict[str, object]]] = {p.stem: [] for p in SESSIONS}
    for row in (r for rows in parts for r in rows):
        table[Path(str(row["file"])).stem].append(row)
    return table


@pytest.mark.parametrize("name", [p.stem for p in SESSIONS])
def test_every_command_on_every_crafted_session_ends_cleanly(
    corpus_table: dict[str, list[dict[str, object]]], name: str
) -> None:
    from fuzz.clitable import COMMANDS

    rows = corpus_table[name]
    assert len(rows) == len(COMMANDS), rows[-1]
    bad = []
    for row in rows:
        why = "an exception escaped" if row["exception"] else None
        why = why or _clean(int(row["exit"]), list(row["stderr"]))  # type: ignore[arg-type, call-overload]
        if why:
            detail = row["exception"] or "\n".join(row["stderr"][-12:])  # type: ignore[index]
            bad.append(f"cinema {' '.join(row['args'])}: {why}\n{detail}")  # type: ignore[arg-type]
    assert not bad, "\n".join(bad)


def test_the_good_session_works_in_every_command(
    corpus_table: dict[str, list[dict[str, object]]],
) -> None:
    assert [r["exit"] for r in corpus_table["good"]] == [0] * len(corpus_table["good"])


def test_refusals_name_their_reason(corpus_table: dict[str, list[dict[str, object]]]) -> None:
    def errors(name: str) -> str:
        return " ".join(line for r in corpus_table[name] for line in r["stderr"])  # type: ignore[attr-defined]

    assert "zstd bomb" in errors("zstd-bombs")
    assert "process ids must be below" in errors("pid-fffffffe")
    assert "chosen to collide" in errors("hash-collisions")
    assert "1,000,000 processes" in errors("keyframe-1m-processes")
    assert "nested deeper than 256 levels" in errors("nested-1000")


# --------------------------------------------------------------------------- bad arguments


@pytest.fixture(scope="module")
def odd_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("odd")
    fifo = d / "fifo"
    os.mkfifo(fifo)
    (d / "loop1").symlink_to(d / "loop2")
    (d / "loop2").symlink_to(d / "loop1")
    (d / "folder").mkdir()
    return {
        "fifo": str(fifo),
        "loop": str(d / "loop1"),
        "folder": str(d / "folder"),
        "long_name": str(d / ("x" * 300)),
        "long_path": str(d / "/".join(["a"] * 3000)),
        "missing": str(d / "missing.cinema"),
        "out": str(d),
    }


NINES = "9" * 5000
BAD_ARGUMENTS = [
    # sessions that are not files
    ("info", "{fifo}"), ("events", "{fifo}"), ("breaks", "{fifo}", "--when", "true"),
    ("state", "{fifo}", "-e", "0"), ("graph", "{fifo}"),
    ("screenshot", "{fifo}", "-o", "{out}/a.png"),
    ("open", "{fifo}"), ("open", "{missing}"), ("open", "{loop}"), ("info", "{loop}"),
    ("events", "{loop}"), ("state", "{long_name}", "-e", "1"), ("graph", "{long_path}"),
    ("info", "{folder}"), ("info", "{missing}"),
    # outputs that cannot be written
    ("screenshot", GOOD, "-o", "{fifo}"), ("screenshot", GOOD, "-o", "{loop}/a.png"),
    ("screenshot", GOOD, "-o", "{long_name}.png"), ("screenshot", GOOD, "-o", "{folder}"),
    ("demo", "--headless", "--record", "{fifo}"), ("demo", "--headless", "--record", "{loop}"),
    ("demo", "--headless", "--record", "{long_path}"),
    # times, event numbers, processes
    ("events", GOOD, "--from", "#" + NINES), ("events", GOOD, "--from", "#²"),
    ("events", GOOD, "--to", "9" * 400 + "s"), ("events", GOOD, "--from", "1e999s"),
    ("events", GOOD, "--from", "nan"), ("events", GOOD, "--to", "-inf"),
    ("events", GOOD, "--from", "#٣"), ("events", GOOD, "-p", NINES),
    ("events", GOOD, "-p", f"<0.{NINES}.0>"), ("graph", GOOD, "--from", "#" + NINES),
    ("state", GOOD, "--at", "#" + NINES), ("state", GOOD, "--at", "9" * 400 + "s"),
    ("state", GOOD, "--at", "0s", "-p", NINES), ("state", GOOD, "-e", "9" * 100),
    ("screenshot", GOOD, "--at", "1e999s", "-o", "{out}/b.png"),
    ("screenshot", GOOD, "--at", "nan", "-o", "{out}/b.png"),
    ("screenshot", GOOD, "-e", "9" * 100, "-o", "{out}/b.png"),
    ("breaks", GOOD, "--when", "#" + NINES),
]  # fmt: skip


def test_bad_arguments_to_every_subcommand_end_cleanly(odd_paths: dict[str, str]) -> None:
    cases = [[a.format(**odd_paths) for a in case] for case in BAD_ARGUMENTS]
    half = len(cases) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(
            lambda part: _run([sys.executable, "-m", "fuzz.clitable", "--json", json.dumps(part)],
                              timeout=300),
            [cases[:half], cases[half:]],
        ))  # fmt: skip
    rows = [json.loads(line) for p in procs for line in p.stdout.splitlines()]
    assert len(rows) == len(cases), [p.stderr[-2000:] for p in procs]
    bad = []
    for row in rows:
        why = "an exception escaped" if row["exception"] else None
        why = why or _clean(row["exit"], row["stderr"], usage_ok=True)
        if why is None and row["exit"] == 0 and row["args"][0] != "screenshot":
            why = "succeeded"
        if why:
            bad.append(f"cinema {' '.join(row['args'])[:160]}: {why}\n{row['exception'] or ''}")
    assert not bad, "\n".join(bad)


def test_a_state_of_eight_million_leaves_is_shown_and_printed() -> None:
    cube = corpus.CORPUS / "sessions" / "state-200-cubed.cinema"
    commands = [["screenshot", str(cube), "-o", "{out}/cube.png"], ["state", str(cube), "-e", "1"]]
    proc = _run([sys.executable, "-m", "fuzz.clitable", "--json", json.dumps(commands)])
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["exit"] for r in rows] == [0, 0], proc.stderr[-2000:]


def test_a_fifo_is_refused_without_waiting_for_a_writer(odd_paths: dict[str, str]) -> None:
    proc = _run([sys.executable, "-m", "cinema", "info", odd_paths["fifo"]], timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"cinema: error: {odd_paths['fifo']}: is a FIFO (named pipe), " \
        "not a session file"  # fmt: skip


def test_open_without_a_display_prints_the_error_and_exits(odd_paths: dict[str, str]) -> None:
    bomb = str(corpus.CORPUS / "sessions" / "zstd-bombs.cinema")
    for target in (odd_paths["missing"], bomb):
        proc = _run([sys.executable, "-m", "cinema", "open", target], timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines()[-1].startswith("cinema: error: "), proc.stderr
