"""The benchmark harness: registry, figures, output formats, timing helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import _harness
from benchmarks.__main__ import main as bench_main
from benchmarks._harness import Figure, benchmark, interleaved, percentile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_benchmark() -> Iterator[str]:
    name = "fake-for-test"

    @benchmark(name, help="a fake benchmark")
    def fake(quick: bool) -> Iterator[Figure]:
        yield Figure("speed", 2.0 if quick else 3.0, "ops/s", baseline=1.0, goal=">= 2 ops/s")
        yield Figure("size", 5.0, "B", note="no baseline")

    yield name
    del _harness._REGISTRY[name]


def test_figure_ratio_defaults_to_value_over_baseline() -> None:
    assert Figure("x", 3.0, "s", baseline=2.0).ratio == 1.5
    assert Figure("x", 3.0, "s").ratio is None
    assert Figure("x", 3.0, "s", baseline=0.0).ratio is None
    assert Figure("x", 3.0, "s", baseline=2.0, ratio=9.0).ratio == 9.0


def test_json_output_has_one_object_per_figure(
    fake_benchmark: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main([fake_benchmark, "--quick", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["figure"] for r in rows] == ["speed", "size"]
    for row in rows:
        assert {"figure", "value", "unit", "baseline", "ratio", "goal", "note"} <= row.keys()
        assert row["benchmark"] == fake_benchmark
    assert rows[0]["value"] == 2.0
    assert rows[0]["ratio"] == 2.0
    assert rows[1]["baseline"] is None and rows[1]["ratio"] is None


def test_text_output_is_an_aligned_table(
    fake_benchmark: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main([fake_benchmark]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["benchmark", "figure", "value"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 4
    assert "3.00x" in lines[2] and ">= 2 ops/s" in lines[2]


def test_unknown_benchmark_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench_main(["no-such-benchmark"])
    assert exc.value.code == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_list_names_the_record_benchmark() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert "record" in names


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4], 0) == 1
    assert percentile([1, 2, 3, 4], 100) == 4
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 90) == 5
    with pytest.raises(ValueError):
        percentile([], 50)


def test_interleaved_runs_each_side_once_per_round() -> None:
    calls: list[str] = []
    ta, tb = interleaved(lambda: calls.append("a"), lambda: calls.append("b"), rounds=4)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert ta >= 0 and tb >= 0


def test_interleaved_timings_keep_each_calls_wall_and_cpu_time() -> None:
    calls: list[str] = []

    def spin() -> None:
        calls.append("a")
        t0 = time.process_time()
        while time.process_time() - t0 < 0.01:
            pass

    ta, tb = _harness.interleaved_timings(spin, lambda: calls.append("b"), rounds=3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert len(ta) == len(tb) == 3
    assert min(ta.cpu) >= 0.01 > max(tb.cpu)
    assert all(w >= c * 0.5 for w, c in zip(ta.wall, ta.cpu, strict=True))


def test_subprocess_peak_rss_sees_the_childs_allocation() -> None:
    small = _harness.subprocess_peak_rss_mb("pass")
    big = _harness.subprocess_peak_rss_mb("b = b'x' * (64 * 1024 * 1024)")
    assert big - small > 48
    assert _harness.peak_rss_mb() > 0
