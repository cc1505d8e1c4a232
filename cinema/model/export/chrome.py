"""The ``chrome-trace`` export: the Trace Event Format, for Perfetto and chrome://tracing.

The JSON Object Format of the Trace Event Format (Google's "Trace Event Format" document),
written as a stream: ``{"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}``.

- **Tracks**: every actor process is a thread (``tid`` = pid + 1, named ``name <0.N.0>`` by a
  ``thread_name`` metadata event), and the threads are grouped by supervisor: the trace's
  "process" ``pid`` = supervisor pid + 1 holds that supervisor's children (named ``children of
  sup <0.N.0>``); processes without a supervisor are in the ``top level`` group.
- **Handler runs** are complete slices (``ph: "X"``) from a RECEIVE to the process's last event
  before its next RECEIVE (or its end), named after the message (``handle transfer``).
- **Messages**: a SEND is a zero-length slice on the sender (``send transfer``, the message in
  its ``args``) and the start of a flow (``ph: "s"``, ``id`` = the message id); the RECEIVE ends
  the flow (``ph: "f"``, ``bp: "e"``), binding it to the handler slice: Perfetto draws an arrow
  from send to receive.
- **Everything else** (state changes, crashes, exits, restarts, links, ...) is an instant event
  (``ph: "i"``, ``s: "t"``) named by its kind, with the event's data in ``args``.

Times are µs since the session's first event (``ts`` with ns precision, three decimals).
"""

from __future__ import annotations

import json
from typing import IO, Any

import numpy as np

from cinema.model.export._json import json_message_type, native_texts, payload_json
from cinema.model.export.redact import Redactor
from cinema.model.export.scope import Chunk, ExportNames, ExportOptions, Progress, chunks
from cinema.model.expr_eval import message_type
from cinema.model.present import to_json
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, NO_REF, EventKind

__all__ = ["TOP_LEVEL_GROUP", "write_chrome_trace"]

#: The trace "process" of the actor processes without a supervisor.
TOP_LEVEL_GROUP = 0x7FFFFFFF
_K = EventKind
_CHUNK_BYTES = 1 << 20


class _Tracks:
    """Thread and group ids of actor processes, and their metadata events (emitted once)."""

    def __init__(self, session: Session, names: ExportNames) -> None:
        self._session = session
        self._names = names
        self._where: dict[int, str] = {}
        self._groups: set[int] = set()
        self.meta: list[str] = []

    def label(self, pid: int) -> str:
        return f"{self._names.process_name(pid)} <0.{pid}.0>"

    def where(self, pid: int) -> str:
        """``"pid":G,"tid":T`` of an actor process (its metadata queued on first use)."""
        w = self._where.get(pid)
        if w is not None:
            return w
        if pid == NO_PID:
            group, tid, name = TOP_LEVEL_GROUP, 0, "no process"
        else:
            info = self._session.processes.get(pid)
            sup = info.supervisor if info is not None else NO_PID
            group = TOP_LEVEL_GROUP if sup in (NO_PID, pid) or sup < 0 else sup + 1
            tid, name = pid + 1, self.label(pid)
            if group != TOP_LEVEL_GROUP:
                self._group(group, f"children of {self.label(sup)}", sup)
        if group == TOP_LEVEL_GROUP:
            self._group(group, "top level", -1)
        w = f'"pid":{group},"tid":{tid}'
        self.meta.append(
            f'{{"ph":"M","name":"thread_name",{w},"args":{{"name":{json.dumps(name)}}}}}'
        )
        self.meta.append(
            f'{{"ph":"M","name":"thread_sort_index",{w},"args":{{"sort_index":{tid}}}}}'
        )
        self._where[pid] = w
        return w

    def _group(self, group: int, name: str, order: int) -> None:
        if group in self._groups:
            return
        self._groups.add(group)
        self.meta.append(
            f'{{"ph":"M","name":"process_name","pid":{group},"tid":0,'
            f'"args":{{"name":{json.dumps(name)}}}}}'
        )
        self.meta.append(
            f'{{"ph":"M","name":"process_sort_index","pid":{group},"tid":0,'
            f'"args":{{"sort_index":{order + 1}}}}}'
        )


def _text(v: Any) -> str:
    """A trigger or child id in an instant's name (their JSON form is a plain string)."""
    return v if type(v) is str else json.dumps(v)


#: Kinds whose instant is named after a field of their data.
_NAMED = {int(_K.STATE): "trigger", int(_K.RESTART): "child_id"}


def _heads(chunk: Chunk) -> dict[int, tuple[str | None, str | None]]:
    """Row -> (JSON text, head) of a chunk's payloads from the native module in a few C calls
    (head: a SEND's message type, a STATE's trigger, a RESTART's child id; ``None`` where the
    reference path must say it); empty without the native module."""
    lengths, block = chunk.payload_run()
    got = native_texts(lengths, block, json=True)
    if got is None:
        return {}
    js = got[0]
    assert js is not None
    heads: list[str | None] = [None] * len(js)
    kinds = chunk.kind
    sends = np.flatnonzero(kinds == _K.SEND)
    parts = [(sends, 1, "")]
    parts += [(np.flatnonzero(kinds == k), 2, key) for k, key in _NAMED.items()]
    for rows, head, key in parts:
        if not len(rows):
            continue
        found = native_texts(lengths, block, json=False, head=head, key=key, index=rows)
        assert found is not None and found[2] is not None
        for r, h in zip(rows.tolist(), found[2], strict=True):
            heads[r] = h
    return {i: ("null" if j == "" else j, heads[i]) for i, j in enumerate(js)}


