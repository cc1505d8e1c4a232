"""The first encoder (a Python walker plus msgpack's C packer), kept until its replacement."""

from __future__ import annotations

import dataclasses
import enum
import operator
import threading
from collections.abc import Callable
from itertools import accumulate
from typing import Any, cast

import msgpack

from recorder.payload._types import (
    DEFAULT_LIMITS,
    EXT_BIGINT,
    EXT_ENUM,
    EXT_FROZENSET,
    EXT_OPAQUE,
    EXT_PID,
    EXT_RECORD,
    EXT_REF,
    EXT_SET,
    EXT_TRUNCATED,
    EXT_TUPLE,
    Limits,
    Packed,
    Pid,
    Ref,
)

# --------------------------------------------------------------------------- encoding

_packb: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True, strict_types=False).pack
_tuple_new = tuple.__new__


def _ext(code: int, data: bytes) -> msgpack.ExtType:
    # ExtType's own constructor validates its arguments in Python (~0.7 us); ours are known good.
    return _tuple_new(msgpack.ExtType, (code, data))


_SCALARS = (type(None), bool, int, float, str, bytes)
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


class _Walker:
    """One encoding pass; carries the byte budget across the whole value."""

    __slots__ = ("budget", "limits")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.budget = limits.max_bytes

    def walk(self, v: Any, depth: int) -> Any:
        t = type(v)
        lim = self.limits
        if self.budget <= 0:
            return _ext(EXT_TRUNCATED, _packb(["size", 0, None]))
        if t is int:
            self.budget -= 9
            if _INT_MIN <= v <= _INT_MAX:
                return v
            return _ext(EXT_BIGINT, _packb(str(v)[: lim.max_str]))
        if t is str:
            if len(v) > lim.max_str:
                self.budget -= lim.max_str
                return self._trunc("str", len(v), v[: lim.max_str])
            self.budget -= len(v) + 5
            return v
        if v is None or t is bool or t is float:
            self.budget -= 9
            return v
        if t is bytes or t is bytearray or t is memoryview:
            b = bytes(v)
            if len(b) > lim.max_str:
                self.budget -= lim.max_str
                return self._trunc("bytes", len(b), b[: lim.max_str])
            self.budget -= len(b) + 5
            return b
        if depth >= lim.max_depth and t in (list, tuple, dict, set, frozenset):
            return self._trunc("depth", len(v), None)
        if t is list:
            return self._seq(v, depth)
        if t is tuple:
            return _ext(EXT_TUPLE, _packb(self._seq(v, depth)))
        if t is dict:
            return self._map(v, depth)
        if t is set or t is frozenset:
            code = EXT_SET if t is set else EXT_FROZENSET
            try:
                items = sorted(v)
            except TypeError:  # mixed types: keep insertion order, still deterministic enough
                items = list(v)
            return _ext(code, _packb(self._seq(items, depth)))
        if t is Pid:
            self.budget -= 9
            return _ext(EXT_PID, _packb(v.n))
        if t is Ref:
            self.budget -= 9
            return _ext(EXT_REF, _packb(v.n))
        if t is msgpack.ExtType:  # already structural (to_structural's output): keep it
            self.budget -= len(v.data) + 6
            return v
        if t is Packed:
            self.budget -= len(v.data)
            return _structural_of(v)
        return self._other(v, t, depth)

    def _trunc(self, what: str, size: int, preview: Any) -> msgpack.ExtType:
        return _ext(EXT_TRUNCATED, _packb([what, size, preview]))

    def _seq(self, v: Any, depth: int) -> list[Any]:
        self.budget -= 5
        n = len(v)
        cap = self.limits.max_items
        walk = self.walk
        out: list[Any] = []
        append = out.append
        for i, x in enumerate(v):
            if i >= cap:
                append(self._trunc("items", n, None))
                break
            if self.budget <= 0:  # one marker for the whole rest, not one per item
                append(self._trunc("size", n - i, None))
                break
            append(walk(x, depth + 1))
        return out

    def _map(self, v: dict[Any, Any], depth: int) -> dict[Any, Any]:
        self.budget -= 5
        out: dict[Any, Any] = {}
        cap = self.limits.max_items
        walk = self.walk
        for i, (k, x) in enumerate(v.items()):
            if i >= cap:
                out["\u2026"] = self._trunc("items", len(v), None)
                break
            if self.budget <= 0:
                out["\u2026"] = self._trunc("size", len(v) - i, None)
                break
            key = walk(k, depth + 1)
            if isinstance(key, (list, dict)):  # unhashable once decoded: keep its text
                key = repr(k)[: self.limits.max_repr]
            out[key] = walk(x, depth + 1)
        return out

    def _record(self, type_name: str, fields: list[tuple[str, Any]], depth: int) -> Any:
        if depth >= self.limits.max_depth:
            return self._trunc("depth", len(fields), type_name)
        self.budget -= len(type_name) + 5
        cap = self.limits.max_items
        body = {str(k): self.walk(x, depth + 1) for k, x in fields[:cap]}
        if len(fields) > cap:
            body["\u2026"] = self._trunc("items", len(fields), None)
        return _ext(EXT_RECORD, _packb([type_name, body]))

    def _other(self, v: Any, t: type, depth: int) -> Any:
        name = _type_name(t)
        if isinstance(v, enum.Enum):
            self.budget -= len(name) + 10
            return _ext(
                EXT_ENUM, _packb([name, v.name, self.walk(v.value, self.limits.max_depth - 1)])
            )
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            fields = [(f.name, getattr(v, f.name, None)) for f in dataclasses.fields(v)]
            return self._record(name, fields, depth)
        if isinstance(v, tuple) and hasattr(v, "_fields"):  # named tuple
            return self._record(name, list(zip(v._fields, v, strict=False)), depth)
        if isinstance(v, BaseException):
            fields = [("args", v.args)]
            return self._record(name, fields, depth)
        if isinstance(v, (str, int, float, bytes)):  # subclasses of natives: keep the value
            return self.walk(_native(v), depth)
        if isinstance(v, (list, tuple, dict, set, frozenset)):
            return self.walk(_native(v), depth)
        d = getattr(v, "__dict__", None)
        if type(d) is dict and not callable(v):
            return self._record(name, list(d.items()), depth)
        try:
            text = repr(v)
        except Exception as exc:  # a broken __repr__ must not break recording
            text = f"<{name} (repr failed: {type(exc).__name__})>"
        text = text[: self.limits.max_repr]
        self.budget -= len(text) + len(name) + 5
        return _ext(EXT_OPAQUE, _packb([name, text]))


