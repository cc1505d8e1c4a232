"""Keyframe worlds checked against their schema before anyone reads them.

A keyframe comes from the file, so any field may hold any type: ``links: 7``, a pid of 2^80, a
registry that is a list. :func:`normalize_world` gives the model a world in which every field
has the type ``docs/world-schema.md`` promises (pids in range, counts that fit an int64, lists
that are lists): a value of the wrong type is replaced by the field's default, a row that is
not a row is dropped. Columns of a process table are checked a column at a time: the int and
row columns in one C pass each when the native module is built (``recorder/_native/checks.c``,
~1 ms for a 6,000-process keyframe), else with builtins (``set(map(type, col))``, ``min`` /
``max``, ~3.5 ms); only a column that fails is rebuilt value by value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from itertools import chain, repeat
from typing import Any

from recorder.payload import native_column_checks
from recorder.session.format import MAX_ABS_TIME
from recorder.session.keyframes import SupervisorRow

__all__ = ["normalize_world"]

_NO_PID = 0xFFFFFFFF
_I64 = 1 << 63
_NONE = type(None)
#: The types of a row of ids or pids and of a list of rows (a keyframe's reader decodes them
#: as tuples, see ``recorder.session.keyframes.decode_keyframe``; older readers as lists).
_ROWS = frozenset((list, tuple))


class _Rules:
    """Validators bound to one ``max_pid``; the column checks in C when the native module has
    them (``native``: ``None`` for the pure-Python ones, which give the same answers)."""

    def __init__(self, max_pid: int, native: Any = native_column_checks) -> None:
        self.max_pid = max_pid
        self.native = native

    # ------------------------------------------------------------------ single values

    def pid(self, v: Any) -> bool:
        return type(v) is int and 0 <= v < self.max_pid

    def opt_pid(self, v: Any) -> bool:
        return v is None or v == _NO_PID or self.pid(v)

    def sender(self, v: Any) -> bool:
        return v == _NO_PID or self.pid(v)

    @staticmethod
    def count(v: Any) -> bool:
        return type(v) is int and 0 <= v < _I64

    @staticmethod
    def i64(v: Any) -> bool:
        return type(v) is int and -_I64 <= v < _I64

    def links(self, v: Any) -> Any:
        if type(v) not in _ROWS:
            return []
        return v if all(map(self.pid, v)) else [x for x in v if self.pid(x)]

    def pairs(self, v: Any, second: Callable[[Any], bool], width: int = 2) -> Any:
        """Rows ``[int64, pid-ish, ...]`` of at least ``width`` items (monitors, mailboxes)."""
        if type(v) not in _ROWS:
            return []
        ok = [r for r in v if type(r) in _ROWS and len(r) >= width and self.i64(r[0])
              and second(r[1])]  # fmt: skip
        return v if len(ok) == len(v) else ok

    # ------------------------------------------------------------------ columns

    def ints_ok(self, col: list[Any], lo: int, hi: int, *, optional: bool = False) -> bool:
        """Fast check: every value an int in ``[lo, hi)`` (or None / NO_PID if optional)."""
        if self.native is not None and -_I64 <= lo < hi <= _I64:
            return bool(self.native[0](col, lo, hi - 1, optional))
        types = set(map(type, col))
        if optional:
            types.discard(_NONE)
        if not types <= {int}:
            return False
        vals = [v for v in col if v is not None and v != _NO_PID] if optional else col
        return not vals or (lo <= min(vals) and max(vals) < hi)

    def links_ok(self, col: list[Any]) -> bool:
        """Fast check of a column of lists of pids."""
        if self.native is not None and 0 < self.max_pid <= _I64:
            return bool(self.native[1](col, 0, self.max_pid - 1))
        return set(map(type, col)) <= _ROWS and self.ints_ok(
            list(chain.from_iterable(col)), 0, self.max_pid
        )

    def rows_ok(self, col: list[Any], width: int, second_lo: int, sender: bool) -> bool:
        """Fast check of a column of lists of rows ``[int64, pid-ish]`` (``width`` 2)."""
        if self.native is not None and width >= 2 and 0 <= second_lo < self.max_pid <= _I64:
            return bool(self.native[2](col, width, second_lo, self.max_pid - 1, sender))
        if not set(map(type, col)) <= _ROWS:
            return False
        rows = list(chain.from_iterable(col))
        if not rows:
            return True
        if not set(map(type, rows)) <= _ROWS or min(map(len, rows)) < width:
            return False
        firsts = [r[0] for r in rows]
        seconds = [r[1] for r in rows if not (sender and r[1] == _NO_PID)]
        return (
            self.ints_ok(firsts, -_I64, _I64)
            and set(map(type, seconds)) <= {int}
            and (not seconds or (second_lo <= min(seconds) and max(seconds) < self.max_pid))
        )


def _str_or(default: str | None) -> Callable[[Any], Any]:
    return lambda v: v if type(v) is str else default


def _column_fixers(
    r: _Rules,
) -> dict[str, tuple[Callable[[list[Any]], bool], Callable[[Any], Any]]]:
    """key -> (fast check of a whole column, fix of one value)."""

    def ints(lo: int, hi: int, default: Any, optional: bool = False) -> Any:
        def fix(v: Any) -> Any:
            if optional and (v is None or v == _NO_PID):
                return None
            return v if type(v) is int and lo <= v < hi else default

        return (lambda col: r.ints_ok(col, lo, hi, optional=optional)), fix

    def strings(default: str | None) -> Any:
        allowed = {str} if default is not None else {str, _NONE}
        return (lambda col: set(map(type, col)) <= allowed), _str_or(default)

    def rows(second: Callable[[Any], bool], sender: bool, width: int = 2) -> Any:
        return (lambda col: r.rows_ok(col, width, 0, sender)), (lambda v: r.pairs(v, second, width))

    return {
        "pid": ints(0, r.max_pid, None),
        "parent": ints(0, r.max_pid, None, optional=True),
        "supervisor": ints(0, r.max_pid, None, optional=True),
        "name": strings(""),
        "behaviour": strings("process"),
        "status": strings("waiting"),
        "registered": strings(None),
        "trap_exit": ((lambda col: set(map(type, col)) <= {bool}), lambda v: v is True),
        "mailbox_len": ints(0, _I64, 0),
        "restarts": ints(0, _I64, 0),
        "handled": ints(0, _I64, 0),
        "cpu_ns": ints(0, _I64, 0),
        "memory": ints(0, _I64, 0),
        "links": (r.links_ok, r.links),
        "monitors": rows(r.pid, sender=False),
        "mailbox_ids": rows(r.sender, sender=True),
    }


def normalize_world(world: dict[str, Any], max_pid: int) -> dict[str, Any]:
    """``world`` (a decoded keyframe ``"world"`` map, process table not yet unpacked) with
    every schema field of the right type; a new dict when something had to change."""
    r = _Rules(max_pid)
    out = dict(world)
    t = world.get("time_ns")
    out["time_ns"] = t if type(t) is int and -MAX_ABS_TIME <= t <= MAX_ABS_TIME else 0
    out["processes"] = _processes(world.get("processes"), r)
    out["dead"] = _dead(world.get("dead"), r)
    sups = world.get("supervisors")
    out["supervisors"] = _supervisors(sups, r) if type(sups) is list else []
    reg = world.get("registry")
    if type(reg) is not dict:
        out["registry"] = {}
    elif not (set(map(type, reg)) <= {str} and r.ints_ok(list(reg.values()), 0, max_pid)):
        out["registry"] = {k: v for k, v in reg.items() if type(k) is str and r.pid(v)}
    return out


_SUP_TYPES = (dict, SupervisorRow)


def _supervisors(sups: list[Any], r: _Rules) -> list[Any]:
    """The supervisor entries with a valid pid; their child rows checked all at once (the
    common case: 50 supervisors of 100 children each pass untouched, in well under 1 ms)."""
    ok = [s for s in sups if type(s) in _SUP_TYPES and r.pid(s.get("pid"))]
    if any(type(s) is SupervisorRow for s in ok):
        # children still encoded: their rows are checked when read (SupervisorRow.check)
        out: list[Any] = []
        for s in ok:
            if type(s) is SupervisorRow and _fields_ok(s, r):
                s.check = partial(_checked_children, r=r)
                out.append(s)
            else:
                out.append(_supervisor(dict(s), r))
        return out
    kids: list[Any] = [s.get("children") for s in ok]
    if set(map(type, kids)) <= {list}:
        rows = list(chain.from_iterable(kids))
        if _rows_ok(rows, r):
            return [s if _fields_ok(s, r) else _supervisor(s, r) for s in ok]
    return [_supervisor(s, r) for s in ok]


def _rows_ok(rows: list[Any], r: _Rules) -> bool:
    """Whether every child row is a map with a valid pid (or none) and string restart / type
    (one pass per field with builtins)."""
    if not rows:
        return True
    if not set(map(type, rows)) <= {dict}:
        return False
    pids = [p for p in map(dict.get, rows, repeat("pid")) if p is not None]
    if not r.ints_ok(pids, 0, r.max_pid):
        return False
    return all(
        set(map(type, map(dict.get, rows, repeat(k), repeat("")))) <= {str}
        for k in ("restart", "type")
    )


def _fields_ok(s: Mapping[str, Any], r: _Rules) -> bool:
    strategy, mr, ms = s.get("strategy"), s.get("max_restarts"), s.get("max_seconds")
    return (
        (strategy is None or type(strategy) is str)
        and (mr is None or r.count(mr))
        and (ms is None or _seconds(ms))
    )


def _supervisor(s: dict[str, Any], r: _Rules) -> dict[str, Any]:
    strategy, mr, ms = s.get("strategy"), s.get("max_restarts"), s.get("max_seconds")
    kids = s.get("children")
    if _fields_ok(s, r) and type(kids) is list and _children_ok(kids, r):
        return s  # nothing copied
    out = dict(s)
    out["strategy"] = strategy if type(strategy) is str else None
    out["max_restarts"] = mr if r.count(mr) else None
    out["max_seconds"] = ms if _seconds(ms) else None
    children = []
    for c in kids if type(kids) is list else ():
        if type(c) is dict:
            c = dict(c)
            if c.get("pid") == _NO_PID or not r.opt_pid(c.get("pid")):
                c["pid"] = None
            for key in ("restart", "type"):
                if key in c and type(c[key]) is not str:
                    del c[key]
            children.append(c)
    out["children"] = children
    return out


def _checked_children(kids: Any, r: _Rules) -> list[Any]:
    """A supervisor's decoded child rows as :func:`_supervisor` leaves them."""
    if type(kids) is list and _children_ok(kids, r):
        return kids
    return _supervisor({"children": kids}, r)["children"]  # type: ignore[no-any-return]


