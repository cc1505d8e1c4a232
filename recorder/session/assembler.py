"""The writer's bookkeeping: captured batches made frames, the frame index, the footer.

:class:`FrameAssembler` receives batches of events already captured on the program thread
(stamped and encoded by :class:`~recorder.payload.EventBuffer`, as packed columns) and keyframes
already frozen there. Each batch becomes one EVENTS frame: the recorder hands batches over at
frame boundaries (``frame_events`` events, fewer at a keyframe, a timed flush, close, or 8 MiB
of payloads), so equal input gives byte-identical files. The assembler only joins columns and
compresses (one zstd call per round, which releases the GIL); it touches no live Python value of
the program.
"""

from __future__ import annotations

import collections
import struct
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import msgpack

from recorder.events import NO_PEER, EventKind
from recorder.payload import EventBatch, PayloadError, decode_payload
from recorder.session import kindex, summary
from recorder.session.format import TRAILER, TRAILER_MAGIC, FrameType
from recorder.session.frames import (
    Compressor,
    RawFrame,
    build_frames,
    encode_map_frame,
    raw_batch,
    raw_map_frame,
)

__all__ = ["FrameAssembler", "footer_body"]

#: Payload bytes past which the recorder hands a batch over early (a reader refuses blocks over
#: 256 MiB).
FRAME_BYTES = 8 << 20


class Round(NamedTuple):
    """Frames built by one :meth:`FrameAssembler.drain`, to be written together."""

    datas: list[bytes]
    """Each frame's bytes."""
    frames: list[tuple[RawFrame, list[tuple[int, int]], list[tuple[int, int, bytes]]]]
    """Each frame's raw form, its events of each kind (``[(kind, events), ...]``) and its
    SPAWN rows (pid, peer, payload)."""

    def has_events(self, upto: int | None = None) -> bool:
        """Whether the first ``upto`` frames (all by default) hold events."""
        return any(f[0].ftype == FrameType.EVENTS for f in self.frames[:upto])


def footer_body(
    events: int,
    lost: int,
    t_first: int | None,
    t_last: int,
    kinds: Mapping[int, int],
    processes: Mapping[int, list[Any]],
    index: Sequence[tuple[int, int, int, int, int, int]],
) -> dict[str, Any]:
    """The FOOTER map of a session (docs/session-format.md): counts, the process table and
    the frame index ``(offset, type, first_seq, count, t_first, t_last)`` of every frame."""
    cols: list[tuple[int, ...]] = list(zip(*index, strict=True)) if index else [()] * 6
    return {
        "events": events,
        "lost": lost,
        "t_first": t_first if t_first is not None else 0,
        "t_last": t_last,
        "kinds": {int(k): int(v) for k, v in sorted(kinds.items())},
        # Packed on its own: a reader decodes the process table only when asked for it.
        "processes": msgpack.packb([processes[p] for p in sorted(processes)], use_bin_type=True),
        "frames": {
            "offset": array("q", cols[0]).tobytes(),
            "type": bytes(cols[1]),
            "first_seq": array("q", cols[2]).tobytes(),
            "count": array("q", cols[3]).tobytes(),
            "t_first": array("q", cols[4]).tobytes(),
            "t_last": array("q", cols[5]).tobytes(),
        },
    }


