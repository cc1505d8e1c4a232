"""The pure-Python payload encoder: the reference for the native one (same bytes, always).

The rules are specified in ``docs/session-format.md`` (Payloads). In short: one pass over the
value writes msgpack into a ``bytearray``, iteratively (an explicit stack of open containers,
so no ``RecursionError`` whatever the caller's stack), with

- a byte and a node budget checked before every entry of a container (the rest of a container
  becomes one ``Truncated("size" | "nodes")``; markers already in the value are never cut);
- ``max_items - 1`` entries kept of a longer container, then ``Truncated("items")``;
- mutable containers and objects tracked by identity: met again while open ->
  ``Truncated("cycle")``, met again later -> ``Truncated("shared")``;
- no user code run but ``repr`` (once per object), attribute reads of dataclass fields, enum
  members and ``__dict__`` through ``object.__getattribute__``, and ``int`` to text; any
  ``Exception`` they raise becomes an :class:`Opaque` marker (``BaseException`` such as
  ``KeyboardInterrupt`` propagates);
- builtin containers and their subclasses read through the base type's own methods
  (``list.__getitem__``, ``dict.items``, ...), never through methods a subclass overrides;
- type names through ``type``'s own descriptors, never through a metaclass.

Every step here has a twin in ``recorder/_native/encoder.c``; change both or neither. The
msgpack building blocks (headers, strings, markers) are in :mod:`recorder.payload._wire`, the
one-call shortcut for flat containers in :mod:`recorder.payload._flat`.
"""

from __future__ import annotations

import dataclasses
import enum
from itertools import islice, pairwise
from typing import Any

import msgpack

from recorder.payload._flat import _flat, _pack_flat
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
    Limits,
    Packed,
    Pid,
    Ref,
)
from recorder.payload._wire import (
    _arr_hdr,
    _ext,
    _ext_hdr,
    _is_marker,
    _map_hdr,
    _marker,
    _packb,
    _text,
    _valid_ext,
)

__all__ = ["BIGINT_MAX_BITS", "FIELD_MARKER", "encode"]

#: Integers wider than this (about 4,200 digits) are never turned into text.
BIGINT_MAX_BITS = 14000

_ExtType = msgpack.ExtType
#: What ``Field._field_type`` is for a real field (not a ClassVar or InitVar pseudo-field).
FIELD_MARKER = dataclasses._FIELD  # type: ignore[attr-defined]
_ELLIPSIS_KEY = b"\xa3\xe2\x80\xa6"  # "\u2026", the key of a map's truncation marker

