"""The ``parquet`` export: the ``events`` table of ``docs/sql.md`` as a Parquet file (pyarrow).

The columns are the fields of the event row of ``cinema events --json`` (``seq, ts, t, kind,
pid, process, peer, peer_process, ref, data``, with ``data`` as its JSON text) plus ``text``, the
one-line rendering every panel shows: the table ``cinema sql`` queries, and DuckDB, Spark or
Trino read as they are. Row groups of :data:`ROW_GROUP` events are written as the session is
read (bounded memory). No Python object is made per event: the fixed columns come straight
from the event columns (numpy into Arrow, names taken from one table of process names), and
``data`` and ``text`` from the native reader in Arrow's layout (:mod:`._columns`).

Three things run side by side: the scan of the session's frames (this thread), the payload
texts of the frames read so far and the encoding and compression of the last row group (two
worker threads; both release the GIL). A row group's Arrow arrays are made on this thread: the
writer's thread, the slowest step, only writes. A row group waits for the one before it to be
written, so at most two are held.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cinema.model.export._columns import Piece, Strings, chunk_texts
from cinema.model.export.redact import Redactor
from cinema.model.export.scope import Chunk, ExportNames, ExportOptions, Progress, chunks
from cinema.model.present import data_text, to_json
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, NO_REF

__all__ = ["ROW_GROUP", "SCHEMA", "WRITER_OPTIONS", "write_parquet"]

#: Events per row group (and per batch held in memory).
ROW_GROUP = 1 << 17
#: A row group ends sooner when its encoded payloads reach this: their text (a few bytes of
#: text per byte at most) stays under the 2 GiB of a string column with int32 offsets.
_GROUP_PAYLOAD_BYTES = 128 << 20

#: How the file is written: zstd; dictionaries only for the columns of few distinct values
#: (a dictionary over ``data``, ``text`` or ``seq`` is built and then dropped for being too
#: large, a third of the writer's time); min / max statistics for the fixed columns, none for
#: the payload text (no reader prunes row groups by the JSON text of an event).
WRITER_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "use_dictionary": ["kind", "process", "peer_process"],
    # seq and ts only grow: delta encoding makes them small before zstd sees them (a smaller
    # file and ~6 % less of the writer's time than plain)
    "column_encoding": {"seq": "DELTA_BINARY_PACKED", "ts": "DELTA_BINARY_PACKED"},
    "write_statistics": ["seq", "ts", "t", "kind", "pid", "process", "peer", "peer_process",
                         "ref"],
}  # fmt: skip

SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("t", pa.float64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("pid", pa.int64()),
        pa.field("process", pa.string()),
        pa.field("peer", pa.int64()),
        pa.field("peer_process", pa.string()),
        pa.field("ref", pa.int64()),
        pa.field("data", pa.string()),
        pa.field("text", pa.string()),
    ],
    metadata={"cinema": "events table of docs/sql.md (cinema export --format parquet)"},
)
_KINDS = pa.array([KIND_NAMES.get(k, f"kind{k}") for k in range(256)], pa.string())


class _Names:
    """pid -> index into one dictionary of process names (grown as pids appear): a lookup table
    indexed by pid (pids are small interned integers, bounded by the reader)."""

    def __init__(self, names: ExportNames) -> None:
        self._names = names
        self._lut = np.full(1024, -1, dtype=np.int32)
        self._values: list[str] = []
        self._dict: pa.Array | None = None

    def dictionary(self) -> pa.Array:
        """The names, indexed by what :meth:`indices` gives."""
        if self._dict is None or len(self._dict) != max(len(self._values), 1):
            self._dict = pa.array(self._values or [""], pa.string())
        return self._dict

    def indices(self, pids: np.ndarray) -> pa.Array:
        none = pids == NO_PID
        at = np.where(none, 0, pids).astype(np.int64)
        top = int(at.max()) if len(at) else 0
        if top >= len(self._lut):
            lut = np.full(max(top + 1, 2 * len(self._lut)), -1, dtype=np.int32)
            lut[: len(self._lut)] = self._lut
            self._lut = lut
        ix = self._lut[at]
        new = (ix < 0) & ~none
        if new.any():
            for pid in np.unique(at[new]).tolist():
                self._lut[pid] = len(self._values)
                self._values.append(self._names.process_name(pid))
            ix = self._lut[at]
        ix[none] = 0
        return pa.array(ix, pa.int32(), mask=none)


def write_parquet(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the selected events of ``lo <= seq < hi`` as the ``events`` table."""
    table = _Names(ExportNames(session, redactor))
    t0 = session.t_first
    dumps = json.JSONEncoder(allow_nan=False).encode

    def reference(chunk: Chunk, i: int) -> tuple[bytes, bytes]:
        data = chunk.data(i)  # the reference path (sets, bytes, NaN, ...)
        text = "" if data is None else dumps(to_json(data))
        return text.encode(), data_text(data).encode()

    n = 0
    group: list[tuple[tuple[np.ndarray, ...], Future[list[tuple[Piece, Piece]]]]] = []
    held = held_bytes = 0
    writing: Future[None] | None = None
    with (
        pq.ParquetWriter(out, SCHEMA, **WRITER_OPTIONS) as writer,
        ThreadPoolExecutor(2, thread_name_prefix="cinema-parquet") as pool,
    ):

        def flush() -> None:
            nonlocal group, held, held_bytes, writing
            if not group:
                return
            seq, ts, kind, pid, peer, ref = (
                np.concatenate([cols[i] for cols, _ in group]) for i in range(6)
            )
            names = (table.indices(pid), table.indices(peer), table.dictionary())
            texts = [f.result() for _, f in group]
            # the arrays are made here: the writer thread, the slowest step, only writes
            batch = _batch((seq, ts, kind, pid, peer, ref), names, texts, t0)
            group, held, held_bytes = [], 0, 0
            if writing is not None:
                writing.result()  # in order, and at most one row group being written
            writing = pool.submit(writer.write_batch, batch)

        for chunk in chunks(session, lo, hi, opts, redactor, progress):
            k = len(chunk)
            if not k:
                continue
            cols = (chunk.seq, chunk.ts, chunk.kind, chunk.pid, chunk.peer, chunk.ref)
            group.append((cols, pool.submit(chunk_texts, chunk, reference)))
            held += k
            held_bytes += chunk.payload_bytes()
            n += k
            if held >= ROW_GROUP or held_bytes >= _GROUP_PAYLOAD_BYTES:
                flush()
        flush()
        if writing is not None:
            writing.result()
    return {"events": n}


def _batch(
    cols: tuple[np.ndarray, ...], names: tuple[pa.Array, pa.Array, pa.Array],
    texts: list[list[tuple[Piece, Piece]]], t0: int,
) -> pa.RecordBatch:  # fmt: skip
    """One row group's columns as Arrow arrays."""
    seq, ts, kind, pid, peer, ref = cols
    pid_ix, peer_ix, name_dict = names
    datas, lines = Strings(), Strings()
    for pieces in texts:
        for data, text in pieces:
            datas.add(data)
            lines.add(text)
    ts64 = ts.astype(np.int64)
    arrays = [
        pa.array(seq.astype(np.int64)),
        pa.array(ts64),
        pa.array((ts64 - t0) / 1e9),
        pc.take(_KINDS, pa.array(kind.astype(np.int32))),
        pa.array(pid.astype(np.int64), mask=pid == NO_PID),
        pc.take(name_dict, pid_ix),
        pa.array(peer.astype(np.int64), mask=peer == NO_PID),
        pc.take(name_dict, peer_ix),
        pa.array(ref.astype(np.int64), mask=ref == NO_REF),
        datas.take(null_if_empty=True),
        lines.take(),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)
