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
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from cinema.model.export._json import json_message_type, native_texts, payload_json
from cinema.model.export.redact import Redactor
from cinema.model.export.scope import Chunk, ExportNames, ExportOptions, Progress, chunks
from cinema.model.expr_eval import message_type
from cinema.model.present import to_json
from cinema.model.session import Session
from recorder.events import KIND_NAMES, NO_PID, NO_REF, EventKind

_trace_events: Any
try:  # the C twin of the loop of write_chrome_trace (recorder/_native/trace.c)
    from recorder.payload import NATIVE as _NATIVE

    if not _NATIVE:
        raise ImportError("CINEMA_NATIVE=0 or not built")
    from recorder._native._core import trace_events as _trace_events
except ImportError:
    _trace_events = None

__all__ = ["TOP_LEVEL_GROUP", "write_chrome_trace"]

#: The trace "process" of the actor processes without a supervisor.
TOP_LEVEL_GROUP = 0x7FFFFFFF
_K = EventKind
#: Each kind's instant category as JSON text, and its name.
_CATS = [json.dumps(KIND_NAMES.get(k, "event")) for k in range(256)]
_KIND_NAMES = [KIND_NAMES.get(k, f"kind {k}") for k in range(256)]


class _Tracks:
    """Thread and group ids of actor processes, and their metadata events (emitted once)."""

    def __init__(self, session: Session, names: ExportNames) -> None:
        self._session = session
        self._names = names
        #: pid -> what :meth:`where` gives
        self.where_cache: dict[int, str] = {}
        self._groups: set[int] = set()
        self.meta: list[str] = []

    def label(self, pid: int) -> str:
        return f"{self._names.process_name(pid)} <0.{pid}.0>"

    def where(self, pid: int) -> str:
        """``"pid":G,"tid":T`` of an actor process (its metadata queued on first use)."""
        w = self.where_cache.get(pid)
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
        self.where_cache[pid] = w
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


def _texts(chunk: Chunk) -> tuple[list[str | None], list[str | None]] | None:
    """The JSON text and head (a SEND's message type, a STATE's trigger, a RESTART's child
    id) of each of a chunk's payloads from the native module in a few C calls (``""``: an
    empty payload; ``None`` where the reference path must say it); ``None`` without the
    native module."""
    lengths, block = chunk.payload_run()
    got = native_texts(lengths, block, json=True)
    if got is None:
        return None
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
    return js, heads


def _send_texts(chunk: Chunk, i: int, dumps: Callable[[Any], str]) -> tuple[str, str]:
    """``(JSON text, message type)`` of a SEND's message by the reference path."""
    fast = payload_json(chunk.payload(i))
    what = json_message_type(fast[0]) if fast is not None else None
    data: Any = None
    if what is None:
        data = chunk.data(i)
        what = message_type(data)
    return (dumps(to_json(data)) if fast is None else fast[1]), what


def _instant_texts(
    chunk: Chunk, i: int, kind: int, dumps: Callable[[Any], str]
) -> tuple[str, str | None]:
    """``(JSON text, head)`` of an instant's data by the reference path (head: the text of a
    STATE's trigger or a RESTART's child id, ``None`` when its data is not a map)."""
    fast = payload_json(chunk.payload(i))
    if fast is None:
        form = to_json(chunk.data(i))
        fast = (form, dumps(form))
    form, text = fast
    key = _NAMED.get(kind)
    if key is not None and type(form) is dict:
        return text, _text(form.get(key))
    return text, None


