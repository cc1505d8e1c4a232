"""The ``parquet`` export: the ``events`` table of ``docs/sql.md`` as a Parquet file (pyarrow).

The columns are the fields of the event row of ``cinema events --json`` (``seq, ts, t, kind,
pid, process, peer, peer_process, ref, data``, with ``data`` as its JSON text) plus ``text``, the
one-line rendering every panel shows: the table ``cinema sql`` queries, and DuckDB, Spark or
Trino read as they are. Row groups of :data:`ROW_GROUP` events are written as the session is
read (bounded memory); the fixed columns come straight from the event columns (numpy into
Arrow, names taken from one table of process names), only ``data`` and ``text`` decode payloads.
"""

from __future__ import annotations

import json
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cinema.model.export._json import native_texts
from cinema.model.export.redact import Redactor
from cinema.model.export.scope import ExportNames, ExportOptions, Progress, chunks
from cinema.model.present import data_text, to_json
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, NO_REF

__all__ = ["ROW_GROUP", "SCHEMA", "write_parquet"]

#: Events per row group (and per batch held in memory).
ROW_GROUP = 1 << 17

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
    """pid -> index into one dictionary of process names (grown as pids appear)."""

    def __init__(self, names: ExportNames) -> None:
        self._names = names
        self._index: dict[int, int] = {}
        self.values: list[str] = []

    def indices(self, pids: np.ndarray) -> pa.Array:
        uniq, inverse = np.unique(pids, return_inverse=True)
        lookup = np.empty(len(uniq), dtype=np.int32)
        mask = uniq == NO_PID
        for i, pid in enumerate(uniq.tolist()):
            if pid == NO_PID:
                lookup[i] = 0
                continue
            at = self._index.get(pid)
            if at is None:
                at = self._index[pid] = len(self.values)
                self.values.append(self._names.process_name(pid))
            lookup[i] = at
        return pa.array(lookup[inverse], pa.int32(), mask=mask[inverse])


def write_parquet(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the selected events of ``lo <= seq < hi`` as the ``events`` table."""
    names = ExportNames(session, redactor)
    table = _Names(names)
    t0 = session.t_first
    dumps = json.JSONEncoder(allow_nan=False).encode
    n = 0
    parts: list[tuple[np.ndarray, ...]] = []
    datas: list[str | None] = []
    texts: list[str] = []
    held = 0

    with pq.ParquetWriter(out, SCHEMA, compression="zstd") as writer:

        def flush() -> None:
            nonlocal parts, datas, texts, held
            if not held:
                return
            seq, ts, kind, pid, peer, ref = (
                np.concatenate([p[i] for p in parts]) for i in range(6)
            )
            ts64 = ts.astype(np.int64)
            pid_ix, peer_ix = table.indices(pid), table.indices(peer)
            name_dict = pa.array(table.values or [""], pa.string())
            cols = [
                pa.array(seq.astype(np.int64)),
                pa.array(ts64),
                pa.array((ts64 - t0) / 1e9),
                pc.take(_KINDS, pa.array(kind.astype(np.int32))),
                pa.array(pid.astype(np.int64), mask=pid == NO_PID),
                pc.take(name_dict, pid_ix),
                pa.array(peer.astype(np.int64), mask=peer == NO_PID),
                pc.take(name_dict, peer_ix),
                pa.array(ref.astype(np.int64), mask=ref == NO_REF),
                _nulls_for_empty(pa.array(datas, pa.string())),
                pa.array(texts, pa.string()),
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(cols, schema=SCHEMA))
            parts, datas, texts, held = [], [], [], 0

        for chunk in chunks(session, lo, hi, opts, redactor, progress):
            k = len(chunk)
            if not k:
                continue
            parts.append((chunk.seq, chunk.ts, chunk.kind, chunk.pid, chunk.peer, chunk.ref))
            got = native_texts(*chunk.payload_run(), json=True, text=True)
            if got is None:
                for i in range(k):
                    data = chunk.data(i)
                    datas.append(None if data is None else dumps(to_json(data)))
                    texts.append(data_text(data))
            else:
                js, ts, _ = got
                assert js is not None and ts is not None
                for i in [i for i, (a, b) in enumerate(zip(js, ts, strict=True))
                          if a is None or b is None]:  # fmt: skip
                    data = chunk.data(i)  # the reference path (sets, bytes, NaN, ...)
                    js[i] = "" if data is None else dumps(to_json(data))
                    ts[i] = data_text(data)
                datas.extend(js)
                texts.extend(t or "" for t in ts)
            held += k
            n += k
            if held >= ROW_GROUP:
                flush()
        flush()
    return {"events": n}


def _nulls_for_empty(data: pa.Array) -> pa.Array:
    """``data`` is NULL for an event without data (``""`` in the batch: no JSON text is)."""
    return pc.if_else(pc.equal(data, ""), pa.scalar(None, pa.string()), data)
