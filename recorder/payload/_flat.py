"""The pure-Python encoder's shortcut: a top-level list, tuple or dict of scalars, pids and refs
that no limit can touch is packed by msgpack in one call, giving the bytes the walk of
:mod:`recorder.payload._walk` writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack

from recorder.payload._types import EXT_PID, EXT_REF, EXT_TUPLE, Limits, Pid, Ref
from recorder.payload._wire import _ext, _packb

_ExtType = msgpack.ExtType
_NOTHING = object()

# No `default` hook: packing runs no Python code, so one packer serves every thread (a hook
# would let another thread pack into the same buffer halfway through).
_fast_pack: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True, strict_types=True).pack
_SCALAR = frozenset(map(id, (type(None), bool, int, float, str, bytes)))


def _flat_item(x: Any, max_str: int) -> Any:
    """``x`` as msgpack can pack it (a pid or ref as its ExtType), or ``_NOTHING`` if it is
    not a scalar that the walk would write as is."""
    tx = type(x)
    if id(tx) in _SCALAR:
        if (tx is str or tx is bytes) and len(x) > max_str:
            return _NOTHING
        return x
    if tx is Pid or tx is Ref:
        n = getattr(x, "n", None)
        if type(n) is int and -0x8000000000000000 <= n <= 0xFFFFFFFFFFFFFFFF:
            return _ExtType(EXT_PID if tx is Pid else EXT_REF, _packb(n))
    return _NOTHING


def _pack_flat(v: Any, max_str: int) -> bytes | None:
    """An exact list, tuple or dict of scalars, pids and refs packed by msgpack in one call
    (the bytes the walk writes, without the tuple's ext), or ``None``."""
    t = type(v)
    conv: list[Any] = []
    append = conv.append
    for x in v.values() if t is dict else v:
        y = _flat_item(x, max_str)
        if y is _NOTHING:
            return None
        append(y)
    obj: Any = conv
    if t is dict:
        keys = []
        for k in v:
            y = _flat_item(k, max_str)
            if y is _NOTHING:
                return None
            keys.append(y)
        obj = dict(zip(keys, conv, strict=True))
        if len(obj) != len(conv):  # two keys packed alike (Pid(1) and Ref(1)...): walk it
            return None
    try:
        return _fast_pack(obj)
    except (TypeError, ValueError, OverflowError):  # big ints, surrogates: walk them
        return None


def _flat(value: Any, t: type, lim: Limits) -> bytes | None:
    """A top-level list, tuple or dict of scalars, pids and refs that no limit can touch."""
    n = len(value)
    if n > lim.max_items or (2 * n if t is dict else n) >= lim.max_nodes:
        return None
    data = _pack_flat(value, lim.max_str)
    if data is None or len(data) > lim.max_bytes:
        return None
    return _ext(EXT_TUPLE, data) if t is tuple else data
