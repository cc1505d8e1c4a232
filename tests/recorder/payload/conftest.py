"""Both payload encoders and both event buffers, for tests that must hold for each of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from recorder.payload import NATIVE, _buffer, _walk

try:
    from recorder._native import _core as native
except ImportError:  # not built (no compiler): the fallback is what runs, and what is tested
    native = None  # type: ignore[assignment]
if not NATIVE:  # CINEMA_NATIVE=0: the module is not set up; the fallback is what runs
    native = None  # type: ignore[assignment]

Encode = Callable[..., bytes]

IMPLS = ["python", "native"]


def encoder_of(name: str) -> Encode:
    if name == "python":
        return _walk.encode
    if native is None:
        pytest.skip("the native encoder is not in use (not built, or CINEMA_NATIVE=0)")
    return native.encode  # type: ignore[no-any-return]


def buffer_class_of(name: str) -> Any:
    if name == "python":
        return _buffer.EventBuffer
    if native is None:
        pytest.skip("the native encoder is not in use (not built, or CINEMA_NATIVE=0)")
    return native.EventBuffer


@pytest.fixture(params=IMPLS)
def encode(request: pytest.FixtureRequest) -> Encode:
    """``encode(value, limits)`` of one implementation."""
    return encoder_of(request.param)


@pytest.fixture(params=IMPLS)
def buffer_class(request: pytest.FixtureRequest) -> Any:
    """``EventBuffer`` of one implementation."""
    return buffer_class_of(request.param)


def both() -> tuple[Encode, Encode]:
    """The Python and the native encoder (skips when the native one is not built)."""
    return encoder_of("python"), encoder_of("native")
