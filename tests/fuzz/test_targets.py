"""The fuzz targets of ``fuzz/targets.py`` under hypothesis, with a short fixed budget: the
corpus, mutations of it, and token soups. Only a target's clean refusal may escape it.

The longer, coverage-guided pass is ``./run fuzz TARGET SECONDS`` (atheris; README).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets

REPO = Path(__file__).resolve().parents[2]
BUDGET = settings(
    max_examples=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip


@pytest.mark.parametrize("target", list(targets.TARGETS))
def test_every_seed_gets_a_clean_outcome_from_its_target(target: str) -> None:
    seeds = targets.seeds(target)
    assert seeds, f"no seeds for {target}"
    for data in seeds:
        started = time.perf_counter()
        targets.run(target, data)
        assert time.perf_counter() - started < 60


@st.composite
def mutated(draw: st.DrawFn, target: str) -> bytes:
    """A seed of ``target`` with a few bytes changed, inserted, deleted, or cut short."""
    data = bytearray(draw(st.sampled_from(targets.seeds(target))))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "splice"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "cut":
            del data[at:]
        elif op == "splice":  # a piece of another seed (frame headers, tokens)
            other = draw(st.sampled_from(targets.seeds(target)))
            i = draw(st.integers(0, max(len(other) - 1, 0)))
            data[at:at] = other[i : i + draw(st.integers(1, 64))]
    return bytes(data)


@pytest.mark.parametrize("target", list(targets.TARGETS))
def test_mutated_seeds_get_a_clean_outcome(target: str) -> None:
    @BUDGET
    @given(data=mutated(target) | st.binary(max_size=200))
    def check(data: bytes) -> None:
        targets.run(target, data)

    check()


_TOKENS = [
    "kind", "pid", "peer", "process", "msg", "msg_type", "state", "prev_state", "reason", "t",
    "seq", "data", "trigger", "ref", "behaviour", "peer_process", "len", "type", "abs", "min",
    "max", "str", "changed", "contains", "startswith", "endswith", "and", "or", "not", "in",
    "true", "false", "none", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "~",
    "(", ")", "[", "]", ",", ".", '"send"', '"(a+)+$"', '"a{4294967296}"', "0", "1", "2.5",
    "1e308", "9" * 40, "__class__", "_x", "import", "eval", "=", "&&", "!", "'", '"', "\\",
    "#", "@", "ü",
]  # fmt: skip


@BUDGET
@given(tokens=st.lists(st.sampled_from(_TOKENS), max_size=60))
def test_token_soups_parse_or_raise_expr_error_and_evaluate_totally(tokens: list[str]) -> None:
    targets.run("expression", " ".join(tokens).encode())


@BUDGET
@given(
    depth=st.integers(1, 400),
    wrap=st.sampled_from(
        [
            "({})",
            "not {}",
            "-{}",
            "[{}]",
            "{} + 1",
            "1 + {}",
            "len({})",
            "{}.x",
            "{}[0]",
            "{} or true",
            "true and {}",
        ]
    ),
)
def test_deep_expressions_are_refused_at_parse_time_not_by_recursion(depth: int, wrap: str) -> None:
    text = "1"
    for _ in range(depth):
        text = wrap.format(text)
    targets.run("expression", text.encode()[:4000])


@BUDGET
@given(text=st.text(max_size=80))
def test_anything_typed_for_a_moment_or_a_process_is_parsed_or_refused(text: str) -> None:
    targets.run("moment", text.encode())


@BUDGET
@given(text=st.text(alphabet=st.sampled_from(list("a()[]{}+*?|^$\\1=!<>PZ,0123456789:-")),
                    max_size=60))  # fmt: skip
def test_regex_soups_compile_or_raise_pattern_error(text: str) -> None:
    targets.run("pattern", text.encode())


def test_the_coverage_guided_harness_runs(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz", "pattern", "--runs", "300"], cwd=REPO,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 300 runs" in proc.stderr