def _seconds(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and abs(v) < 1e12


def _children_ok(kids: list[Any], r: _Rules) -> bool:
    """Whether a supervisor's child rows need no fixing (one pass, no calls per row)."""
    top = r.max_pid
    for c in kids:
        if type(c) is not dict:
            return False
        pid = c.get("pid")
        if pid is not None and (type(pid) is not int or not 0 <= pid < top):
            return False
        if type(c.get("restart", "")) is not str or type(c.get("type", "")) is not str:
            return False
    return True


def _dead(dead: Any, r: _Rules) -> Any:
    """Ended processes: entries like the live ones (a table, or maps), or the ``[pid, status]``
    pairs of older files."""
    if type(dead) is dict or (type(dead) is list and dead and type(dead[0]) is dict):
        return _processes(dead, r)
    return [
        row for row in (dead if type(dead) is list else ())
        if type(row) is list and len(row) >= 2 and r.pid(row[0]) and type(row[1]) is str
    ]  # fmt: skip


def _processes(procs: Any, r: _Rules) -> Any:
    fixers = _column_fixers(r)
    if type(procs) is dict and procs.get("__table__") == 1:
        return _table(procs, fixers)
    if type(procs) is not list:
        return []
    out = []
    for e in procs:
        if type(e) is not dict or not r.pid(e.get("pid")):
            continue
        e = dict(e)
        for key, (_, fix) in fixers.items():
            if key in e:
                e[key] = fix(e[key])
        mailbox = e.get("mailbox")
        if mailbox is not None:
            e["mailbox"] = r.pairs(mailbox, r.sender, width=3)
        out.append(e)
    return out


def _table(table: dict[str, Any], fixers: dict[str, Any]) -> Any:
    """A process table with its known columns checked (leaves malformed layouts alone:
    ``unpack_world`` refuses those)."""
    keys, columns, lazy = table.get("keys"), table.get("columns"), table.get("lazy")
    if not (type(keys) is list and type(columns) is list and len(keys) == len(columns)):
        return table
    if not all(type(c) is list for c in columns) or len({len(c) for c in columns}) > 1:
        return table
    lazy_keys = set(lazy) if type(lazy) is list and all(type(k) is str for k in lazy) else set()
    fixed = list(columns)
    changed = False
    for i, key in enumerate(keys):
        rule = fixers.get(key) if type(key) is str and key not in lazy_keys else None
        if rule is not None and not rule[0](fixed[i]):
            fixed[i] = [rule[1](v) for v in fixed[i]]
            changed = True
    if changed and "pid" in keys:  # a row without a valid pid is no process: drop it
        pids = fixed[keys.index("pid")]
        if None in pids:
            keep = [j for j, p in enumerate(pids) if p is not None]
            fixed = [[c[j] for j in keep] for c in fixed]
    return {**table, "columns": fixed} if changed else table
