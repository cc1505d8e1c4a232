"""Keyframe worlds read back: the process tables of :mod:`recorder.session.keyframes` as
read-only rows, decoded as they are read.

:func:`decode_keyframe` reads a keyframe's bytes; :func:`unpack_world` turns its process tables
into :class:`RowTable` sequences of :class:`ProcessRow` mappings (a row is made when it is read;
its lazy fields are decoded when asked for) and supervisor entries into :class:`SupervisorRow`
(``children`` decoded when read). The writing side, and the table layout, are in
:mod:`recorder.session.keyframes`, which exports these names too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import msgpack

from recorder.payload import (
    Limits,
    Opaque,
    PayloadError,
    decode_payload,
    scanned_unpacker,
    unpack_rows,
)

__all__ = [
    "LAZY_KEYS",
    "ROW_KEYS",
    "TABLE_LISTS",
    "ProcessRow",
    "RowTable",
    "SupervisorRow",
    "decode_keyframe",
    "row_position",
    "table_column",
    "unpack_world",
]

#: Process fields stored as separately encoded payloads and decoded on first access.
LAZY_KEYS = ("state", "mailbox", "reason")
#: The world's lists of process entries, each stored as a table.
TABLE_LISTS = ("processes", "dead")
#: Process fields whose values are rows of ids and pids (``[pid, ...]``, ``[[ref, pid], ...]``,
#: ``[[msg_id, sender], ...]``): a reader gets them as tuples (:func:`decode_keyframe`).
ROW_KEYS = frozenset(("links", "monitors", "mailbox_ids"))
_TABLE_TAG = "__table__"
_WORLD_LIMITS = Limits(max_bytes=1 << 30, max_items=1 << 20, max_nodes=1 << 26)


_SMALL = 1 << 62  # ints msgpack packs as they are (to_structural returns them unchanged)


class ProcessRow(Mapping[str, Any]):
    """One process of a keyframe: a read-only mapping over the table's columns."""

    __slots__ = ("_cache", "_i", "_table")

    def __init__(self, table: _Table, i: int) -> None:
        self._table = table
        self._i = i
        self._cache: dict[str, Any] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping.get goes through __getitem__ and an exception; replay calls this a lot.
        t = self._table
        col = t.index.get(key)
        if col is None:
            return default
        if key in t.lazy:
            return self[key]
        return t.columns[col][self._i]

    def encoded(self, key: str) -> bytes | None:
        """A lazy field as the encoded payload the keyframe holds (``None``: not a lazy field
        of this table, or not held encoded): copying it needs no decoding."""
        t = self._table
        col = t.index.get(key)
        if col is None or key not in t.lazy:
            return None
        value = t.columns[col][self._i]
        return value if isinstance(value, bytes) else None

    def holds(self, key: str) -> bool:
        """Whether the row may hold a value other than ``None`` for ``key``: ``False`` when the
        table has no such column or the cell is empty (a lazy field's ``b""`` encodes None),
        without decoding anything."""
        t = self._table
        col = t.index.get(key)
        if col is None:
            return False
        value = t.columns[col][self._i]
        return value is not None and value != b""

    def plain(self) -> dict[str, Any]:
        """Every field but the lazy ones, as a plain dict (one pass, no decoding)."""
        i = self._i
        return {k: col[i] for k, col in self._table.plain_columns}

    def pick(self, keys: tuple[str, ...]) -> list[Any]:
        """``[self.plain().get(k) for k in keys]`` without the dict: the values of plain fields,
        ``None`` for lazy and absent ones (a reader of a dozen fields of a row reads them
        straight off the table's columns)."""
        i = self._i
        return [None if col is None else col[i] for col in self._table.picker(keys)]

    def __getitem__(self, key: str) -> Any:
        t = self._table
        col = t.index.get(key)
        if col is None:
            raise KeyError(key)
        value = t.columns[col][self._i]
        if key in t.lazy:
            cache = self._cache
            if cache is None:
                cache = self._cache = {}
            if key not in cache:
                cache[key] = _decode_lazy(value)
            return cache[key]
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.keys)

    def __len__(self) -> int:
        return len(self._table.keys)

    def __repr__(self) -> str:
        return f"ProcessRow({dict(self)!r})"


