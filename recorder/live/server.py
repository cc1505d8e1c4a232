"""The live server: listens on loopback (or a Unix socket), authenticates, streams, obeys.

One I/O thread (``cinema-live``) runs a :mod:`selectors` loop over the listening socket, the
clients and a wake-up socket; it never blocks on a client and never touches the runtime (its
requests become :class:`~recorder.live.control.LiveControl` jobs). The recorder's writer thread
hands it the session bytes through :meth:`LiveServer.output` (one append to the flight
recorder and a wake-up: the recording never waits for a client).

Each client has a bounded queue of control messages and a cursor into the flight recorder
(:mod:`._connection` serves one connection, :mod:`._recordings` writes server-side files,
:mod:`._address` parses and binds the address).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from recorder.live import _connection, auth, sockfile
from recorder.live._address import Address, bind, parse_address
from recorder.live._connection import Connection
from recorder.live._logs import LogBudget, log, log_to_stderr
from recorder.live._recordings import Recordings
from recorder.live.protocol import PROTOCOL
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
    from recorder.sandbox.runtime import Runtime

__all__ = ["Address", "LiveServer", "parse_address"]

#: Seconds :meth:`LiveServer.close` waits for a client that reads nothing more, and in all.
_CLOSE_IDLE = 5.0
_CLOSE_MAX = 60.0

#: Refusals and drops kept for ``status`` and tests.
_KEEP_REFUSALS = 1000


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
            log_to_stderr()
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
        self._refusals_logged = LogBudget()
        self.closed = False
        self._clients: list[Connection] = []
        self._lock = threading.Lock()
        self._decoder = StreamDecoder()
        self._head = bytearray()
        self._wake_pending = False
        self._decompress = _decompressor()
        self.recordings = Recordings(self._lock, self._decompress)
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        # _socket_ident: our socket file's (dev, ino), so that we remove only our own file
        self._listen, self.address, self._socket_ident = bind(
            self.address, f"live-{os.getpid()}-{id(self):x}.sock"
        )
        self._sel.register(self._listen, selectors.EVENT_READ, "listen")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name="cinema-live", daemon=True)
        if not self.address.loopback:
            sys.stderr.write(
                f"cinema live: WARNING: listening on {self.where} - reachable from other "
                "machines; anyone with the token can pause, change and rewind this program\n"
            )

    # ------------------------------------------------------------------ setup

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
        if self.ring.want_keyframe or self.recordings.wanted:
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
            self.recordings.write(h, raw, self.header)
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
                _connection.close(self, client, "too slow: its control messages piled up")
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
        self.recordings.start(path, reply)

    def stop_recording(self) -> list[str]:
        return self.recordings.stop()

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
                _connection.accept(self)
            elif key.data == "wake":
                self._drain_wake()
            else:
                client: Connection = key.data
                if mask & selectors.EVENT_READ:
                    _connection.read(self, client)
                if mask & selectors.EVENT_WRITE:
                    client.blocked = False
                    if not client.closing:
                        _connection.flush(self, client)
        _connection.service(self)

    def _drain_wake(self) -> None:
        """(I/O thread.) Empty the wake socket, *then* say no wake is pending.

        The other order loses wakes for good: a ``wake()`` between the reset and the drain
        sends a byte the drain then swallows while ``_wake_pending`` stays set, so no later
        ``wake()`` sends one and every reply, notice and frame waited for the select timeout
        (0.2 s: pause-to-stopped went from ~7 ms to ~205 ms, for the rest of the run). In this
        order a ``wake()`` that sees the flag still set has queued its work already, and the
        loop serves it right after (``_connection.service``); one after the reset sends its byte.

        One ``recv`` is enough (a wake is one byte, sent only while none is pending): each
        system call costs this thread a GIL hand-over (see :mod:`.switch`).
        """
        with contextlib.suppress(OSError):
            while len(self._wake_r.recv(4096)) == 4096:
                pass
        self._wake_pending = False

    def _answer(self, client: Connection, msg: dict[str, Any]) -> None:
        """(I/O thread.) Answer a request of an authenticated client (:mod:`.handlers`)."""
        from recorder.live.handlers import handle

        handle(self, client, msg)

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
        self.recordings.close()

    def _shutdown(self) -> None:
        self.closed = True
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            _connection.forget(self, c)
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


def _decompressor() -> Any:
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard.ZstdDecompressor().decompress
