from __future__ import annotations

from collections.abc import Iterator

import pytest

from recorder.sandbox import Runtime
from recorder.testing import CaptureSink


@pytest.fixture
def sink() -> CaptureSink:
    return CaptureSink()


@pytest.fixture
def rt(sink: CaptureSink) -> Iterator[Runtime]:
    runtime = Runtime(deterministic=True, seed=7, record=sink, profile_interval_ms=None)
    yield runtime
    runtime.close()
