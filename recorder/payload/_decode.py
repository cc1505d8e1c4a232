"""Decoding payload bytes. Never runs code: extension types become the display types of
:mod:`recorder.payload._types`; no class named in a file is ever looked up or instantiated."""

from __future__ import annotations

import threading
from typing import Any

import msgpack

from recorder.payload._types import (
    EXT_BIGINT,
    EXT_ENUM,
    EXT_FROZENSET,
    EXT_OPAQUE,
    EXT_PID,
    EXT_RECORD,
    EXT_REF,
    EXT_SET,
    EXT_TUPLE,
    MAX_DECODE_DEPTH,
    EnumValue,
    Opaque,
    PayloadError,
    Pid,
    Record,
    Ref,
    Truncated,
)

__all__ = ["decode_payload"]

_state = threading.local()


def _ext_hook(code: int, data: bytes) -> Any:
    depth = getattr(_state, "depth", 0)
    if depth >= MAX_DECODE_DEPTH:
        raise PayloadError(f"payload nested deeper than {MAX_DECODE_DEPTH} extension levels")
    if not EXT_TUPLE <= code <= EXT_BIGINT:
        return Opaque(f"ext{code}", f"<unknown extension {code}, {len(data)} bytes>")
    _state.depth = depth + 1
    try:
        inner = _unpack(data)
        if code == EXT_TUPLE:
            return tuple(_expect(inner, list, code))
        if code == EXT_SET:
            return set(_expect(inner, list, code))
        if code == EXT_FROZENSET:
            return frozenset(_expect(inner, list, code))
        if code == EXT_PID:
            return Pid(_expect(inner, int, code))
        if code == EXT_REF:
            return Ref(_expect(inner, int, code))
        if code == EXT_BIGINT:
            text = _expect(inner, str, code)
            if len(text) > 5000 or not text.lstrip("-").isdigit():
                raise PayloadError("malformed big integer")
            return int(text)
        if code == EXT_RECORD:
            name, fields = _expect_len(inner, 2, code)
            return Record(str(name), tuple(_expect(fields, dict, code).items()))
        if code == EXT_ENUM:
            name, member, value = _expect_len(inner, 3, code)
            return EnumValue(str(name), str(member), value)
        if code == EXT_OPAQUE:
            name, text = _expect_len(inner, 2, code)
            return Opaque(str(name), str(text))
        # EXT_TRUNCATED, the last code in range
        what, size, preview = _expect_len(inner, 3, code)
        return Truncated(str(what), int(size) if isinstance(size, int) else 0, preview)
    except TypeError as exc:  # unhashable set members or map keys from a crafted file
        raise PayloadError(f"malformed extension {code}: {exc}") from None
    finally:
        _state.depth = depth


def _expect(v: Any, t: type, code: int) -> Any:
    if not isinstance(v, t) or (t is int and isinstance(v, bool)):
        raise PayloadError(f"malformed extension {code}: expected {t.__name__}")
    return v


def _expect_len(v: Any, n: int, code: int) -> list[Any]:
    if not isinstance(v, list) or len(v) != n:
        raise PayloadError(f"malformed extension {code}: expected a list of {n}")
    return v


def _unpack(data: bytes | memoryview) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, strict_map_key=False, raw=False, use_list=True)


def decode_payload(data: bytes | memoryview) -> Any:
    """Decode payload bytes written by ``encode_payload``. ``b""`` decodes to ``None``.

    Raises:
        PayloadError: the bytes are not a valid payload (never any other exception).
    """
    if len(data) == 0:
        return None
    try:
        return _unpack(data)
    except PayloadError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise PayloadError(f"corrupt payload: {exc}") from None
