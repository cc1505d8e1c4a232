"""The event model: one immutable record per thing that happened in an actor system.

This module maps one-to-one onto the session file schema (``docs/session-format.md``):
every event has a sequence number, a monotonic timestamp in ns, a kind, the acting process,
a peer process (or :data:`NO_PEER`), a reference (message id, monitor ref, breakpoint id, or
:data:`NO_REF`) and kind-specific data. The four fixed fields ``ts, kind, pid, peer`` are stored
as packed columns, ``ref`` in a column of its own, ``data`` as a msgpack payload.

Processes are interned: a :attr:`EventKind.SPAWN` event names a process once (see
:class:`SpawnInfo`); every later event refers to it by its small integer id.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

__all__ = [
    "KIND_NAMES",
    "NO_PEER",
    "NO_PID",
    "NO_REF",
    "Event",
    "EventKind",
    "SpawnInfo",
    "Trigger",
    "kind_from_name",
]

#: ``pid`` / ``peer`` value meaning "no process" (stored as uint32 0xFFFFFFFF).
NO_PEER = 0xFFFFFFFF
NO_PID = NO_PEER
#: ``ref`` value meaning "no reference".
NO_REF = 0


class EventKind(IntEnum):
    """Every kind of event a recording can hold. The values are the on-disk codes (uint8).

    The docstring of each member gives the meaning of ``pid``, ``peer``, ``ref`` and ``data``.
    Codes are append-only: a new kind takes a new number; a number is never reused.
    """

    SPAWN = 0
    """pid: the new process; peer: its parent; data: :class:`SpawnInfo` as a map."""
    EXIT = 1
    """pid exited normally (or was shut down); data: ``{"reason": value}``."""
    CRASH = 2
    """pid exited abnormally; data: ``{"reason": value, "error": str, "traceback": str}``."""
    SEND = 3
    """pid sent a message to peer; ref: message id; data: the message."""
    RECEIVE = 4
    """pid took message ref (sent by peer) out of its mailbox; data: ``None`` or
    ``{"waited_ns": int}``."""
    TIMEOUT = 5
    """a receive or call of pid timed out; peer: the callee for a call; ref: the call's
    message id, if any; data: ``{"op": "receive"|"call", "after_ms": number}``."""
    INTERCEPT = 6
    """an interception rule matched message ref from pid to peer; data:
    ``{"rule": id, "action": "transform"|"delay"|"drop", "message": new message}``."""
    DELAY = 7
    """message ref from pid to peer is held back; data: ``{"rule": id, "delay_ms": number}``."""
    DROP = 8
    """message ref from pid to peer was dropped (by a rule, or its receiver was dead);
    data: ``{"reason": "rule"|"noproc"|..., "rule": id}``."""
    STATE = 9
    """the state of pid changed; peer: who triggered it (caller, casting process), if known;
    ref: the triggering message id; data: ``{"trigger": Trigger, "state": value}``."""
    LINK = 10
    """pid linked to peer."""
    UNLINK = 11
    """pid unlinked from peer."""
    MONITOR = 12
    """pid monitors peer; ref: the monitor reference."""
    DEMONITOR = 13
    """pid removed monitor ref on peer."""
    RESTART = 14
    """supervisor pid restarted a child; peer: the new child process; data:
    ``{"child_id": str, "old_pid": int|None, "reason": value, "strategy": str,
    "restarts": int}``; with ``{"gave_up": True}`` when restart intensity was exceeded."""
    CHILD_SPEC = 15
    """supervisor pid changed a child spec; peer: the child process, if any; data:
    ``{"op": "add"|"remove"|"change", "child_id": str, "spec": map}``."""
    BREAKPOINT = 16
    """a breakpoint hit; pid: the process it hit in (or NO_PID); ref: breakpoint id;
    data: ``{"breakpoint": str, "at_seq": int}``."""
    PROFILE = 17
    """a profile sample of pid (or the whole system when pid is NO_PID); data: a map of
    figures (``cpu_ns``, ``handled``, ``mailbox_len``, ``memory``, ...)."""
    MARKER = 18
    """a user marker; data: ``{"label": str, ...}``."""
    LOST = 19
    """the recorder dropped events because its buffer was full; data: ``{"count": int}``."""
    REGISTER = 20
    """pid registered under a name; data: ``{"name": str}``."""
    UNREGISTER = 21
    """pid's registered name was removed; data: ``{"name": str}``."""
    SUSPEND = 22
    """pid was suspended (it runs no more handlers until resumed)."""
    RESUME = 23
    """pid was resumed."""
    EXIT_SIGNAL = 24
    """an exit signal from peer reached pid through a link; data:
    ``{"reason": value, "trapped": bool}`` (trapped: delivered as a message)."""
    PROCESS_FLAG = 25
    """pid changed one of its process flags (``erlang:process_flag/2``); data:
    ``{"flag": "trap_exit", "value": bool}``."""
    CALL = 26
    """pid called a traced function; ref: the call's id; data: ``{"function": "mod:qualname",
    "args": tuple, "kwargs": map}`` (kwargs only when given)."""
    RETURN = 27
    """a traced call of pid ended; ref: the call's id (its CALL's); data: ``{"function",
    "result": value}`` or ``{"function", "error": "Type: message"}``, and ``"duration_ns"``
    (runtime clock), ``"wall_ns"`` (wall time)."""


#: Lower-case names, as used on the command line and in breakpoint expressions.
KIND_NAMES: dict[int, str] = {k.value: k.name.lower() for k in EventKind}
_KIND_BY_NAME: dict[str, EventKind] = {k.name.lower(): k for k in EventKind}


def kind_from_name(name: str) -> EventKind:
    """Look a kind up by its name (case-insensitive, ``-`` and ``_`` alike).

    Raises:
        ValueError: with the list of valid names, when ``name`` is not a kind.
    """
    key = name.strip().lower().replace("-", "_")
    try:
        return _KIND_BY_NAME[key]
    except KeyError:
        valid = ", ".join(sorted(_KIND_BY_NAME))
        raise ValueError(f"unknown event kind {name!r} (valid kinds: {valid})") from None


class Trigger:
    """Why a state changed (``data["trigger"]`` of a :attr:`EventKind.STATE` event)."""

    INIT = "init"
    CALL = "call"
    CAST = "cast"
    INFO = "info"
    TIMEOUT = "timeout"
    CODE_CHANGE = "code_change"
    REPLACE = "replace"  # replaced from outside (debugger, restore of a snapshot)
    ALL = (INIT, CALL, CAST, INFO, TIMEOUT, CODE_CHANGE, REPLACE)


class SpawnInfo(NamedTuple):
    """What a spawn event says about the new process (the ``data`` map of SPAWN).

    ``parent`` and ``supervisor`` are pids, or ``None`` when there is none (readers also
    accept :data:`NO_PID` there). A process that starts with exits trapped also has
    ``"trap_exit": True`` in the map (absent means ``False``).
    """

    name: str
    behaviour: str = "process"  # "process" | "gen_server" | "supervisor" | a module name
    parent: int | None = None
    supervisor: int | None = None
    node: str = "local"

    def as_data(self) -> dict[str, Any]:
        return self._asdict()


class Event(NamedTuple):
    """One decoded event. Immutable; ``data`` holds decoded payload values."""

    seq: int
    ts: int
    kind: int
    pid: int
    peer: int = NO_PEER
    ref: int = NO_REF
    data: Any = None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"kind{self.kind}")
