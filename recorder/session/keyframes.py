"""Keyframe worlds on disk: the process lists stored as column tables, heavy fields lazily.

An event source hands the writer a world whose ``"processes"`` (alive) and ``"dead"`` (ended)
are lists of maps (the schema of ``docs/world-schema.md``). Thousands of small maps are slow to
decode and to garbage-collect, and a seek needs few of their states, so the writer stores each
list as a *process table*:

    {"__table__": 1, "keys": [k, ...], "columns": [[v, ...], ...], "lazy": [k, ...]}

one column per key, row ``i`` of every column belonging to process ``i``. Columns named in
``"lazy"`` (``state``, ``mailbox`` and ``reason``) hold each value as its own encoded payload
(msgpack bin), decoded only when a reader asks for it. :func:`unpack_world` turns the tables back
into lists of read-only :class:`ProcessRow` mappings, so readers see the schema's lists of maps.
Supervisor entries keep their ``children`` encoded until read (:class:`SupervisorRow`).
Older keyframes whose ``"dead"`` is a list of ``[pid, status]`` pairs pass through unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, overload

import msgpack

from recorder.payload import (
    Limits,
    Opaque,
    PayloadError,
    decode_payload,
    encode_payload,
    native_mailbox_cells,
    scanned_unpacker,
    to_structural,
    unpack_rows,
)

__all__ = [
    "LAZY_KEYS",
    "ROW_KEYS",
    "TABLE_LISTS",
    "MailboxCells",
    "ProcessColumns",
    "ProcessRow",
    "RowTable",
    "SupervisorRow",
    "decode_keyframe",
    "empty_mailbox_cells",
    "mailbox_cells",
    "pack_world",
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


def pack_world(world: Any, limits: Limits) -> Any:
    """Freeze ``world`` into its on-disk structural form (called on the observed thread, so
    that later mutations of live states cannot leak into the keyframe).

    An entry of ``"dead"`` never changes once made (``docs/world-schema.md``): the form of each
    is kept from one call to the next on the same thread, by identity, so a keyframe converts
    only the processes that ended since the last one.
    """
    if not isinstance(world, dict) or not isinstance(world.get("processes"), _PROCESS_LISTS):
        return to_structural(world, _WORLD_LIMITS)
    tables = {}
    for name in TABLE_LISTS:
        entries = world.get(name)
        if type(entries) is ProcessColumns:
            tables[name] = _pack_columns(entries, limits)
        elif isinstance(entries, list) and entries and all(isinstance(p, dict) for p in entries):
            tables[name] = _pack_table(entries, limits, reuse=name == "dead")
        elif name == "processes" and entries:
            return to_structural(world, _WORLD_LIMITS)
    rest = {k: v for k, v in world.items() if k not in tables}
    out = to_structural(rest, _WORLD_LIMITS)
    out.update(tables)
    return out


class ProcessColumns:
    """A world's ``"processes"`` given as the columns of its table (a world built for a
    :class:`~recorder.Recorder` by the sandbox: no dict per process to build, read back and
    transpose): ``columns`` maps each key, in the order the entries' maps would have it, to
    the values of every process, row ``i`` being process ``i``. At least one process.

    The cells are the world's own, made for this keyframe and never changed; cells with
    nothing in them (an empty list, :func:`empty_mailbox_cells`) may be one shared object.
    Its table is meant for msgpack (what the writer packs keyframes with), whose bytes do not
    depend on sharing (the payload encoder would mark a list met twice as shared).

    :func:`pack_world` makes the table of :attr:`rows` from it (the same bytes:
    tests/recorder/sandbox/test_world_columns.py).
    """

    __slots__ = ("columns",)

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def rows(self) -> list[dict[str, Any]]:
        """The entries as the maps of ``docs/world-schema.md``."""
        keys = list(self.columns)
        return [
            dict(zip(keys, row, strict=True)) for row in zip(*self.columns.values(), strict=True)
        ]


_PROCESS_LISTS = (list, ProcessColumns)


def _pack_columns(pc: ProcessColumns, limits: Limits) -> dict[str, Any]:
    """:func:`_pack_table` of ``pc.rows()`` (not reused), made from the columns."""
    keys = list(pc.columns)
    ids: list[Any] | None = None
    if "mailbox" in pc.columns:
        if _IDS not in pc.columns:
            keys.append(_IDS)
        ids = [_mailbox_ids(m, limits) for m in pc.columns["mailbox"]]
    columns = []
    for k in keys:
        if k == _IDS and ids is not None:
            columns.append(ids)
        elif k in LAZY_KEYS:
            columns.append([_lazy_cell(v, limits) for v in pc.columns[k]])
        else:
            columns.append(_structural_column(list(pc.columns[k]), limits, owned=True))
    lazy = [k for k in keys if k in LAZY_KEYS]
    return {_TABLE_TAG: 1, "keys": keys, "columns": columns, "lazy": lazy}


class _Converted(threading.local):
    """The converted rows of the last ``dead`` table packed on this thread: ``id(entry) ->
    (entry, limits, row)``; holding the entry keeps its id from being reused."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[dict[str, Any], Limits, dict[str, Any]]] = {}