class SupervisorRow(Mapping[str, Any]):
    """A keyframe's supervisor entry (``docs/world-schema.md``) whose ``children`` rows stay
    encoded until read: a seek reads few of them (a restart's supervisor), and thousands of
    child maps decoded per keyframe were ~40 % of its decoding and as many objects for the
    garbage collector. The rows decode as :func:`~recorder.payload.decode_payload` decodes
    them, then pass :attr:`check` (``normalize_world`` sets it: the schema's checks of child
    rows, made when they are read)."""

    __slots__ = ("_encoded", "_fields", "check")

    def __init__(self, fields: dict[Any, Any], encoded: bytes) -> None:
        self._fields = fields  # "children" is None until decoded
        self._encoded: bytes | None = encoded
        self.check: Any = None

    def _children(self) -> Any:
        encoded = self._encoded
        if encoded is not None:
            kids = _decode_lazy(encoded)
            if self.check is not None:
                kids = self.check(kids)
            self._fields["children"] = kids
            self._encoded = None
        return self._fields["children"]

    def __getitem__(self, key: str) -> Any:
        if key == "children" and key in self._fields:
            return self._children()
        return self._fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key == "children" and key in self._fields:
            return self._children()
        return self._fields.get(key, default)

    def plain(self) -> dict[Any, Any]:
        """Every field but the children (not decoded)."""
        return {k: v for k, v in self._fields.items() if k != "children"}

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"SupervisorRow({dict(self)!r})"


def _decode_lazy(value: Any) -> Any:
    if not isinstance(value, bytes):
        return value
    try:
        return decode_payload(value)
    except PayloadError as exc:  # show the damage where it is; the rest of the world is fine
        return Opaque("corrupt", f"<corrupt payload: {exc}>")


class _Table:
    __slots__ = ("_pickers", "columns", "index", "keys", "lazy", "plain_columns")

    def __init__(
        self, keys: list[str], columns: list[tuple[Any, ...]], lazy: frozenset[str]
    ) -> None:
        self.keys = keys
        self.columns = columns
        self.index = {k: i for i, k in enumerate(keys)}
        self.lazy = lazy
        self.plain_columns = [(k, c) for k, c in zip(keys, columns, strict=True) if k not in lazy]
        self._pickers: dict[tuple[str, ...], list[tuple[Any, ...] | None]] = {}

    def picker(self, keys: tuple[str, ...]) -> list[tuple[Any, ...] | None]:
        """The plain column of each of ``keys`` (``None``: lazy or absent), made once per
        ``keys``."""
        cols = self._pickers.get(keys)
        if cols is None:
            plain = dict(self.plain_columns)
            cols = self._pickers[keys] = [plain.get(k) for k in keys]
        return cols


