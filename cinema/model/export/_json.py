"""The JSON text of an encoded payload in one pass: the fast path of the exports.

``json.dumps(present.to_json(decode_payload(raw)))`` builds every value twice in Python (the
decoded value, then its JSON form). :func:`payload_json` lets msgpack's C unpacker build the JSON
form directly (extension types and maps through two small hooks) and gives the same text, about
twice as fast. Whatever it cannot give exactly as :func:`cinema.model.present.to_json` does (sets,
whose order ``to_json`` sorts; NaN and infinities; a record whose field names are not plain
strings) it declines, returning ``None``, and the caller takes the reference path.
``tests/cinema/model/export/test_json.py`` holds the two to the same text.
"""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple

import msgpack
import numpy as np

from cinema.model.expr_eval import CALL_WRAPPERS
from recorder.events import NO_PID

_payload_texts: Any
_payload_columns: Any
try:  # the C twin of payload_json and render_value (recorder/_native/texts.c)
    from recorder.payload import NATIVE as _NATIVE

    if not _NATIVE:
        raise ImportError("CINEMA_NATIVE=0 or not built")
    from recorder._native._core import payload_columns as _payload_columns
    from recorder._native._core import payload_texts as _payload_texts
except ImportError:
    _payload_texts = _payload_columns = None
_WRAPPERS = tuple(sorted(CALL_WRAPPERS))

#: ``(jsons, texts, heads)`` lists of :func:`native_texts`.
Texts = tuple[list[str | None] | None, list[str | None] | None, list[str | None] | None]

#: Bits of :attr:`TextColumns.declined`.
JSON_DECLINED, TEXT_DECLINED = 1, 2

__all__ = [
    "JSON_DECLINED",
    "TEXT_DECLINED",
    "TextColumns",
    "json_message_type",
    "native_columns",
    "native_texts",
    "payload_json",
]


class TextColumns(NamedTuple):
    """What :func:`native_columns` gives: each text column as Arrow lays a string column out
    (UTF-8 bytes one after another, ``n + 1`` int64 offsets), ``None`` when not asked for."""

    jsons: bytes | None
    json_offsets: np.ndarray | None
    texts: bytes | None
    text_offsets: np.ndarray | None
    #: one byte per payload: :data:`JSON_DECLINED` / :data:`TEXT_DECLINED` where the reference
    #: path must say that text (the item is empty there)
    declined: np.ndarray


class _Decline(Exception):
    pass


def _pairs(pairs: list[tuple[Any, Any]]) -> Any:
    if all(type(k) is str and not k.startswith("$") for k, _ in pairs):
        return dict(pairs)
    return {"$map": [[k, v] for k, v in pairs]}


def _ext(code: int, data: bytes) -> Any:
    inner = msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=_ext,
                            object_pairs_hook=_pairs)  # fmt: skip
    if code == 1:
        if type(inner) is not list:
            raise _Decline
        return {"$tuple": inner}
    if code == 4:
        if not (type(inner) is list and len(inner) == 2 and type(inner[1]) is dict):
            raise _Decline
        fields = inner[1]
        if "$map" in fields:  # field names that are not plain strings: the reference path
            raise _Decline
        return {"$type": str(inner[0]), **fields}
    if code == 6 and type(inner) is int:
        return {"$pid": None if inner < 0 or inner == NO_PID else inner}
    if code == 7 and type(inner) is int:
        return {"$ref": inner}
    if code == 8 and type(inner) is list and len(inner) == 2:
        return {"$opaque": str(inner[0]), "repr": str(inner[1])}
    if code == 9 and type(inner) is list and len(inner) == 3:
        size = inner[1] if type(inner[1]) is int else 0
        return {"$truncated": str(inner[0]), "size": size, "preview": inner[2]}
    if code == 5 and type(inner) is list and len(inner) == 3:
        return {"$enum": str(inner[0]), "name": str(inner[1]), "value": inner[2]}
    raise _Decline  # sets, big integers, unknown or malformed extensions


