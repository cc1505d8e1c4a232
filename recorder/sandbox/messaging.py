"""The post office: sending and delivering messages, GenServer calls, casts, replies, timers.

A message is recorded as SEND when it enters a mailbox (or as SEND + DROP when its receiver is
dead), and as RECEIVE when the receiver takes it out. A call's reply travels to an *alias* of
the caller (OTP 24): once the caller stops waiting (a timeout), the alias is inactive and a
reply that comes later is dropped (SEND + DROP with reason ``"late_reply"``), never delivered.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_PID, NO_REF, EventKind
from recorder.payload import Pid, Ref, freeze
from recorder.sandbox.errors import BadArg, CallError, ReceiveTimeout
from recorder.sandbox.process import NOTHING, Envelope, From, Process
from recorder.sandbox.recording import IMMUTABLE
from recorder.sandbox.timers import TimerEntry

if TYPE_CHECKING:
    from recorder.sandbox.recording import Recording
    from recorder.sandbox.registry import Registry
    from recorder.sandbox.scheduler import Scheduler

__all__ = ["PostOffice"]

_SEND = int(EventKind.SEND)
_RECEIVE = int(EventKind.RECEIVE)
_DROP = int(EventKind.DROP)
_TIMEOUT = int(EventKind.TIMEOUT)
_NOPROC_DROP = {"reason": "noproc"}  # shared, never mutated
_LATE_REPLY_DROP = {"reason": "late_reply"}


class PostOffice:
    """Mail of one runtime: message ids, delivery, calls, casts, replies, ``send_after``.

    Args:
        processes: the live processes by pid number (shared).
        registry: resolves names.
        recording: where SEND, RECEIVE, DROP, TIMEOUT go.
        scheduler: wakes receivers; the clock and timers.
    """

    def __init__(
        self,
        *,
        processes: dict[int, Process],
        registry: Registry,
        recording: Recording,
        scheduler: Scheduler,
    ) -> None:
        self._processes = processes
        self._registry = registry
        self._rec = recording
        self._scheduler = scheduler
        self._runq_append = scheduler.runq_append
        #: The next message id / reference number (one counter for both).
        self.next_id: Callable[[], int] = itertools.count(1).__next__
        self._intercept: Callable[[int, int, int, Any], None] | None = None
        # Active call aliases: call ref -> (caller pid, server pid). A reply finds its alias
        # here; a reply whose alias is gone (the caller timed out) is dropped.
        self._aliases: dict[int, tuple[int, int]] = {}
        self._send_after_timers: dict[int, TimerEntry] = {}
        #: Timers aimed at a pid: pid number -> their ref numbers (cancelled when it ends).
        self._timers_to: dict[int, set[int]] = {}
        #: Init acknowledgements to starters outside any process: ref number -> result.
        self.outside_acks: dict[int, Any] = {}

    def make_ref(self) -> Ref:
        """A new unique reference (shares its counter with message ids)."""
        return Ref(self.next_id())

    def intercept_with(self, intercept: Callable[[int, int, int, Any], None] | None) -> None:
        """Route sends through ``intercept(sender, receiver, msg id, message)`` (while an
        interception rule exists), or, with ``None``, straight to mailboxes."""
        self._intercept = intercept

    # ------------------------------------------------------------------ sending

    def send_from(self, sender_n: int, to: Pid | str, message: Any) -> int:
        """Send as process ``sender_n``; returns the message id.

        Raises:
            BadArg: ``to`` is a name nobody registered.
        """
        if type(to) is Pid:
            n = to.n
        else:
            proc = self._registry.resolve_or_badarg(to, "send to")
            n = proc._n if proc is not None else NO_PEER
        msg_id = self.next_id()
        intercept = self._intercept
        if intercept is not None:
            intercept(sender_n, n, msg_id, message)
        else:
            self.deliver(sender_n, n, msg_id, message)
        return msg_id

    def system_send(self, sender_n: int, target_n: int, message: Any) -> None:
        """Send a runtime message (EXIT, DOWN, an init acknowledgement) without interception."""
        self.deliver(sender_n, target_n, self.next_id(), message)

    def deliver(self, sender_n: int, target_n: int, msg_id: int, message: Any) -> None:
        """Put a message in its receiver's mailbox now (records SEND, or SEND + DROP)."""
        rec = self._rec
        if rec.active:
            # Captured now: the session shows what was sent, whatever happens to it later.
            recorded = message if type(message) in IMMUTABLE else freeze(message)
            rec.record(_SEND, sender_n, target_n, msg_id, recorded)
        else:
            recorded = None
        proc = self._processes.get(target_n)
        if proc is None:
            if rec.active:
                rec.record(_DROP, sender_n, target_n, msg_id, _NOPROC_DROP)
            return
        proc._mailbox.append((msg_id, sender_n, message, recorded))
        if proc._waiting:
            match = proc._match
            if match is not None:
                try:
                    if not match(message):
                        return
                except Exception:
                    pass  # the receiver evaluates it again and crashes in its own context
            proc._waiting = False
            if proc._queued or proc._suspended:
                self._scheduler.enqueue(proc)
            else:  # enqueue(), inlined: the common case of the hot path
                proc._queued = True
                self._runq_append(proc)

    def ack(self, proc: Process, result: Any) -> None:
        """``proc``'s ``init`` finished with ``result``: tell its starter (proc_lib's
        ``init_ack``), once. A starter outside any process gets it without a message."""
        ack = proc._ack
        if ack is None:
            return
        proc._ack = None
        starter_n, ref_n = ack
        if starter_n == NO_PID:
            self.outside_acks[ref_n] = result
            self._scheduler.stop()  # Runtime.start runs the scheduler only until this
        else:
            self.system_send(proc._n, starter_n, ("$ack", Ref(ref_n), result))

    # ------------------------------------------------------------------ receiving

    def received(self, proc: Process, envelope: Envelope) -> Envelope:
        """Record that ``proc`` took ``envelope`` from its mailbox."""
        proc._handled += 1
        rec = self._rec
        if rec.active:
            rec.record(_RECEIVE, proc._n, envelope[1], envelope[0], None)
        return envelope

    def arm_receive_timeout(self, proc: Process, ms: float) -> TimerEntry:
        """A timer that wakes ``proc`` from its receive after ``ms``."""
        return self._scheduler.arm_receive_timeout(proc, ms)

    def cancel_entry(self, entry: TimerEntry) -> None:
        """Cancel a timer of the heap."""
        self._scheduler.timers.cancel(entry)

    def receive_timed_out(
        self, proc: Process, ms: float, call: tuple[int, int] | None
    ) -> BaseException:
        """Record a receive / call timeout of ``proc``; returns the exception to raise."""
        rec = self._rec
        if rec.active:
            if call is None:
                rec.record(_TIMEOUT, proc._n, NO_PEER, NO_REF, {"op": "receive", "after_ms": ms})
            else:
                rec.record(_TIMEOUT, proc._n, call[0], call[1], {"op": "call", "after_ms": ms})
        return ReceiveTimeout(ms)

    # ------------------------------------------------------------------ GenServer messages

    def cast_from(self, sender_n: int, target: Pid | str, request: Any) -> None:
        """Send ``("$cast", request)``; an unknown name is silently ignored, as in OTP."""
        if isinstance(target, str) and target not in self._registry.names:
            msg_id = self.next_id()
            rec = self._rec
            if rec.active:
                rec.record(_DROP, sender_n, NO_PEER, msg_id, {"reason": "noproc", "name": target})
            return
        self.send_from(sender_n, target, ("$cast", request))

    async def call(
        self, proc: Process, target: Pid | str, request: Any, timeout: float | None
    ) -> Any:
        """``proc`` calls ``target`` and waits for the reply (see :meth:`Process.call`)."""
        server = self._registry.resolve(target)
        if server is None:
            raise CallError("noproc", target, request)
        if server is proc:
            raise CallError("calling_self", target, request)
        ref = self.make_ref()
        self._aliases[ref.n] = (proc._n, server._n)
        server._pending_calls[ref.n] = proc._n  # the call's monitor: DOWN if the server dies
        msg_id = self.send_from(proc._n, server.pid, ("$call", (proc.pid, ref), request))

        def is_answer(message: Any) -> bool:
            return (
                type(message) is tuple
                and len(message) >= 3
                and message[1] == ref
                and (message[0] == "$reply" or message[0] == "DOWN")
            )

        try:
            answer = await proc._receive_envelope(is_answer, timeout, call=(server._n, msg_id))
        except ReceiveTimeout:
            # As gen:call does after its timeout: deactivate the alias, then take a reply that
            # made it just in time.
            self.forget_call(ref.n)
            found = proc._take(is_answer)
            if found is NOTHING:
                raise CallError("timeout", target, request) from None
            answer = self.received(proc, found)
        finally:  # also when the caller is killed while it waits
            self.forget_call(ref.n)
        message = answer[2]
        if message[0] == "$reply":
            return message[2]
        raise CallError(message[3], target, request)

    def forget_call(self, ref_n: int) -> None:
        """Deactivate the alias of call ``ref_n`` (the caller stopped waiting, or is done)."""
        alias = self._aliases.pop(ref_n, None)
        if alias is not None:
            server = self._processes.get(alias[1])
            if server is not None:
                server._pending_calls.pop(ref_n, None)

    def reply_from(self, server_n: int, to: From, value: Any) -> None:
        """Reply ``value`` to the caller ``to`` of a call (from the server or any process)."""
        caller, ref = to
        alias = self._aliases.pop(ref.n, None) if type(ref) is Ref else None
        if alias is None:  # the caller stopped waiting: OTP drops the late reply
            msg_id = self.next_id()
            rec = self._rec
            if rec.active:
                caller_n = caller.n if isinstance(caller, Pid) else NO_PEER
                rec.record(_SEND, server_n, caller_n, msg_id, ("$reply", ref, value))
                rec.record(_DROP, server_n, caller_n, msg_id, _LATE_REPLY_DROP)
            return
        server = self._processes.get(alias[1])
        if server is not None:
            server._pending_calls.pop(ref.n, None)
        self.send_from(server_n, caller, ("$reply", ref, value))

    # ------------------------------------------------------------------ timers

    def send_after(
        self, ms: float, to: Pid | str, message: Any, *, sender: Pid | None = None
    ) -> Ref:
        """Send ``message`` to ``to`` after ``ms`` ms; returns a ref for :meth:`cancel_timer`.

        As ``erlang:send_after/3``: a timer aimed at a pid is cancelled when that process ends
        (or at once, when it is not alive), so nothing is sent; one aimed at a name looks the
        name up when it fires; the sender ending does not cancel it."""
        ref = self.make_ref()
        sender_n = sender.n if sender is not None else NO_PID
        if isinstance(to, Pid) and to.n not in self._processes:
            return ref  # not alive: cancelled before it starts (cancel_timer says so)
        entry = self._scheduler.timers.add(
            self._scheduler.deadline(ms), self._fire_send_after, (ref.n, sender_n, to, message)
        )
        self._send_after_timers[ref.n] = entry
        if isinstance(to, Pid):
            self._timers_to.setdefault(to.n, set()).add(ref.n)
        return ref

    def rearm_send_after(self, deadline_ns: int, arg: tuple[int, int, Pid | str, Any]) -> None:
        """Schedule a saved :meth:`send_after` timer again (a snapshot being restored)."""
        ref_n, _sender, to, _message = arg
        self._send_after_timers[ref_n] = self._scheduler.timers.add(
            deadline_ns, self._fire_send_after, arg
        )
        if isinstance(to, Pid):
            self._timers_to.setdefault(to.n, set()).add(ref_n)

    def disarm_send_after(self, ref_n: int) -> None:
        """Cancel the :meth:`send_after` timer of reference number ``ref_n``, if pending."""
        entry = self._send_after_timers.pop(ref_n, None)
        if entry is not None:
            self._forget_timer(ref_n, entry[3][2])
            self._scheduler.timers.cancel(entry)

    def cancel_timers_to(self, pid_n: int) -> None:
        """The process ``pid_n`` ended: the timers aimed at its pid go with it."""
        for ref_n in self._timers_to.pop(pid_n, ()):
            entry = self._send_after_timers.pop(ref_n, None)
            if entry is not None:
                self._scheduler.timers.cancel(entry)

    def _forget_timer(self, ref_n: int, to: Pid | str) -> None:
        if isinstance(to, Pid):
            refs = self._timers_to.get(to.n)
            if refs is not None:
                refs.discard(ref_n)
                if not refs:
                    del self._timers_to[to.n]

    def _fire_send_after(self, arg: tuple[int, int, Pid | str, Any]) -> None:
        ref_n, sender_n, to, message = arg
        self._send_after_timers.pop(ref_n, None)
        self._forget_timer(ref_n, to)
        try:
            self.send_from(sender_n, to, message)
        except BadArg:  # the name was unregistered meanwhile: the message goes nowhere
            msg_id = self.next_id()
            rec = self._rec
            if rec.active:
                rec.record(_DROP, sender_n, NO_PEER, msg_id, {"reason": "noproc", "name": to})

    def cancel_timer(self, ref: Ref) -> float | None:
        """Cancel a :meth:`send_after` timer; the ms it had left, or ``None`` if already fired."""
        entry = self._send_after_timers.pop(ref.n, None)
        if entry is None:
            return None
        self._forget_timer(ref.n, entry[3][2])
        if not self._scheduler.timers.cancel(entry):
            return None
        deadline: int = entry[0]
        return max(0.0, (deadline - self._scheduler.clock()) / 1e6)
