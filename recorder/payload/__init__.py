"""Safe encoding of arbitrary Python values (messages, states, exit reasons) into msgpack.

Encoding walks the value and writes a *structural* form: scalars, lists and dicts as msgpack
natives; tuples, sets, frozensets, dataclasses / named tuples / plain objects, enums, process
ids, references and big integers as msgpack extension types (codes in
:mod:`recorder.payload._types`, specified in ``docs/session-format.md``); anything else becomes
an :class:`Opaque` holding a bounded ``repr``. Limits on depth, items per container, string
length, total size and nodes replace what does not fit with visible :class:`Truncated` markers.

Decoding never runs code: extension types become the plain display classes of this package
(:class:`Record`, :class:`EnumValue`, :class:`Opaque`, :class:`Truncated`, :class:`Pid`,
:class:`Ref`); no class named in a file is ever looked up or instantiated.

:class:`EventBuffer` is the recorder's hot path: it stamps and encodes each event on the
program's thread and hands the writer packed column batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import accumulate
from types import ModuleType
from typing import Any, Protocol

import msgpack

from recorder.payload import _buffer, _walk
from recorder.payload._buffer import EventBatch
from recorder.payload._decode import decode_payload, scanned_unpacker, unpack_rows, use_scanner
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
    MAX_DECODE_DEPTH,
    EnumValue,
    Limits,
    Opaque,
    Packed,
    PayloadError,
    Pid,
    Record,
    Ref,
    Truncated,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ENCODER",
    "EXT_BIGINT",
    "EXT_ENUM",
    "EXT_FROZENSET",
    "EXT_OPAQUE",
    "EXT_PID",
    "EXT_RECORD",
    "EXT_REF",
    "EXT_SET",
    "EXT_TRUNCATED",
    "EXT_TUPLE",
    "MAX_DECODE_DEPTH",
    "NATIVE",
    "EnumValue",
    "EventBatch",
    "EventBuffer",
    "Limits",
    "MonotonicClock",
    "Opaque",
    "Packed",
    "PayloadError",
    "Pid",
    "Record",
    "Ref",
    "Truncated",
    "decode_payload",
    "encode_many",
    "encode_payload",
    "freeze",
    "freeze_after",
    "native_column_checks",
    "native_frame_tally",
    "native_mailbox_cells",
    "scanned_unpacker",
    "to_structural",
    "ts_deltas",
    "unpack_rows",
]


class _Encode(Protocol):
    def __call__(self, value: Any, limits: Limits = ..., /) -> bytes: ...


def _load_native() -> tuple[ModuleType | None, str]:
    """The C extension (unless ``CINEMA_NATIVE=0`` or it was not built), and a note saying
    which encoder is in use and why."""
    if os.environ.get("CINEMA_NATIVE", "").strip().lower() in ("0", "false", "no", "off"):
        return None, "pure-Python (CINEMA_NATIVE=0)"
    try:
        from recorder._native import _core
    except ImportError as exc:
        return None, f"pure-Python (the native module is not built: {exc})"
    _core.setup(
        DEFAULT_LIMITS,
        Pid,
        Ref,
        Packed,
        msgpack.ExtType,
        EventBatch,
        _walk.FIELD_MARKER,
        _walk.BIGINT_MAX_BITS,
    )
    return _core, f"native ({_core.__name__})"


_native, ENCODER = _load_native()

#: Whether the native encoder is in use (``False``: the pure-Python one; see ``ENCODER``).
NATIVE = _native is not None
# The native byte scan lets decoding skip its Python-level checks (an older build lacks it).
use_scanner(getattr(_native, "scan", None))


def _py_encode(value: Any, limits: Limits = DEFAULT_LIMITS, /) -> bytes:
    return _walk.encode(value, limits)


if _native is not None:
    _encode: _Encode = _native.encode
    EventBuffer: type[_buffer.EventBuffer] = _native.EventBuffer
    MonotonicClock: type[_buffer.MonotonicClock] = _native.MonotonicClock
    ts_deltas: Callable[[bytes], bytes] = _native.ts_deltas
else:
    _encode = _py_encode
    EventBuffer = _buffer.EventBuffer
    MonotonicClock = _buffer.MonotonicClock
    ts_deltas = _buffer.ts_deltas


def encode_payload(value: Any, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Encode ``value`` safely to msgpack bytes. ``None`` encodes to ``b""`` (no payload); a
    :class:`Packed` to its bytes as they are.

    Never raises for any input value: whatever cannot be represented becomes a marker (only
    signals such as ``KeyboardInterrupt`` raised by the value's own code propagate). The
    native and the pure-Python encoders write the same bytes.
    """
    return _encode(value, limits)


