"""A session as SQL tables: ``events``, ``messages`` and ``processes`` as Arrow tables for
DuckDB (``cinema sql``). The tables and their columns are ``docs/sql.md``, shared with the
Parquet export, so one query runs over both.

The columns come from the skeleton and the message flow; payloads (``events.data`` and
``events.text``) are decoded only when a query names them (or selects ``*``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cinema.model import present
from cinema.model.errors import ModelError
from cinema.model.flow import OUTCOMES, message_flow
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, EventKind

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["TABLES", "connect", "is_refusal", "needed_tables", "refusal", "session_tables"]

#: The tables a session offers, in docs/sql.md order.
TABLES = ("events", "messages", "processes")
#: ``data``, ``text``, or a star in a select list (``SELECT *``, ``e.*``; not ``count(*)``).
_PAYLOAD_COLUMNS = re.compile(
    r"\b(?:data|text)\b|(?:\bselect|,)\s*(?:distinct\s+)?(?:\w+\.)?\*", re.I
)


def needed_tables(query: str) -> tuple[set[str], bool]:
    """The tables ``query`` names, and whether it needs the decoded payloads."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_]+", query)}
    return {t for t in TABLES if t in words}, bool(_PAYLOAD_COLUMNS.search(query))


def _names(session: Session) -> list[str]:
    procs = session.processes
    top = max(procs, default=-1)
    return [session.process_name(p) for p in range(top + 1)]


def _pid_columns(pids: np.ndarray, names: list[str]) -> tuple[pa.Array, pa.Array]:
    import pyarrow as pa

    pids = pids.astype(np.int64)
    none = (pids == NO_PID) | (pids < 0)
    known = ~none & (pids < len(names))
    idx = np.where(known, pids, 0).astype(np.int32)
    label = pa.DictionaryArray.from_arrays(
        pa.array(idx, mask=~known), pa.array(names or [""], pa.string())
    ).cast(pa.string())
    if (~none & ~known).any():  # pids never spawned in the session: <0.N.0>
        texts = np.array(label.to_pylist(), dtype=object)
        for i in np.flatnonzero(~none & ~known).tolist():
            texts[i] = f"<0.{int(pids[i])}.0>"
        label = pa.array(texts.tolist(), pa.string())
    return pa.array(pids, mask=none), label


def events_table(session: Session, *, payloads: bool) -> pa.Table:
    """The ``events`` table (``data`` and ``text`` NULL unless ``payloads``)."""
    import pyarrow as pa

    sk, refs = session.skeleton, session.refs
    n = len(sk.ts)
    names = _names(session)
    kinds = [KIND_NAMES.get(k, f"kind_{k}") for k in range(256)]
    kind = pa.DictionaryArray.from_arrays(pa.array(sk.kind.astype(np.int32)), pa.array(kinds)).cast(
        pa.string()
    )
    pid, process = _pid_columns(sk.pid, names)
    peer, peer_process = _pid_columns(sk.peer, names)
    data: pa.Array
    text: pa.Array
    if payloads and n:
        d_col: list[str | None] = []
        t_col: list[str] = []
        for ev in session.events():
            d = ev.data
            d_col.append(None if d is None else json.dumps(present.to_json(d), allow_nan=False))
            t_col.append(present.data_text(d))
        data, text = pa.array(d_col, pa.string()), pa.array(t_col, pa.string())
    else:
        data = text = pa.nulls(n, pa.string())
    t = (sk.ts - session.t_first) / 1e9 if n else np.empty(0)
    return pa.table({
        "seq": pa.array(np.arange(n, dtype=np.int64)), "ts": pa.array(sk.ts.astype(np.int64)),
        "t": pa.array(t), "kind": kind, "pid": pid, "process": process, "peer": peer,
        "peer_process": peer_process, "ref": pa.array(refs.astype(np.int64), mask=refs == 0),
        "data": data, "text": text,
    })  # fmt: skip


