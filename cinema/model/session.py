"""A recorded (or growing, live) session, and the world at any moment of it.

:class:`Session` wraps a :class:`~recorder.session.reader.SessionReader`. A file and a live
stream take the same path (Perfetto-style): :meth:`Session.live` makes an empty session that
:meth:`Session.feed` grows, and subscribers hear how many events arrived.

Seeking (:meth:`Session.world_at`) starts from the nearest keyframe at or before the target,
or from a nearer cached world, and replays only the events in between (as one window, see
:mod:`cinema.model._replay`). Whichever it starts from, the world is the one
``docs/world-schema.md`` defines from the events alone. Recent worlds are kept in a small LRU
together with checkpoints that long replays leave behind (one shortly before the target; on a
second seek into a keyframe interval, a grid across it), so stepping one event forward or back,
or scrubbing around a spot, replays a few hundred events at most. The cached worlds come from at
most four keyframes (a world holds its keyframe's decoded rows, which the garbage collector
walks on every full pass).
"""

from __future__ import annotations

import bisect
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from cinema.model import _columns
from cinema.model._from_keyframe import empty_world, world_from_keyframe
from cinema.model._overlay import Lazy
from cinema.model._proc import KfLazy, KfMessage
from cinema.model._replay import Replayer
from cinema.model.errors import ModelError
from cinema.model.index import SessionIndex
from cinema.model.world import World
from recorder.events import NO_PID, Event
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.keyframes import ProcessRow
from recorder.session.reader import ProcessInfo, SessionReader, Skeleton

__all__ = ["Session", "Subscriber"]

log = logging.getLogger("cinema.model")
log.addHandler(logging.NullHandler())

#: How far before its target a long replay leaves checkpoint worlds in the cache: at _NEAR,
#: 2 x _NEAR, 4 x _NEAR ... up to _CHECKPOINT events before it (stepping back k events then
#: replays fewer than max(_NEAR, k) events; a replay of more than _NEAR events lays its own).
_CHECKPOINT = 512
_NEAR = 64


def _distances() -> tuple[int, ...]:
    """_CHECKPOINT, ..., 4 _NEAR, 2 _NEAR, _NEAR (farthest first: the order they are laid)."""
    out = []
    d = _NEAR
    while d <= _CHECKPOINT:
        out.append(d)
        d *= 2
    return tuple(reversed(out))


#: Spacing of the checkpoints a replay leaves in a keyframe interval seeked into before. A
#: window costs far more than its share of a long one (messages in flight across its edges
#: are applied one by one): on the 10M-event sandbox session a 2,048-event window takes
#: ~2.4 ms, an 8,192-event one ~3.7 ms and 40,000 events in one window ~10 ms, so a grid of
#: 2,048 made the seek that lays it ~5x a cold seek (20 windows) and filled the world cache.
_GRID = 8192

#: How many keyframes the cached worlds may hold between them (their :attr:`_kf_worlds`). A
#: world keeps its keyframe's decoded tables alive (its processes not changed since are
#: still the keyframe's rows): 64 cached worlds from 64 keyframe intervals held ~64 x 6,000
#: rows on the 10M-event sandbox session, which every full pass of the garbage collector
#: walks. A world whose keyframe leaves :attr:`_kf_worlds` leaves the cache with it.
_KEYFRAMES = 4

#: How far (events) a world before a keyframe not decoded yet may be from the target for a
#: seek to replay from it across that keyframe rather than decode the keyframe: on the 10M-event
#: sandbox session a keyframe takes ~17 ms to decode and a 40,000-event window ~10 ms to
#: replay (and the processes it touches are Proc copies already, not keyframe rows to parse).
_HOP = 65_536

#: Called with the number of new events after a live session grew.
Subscriber = Callable[[int], object]