def _py_freeze(value: Any, limits: Limits = DEFAULT_LIMITS) -> Packed:
    if type(value) is Packed:
        return value
    return Packed(_encode(value, limits))


def freeze(value: Any, limits: Limits = DEFAULT_LIMITS) -> Packed:
    """Capture ``value`` now: encode it (as :func:`encode_payload`) into a :class:`Packed`.

    Idempotent: freezing a ``Packed`` returns it unchanged. (With the native encoder this is
    one C call: the program thread freezes every mutable message and state it records.)
    """
    return _py_freeze(value, limits)


if _native is not None and hasattr(_native, "freeze"):
    freeze = _native.freeze  # the same, in C


def _py_freeze_after(value: Any, prefix: bytes) -> tuple[Packed, Packed]:
    """``freeze(value)``, and a :class:`Packed` of ``prefix`` followed by its bytes (``0xc0``,
    msgpack nil, when they are empty): the sandbox's STATE event data, the encoded beginning
    of ``{"trigger": t, "state": ...}`` joined to the state's bytes (with the native encoder,
    one call for both)."""
    frozen = freeze(value)
    return frozen, Packed(prefix + (frozen.data or b"\xc0"))


freeze_after = _py_freeze_after
if _native is not None and hasattr(_native, "freeze_after"):
    freeze_after = _native.freeze_after  # the same, in C

#: ``mailbox_cells(envelopes, limit, limits)`` of the native module (``None``: the pure-Python
#: encoder, or a build without it): a sandbox mailbox's keyframe cells, made without the
#: world's lists; see :class:`recorder.session.keyframes.MailboxCells`.
native_mailbox_cells: (
    Callable[[Any, int, Limits], tuple[bytes, list[tuple[int, int]], tuple[Any, ...]] | None] | None
) = getattr(_native, "mailbox_cells", None)


#: ``frame_tally(kinds, pids)`` of the native module (``None``: the pure-Python encoder, or a
#: build without it): what the writer counts in each EVENTS frame, in one call; see
#: :func:`recorder.session.summary.frame_tally`.
native_frame_tally: (
    Callable[[bytes, bytes], tuple[list[tuple[int, int]], int, bytes, bytes]] | None
) = getattr(_native, "frame_tally", None)

#: ``(ints_in, nested_ints_in, rows_in)`` of the native module: one-pass checks of a keyframe's
#: int columns (recorder/_native/checks.c; recorder.session.worldcheck has their Python twins),
#: or ``None``.
native_column_checks: (
    tuple[Callable[..., bool], Callable[..., bool], Callable[..., bool]] | None
) = (
    (_native.ints_in, _native.nested_ints_in, _native.rows_in)
    if _native is not None and hasattr(_native, "rows_in")
    else None
)

_INT_MIN, _UINT_MAX = -(1 << 63), (1 << 64) - 1  # what msgpack packs as an int


def to_structural(value: Any, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The msgpack-ready structural form of ``value``: natives and ``msgpack.ExtType``.

    It is the encoded value read back without decoding extensions, so packing it (or encoding
    it again, with the same or larger limits) gives the same bytes as encoding ``value``.
    """
    t = type(value)
    if t is int and _INT_MIN <= value <= _UINT_MAX:
        return value  # a msgpack int as it is (keyframe columns hold thousands of ids)
    if value is None or t is bool or t is float:
        return value  # msgpack's own (keyframe columns hold many: parents, flags, ...)
    if t is str and len(value) <= limits.max_str and value.isascii():
        return value  # a name: packed as it is (no lone surrogates to replace, no cut)
    data = _encode(value, limits)
    if not data:
        return None
    return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)


def encode_many(values: list[Any], limits: Limits = DEFAULT_LIMITS) -> tuple[list[int], bytes]:
    """Encode a batch of values back to back; return ``(offsets, data)`` where value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]`` (``len(offsets) == len(values) + 1``), the same bytes
    as :func:`encode_payload` of each."""
    enc = _encode
    blobs = [enc(v, limits) for v in values]
    return list(accumulate(map(len, blobs), initial=0)), b"".join(blobs)


for _cls in (Limits, Pid, Ref, Record, EnumValue, Opaque, Truncated, Packed, EventBatch):
    _cls.__module__ = __name__
