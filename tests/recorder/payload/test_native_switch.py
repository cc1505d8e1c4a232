"""``CINEMA_NATIVE=0`` switches the whole recorder to the pure-Python encoder, and recordings
come out byte for byte the same either way; the rest of the recorder's tests pass on the
fallback too (they run once more, in a subprocess, with the switch set)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recorder.payload import NATIVE
from recorder.session.reader import SessionReader

ROOT = Path(__file__).resolve().parents[3]
_PYTEST = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
_DEMO = [sys.executable, "-m", "cinema", "demo", "--headless"]


def _env(native: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CINEMA_NATIVE", None)
    if not native:
        env["CINEMA_NATIVE"] = "0"
    return env


def _recorded(path: Path) -> tuple[list[Any], list[bytes], list[Any]]:
    """Every event's columns and payload bytes, and every keyframe's raw body. (The file
    header holds the host, pid and wall clock, and the writer cuts frames on a real-time
    flush interval: neither is the encoder's.)"""
    with SessionReader(path) as r:
        sk = r.skeleton()
        columns = [
            np.asarray(sk.ts).tolist(),
            np.asarray(sk.kind).tolist(),
            np.asarray(sk.pid).tolist(),
            np.asarray(sk.peer).tolist(),
            r.refs().tolist(),
        ]
        payloads = [r.payload_bytes(i) for i in range(r.event_count)]
    data = path.read_bytes()
    (meta_len,) = struct.unpack_from("<I", data, 12)
    pos = 16 + meta_len
    keyframes = []
    while data[pos : pos + 4] == b"CFRM":
        body = sum(struct.unpack_from("<3I", data, pos + 40))
        if data[pos + 4] == 2:  # KEYFRAME
            keyframes.append(data[pos + 8 : pos + 64 + body])  # all but the magic and type
        pos += 64 + body
    return columns, payloads, keyframes


def test_the_switch_selects_the_encoder() -> None:
    code = "import recorder.payload as p; print(p.NATIVE, p.ENCODER, p.EventBuffer.__module__)"
    off = subprocess.run(
        [sys.executable, "-c", code], env=_env(False), capture_output=True, text=True, check=True
    )
    assert off.stdout.split()[:2] == ["False", "pure-Python"]
    assert "recorder.payload" in off.stdout
    on = subprocess.run(
        [sys.executable, "-c", code], env=_env(True), capture_output=True, text=True, check=True
    )
    built = importlib.util.find_spec("recorder._native._core") is not None
    assert on.stdout.startswith(str(built))  # on whenever it is built


def test_a_compiler_here_means_the_native_module_is_built() -> None:
    if os.environ.get("CINEMA_NATIVE") == "0":
        pytest.skip("the pure-Python encoder was asked for")
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler on this machine: the fallback is expected")
    assert NATIVE, "a C compiler is here but recorder._native._core was not built (./run)"


@pytest.mark.parametrize("scenario", ["bank", "chat", "pipeline"])
def test_demo_recordings_are_identical_with_and_without_the_native_encoder(
    scenario: str, tmp_path: Path
) -> None:
    if not NATIVE:
        pytest.skip("the native encoder is not built")
    paths = []
    for native in (True, False):
        path = tmp_path / f"{scenario}-{int(native)}.cinema"
        subprocess.run(
            [*_DEMO, "--scenario", scenario, "--seed", "5", "--record", str(path)],
            env=_env(native),
            capture_output=True,
            check=True,
            timeout=120,
        )
        paths.append(path)
    columns, payloads, keyframes = _recorded(paths[0])
    assert len(payloads) > 100 and keyframes
    assert _recorded(paths[1]) == (columns, payloads, keyframes)


def test_the_recorder_suite_passes_on_the_pure_python_encoder() -> None:
    if not NATIVE:
        pytest.skip("the whole suite already runs on the pure-Python encoder")
    proc = subprocess.run(
        [*_PYTEST, "tests/recorder", "--ignore=tests/recorder/payload", "-m", "not slow"],
        env=_env(False),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