class RowTable(Sequence[ProcessRow]):
    """A keyframe's process table as a sequence of :class:`ProcessRow` s made when read
    (:func:`unpack_world` with ``lazy_rows``): a seek reads a few hundred of a table's
    thousands of rows, and a row made for each was ~5 ms of a cold seek on the 10M-event
    sandbox session and as many objects for the garbage collector to walk. ``table[i]`` makes
    a new row each time (equal to the last); :func:`table_column` reads its columns."""

    __slots__ = ("_n", "_table")

    def __init__(self, table: _Table, n: int) -> None:
        self._table = table
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> ProcessRow: ...
    @overload
    def __getitem__(self, i: slice) -> list[ProcessRow]: ...
    def __getitem__(self, i: int | slice) -> ProcessRow | list[ProcessRow]:
        if isinstance(i, slice):
            return [ProcessRow(self._table, j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return ProcessRow(self._table, i)

    def __iter__(self) -> Iterator[ProcessRow]:
        t = self._table
        return (ProcessRow(t, i) for i in range(self._n))

    def __repr__(self) -> str:
        return f"RowTable({list(self)!r})"


def row_position(row: ProcessRow) -> tuple[object, int]:
    """Which table a row belongs to (an opaque token, the same for every row of one table)
    and its index there: a reader that read a table's columns finds a row's values in them."""
    return row._table, row._i


def table_column(rows: Any, key: str) -> tuple[Any, ...] | None:
    """The plain column ``key`` behind a process list that :func:`unpack_world` made.

    Row ``i`` of the column is ``rows[i][key]``: a reader that needs one field of thousands of
    processes (say every pid) reads it in one pass instead of one lookup per row. ``None``
    when ``rows`` is not such a list (a plain list of maps), or ``key`` is lazy or absent.
    """
    if type(rows) is RowTable:
        t = rows._table
        col = t.index.get(key)
        return None if col is None or key in t.lazy else t.columns[col]
    if not isinstance(rows, list) or not rows:
        return None
    first, last = rows[0], rows[-1]
    if type(first) is not ProcessRow or type(last) is not ProcessRow:
        return None
    t = first._table
    if last._table is not t or first._i != 0 or last._i != len(rows) - 1:
        return None
    col = t.index.get(key)
    if col is None or key in t.lazy:
        return None
    column = t.columns[col]
    return column if len(column) == len(rows) else None


def unpack_world(
    world: dict[str, Any], max_rows: int | None = None, *, lazy_rows: bool = False
) -> dict[str, Any]:
    """Turn a decoded keyframe world's process tables back into lists of mappings.

    Args:
        world: the decoded ``"world"`` map of a keyframe.
        max_rows: refuse more processes than this in all (the reader allows a few per stored
            byte of the keyframe, so that a small file cannot hold a million processes).
        lazy_rows: each table as a :class:`RowTable` (rows made when read), not a list.

    Raises:
        ValueError: a table is malformed (columns of unequal length, keys that are not
            strings, unknown layout), or the lists hold more than ``max_rows`` processes.
    """
    out = world
    rows = 0
    for name in TABLE_LISTS:
        table = world.get(name)
        if not isinstance(table, dict) or table.get(_TABLE_TAG) != 1:
            rows += len(table) if isinstance(table, list) else 0
        else:
            if out is world:
                out = dict(world)
            out[name] = _unpack_table(
                table, None if max_rows is None else max_rows - rows, lazy_rows
            )
            rows += len(out[name])
        if max_rows is not None and rows > max_rows:
            raise ValueError(_too_many(rows, max_rows))
    return out


def _unpack_table(
    table: dict[str, Any], max_rows: int | None, lazy_rows: bool = False
) -> list[ProcessRow] | RowTable:
    keys, columns, lazy = table.get("keys"), table.get("columns"), table.get("lazy")
    if not (isinstance(keys, list) and isinstance(columns, list) and isinstance(lazy, list)):
        raise ValueError("malformed process table in keyframe")
    if len(keys) != len(columns) or not all(isinstance(c, list) for c in columns):
        raise ValueError("process table has a different number of keys and columns")
    if not all(isinstance(k, str) for k in keys) or not all(isinstance(k, str) for k in lazy):
        raise ValueError("process table keys are not all strings")
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError("process table columns differ in length")
    if max_rows is not None and n > max_rows:
        raise ValueError(_too_many(n, max_rows))
    # Held as tuples: a tuple of atomic values (ints, strings, bytes, tuples of ints) leaves
    # the garbage collector's care at its first pass, where a list is walked on every pass
    # (the ~20 columns of two tables of a 6,000-process keyframe, for each cached keyframe).
    t = _Table(keys, [tuple(c) for c in columns], frozenset(lazy))
    return RowTable(t, n) if lazy_rows else [ProcessRow(t, i) for i in range(n)]


def _too_many(n: int, limit: int) -> str:
    return (
        f"keyframe lists {n:,} processes, more than its size can hold ({limit:,}; "
        "ReadLimits.max_keyframe_rows)"
    )


# --------------------------------------------------------------------------- decoding


def decode_keyframe(raw: bytes) -> Any:
    """Decode a keyframe frame's body as :func:`~recorder.payload.decode_payload` does, except
    that the cells of the :data:`ROW_KEYS` columns of its process tables are tuples and each
    supervisor entry that is a map is a :class:`SupervisorRow` (its ``children`` decoded when
    read: ~5,000 child maps were ~40 % of a 10M-event sandbox session's keyframe decoding).

    Thousands of small lists (one ``links``, ``monitors`` and ``mailbox_ids`` per process) are
    what made a keyframe costly to hold: the garbage collector walks every list on each full
    pass, and decoding a 5,000-process keyframe set one off. Rows of atomic values decoded as
    tuples leave its care at its first pass. Bytes the native scan does not vouch for, and any
    layout other than the writer's (a table whose ``keys`` do not come before its ``columns``),
    are decoded whole, with lists.

    Raises:
        PayloadError: the bytes are not a valid payload.
    """
    u = scanned_unpacker(raw)
    if u is not None:
        try:
            value = _map(u, raw, _world_part)
            if u.tell() == len(raw):
                return value
        except (ValueError, TypeError, msgpack.UnpackException, RecursionError, PayloadError):
            pass  # decoded whole below: the same value, or the error decode_payload gives
    return decode_payload(raw)


def _map(u: msgpack.Unpacker, raw: bytes, part: Any) -> dict[Any, Any]:
    """The map at ``u``'s position; ``part(key)`` names how to decode the value of a key
    (``None``: as :func:`decode_payload` would; a part decodes a value of another layout than
    its own as that too)."""
    out: dict[Any, Any] = {}
    for _ in range(u.read_map_header()):
        key = u.unpack()
        how = part(key) if type(key) is str else None
        out[key] = how(u, raw) if how is not None else u.unpack()
    return out


def _at_map(u: msgpack.Unpacker, raw: bytes) -> bool:
    """Whether the value at ``u``'s position is a map (fixmap, map 16, map 32)."""
    at = u.tell()
    return at < len(raw) and (0x80 <= raw[at] <= 0x8F or raw[at] in (0xDE, 0xDF))


def _world_part(key: str) -> Any:
    return _world if key == "world" else None


def _world(u: msgpack.Unpacker, raw: bytes) -> Any:
    return _map(u, raw, _table_part) if _at_map(u, raw) else u.unpack()


def _table_part(key: str) -> Any:
    if key == "supervisors":
        return _supervisors
    return _table if key in TABLE_LISTS else None


def _supervisors(u: msgpack.Unpacker, raw: bytes) -> Any:
    """The supervisor entries, each a :class:`SupervisorRow` whose ``children`` stay encoded
    (a value that is not a list of maps is decoded as it is)."""
    at = u.tell()
    if not (at < len(raw) and (0x90 <= raw[at] <= 0x9F or raw[at] in (0xDC, 0xDD))):
        return u.unpack()
    out: list[Any] = []
    for _ in range(u.read_array_header()):
        if not _at_map(u, raw):
            out.append(u.unpack())
            continue
        fields: dict[Any, Any] = {}
        encoded: bytes | None = None
        for _ in range(u.read_map_header()):
            key = u.unpack()
            if key == "children" and encoded is None:
                start = u.tell()
                u.skip()
                encoded = raw[start : u.tell()]
                fields[key] = None
            else:
                fields[key] = u.unpack()
        out.append(SupervisorRow(fields, encoded) if encoded is not None else fields)
    return out


def _table(u: msgpack.Unpacker, raw: bytes) -> Any:
    if not _at_map(u, raw):
        return u.unpack()
    out: dict[Any, Any] = {}
    for _ in range(u.read_map_header()):
        key = u.unpack()
        if key != "columns":
            out[key] = u.unpack()
            continue
        keys = out.get("keys")
        if type(keys) is not list:
            raise ValueError("a process table whose columns come before its keys")
        columns = []
        for i in range(u.read_array_header()):
            if i < len(keys) and keys[i] in ROW_KEYS:
                start = u.tell()
                u.skip()
                col = unpack_rows(memoryview(raw)[start : u.tell()])
                columns.append(list(col) if type(col) is tuple else col)
            else:
                columns.append(u.unpack())
        out[key] = columns
    return out
