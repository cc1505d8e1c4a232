"""The ``cinema`` export: a bundle that opens in Cinema like any session.

A bundle is a session file (``docs/session-format.md``) holding the cut:

- the chosen events, renumbered from 0 (a process cut keeps the events whose process or peer
  is one of the chosen ones), their payloads redacted;
- a keyframe at event 0 holding the world at the cut's start, built from the model's world
  (``docs/world-schema.md``), so a cut that starts mid-run shows the right world; a range cut
  also carries the original's keyframes inside the range (redacted, renumbered), so it seeks as
  fast as the original; a process cut has only the first;
- the footer's process table naming every process of the cut (also those spawned before it);
- in the header metadata, ``export``: where it was cut from, the range (event numbers and
  seconds), the processes, the note;
- one META frame at the end: the same ``export`` facts plus the event count, the breakpoints
  and bookmarks (with their notes, renumbered), and the redaction report.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from array import array
from collections import Counter
from typing import IO, Any

import msgpack
import numpy as np

from cinema.model.export._keyframes import _texts, copied_keyframe, world_keyframe
from cinema.model.export._rekey import rekeyed
from cinema.model.export._repack import repack
from cinema.model.export.redact import Redactor
from cinema.model.export.scope import ExportNames, ExportOptions, Progress, chunks
from cinema.model.session import Session
from recorder.payload import EventBatch
from recorder.session import kindex, summary
from recorder.session.format import TRAILER, TRAILER_MAGIC, FrameType, pack_file_header
from recorder.session.frames import Compressor, RawFrame, build_frames, raw_map_frame

__all__ = ["EXPORT_KEY", "FRAME_EVENTS", "write_bundle"]

#: The header (and META) key of a bundle's cut facts.
EXPORT_KEY = "export"
#: Events per frame of a bundle (as the recorder writes).
FRAME_EVENTS = 4096
#: Frames compressed and written together.
_ROUND = 16
_DROP_META = ("frame_events", "keyframe_every", "compression", EXPORT_KEY)


class _Writer:
    """Frames out, with the index and the footer's facts."""

    def __init__(self, out: IO[bytes], header: bytes) -> None:
        self.out = out
        self.comp = Compressor(1)
        out.write(header)
        self.offset = len(header)
        self.index: list[tuple[int, int, int, int, int, int]] = []
        self.kinds: Counter[int] = Counter()
        self.pending: list[RawFrame] = []
        self.seq = 0
        self.t_first: int | None = None
        self.t_last = 0
        self.summaries = summary.Summarizer()  # format 1.1: every frame's kinds and pids
        self.kindex = kindex.KindIndexer()  # format 1.2: every frame's rare events

    def add(self, frame: RawFrame) -> None:
        self.pending.append(frame)
        if len(self.pending) >= _ROUND:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        datas = build_frames(self.pending, self.comp)
        self.out.write(b"".join(datas))
        for f, data in zip(self.pending, datas, strict=True):
            self.index.append((self.offset, int(f.ftype), f.first_seq, f.events, f.t_first,
                               f.t_last))  # fmt: skip
            self.offset += len(data)
        self.pending = []

    def footer(self, processes: list[list[Any]]) -> None:
        self.flush()
        cols: list[tuple[int, ...]] = (
            list(zip(*self.index, strict=True)) if self.index else [()] * 6
        )
        body = {
            "events": self.seq,
            "lost": 0,
            "t_first": self.t_first if self.t_first is not None else 0,
            "t_last": self.t_last,
            "kinds": {int(k): int(v) for k, v in sorted(self.kinds.items())},
            "processes": msgpack.packb(processes, use_bin_type=True),
            summary.KEY: self.summaries.take(),
            "frames": {
                "offset": array("q", cols[0]).tobytes(),
                "type": bytes(cols[1]),
                "first_seq": array("q", cols[2]).tobytes(),
                "count": array("q", cols[3]).tobytes(),
                "t_first": array("q", cols[4]).tobytes(),
                "t_last": array("q", cols[5]).tobytes(),
            },
        }
        table = self.kindex.take()  # the kind filter's index, as the recorder writes it
        if table is not None:
            body[kindex.KEY] = table
        raw = raw_map_frame(FrameType.FOOTER, body, self.seq, self.t_last, structural=False)
        self.out.write(build_frames([raw], self.comp)[0])
        self.out.write(TRAILER.pack(self.offset, TRAILER_MAGIC))