_converted = _Converted()


def _pack_table(procs: list[dict[str, Any]], limits: Limits, *, reuse: bool) -> dict[str, Any]:
    # Every key, in order of first appearance; an entry with the first one's keys (the usual
    # case: one dict literal makes them all) adds none, and is checked as a set, at C speed.
    keys: dict[str, None] = {}
    first = procs[0].keys()
    uniform = True
    for k in first:
        keys.setdefault(str(k), None)
    for p in procs:
        if p.keys() != first:
            uniform = False
            for k in p:
                keys.setdefault(str(k), None)
    uniform = uniform and all(type(k) is str for k in first)
    ids: list[Any] | None = None
    if "mailbox" in keys:
        # Replay adds and removes queued messages by id; keep ids and senders in a plain
        # column so a reader needs the (lazy) messages only to show them. Made in its final
        # form, for every entry (an entry's own "mailbox_ids" is replaced).
        keys.setdefault(_IDS, None)
        ids = [_mailbox_ids(p.get("mailbox"), limits) for p in procs]
    lazy = [k for k in keys if k in LAZY_KEYS]
    if reuse:
        if ids is not None:  # (ended processes have no mailbox: not the common case)
            procs = [{**p, _IDS: None} for p in procs]
        before, now = _converted.rows, {}
        rows = []
        for p in procs:
            got = before.get(id(p))
            if got is None or got[0] is not p or got[1] is not limits:
                got = (p, limits, _convert(p, limits))
            now[id(p)] = got
            rows.append(got[2])
        _converted.rows = now
        columns = [[r.get(k, _MISSING[k in LAZY_KEYS]) for r in rows] for k in keys]
        if ids is not None:
            columns[list(keys).index(_IDS)] = ids
    else:
        columns = []
        for k in keys:
            if k == _IDS and ids is not None:
                columns.append(ids)
            elif k in LAZY_KEYS:
                columns.append([_lazy_cell(p.get(k), limits) for p in procs])
            else:
                cells = list(map(itemgetter(k), procs)) if uniform else [p.get(k) for p in procs]
                columns.append(_structural_column(cells, limits))
    return {_TABLE_TAG: 1, "keys": list(keys), "columns": columns, "lazy": lazy}


_SCALARS = frozenset((int, float, bool, type(None)))
_TEXTS = frozenset((str, type(None)))
_INT_LISTS = frozenset((list,))


