"""Decoding payload bytes. Never runs code: extension types become the display types of
:mod:`recorder.payload._types`; no class named in a file is ever looked up or instantiated.

Hostile bytes cost time and memory in proportion to their size: extension nesting is bounded
while decoding, containers nested deeper than :data:`MAX_NESTING` levels in all are refused
(every reader may then recurse into a value), and so are maps and sets whose keys were chosen
to share one Python hash (building them would take quadratic time).

When the native module is built, its ``scan`` reads the bytes first, in C (~2 ns a byte): when
it finds them at most :data:`MAX_NESTING` levels deep, with no map holding more than
``_HASH_CHECK`` keys whose hash could be chosen (extension values, floats), the value is
decoded without a Python call per map and without a walk over the decoded value. Anything else
(deeper, unsure, malformed, or no native module) takes the careful path: a hook per map that
counts distinct key hashes, then the walk. Plain keys need no count: strings and bytes hash
with a per-process random key, and at most ~9 ints of msgpack's 64-bit range share a hash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from itertools import compress
from operator import itemgetter
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
    EXT_TRUNCATED,
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

__all__ = ["MAX_NESTING", "decode_payload", "scanned_unpacker", "unpack_rows", "use_scanner"]

#: Deepest nesting of containers (lists, maps, tuples, sets, records...) a decoded value may
#: have; the encoder's deepest is ``MAX_DEPTH_LIMIT`` (200) plus its markers.
MAX_NESTING = 256
#: Maps and sets up to this size are built as they come (their worst case is small).
_HASH_CHECK = 32

_state = threading.local()


def _distinct_hashes(items: Iterable[Any]) -> int:
    try:
        return len(set(map(hash, items)))
    except TypeError as exc:
        raise PayloadError(f"malformed payload: {exc}") from None


def _refuse_collisions(n: int, distinct: int, what: str) -> None:
    """A dict or set of n keys that share one hash takes n^2 / 2 comparisons to build (17-33 s
    for a 600 KB payload); counting their distinct hashes first is linear (hashes are ints,
    which hash to themselves), so such keys are refused instead."""
    if n - distinct > _HASH_CHECK:
        raise PayloadError(f"{what} chosen to collide: {n - distinct} of {n} share a hash")


def _pairs(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    if len(pairs) > _HASH_CHECK:
        _refuse_collisions(len(pairs), _distinct_hashes(map(_FIRST, pairs)), "map keys")
    return dict(pairs)


def _members(items: list[Any]) -> list[Any]:
    if len(items) > _HASH_CHECK:
        _refuse_collisions(len(items), _distinct_hashes(items), "set members")
    return items


_FIRST = itemgetter(0)


def _ext_hook(code: int, data: bytes) -> Any:
    return _ext(code, data, _unpack)


def _ext_hook_scanned(code: int, data: bytes) -> Any:
    # scan reads the bodies of the containers; a Pid's, Ref's, Opaque's or big integer's it
    # skips, so those (a few bytes, or malformed) are unpacked with every check
    return _ext(code, data, _unpack_scanned if code in _SCANNED else _unpack)


_SCANNED = frozenset((EXT_TUPLE, EXT_SET, EXT_FROZENSET, EXT_RECORD, EXT_ENUM, EXT_TRUNCATED))


def _ext(code: int, data: bytes, unpack: Callable[[bytes | memoryview], Any]) -> Any:
    depth = getattr(_state, "depth", 0)
    if depth >= MAX_DECODE_DEPTH:
        raise PayloadError(f"payload nested deeper than {MAX_DECODE_DEPTH} extension levels")
    if not EXT_TUPLE <= code <= EXT_BIGINT:
        return Opaque(f"ext{code}", f"<unknown extension {code}, {len(data)} bytes>")
    _state.depth = depth + 1
    try:
        inner = unpack(data)
        if code == EXT_TUPLE:
            return tuple(_expect(inner, list, code))
        if code == EXT_SET:
            return set(_members(_expect(inner, list, code)))
        if code == EXT_FROZENSET:
            return frozenset(_members(_expect(inner, list, code)))
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
    return msgpack.unpackb(
        data,
        ext_hook=_ext_hook,
        object_pairs_hook=_pairs,
        strict_map_key=False,
        raw=False,
        use_list=True,
    )


def _unpack_scanned(data: bytes | memoryview) -> Any:
    """``_unpack`` without the per-map collision hook, for bytes ``scan`` vouched for."""
    return msgpack.unpackb(
        data, ext_hook=_ext_hook_scanned, strict_map_key=False, raw=False, use_list=True
    )


#: ``scan(data, max_nesting, hash_check)`` of the native module (see recorder/_native/scan.c),
#: or ``None``: every payload takes the careful path.
_scan: Callable[[bytes | memoryview, int, int], int] | None = None


def use_scanner(scan: Callable[[bytes | memoryview, int, int], int] | None) -> None:
    """Check payload bytes with ``scan`` before decoding them (``None``: never)."""
    global _scan
    _scan = scan


_SEQUENCES = (list, tuple, set, frozenset)


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests containers deeper than :data:`MAX_NESTING` (no recursion).

    Level by level: the next level is every child of this one that is a container, filtered
    with builtins (``compress`` over ``map(type, ...)``), so the Python work is one step per
    container, not per value.
    """
    level = [value] if type(value) in _CONTAINERS else []
    depth = 1
    while level:
        items: list[Any] = []
        add, extend = items.append, items.extend
        for v in level:
            t = type(v)
            if t is dict:
                extend(v.values())
            elif t in _SEQUENCES:
                extend(v)
            elif t is Record:
                extend([x for _, x in v.fields])
            elif t is EnumValue:
                add(v.value)
            else:  # Truncated
                add(v.preview)
        level = list(compress(items, map(_IS_CONTAINER, map(type, items))))
        if level and depth >= MAX_NESTING:
            return True
        depth += 1
    return False


