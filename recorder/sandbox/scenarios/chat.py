"""A chat server: a pub-sub room, many clients joining, talking, leaving, misbehaving.

``chat_sup`` (one_for_one) runs the ``lobby`` Room GenServer, a ``history`` GenServer and
``rooms_sup``, a ``simple_one_for_one`` supervisor of rooms opened on demand. Clients
are plain processes: each registers a nickname, joins the room (the room monitors it, and
demonitors on leave), says a few things, and leaves when bored (a receive timeout) or crashes
(a client that cannot parse a message). A client links a "typing indicator" helper while it
types and unlinks it after. The history server crashes once on an oversized message and is
restarted. A moderator opens a second room under ``rooms_sup``, suspends the history server for a
while, and sets interception rules: one client sits behind a slow link (delay), one on a lossy
link (drop), and a word filter rewrites messages (declarative transform).
"""

from __future__ import annotations

import contextlib
from typing import Any

from recorder.sandbox import (
    ANY,
    ChildSpec,
    GenServer,
    Process,
    ReceiveTimeout,
    Runtime,
    Supervisor,
    SupervisorSpec,
    start_supervisor,
)
from recorder.sandbox.process import From

__all__ = ["run"]

_WORDS = ("hello", "anyone here?", "lol", "brb", "darn", "nice", "see you", "what's up")


class Room(GenServer):
    """A pub-sub room: ``("join", pid, nick)``, ``("leave", pid)``, cast ``("say", nick, text)``."""

    def init(self, topic: str) -> Any:
        return ("ok", {"topic": topic, "members": {}, "said": 0})

    def handle_call(self, request: Any, from_: From, state: dict[str, Any]) -> Any:
        op = request[0]
        proc = self.process
        if op == "join":
            _, pid, nick = request
            state["members"][pid] = (nick, proc.monitor(pid))
            self._broadcast(state, ("joined", nick))
            return ("reply", ("ok", len(state["members"])), state)
        if op == "leave":
            member = state["members"].pop(request[1], None)
            if member is not None:
                proc.demonitor(member[1])
                self._broadcast(state, ("left", member[0]))
            self._check_empty(state)
            return ("reply", "ok", state)
        if op == "members":
            return ("reply", sorted(nick for nick, _ in state["members"].values()), state)
        return ("reply", ("error", "unknown_request"), state)

    def handle_cast(self, request: Any, state: dict[str, Any]) -> Any:
        _, nick, text = request
        state["said"] += 1
        self._broadcast(state, ("said", nick, text))
        self.process.cast("history", (state["topic"], nick, text))
        return ("noreply", state)

    def handle_info(self, message: Any, state: dict[str, Any]) -> Any:
        if message[0] == "DOWN":  # a member crashed or left without saying goodbye
            member = state["members"].pop(message[2], None)
            if member is not None:
                self._broadcast(state, ("left", member[0]))
                self._check_empty(state)
        return ("noreply", state)

    def _check_empty(self, state: dict[str, Any]) -> None:
        if not state["members"]:
            self.process.breakpoint("room empty")

    def _broadcast(self, state: dict[str, Any], message: Any) -> None:
        for pid in state["members"]:
            self.process.send(pid, message)


class NamedRoom(Room):
    """A room opened on demand: registers itself under its topic."""

    def init(self, topic: str) -> Any:
        self.process.register(topic)
        return super().init(topic)


class History(GenServer):
    """Keeps the last messages per room; chokes on very long ones (a bug, restarted)."""

    def init(self) -> Any:
        return ("ok", {"rooms": {}, "stored": 0})

    def handle_cast(self, entry: Any, state: dict[str, Any]) -> Any:
        topic, nick, text = entry
        if len(text) > 60:
            raise ValueError(f"history line too long ({len(text)} chars) from {nick}")
        lines = state["rooms"].setdefault(topic, [])
        lines.append(f"{nick}: {text}")
        del lines[:-5]
        state["stored"] += 1
        return ("noreply", state)


async def typing_indicator(proc: Process, nick: str) -> None:
    # Shows "typing..." until told to stop, or gives up after a while.
    with contextlib.suppress(ReceiveTimeout):
        await proc.receive(timeout=50)


async def client(proc: Process, nick: str, room: str, lines: int) -> None:
    rng = proc.runtime.rng
    proc.register(nick)
    await proc.call(room, ("join", proc.pid, nick))
    for line in range(lines):
        helper = proc.spawn_link(typing_indicator, nick, name=f"{nick}-typing")
        await proc.sleep(rng.uniform(5, 60))
        proc.unlink(helper)
        proc.send(helper, "done")
        text = rng.choice(_WORDS)
        if (nick == "user-5" and line == 1) or rng.random() < 0.01:  # a storyteller
            text = "I have a really long story to tell, it starts like this: " * 2
        proc.cast(room, ("say", nick, text))
        try:
            while True:  # read what arrived, leave when bored
                message = await proc.receive(timeout=rng.uniform(20, 120))
                if message[0] == "said" and message[2] == "****" and nick.endswith("7"):
                    # user-7, user-17, ... run an old client that chokes on censored text
                    raise ValueError(f"{nick} cannot parse censored text {message!r}")
        except ReceiveTimeout:
            pass
    await proc.call(room, ("leave", proc.pid))


async def moderator(proc: Process, clients: int) -> None:
    rt = proc.runtime
    rt.marker("chat opens", clients=clients)
    rt.interceptor.add("delay", receiver="user-1", delay_ms=40)
    rt.interceptor.add("drop", receiver="user-2", probability=0.3)
    rt.interceptor.add("transform", message=("said", ANY, "darn"), set={2: "****"})
    await proc.sleep(200)
    _, room = await proc.call("rooms_sup", ("start_child", ("random",)))
    await proc.call("random", ("join", proc.pid, "moderator"))
    rt.suspend("history")
    await proc.sleep(150)
    rt.resume("history")
    rt.marker("history back")
    await proc.sleep(400)
    await proc.call("random", ("leave", proc.pid))
    await proc.call("rooms_sup", ("terminate_child", room))


def run(rt: Runtime, *, scale: int = 1) -> None:
    """Run the chat for about two seconds of runtime time with ``30 * scale`` clients."""
    start_supervisor(
        rt,
        [
            ChildSpec("lobby", Room, ("lobby",), name="lobby"),
            ChildSpec("history", History, name="history"),
            ChildSpec(
                "rooms_sup",
                Supervisor,
                (SupervisorSpec((ChildSpec("room", NamedRoom),), "simple_one_for_one"),),
                name="rooms_sup",
            ),
        ],
        max_restarts=5,
        name="chat_sup",
    )
    clients = 30 * scale
    rt.spawn(moderator, clients, name="moderator")

    async def arrivals(proc: Process) -> None:
        for i in range(clients):
            proc.spawn(client, f"user-{i}", "lobby", rt.rng.randint(2, 8), name=f"user-{i}")
            await proc.sleep(rt.rng.uniform(5, 40))

    rt.spawn(arrivals, name="arrivals")
    rt.run(until_ms=3000)
    rt.marker("closing")
    rt.exit(rt.process("chat_sup").pid, "shutdown")
    rt.run(until_ms=rt.now_ms() + 500)
