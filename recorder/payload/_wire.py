"""msgpack's building blocks, as the payload encoders write them: headers of arrays, maps and
extension types, strings (lone surrogates replaced one for one) and ``Truncated`` markers.

Part of the pure-Python encoder (:mod:`recorder.payload._walk`); every function has a twin in
``recorder/_native/encoder.c``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgpack

from recorder.payload._types import EXT_TRUNCATED

_ExtType = msgpack.ExtType
_packb: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True).pack
_U16 = struct.Struct(">H").pack
_U32 = struct.Struct(">I").pack


def _arr_hdr(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    return b"\xdc" + _U16(n) if n < 0x10000 else b"\xdd" + _U32(n)


def _map_hdr(n: int) -> bytes:
    if n < 16:
        return bytes((0x80 | n,))
    return b"\xde" + _U16(n) if n < 0x10000 else b"\xdf" + _U32(n)


def _ext_hdr(code: int, n: int) -> bytes:
    c = code & 0xFF
    if n == 1:
        return bytes((0xD4, c))
    if n == 2:
        return bytes((0xD5, c))
    if n == 4:
        return bytes((0xD6, c))
    if n == 8:
        return bytes((0xD7, c))
    if n == 16:
        return bytes((0xD8, c))
    if n < 0x100:
        return bytes((0xC7, n, c))
    if n < 0x10000:
        return b"\xc8" + _U16(n) + bytes((c,))
    return b"\xc9" + _U32(n) + bytes((c,))


def _ext(code: int, body: bytes) -> bytes:
    return _ext_hdr(code, len(body)) + body


def _text(s: str) -> bytes:
    """An exact ``str`` as msgpack; characters UTF-8 cannot hold (lone surrogates) become
    ``?``, one for one, so the length in characters is kept."""
    try:
        return _packb(s)
    except UnicodeEncodeError:
        b = s.encode("utf-8", "replace")
        n = len(b)
        if n < 32:
            return bytes((0xA0 | n,)) + b
        if n < 0x100:
            return bytes((0xD9, n)) + b
        return (b"\xda" + _U16(n) if n < 0x10000 else b"\xdb" + _U32(n)) + b


def _marker(what: str, size: int, preview: bytes = b"\xc0") -> bytes:
    """A ``Truncated`` marker; ``preview`` is already encoded (nil by default)."""
    return _ext(EXT_TRUNCATED, b"\x93" + _text(what) + _packb(size) + preview)


def _valid_ext(v: Any) -> bool:
    return (
        tuple.__len__(v) == 2 and type(v[0]) is int and -128 <= v[0] <= 127 and type(v[1]) is bytes
    )


def _is_marker(v: Any) -> bool:
    """``v`` is a ``Truncated`` marker already in structural form (``to_structural``'s
    output): it is never cut again and costs no node, so encoding stays idempotent."""
    return type(v) is _ExtType and _valid_ext(v) and v[0] == EXT_TRUNCATED
