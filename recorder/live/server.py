"""The live server: listens on loopback (or a Unix socket), authenticates, streams, obeys.

One I/O thread (``cinema-live``) runs a :mod:`selectors` loop over the listening socket, the
clients and a wake-up socket; it never blocks on a client and never touches the runtime (its
requests become :class:`~recorder.live.control.LiveControl` jobs). The recorder's writer thread
hands it the session bytes through :meth:`LiveServer.output` (one append to the flight
recorder and a wake-up: the recording never waits for a client).

Each client has a bounded queue of control messages and a cursor into the flight recorder; a
client that does not read falls behind, misses frames (counted, reported, replaced by a LOST
event) and is dropped once it stalls for ``stall_timeout`` seconds or misses more than
``max_missed`` events. Garbage, oversize messages, a wrong magic or token or protocol version
close only that connection, with a reason, logged.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import selectors
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.live import auth, sockfile, switch
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
from recorder.live.ring import FlightRecorder
from recorder.session.format import (
    FRAME_HEADER,
    TRAILER,
    TRAILER_MAGIC,
    FrameType,
    SessionFormatError,
)
from recorder.session.stream import StreamDecoder

if TYPE_CHECKING:
    from recorder.live.control import LiveControl
    from recorder.live.rewind import SystemSnapshot
    from recorder.live.savefile import StreamFile
    from recorder.sandbox.runtime import Runtime

__all__ = ["Address", "LiveServer", "parse_address"]

log = logging.getLogger("recorder.live")
log.addHandler(logging.NullHandler())

_CHUNK = 1 << 20
_OUT_HIGH = 1 << 20  # fill a client's output buffer up to this many bytes at a time


#: Seconds :meth:`LiveServer.close` waits for a client that reads nothing more, and in all.
_CLOSE_IDLE = 5.0
_CLOSE_MAX = 60.0


@dataclass(frozen=True, slots=True)
class Address:
    """Where to listen: TCP ``host:port`` or a Unix socket ``path``."""

    transport: str
    host: str = "127.0.0.1"
    port: int = 0
    path: str = ""

    @property
    def loopback(self) -> bool:
        if self.transport == "unix":
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_address(spec: Any) -> Address:
    """``9000``, ``"9000"``, ``"HOST:PORT"``, ``"unix"`` (a socket in the runtime dir),
    ``"unix:PATH"`` or ``"tcp"`` (a free loopback port).

    Raises:
        ValueError: not an address.
    """
    if isinstance(spec, bool):
        raise ValueError(f"not a listen address: {spec!r}")
    if isinstance(spec, int):
        spec = str(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"not a listen address: {spec!r}")
    text = spec.strip()
    if text == "unix":
        return Address("unix", path="")
    if text.startswith("unix:"):
        return Address("unix", path=text[5:])
    if text in ("tcp", "auto"):
        return Address("tcp")
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise ValueError(
            f"not a listen address: {spec!r} (use PORT, HOST:PORT or unix:PATH)"
        ) from None
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} is out of range")
    return Address("tcp", host=host, port=number)


@dataclass(eq=False)
class _Client:
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


class LiveServer:
    """The attach server of one runtime (see the module docstring).

    Args:
        address: where to listen (see :func:`parse_address`).
        allow_remote: bind a non-loopback address (anyone who can reach it and has the token
            may then steer the program: it says so on stderr).
        ring_events, ring_bytes: the flight recorder's size.
        stall_timeout: seconds a client may leave its data unread before it is dropped.
        max_missed: events a client may miss (falling behind) before it is dropped.
        max_control_queue: queued control messages per client before it is dropped.
        hello_timeout: seconds a new connection has to authenticate.
        announce: print the address and how to attach on stderr.
        token: the token (default: a new random one).
    """

    def __init__(
        self,
        address: Any = "tcp",
        *,
        allow_remote: bool = False,
        ring_events: int = 500_000,
        ring_bytes: int = 64 << 20,
        stall_timeout: float = 30.0,
        max_missed: int = 10_000_000,
        max_control_queue: int = 10_000,
        hello_timeout: float = 5.0,
        announce: bool = False,
        token: str | None = None,
    ) -> None:
        self.address = address if isinstance(address, Address) else parse_address(address)
        if not self.address.loopback and not allow_remote:
            raise ValueError(
                f"refusing to listen on {self.address.host}: not a loopback address. Anyone who "
                "reaches it could steer the program; pass allow_remote=True (cinema: "
                "--allow-remote) if you really mean it"
            )
        self.token = token or auth.new_token()
        self.ring = FlightRecorder(ring_events, ring_bytes)
        self.stall_timeout = stall_timeout
        self.max_missed = max_missed
        self.max_control_queue = max_control_queue
        self.hello_timeout = hello_timeout
        self.announce_on_stderr = announce
        if announce:
            _log_to_stderr()
        self.header: bytes | None = None
        self.meta: dict[str, Any] = {}
        self.session_file: str | None = None
        self.history_file: str | None = None
        self.control: LiveControl | None = None
        self.runtime: Runtime | None = None
        self.connection_file: str | None = None
        self.snapshots: dict[int, SystemSnapshot] = {}
        # (peer, reason) of the latest refusals and drops: bounded, a connection flood must not
        # grow the observed program's memory
        self.refused: deque[tuple[str, str]] = deque(maxlen=_KEEP_REFUSALS)
        self.dropped: deque[tuple[str, str]] = deque(maxlen=_KEEP_REFUSALS)
        self._refusals_logged = _LogBudget()
        self.closed = False
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._decoder = StreamDecoder()
        self._head = bytearray()
        self._wake_pending = False
        self._recordings: list[tuple[StreamFile, int]] = []  # (file, seq delta) being written
        # held while a frame is added to the files or they are closed (the recorder's thread
        # adds, a client's record_stop closes: a footer must never land inside a frame)
        self._recordings_lock = threading.Lock()
        self._recording_wanted: list[tuple[str, Any]] = []  # (path, reply) awaiting a keyframe
        self._decompress = _decompressor()
        self._socket_ident: tuple[int, int] | None = None  # our socket file's (dev, ino)
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._listen = self._bind()
        self._sel.register(self._listen, selectors.EVENT_READ, "listen")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name="cinema-live", daemon=True)
        if not self.address.loopback:
            sys.stderr.write(
                f"cinema live: WARNING: listening on {self.where} - reachable from other "
                "machines; anyone with the token can pause, change and rewind this program\n"
            )

    # ------------------------------------------------------------------ setup

    def _bind(self) -> socket.socket:
        a = self.address
        if a.transport == "unix":
            path = a.path or str(auth.runtime_dir() / f"live-{os.getpid()}-{id(self):x}.sock")
            sock, self._socket_ident = sockfile.bind_unix(path)
            self.address = Address("unix", path=path)
        else:
            family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((a.host, a.port))
            self.address = Address("tcp", host=a.host, port=sock.getsockname()[1])
        sock.listen(16)
        sock.setblocking(False)
        return sock

    @property
    def where(self) -> str:
        a = self.address
        return f"unix:{a.path}" if a.transport == "unix" else f"{a.host}:{a.port}"

    @property
    def port(self) -> int:
        return self.address.port

    def attach(self, runtime: Runtime, *, pace: float = 0.0) -> LiveServer:
        """Steer ``runtime`` and start serving (writes the connection file)."""
        from recorder.live.control import LiveControl

        self.runtime = runtime
        self.session_file = runtime.recording.path
        #: The file clients may read history from (the session file, when offsets match it).
        self.history_file = self.session_file
        self._join_recorder(runtime)
        self.control = LiveControl(runtime, self.broadcast, pace=pace)
        runtime.scheduler.on_housekeeping(self._runtime_housekeeping)
        info = auth.ConnectionInfo(
            transport=self.address.transport,
            token=self.token,
            pid=os.getpid(),
            host=self.address.host if self.address.transport == "tcp" else "",
            port=self.address.port,
            path=self.address.path,
            program=" ".join(sys.argv)[:300] if sys.argv else "python",
            started_ns=time.time_ns(),
            session_file=self.session_file,
        )
        self.connection_file = str(auth.write_connection_file(info))
        self._thread.start()
        log.info("live server on %s (token in %s)", self.where, self.connection_file)
        if self.announce_on_stderr:
            target = self.address.path if self.address.transport == "unix" else str(self.port)
            sys.stderr.write(
                f"cinema live: listening on {self.where}; attach with `cinema attach {target}`"
                f" (token in {self.connection_file})\n"
            )
        return self

    def _join_recorder(self, runtime: Runtime) -> None:
        """Take the stream of a Recorder that was made without this server as an output."""
        import msgpack

        from recorder.payload import to_structural
        from recorder.session.format import pack_file_header

        sink = runtime.recording.sink
        outputs = getattr(sink, "_outputs", None)
        if isinstance(outputs, list) and self.output in outputs:
            return
        add_output, meta = getattr(sink, "add_output", None), getattr(sink, "metadata", None)
        if not callable(add_output) or not isinstance(meta, dict):
            raise ValueError(
                "listen= needs the runtime to record into a session Recorder (a path, a Recorder "
                f"or nothing), not into {type(sink).__name__}"
            )
        # The same header bytes the recorder wrote: frames' offsets then match its file.
        self.set_header(pack_file_header(msgpack.packb(to_structural(meta), use_bin_type=True)))
        add_output(self.output)
        self.history_file = None  # stream offsets no longer match the file: history from the ring
        self.ring.want_keyframe = True

    def _runtime_housekeeping(self) -> None:
        # runs on the runtime thread: the flight recorder asks for a keyframe to start from
        if self.ring.want_keyframe or self._recording_wanted:
            self.ring.want_keyframe = False
            assert self.runtime is not None
            self.runtime.recording.keyframe()

    # ------------------------------------------------------------------ the recorder's side

    def output(self, data: bytes) -> None:
        """Take session bytes from the recorder (its writer thread). Never blocks."""
        if self.closed:
            return
        try:
            frames = self._decoder.feed(data)
        except SessionFormatError:
            log.exception("the recorder's stream could not be parsed; live streaming stops")
            self.closed = True
            return
        if self.header is None:
            self._head += data
            if self._decoder.meta is not None:
                self.header = bytes(self._head[: self._decoder.header_size])
                self.meta = self._decoder.meta
                self._head = bytearray()
        for fr in frames:
            h = fr.header
            raw = FRAME_HEADER.pack(
                b"CFRM", h.type, h.flags, 0, h.count, h.crc, h.first_seq, h.t_first, h.t_last,
                *h.stored, *h.raw,
            ) + fr.body  # fmt: skip
            if h.type == FrameType.FOOTER:  # the recording ended: its footer and trailer
                self.ring.tail = raw + TRAILER.pack(h.offset, TRAILER_MAGIC)
                continue
            self.ring.add(h, raw, h.offset)
            self._write_recordings(h, raw)
        self.wake()

    def set_header(self, header: bytes) -> None:
        """The file header, when the server was added to a recorder after it started."""
        if self.header is None:
            self._decoder.feed(header)
            self.header = header
            self.meta = self._decoder.meta or {}

    def wake(self) -> None:
        """Wake the I/O loop (any thread): one byte on the wake socket, unless one is due."""
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\0")

    # ------------------------------------------------------------------ talking to clients

    def send(self, client: Any, message: dict[str, Any]) -> None:
        """Queue a control message for one client (any thread)."""
        with self._lock:
            if client.closing:
                return
            if len(client.control) >= self.max_control_queue:
                self._close(client, "too slow: its control messages piled up")
                return
            client.control.append(message)
        self.wake()

    def broadcast(self, message: dict[str, Any]) -> None:
        """Queue a notice for every authenticated client (any thread)."""
        with self._lock:
            clients = [c for c in self._clients if c.ready]
        for c in clients:
            self.send(c, message)

    def clients(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c.describe() for c in self._clients if c.ready]

    # ------------------------------------------------------------------ server-side files

    def start_recording(self, path: str, reply: Any) -> None:
        """Record to ``path`` from the next keyframe on (``reply(error or None)`` once begun)."""
        with self._lock:
            self._recording_wanted.append((path, reply))

    def stop_recording(self) -> list[str]:
        with self._recordings_lock:
            with self._lock:
                files, self._recordings = self._recordings, []
            return [f.close() for f, _delta in files]

    def _write_recordings(self, h: Any, raw: bytes) -> None:
        if not self._recordings and not self._recording_wanted:
            return
        with self._recordings_lock:
            self._write_recordings_locked(h, raw)

    def _write_recordings_locked(self, h: Any, raw: bytes) -> None:
        from recorder.live.restream import renumber
        from recorder.live.savefile import StreamFile

        if self._recording_wanted and h.type == FrameType.KEYFRAME and self.header is not None:
            with self._lock:
                wanted, self._recording_wanted = self._recording_wanted, []
            for path, reply in wanted:
                try:
                    self._recordings.append(
                        (StreamFile(path, self.header, self._decompress), h.first_seq)
                    )
                    reply(None)
                except OSError as exc:
                    reply(f"cannot write {path}: {exc.strerror or exc}")
        for f, delta in list(self._recordings):
            try:
                f.add(h, renumber(raw, h, h.first_seq - delta, self._decompress) if delta else raw)
            except (OSError, SessionFormatError) as exc:
                log.error("recording to %s failed: %s", f.path, exc)
                f.abort()
                self._recordings.remove((f, delta))

    # ------------------------------------------------------------------ the I/O loop

    def _loop(self) -> None:
        try:
            while not self.closed:
                self._step(0.2)
        except Exception:  # the server dies quietly; the program it observes runs on
            log.exception("the live server's loop failed; live attach stops")
        finally:
            self._shutdown()

    def _step(self, timeout: float) -> None:
        """(I/O thread.) One round of the loop: wait for sockets, serve them, then every
        client."""
        for key, mask in self._sel.select(timeout=timeout):
            if key.data == "listen":
                self._accept()
            elif key.data == "wake":
                self._drain_wake()
            else:
                client: _Client = key.data
                if mask & selectors.EVENT_READ:
                    self._read(client)
                if mask & selectors.EVENT_WRITE:
                    client.blocked = False
                    if not client.closing:
                        self._flush(client)
        self._service()

    def _drain_wake(self) -> None:
        """(I/O thread.) Empty the wake socket, *then* say no wake is pending.

        The other order loses wakes for good: a ``wake()`` between the reset and the drain
        sends a byte the drain then swallows while ``_wake_pending`` stays set, so no later
        ``wake()`` sends one and every reply, notice and frame waited for the select timeout
        (0.2 s: pause-to-stopped went from ~7 ms to ~205 ms, for the rest of the run). In this
        order a ``wake()`` that sees the flag still set has queued its work already, and the
        loop serves it right after (``_service``); one after the reset sends its byte.

        One ``recv`` is enough (a wake is one byte, sent only while none is pending): each
        system call costs this thread a GIL hand-over (see :mod:`.switch`).
        """
        with contextlib.suppress(OSError):
            while len(self._wake_r.recv(4096)) == 4096:
                pass
        self._wake_pending = False

    def _accept(self) -> None:
        while True:
            try:
                sock, peer = self._listen.accept()
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
            client = _Client(
                sock, name, MessageReader(SERVER_LIMITS, accept_data=False), now, progress=now
            )
            client.out += MAGIC
            with self._lock:
                self._clients.append(client)
            self._sel.register(sock, selectors.EVENT_READ, client)

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(client, f"connection error: {exc}", notify=False)
            return
        if not data:
            self._close(client, "the client went away", notify=False)
            return
        if client.closing:
            return
        try:
            for mtype, body in client.reader.feed(data):
                if mtype != CONTROL:
                    raise ProtocolError("clients may only send control messages")
                self._handle(client, decode_control(body))
                if client.closing:
                    return
        except ProtocolError as exc:
            self._refuse(client, str(exc))

    def _handle(self, client: _Client, msg: dict[str, Any]) -> None:
        from recorder.live.handlers import handle

        if not client.ready:
            self._hello(client, msg)
            return
        handle(self, client, msg)

    def _hello(self, client: _Client, msg: dict[str, Any]) -> None:
        if msg.get("op") != "hello":
            self._refuse(client, "the first message must be a hello")
            return
        version = msg.get("protocol")
        if (
            not isinstance(version, list)
            or len(version) != 2
            or not all(isinstance(v, int) for v in version)
        ):
            self._refuse(client, "the hello names no protocol version")
            return
        if version[0] != PROTOCOL[0]:
            self._refuse(
                client,
                f"protocol version {version[0]}.{version[1]} is not supported (this server "
                f"speaks {PROTOCOL[0]}.{PROTOCOL[1]})",
            )
            return
        if "token" not in msg:
            self._refuse(client, "no token (find it in the connection file, or use --token-file)")
            return
        if not auth.check_token(self.token, msg.get("token")):
            self._refuse(client, "wrong token")
            return
        client.ready = True
        client.holds_switch = True
        switch.hold()
        client.name = str(msg.get("client", ""))[:100]
        log.info("live client %s (%s) attached", client.peer, client.name)
        self.send(client, self.welcome())

    def welcome(self) -> dict[str, Any]:
        ctl = self.control
        return {
            "op": "welcome",
            "protocol": list(PROTOCOL),
            "pid": os.getpid(),
            "program": self.meta.get("program", ""),
            "session_file": self.session_file,
            "events": self.ring.event_count,
            "paused": bool(ctl and ctl.paused),
            "deterministic": bool(self.runtime and self.runtime.deterministic),
        }

    def _refuse(self, client: _Client, reason: str) -> None:
        self._refusals_logged.log("refused %s: %s", client.peer, reason)
        self.refused.append((client.peer, reason))
        with self._lock:
            client.control.clear()
            client.control.append({"op": "refused", "reason": reason})
        self._close(client, reason, linger=True)

    def _close(
        self, client: _Client, reason: str, *, notify: bool = True, linger: bool = False
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
            self._forget(client)
        else:
            client.opened = time.monotonic()  # the lingering deadline counts from now

    def _forget(self, client: _Client) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(client.sock)
        with contextlib.suppress(OSError):
            client.sock.close()
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
            held, client.holds_switch = client.holds_switch, False
        if held:
            switch.release()
        if client.feed is not None:
            client.feed.close()

    def _service(self) -> None:
        """Fill and send each client's buffer; enforce the time limits."""
        now = time.monotonic()
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            if c.closing:
                self._fill(c, control_only=True)
                if not c.blocked:
                    self._flush(c)
                if not c.out or now - c.opened > 1.0:
                    self._forget(c)
                continue
            if not c.ready and now - c.opened > self.hello_timeout:
                self._refuse(c, f"no hello within {self.hello_timeout:g} s")
                continue
            self._fill(c)
            if not c.blocked:
                self._flush(c)
            feed = c.feed
            if feed is not None and feed.lost_frames():
                c.lost_since = c.lost_since or now
            else:
                c.lost_since = None
            if c.out and now - c.progress > self.stall_timeout:
                self._drop(c, f"stalled: read nothing for {self.stall_timeout:g} s")
            elif c.lost_since is not None and now - c.lost_since > self.stall_timeout:
                self._drop(
                    c,
                    f"stalled: fell behind the flight recorder for {self.stall_timeout:g} s "
                    "(it missed events and did not catch up)",
                )
            elif c.feed is not None and c.feed.missed > self.max_missed:
                self._drop(c, f"fell too far behind: missed {c.feed.missed:,} events")
            elif not c.out:
                c.progress = now

    def _drop(self, client: _Client, reason: str) -> None:
        log.warning("dropped client %s: %s", client.peer, reason)
        self.dropped.append((client.peer, reason))
        client.out.clear()
        self._close(client, reason)

    def _fill(self, c: _Client, *, control_only: bool = False) -> None:
        while len(c.out) < _OUT_HIGH:
            with self._lock:
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

    def _flush(self, c: _Client) -> None:
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
                    self._close(c, "the client went away", notify=False)
                else:
                    self._close(c, f"connection error: {exc}", notify=False)
                return
            if n <= 0:
                break
            del c.out[:n]
            c.sent_bytes += n
            c.progress = time.monotonic()
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        with contextlib.suppress(KeyError, ValueError, OSError):
            if self._sel.get_key(c.sock).events != want:
                self._sel.modify(c.sock, want, c)

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Tell every client goodbye, close the sockets, remove the connection file."""
        if self.closed:
            return
        # let the clients take the last frames (and a finished file's footer) first: as long
        # as a client keeps reading (a busy machine may need longer than a quiet one), up to
        # _CLOSE_IDLE seconds without progress and _CLOSE_MAX seconds in all
        start = time.monotonic()
        idle_since, sent = start, -1
        while self._thread.is_alive():
            now = time.monotonic()
            with self._lock:
                ready = [c for c in self._clients if c.ready and c.feed is not None]
            feeds = [c.feed for c in ready if c.feed is not None]
            if all(f.behind() == 0 and (self.ring.tail is None or f.tail_sent) for f in feeds):
                break
            total = sum(c.sent_bytes for c in ready)
            if total != sent:
                idle_since, sent = now, total
            if now - idle_since > _CLOSE_IDLE or now - start > _CLOSE_MAX:
                break
            self.wake()
            time.sleep(0.01)
        self.broadcast({"op": "bye", "reason": "the program closed its live server"})
        deadline = time.monotonic() + 1.0
        while self._thread.is_alive() and time.monotonic() < deadline:
            with self._lock:
                busy = any(c.out or c.control for c in self._clients if c.ready)
            if not busy:
                break
            self.wake()
            time.sleep(0.01)
        self.closed = True
        self.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        else:
            self._shutdown()
        if self.control is not None:
            self.control.close()
        with self._recordings_lock:
            for f, _delta in self._recordings:
                with contextlib.suppress(OSError):
                    f.close()
            self._recordings = []

    def _shutdown(self) -> None:
        self.closed = True
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            self._forget(c)
        for s in (self._listen, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError, KeyError, ValueError):
                self._sel.unregister(s)
            with contextlib.suppress(OSError):
                s.close()
        if self.address.transport == "unix":
            sockfile.remove_own_socket(self.address.path, self._socket_ident)
        if self.connection_file is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.connection_file)
            self.connection_file = None


#: Data messages the server sends are at most this big (frames are cut into chunks).
SERVER_DATA_CHUNK = 1 << 20


#: Refusals and drops kept for ``status`` and tests.
_KEEP_REFUSALS = 1000


class _LogBudget:
    """At most ``burst`` warnings per ``window`` seconds, then one line saying how many were
    left out: a flood of bad connections must not flood the program's stderr."""

    def __init__(self, burst: int = 20, window: float = 10.0) -> None:
        self.burst, self.window = burst, window
        self._start = -window
        self._count = self._skipped = 0

    def log(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._start >= self.window:
            if self._skipped:
                log.warning("... and %d more refused in %g s", self._skipped, self.window)
            self._start, self._count, self._skipped = now, 0, 0
        if self._count < self.burst:
            self._count += 1
            log.warning(msg, *args)
        else:
            self._skipped += 1


def _log_to_stderr() -> None:
    """Refusals and drops on stderr, for a server started from the command line."""
    if not any(getattr(h, "_cinema_live", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("cinema live: %(message)s"))
        handler.setLevel(logging.WARNING)
        handler._cinema_live = True  # type: ignore[attr-defined]
        log.addHandler(handler)


def _decompressor() -> Any:
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard.ZstdDecompressor().decompress
