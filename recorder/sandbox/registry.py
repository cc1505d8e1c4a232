"""The name registry: local names for processes (Erlang's ``register`` / ``whereis``).

A :class:`Registry` is read like a mapping ``name -> pid number``; it changes only through
:meth:`Registry.register` and :meth:`Registry.unregister`, which record REGISTER / UNREGISTER.
A process's name is removed when it exits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid
from recorder.sandbox.errors import BadArg

if TYPE_CHECKING:
    from recorder.sandbox.process import Process
    from recorder.sandbox.recording import Recording

__all__ = ["Registry"]

_REGISTER = int(EventKind.REGISTER)
_UNREGISTER = int(EventKind.UNREGISTER)


class Registry(Mapping[str, int]):
    """Registered names of one runtime, and pid / name resolution.

    Args:
        processes: the runtime's live processes by pid number (shared, never copied).
        recording: where REGISTER / UNREGISTER go.
    """

    def __init__(self, processes: dict[int, Process], recording: Recording) -> None:
        #: ``name -> pid number``; read it, never write it (use register / unregister).
        self.names: dict[str, int] = {}
        self._processes = processes
        self._rec = recording

    # Mapping: read-only access to the names.
    def __getitem__(self, name: str) -> int:
        return self.names[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    # ------------------------------------------------------------------ lookup

    def resolve(self, target: Pid | str) -> Process | None:
        """The live process at a pid or registered name, or ``None``.

        Raises:
            BadArg: ``target`` is neither a pid nor a name.
        """
        if type(target) is Pid:
            return self._processes.get(target.n)
        if isinstance(target, str):
            n = self.names.get(target)
            return None if n is None else self._processes.get(n)
        if isinstance(target, Pid):
            return self._processes.get(target.n)
        raise BadArg(f"expected a Pid or a registered name, got {target!r}")

    def resolve_or_badarg(self, target: Pid | str, what: str) -> Process | None:
        """:meth:`resolve`, but a name nobody registered is an error (Erlang's ``badarg``)."""
        if isinstance(target, str) and target not in self.names:
            raise BadArg(f"{what} {target!r} failed: badarg (no process is registered as it)")
        return self.resolve(target)

    def whereis(self, name: str) -> Pid | None:
        """The pid registered under ``name``, or ``None``."""
        n = self.names.get(name)
        return None if n is None else Pid(n)

    # ------------------------------------------------------------------ changes

    def register(self, name: str, pid: Pid) -> None:
        """Register ``pid`` under ``name`` (recorded as REGISTER).

        Raises:
            BadArg: the name is taken, the process already has a name, or it is not alive.
        """
        if not isinstance(name, str) or not name:
            raise BadArg(f"register: a name must be a non-empty str, not {name!r}")
        proc = self._processes.get(pid.n)
        if proc is None:
            raise BadArg(f"register {name!r} failed: badarg ({pid!r} is not alive)")
        if name in self.names:
            owner = Pid(self.names[name])
            raise BadArg(f"register {name!r} failed: badarg (already registered to {owner!r})")
        if proc._registered is not None:
            raise BadArg(
                f"register {name!r} failed: badarg ({pid!r} is already registered as "
                f"{proc._registered!r})"
            )
        self.names[name] = proc._n
        proc._registered = name
        rec = self._rec
        if rec.active:
            rec.record(_REGISTER, proc._n, NO_PEER, NO_REF, {"name": name})

    def unregister(self, name: str) -> None:
        """Remove a registered name (recorded as UNREGISTER).

        Raises:
            BadArg: no process is registered under ``name``.
        """
        n = self.names.pop(name, None)
        if n is None:
            raise BadArg(f"unregister {name!r} failed: badarg (no process is registered as it)")
        proc = self._processes.get(n)
        if proc is not None:
            proc._registered = None
        rec = self._rec
        if rec.active:
            rec.record(_UNREGISTER, n, NO_PEER, NO_REF, {"name": name})

    def owner_of(self, name: Any) -> Pid | None:
        """The pid holding ``name`` if it is a taken name (for ``already_started``), else None."""
        if isinstance(name, str):
            return self.whereis(name)
        return None
