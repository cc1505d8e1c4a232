"""Message flow: every SEND paired with what became of it, the communication graph, and the
path a chain of messages took.

The pairing is the session's index (:class:`cinema.model.index.Messages`): a message's outcome
is the first RECEIVE or DROP of its id after its SEND; failing both, a TIMEOUT naming it;
failing that, it is *queued* (still in its receiver's mailbox when the session ends) or *lost*
(its receiver ended without taking it). No payload is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from cinema.model import _columns
from cinema.model.errors import ModelError
from cinema.model.index import (
    DROPPED,
    LOST,
    OUTCOMES,
    QUEUED,
    RECEIVED,
    TIMED_OUT,
    SessionIndex,
)
from cinema.model.session import Session
from recorder.events import EventKind
from recorder.session.format import SessionFormatError
from recorder.session.reader import Skeleton

if TYPE_CHECKING:  # networkx costs ~0.3 s to import: only the graph functions load it
    import networkx as nx

__all__ = [
    "DROPPED",
    "LOST",
    "OUTCOMES",
    "QUEUED",
    "RECEIVED",
    "TIMED_OUT",
    "ChainLink",
    "MessageFlow",
    "communication_graph",
    "message_chain",
    "message_flow",
]

_K = EventKind


@dataclass(eq=False)
class MessageFlow:
    """Parallel arrays, one row per SEND (in send order).

    Attributes:
        send_seq: the SEND event.
        recv_seq: the outcome event (RECEIVE, DROP or TIMEOUT), ``-1`` if none.
        outcome: one of :data:`RECEIVED` ... :data:`LOST` (names in :data:`OUTCOMES`).
        latency_ns: outcome time minus send time, ``-1`` without an outcome event.
        sender, receiver: pids.
        msg_id: the message id (the SEND's ``ref``).
    """

    session: Session = field(repr=False)
    send_seq: np.ndarray
    recv_seq: np.ndarray
    outcome: np.ndarray
    latency_ns: np.ndarray
    sender: np.ndarray
    receiver: np.ndarray
    msg_id: np.ndarray
    _sizes: np.ndarray = field(init=False, repr=False)
    unreadable: list[SessionFormatError] = field(init=False, repr=False)
    """Frames of a damaged file whose message sizes could not be read (counted as 0 bytes)."""

    def __post_init__(self) -> None:
        self._sizes = np.full(len(self.send_seq), -1, dtype=np.int64)
        self.unreadable = []

    def __len__(self) -> int:
        return len(self.send_seq)

    def size_bytes(self, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Encoded sizes of the messages in ``rows`` (all by default), computed on first use."""
        idx = np.arange(len(self))[rows if rows is not None else slice(None)]
        todo = idx[self._sizes[idx] < 0]
        if len(todo):
            seqs = self.send_seq[todo]
            lo, hi = int(seqs.min()), int(seqs.max()) + 1
            if hi - lo <= 64 * len(todo):  # dense enough: read the offsets of the whole span
                self._sizes[todo] = self._payload_sizes(lo, hi)[seqs - lo]
            else:
                for i, s in zip(todo.tolist(), seqs.tolist(), strict=True):
                    self._sizes[i] = self._payload_sizes(s, s + 1)[0]
        return self._sizes[idx]

    def _payload_sizes(self, lo: int, hi: int) -> np.ndarray:
        """Payload sizes of events ``lo .. hi-1``; in a damaged file, frame by frame, the
        unreadable frames' sizes as 0 and the frames in :attr:`unreadable`."""
        reader = self.session.reader
        try:
            return _columns.payload_sizes(reader, lo, hi)
        except SessionFormatError:
            pass
        out = np.zeros(hi - lo, dtype=np.int64)
        seq = lo
        while seq < hi:
            _, stop = reader.frame_bounds(seq)
            end = min(stop, hi)
            try:
                out[seq - lo : end - lo] = _columns.payload_sizes(reader, seq, end)
            except SessionFormatError as exc:
                if all(e.offset != exc.offset for e in self.unreadable):
                    self.unreadable.append(exc)
            seq = end
        return out

    def row_of_send(self, seq: int) -> int:
        """The row of SEND event ``seq``, or -1."""
        i = int(np.searchsorted(self.send_seq, seq))
        return i if i < len(self) and self.send_seq[i] == seq else -1


def message_flow(session: Session, index: SessionIndex | None = None) -> MessageFlow:
    """Every SEND of the session with its outcome (from the session's index, or from
    ``index``: one over other columns of the same session, e.g. a damaged file's readable
    frames)."""
    ix = index if index is not None else session.index
    m = ix.messages()
    recv_seq = m.recv_seq
    ts = ix.reader.skeleton().ts
    latency = np.where(recv_seq >= 0, ts[np.maximum(recv_seq, 0)] - ts[m.send_seq], -1)
    return MessageFlow(
        session, m.send_seq, recv_seq, m.outcome, latency.astype(np.int64), m.sender,
        m.receiver, m.msg_id,
    )  # fmt: skip


def communication_graph(
    session: Session, t_from: int | None = None, t_to: int | None = None,
    flow: MessageFlow | None = None, *, seq_from: int | None = None, seq_to: int | None = None,
) -> nx.DiGraph:  # fmt: skip
    """Who sent messages to whom between ``t_from`` and ``t_to`` (ns, inclusive; default: all),
    counting the messages whose SEND is in that time range and between events ``seq_from`` and
    ``seq_to`` (inclusive).

    Nodes are pids (attribute ``name``); each edge ``sender -> receiver`` has ``count``,
    ``bytes`` (encoded sizes), and over the messages received: ``latency_mean``,
    ``latency_p50``, ``latency_p95`` and ``latency_max`` in ns (``None`` if none was received),
    plus ``dropped`` and ``lost`` counts.
    """
    flow = flow if flow is not None else message_flow(session)
    ts = session.skeleton.ts[flow.send_seq] if len(flow) else np.empty(0, np.int64)
    lo = 0 if t_from is None else int(np.searchsorted(ts, t_from, side="left"))
    hi = len(ts) if t_to is None else int(np.searchsorted(ts, t_to, side="right"))
    if seq_from is not None:
        lo = max(lo, int(np.searchsorted(flow.send_seq, seq_from, side="left")))
    if seq_to is not None:
        hi = min(hi, int(np.searchsorted(flow.send_seq, seq_to, side="right")))
    import networkx as nx

    g = nx.DiGraph()
    if hi <= lo:
        return g
    rows = np.arange(lo, hi)
    snd, rcv = flow.sender[rows], flow.receiver[rows]
    sizes = flow.size_bytes(slice(lo, hi))
    lat = flow.latency_ns[rows]
    out = flow.outcome[rows]
    received = out == RECEIVED
    # Group rows by edge; inside an edge, received latencies sorted for the percentiles.
    order = np.lexsort((np.where(received, lat, np.iinfo(np.int64).max), ~received, rcv, snd))
    s_snd, s_rcv = snd[order], rcv[order]
    starts = np.flatnonzero(np.r_[True, (s_snd[1:] != s_snd[:-1]) | (s_rcv[1:] != s_rcv[:-1])])
    ends = np.r_[starts[1:], len(order)]
    counts = ends - starts
    byte_sums = np.add.reduceat(sizes[order], starts)
    recv_counts = np.add.reduceat(received[order].astype(np.int64), starts)
    drop_counts = np.add.reduceat((out[order] == DROPPED).astype(np.int64), starts)
    lost_counts = np.add.reduceat((out[order] == LOST).astype(np.int64), starts)
    s_lat = lat[order]
    for pid in np.unique(np.r_[snd, rcv]).tolist():
        g.add_node(pid, name=session.process_name(pid))
    for e in range(len(starts)):
        a, k = int(starts[e]), int(recv_counts[e])
        attrs: dict[str, object] = {
            "count": int(counts[e]), "bytes": int(byte_sums[e]),
            "dropped": int(drop_counts[e]), "lost": int(lost_counts[e]),
        }  # fmt: skip
        if k:
            lats = s_lat[a : a + k]  # the received ones come first, sorted by latency
            attrs.update(
                latency_mean=float(lats.mean()),
                latency_p50=int(lats[(k - 1) // 2]),
                latency_p95=int(lats[min(k - 1, int(np.ceil(0.95 * k)) - 1)]),
                latency_max=int(lats[-1]),
            )
        else:
            attrs.update(latency_mean=None, latency_p50=None, latency_p95=None, latency_max=None)
        g.add_edge(int(s_snd[a]), int(s_rcv[a]), **attrs)
    return g


class ChainLink(NamedTuple):
    """One message of a chain: ``depth`` 0 is the starting message; ``cause`` is the SEND
    whose handling sent this one (-1 for the start)."""

    depth: int
    send_seq: int
    recv_seq: int
    sender: int
    receiver: int
    cause: int


def message_chain(
    session: Session, seq: int, *, max_messages: int = 200, max_depth: int = 32,
    flow: MessageFlow | None = None,
) -> list[ChainLink]:  # fmt: skip
    """The path a chain of messages took, starting at SEND (or RECEIVE) event ``seq``.

    From a message received by P, the chain follows every message P sent after taking it and
    before P's next RECEIVE (what P sent while handling it), breadth first, up to
    ``max_messages`` messages and ``max_depth`` hops.

    Raises:
        ModelError: ``seq`` is not a SEND or RECEIVE of a paired message.
    """
    session.check_seq(seq)
    flow = flow if flow is not None else message_flow(session)
    sk = session.skeleton
    kind = int(sk.kind[seq])
    if kind == _K.RECEIVE:
        row = session.index.messages().row_of_outcome(seq)
        if row < 0:
            raise ModelError(f"event #{seq} receives a message whose SEND is not in the session")
    elif kind == _K.SEND:
        row = flow.row_of_send(seq)
    else:
        raise ModelError(f"event #{seq} is a {EventKind(kind).name.lower()}, not a send or receive")
    out: list[ChainLink] = []
    queue = [(0, row, -1)]
    while queue and len(out) < max_messages:
        depth, r, cause = queue.pop(0)
        link = ChainLink(depth, int(flow.send_seq[r]), int(flow.recv_seq[r]),
                         int(flow.sender[r]), int(flow.receiver[r]), cause)  # fmt: skip
        out.append(link)
        if depth >= max_depth or link.recv_seq < 0 or flow.outcome[r] != RECEIVED:
            continue
        for s in _sent_while_handling(sk, link.receiver, link.recv_seq):
            nr = flow.row_of_send(s)
            if nr >= 0:
                queue.append((depth + 1, nr, link.send_seq))
    return out


def _sent_while_handling(sk: Skeleton, pid: int, recv_seq: int) -> list[int]:
    """SENDs by ``pid`` after ``recv_seq`` and before its next RECEIVE (scanned in chunks)."""
    kinds, pids = sk.kind, sk.pid
    out: list[int] = []
    start, n, chunk = recv_seq + 1, len(kinds), 4096
    while start < n:
        stop = min(start + chunk, n)
        mine = np.flatnonzero(pids[start:stop] == pid) + start
        for s in mine.tolist():
            k = kinds[s]
            if k == _K.RECEIVE or k == _K.EXIT or k == _K.CRASH:
                return out
            if k == _K.SEND:
                out.append(s)
        start, chunk = stop, chunk * 4
    return out
