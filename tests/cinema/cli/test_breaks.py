"""`cinema breaks FILE --when EXPR`: hits, JSON, limits, and bad input without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cinema.cli import main

from ..model import bp_sessions


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(bp_sessions.bank_session(tmp_path_factory.mktemp("cli") / "bank.cinema"))


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_lists_hits(bank: str) -> None:
    r = run("breaks", bank, "--when", 'msg_type == "withdraw" and state.balance < 0')
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert (
        lines[0].startswith("#11") and "state       account-1 <0.1.0> <- client <0.3.0>" in lines[0]
    )
    assert "balance: -30" in lines[0]
    assert lines[-1].startswith("1 hit")


def test_json_and_limit(bank: str) -> None:
    r = run("breaks", bank, "--when", 'kind in ["send", "receive"]', "--json", "--limit", "3")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [h["seq"] for h in doc["hits"]] == [6, 7, 9]
    assert doc["truncated"] is True and doc["count"] == 3
    assert doc["hits"][0]["kind"] == "send" and doc["hits"][0]["process"] == "client"


def test_no_hits(bank: str) -> None:
    r = run("breaks", bank, "--when", "seq > 1000")
    assert r.exit_code == 0 and r.output.strip() == "0 hits"


@pytest.mark.parametrize(
    ("expr", "first", "caret_col"),
    [
        ("kind == foo", "col 9: unknown name 'foo'", 9),
        ("state.__class__", "col 7: forbidden field '__class__'", 7),
        ("__import__('os')", "col 1: forbidden name '__import__'", 1),
        ("kind == 'crash' and", "col 20: unexpected end of expression", 20),
        ("eval('1')", "col 1: forbidden name 'eval'", 1),
    ],
)
def test_bad_expression(bank: str, expr: str, first: str, caret_col: int) -> None:
    r = run("breaks", bank, "--when", expr)
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    err = r.stderr.splitlines()
    assert err[0].startswith(f"cinema: error: --when: {first}")
    assert err[1] == f"  {expr}"
    assert err[2] == " " * (1 + caret_col) + "^"
    assert r.stdout == ""


def test_bad_session(tmp_path: Path) -> None:
    junk = tmp_path / "junk.cinema"
    junk.write_bytes(b"not a session at all")
    r = run("breaks", str(junk), "--when", "true")
    assert r.exit_code == 2 and r.stderr.startswith("cinema: error: ")
    r = run("breaks", str(tmp_path / "missing.cinema"), "--when", "true")
    assert r.exit_code == 2 and "no such file" in r.stderr.lower()
    r = run("breaks", str(junk))
    assert r.exit_code == 2 and "--when" in r.stderr
    r = run("breaks", str(junk), "--when", "true", "--limit", "0")
    assert r.exit_code == 2