def _structural_of(p: Packed) -> Any:
    # The bytes back as natives and ExtTypes, which msgpack packs to the same bytes again.
    if not p.data:
        return None
    return msgpack.unpackb(p.data, raw=False, strict_map_key=False, use_list=True)


def _native(v: Any) -> Any:
    for base in (bool, int, float, str, bytes, list, tuple, dict, set, frozenset):
        if isinstance(v, base):
            return cast(Any, base)(v)
    return v


def _type_name(t: type) -> str:
    mod = getattr(t, "__module__", "")
    qual = getattr(t, "__qualname__", t.__name__)
    return qual if mod in ("builtins", "__main__", None, "") else f"{mod}.{qual}"


def freeze(value: Any, limits: Limits = DEFAULT_LIMITS) -> Packed:
    """Capture ``value`` now: encode it (as :func:`encode_payload`) into a :class:`Packed`.

    Idempotent: freezing a ``Packed`` returns it unchanged.
    """
    if type(value) is Packed:
        return value
    return Packed(encode_payload(value, limits))


def to_structural(value: Any, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Return the msgpack-ready structural form of ``value`` (natives and ExtTypes)."""
    return _Walker(limits).walk(value, 0)


class _Bail(Exception):
    """The C fast path cannot encode this value faithfully; walk it in Python."""


class _FastState(threading.local):
    def __init__(self) -> None:
        self.packers: list[Callable[[Any], bytes]] = []
        self.depth = 0


_fast_state = _FastState()
_FAST_MAX_DEPTH = 8
_FAST_CODES: dict[type, int] = {tuple: EXT_TUPLE, set: EXT_SET, frozenset: EXT_FROZENSET}


def _packer_at(depth: int) -> Callable[[Any], bytes]:
    # One packer per nesting level and thread: a msgpack Packer is not re-entrant, and the
    # default hook packs a tuple's items while the enclosing value is still being packed.
    packers = _fast_state.packers
    while len(packers) <= depth:
        packers.append(
            msgpack.Packer(use_bin_type=True, strict_types=True, default=_fast_default).pack
        )
    return packers[depth]


def _fast_default(obj: Any) -> Any:
    t = type(obj)
    if t is Pid:
        return _ext(EXT_PID, _packb(obj.n))
    if t is Ref:
        return _ext(EXT_REF, _packb(obj.n))
    if t is Packed:
        return _structural_of(obj)
    code = _FAST_CODES.get(t)
    if code is None:
        raise _Bail
    st = _fast_state
    depth = st.depth + 1
    if depth > _FAST_MAX_DEPTH:
        raise _Bail
    items = list(obj) if t is tuple else sorted(obj)  # sorted: raises TypeError on mixed types
    st.depth = depth
    try:
        return _ext(code, _packer_at(depth)(items))
    finally:
        st.depth = depth - 1


def _fast_limit(limits: Limits) -> int:
    # A value packed into at most this many bytes cannot hold more items, or a longer string,
    # than the limits allow (each item takes at least one byte).
    if limits is DEFAULT_LIMITS:
        return _DEFAULT_FAST_LIMIT
    return min(limits.max_items, limits.max_str, limits.max_bytes)


_DEFAULT_FAST_LIMIT = min(
    DEFAULT_LIMITS.max_items, DEFAULT_LIMITS.max_str, DEFAULT_LIMITS.max_bytes
)


def _fast_encode(value: Any, limits: Limits) -> bytes | None:
    """Encode in C when the value is made of natives, tuples, sets, pids and refs only and is
    small enough that no limit can apply (then the walker would produce the same bytes)."""
    st = _fast_state
    st.depth = 0
    try:
        packed = _packer_at(0)(value)
    except (_Bail, TypeError, ValueError, OverflowError):
        return None
    finally:
        st.depth = 0
    if len(packed) > _fast_limit(limits):
        return None  # big enough that a limit might apply: let the walker decide
    return packed


def encode_payload(value: Any, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Encode ``value`` safely to msgpack bytes. ``None`` encodes to ``b""`` (no payload).

    Never raises for any input value: whatever cannot be represented becomes a marker. Flat
    tuples, lists and dicts of scalars (the common messages and states) are packed in C.
    """
    if value is None:
        return b""
    t = type(value)
    if t is Packed:
        return cast(Packed, value).data
    if t is int or t is float or t is bool:
        if t is not int or _INT_MIN <= value <= _INT_MAX:
            return _packb(value)
    elif t is str:
        if len(value) <= limits.max_str:
            return _packb(value)
    else:
        fast = _fast_encode(value, limits)
        if fast is not None:
            return fast
    try:
        return _packb(_Walker(limits).walk(value, 0))
    except RecursionError:
        return _packb(_ext(EXT_TRUNCATED, _packb(["depth", 0, None])))


def encode_many(values: list[Any], limits: Limits = DEFAULT_LIMITS) -> tuple[list[int], bytes]:
    """Encode a batch of values back to back; return ``(offsets, data)`` where value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]`` (``len(offsets) == len(values) + 1``).

    The same bytes as :func:`encode_payload` per value, but the common case is one C call for
    the whole batch, with the boundaries recovered by a C-level skip over the packed array.
    """
    n = len(values)
    has_none = any(v is None for v in values)  # None is b"" (no payload), not msgpack nil
    try:
        if has_none:
            raise _Bail
        _fast_state.depth = 0
        packed = _packer_at(0)(values)
    except (_Bail, TypeError, ValueError, OverflowError):
        packed = b""
    finally:
        _fast_state.depth = 0
    if packed:
        unpacker = msgpack.Unpacker(max_buffer_size=len(packed) + 16)
        unpacker.feed(packed)
        if unpacker.read_array_header() == n:
            base = unpacker.tell()
            skip, tell = unpacker.skip, unpacker.tell
            offsets = [0] * (n + 1)
            for i in range(1, n + 1):
                skip()
                offsets[i] = tell() - base
            if n == 0 or max(map(operator.sub, offsets[1:], offsets)) <= _fast_limit(limits):
                return offsets, packed[base:]
    # Something in the batch needs the walker (an object, a limit): encode one by one.
    blobs = [b"" if v is None else encode_payload(v, limits) for v in values]
    return list(accumulate(map(len, blobs), initial=0)), b"".join(blobs)
