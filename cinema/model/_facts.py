"""Status, mailbox length, restarts and supervisor of every process, as pid-ordered arrays.

A view of thousands of processes (the supervision graph) needs these few facts of each, not
their states: building one :class:`~cinema.model.world.ProcessView` per process decodes every
state and costs ~50 µs a process. :func:`status_table` reads the facts straight off a world's
entries instead. A keyframe's entries (its ``processes`` and ``dead`` tables) are read column
by column, once per keyframe (:class:`KeyframeFacts`, shared by every world replayed from that
keyframe, whose untouched entries are the keyframe's own); only the entries replay turned into
``Proc`` objects (a few hundred per world) are read one by one.

Statuses are stored as ``waiting`` for any live process that is not suspended; ``running`` is
derived from the mailbox length (``docs/world-schema.md``), in one vectorised step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from recorder.events import NO_PID
from recorder.session.keyframes import ProcessRow, row_position, table_column

if TYPE_CHECKING:
    from cinema.model._proc import Proc

__all__ = [
    "STATUSES", "KeyframeFacts", "StatusTable", "keyframe_table", "status_table", "updated_table",
]  # fmt: skip

#: Every status a process can have (a :class:`StatusTable` holds indexes into this tuple).
STATUSES = ("running", "waiting", "suspended", "dead", "crashed", "restarting")
_CODE = {s: i for i, s in enumerate(STATUSES)}
_RUNNING, _WAITING, _DEAD, _CRASHED = (_CODE[s] for s in ("running", "waiting", "dead", "crashed"))
# The stored code of a keyframe status: running / waiting (a run queue's notion) and anything
# unknown are "alive", whose shown status the mailbox decides.
_STORED_CODE = {**_CODE, "running": _WAITING, "restarting": _WAITING}

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]


class StatusTable(NamedTuple):
    """Every process of a world (dead ones included), one row per process in pid order.

    The values equal the matching :class:`~cinema.model.world.ProcessView` fields.
    """

    pid: IntArray
    status: CodeArray
    """Index into :data:`STATUSES`."""
    mailbox_len: IntArray
    restarts: IntArray
    supervisor: IntArray
    """The supervisor's pid, ``-1`` for none."""

    @property
    def alive(self) -> BoolArray:
        """Rows whose process is alive (not dead, not crashed)."""
        alive: BoolArray = (self.status != _DEAD) & (self.status != _CRASHED)
        return alive

    def take(self, rows: npt.ArrayLike) -> StatusTable:
        """The table of these rows only."""
        at = np.asarray(rows, dtype=np.int64)
        return StatusTable(
            self.pid[at], self.status[at], self.mailbox_len[at], self.restarts[at],
            self.supervisor[at],
        )  # fmt: skip

    def rows_of(self, pids: npt.ArrayLike) -> IntArray:
        """Row of each of ``pids`` (``-1`` where the world has no such process)."""
        want = np.asarray(pids, dtype=np.int64)
        at = np.searchsorted(self.pid, want)
        ok = at < len(self.pid)
        ok[ok] = self.pid[at[ok]] == want[ok]
        return np.where(ok, at, -1).astype(np.int64)

    def status_of(self, pid: int) -> str | None:
        row = int(self.rows_of([pid])[0])
        return STATUSES[int(self.status[row])] if row >= 0 else None


def _as_int(v: Any, default: int = NO_PID) -> int:
    if type(v) is int:
        return v
    n = getattr(v, "n", None)  # a Pid / Ref that slipped into a pid position
    return n if isinstance(n, int) else default


def _opt_pid(v: Any) -> int | None:
    if v is None:
        return None
    n = v if type(v) is int else _as_int(v)
    # a pid from event data (a crafted file may say 2^80): only process ids are pids
    return n if 0 <= n < NO_PID else None


def _queued(rows: Any, width: int) -> int:
    """Distinct message ids among mailbox rows of at least ``width`` items (as replay keeps
    them: by id)."""
    if not rows or not isinstance(rows, (list, tuple)):
        return 0
    return len({_as_int(r[0]) for r in rows if isinstance(r, (list, tuple)) and len(r) >= width})


def _mailbox_len(listed: int, mlen: Any) -> int:
    return max(listed, mlen) if type(mlen) is int else listed


def _sup_or_none(v: Any) -> int:
    sup = _opt_pid(v)
    return -1 if sup is None else sup