def write_chrome_trace(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None, *, native: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Write the selected events of ``lo <= seq < hi`` as a Trace Event Format JSON object.

    ``native=False``: the trace events are made by the Python loop (the reference path, which
    also runs without the native module) instead of ``trace_events`` of ``texts.c``'s twin
    ``trace.c``; the bytes are the same.
    """
    names = ExportNames(session, redactor)
    tracks = _Tracks(session, names)
    dumps = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
    t0 = session.t_first
    inflight: dict[int, str] = {}  # message id -> its type, between SEND and RECEIVE / DROP
    handler: dict[int, list[Any]] = {}  # pid -> [ts, name, seq, msg_id, sender] of its run
    last_ts: dict[int, int] = {}  # pid -> timestamp of its latest event
    labels: dict[int, str] = {}  # pid -> its label as a JSON string
    n = 0
    first = True

    def write(block: bytes) -> None:
        """A run of trace events joined by ``,\n``."""
        nonlocal first
        if block:
            out.write(block if first else b",\n" + block)
            first = False

    def label(pid: int) -> str:
        q = labels.get(pid)
        if q is None:
            q = labels[pid] = json.dumps(tracks.label(pid))
        return q

    def close_run(pid: int, run: list[Any]) -> str:
        start, name, seq, msg_id, sender = run
        dur = max(last_ts.get(pid, start) - start, 0)
        w = tracks.where(pid)
        frm = "null" if sender is None else label(sender)
        return (
            f'{{"ph":"X","cat":"handler","name":{json.dumps(name)},{w},'
            f'"ts":{(start - t0) / 1000:.3f},"dur":{dur / 1000:.3f},'
            f'"args":{{"seq":{seq},"msg_id":{msg_id},"from":{frm}}}}}'
        )

    def events(chunk: Chunk, js: list[str | None], hs: list[str | None]) -> str:
        """The reference loop over one chunk."""
        buf: list[str] = []
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
                text, what = js[i], hs[i]
                if text is None or what is None:
                    text, what = _send_texts(chunk, i, dumps)
                elif text == "":
                    text = "null"
                to = "null" if peer == NO_PID else label(peer)
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
                text, head = js[i], hs[i]
                if text is None or (head is None and kind in _NAMED):
                    text, head = _instant_texts(chunk, i, kind, dumps)
                elif text == "":
                    text = "null"
                name = KIND_NAMES.get(kind, f"kind {kind}")
                if head is not None and kind == _K.STATE:
                    name = f"state ({head})"
                elif head is not None and kind == _K.RESTART:
                    name = f"restart {head}"
                peer_text = "null" if peer == NO_PID else label(peer)
                buf.append(
                    f'{{"ph":"i","s":"t","cat":{_CATS[kind & 0xFF]},'
                    f'"name":{json.dumps(name)},{w},"ts":{us},"args":{{"seq":{seq},'
                    f'"peer":{peer_text},"data":{text}}}}}'
                )
            last_ts[pid] = ts
        return ",\n".join(buf)

    out.write(b'{"traceEvents":[\n')
    for chunk in chunks(session, lo, hi, opts, redactor, progress):
        k = len(chunk)
        got = _texts(chunk)
        none: list[str | None] = [None] * k
        js, hs = got if got is not None else (none, list(none))
        if native and got is not None and _trace_events is not None:
            _fill(chunk, js, hs, dumps)
            write(_trace_events(
                chunk.seq, chunk.ts, chunk.kind, chunk.pid, chunk.peer, chunk.ref, js, hs, t0,
                inflight, handler, last_ts, tracks.where_cache, tracks.where, labels, label,
                json.dumps, _CATS, _KIND_NAMES,
            ))  # fmt: skip
        else:
            write(events(chunk, js, hs).encode("utf-8"))
        n += k
        if tracks.meta:
            write(",\n".join(tracks.meta).encode("utf-8"))
            tracks.meta = []
    tail = [close_run(pid, run) for pid, run in handler.items()]
    write(",\n".join(tail + tracks.meta).encode("utf-8"))
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


def _fill(
    chunk: Chunk, js: list[str | None], hs: list[str | None], dumps: Callable[[Any], str]
) -> None:
    """Give the texts and heads the native module declined their reference text, in place,
    as the reference loop would (what ``trace_events`` needs)."""
    kinds = chunk.kind
    todo = {i for i, j in enumerate(js) if j is None}
    for k in (_K.SEND, *_NAMED):
        rows = np.flatnonzero(kinds == k).tolist()
        todo.update(i for i in rows if hs[i] is None)
    for i in sorted(todo):
        kind = int(kinds[i])
        if kind == _K.RECEIVE:
            continue  # its payload is not written
        if kind == _K.SEND:
            js[i], hs[i] = _send_texts(chunk, i, dumps)
        else:
            js[i], hs[i] = _instant_texts(chunk, i, kind, dumps)