def messages_table(session: Session) -> pa.Table:
    """The ``messages`` table: every SEND with its outcome."""
    import pyarrow as pa

    fl = message_flow(session)
    names = _names(session)
    sender, sender_process = _pid_columns(fl.sender, names)
    receiver, receiver_process = _pid_columns(fl.receiver, names)
    outcome = pa.DictionaryArray.from_arrays(
        pa.array(fl.outcome.astype(np.int32)), pa.array(list(OUTCOMES))
    ).cast(pa.string())
    ts = session.skeleton.ts
    return pa.table({
        "msg_id": pa.array(fl.msg_id), "send_seq": pa.array(fl.send_seq),
        "outcome_seq": pa.array(fl.recv_seq, mask=fl.recv_seq < 0), "outcome": outcome,
        "sender": sender, "receiver": receiver, "sender_process": sender_process,
        "receiver_process": receiver_process,
        "sent_t": pa.array((ts[fl.send_seq] - session.t_first) / 1e9 if len(fl) else np.empty(0)),
        "latency_ns": pa.array(fl.latency_ns, mask=fl.latency_ns < 0),
        "size_bytes": pa.array(fl.size_bytes() if len(fl) else np.empty(0, np.int64)),
    })  # fmt: skip


def processes_table(session: Session) -> pa.Table:
    """The ``processes`` table: every process a SPAWN named."""
    import pyarrow as pa

    sk = session.skeleton
    spawn = np.flatnonzero(sk.kind == EventKind.SPAWN)
    ends = np.flatnonzero((sk.kind == EventKind.EXIT) | (sk.kind == EventKind.CRASH))
    first_spawn = _first_by_pid(sk.pid[spawn], spawn)
    first_end = _first_by_pid(sk.pid[ends], ends)
    rows = sorted(session.processes.values(), key=lambda p: p.pid)

    def opt(v: int) -> int | None:
        return None if v in (NO_PID, -1) else int(v)

    end_seq = [first_end.get(p.pid) for p in rows]
    return pa.table({
        "pid": pa.array([p.pid for p in rows], pa.int64()),
        "name": pa.array([p.name for p in rows], pa.string()),
        "behaviour": pa.array([p.behaviour for p in rows], pa.string()),
        "node": pa.array([p.node for p in rows], pa.string()),
        "parent": pa.array([opt(p.parent) for p in rows], pa.int64()),
        "supervisor": pa.array([opt(p.supervisor) for p in rows], pa.int64()),
        "spawn_seq": pa.array([first_spawn.get(p.pid) for p in rows], pa.int64()),
        "end_seq": pa.array(end_seq, pa.int64()),
        "ended": pa.array([None if e is None else KIND_NAMES[int(sk.kind[e])] for e in end_seq],
                          pa.string()),
    })  # fmt: skip


def _first_by_pid(pids: np.ndarray, seqs: np.ndarray) -> dict[int, int]:
    uniq, first = np.unique(pids.astype(np.int64), return_index=True)
    return dict(zip(uniq.tolist(), seqs[first].tolist(), strict=True))


def session_tables(
    session: Session, tables: Iterable[str] = TABLES, *, payloads: bool = True
) -> dict[str, pa.Table]:
    """The named tables of ``session`` as Arrow tables."""
    build = {
        "events": lambda: events_table(session, payloads=payloads),
        "messages": lambda: messages_table(session),
        "processes": lambda: processes_table(session),
    }
    return {t: build[t]() for t in tables}


#: DuckDB settings of a locked connection (docs/sql.md#what-a-query-may-do): a query reads the
#: tables it was given and nothing else -- no file, database or extension, no download -- and
#: cannot change the settings back ("Securing DuckDB", duckdb.org/docs/operations_manual).
_LOCKED: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}

