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
The reading side (rows, :func:`unpack_world`, :func:`decode_keyframe`) is
:mod:`recorder.session.keyframe_rows`; this module exports its names too.
Older keyframes whose ``"dead"`` is a list of ``[pid, status]`` pairs pass through unchanged.
"""

from __future__ import annotations

import threading
from itertools import chain
from operator import itemgetter
from typing import Any

from recorder.payload import (
    Limits,
    encode_payload,
    native_mailbox_cells,
    to_structural,
)
from recorder.session.keyframe_rows import (  # the reading side, exported here too
    _SMALL,
    _TABLE_TAG,
    _WORLD_LIMITS,
    LAZY_KEYS,
    ROW_KEYS,
    TABLE_LISTS,
    ProcessRow,
    RowTable,
    SupervisorRow,
    decode_keyframe,
    row_position,
    table_column,
    unpack_world,
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