class _Events:
    """Selected events gathered into frames of :data:`FRAME_EVENTS`."""

    def __init__(self, w: _Writer) -> None:
        self.w = w
        self.cols: list[tuple[np.ndarray, ...]] = []
        self.lengths: list[np.ndarray] = []
        self.blocks: list[bytes] = []
        self.n = 0

    def add(self, ts: np.ndarray, kind: np.ndarray, pid: np.ndarray, peer: np.ndarray,
            ref: np.ndarray, lengths: np.ndarray, block: bytes) -> None:  # fmt: skip
        """Events as columns, their payloads one after another in ``block``."""
        ends = np.cumsum(lengths)
        start = 0
        while start < len(ts):
            take = min(len(ts) - start, FRAME_EVENTS - self.n)
            end = start + take
            self.cols.append((ts[start:end], kind[start:end], pid[start:end], peer[start:end],
                              ref[start:end]))  # fmt: skip
            a = int(ends[start - 1]) if start else 0
            self.lengths.append(lengths[start:end])
            self.blocks.append(block[a : int(ends[end - 1])])
            self.n += take
            start = end
            if self.n >= FRAME_EVENTS:
                self.flush()

    def flush(self) -> None:
        if not self.n:
            return
        ts, kind, pid, peer, ref = (np.concatenate([c[i] for c in self.cols]) for i in range(5))
        ts = ts.astype("<i8")
        deltas = np.empty_like(ts)
        deltas[0] = 0
        np.subtract(ts[1:], ts[:-1], out=deltas[1:])
        offsets = np.zeros(self.n + 1, dtype="<u4")
        np.cumsum(np.concatenate(self.lengths), out=offsets[1:])
        skeleton = b"".join(
            (deltas.tobytes(), pid.astype("<u4").tobytes(), peer.astype("<u4").tobytes(),
             kind.astype("u1").tobytes())
        )  # fmt: skip
        payloads = b"".join(self.blocks)
        payload_block = offsets.tobytes() + payloads
        blocks = (skeleton, ref.astype("<i8").tobytes(), payload_block)
        w = self.w
        w.add(RawFrame(FrameType.EVENTS, self.n, w.seq, int(ts[0]), int(ts[-1]), blocks))
        mask = w.summaries.add(w.seq, blocks[0][16 * self.n :], blocks[0][8 * self.n : 12 * self.n])
        batch = EventBatch(
            self.n, ts.tobytes(), blocks[0][16 * self.n :], blocks[0][8 * self.n : 12 * self.n],
            blocks[0][12 * self.n : 16 * self.n], blocks[1], offsets.tobytes(), payloads,
        )  # fmt: skip
        w.kindex.add(w.seq, mask, batch)
        w.kinds.update(dict(zip(*np.unique(kind, return_counts=True), strict=True)))
        if w.t_first is None:
            w.t_first = int(ts[0])
        w.t_last = int(ts[-1])
        w.seq += self.n
        self.cols, self.lengths, self.blocks, self.n = [], [], [], 0


