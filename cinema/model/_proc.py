"""One process while a world is being built: its mutable working form and keyframe parsing.

A :class:`Proc` holds the fields of ``docs/world-schema.md`` for one process. Replay owns the
``Proc`` objects of the world it is building (copy-on-write: a world derived from another copies
a process only when an event changes it); keyframe entries become ``Proc`` objects only when
something reads or changes them (:meth:`Proc.from_entry`).

Payload values are kept undecoded until a view shows them: :class:`KfLazy` (a keyframe value),
:class:`KfMessage` (a message a keyframe lists, shown as its SEND recorded it) and
:class:`~cinema.model._overlay.Lazy` (an event's data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from cinema.model._facts import STATUSES, _as_int, _opt_pid
from cinema.model._overlay import Lazy
from recorder.session.keyframes import ProcessRow

__all__ = ["ALIVE", "ENDED", "KfLazy", "KfMessage", "Proc"]

#: The stored status of a process that is alive and not suspended (a view shows it as
#: ``running`` while its mailbox holds messages, see ``docs/world-schema.md``).
ALIVE = "waiting"
#: Statuses of processes that ended.
ENDED = ("dead", "crashed")
_STORED = frozenset(("waiting", "suspended", "dead", "crashed"))


class KfLazy(NamedTuple):
    """A keyframe value not decoded yet: ``row[key]``, or the message of mailbox row ``item``."""

    row: Mapping[str, Any]
    key: str
    item: int = -1

    def value(self) -> Any:
        v = self.row.get(self.key)
        if self.item < 0:
            return v
        if isinstance(v, (list, tuple)) and self.item < len(v):
            row = v[self.item]
            return row[2] if isinstance(row, (list, tuple)) and len(row) >= 3 else None
        return None


class KfMessage(NamedTuple):
    """Message ``msg_id`` that a keyframe at ``before`` lists in a mailbox: shown as the data of
    the SEND with that id before the keyframe (what replay from event 0 shows), the keyframe's
    own copy (``fallback``) when the recording holds no such SEND."""

    msg_id: int
    before: int
    fallback: KfLazy


class Proc:
    """The mutable working form of one process, owned by exactly one world while replaying.

    ``status`` is the stored status: ``"waiting"`` (:data:`ALIVE`: alive, not suspended),
    ``"suspended"``, ``"dead"`` or ``"crashed"``. ``cpu_ns`` and ``memory`` are the figures
    of ``sample``, the latest PROFILE (a :class:`~cinema.model._overlay.Lazy` of its data,
    decoded when a view shows them), when there is one; else the keyframe's.
    """

    __slots__ = (
        "_cow", "anchor", "behaviour", "cpu_ns", "extra", "handled", "links", "mailbox", "memory",
        "monitors",
        "name", "parent", "pid", "reason", "registered", "restarts", "sample", "state", "status",
        "supervisor", "trap_exit",
    )  # fmt: skip

    def __init__(self, pid: int, name: str = "", behaviour: str = "process") -> None:
        self.pid = pid
        self.name = name
        self.behaviour = behaviour
        self.status = ALIVE
        self.parent: int | None = None
        self.supervisor: int | None = None
        self.registered: str | None = None
        self.trap_exit = False
        self.state: Any = None
        # msg_id -> (sender, message | lazy), or the ``(seq << 32) | sender`` of the SEND that
        # queued it (see :func:`mailbox_entry`): an int is no object the collector keeps
        self.mailbox: dict[int, tuple[int, Any] | int] = {}
        self.extra = 0  # queued messages a keyframe counted but did not list
        # the id of the oldest message such a keyframe listed (-1: none): the unlisted ones
        # are the SENDs to this process after that one's that nothing consumed
        self.anchor = -1
        self.links: set[int] | tuple[int, ...] = set()  # a tuple: shared, see own_links
        self.monitors: dict[int, int] = {}  # ref -> target
        self.restarts = 0
        self.handled = 0
        self.cpu_ns = 0
        self.memory = 0
        self.sample: Any = None
        self.reason: Any = None
        self._cow = 0

    @property
    def alive(self) -> bool:
        return self.status not in ENDED

    def copy(self) -> Proc:
        # Spelled out: a loop over __slots__ with getattr / setattr costs 3x more, and replay
        # copies a process each time a world derived from another first changes it.
        p = Proc.__new__(Proc)
        p.pid, p.name, p.behaviour, p.status = self.pid, self.name, self.behaviour, self.status
        p.parent, p.supervisor, p.registered = self.parent, self.supervisor, self.registered
        p.trap_exit, p.state, p.extra, p.anchor = (
            self.trap_exit,
            self.state,
            self.extra,
            self.anchor,
        )
        p.restarts, p.handled, p.cpu_ns, p.memory = (
            self.restarts, self.handled, self.cpu_ns, self.memory
        )  # fmt: skip
        p.reason, p.sample = self.reason, self.sample
        # The containers are shared with ``self`` (a finished world's, never changed again)
        # until this copy first changes one (:meth:`own_mailbox` ...): most copies only change
        # a count or a status, and three containers made per copy were most of the objects a
        # replay left for the garbage collector's full passes.
        p.mailbox, p.links, p.monitors = self.mailbox, self.links, self.monitors
        p._cow = _ALL
        return p

    # Every change to a container goes through these: they copy it first if it is shared.
    def own_mailbox(self) -> dict[int, tuple[int, Any] | int]:
        if self._cow & _MAILBOX:
            self.mailbox = dict(self.mailbox)
            self._cow &= ~_MAILBOX
        return self.mailbox

    def own_links(self) -> set[int]:
        if self._cow & _LINKS:
            self.links = set(self.links)
            self._cow &= ~_LINKS
        assert type(self.links) is set
        return self.links

    def own_monitors(self) -> dict[int, int]:
        if self._cow & _MONITORS:
            self.monitors = dict(self.monitors)
            self._cow &= ~_MONITORS
        return self.monitors

    @staticmethod
    def from_entry(e: Mapping[str, Any], kf_seq: int = -1) -> Proc:
        """Build from a keyframe ``ProcessEntry`` (alive or dead) at ``kf_seq``, or from an old
        keyframe's ``[pid, status]`` dead pair turned into a map.

        Values of the wrong type (a corrupt or foreign keyframe) fall back to defaults.
        """
        lazy_row = type(e) is ProcessRow
        # a table row's plain fields straight off its columns (lazy ones read as None)
        values = e.pick(_FIELDS) if isinstance(e, ProcessRow) else [e.get(k) for k in _FIELDS]
        (
            pid, name, behaviour, status, parent, supervisor, reg, trap_exit, ids, rows,
            mlen, links, mons, restarts, handled, cpu_ns, memory,
        ) = values  # fmt: skip
        p = Proc.__new__(Proc)
        p.pid = pid if type(pid) is int else _as_int(pid)
        p.name = name if type(name) is str else ""
        p.behaviour = behaviour if type(behaviour) is str else "process"
        # running / waiting in a keyframe is not trusted: the view derives it (the mailbox rule)
        p.status = status if status in _STORED else ALIVE
        p.parent = _opt_pid(parent)
        p.supervisor = _opt_pid(supervisor)
        p.registered = reg if type(reg) is str else None
        p.trap_exit = trap_exit is True
        # a reference only to a value there is (no object per empty cell: a replay makes
        # hundreds of these a seek, and each one is garbage the collector walks)
        if lazy_row:
            assert isinstance(e, ProcessRow)
            p.state = KfLazy(e, "state") if e.holds("state") else None
            p.reason = KfLazy(e, "reason") if e.holds("reason") else None
        else:
            p.state, p.reason = e.get("state"), e.get("reason")
        p.mailbox = {}
        listed = ids if lazy_row and isinstance(ids, (list, tuple)) else rows
        if listed and isinstance(listed, (list, tuple)):
            for i, row in enumerate(listed):
                if isinstance(row, (list, tuple)) and len(row) >= 2:
                    mid = _as_int(row[0])
                    message = KfMessage(mid, kf_seq, KfLazy(e, "mailbox", i))
                    p.mailbox[mid] = (_as_int(row[1]), message)
        p.extra = max(0, mlen - len(p.mailbox)) if type(mlen) is int else 0
        p.anchor = next(iter(p.mailbox)) if p.extra and p.mailbox else -1
        # the row's own tuple (checked when read, see worldcheck), a set once changed: a set
        # per process would be one more object a seek leaves for the full collections
        if (
            lazy_row and type(links) is tuple and all(type(x) is int for x in links)
            and len(set(links)) == len(links)
        ):  # fmt: skip
            p.links = links
        else:
            p.links = {_as_int(x) for x in links} if links else set()
        p.monitors = {}
        if mons:
            for row in mons:
                if isinstance(row, (list, tuple)) and len(row) >= 2:
                    p.monitors[_as_int(row[0])] = _as_int(row[1])
        p.restarts = restarts if type(restarts) is int else 0
        p.handled = handled if type(handled) is int else 0
        p.cpu_ns = cpu_ns if type(cpu_ns) is int else 0
        p.memory = memory if type(memory) is int else 0
        p.sample = None
        if p.status in ENDED:  # an ended process holds nothing, whatever a keyframe says
            p.mailbox, p.extra, p.anchor, p.links, p.monitors = {}, 0, -1, set(), {}
        # empty containers: the shared empties, copied when first changed (most keyframe
        # processes a replay reads have no links or monitors, many an empty mailbox)
        cow = 0
        if not p.mailbox:
            p.mailbox, cow = _EMPTY_MAILBOX, _MAILBOX
        if not p.links:
            p.links, cow = _EMPTY_LINKS, cow | _LINKS
        elif type(p.links) is tuple:
            cow |= _LINKS
        if not p.monitors:
            p.monitors, cow = _EMPTY_MONITORS, cow | _MONITORS
        p._cow = cow
        return p


def sent(seq: int, sender: int) -> int:
    """The mailbox entry of a message queued by the SEND ``seq`` of ``sender`` (a pid: 32
    bits): one int rather than a tuple and a reference, for the hundreds of messages in flight
    a replay queues per seek, which would otherwise outlive the young collections."""
    return (seq << 32) | sender


def mailbox_entry(v: tuple[int, Any] | int) -> tuple[int, Any]:
    """``(sender, message or lazy)`` of a :attr:`Proc.mailbox` value."""
    if type(v) is int:
        return v & 0xFFFFFFFF, Lazy(v >> 32)
    assert isinstance(v, tuple)
    return v


#: ``Proc._cow`` bits: the container is shared with the Proc this one was copied from.
_MAILBOX, _LINKS, _MONITORS = 1, 2, 4
_ALL = _MAILBOX | _LINKS | _MONITORS
#: The empty containers of the Procs :meth:`Proc.from_entry` makes (never changed: every
#: change goes through ``own_*``, which copies a shared container first).
_EMPTY_MAILBOX: dict[int, tuple[int, Any] | int] = {}
_EMPTY_LINKS: set[int] = set()
_EMPTY_MONITORS: dict[int, int] = {}

#: The fields :meth:`Proc.from_entry` reads, in the order it unpacks them.
_FIELDS = (
    "pid", "name", "behaviour", "status", "parent", "supervisor", "registered", "trap_exit",
    "mailbox_ids", "mailbox", "mailbox_len", "links", "monitors", "restarts", "handled",
    "cpu_ns", "memory",
)  # fmt: skip

assert set(STATUSES) >= _STORED