def _default(o: Any) -> Any:
    if type(o) is bytes:
        return {"$bytes": base64.b64encode(o).decode("ascii")}
    raise _Decline


_ENCODE = json.JSONEncoder(allow_nan=False, default=_default).encode
#: Larger payloads take the reference path (which cuts values nested past 100 levels; a
#: payload this small cannot nest that deep within the recorder's limits).
_MAX_RAW = 1 << 20


def payload_json(raw: bytes) -> tuple[Any, str] | None:
    """``(form, json.dumps(to_json(v), allow_nan=False))`` of ``v = decode_payload(raw)``
    (without building ``v``), or ``None`` when the reference path must say it (module docs).
    ``form`` is ``to_json(v)`` but for bytes, which stay bytes in it."""
    if not raw:
        return None, "null"
    if len(raw) > _MAX_RAW:
        return None
    try:
        value = msgpack.unpackb(raw, raw=False, strict_map_key=False, ext_hook=_ext,
                                object_pairs_hook=_pairs)  # fmt: skip
        return value, _ENCODE(value)
    except (_Decline, ValueError, TypeError, RecursionError, msgpack.ExtraData,
            msgpack.FormatError, msgpack.StackError, UnicodeDecodeError):  # fmt: skip
        return None


def json_message_type(j: Any) -> str | None:
    """:func:`cinema.model.expr_eval.message_type` of a message in its JSON form (``None``:
    ask the decoded value)."""
    for _ in range(4):
        items = j.get("$tuple") if type(j) is dict else None
        if items and type(items[0]) is str and items[0] in CALL_WRAPPERS:
            if len(items) < 2:
                return str(items[0])
            j = items[-1]
            continue
        break
    if type(j) is dict:
        items = j.get("$tuple")
        if items is not None and len(j) == 1:
            return items[0] if items and type(items[0]) is str else None
        if "$type" in j:
            return str(j["$type"]).rpartition(".")[2]
        if "$enum" in j:
            return str(j["$enum"]).rpartition(".")[2]
        if not any(k.startswith("$") for k in j) and type(j.get("type")) is str:
            return str(j["type"])
        return None
    if type(j) is str:
        return j
    return None


def native_texts(
    lengths: np.ndarray, block: bytes, *, json: bool = True, text: bool = False, head: int = 0,
    key: str = "", index: np.ndarray | None = None,
) -> Texts | None:  # fmt: skip
    """For payloads one after another in ``block`` (``lengths``), in one C call: their JSON
    text (what :func:`payload_json` gives), their one-line text (``render_value(v, 0)``), and
    a head (``head=1``: :func:`json_message_type`; ``head=2``: the text of a plain map's value
    under ``key``, as the chrome trace names instants). ``""`` for an empty payload, ``None``
    where the reference path must say it; only the payloads ``index`` names, when given.
    ``None`` without the native module."""
    if _payload_texts is None:
        return None
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if index is None:
        index = np.arange(len(lengths), dtype=np.int64)
    else:
        index = np.ascontiguousarray(index, dtype=np.int64)
    got: Texts = _payload_texts(block, offsets, index, json, text, head, key, _WRAPPERS)
    return got


def native_columns(
    lengths: np.ndarray, block: bytes | memoryview, *, json: bool = True, text: bool = True
) -> TextColumns | None:
    """:func:`native_texts` in bulk, for payloads one after another in ``block``
    (``lengths``): the texts as Arrow string-column buffers (:class:`TextColumns`), no Python
    object per payload, the payloads read with the GIL released (so another thread may run).
    ``None`` without the native module."""
    if _payload_columns is None:
        return None
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.arange(len(lengths), dtype=np.int64)
    js, jo, ts, to, declined = _payload_columns(block, offsets, index, json, text)
    return TextColumns(
        js, None if jo is None else np.frombuffer(jo, np.int64),
        ts, None if to is None else np.frombuffer(to, np.int64),
        np.frombuffer(declined, np.uint8),
    )  # fmt: skip