def _structural_column(col: list[Any], limits: Limits, *, owned: bool = False) -> list[Any]:
    """``[to_structural(v, limits) for v in col]``: a column of values that it returns as they
    are (ids, counters, flags, ASCII names within ``max_str``), or copies of (lists of such
    ints: links), is checked whole at C speed instead of with one call per cell (a keyframe of
    a few thousand processes has a dozen such columns). ``col`` is the caller's own list;
    ``owned``: so are its lists (made for this keyframe, maybe shared: see
    :class:`ProcessColumns`), kept instead of copied, and an empty one is kept as it is."""
    types = set(map(type, col))
    if types <= _SCALARS:
        if int not in types or _ints_fit(col if len(types) == 1 else _only_ints(col)):
            return col
    elif types <= _TEXTS:
        texts = col if len(types) == 1 else [v for v in col if v is not None]
        if all(map(str.isascii, texts)) and max(map(len, texts), default=0) <= limits.max_str:
            return col
    elif types == _INT_LISTS:
        longest = max(map(len, col), default=0)
        flat = list(chain.from_iterable(col))
        if (
            set(map(type, flat)) <= _INT_ONLY
            and _ints_fit(flat)
            and longest <= limits.max_items
            and longest + 1 <= limits.max_nodes
            and 9 * longest + 5 < limits.max_bytes
            and limits.max_depth >= 1
        ):
            return col if owned else [list(v) if v else v for v in col]
    if owned:
        return [v if type(v) is list and not v else to_structural(v, limits) for v in col]
    return [to_structural(v, limits) for v in col]


_INT_ONLY = frozenset((int,))
_INT_MIN, _UINT_MAX = -(1 << 63), (1 << 64) - 1  # what msgpack packs as an int


def _only_ints(col: list[Any]) -> list[int]:
    return [v for v in col if type(v) is int]


def _ints_fit(ints: list[int]) -> bool:
    return not ints or (min(ints) >= _INT_MIN and max(ints) <= _UINT_MAX)


#: A key an entry lacks, stored as the conversion of ``None`` (plain: ``None``; lazy: no bytes).
_MISSING = (None, b"")


def _convert(p: dict[str, Any], limits: Limits) -> dict[str, Any]:
    return {
        str(k): _lazy_cell(v, limits) if k in LAZY_KEYS else to_structural(v, limits)
        for k, v in p.items()
    }


class MailboxCells:
    """A process's ``mailbox`` in a world built for a :class:`~recorder.Recorder` (the
    sandbox's keyframes, :func:`mailbox_cells`): the keyframe's two cells of that mailbox,
    made on the program thread without the world's lists, and the envelopes they came from.

    A fan-out keyframe lists thousands of queued messages; each ``[msg_id, sender, message]``
    list of the world and each ``[msg_id, sender]`` pair :func:`pack_world` made of it was one
    more object for the program's garbage collector to walk and promote (two full collections
    per fan-out benchmark run). :func:`pack_world` takes the cells as they are (the same bytes
    as the lists: tests/recorder/session/test_mailbox_cells.py), or, under other limits, the
    lists made from :attr:`rows`.
    """

    __slots__ = ("ids", "limits", "payload", "rows")

    def __init__(
        self, payload: bytes, ids: list[tuple[int, int]], rows: tuple[Any, ...], limits: Limits
    ) -> None:
        self.payload = payload
        """The encoded ``[[msg_id, sender, message], ...]`` (the lazy ``mailbox`` cell)."""
        self.ids = ids
        """The ``(msg_id, sender)`` pairs (the ``mailbox_ids`` cell; packed as lists)."""
        self.rows = rows
        """The ``(msg_id, sender, message, recorded)`` envelopes taken, oldest first."""
        self.limits = limits

    def __len__(self) -> int:
        return len(self.rows)

    def as_rows(self) -> list[list[Any]]:
        """The world's ``mailbox`` list (``docs/world-schema.md``)."""
        return [[m, s, msg if rec is None else rec] for m, s, msg, rec in self.rows]


