"""The event buffer between the observed program and the writer (pure-Python version).

``emit`` stamps an event, encodes its data *now* (on the program's thread, so later mutations
of the live value cannot leak into the recording) and appends it; ``take`` hands everything
buffered so far to the writer as one :class:`EventBatch` of packed little-endian columns, the
layout of an EVENTS frame. The native module provides the same type with the same bytes.
"""

from __future__ import annotations

import operator
import sys
import threading
import time
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from recorder.payload._types import DEFAULT_LIMITS, Limits

__all__ = ["PAYLOAD_ARENA_LIMIT", "EventBatch", "EventBuffer", "MonotonicClock", "ts_deltas"]

_LITTLE = sys.byteorder == "little"
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1
_NO_PEER = 0xFFFFFFFF  # recorder.events.NO_PEER (kept here: payload does not import events)
_NO_REF = 0

#: Most payload bytes one batch holds (offsets are uint32): an event whose payload would
#: pass it gets an ``overflow`` marker instead (the writer takes batches long before).
PAYLOAD_ARENA_LIMIT = 0xFFFFFFFF


def _le(a: array[int]) -> bytes:
    if not _LITTLE:
        a.byteswap()
    return a.tobytes()


def _wrap_i64(v: int) -> int:
    if _I64_MIN <= v <= _I64_MAX:
        return v
    v &= _U64
    return v - (1 << 64) if v > _I64_MAX else v


class MonotonicClock:
    """A nanosecond clock: ``time.monotonic_ns() - origin`` (a real-time runtime's clock).

    The native twin is read by the native :class:`EventBuffer` in C, without a Python call per
    event; this one is an ordinary callable.
    """

    __slots__ = ("_origin",)

    def __init__(self, origin: int = 0) -> None:
        self._origin = operator.index(origin)
        if not _I64_MIN <= self._origin <= _I64_MAX:
            raise OverflowError("origin must fit an int64")

    @property
    def origin(self) -> int:
        """``time.monotonic_ns()`` at the clock's zero."""
        return self._origin

    def __call__(self) -> int:
        return time.monotonic_ns() - self._origin

    def __repr__(self) -> str:
        return f"MonotonicClock(origin={self._origin})"


class EventBatch:
    """Events taken out of an :class:`EventBuffer`: columns as little-endian bytes.

    Attributes:
        count: number of events ``n``.
        ts: ``int64[n]`` absolute timestamps (ns).
        kind: ``uint8[n]`` event kinds.
        pid: ``uint32[n]`` acting processes.
        peer: ``uint32[n]`` peer processes.
        ref: ``int64[n]`` references.
        offsets: ``uint32[n + 1]``: payload ``i`` is ``payloads[offsets[i]:offsets[i + 1]]``.
        payloads: the encoded payloads back to back (an empty payload means ``None``).
    """

    __slots__ = ("count", "kind", "offsets", "payloads", "peer", "pid", "ref", "ts")

    def __init__(
        self,
        count: int,
        ts: bytes,
        kind: bytes,
        pid: bytes,
        peer: bytes,
        ref: bytes,
        offsets: bytes,
        payloads: bytes,
    ) -> None:
        self.count = count
        self.ts = ts
        self.kind = kind
        self.pid = pid
        self.peer = peer
        self.ref = ref
        self.offsets = offsets
        self.payloads = payloads

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"EventBatch({self.count} events, {len(self.payloads)} payload bytes)"

    def column(self, name: str) -> list[int]:
        """One column as Python ints (``ts``, ``kind``, ``pid``, ``peer``, ``ref``,
        ``offsets``); for tests and tools, not for the hot path."""
        code = {"ts": "q", "kind": "B", "pid": "I", "peer": "I", "ref": "q", "offsets": "I"}[name]
        a = array(code, getattr(self, name))
        if not _LITTLE:
            a.byteswap()
        return a.tolist()

    def payload(self, i: int) -> bytes:
        """The encoded payload of event ``i``."""
        offsets = self.column("offsets")
        return self.payloads[offsets[i] : offsets[i + 1]]