class FrameAssembler:
    """Turns captured events and keyframes into frames (see the module docstring).

    Batches and keyframes go in with :meth:`add` and :meth:`keyframe`; :meth:`drain`
    compresses every frame built since the last drain in one go and returns their bytes; once
    those bytes are safely written, :meth:`written` counts them into the index and the
    footer's facts (a write that failed leaves them out).

    Args:
        comp: the compressor.
        offset: file offset of the first frame (the header's length).
    """

    def __init__(self, comp: Compressor, offset: int) -> None:
        self._comp = comp
        self._next_seq = 0
        self._built: list[tuple[RawFrame, list[tuple[int, int]], list[tuple[int, int, bytes]]]] = []
        self.offset = offset
        self.seq = 0
        """Events written in frames so far."""
        self.index: list[tuple[int, int, int, int, int, int]] = []
        self.kind_counts: collections.Counter[int] = collections.Counter()
        self.processes: dict[int, list[Any]] = {}
        self.t_first: int | None = None
        self.t_last = 0
        self._summaries = summary.Summarizer()
        self._kindex = kindex.KindIndexer()

    @property
    def frames_waiting(self) -> int:
        """Frames built but not yet drained."""
        return len(self._built)

    def add(self, batch: EventBatch) -> None:
        """Build the EVENTS frame of one captured batch (an empty batch makes none)."""
        if not batch.count:
            return
        raw = raw_batch(batch, self._next_seq)
        tally = summary.frame_tally(batch.kind, batch.pid)  # one pass for all three
        self._built.append((raw, tally[0], _spawns(batch)))
        mask = self._summaries.add_tally(self._next_seq, tally)
        self._kindex.add(self._next_seq, mask, batch, tally[0])
        self._next_seq += batch.count
        if self._summaries.due():  # every 64 frames, their summaries in a META frame
            body = {summary.KEY: self._summaries.take()}
            meta = raw_map_frame(FrameType.META, body, self._next_seq, raw.t_last, structural=False)
            # block 1: the same frames' kind index (format 1.2), read without the lane counts
            table = self._kindex.take() or b""
            meta = meta._replace(blocks=(meta.blocks[0], table, b""))
            self._built.append((meta, [], []))

    def keyframe(self, ts: int, world: Any) -> None:
        """Build a keyframe of ``world`` (frozen by the caller) after the events so far."""
        body = {"seq": self._next_seq, "world": world}
        raw = raw_map_frame(FrameType.KEYFRAME, body, self._next_seq, ts, structural=False)
        self._built.append((raw, [], []))

    def drain(self) -> Round | None:
        """Compress every frame built since the last drain; ``None`` if there is none."""
        if not self._built:
            return None
        built, self._built = self._built, []
        return Round(build_frames([b[0] for b in built], self._comp), built)

    def written(self, chunk: Round, upto: int | None = None) -> None:
        """Count the first ``upto`` frames of ``chunk`` (all by default; now on disk) into the
        index and the footer facts."""
        for (raw, kinds, spawns), data in zip(chunk.frames[:upto], chunk.datas, strict=False):
            size = len(data)
            self.index.append(
                (self.offset, int(raw.ftype), raw.first_seq, raw.events, raw.t_first, raw.t_last)
            )
            self.offset += size
            if raw.ftype != FrameType.EVENTS:
                continue
            counts = self.kind_counts
            for k, n in kinds:
                counts[k] += n
            for pid, peer, payload in spawns:
                self._note_spawn(pid, peer, payload)
            if self.t_first is None:
                self.t_first = raw.t_first
            self.t_last = raw.t_last
            self.seq = raw.first_seq + raw.events

    def _note_spawn(self, pid: int, peer: int, payload: bytes) -> None:
        try:
            d = decode_payload(payload)
        except PayloadError:
            d = None
        if not isinstance(d, dict):
            d = {}
        self.processes[pid] = [
            pid,
            str(d.get("name", f"<{pid}>")),
            str(d.get("behaviour", "process")),
            _as_pid(d.get("parent", peer)),
            _as_pid(d.get("supervisor")),
            str(d.get("node", "local")),
        ]

    def footer(self, lost: int) -> bytes:
        """The FOOTER frame and trailer for everything :meth:`written` so far."""
        body = footer_body(
            self.seq, lost, self.t_first, self.t_last, self.kind_counts, self.processes,
            self.index,
        )  # fmt: skip
        tail = self._summaries.take()  # the frames after the last summary META frame
        if tail is not None:
            body[summary.KEY] = tail
        table = self._kindex.take()
        if table is not None:
            body[kindex.KEY] = table
        frame = encode_map_frame(
            FrameType.FOOTER, body, self._comp, self.seq, self.t_last, structural=False
        )
        return frame + TRAILER.pack(self.offset, TRAILER_MAGIC)


_SPAWN = bytes([EventKind.SPAWN])
_U32 = struct.Struct("<I")


def _spawns(batch: EventBatch) -> list[tuple[int, int, bytes]]:
    """(pid, peer, payload) of each SPAWN in ``batch``: the footer's process table."""
    kinds = batch.kind
    i = kinds.find(_SPAWN)
    if i < 0:
        return []
    out = []
    unpack = _U32.unpack_from
    while i >= 0:
        start, end = unpack(batch.offsets, 4 * i)[0], unpack(batch.offsets, 4 * i + 4)[0]
        pid, peer = unpack(batch.pid, 4 * i)[0], unpack(batch.peer, 4 * i)[0]
        out.append((pid, peer, batch.payloads[start:end]))
        i = kinds.find(_SPAWN, i + 1)
    return out


def _as_pid(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    n = getattr(v, "n", None)
    return n if isinstance(n, int) else NO_PEER