def write_chrome_trace(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the selected events of ``lo <= seq < hi`` as a Trace Event Format JSON object."""
    names = ExportNames(session, redactor)
    tracks = _Tracks(session, names)
    dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
    t0 = session.t_first
    inflight: dict[int, str] = {}  # message id -> its type, between SEND and RECEIVE / DROP
    handler: dict[int, list[Any]] = {}  # pid -> [ts, name, seq, msg_id, sender] of its run
    last_ts: dict[int, int] = {}  # pid -> timestamp of its latest event
    buf: list[str] = []
    size = 0
    n = 0
    first = True

    def flush() -> None:
        nonlocal buf, size, first
        if buf:
            text = ",\n".join(buf)
            out.write(((",\n" if not first else "") + text).encode("utf-8"))
            first = False
            buf = []
            size = 0

    def close_run(pid: int, run: list[Any]) -> str:
        start, name, seq, msg_id, sender = run
        dur = max(last_ts.get(pid, start) - start, 0)
        w = tracks.where(pid)
        frm = "null" if sender is None else json.dumps(tracks.label(sender))
        return (
            f'{{"ph":"X","cat":"handler","name":{json.dumps(name)},{w},'
            f'"ts":{(start - t0) / 1000:.3f},"dur":{dur / 1000:.3f},'
            f'"args":{{"seq":{seq},"msg_id":{msg_id},"from":{frm}}}}}'
        )

    out.write(b'{"traceEvents":[\n')
    for chunk in chunks(session, lo, hi, opts, redactor, progress):
        heads = _heads(chunk)
        seqs, tss, kinds = chunk.seq.tolist(), chunk.ts.tolist(), chunk.kind.tolist()
        pids, peers, refs = chunk.pid.tolist(), chunk.peer.tolist(), chunk.ref.tolist()
        for i in range(len(seqs)):
            seq, ts, kind, pid, peer, ref = seqs[i], tss[i], kinds[i], pids[i], peers[i], refs[i]
            w = tracks.where(pid)
            us = f"{(ts - t0) / 1000:.3f}"
            if kind == _K.RECEIVE:
                run = handler.pop(pid, None)
                if run is not None:
                    buf.append(close_run(pid, run))
                what = inflight.pop(ref, None)
                if what is not None:
                    buf.append(
                        f'{{"ph":"f","bp":"e","cat":"message","name":"message","id":{ref},'
                        f'{w},"ts":{us}}}'
                    )
                sender = None if peer == NO_PID else peer
                handler[pid] = [ts, f"handle {what}" if what else "handle", seq, ref, sender]
            elif kind == _K.SEND:
                text, what = heads.get(i, (None, None))
                if text is None or what is None:
                    fast = payload_json(chunk.payload(i))
                    what = json_message_type(fast[0]) if fast is not None else None
                    if what is None:
                        data = chunk.data(i)
                        what = message_type(data)
                    text = dumps(to_json(data)) if fast is None else fast[1]
                to = "null" if peer == NO_PID else json.dumps(tracks.label(peer))
                buf.append(
                    f'{{"ph":"X","cat":"send","name":{json.dumps("send " + what)},{w},'
                    f'"ts":{us},"dur":0,"args":{{"seq":{seq},"msg_id":{ref},"to":{to},'
                    f'"message":{text}}}}}'
                )
                if ref != NO_REF:
                    inflight[ref] = what
                    buf.append(
                        f'{{"ph":"s","cat":"message","name":"message","id":{ref},{w},"ts":{us}}}'
                    )
            else:
                if kind == _K.EXIT or kind == _K.CRASH:
                    run = handler.pop(pid, None)
                    if run is not None:
                        last_ts[pid] = ts
                        buf.append(close_run(pid, run))
                elif kind == _K.DROP:
                    inflight.pop(ref, None)
                text, head = heads.get(i, (None, None))
                name = KIND_NAMES.get(kind, f"kind {kind}")
                named = kind in _NAMED
                if text is not None and (head is not None or not named):
                    if named:
                        name = f"state ({head})" if kind == _K.STATE else f"restart {head}"
                else:
                    fast = payload_json(chunk.payload(i))
                    if fast is None:
                        form = to_json(chunk.data(i))
                        fast = (form, dumps(form))
                    form, text = fast
                    if kind == _K.STATE and type(form) is dict:
                        name = f"state ({_text(form.get('trigger'))})"
                    elif kind == _K.RESTART and type(form) is dict:
                        name = f"restart {_text(form.get('child_id'))}"
                peer_text = "null" if peer == NO_PID else json.dumps(tracks.label(peer))
                buf.append(
                    f'{{"ph":"i","s":"t","cat":{json.dumps(KIND_NAMES.get(kind, "event"))},'
                    f'"name":{json.dumps(name)},{w},"ts":{us},"args":{{"seq":{seq},'
                    f'"peer":{peer_text},"data":{text}}}}}'
                )
            last_ts[pid] = ts
        n += len(seqs)
        if tracks.meta:
            buf.extend(tracks.meta)
            tracks.meta = []
        size += len(seqs)
        if size >= 4096:
            flush()
    for pid, run in handler.items():
        buf.append(close_run(pid, run))
    buf.extend(tracks.meta)
    flush()
    other = {
        "exported_by": "cinema export",
        "cut_from": session.reader.path,
        "range": [lo, hi - 1],
        "events": n,
        "note": opts.note,
        "redaction": redactor.report.to_json(),
    }
    out.write(b'\n],\n"displayTimeUnit":"ns",\n"otherData":')
    out.write(json.dumps(other, allow_nan=False).encode("utf-8"))
    out.write(b"}\n")
    return {"events": n}