class Session:
    """One session, opened from a file or fed from a live stream.

    Args:
        reader: the reader to wrap (see :meth:`open` and :meth:`live`).
        world_cache: how many recently computed worlds to keep.
    """

    def __init__(self, reader: SessionReader, *, world_cache: int = 64) -> None:
        self.reader = reader
        self._worlds: OrderedDict[int, World] = OrderedDict()
        self._world_cache = max(2, world_cache)
        self._kf_worlds: OrderedDict[int, World] = OrderedDict()
        self._visited: set[int] = set()  # keyframe intervals (by first seq - 1) seeked into
        self._subscribers: list[Subscriber] = []
        self._sends = SessionIndex.of(reader).sends  # the SENDs of messages keyframes list

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Session:
        """Open a session file (only its index is read).

        Raises:
            FileNotFoundError: no such file.
            SessionFormatError: not a session, or corrupt (the message names file and offset).
        """
        return cls(SessionReader(path))

    @classmethod
    def live(cls) -> Session:
        """An empty session that grows with :meth:`feed`."""
        return cls(SessionReader(None))

    def feed(self, data: bytes) -> int:
        """Append bytes of a live stream; notify subscribers; return the number of new events."""
        n = self.reader.feed(data)
        if n:
            for cb in list(self._subscribers):
                try:
                    cb(n)
                except Exception:  # a broken subscriber is dropped, never breaks the feed
                    log.exception("session subscriber %r failed; unsubscribed", cb)
                    self.unsubscribe(cb)
        return n

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(n_new_events)`` whenever the session grows. Returns an unsubscriber.

        A callback that raises is logged and unsubscribed.
        """
        self._subscribers.append(callback)
        return lambda: self.unsubscribe(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        """Stop calling ``callback`` (no error if it was not subscribed)."""
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def close(self) -> None:
        """Close the file."""
        self.reader.close()
        self._worlds.clear()
        self._kf_worlds.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ facts

    @property
    def event_count(self) -> int:
        return self.reader.event_count

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.reader.meta

    @property
    def skeleton(self) -> Skeleton:
        """``ts, kind, pid, peer`` columns of all events (loaded once, then grown)."""
        return self.reader.skeleton()

    @property
    def refs(self) -> np.ndarray:
        """The ``ref`` column of all events."""
        return self.reader.refs()

    @property
    def index(self) -> SessionIndex:
        """The session's one index (messages, sends by ref, states and events by process),
        built part by part on first use and grown with a live session."""
        return SessionIndex.of(self.reader)

    @property
    def processes(self) -> Mapping[int, ProcessInfo]:
        """Every process a SPAWN named: pid -> ProcessInfo."""
        return self.reader.processes

    def process_name(self, pid: int) -> str:
        """The spawn name of ``pid`` (``"<0.N.0>"`` when it was never spawned in the session)."""
        if pid == NO_PID:
            return "-"
        info = self.reader.processes.get(pid)
        return info.name if info is not None else f"<0.{pid}.0>"

    @property
    def t_first(self) -> int:
        return self.reader.t_first

    @property
    def t_last(self) -> int:
        return self.reader.t_last

    @property
    def duration_ns(self) -> int:
        return self.t_last - self.t_first if self.event_count else 0

    # ------------------------------------------------------------------ events

    def check_seq(self, seq: int) -> int:
        """Return ``seq`` if it is an event of this session, else raise :class:`ModelError`."""
        n = self.event_count
        if not 0 <= seq < n:
            if n == 0:
                raise ModelError(f"event #{seq} is out of range: the session has no events")
            raise ModelError(f"event #{seq} is out of range: the session has events #0 to #{n - 1}")
        return seq

    def event(self, seq: int) -> Event:
        """Event ``seq`` with its payload decoded."""
        return self.reader.event(self.check_seq(seq))

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[Event]:
        """Events ``start <= seq < stop``, payloads decoded."""
        return self.reader.events(start, stop)

    def data(self, seq: int) -> Any:
        """The decoded data of event ``seq``."""
        return self.reader.event(seq).data

    def time_of(self, seq: int) -> int:
        """The timestamp (ns) of event ``seq``."""
        self.check_seq(seq)
        return int(_columns.window(self.reader, seq, seq + 1).ts[0])

    def seq_at_time(self, t_ns: int) -> int:
        """The last event at or before ``t_ns`` (ns on the session's clock).

        Raises:
            ModelError: ``t_ns`` is before the first event or after the last one.
        """
        if self.event_count == 0:
            raise ModelError("the session has no events")
        if t_ns < self.t_first:
            raise ModelError(
                f"time {_fmt_rel(t_ns - self.t_first)} is before the start of the session"
            )
        if t_ns > self.t_last:
            raise ModelError(
                f"time +{_fmt_rel(t_ns - self.t_first)} is after the end of the session "
                f"(it lasts {_fmt_rel(self.duration_ns)})"
            )
        ft = self.reader.frame_table()
        ev = ft["type"] == FrameType.EVENTS
        firsts, counts, t0s = ft["first_seq"][ev], ft["count"][ev], ft["t_first"][ev]
        k = max(int(np.searchsorted(t0s, t_ns, side="right")) - 1, 0)
        # Timestamps may repeat across a frame boundary: scan this frame and the next.
        lo, hi = int(firsts[k]), int(firsts[k] + counts[k])
        if k + 1 < len(firsts):
            hi = int(firsts[k + 1] + counts[k + 1])
        try:
            ts = _columns.window(self.reader, lo, hi).ts
        except SessionFormatError:
            # A frame whose payloads are damaged still has its timestamps: block 0, which
            # the skeleton reads on its own (a damaged block 0 raises here too).
            ts = self.skeleton.ts[lo:hi]
        return lo + int(np.searchsorted(ts, t_ns, side="right")) - 1

    # ------------------------------------------------------------------ worlds

    def world_at(self, seq: int, *, checkpoints: bool = True) -> World:
        """The world after event ``seq`` (``-1``: the empty world before the first event).

        Cost: the events between the nearest keyframe (or cached world) and ``seq``. A long
        replay also leaves checkpoint worlds behind it, so that stepping back from ``seq`` is
        cheap; ``checkpoints=False`` leaves them out (one window of replay, the least a jump
        costs: a scrub moves on before anyone steps back) and :meth:`lay_checkpoints` lays
        them later, when the viewer is idle.
        """
        if seq != -1:
            self.check_seq(seq)
        w = self._worlds.get(seq)
        if w is not None:
            self._worlds.move_to_end(seq)
            return w
        w = self._replay(self._base_for(seq), seq, checkpoints)
        self._remember(w)
        return w

    def lay_checkpoints(self, seq: int) -> None:
        """Leave the checkpoint worlds before ``seq`` that :meth:`world_at` lays (after a
        ``world_at(seq, checkpoints=False)``): stepping back from ``seq`` then replays a few
        events per step. Nothing when a cached world close before ``seq`` makes them needless.

        Raises:
            SessionFormatError: the replay crosses a damaged part of the file.
        """
        if seq <= 0:
            return
        self.check_seq(seq)
        if seq - self._interval_origin(seq) <= _NEAR:
            return  # the keyframe's world is close enough
        if any(seq - _NEAR <= s < seq for s in self._worlds):
            return
        base = self._base_for(seq - 1)
        if seq - base.seq > _NEAR:
            self._replay(base, seq, True, target=False)

    def world_at_time(self, t_ns: int) -> World:
        """The world after the last event at or before ``t_ns``."""
        return self.world_at(self.seq_at_time(t_ns))

    def _resolve(self, v: Any) -> Any:
        t = type(v)
        if t is Lazy:
            data = self.reader.event(v.seq).data
            if v.key is None:
                return data
            return data.get(v.key) if isinstance(data, dict) else None
        if t is KfMessage:
            # As its SEND recorded it (what replay from event 0 shows); the keyframe's own
            # copy only when the recording does not hold that SEND.
            sent = self._sends.seq_of(v.msg_id, v.before, _mailbox_ids(v.fallback.row))
            return self.reader.event(sent).data if sent >= 0 else v.fallback.value()
        if t is KfLazy:
            return v.value()
        return v

    def _base_for(self, seq: int) -> World:
        kf_seqs = self.reader.keyframe_seqs
        j = bisect.bisect_right(kf_seqs, seq + 1) - 1
        base_seq = kf_seqs[j] - 1 if j >= 0 else -1
        # A cached world between the keyframe and the target is a shorter replay.
        best: World | None = None
        for s, w in self._worlds.items():
            if base_seq <= s <= seq and (best is None or s > best.seq):
                best = w
        if best is not None:
            return best
        if j < 0:
            return empty_world(self._resolve, self.process_name)
        kf_seq = kf_seqs[j]
        cached = self._kf_worlds.get(kf_seq)
        if cached is None:
            hop = self._hop_base(j, seq)
            if hop is not None:
                return hop
            got = self.reader.keyframe_before(kf_seq)
            assert got is not None
            t = int(_columns.window(self.reader, kf_seq - 1, kf_seq).ts[0]) if kf_seq > 0 else 0
            w = world_from_keyframe(
                kf_seq, got[1], self._resolve, self.process_name, t, self._sends.mailbox
            )
            self._kf_worlds[kf_seq] = w
            while len(self._kf_worlds) > _KEYFRAMES:
                self._forget_keyframe(self._kf_worlds.popitem(last=False)[0])
            return w
        self._kf_worlds.move_to_end(kf_seq)
        return cached

    def _hop_base(self, j: int, seq: int) -> World | None:
        """A cached world of the interval before keyframe ``j`` (not decoded yet) to replay to
        ``seq`` from, across the keyframe: a drag forward over a keyframe replays the events
        since the last step instead of decoding the keyframe (~17 ms on the 10M-event
        sandbox session, about what _HOP events of replay cost). Only from a world that holds
        the previous keyframe's rows (or none, before the first): the entries replay changes
        since those rows stay bounded by two intervals."""
        kf_seqs = self.reader.keyframe_seqs
        origin = kf_seqs[j] - 1
        prev = kf_seqs[j - 1] if j > 0 else -1
        lo = max(prev - 1, origin - _HOP, seq - _HOP)
        best: World | None = None
        for s, w in self._worlds.items():
            if lo <= s < origin and w.keyframe_seq == prev and (best is None or s > best.seq):
                best = w
        return best

    def _replay(self, base: World, seq: int, checkpoints: bool = True, *,
                target: bool = True) -> World:  # fmt: skip
        # A long replay leaves checkpoints _NEAR, 2 _NEAR, 4 _NEAR ... _CHECKPOINT events
        # before its target, so stepping back from here replays at most about as many events
        # as the steps taken, not the whole interval. (Every checkpoint is a window of its own,
        # ~1-2 ms on a 6,000-process world: doubling the distances lays 4 instead of 8.)
        # The second seek into a keyframe interval also leaves a checkpoint every _GRID events
        # of its way (a few windows, once): scrubbing back and forth there, or seeking
        # nearby, then replays at most _GRID events instead of up to a whole interval.
        # ``target=False``: only the checkpoints (the world at ``seq`` is cached already).
        w = base
        stops = self._checkpoint_stops(base, seq) if checkpoints else []
        if target:
            stops.append(seq)
        for end in stops:
            rp = Replayer(w, self.data)
            # the skeleton and refs of the frames replayed (their payloads stay compressed)
            cols = self.index.activity.columns(w.seq + 1, end + 1)
            rp.apply_columns(cols.start, cols.ts, cols.kind, cols.pid, cols.peer, cols.ref)
            w = rp.world()
            if end < seq:
                self._remember(w)
        return w

    def _checkpoint_stops(self, base: World, seq: int) -> list[int]:
        """The checkpoints a replay from ``base`` to ``seq`` leaves, in order (see _replay)."""
        stops: list[int] = []
        origin = self._interval_origin(seq)
        if origin in self._visited and seq - base.seq > _GRID:
            first = origin + max(0, (base.seq - origin) // _GRID + 1) * _GRID  # base: maybe before
            stops.extend(range(first, seq, _GRID))
        else:
            self._visited.add(origin)
        last = stops[-1] if stops else base.seq
        if seq - last > _NEAR:
            stops.extend(seq - d for d in _distances() if seq - d > last + _NEAR)
        return stops

    def _interval_origin(self, seq: int) -> int:
        """The seq of the world a keyframe interval starts from (``-1`` before the first)."""
        kf_seqs = self.reader.keyframe_seqs
        j = bisect.bisect_right(kf_seqs, seq + 1) - 1
        return kf_seqs[j] - 1 if j >= 0 else -1

    def _remember(self, w: World) -> None:
        self._worlds[w.seq] = w
        if len(self._worlds) > self._world_cache:
            self._worlds.popitem(last=False)
        kf = w.keyframe_seq
        if kf in self._kf_worlds:  # its keyframe was used last: kept longest
            self._kf_worlds.move_to_end(kf)

    def _forget_keyframe(self, kf_seq: int) -> None:
        """Drop the cached worlds that hold keyframe ``kf_seq``'s rows (it left the cache)."""
        for s in [s for s, w in self._worlds.items() if w.keyframe_seq == kf_seq]:
            del self._worlds[s]

    def __repr__(self) -> str:
        where = self.reader.path or "live stream"
        return f"<Session {where}: {self.event_count} events>"


def _mailbox_ids(row: Mapping[str, Any]) -> list[int]:
    """The message ids a keyframe entry lists (without decoding its messages)."""
    rows = row.get("mailbox_ids") if isinstance(row, ProcessRow) else row.get("mailbox")
    if not isinstance(rows, (list, tuple)):
        return []
    return [r[0] for r in rows if isinstance(r, (list, tuple)) and r and type(r[0]) is int]


def _fmt_rel(ns: int) -> str:
    """A duration in seconds, for messages (``1.25s``)."""
    return f"{ns / 1e9:.9g}s"
