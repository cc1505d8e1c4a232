"""What a client asked to receive: kinds, processes (and who they talk to), a condition, a
sampling rate. An unfiltered subscription gets the session's frames as they are; a filtered one
gets new frames holding only its events (see :mod:`.restream`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recorder.events import KIND_NAMES, NO_PEER, EventKind, kind_from_name
from recorder.live.conditions import ConditionError, Scope, compile_tree
from recorder.payload import PayloadError, decode_payload
from recorder.payload.semantics import message_type
from recorder.session.columns import DecodedFrame

__all__ = ["Row", "Subscription", "parse_subscription"]

_SEND, _RECEIVE, _STATE, _SPAWN = (
    int(EventKind.SEND), int(EventKind.RECEIVE), int(EventKind.STATE), int(EventKind.SPAWN)
)  # fmt: skip
_TALK = frozenset({_SEND, _RECEIVE})
_MSG_KINDS = frozenset(
    int(k)
    for k in (EventKind.SEND, EventKind.RECEIVE, EventKind.TIMEOUT, EventKind.INTERCEPT,
              EventKind.DELAY, EventKind.DROP, EventKind.STATE)
)  # fmt: skip
_REASON_KINDS = frozenset(
    int(k) for k in (EventKind.EXIT, EventKind.CRASH, EventKind.DROP, EventKind.RESTART,
                     EventKind.EXIT_SIGNAL)
)  # fmt: skip
HISTORY = ("all", "recent", "none")


@dataclass(slots=True)
class Subscription:
    """A client's filter. ``filtered`` is false when it takes every event."""

    history: str = "all"
    kinds: frozenset[int] | None = None
    pids: dict[int, int] | None = None  # pid -> hops from a named process (grows)
    hops: int = 0
    where: Any = None  # compiled test, or None
    where_text: str = ""
    sample: float = 1.0
    _acc: float = 0.0
    _names: dict[int, str] = field(default_factory=dict)
    _messages: OrderedDict[int, Any] = field(default_factory=OrderedDict)
    _states: dict[int, Any] = field(default_factory=dict)
    _spawns: dict[int, Row] = field(default_factory=dict)
    _named: set[int] = field(default_factory=set)

    @property
    def filtered(self) -> bool:
        return not (
            self.kinds is None and self.pids is None and self.where is None and self.sample >= 1.0
        )

    def describe(self) -> dict[str, Any]:
        return {
            "history": self.history,
            "kinds": None if self.kinds is None else sorted(KIND_NAMES[k] for k in self.kinds),
            "pids": None if self.pids is None else sorted(self.pids),
            "hops": self.hops,
            "where": self.where_text or None,
            "sample": self.sample,
            "filtered": self.filtered,
        }

    def select(self, fr: DecodedFrame) -> list[Row]:
        """The rows of ``fr`` this subscription takes, in order, each preceded (once) by the
        SPAWN that names its process and peer: a filtered stream is a session of its own, and
        a session names every process it mentions."""
        n = len(fr.kind)
        rows = np.arange(n)
        if self.kinds is not None and self.pids is None and self.where is None:
            rows = rows[np.isin(fr.kind, [*self.kinds, _SPAWN])]
        keep: list[Row] = []
        kinds, pids, peers, refs = fr.kind, fr.pid, fr.peer, fr.ref
        for j in rows.tolist():
            kind, pid, peer = int(kinds[j]), int(pids[j]), int(peers[j])
            data: Any = _UNSET
            if kind == _SPAWN:
                self._spawns[pid] = _row(fr, j)
            if kind == _SPAWN or (self.where is not None and kind in (_SEND, _STATE)):
                data = _decode(fr, j)
                self._note(kind, pid, int(refs[j]), data)
            if self.pids is not None and not self._follows(kind, pid, peer):
                continue
            if self.kinds is not None and kind not in self.kinds:
                continue
            if self.where is not None:
                scope = _FrameScope(self, fr, j, data)
                if not self.where(scope):
                    continue
            if self.sample < 1.0:
                self._acc += self.sample
                if self._acc < 1.0:
                    continue
                self._acc -= 1.0
            for who in (pid, peer):
                if who not in self._named and who in self._spawns:
                    self._named.add(who)
                    if not (kind == _SPAWN and who == pid):
                        keep.append(self._spawns[who])
            if kind == _SPAWN:
                self._named.add(pid)
            keep.append(_row(fr, j))
        return keep

    def _note(self, kind: int, pid: int, ref: int, data: Any) -> None:
        if kind == _SPAWN and isinstance(data, dict):
            self._names[pid] = str(data.get("name", ""))
        elif kind == _SEND:
            self._messages[ref] = data
            if len(self._messages) > 1 << 16:
                self._messages.popitem(last=False)
        elif kind == _STATE and isinstance(data, dict):
            self._states[pid] = data.get("state")

    def _follows(self, kind: int, pid: int, peer: int) -> bool:
        tracked = self.pids
        assert tracked is not None
        hop_pid, hop_peer = tracked.get(pid), tracked.get(peer)
        if kind in _TALK and peer != NO_PEER:
            # whoever a followed process talks to is followed too, one hop further
            if hop_pid is not None and hop_peer is None and hop_pid < self.hops:
                tracked[peer] = hop_pid + 1
            elif hop_peer is not None and hop_pid is None and hop_peer < self.hops:
                tracked[pid] = hop_peer + 1
        return hop_pid is not None or hop_peer is not None