def mailbox_cells(envelopes: Any, limit: int, limits: Limits) -> MailboxCells | None:
    """The keyframe cells of the first ``limit`` of ``envelopes`` (a sandbox mailbox:
    ``(msg_id, sender, message, recorded)`` tuples), each row showing ``recorded`` unless it is
    ``None``, encoded under ``limits``; ``None`` without the native encoder, or when the rows
    are not the common case (ids and senders small ints, limits that fit them): the caller
    then builds the world's lists."""
    if native_mailbox_cells is None:
        return None
    got = native_mailbox_cells(envelopes, limit, limits)
    return None if got is None else MailboxCells(got[0], got[1], got[2], limits)


#: The ``mailbox_ids`` cell of :func:`empty_mailbox_cells`, shared by every row that has one
#: (a keyframe of thousands of idle processes would otherwise make as many lists for the
#: collector). Tables only hold it, to be packed: nothing appends to it.
_NO_IDS: list[Any] = []
_EMPTY_CELLS: dict[Limits, MailboxCells] = {}


def empty_mailbox_cells(limits: Limits) -> MailboxCells:
    """The cells of an empty mailbox under ``limits``, made once and shared (read-only)."""
    cells = _EMPTY_CELLS.get(limits)
    if cells is None:
        if len(_EMPTY_CELLS) >= 16:
            _EMPTY_CELLS.clear()
        cells = _EMPTY_CELLS[limits] = MailboxCells(encode_payload([], limits), _NO_IDS, (), limits)
    return cells


def _lazy_cell(value: Any, limits: Limits) -> bytes:
    if type(value) is MailboxCells:
        if value.limits == limits:
            return value.payload
        value = value.as_rows()
    return encode_payload(value, limits)


_IDS = "mailbox_ids"  # the column pack_world adds, made by _mailbox_ids in its final form


def _mailbox_ids(mailbox: Any, limits: Limits) -> Any:
    """The ``mailbox_ids`` cell of a mailbox: ``to_structural`` of its ``[id, sender]`` pairs
    under ``limits``, or ``None`` if the mailbox is not a list of rows.

    The common case (small int ids and senders, a mailbox within the limits) is the list of
    pairs itself, built without a round trip through the encoder: a keyframe of a fan-out
    holds thousands of queued messages, and each round-tripped pair was three more objects for
    the garbage collector (the same structure either way: tests/recorder/test_keyframes.py).
    """
    if type(mailbox) is list and not mailbox:
        return []  # (most processes: what the general case below makes of it)
    if type(mailbox) is MailboxCells:
        if mailbox.limits == limits:
            return mailbox.ids
        mailbox = mailbox.as_rows()
    if not isinstance(mailbox, (list, tuple)):
        return None
    n = len(mailbox)
    if (
        n <= limits.max_items
        and 3 * n + 1 <= limits.max_nodes
        and limits.max_depth >= 3
        and 19 * n + 5 < limits.max_bytes
    ):
        try:
            pairs = [[row[0], row[1]] for row in mailbox if type(row) in _ROW_TYPES]
        except IndexError:
            pairs = None
        if pairs is not None and len(pairs) == n:
            for msg_id, sender in pairs:
                if type(msg_id) is not int or type(sender) is not int:
                    break
                if not (0 <= msg_id < _SMALL and 0 <= sender < _SMALL):
                    break
            else:
                return pairs
    pairs_or_none = _mailbox_pairs(mailbox)
    return None if pairs_or_none is None else to_structural(pairs_or_none, limits)


_ROW_TYPES = (list, tuple)


def _mailbox_pairs(mailbox: list[Any] | tuple[Any, ...]) -> list[list[Any]] | None:
    out: list[list[Any]] = []
    append = out.append
    for row in mailbox:
        if not (isinstance(row, (list, tuple)) and len(row) >= 2):
            return None
        msg_id, sender = row[0], row[1]
        # Ids and senders are small ints (pid numbers): as they are, without a call each.
        if type(msg_id) is not int or not 0 <= msg_id < _SMALL:
            msg_id = to_structural(msg_id)
        if type(sender) is not int or not 0 <= sender < _SMALL:
            sender = to_structural(sender)
        append([msg_id, sender])
    return out


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
