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

from recorder.payload._buffer import EventBatch, EventBuffer, ts_deltas
from recorder.payload._decode import decode_payload
from recorder.payload._legacy import encode_many, encode_payload, freeze, to_structural
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
    "EnumValue",
    "EventBatch",
    "EventBuffer",
    "Limits",
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
    "to_structural",
    "ts_deltas",
]
