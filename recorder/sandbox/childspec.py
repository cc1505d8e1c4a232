"""Child specs: what a supervisor starts, and how it restarts and stops it."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, fields
from typing import Any, Literal

from recorder.sandbox.errors import ChildSpecError
from recorder.sandbox.genserver import GenServer

__all__ = ["ChildSpec", "Restart", "Strategy", "child_spec"]

Restart = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"]
_RESTARTS = ("permanent", "transient", "temporary")
_TYPES = ("worker", "supervisor")
#: OTP's default shutdown: a worker gets 5 s to stop, a supervisor as long as its tree needs.
_DEFAULT_SHUTDOWN: dict[str, float | str] = {"worker": 5000, "supervisor": "infinity"}


def _is_server(start: Any) -> bool:
    return isinstance(start, GenServer) or (
        isinstance(start, type) and issubclass(start, GenServer)
    )


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """A child of a supervisor.

    Args:
        id: unique among the supervisor's children.
        start: a GenServer subclass (a fresh instance on every start) or instance, or an
            ``async def body(process, *args)`` function.
        args: passed to ``init(*args)`` or to the body after the process.
        restart: ``"permanent"``, ``"transient"`` or ``"temporary"``.
        shutdown: ms to wait after the ``"shutdown"`` exit signal before killing, or
            ``"brutal_kill"``, or ``"infinity"``. Default, as in OTP: 5000 for a worker,
            ``"infinity"`` for a supervisor.
        type: ``"worker"`` or ``"supervisor"`` (default: ``"supervisor"`` when ``start`` is a
            :class:`~recorder.sandbox.Supervisor`).
        name: register the child under this name.
    """

    id: str
    start: Any
    args: tuple[Any, ...] = ()
    restart: Restart = "permanent"
    shutdown: float | str | None = None
    type: str = ""
    name: str | None = None

    def __post_init__(self) -> None:
        cid = self.id
        if not isinstance(cid, str) or not cid:
            raise ChildSpecError("id", f"must be a non-empty str, not {cid!r}", value=cid)
        start = self.start
        if not _is_server(start) and not inspect.iscoroutinefunction(start):
            raise ChildSpecError(
                "start",
                f"must be a GenServer subclass or an async function, not {start!r}",
                cid,
                start,
            )
        if not isinstance(self.args, tuple):
            raise ChildSpecError("args", f"must be a tuple, not {self.args!r}", cid, self.args)
        if self.restart not in _RESTARTS:
            raise ChildSpecError(
                "restart",
                f"must be one of {', '.join(_RESTARTS)}, not {self.restart!r}",
                cid,
                self.restart,
            )
        # The behaviour label says "supervisor" without this module importing the supervisor.
        is_sup = getattr(start, "behaviour", None) == "supervisor" and _is_server(start)
        kind = self.type or ("supervisor" if is_sup else "worker")
        if kind not in _TYPES:
            raise ChildSpecError(
                "type", f"must be 'worker' or 'supervisor', not {kind!r}", cid, self.type
            )
        object.__setattr__(self, "type", kind)
        shutdown: Any = self.shutdown
        if shutdown is None:
            shutdown = _DEFAULT_SHUTDOWN[kind]
            object.__setattr__(self, "shutdown", shutdown)
        if not (
            shutdown in ("brutal_kill", "infinity")
            or (
                isinstance(shutdown, (int, float))
                and not isinstance(shutdown, bool)
                and shutdown >= 0
            )
        ):
            raise ChildSpecError(
                "shutdown",
                f"must be ms >= 0, 'brutal_kill' or 'infinity', not {shutdown!r}",
                cid,
                shutdown,
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ChildSpecError(
                "name", f"must be a non-empty str or None, not {self.name!r}", cid, self.name
            )

    @property
    def is_gen_server(self) -> bool:
        return _is_server(self.start)

    @property
    def behaviour(self) -> str:
        return "process"

    def describe(self) -> dict[str, Any]:
        """The spec as a plain map (the ``spec`` of CHILD_SPEC events)."""
        start = self.start
        label = getattr(start, "__qualname__", None) or type(start).__qualname__
        return {
            "id": self.id,
            "start": label,
            "args": self.args,
            "restart": self.restart,
            "shutdown": self.shutdown,
            "type": self.type,
            "name": self.name,
        }


_FIELDS = tuple(f.name for f in fields(ChildSpec))


def child_spec(value: Any) -> ChildSpec:
    """A :class:`ChildSpec` from a ChildSpec or a dict with its fields.

    Raises:
        ChildSpecError: an unknown or missing field, or a bad value (the field is named).
    """
    if isinstance(value, ChildSpec):
        return value
    if not isinstance(value, dict):
        raise ChildSpecError("spec", f"must be a ChildSpec or a dict, not {value!r}", value=value)
    cid = value.get("id")
    for key in value:
        if key not in _FIELDS:
            raise ChildSpecError(
                str(key),
                f"is not a child spec field (fields: {', '.join(_FIELDS)})",
                cid,
                value[key],
            )
    for required in ("id", "start"):
        if required not in value:
            raise ChildSpecError(required, "is required", cid)
    args = value.get("args", ())
    if isinstance(args, list):
        value = {**value, "args": tuple(args)}
    return ChildSpec(**value)