# type's own descriptors: a metaclass cannot intercept them.
_type_module = type.__dict__["__module__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_flags = type.__dict__["__flags__"].__get__
_HEAPTYPE = 1 << 9
_generic_getattr = object.__getattribute__
_exc_args = BaseException.__dict__["args"].__get__

# Frame kinds (what an open container is): entries written with node(); a map; a record's
# (name, value) pairs; a dataclass's field names (each read when written); an enum's value.
_SEQ, _MAP, _REC, _FLD, _ENUM = range(5)
# Seen-table states.
_OPEN, _DONE, _OPAQUE = range(3)
_NOTHING = object()


def _lookup(t: type, name: str) -> Any:
    """``name`` from the class dicts along ``t``'s MRO (no descriptor, no metaclass)."""
    for klass in _type_mro(t):
        d = _type_dict(klass)
        if name in d:
            return d[name]
    return None


class _Frame:
    """One open container: what is left to write and where its bytes start."""

    __slots__ = (
        "depth",
        "entries",
        "ext",
        "ext_start",
        "hpos",
        "i",
        "key",
        "kind",
        "n",
        "obj",
        "pending",
        "planned",
        "segs",
    )

    def __init__(self, kind: int, entries: Any, n: int, depth: int, key: bool) -> None:
        self.kind = kind
        self.entries = entries  # the entries to write (at most max_items - 1 of n, if cut)
        self.n = n  # entries the value has
        self.i = 0  # entries written
        self.depth = depth
        self.key = key  # inside a map key or set member: write hashable forms only
        self.obj: Any = None  # the tracked object (done when the frame closes), or None
        self.pending: Any = _NOTHING  # a map's value (a field's name), once its key is out
        self.ext = 0  # extension code wrapping the container, or 0
        self.ext_start = -1  # where the ext body starts (its header goes there at the end)
        self.hpos = -1  # where the array / map header is
        self.planned = 0  # the entry count that header says
        self.segs: list[int] | None = None  # set members sorted by bytes: where each starts


class _Encoder:
    __slots__ = (
        "cap",
        "max_bytes",
        "max_depth",
        "max_nodes",
        "max_repr",
        "max_str",
        "names",
        "nodes",
        "out",
        "seen",
        "stack",
    )

    def __init__(self, lim: Limits) -> None:
        self.cap = lim.max_items
        self.max_bytes = lim.max_bytes
        self.max_nodes = lim.max_nodes
        self.max_depth = lim.max_depth
        self.max_str = lim.max_str
        self.max_repr = lim.max_repr
        self.out = bytearray()
        self.nodes = 0
        # id -> [object, state, cached bytes]: tracked containers and opaque objects. Holding
        # the object keeps its id from being reused while the value is encoded.
        self.seen: dict[int, list[Any]] = {}
        self.names: dict[int, tuple[type, str, bytes]] = {}
        self.stack: list[_Frame] = []

    # ------------------------------------------------------------------ names and notes

    def name_of(self, t: type) -> tuple[type, str, bytes]:
        """``t``'s display name (``module.qualname``, no module for builtins and
        ``__main__``, at most ``max_repr`` characters) and its encoding."""
        hit = self.names.get(id(t))
        if hit is not None:
            return hit
        try:
            mod = _type_module(t)
        except Exception:  # a heap type without __module__
            mod = ""
        qual = _type_qualname(t)
        if type(mod) is not str or mod in ("builtins", "__main__", ""):
            name = qual
        else:
            name = "".join((mod, ".", qual))
        name = str.__getitem__(name, slice(0, self.max_repr))
        hit = self.names[id(t)] = (t, name, _text(name))
        return hit

    def tname(self, t: type) -> bytes:
        return self.name_of(t)[2]

    def failed(self, t: type, what: str, exc: BaseException) -> bytes:
        """An ``Opaque`` saying that reading ``what`` of a ``t`` raised ``exc``."""
        _, name, enc = self.name_of(t)
        note = f"<{name} ({what} failed: {self.name_of(type(exc))[1]})>"[: self.max_repr]
        return _ext(EXT_OPAQUE, b"\x92" + enc + _text(note))

    # ------------------------------------------------------------------ leaves

    def w_str(self, s: str, n: int) -> None:
        """``s`` is the first ``max_str + 1`` characters (at most) of a str ``n`` long."""
        if n > self.max_str:
            self.out += _marker("str", n, _text(s[: self.max_str]))
        else:
            self.out += _text(s)

    def w_bytes(self, b: bytes, n: int) -> None:
        """``b`` is the first ``max_str`` bytes (at most) of a value ``n`` bytes long."""
        if n > self.max_str:
            self.out += _marker("bytes", n, _packb(b))
        else:
            self.out += _packb(b)

    def w_int(self, v: int) -> None:
        """An exact ``int``."""
        if -0x8000000000000000 <= v <= 0xFFFFFFFFFFFFFFFF:
            self.out += _packb(v)
            return
        bits = v.bit_length()
        if bits <= BIGINT_MAX_BITS:
            try:
                text: str | None = int.__repr__(v)
            except Exception:  # the interpreter's int_max_str_digits may be set lower
                text = None
            if text is not None and len(text) <= self.max_str:
                self.out += _ext(EXT_BIGINT, _packb(text))
                return
        self.out += _ext(EXT_OPAQUE, b"\x92\xa3int" + _text(f"<int of {bits} bits>"))

    def w_bytearray(self, v: Any, t: type) -> None:
        n = bytearray.__len__(v)
        if self.seen_marker(v, t, n):
            return
        self.seen[id(v)] = [v, _DONE, None]
        self.w_bytes(bytes(bytearray.__getitem__(v, slice(0, self.max_str))), n)

    def opaque(self, v: Any, t: type) -> None:
        """``v`` as ``Opaque(type name, repr)``, ``repr`` called once per object."""
        try:
            text = repr(v)
            body = _text(str.__getitem__(text, slice(0, self.max_repr)))
        except Exception as exc:
            data = self.failed(t, "repr", exc)
        else:
            data = _ext(EXT_OPAQUE, b"\x92" + self.tname(t) + body)
        self.seen[id(v)] = [v, _OPAQUE, data]
        self.out += data

    # ------------------------------------------------------------------ containers

    def seen_marker(self, v: Any, t: type, size: int) -> bool:
        """Write a cycle / shared marker if ``v`` (a tracked object) was met before."""
        hit = self.seen.get(id(v))
        if hit is None:
            return False
        what = "cycle" if hit[1] == _OPEN else "shared"
        self.out += _marker(what, size, self.tname(t))
        return True

    def open(
        self, kind: int, ext: int, entries: Any, n: int, depth: int, key: bool, obj: Any
    ) -> _Frame:
        """Start a container of ``n`` entries: its ext body and its header."""
        out = self.out
        f = _Frame(kind, entries, n, depth, key)
        if obj is not None:
            f.obj = obj
            self.seen[id(obj)] = [obj, _OPEN, None]
        if ext:
            f.ext = ext
            f.ext_start = len(out)
        f.planned = n if n <= self.cap else self.cap
        self.stack.append(f)
        return f

    def header(self, f: _Frame) -> None:
        f.hpos = len(self.out)
        self.out += _arr_hdr(f.planned) if f.kind == _SEQ else _map_hdr(f.planned)

    def close(self, f: _Frame, marker: bytes | None) -> None:
        """Finish ``f``: order set members, add the marker, fix the header, wrap the ext."""
        out = self.out
        count = f.i
        segs = f.segs
        if segs:
            end = len(out)
            bounds = [*segs, end]
            pieces = [bytes(out[a:b]) for a, b in pairwise(bounds)]
            pieces.sort()
            out[segs[0] : end] = b"".join(pieces)
        if marker is not None:
            if f.kind != _SEQ:
                out += _ELLIPSIS_KEY
            out += marker
            count += 1
        if f.hpos >= 0 and count != f.planned:
            old = f.planned
            size = 1 if old < 16 else (3 if old < 0x10000 else 5)
            out[f.hpos : f.hpos + size] = _arr_hdr(count) if f.kind == _SEQ else _map_hdr(count)
        if f.ext_start >= 0:
            start = f.ext_start
            out[start:start] = _ext_hdr(f.ext, len(out) - start)
        if f.obj is not None:
            self.seen[id(f.obj)][1] = _DONE

    def run(self) -> None:
        """Write the entries of the open containers until none is left open."""
        stack = self.stack
        out = self.out
        cap = self.cap
        max_bytes = self.max_bytes
        max_nodes = self.max_nodes
        node = self.node
        while stack:
            f = stack[-1]
            kind = f.kind
            pending = f.pending
            if pending is not _NOTHING:
                f.pending = _NOTHING
                if kind == _FLD:
                    self.field(f, pending)
                else:
                    node(pending, f.depth + 1, f.key)
                continue
            i = f.i
            entries = f.entries
            if i >= len(entries):
                stack.pop()
                self.close(f, _marker("items", f.n) if f.n > cap else None)
                continue
            e = entries[i]
            if kind == _ENUM:
                f.i = 1
                node(e, f.depth + 1, f.key)
                continue
            probe = e[1] if kind in (_MAP, _REC) else e
            if (len(out) >= max_bytes or self.nodes >= max_nodes) and not _is_marker(probe):
                stack.pop()
                what = "size" if len(out) >= max_bytes else "nodes"
                self.close(f, _marker(what, f.n - i))
                continue
            f.i = i + 1
            if kind == _SEQ:
                if f.segs is not None:
                    f.segs.append(len(out))
                node(e, f.depth + 1, f.key)
            elif kind == _MAP:
                f.pending = e[1]
                node(e[0], f.depth + 1, True)
            else:  # a record: names are text, not nodes (unless a __dict__ has other keys)
                name = e if kind == _FLD else e[0]
                f.pending = e if kind == _FLD else e[1]
                if type(name) is str:
                    n = len(name)
                    self.w_str(name if n <= self.max_str else name[: self.max_str + 1], n)
                else:
                    node(name, f.depth + 1, True)

    def field(self, f: _Frame, name: str) -> None:
        """Read dataclass field ``name`` of the frame's object, now, and write it."""
        obj = f.obj
        try:
            value = _generic_getattr(obj, name)
        except Exception as exc:
            self.nodes += 1
            self.out += self.failed(type(obj), f"field {name}", exc)
            return
        self.node(value, f.depth + 1, f.key)

    # ------------------------------------------------------------------ dispatch

    def node(self, v: Any, depth: int, key: bool) -> None:
        """Write one value (or open it, if it is a container)."""
        t = type(v)
        self.nodes += 1
        out = self.out
        if t is str:
            n = len(v)
            if n > self.max_str:
                self.w_str(v, n)
            else:
                out += _text(v)
        elif t is int:
            if -0x8000000000000000 <= v <= 0xFFFFFFFFFFFFFFFF:
                out += _packb(v)
            else:
                self.w_int(v)
        elif t is float or v is None or t is bool:
            out += _packb(v)
        elif t is tuple:
            self.seq(v, t, tuple, tuple.__len__(v), depth, key)
        elif t is dict:
            self.mapping(v, t, depth, key)
        elif t is list:
            self.seq(v, t, list, list.__len__(v), depth, key)
        elif t is Pid or t is Ref:
            pn = getattr(v, "n", None)
            if type(pn) is int and -0x8000000000000000 <= pn <= 0xFFFFFFFFFFFFFFFF:
                out += _ext(EXT_PID if t is Pid else EXT_REF, _packb(pn))
            else:
                self.other(v, t, depth, key)
        elif t is bytes:
            n = len(v)
            self.w_bytes(v if n <= self.max_str else v[: self.max_str], n)
        elif t is Packed:
            data = getattr(v, "data", None)
            if type(data) is bytes:
                out += data if data else b"\xc0"
            else:
                self.other(v, t, depth, key)
        elif t is set or t is frozenset:
            self.sets(v, t, t is set, depth, key)
        elif t is _ExtType and _valid_ext(v):
            if v[0] == EXT_TRUNCATED:
                self.nodes -= 1
            out += _ext(v[0], v[1])
        elif t is bytearray:
            self.w_bytearray(v, t)
        else:
            self.other(v, t, depth, key)

    def seq(self, v: Any, t: type, base: Any, n: int, depth: int, key: bool) -> None:
        """A list (tracked) or a tuple, or a subclass of one."""
        mutable = base is list
        if mutable and self.seen_marker(v, t, n):
            return
        if depth >= self.max_depth:
            self.out += _marker("depth", n, self.tname(t))
            return
        cap = self.cap
        if (
            n <= cap
            and t is base
            and self.flat(v, n, n, mutable, EXT_TUPLE if not mutable or key else 0)
        ):
            return
        if n <= cap and t is tuple:
            entries = v  # immutable: its own items are the snapshot
        else:  # a copy: user code run while the entries are written cannot change them
            entries = base.__getitem__(v, slice(0, n if n <= cap else cap - 1))
        # A list inside a map key or set member is written as a tuple: it stays hashable.
        ext = EXT_TUPLE if not mutable or key else 0
        f = self.open(_SEQ, ext, entries, n, depth, key, v if mutable else None)
        self.header(f)

    def flat(self, v: Any, n: int, nodes: int, tracked: bool, ext: int) -> bool:
        """Write an exact list, tuple or dict of ``n`` scalars (``nodes`` values in all) in
        one msgpack call, if no limit can cut it: the bytes the entry-by-entry walk would
        write. ``False`` (nothing written) when it does not qualify."""
        if self.nodes + nodes > self.max_nodes:  # the last entry would meet the node budget
            return False
        data = _pack_flat(v, self.max_str)
        out = self.out
        if data is None or len(out) + len(data) > self.max_bytes:  # an entry could be cut
            return False
        if tracked:
            self.seen[id(v)] = [v, _DONE, None]
        out += _ext(ext, data) if ext else data
        self.nodes += nodes
        return True

    def mapping(self, v: Any, t: type, depth: int, key: bool) -> None:
        n = dict.__len__(v)
        if self.seen_marker(v, t, n):
            return
        if depth >= self.max_depth:
            self.out += _marker("depth", n, self.tname(t))
            return
        cap = self.cap
        if not key and n <= cap and t is dict and self.flat(v, n, 2 * n, True, 0):
            return
        pairs = list(islice(dict.items(v), n if n <= cap else cap - 1))
        if key:  # inside a map key or set member: a tuple of (key, value) tuples
            f = self.open(_SEQ, EXT_TUPLE, pairs, n, depth, key, v)
        else:
            f = self.open(_MAP, 0, pairs, n, depth, key, v)
        self.header(f)

    def sets(self, v: Any, t: type, mutable: bool, depth: int, key: bool) -> None:
        """A set (tracked) or frozenset. Members of one exact type ``str`` or ``int`` are
        written in their own order; any other mix in the order of their encoded bytes, so
        the output is deterministic and no user ``__lt__`` ever runs."""
        base = set if mutable else frozenset
        n = base.__len__(v)
        if mutable and self.seen_marker(v, t, n):
            return
        if depth >= self.max_depth:
            self.out += _marker("depth", n, self.tname(t))
            return
        cap = self.cap
        members = list(islice(base.__iter__(v), n if n <= cap else cap - 1))
        natural = bool(members) and (
            all(type(x) is str for x in members) or all(type(x) is int for x in members)
        )
        if natural:
            members.sort()
        code = EXT_SET if mutable and not key else EXT_FROZENSET
        f = self.open(_SEQ, code, members, n, depth, True, v if mutable else None)
        if not natural:
            f.segs = []
        self.header(f)

    def record(
        self, v: Any, t: type, kind: int, entries: Any, n: int, depth: int, key: bool, obj: Any
    ) -> None:
        """A dataclass (``kind`` ``_FLD``: entries are field names, read when written), a
        named tuple, exception or plain object (entries are ``(name, value)`` pairs)."""
        if obj is not None and self.seen_marker(v, t, 0):
            return
        if depth >= self.max_depth:
            self.out += _marker("depth", 0, self.tname(t))
            return
        if n > self.cap:
            entries = entries[: self.cap - 1]
        tname = self.tname(t)
        f = self.open(kind, EXT_RECORD, entries, n, depth, key, obj)
        self.out += b"\x92" + tname
        self.header(f)

    def other(self, v: Any, t: type, depth: int, key: bool) -> None:
        """Everything that is not an exact builtin, ``Pid``, ``Ref`` or ``Packed``."""
        hit = self.seen.get(id(v))
        if hit is not None and hit[1] == _OPAQUE:
            self.out += hit[2]
            return
        if issubclass(t, enum.Enum):
            if depth >= self.max_depth:
                self.out += _marker("depth", 0, self.tname(t))
                return
            try:
                name = _generic_getattr(v, "_name_")
                value = _generic_getattr(v, "_value_")
            except Exception:
                self.opaque(v, t)
                return
            self.open(_ENUM, EXT_ENUM, (value,), 1, depth, key, None)
            self.out += b"\x93" + self.tname(t)
            self.out += _text(name[: self.max_repr]) if type(name) is str else b"\xc0"
            return
        fields = _lookup(t, "__dataclass_fields__")
        if type(fields) is dict:
            names = []
            for name, fld in dict.items(fields):
                try:
                    kind = _generic_getattr(fld, "_field_type") if type(name) is str else None
                    real = kind is FIELD_MARKER
                except Exception:
                    real = False
                if real:
                    names.append(name)
            self.record(v, t, _FLD, names, len(names), depth, key, v)
            return
        if issubclass(t, tuple):
            n = tuple.__len__(v)
            names = _lookup(t, "_fields")
            if type(names) is tuple and all(type(x) is str for x in names):
                m = min(tuple.__len__(names), n)
                pairs = list(zip(names[:m], tuple.__getitem__(v, slice(0, m)), strict=True))
                self.record(v, t, _REC, pairs, m, depth, key, None)
            else:
                self.seq(v, t, tuple, n, depth, key)
            return
        if issubclass(t, BaseException):
            self.record(v, t, _REC, [("args", _exc_args(v))], 1, depth, key, v)
        elif issubclass(t, int):
            self.w_int(int.__index__(v))
        elif issubclass(t, float):
            self.out += _packb(float.__float__(v))
        elif issubclass(t, str):
            n = str.__len__(v)
            self.w_str(str.__getitem__(v, slice(0, min(n, self.max_str + 1))), n)
        elif issubclass(t, bytes):
            self.w_bytes(bytes.__getitem__(v, slice(0, self.max_str)), bytes.__len__(v))
        elif issubclass(t, bytearray):
            self.w_bytearray(v, t)
        elif issubclass(t, list):
            self.seq(v, t, list, list.__len__(v), depth, key)
        elif issubclass(t, dict):
            self.mapping(v, t, depth, key)
        elif issubclass(t, set):
            self.sets(v, t, True, depth, key)
        elif issubclass(t, frozenset):
            self.sets(v, t, False, depth, key)
        elif _type_flags(t) & _HEAPTYPE and not callable(v):
            try:
                d = _generic_getattr(v, "__dict__")
            except Exception:
                d = None
            if type(d) is dict:
                n = dict.__len__(d)
                cap = self.cap
                pairs = list(islice(dict.items(d), n if n <= cap else cap - 1))
                self.record(v, t, _REC, pairs, n, depth, key, v)
            else:
                self.opaque(v, t)
        else:
            self.opaque(v, t)


def encode(value: Any, limits: Limits) -> bytes:
    """Encode ``value`` to payload bytes (``None`` -> ``b""``; a ``Packed`` -> its bytes)."""
    if value is None:
        return b""
    t = type(value)
    if t is Packed:
        data = getattr(value, "data", None)
        if type(data) is bytes:
            return data
    elif t is tuple or t is list or t is dict:
        fast = _flat(value, t, limits)
        if fast is not None:
            return fast
    enc = _Encoder(limits)
    enc.node(value, 0, False)
    if enc.stack:
        enc.run()
    return bytes(enc.out)
