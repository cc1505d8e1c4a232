"""The names of one event as it happens in the sandbox, for in-sandbox conditions.

:class:`EventContext` keeps what the names need beyond the event itself, updated only while a
condition is installed: process names and behaviours, the message of each in-flight message id
(``msg`` of a RECEIVE, DROP, STATE, ...), and each process's last state (``prev_state``,
``changed()``). :class:`LiveScope` binds the names lazily: payload names normalise the value
through the recording's encoder, so a condition sees exactly what the file will hold.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder.events import KIND_NAMES, NO_PEER, EventKind
from recorder.live.conditions import Fn, Scope
from recorder.payload import Packed, freeze
from recorder.payload.semantics import equal, message_type

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime

__all__ = ["EventContext", "LiveScope", "normalise"]

_K = EventKind
_MSG_KINDS = frozenset(
    int(k) for k in (_K.SEND, _K.RECEIVE, _K.TIMEOUT, _K.INTERCEPT, _K.DELAY, _K.DROP, _K.STATE)
)
_REASON_KINDS = frozenset(int(k) for k in (_K.EXIT, _K.CRASH, _K.DROP, _K.RESTART, _K.EXIT_SIGNAL))
_SPAWN, _SEND, _STATE = int(_K.SPAWN), int(_K.SEND), int(_K.STATE)
_INTERCEPT = int(_K.INTERCEPT)
_MAX_MESSAGES = 1 << 16
_UNDEFINED: Any = object()


def normalise(value: Any) -> Any:
    """``value`` as a reader will decode it from the file (payload types, limits applied)."""
    if isinstance(value, Packed):
        return value.decode()
    return freeze(value).decode()


class EventContext:
    """What in-sandbox conditions know beyond one event (see the module docstring).

    Args:
        runtime: the observed runtime.
        seq: returns the sequence number of the event just recorded.
        t0: the runtime clock (ns) that ``t`` counts from (the first event's time).
    """

    def __init__(self, runtime: Runtime, seq: Callable[[], int], t0: int) -> None:
        self.runtime = runtime
        self.seq = seq
        self.t0 = t0
        self.names: dict[int, tuple[str, str]] = {}
        self.messages: OrderedDict[int, Any] = OrderedDict()
        self.states: dict[int, Any] = {}
        self.track_messages = False
        self.track_states = False

    def start(self, *, messages: bool, states: bool) -> None:
        """Begin tracking (seeded from the runtime as it is now: queued messages, states)."""
        self.track_messages, self.track_states = messages, states
        for proc in list(self.runtime.processes.values()):
            self.names[proc.pid.n] = (proc.name, proc.behaviour)
            if messages:
                for msg_id, _sender, message, *_recorded in list(proc._mailbox):
                    self._remember(msg_id, message)
            if states and proc._has_state and proc._recorded_state is not None:
                self.states[proc.pid.n] = proc._recorded_state

    def _remember(self, msg_id: int, message: Any) -> None:
        messages = self.messages
        messages[msg_id] = message
        if len(messages) > _MAX_MESSAGES:
            messages.popitem(last=False)

    def observe(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        """Update the context after an event was evaluated."""
        if kind == _SPAWN and isinstance(data, dict):
            self.names[pid] = (str(data.get("name", "")), str(data.get("behaviour", "process")))
        elif kind == _SEND and self.track_messages:
            self._remember(ref, data)
        elif kind == _INTERCEPT and self.track_messages and isinstance(data, dict):
            # a held or dropped message's SEND comes later (or never): the rule says what it is
            self._remember(ref, data.get("message"))
        elif kind == _STATE and self.track_states and isinstance(data, dict):
            self.states[pid] = data.get("state")

    def name(self, pid: int) -> tuple[str, str] | None:
        got = self.names.get(pid)
        if got is None:
            proc = self.runtime.processes.get(pid)
            if proc is not None:
                got = self.names[pid] = (proc.name, proc.behaviour)
        return got


class LiveScope(Scope):
    """The names of one event being recorded (payload names decode on first use)."""

    __slots__ = ("_cache", "ctx", "data", "kind", "peer", "pid", "ref")

    def __init__(self, ctx: EventContext, kind: int, pid: int, peer: int, ref: int, data: Any):
        self.ctx = ctx
        self.kind, self.pid, self.peer, self.ref, self.data = kind, pid, peer, ref, data
        self._cache: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            value = self._cache[name] = getattr(self, "_n_" + name)()
            return value

    def changed(self, fn: Fn) -> bool:
        if self.kind != _STATE or self.pid not in self.ctx.states:
            return False
        before_scope = LiveScope(self.ctx, _STATE, self.pid, NO_PEER, 0, None)
        before_scope._cache["state"] = normalise(self.ctx.states[self.pid])
        before_scope._cache["data"] = None
        before, now = _value(fn, before_scope), _value(fn, self)
        if before is _UNDEFINED or now is _UNDEFINED:
            return before is not now
        return not equal(before, now)

    # the names (cinema.model.event_scope.EventScope gives the same values from a file)

    def _n_kind(self) -> str:
        return KIND_NAMES.get(self.kind, f"kind{self.kind}")

    def _n_pid(self) -> int | None:
        return None if self.pid == NO_PEER else self.pid

    def _n_peer(self) -> int | None:
        return None if self.peer == NO_PEER else self.peer

    def _n_process(self) -> str | None:
        got = self.ctx.name(self.pid)
        return got[0] if got else None

    def _n_peer_process(self) -> str | None:
        got = self.ctx.name(self.peer)
        return got[0] if got else None

    def _n_behaviour(self) -> str | None:
        got = self.ctx.name(self.pid)
        return got[1] if got else None

    def _n_ref(self) -> int:
        return self.ref

    def _n_seq(self) -> int:
        return self.ctx.seq()

    def _n_t(self) -> float:
        return (self.ctx.runtime.clock() - self.ctx.t0) / 1e9

    def _n_data(self) -> Any:
        return normalise(self.data)

    def _n_msg(self) -> Any:
        if self.kind == _SEND:
            return self.get("data")
        if self.kind not in _MSG_KINDS:
            return None
        if self.kind == _INTERCEPT and isinstance(self.data, dict) and "message" in self.data:
            return normalise(self.data["message"])
        found = self.ctx.messages.get(self.ref, _UNDEFINED)
        return None if found is _UNDEFINED else normalise(found)

    def _n_msg_type(self) -> str | None:
        if self.kind not in _MSG_KINDS:
            return None
        msg = self.get("msg")
        return None if msg is None else message_type(msg)

    def _data_key(self, key: str) -> Any:
        data = self.get("data")
        return data.get(key) if isinstance(data, dict) else None

    def _n_state(self) -> Any:
        return self._data_key("state") if self.kind == _STATE else None

    def _n_trigger(self) -> Any:
        return self._data_key("trigger") if self.kind == _STATE else None

    def _n_prev_state(self) -> Any:
        if self.kind != _STATE or self.pid not in self.ctx.states:
            return None
        return normalise(self.ctx.states[self.pid])

    def _n_reason(self) -> Any:
        return self._data_key("reason") if self.kind in _REASON_KINDS else None


def _value(fn: Fn, scope: Scope) -> Any:
    try:
        return fn(scope)
    except Exception:
        return _UNDEFINED
