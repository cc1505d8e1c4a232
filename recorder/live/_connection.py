"""One client connection of the live server, on the I/O thread: accept it, read its requests
(the first one a hello with the token), fill and send its buffer, enforce its limits, close it.

A client that does not read falls behind, misses frames (counted, reported, replaced by a LOST
event) and is dropped once it stalls for ``stall_timeout`` seconds or misses more than
``max_missed`` events. Garbage, oversize messages, a wrong magic or token or protocol version
close only that connection, with a reason, logged.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.live import auth, switch
from recorder.live._logs import log
from recorder.live.feed import ClientFeed
from recorder.live.protocol import (
    CONTROL,
    MAGIC,
    PROTOCOL,
    SERVER_LIMITS,
    MessageReader,
    ProtocolError,
    decode_control,
    encode_control,
    encode_data,
)

if TYPE_CHECKING:
    from recorder.live.server import LiveServer

__all__ = ["Connection", "accept", "close", "flush", "forget", "read", "service"]

_CHUNK = 1 << 20
_OUT_HIGH = 1 << 20  # fill a client's output buffer up to this many bytes at a time

#: Data messages the server sends are at most this big (frames are cut into chunks).
SERVER_DATA_CHUNK = 1 << 20


@dataclass(eq=False)
class Connection:
    sock: socket.socket
    peer: str
    reader: MessageReader
    opened: float
    name: str = ""
    ready: bool = False  # hello accepted
    closing: str = ""  # reason, once it is being closed
    out: bytearray = field(default_factory=bytearray)
    control: deque[dict[str, Any]] = field(default_factory=deque)
    feed: ClientFeed | None = None
    progress: float = 0.0  # last time it accepted bytes or had nothing to take
    lost_since: float | None = None  # since when the ring no longer holds its next frame
    sent_bytes: int = 0
    # its socket refused bytes: wait for select to say it takes more (a send that fails costs
    # a GIL hand-over, on every loop, for every stuck client)
    blocked: bool = False
    holds_switch: bool = False  # counted in switch.hold() (an authenticated client)

    def describe(self) -> dict[str, Any]:
        feed = self.feed
        return {
            "name": self.name,
            "peer": self.peer,
            "subscribed": feed is not None,
            "missed": feed.missed if feed is not None else 0,
            "behind_frames": feed.behind() if feed is not None else 0,
            "caught_up_from_file": feed.catch_ups if feed is not None else 0,
            "sent_bytes": self.sent_bytes,
        }


def accept(server: LiveServer) -> None:
    """Take every pending connection on the listening socket."""
    while True:
        try:
            sock, peer = server._listen.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("accept failed: %s", exc)
            return
        sock.setblocking(False)
        if sock.family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "unix"
        now = time.monotonic()
        client = Connection(
            sock, name, MessageReader(SERVER_LIMITS, accept_data=False), now, progress=now
        )
        client.out += MAGIC
        with server._lock:
            server._clients.append(client)
        server._sel.register(sock, selectors.EVENT_READ, client)


def read(server: LiveServer, client: Connection) -> None:
    """Read what the client sent and answer each complete request."""
    try:
        data = client.sock.recv(_CHUNK)
    except (BlockingIOError, InterruptedError):
        return
    except OSError as exc:
        close(server, client, f"connection error: {exc}", notify=False)
        return
    if not data:
        close(server, client, "the client went away", notify=False)
        return
    if client.closing:
        return
    try:
        for mtype, body in client.reader.feed(data):
            if mtype != CONTROL:
                raise ProtocolError("clients may only send control messages")
            _handle(server, client, decode_control(body))
            if client.closing:
                return
    except ProtocolError as exc:
        _refuse(server, client, str(exc))


def _handle(server: LiveServer, client: Connection, msg: dict[str, Any]) -> None:
    if not client.ready:
        _hello(server, client, msg)
        return
    server._answer(client, msg)


def _hello(server: LiveServer, client: Connection, msg: dict[str, Any]) -> None:
    if msg.get("op") != "hello":
        _refuse(server, client, "the first message must be a hello")
        return
    version = msg.get("protocol")
    if (
        not isinstance(version, list)
        or len(version) != 2
        or not all(isinstance(v, int) for v in version)
    ):
        _refuse(server, client, "the hello names no protocol version")
        return
    if version[0] != PROTOCOL[0]:
        _refuse(
            server,
            client,
            f"protocol version {version[0]}.{version[1]} is not supported (this server "
            f"speaks {PROTOCOL[0]}.{PROTOCOL[1]})",
        )
        return
    if "token" not in msg:
        _refuse(server, client, "no token (find it in the connection file, or use --token-file)")
        return
    if not auth.check_token(server.token, msg.get("token")):
        _refuse(server, client, "wrong token")
        return
    client.ready = True
    client.holds_switch = True
    switch.hold()
    client.name = str(msg.get("client", ""))[:100]
    log.info("live client %s (%s) attached", client.peer, client.name)
    server.send(client, server.welcome())


def _refuse(server: LiveServer, client: Connection, reason: str) -> None:
    server._refusals_logged.log("refused %s: %s", client.peer, reason)
    server.refused.append((client.peer, reason))
    with server._lock:
        client.control.clear()
        client.control.append({"op": "refused", "reason": reason})
    close(server, client, reason, linger=True)


def close(
    server: LiveServer,
    client: Connection,
    reason: str,
    *,
    notify: bool = True,
    linger: bool = False,
) -> None:
    """Close a client (``linger``: after sending what is queued, for a refusal)."""
    if client.closing and not linger:
        return
    if notify and client.ready and not linger:
        client.control.append({"op": "bye", "reason": reason})
        linger = True
    client.closing = reason
    if client.feed is not None and not linger:
        client.feed.close()
    if not linger:
        forget(server, client)
    else:
        client.opened = time.monotonic()  # the lingering deadline counts from now


def forget(server: LiveServer, client: Connection) -> None:
    """Unregister and close the client's socket, at once."""
    with contextlib.suppress(KeyError, ValueError):
        server._sel.unregister(client.sock)
    with contextlib.suppress(OSError):
        client.sock.close()
    with server._lock:
        if client in server._clients:
            server._clients.remove(client)
        held, client.holds_switch = client.holds_switch, False
    if held:
        switch.release()
    if client.feed is not None:
        client.feed.close()