def ts_deltas(ts: bytes) -> bytes:
    """``int64`` deltas of an ``int64`` timestamp column (the first delta is 0), wrapping like
    the native version."""
    a = array("q", ts)
    if not _LITTLE:
        a.byteswap()
    if not a:
        return b""
    prev = [a[0], *a[:-1]]
    return _le(array("q", [_wrap_i64(x - p) for x, p in zip(a, prev, strict=True)]))


class EventBuffer:
    """Events as they happen, encoded at once; taken by the writer in batches.

    Args:
        clock: monotonic nanosecond clock, called once per event.
        limits: payload encoding limits.

    ``emit`` may run on any number of program threads while ``take`` runs on the writer's:
    one lock keeps each event whole and in one batch.
    """

    def __init__(
        self,
        clock: Callable[[], int] = time.monotonic_ns,
        limits: Limits = DEFAULT_LIMITS,
        *,
        encode: Callable[[Any, Limits], bytes] | None = None,
    ) -> None:
        if not isinstance(limits, Limits):
            raise TypeError("limits must be a recorder.payload.Limits")
        if encode is None:
            from recorder.payload import encode_payload

            encode = encode_payload
        self._clock = clock
        self._limits = limits
        self._encode = encode
        self._lock = threading.Lock()
        self._rows: list[tuple[int, int, int, int, int, bytes]] = []
        self._nbytes = 0
        self.threshold: int = sys.maxsize
        """``on_threshold()`` is called after an emit leaves at least this many events."""
        self._on_threshold: Callable[[], object] | None = None
        self._in_threshold = False

    @property
    def clock(self) -> Callable[[], int]:
        return self._clock

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def on_threshold(self) -> Callable[[], object] | None:
        """The recorder's slow path (``None``: never called); not re-entered while it runs."""
        return self._on_threshold

    @on_threshold.setter
    def on_threshold(self, callback: Callable[[], object] | None) -> None:
        if callback is not None and not callable(callback):
            raise TypeError("on_threshold must be callable or None")
        self._on_threshold = callback

    def emit(
        self, kind: int, pid: int, peer: int = _NO_PEER, ref: int = _NO_REF, data: Any = None
    ) -> None:
        """Record one event now. Never raises for any ``data`` (signals such as
        ``KeyboardInterrupt`` raised inside the value's own code still propagate)."""
        ts = _wrap_i64(operator.index(self._clock()))
        row_kind = operator.index(kind) & 0xFF
        row_pid = operator.index(pid) & _U32
        row_peer = operator.index(peer) & _U32
        row_ref = _wrap_i64(operator.index(ref))
        payload = b"" if data is None else self._encode(data, self._limits)
        with self._lock:
            if self._nbytes + len(payload) > PAYLOAD_ARENA_LIMIT:
                payload = _overflow_marker(len(payload))
            self._rows.append((ts, row_kind, row_pid, row_peer, row_ref, payload))
            self._nbytes += len(payload)
            due = len(self._rows) >= self.threshold
        callback = self._on_threshold
        if due and callback is not None and not self._in_threshold:
            self._in_threshold = True
            try:
                callback()
            finally:
                self._in_threshold = False

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        """Payload bytes buffered (the columns add 29 bytes per event)."""
        return self._nbytes

    def take(self) -> EventBatch:
        """Everything buffered so far, as one batch; the buffer starts empty again."""
        with self._lock:
            rows = self._rows
            self._rows = []
            self._nbytes = 0
        n = len(rows)
        if not n:
            return EventBatch(0, b"", b"", b"", b"", b"", _le(array("I", [0])), b"")
        ts, kinds, pids, peers, refs, payloads = zip(*rows, strict=True)
        return EventBatch(
            n,
            _le(array("q", ts)),
            bytes(kinds),
            _le(array("I", pids)),
            _le(array("I", peers)),
            _le(array("q", refs)),
            _le(array("I", accumulate(map(len, payloads), initial=0))),
            b"".join(payloads),
        )


def _overflow_marker(size: int) -> bytes:
    import msgpack

    from recorder.payload._types import EXT_TRUNCATED

    body = msgpack.packb(["overflow", size, None], use_bin_type=True)
    out: bytes = msgpack.packb(msgpack.ExtType(EXT_TRUNCATED, body), use_bin_type=True)
    return out
