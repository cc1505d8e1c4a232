"""Where two recordings of the same deterministic program part: the first event that differs.

Two events are the same when their kind, process, peer, reference and data are the same. Their
timestamps are left out (the architecture's determinism promise is "the same event sequence,
timestamps aside"), and so are the traceback text of a CRASH (its file paths and line numbers
move whenever the program is edited, while the reason and error stay what the test is about)
and the wall time of a traced call's RETURN.
The skeleton columns are compared as arrays and payloads as encoded bytes, so comparing
millions of events costs little more than reading them; events whose bytes differ are decoded
to say what differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recorder.events import Event, EventKind
from recorder.session.reader import SessionReader

__all__ = ["Divergence", "comparable_data", "differing_fields", "first_divergence"]

_CRASH = int(EventKind.CRASH)
_RETURN = int(EventKind.RETURN)
#: Data that differs from run to run of the same deterministic program, by kind.
_UNSTABLE = {_CRASH: frozenset({"traceback"}), _RETURN: frozenset({"wall_ns"})}


@dataclass(frozen=True)
class Divergence:
    """The first event at which two recordings differ.

    Attributes:
        seq: its event number (the events before it are the same in both).
        recorded: the recording's event there, or ``None`` if the recording ended before it.
        rerun: the other run's event there, or ``None`` if that run ended before it.
        fields: what differs: some of ``kind``, ``pid``, ``peer``, ``ref``, ``data``, or
            ``("end",)`` when one run ended.
    """

    seq: int
    recorded: Event | None
    rerun: Event | None
    fields: tuple[str, ...]


def comparable_data(kind: int, data: Any) -> Any:
    """An event's data as the comparison sees it (a CRASH without its traceback text, a
    traced call's RETURN without its wall time)."""
    unstable = _UNSTABLE.get(kind)
    if unstable is not None and isinstance(data, Mapping):
        return {k: v for k, v in data.items() if k not in unstable}
    return data


def differing_fields(a: Event, b: Event) -> tuple[str, ...]:
    """The fields in which two events differ (timestamps and sequence numbers aside)."""
    out = [f for f in ("kind", "pid", "peer", "ref") if getattr(a, f) != getattr(b, f)]
    if not out and not _same_data(a.kind, a.data, b.data):
        out.append("data")
    return tuple(out)


def _same_data(kind: int, a: Any, b: Any) -> bool:
    try:
        return bool(comparable_data(kind, a) == comparable_data(kind, b))
    except Exception:  # a value whose comparison fails is not the same value
        return False


def first_divergence(recorded: SessionReader, rerun: SessionReader) -> Divergence | None:
    """The first event where ``rerun`` differs from ``recorded``, or ``None`` if every event is
    the same and both have as many."""
    n_rec, n_new = recorded.event_count, rerun.event_count
    n = min(n_rec, n_new)
    first = _first_fixed_mismatch(recorded, rerun, n)
    limit = n if first is None else first
    for seq in range(limit):
        if recorded.payload_bytes(seq) == rerun.payload_bytes(seq):
            continue
        a, b = recorded.event(seq), rerun.event(seq)
        fields = differing_fields(a, b)
        if fields:
            return Divergence(seq, a, b, fields)
    if first is not None:
        a, b = recorded.event(first), rerun.event(first)
        return Divergence(first, a, b, differing_fields(a, b))
    if n_rec == n_new:
        return None
    if n_rec > n:
        return Divergence(n, recorded.event(n), None, ("end",))
    return Divergence(n, None, rerun.event(n), ("end",))


def _first_fixed_mismatch(a: SessionReader, b: SessionReader, n: int) -> int | None:
    """The first event number below ``n`` whose kind, pid, peer or ref differ."""
    if n == 0:
        return None
    sa, sb = a.skeleton(), b.skeleton()
    differs = (
        (sa.kind[:n] != sb.kind[:n])
        | (sa.pid[:n] != sb.pid[:n])
        | (sa.peer[:n] != sb.peer[:n])
        | (a.refs()[:n] != b.refs()[:n])
    )
    hits = np.flatnonzero(differs)
    return int(hits[0]) if len(hits) else None
