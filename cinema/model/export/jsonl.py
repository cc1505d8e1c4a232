"""The ``jsonl`` export: one event row per line, exactly as ``cinema events --json`` prints it
(the rows of :func:`cinema.model.present.event_row`, ``docs/json-schema.md``).

``json.dumps(event_row(...))`` of every event builds the decoded value, its JSON form and a
dict per event (about 45 µs an event: 7 minutes for 10,000,000). The line is written here from
its parts instead: the ``data`` text from the native reader a frame at a time
(:func:`._json.native_texts`, the text ``json.dumps(to_json(v))`` gives), the names and kinds
as JSON text made once each, the numbers as ``json.dumps`` writes them. What the native reader
declines (sets, bytes, NaN, ...) takes the reference path, and without the native module every
event does. ``tests/cinema/cli/test_export.py`` holds the lines to ``cinema events --json``.
"""

from __future__ import annotations

import json
from typing import IO, Any

from cinema.model.export._json import native_texts
from cinema.model.export.redact import Redactor
from cinema.model.export.scope import ExportNames, ExportOptions, Progress, chunks
from cinema.model.present import event_row, to_json
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, NO_REF

__all__ = ["write_jsonl"]


def write_jsonl(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the selected events of ``lo <= seq < hi`` as JSON Lines; one write per frame."""
    names = ExportNames(session, redactor)
    dumps = json.JSONEncoder(allow_nan=False).encode  # what json.dumps(row, allow_nan=False) does
    t0 = session.t_first
    kinds: dict[int, str] = {}  # kind code -> its name as JSON text
    procs: dict[int, str] = {}  # pid -> ', "pid": 5, "process": "name"' (the peer's likewise)
    peers: dict[int, str] = {}

    def kind_text(k: int) -> str:
        got = kinds[k] = dumps(KIND_NAMES.get(k, f"kind{k}"))
        return got

    def who(pid: int, table: dict[int, str], a: str, b: str) -> str:
        if pid < 0 or pid == NO_PID:
            got = f', "{a}": null, "{b}": null'
        else:
            got = f', "{a}": {pid}, "{b}": {dumps(names.process_name(pid))}'
        table[pid] = got
        return got

    n = 0
    for chunk in chunks(session, lo, hi, opts, redactor, progress):
        k = len(chunk)
        if not k:
            continue
        lengths, block = chunk.payload_run()
        got = native_texts(lengths, block, json=True)
        if got is None:  # no native module: the reference path
            lines = [dumps(event_row(names, ev)) for ev in chunk.events()]
        else:
            texts = got[0]
            assert texts is not None
            seqs, tss, ks = chunk.seq.tolist(), chunk.ts.tolist(), chunk.kind.tolist()
            pids, prs, refs = chunk.pid.tolist(), chunk.peer.tolist(), chunk.ref.tolist()
            lines = []
            for i in range(k):
                data = texts[i]
                if data is None:
                    data = dumps(to_json(chunk.data(i)))
                elif not data:
                    data = "null"
                ts, ref = tss[i], refs[i]
                lines.append(
                    f'{{"seq": {seqs[i]}, "ts": {ts}, "t": {(ts - t0) / 1e9!r}, "kind": '
                    f"{kinds.get(ks[i]) or kind_text(ks[i])}"
                    f"{procs.get(pids[i]) or who(pids[i], procs, 'pid', 'process')}"
                    f"{peers.get(prs[i]) or who(prs[i], peers, 'peer', 'peer_process')}"
                    f', "ref": {"null" if ref == NO_REF else ref}, "data": {data}}}'
                )
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
        n += len(lines)
    return {"events": n}