def _entry_row(e: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(stored status, mailbox length, restarts, supervisor) of one keyframe entry, read the
    way ``Proc.from_entry`` reads it (a table row lists its mailbox in ``mailbox_ids``)."""
    table_row = type(e) is ProcessRow
    get = e.plain().get if isinstance(e, ProcessRow) else e.get
    status = get("status")
    code = _STORED_CODE.get(status, _WAITING) if type(status) is str else _WAITING
    mlen: Any = 0
    if code in (_DEAD, _CRASHED):
        listed = 0  # an ended process holds no messages
    else:
        ids = get("mailbox_ids") if table_row else None
        listed = _queued(ids if isinstance(ids, (list, tuple)) else get("mailbox"), 2)
        mlen = get("mailbox_len")
    restarts = get("restarts")
    sup = _opt_pid(get("supervisor"))
    return (
        code,
        _mailbox_len(listed, mlen),
        restarts if type(restarts) is int else 0,
        -1 if sup is None else sup,
    )


def _table(
    pids: list[int], rows: list[tuple[int, int, int, int]] | IntArray, ordered: bool = False
) -> StatusTable:
    pid = np.asarray(pids, dtype=np.int64)
    cols = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    if not ordered:
        order = np.argsort(pid, kind="stable")
        pid, cols = pid[order], cols[order]
    return StatusTable(
        pid, cols[:, 0].astype(np.uint8), cols[:, 1].copy(), cols[:, 2].copy(), cols[:, 3].copy()
    )


class KeyframeFacts:
    """The :class:`StatusTable` of a keyframe world's entries, computed on first use.

    Args:
        seq: the keyframe's sequence number (its world is the one after event ``seq - 1``).
        entries: the keyframe world's ``pid -> entry`` (row numbers, see
            :class:`~cinema.model.world.KfEntries`, or mappings).
        tables: the keyframe's process lists (``dead``, then ``processes``): the columns of
            each are read in one pass.
    """

    __slots__ = ("_entries", "_table", "_tables", "seq")

    def __init__(self, seq: int, entries: Mapping[int, Any], tables: tuple[Any, ...]) -> None:
        self.seq = seq
        self._entries = entries
        self._tables = tables
        self._table: StatusTable | None = None

    def table(self) -> StatusTable:
        if self._table is None:
            self._table = self._compute()
            self._entries, self._tables = {}, ()  # only the table is needed from now on
        return self._table

    def _compute(self) -> StatusTable:
        entries = self._entries
        bodies: dict[int, IntArray] = {}  # id of a keyframe table -> its rows' facts
        numbered: list[Any] = [None, None]  # (processes, dead): the tables row numbers name
        for t, rows in enumerate(self._tables):
            body = _columns_of(rows)
            if body is not None and len(rows):
                tid = id(row_position(rows[0])[0])
                bodies[tid] = body
                numbered[1 - t] = tid
        keys = list(entries)
        out = np.empty((len(keys), 4), np.int64)
        picks: dict[int, tuple[list[int], list[int]]] = {}  # table id -> (out rows, its rows)
        for k, p in enumerate(keys):
            e = entries[p]
            if type(e) is int:  # a row number (KfEntries): row e of processes, ~e of dead
                tid, i = (numbered[0], e) if e >= 0 else (numbered[1], ~e)
                if tid is not None:
                    pos, idx = picks.setdefault(tid, ([], []))
                    pos.append(k)
                    idx.append(i)
                else:
                    out[k] = _entry_row(self._tables[1 if e >= 0 else 0][i])
                continue
            at = row_position(e) if type(e) is ProcessRow else None
            if at is not None and id(at[0]) in bodies:
                pos, idx = picks.setdefault(id(at[0]), ([], []))
                pos.append(k)
                idx.append(at[1])
            else:  # an old keyframe's dead pair, or a plain list of maps: one at a time
                out[k] = _entry_row(e)
        for tid, (pos, idx) in picks.items():
            out[pos] = bodies[tid][idx]
        return _table(keys, out)


def _columns_of(rows: Any) -> IntArray | None:
    """(status, mailbox length, restarts, supervisor) of every row of a keyframe's process
    table, read column by column (``None``: not such a table)."""
    cols = {
        k: table_column(rows, k)
        for k in ("pid", "status", "mailbox_ids", "mailbox_len", "restarts", "supervisor")
    }
    pid_col = cols["pid"]
    if pid_col is None or (cols["mailbox_ids"] is None and table_column(rows, "mailbox")):
        return None  # a plain list of maps (or a table with plain mailboxes): one at a time
    n = len(pid_col)
    none: list[Any] = [None] * n
    status, ids, mlen, restarts, sup = (
        cols[k] or none for k in ("status", "mailbox_ids", "mailbox_len", "restarts", "supervisor")
    )
    # one pass per column; the common case (plain ints and strings) without calls
    table = np.empty((n, 4), np.int64)
    code = _STORED_CODE.get
    table[:, 0] = [code(s, _WAITING) if type(s) is str else _WAITING for s in status]
    table[:, 1] = [
        (m if type(m) is int and m > 0 else 0) if not q else _mailbox_len(_queued(q, 2), m)
        for q, m in zip(ids, mlen, strict=True)
    ]
    ended = (table[:, 0] == _DEAD) | (table[:, 0] == _CRASHED)
    table[ended, 1] = 0  # an ended process holds no messages
    table[:, 2] = [r if type(r) is int else 0 for r in restarts]
    table[:, 3] = [
        -1 if v is None or v == NO_PID else v if type(v) is int else _sup_or_none(v) for v in sup
    ]
    return table


def status_table(
    procs: Mapping[int, Proc | Mapping[str, Any]], base: KeyframeFacts | None
) -> StatusTable:
    """The :class:`StatusTable` of a world's entries.

    Args:
        procs: the world's ``pid -> entry``.
        base: the facts of the keyframe the world was replayed from; its mapping entries are
            that keyframe's (``None``: read them one by one).
    """
    from cinema.model._proc import Proc

    own_pids: list[int] = []
    own_rows: list[tuple[int, int, int, int]] = []
    kf: list[int] = []
    for p, e in procs.items():
        if type(e) is Proc:
            own_pids.append(p)
            sup = e.supervisor
            own_rows.append(
                (_CODE[e.status], len(e.mailbox) + e.extra, e.restarts, -1 if sup is None else sup)
            )
        else:
            kf.append(p)
    table = _table(own_pids, own_rows)
    if kf:
        part = _keyframe_part(procs, kf, base)
        both = StatusTable(*(np.concatenate([a, b]) for a, b in zip(table, part, strict=True)))
        table = both.take(np.argsort(both.pid, kind="stable"))
    # alive, not suspended, with work queued: running (docs/world-schema.md)
    busy = (table.status == _WAITING) & (table.mailbox_len > 0)
    if busy.any():
        table.status[busy] = _RUNNING
    return table


def keyframe_table(base: KeyframeFacts) -> StatusTable:
    """The :class:`StatusTable` of a world that holds only keyframe ``base``'s entries (what
    :func:`status_table` makes of them, without a pass over them)."""
    t = base.table()
    status = t.status.copy()
    status[(status == _WAITING) & (t.mailbox_len > 0)] = _RUNNING
    return t._replace(status=status)


def updated_table(
    parent: StatusTable, procs: Mapping[int, Proc | Mapping[str, Any]], changed: Iterable[int]
) -> StatusTable:
    """The :class:`StatusTable` of a world replayed from a world whose table is ``parent``:
    the rows of the ``changed`` pids (the entries the replay made its own; every other entry
    is the parent's, unchanged) read again, the rest kept. A step of playback touches a few
    dozen of thousands of processes, so this costs what changed, not the world's size."""
    from cinema.model._proc import Proc

    pids = sorted(p for p in changed if type(procs.get(p)) is Proc)
    if not pids:
        return parent
    rows = []
    for p in pids:
        e = procs[p]
        assert type(e) is Proc
        sup = e.supervisor
        rows.append(
            (_CODE[e.status], len(e.mailbox) + e.extra, e.restarts, -1 if sup is None else sup)
        )
    part = _table(pids, rows, ordered=True)
    busy = (part.status == _WAITING) & (part.mailbox_len > 0)
    part.status[busy] = _RUNNING
    at = parent.rows_of(part.pid)
    old = at >= 0
    cols: list[Any] = [a.copy() for a in parent]
    fresh: list[Any] = list(part)
    for mine, theirs in zip(cols, fresh, strict=True):
        mine[at[old]] = theirs[old]
    if not old.all():  # processes spawned since: added, then all in pid order
        cols = [np.concatenate([a, b[~old]]) for a, b in zip(cols, fresh, strict=True)]
        order = np.argsort(cols[0], kind="stable")
        cols = [a[order] for a in cols]
    return StatusTable(*cols)


def _keyframe_part(
    procs: Mapping[int, Proc | Mapping[str, Any]], kf: list[int], base: KeyframeFacts | None
) -> StatusTable:
    """The rows of the entries ``kf`` still in their keyframe form."""
    if base is not None:
        bt = base.table()
        at = bt.rows_of(kf)
        if (at >= 0).all():
            return bt.take(at)
    # not all from that keyframe (a world built by hand): read them one by one
    rows = [_entry_row(e) for p in kf if isinstance(e := procs[p], Mapping)]
    return _table(kf, rows)