def write_bundle(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the cut ``lo <= seq < hi`` (of ``opts.processes``) as a bundle (module docs)."""
    if opts.processes is None:
        return _write(session, lo, hi, opts, redactor, out, progress)
    # a process cut: its own worlds as keyframes, as far apart as the original's (_rekey)
    every = max(FRAME_EVENTS, session.event_count // max(len(session.reader.keyframe_seqs), 1))
    # one bar over both passes that never goes back: the first counts against twice its events
    # (the second reads at most as many), the second then against what it really reads
    span = hi - lo
    first_pass = None if progress is None else lambda done, _: progress(done, 2 * span)
    second_pass = None if progress is None else lambda done, n: progress(span + done, span + n)
    with tempfile.TemporaryDirectory(prefix="cinema-export-") as tmp:
        first = os.path.join(tmp, "first-pass.cinema")
        with open(first, "wb") as f:
            extra = _write(session, lo, hi, opts, redactor, f, first_pass)
        extra["keyframes"] = rekeyed(first, out, every, second_pass)
    return extra


def _write(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    reader = session.reader
    names = ExportNames(session, redactor)
    procs = sorted(reader.processes) if opts.processes is None else sorted(opts.processes)
    cut = _cut_facts(session, lo, hi, opts, names)
    meta = {k: v for k, v in reader.meta.items() if k not in _DROP_META}
    meta = _redacted_meta(meta, redactor)
    meta.update({"frame_events": FRAME_EVENTS, "keyframe_every": FRAME_EVENTS,
                 "compression": "zstd", EXPORT_KEY: cut})  # fmt: skip
    header = pack_file_header(msgpack.packb(repack(meta), use_bin_type=True))
    w = _Writer(out, header)
    events = _Events(w)
    kf_seqs = reader.keyframe_seqs
    table = reader.frame_table()
    kf_times = dict(zip(table["first_seq"][table["type"] == FrameType.KEYFRAME].tolist(),
                        table["t_first"][table["type"] == FrameType.KEYFRAME].tolist(),
                        strict=True))  # fmt: skip
    copy = opts.processes is None  # a range cut replays the original's worlds exactly
    keep = None if copy else set(procs)
    # the footer names the processes of the cut's first world and every process its events name
    named = set() if lo == 0 else {p for p in session.world_at(lo - 1).processes
                                   if keep is None or p in keep}  # fmt: skip
    if lo > 0:
        if copy and lo in kf_times:
            body = copied_keyframe(reader.keyframe_body(lo), 0, redactor)
            t = kf_times[lo]
        else:
            world = session.world_at(lo - 1)
            body = world_keyframe(world, 0, redactor, None if copy else procs,
                                  reader.payload_bytes)  # fmt: skip
            t = world.time_ns
        w.add(RawFrame(FrameType.KEYFRAME, 0, 0, t, t, (body, b"", b"")))
    upcoming = [s for s in kf_seqs if lo < s < hi] if copy else []
    k = 0
    marks = _Bookmarks(opts.bookmarks, lo)
    for chunk in chunks(session, lo, hi, opts, redactor, progress):
        if not len(chunk):
            continue
        first = int(chunk.seq[0])
        while k < len(upcoming) and upcoming[k] <= first:
            s = upcoming[k]
            events.flush()
            body = copied_keyframe(reader.keyframe_body(s), w.seq, redactor)
            w.add(RawFrame(FrameType.KEYFRAME, 0, w.seq, kf_times[s], kf_times[s],
                           (body, b"", b"")))  # fmt: skip
            k += 1
        marks.map(chunk.seq, w.seq + events.n)
        named.update(np.unique(chunk.pid).tolist())
        named.update(np.unique(chunk.peer).tolist())
        events.add(chunk.ts, chunk.kind, chunk.pid, chunk.peer, chunk.ref, *chunk.payload_run())
    events.flush()
    n = w.seq
    cut["events"] = n
    bp = [_texts(b, redactor, "breakpoint") for b in (opts.breakpoints or [])]
    notes = [{"seq": s, "note": redactor.text(note, "bookmark")} for s, note in marks.mapped]
    extra = {EXPORT_KEY: cut, "breakpoints": bp, "bookmarks": notes,
             "redaction": redactor.report.to_json()}  # fmt: skip
    w.add(raw_map_frame(FrameType.META, extra, n, w.t_last, structural=True))
    rows = []
    for pid in sorted(named):
        info = reader.processes.get(pid)
        if info is None:
            continue
        rows.append([pid, names.process_name(pid), info.behaviour, info.parent, info.supervisor,
                     info.node])  # fmt: skip
    w.footer(rows)
    return {"events": n, "keyframes": sum(1 for e in w.index if e[1] == FrameType.KEYFRAME),
            "bookmarks": len(notes), "breakpoints": len(bp)}  # fmt: skip


class _Bookmarks:
    """Bookmarks of the original, renumbered into the cut (a bookmark on an event the cut left
    out moves to the cut's event before it)."""

    def __init__(self, marks: Any, lo: int) -> None:
        self._todo = sorted((int(s), str(n)) for s, n in (marks or ()))
        self._todo = [(s, n) for s, n in self._todo if s >= lo]
        self.mapped: list[tuple[int, str]] = []

    def map(self, seqs: np.ndarray, base: int) -> None:
        last = int(seqs[-1])
        while self._todo and self._todo[0][0] <= last:
            s, note = self._todo.pop(0)
            i = int(np.searchsorted(seqs, s, side="right")) - 1
            self.mapped.append((base + max(i, 0), note))


def _cut_facts(
    session: Session, lo: int, hi: int, opts: ExportOptions, names: ExportNames
) -> dict[str, Any]:
    t0 = session.t_first
    src = session.reader.path
    return {
        "cut_from": os.path.basename(src) if src else None,
        "cut_from_path": os.path.abspath(src) if src else None,
        "original_events": session.event_count,
        "range": [lo, hi - 1],
        "t_range": [(session.time_of(lo) - t0) / 1e9, (session.time_of(hi - 1) - t0) / 1e9],
        "processes": None
        if opts.processes is None
        else [{"pid": p, "name": names.process_name(p)} for p in sorted(opts.processes)],
        "note": opts.note,
        "exported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "redaction_rules": opts.rules.describe(),
    }


def _redacted_meta(meta: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """The original's header metadata (program, argv, host, ...) through the rules."""
    if not redactor.active:
        return meta
    raw = msgpack.packb(repack(meta), use_bin_type=True)
    out = redactor.payload(raw, [("meta",)], "metadata")
    if out is raw:
        return meta
    from recorder.payload import decode_payload

    value = decode_payload(out)
    return value if isinstance(value, dict) else {}