def service(server: LiveServer) -> None:
    """Fill and send each client's buffer; enforce the time limits."""
    now = time.monotonic()
    with server._lock:
        clients = list(server._clients)
    for c in clients:
        if c.closing:
            _fill(server, c, control_only=True)
            if not c.blocked:
                flush(server, c)
            if not c.out or now - c.opened > 1.0:
                forget(server, c)
            continue
        if not c.ready and now - c.opened > server.hello_timeout:
            _refuse(server, c, f"no hello within {server.hello_timeout:g} s")
            continue
        _fill(server, c)
        if not c.blocked:
            flush(server, c)
        feed = c.feed
        if feed is not None and feed.lost_frames():
            c.lost_since = c.lost_since or now
        else:
            c.lost_since = None
        if c.out and now - c.progress > server.stall_timeout:
            _drop(server, c, f"stalled: read nothing for {server.stall_timeout:g} s")
        elif c.lost_since is not None and now - c.lost_since > server.stall_timeout:
            _drop(
                server,
                c,
                f"stalled: fell behind the flight recorder for {server.stall_timeout:g} s "
                "(it missed events and did not catch up)",
            )
        elif c.feed is not None and c.feed.missed > server.max_missed:
            _drop(server, c, f"fell too far behind: missed {c.feed.missed:,} events")
        elif not c.out:
            c.progress = now


def _drop(server: LiveServer, client: Connection, reason: str) -> None:
    log.warning("dropped client %s: %s", client.peer, reason)
    server.dropped.append((client.peer, reason))
    client.out.clear()
    close(server, client, reason)


def _fill(server: LiveServer, c: Connection, *, control_only: bool = False) -> None:
    while len(c.out) < _OUT_HIGH:
        with server._lock:
            msg = c.control.popleft() if c.control else None
        if msg is not None:
            c.out += encode_control(msg)
            continue
        if control_only or c.feed is None:
            return
        items = c.feed.pull(_OUT_HIGH - len(c.out))
        if not items:
            return
        for kind, value in items:
            if kind == "control":
                c.out += encode_control(value)
            else:
                view = memoryview(value)
                for i in range(0, len(view), SERVER_DATA_CHUNK):
                    c.out += encode_data(bytes(view[i : i + SERVER_DATA_CHUNK]))


def flush(server: LiveServer, c: Connection) -> None:
    """Send what the client's buffer holds, as far as its socket takes it."""
    while c.out:
        try:
            n = c.sock.send(c.out)
        except BlockingIOError:
            c.blocked = True
            break
        except InterruptedError:
            break
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.ECONNRESET):
                close(server, c, "the client went away", notify=False)
            else:
                close(server, c, f"connection error: {exc}", notify=False)
            return
        if n <= 0:
            break
        del c.out[:n]
        c.sent_bytes += n
        c.progress = time.monotonic()
    want = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
    with contextlib.suppress(KeyError, ValueError, OSError):
        if server._sel.get_key(c.sock).events != want:
            server._sel.modify(c.sock, want, c)
