"""Decoded payload values back into their encoded form (msgpack with the extension types of
``docs/session-format.md``).

The recorder's encoder takes *live* values: handed a decoded :class:`~recorder.payload.Record`
it would record that dataclass itself. A keyframe built from the model's world holds decoded
values (states, queued messages, exit reasons), so it needs the inverse of ``decode_payload``:
:func:`repack` gives a value whose ``decode_payload`` equals the decoded one.
"""

from __future__ import annotations

from typing import Any

import msgpack

from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated

__all__ = ["pack", "repack"]

_MIN, _MAX = -(1 << 63), (1 << 64) - 1


def _ext(code: int, inner: Any) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb(inner, use_bin_type=True))


def repack(v: Any) -> Any:
    """The msgpack-ready form of a decoded value (extension types as ``msgpack.ExtType``)."""
    if v is None or isinstance(v, (bool, float, str, bytes, msgpack.ExtType)):
        return v
    if isinstance(v, int):
        return v if _MIN <= v <= _MAX else _ext(10, str(v))
    if isinstance(v, list):
        return [repack(x) for x in v]
    if isinstance(v, dict):
        return {_key(k): repack(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return _ext(1, [repack(x) for x in v])
    if isinstance(v, frozenset):
        return _ext(3, [_key(x) for x in v])
    if isinstance(v, set):
        return _ext(2, [_key(x) for x in v])
    if isinstance(v, Record):
        return _ext(4, [v.type_name, {_key(k): repack(x) for k, x in v.fields}])
    if isinstance(v, EnumValue):
        return _ext(5, [v.type_name, v.name, repack(v.value)])
    if isinstance(v, Pid):
        return _ext(6, v.n)
    if isinstance(v, Ref):
        return _ext(7, v.n)
    if isinstance(v, Opaque):
        return _ext(8, [v.type_name, v.text])
    if isinstance(v, Truncated):
        return _ext(9, [v.what, v.size, repack(v.preview)])
    return _ext(8, [type(v).__name__, repr(v)[:200]])


def _key(k: Any) -> Any:
    # keys and set members decode as hashable values: tuples, frozensets, ...
    return repack(k)


def pack(v: Any) -> bytes:
    """The encoded payload of a decoded value (``b""`` for ``None``, as the writer does)."""
    if v is None:
        return b""
    return msgpack.packb(repack(v), use_bin_type=True)  # type: ignore[no-any-return]
