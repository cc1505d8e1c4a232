"""Status, mailbox length, restarts and supervisor of every process, as pid-ordered arrays.

A view of thousands of processes (the supervision graph) needs these few facts of each, not
their states: building one :class:`~cinema.model.world.ProcessView` per process decodes every
state and costs ~50 µs a process. :func:`status_table` reads the facts straight off a world's
entries instead. A keyframe's entries are read column by column, once per keyframe
(:class:`KeyframeFacts`, shared by every world replayed from that keyframe, whose untouched
entries are the keyframe's own); only the entries replay turned into ``Proc`` objects (a few
hundred per world) are read one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from recorder.events import NO_PID
from recorder.session.keyframes import ProcessRow, table_column

if TYPE_CHECKING:
    from cinema.model.world import Proc

__all__ = ["STATUSES", "KeyframeFacts", "StatusTable", "status_table"]

#: Every status a process can have (a :class:`StatusTable` holds indexes into this tuple).
STATUSES = ("running", "waiting", "suspended", "dead", "crashed", "restarting")
_CODE = {s: i for i, s in enumerate(STATUSES)}
_RUNNING, _WAITING, _DEAD, _CRASHED = (_CODE[s] for s in ("running", "waiting", "dead", "crashed"))

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
    return None if n == NO_PID else n


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
    """(status, mailbox length, restarts, supervisor) of one keyframe entry, read the way
    ``Proc.from_entry`` reads it (a table row lists its mailbox in ``mailbox_ids``)."""
    if type(e) is dict and len(e) == 2:  # a keyframe's "dead" row: pid and status
        status = e.get("status")
        return (_CODE.get(status, _WAITING) if type(status) is str else _WAITING, 0, 0, -1)
    table_row = type(e) is ProcessRow
    get = e.plain().get if isinstance(e, ProcessRow) else e.get
    status = get("status")
    ids = get("mailbox_ids") if table_row else None
    listed = _queued(ids, 2) if isinstance(ids, list) else _queued(get("mailbox"), 3)
    restarts = get("restarts")
    sup = _opt_pid(get("supervisor"))
    return (
        _CODE.get(status, _WAITING) if type(status) is str else _WAITING,
        _mailbox_len(listed, get("mailbox_len")),
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
        entries: the keyframe world's ``pid -> entry`` (process rows and ``dead`` rows).
        rows: the keyframe's process list (its columns are read in one pass each).
    """

    __slots__ = ("_entries", "_rows", "_table")

    def __init__(self, entries: Mapping[int, Any], rows: Any) -> None:
        self._entries = entries
        self._rows = rows
        self._table: StatusTable | None = None

    def table(self) -> StatusTable:
        if self._table is None:
            self._table = self._compute()
            self._entries, self._rows = {}, ()  # only the table is needed from now on
        return self._table

    def _compute(self) -> StatusTable:
        rows, entries = self._rows, self._entries
        cols = {
            k: table_column(rows, k)
            for k in ("pid", "status", "mailbox_ids", "mailbox_len", "restarts", "supervisor")
        }
        pid_col = cols["pid"]
        if pid_col is None or (cols["mailbox_ids"] is None and table_column(rows, "mailbox")):
            # a plain list of maps (or a table with plain mailboxes): one entry at a time
            pids = list(entries)
            return _table(pids, [_entry_row(entries[p]) for p in pids])
        n = len(pid_col)
        none: list[Any] = [None] * n
        status, ids, mlen, restarts, sup = (
            cols[k] or none
            for k in ("status", "mailbox_ids", "mailbox_len", "restarts", "supervisor")
        )
        # one pass per column; the common case (plain ints and strings) without calls
        table = np.empty((n, 4), np.int64)
        code = _CODE.get
        table[:, 0] = [code(s, _WAITING) if type(s) is str else _WAITING for s in status]
        table[:, 1] = [
            (m if type(m) is int and m > 0 else 0) if not q else _mailbox_len(_queued(q, 2), m)
            for q, m in zip(ids, mlen, strict=True)
        ]
        table[:, 2] = [r if type(r) is int else 0 for r in restarts]
        table[:, 3] = [
            -1 if v is None or v == NO_PID else v if type(v) is int else _sup_or_none(v)
            for v in sup
        ]
        # the last row of a pid wins, as in the world's dict; dead rows only fill the rest
        last = {(p if type(p) is int else _as_int(p)): i for i, p in enumerate(pid_col)}
        rest = [p for p in entries if p not in last]
        pids = [*last, *rest]
        body = table[list(last.values())]
        if rest:
            extra = [_entry_row(entries[p]) for p in rest]
            body = np.vstack([body, np.asarray(extra, np.int64).reshape(-1, 4)])
        return _table(pids, body)


def status_table(
    procs: Mapping[int, Proc | Mapping[str, Any]],
    base: KeyframeFacts | None,
    running: BoolArray,
) -> StatusTable:
    """The :class:`StatusTable` of a world's entries.

    Args:
        procs: the world's ``pid -> entry``.
        base: the facts of the keyframe the world was replayed from; its mapping entries are
            that keyframe's (``None``: read them one by one).
        running: the overlay's pid-indexed "last status change was a RECEIVE" flags.
    """
    from cinema.model.world import Proc

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
    pid = table.pid
    inside = (pid >= 0) & (pid < len(running))
    hot = np.zeros(len(pid), np.bool_)
    hot[inside] = running[pid[inside]]
    if hot.any():
        table.status[hot] = _RUNNING
    return table


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