_CONTAINERS = frozenset({dict, list, tuple, set, frozenset, Record, EnumValue, Truncated})
_IS_CONTAINER = _CONTAINERS.__contains__


def decode_payload(data: bytes | memoryview) -> Any:
    """Decode payload bytes written by ``encode_payload``. ``b""`` decodes to ``None``.

    Raises:
        PayloadError: the bytes are not a valid payload (never any other exception).
    """
    if len(data) == 0:
        return None
    scan = _scan
    # A scan never finds fewer levels than the value has (repeated map keys only drop
    # values), so a value it finds shallow enough is; anything else is decided below.
    if scan is not None and scan(data, MAX_NESTING, _HASH_CHECK) >= 0:
        try:
            return _unpack_scanned(data)
        except PayloadError:
            raise
        except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
            raise PayloadError(f"corrupt payload: {exc}") from None
    try:
        value = _unpack(data)
    except PayloadError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise PayloadError(f"corrupt payload: {exc}") from None
    # Each level of nesting takes a byte: only a payload this long can be too deep.
    if len(data) > MAX_NESTING and _too_deep(value):
        raise PayloadError(f"payload nested deeper than {MAX_NESTING} levels")
    return value


def scanned_unpacker(data: bytes) -> msgpack.Unpacker | None:
    """A streaming unpacker over ``data`` whose every value decodes as :func:`decode_payload`
    decodes it, or ``None`` when the native scan did not vouch for ``data`` (then decode it
    whole with :func:`decode_payload`).

    A reader that knows a layout walks it part by part (``read_map_header``, ``unpack``,
    ``skip``, ``tell``) and decodes some parts its own way (:func:`unpack_rows`). Errors are
    msgpack's own (``ValueError``, ``TypeError``, ``msgpack.UnpackException``) or
    :class:`PayloadError`: the caller falls back to :func:`decode_payload`.
    """
    scan = _scan
    if not data or scan is None or scan(data, MAX_NESTING, _HASH_CHECK) < 0:
        return None
    u = msgpack.Unpacker(
        None, ext_hook=_ext_hook_scanned, strict_map_key=False, raw=False, use_list=True,
        max_buffer_size=len(data),
    )  # fmt: skip
    u.feed(data)
    return u


def unpack_rows(data: bytes | memoryview) -> Any:
    """A part of bytes :func:`scanned_unpacker` vouched for, decoded with msgpack arrays as
    tuples: for rows of ids and pids, whose list / tuple distinction means nothing.

    Tuples of atomic values leave the garbage collector's care at its first pass over them
    (lists never do), so thousands of such rows held by a reader cost no collection time.
    """
    return msgpack.unpackb(
        data, ext_hook=_ext_hook_scanned, strict_map_key=False, raw=False, use_list=False
    )