#: What a refused statement tried, by DuckDB statement type (``StatementType`` names).
_REFUSED = {
    "COPY": "COPY to or from a file",
    "COPY_DATABASE": "COPY of a database",
    "ATTACH": "ATTACH of a database file",
    "DETACH": "DETACH of a database",
    "LOAD": "INSTALL or LOAD of an extension",
    "EXPORT": "EXPORT DATABASE to files",
    "SET": "a change of settings",
    "VARIABLE_SET": "a change of settings",
    "PRAGMA": "a change of settings",
}


def connect(
    tables: Mapping[str, pa.Table] | None = None,
    parquet: Mapping[str, Path] | None = None,
    *,
    allow_files: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with ``tables`` registered (Arrow, zero-copy) and each
    Parquet file of ``parquet`` as the table of its name (scanned through Arrow, lazily).

    Locked by default: the query reads these tables and nothing else (no file access, no
    extension loaded or installed, settings frozen); ``allow_files`` lets it read and write
    files as DuckDB does (it never downloads an extension either way).

    Raises:
        ModelError: a Parquet file that cannot be read.
    """
    import duckdb

    config = dict(_LOCKED)
    if allow_files:  # as before the lock: files yes, downloads no
        config = {"autoinstall_known_extensions": False}
    con = duckdb.connect(":memory:", config=config)
    for name, table in (tables or {}).items():
        con.register(name, table)
    if parquet:
        _register_parquet(con, parquet)
    return con


def _register_parquet(con: duckdb.DuckDBPyConnection, parquet: Mapping[str, Path]) -> None:
    import pyarrow as pa
    import pyarrow.dataset as pds

    for name, path in parquet.items():
        # pyarrow reads the file, not DuckDB: a locked connection cannot write to it (DuckDB's
        # allowed_paths would let a COPY ... TO overwrite the very file it may read)
        try:
            con.register(name, pds.dataset(path, format="parquet"))
        except (pa.ArrowException, OSError) as exc:
            raise ModelError(f"{path}: not a readable Parquet file ({exc})") from None


def refusal(con: duckdb.DuckDBPyConnection, query: str, error: Exception) -> str:
    """The message for a query a locked connection refused (``error``, DuckDB's
    ``PermissionException`` or its locked-configuration error): what it tried, and how to
    allow it."""
    import duckdb

    tried = "reading a file (read_csv, read_parquet, read_text, glob, ...)"
    try:
        types = [st.type.name for st in con.extract_statements(query)]
    except duckdb.Error:  # it ran, so it parses; the wording must not fail anyway
        types = []
    for t in types:
        if t in _REFUSED:
            tried = _REFUSED[t]
            break
    return (
        f"SQL: {tried} refused: cinema sql reads only the session's tables (events, messages, "
        "processes), not files, databases, extensions or settings; --allow-files lets a query "
        f"read and write files. DuckDB said: {str(error).strip()}"
    )


def is_refusal(error: Exception) -> bool:
    """Whether ``error`` is a locked connection refusing an operation (not a wrong query)."""
    import duckdb

    if isinstance(error, duckdb.PermissionException):
        return True
    return isinstance(
        error, duckdb.InvalidInputException
    ) and "configuration has been locked" in str(error)


def parquet_tables(path: Path) -> dict[str, Path]:
    """The tables of a Parquet export: a ``.parquet`` file is ``events`` (unless its name is
    another table's); a directory gives each ``NAME.parquet`` as table ``NAME``.

    Raises:
        ModelError: no Parquet file there.
    """
    if path.is_dir():
        found = {p.stem: p for p in sorted(path.glob("*.parquet")) if p.stem.isidentifier()}
        if not found:
            raise ModelError(f"{path}: no .parquet files in this folder")
        return found
    return {path.stem if path.stem in TABLES else "events": path}


def rows_json(columns: list[str], rows: Iterable[tuple[Any, ...]]) -> Iterable[str]:
    """Query results as JSON lines: ``{column: value}`` (values that JSON lacks as text)."""
    for row in rows:
        yield json.dumps({c: _plain(v) for c, v in zip(columns, row, strict=True)},
                         allow_nan=False, default=str)  # fmt: skip


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return {"$float": repr(v)}
    return v