_UNSET: Any = object()

#: One event row for a rebuilt frame: (source seq, ts, kind, pid, peer, ref, payload bytes).
Row = tuple[int, int, int, int, int, int, bytes]


def _row(fr: DecodedFrame, j: int) -> Row:
    return (
        fr.first_seq + j, int(fr.ts[j]), int(fr.kind[j]), int(fr.pid[j]), int(fr.peer[j]),
        int(fr.ref[j]), fr.payloads[int(fr.offsets[j]) : int(fr.offsets[j + 1])],
    )  # fmt: skip


def _decode(fr: DecodedFrame, j: int) -> Any:
    try:
        return decode_payload(fr.payloads[int(fr.offsets[j]) : int(fr.offsets[j + 1])])
    except PayloadError:
        return None


class _FrameScope(Scope):
    """The names of row ``j`` of a decoded frame (a server-side subscription filter)."""

    def __init__(self, sub: Subscription, fr: DecodedFrame, j: int, data: Any) -> None:
        self.sub, self.fr, self.j = sub, fr, j
        self.kind = int(fr.kind[j])
        self._data = data

    def data(self) -> Any:
        if self._data is _UNSET:
            self._data = _decode(self.fr, self.j)
        return self._data

    def get(self, name: str) -> Any:
        fr, j, kind = self.fr, self.j, self.kind
        if name == "kind":
            return KIND_NAMES.get(kind, f"kind{kind}")
        if name in ("pid", "peer"):
            v = int((fr.pid if name == "pid" else fr.peer)[j])
            return None if v == NO_PEER else v
        if name in ("process", "peer_process"):
            return self.sub._names.get(int((fr.pid if name == "process" else fr.peer)[j]))
        if name == "ref":
            return int(fr.ref[j])
        if name == "seq":
            return fr.first_seq + j
        if name == "data":
            return self.data()
        if name in ("msg", "msg_type"):
            if kind == _SEND:
                msg = self.data()
            elif kind in _MSG_KINDS:
                msg = self.sub._messages.get(int(fr.ref[j]))
            else:
                return None
            return msg if name == "msg" else (None if msg is None else message_type(msg))
        data = self.data()
        d = data if isinstance(data, dict) else {}
        if name in ("state", "trigger"):
            return d.get(name) if kind == _STATE else None
        if name == "reason":
            return d.get("reason") if kind in _REASON_KINDS else None
        return None  # behaviour, t, prev_state: not known to a stream filter


def parse_subscription(msg: dict[str, Any]) -> Subscription:
    """A :class:`Subscription` from a client's ``subscribe`` request.

    Raises:
        ValueError: a field is malformed (the reason names it).
    """
    sub = Subscription()
    history = msg.get("history", "all")
    if history not in HISTORY:
        raise ValueError(f"history must be one of {', '.join(HISTORY)}, not {history!r}")
    sub.history = history
    kinds = msg.get("kinds")
    if kinds is not None:
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise ValueError("kinds must be a list of kind names")
        sub.kinds = frozenset(int(kind_from_name(k)) for k in kinds)
    pids = msg.get("pids")
    if pids is not None:
        if not isinstance(pids, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) for p in pids
        ):
            raise ValueError("pids must be a list of process numbers")
        sub.pids = {int(p): 0 for p in pids}
    hops = msg.get("hops", 0)
    if not isinstance(hops, int) or not 0 <= hops <= 100:
        raise ValueError("hops must be an integer from 0 to 100")
    sub.hops = hops
    where = msg.get("where")
    if where is not None:
        if not isinstance(where, dict) or "tree" not in where:
            raise ValueError("where must be {'text': ..., 'tree': ...} (a parsed condition)")
        try:
            sub.where = compile_tree(where["tree"])
        except ConditionError as exc:
            raise ValueError(f"where: {exc}") from None
        sub.where_text = str(where.get("text", ""))
    sample = msg.get("sample", 1.0)
    if not isinstance(sample, (int, float)) or not 0.0 < float(sample) <= 1.0:
        raise ValueError("sample must be a number in (0, 1]")
    sub.sample = float(sample)
    return sub
