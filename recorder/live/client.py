"""The client side of live attach: connect, authenticate, subscribe, send requests.

:class:`LiveClient` runs one reader thread. DATA messages go to ``on_data`` (feed them to a
:class:`~recorder.session.stream.StreamDecoder` or to ``cinema.model.Session.feed``: the same
decoder as for files); replies wake the request that waits for them; notices (``paused``,
``gap``, ``bye``, ...) go to ``on_notice``. A dropped connection is reported once, through
``on_close(reason)``; what was received stays with the caller.

The token is found by itself for the user's own local sessions (their connection files, see
:mod:`.auth`), or read from ``token_file``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from recorder.live import auth
from recorder.live.protocol import (
    CLIENT_LIMITS,
    CONTROL,
    DATA,
    MAGIC,
    PROTOCOL,
    MessageReader,
    ProtocolError,
    decode_control,
    encode_control,
)

__all__ = ["LiveClient", "LiveError", "checked_welcome", "resolve_address"]


class LiveError(Exception):
    """Attaching or a request failed (the message is for the user)."""


_WELCOME_FIELDS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "events": (int, 0),
    "pid": (int, None),
    "program": (str, ""),
    "session_file": (str, None),
    "paused": (bool, False),
    "deterministic": (bool, False),
}


def checked_welcome(msg: dict[str, Any]) -> dict[str, Any]:
    """A server's welcome with the protocol version checked and every field of its type (a
    field of another type takes its default: what the server says is not trusted).

    Raises:
        LiveError: no protocol version, or another major version than this client's.
    """
    proto = msg.get("protocol")
    if not (
        isinstance(proto, (list, tuple))
        and len(proto) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in proto)
    ):
        raise LiveError("the server's welcome names no protocol version")
    if proto[0] != PROTOCOL[0]:
        raise LiveError(
            f"the server speaks live protocol {proto[0]}.{proto[1]}; this Cinema speaks "
            f"{PROTOCOL[0]}.{PROTOCOL[1]}"
        )
    out = dict(msg, protocol=list(proto))
    for key, (kind, default) in _WELCOME_FIELDS.items():
        value: Any = out.get(key)
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if not ok or (kind is int and value < 0):
            out[key] = default
        elif isinstance(value, str):
            out[key] = value[:1000]
    return out


def resolve_address(target: str | int | None) -> tuple[str, Any, auth.ConnectionInfo | None]:
    """Where to connect: ``("tcp", (host, port))`` or ``("unix", path)``, and the local
    connection file that matches, if any.

    ``target`` is ``PORT``, ``HOST:PORT``, ``unix:PATH``, a socket path, a connection file
    (``.json``), or ``None`` for the newest local session.

    Raises:
        LiveError: nothing to connect to.
    """
    if target is None or target == "":
        found = auth.find_session(None, None)
        if found is None:
            raise LiveError(
                "no live session of yours is running on this machine (start one with "
                "`cinema demo` or `cinema record --listen ...`, or name HOST:PORT)"
            )
        return _from_info(found)
    text = str(target).strip()
    if text.endswith(".json") and os.path.exists(text):
        try:
            from_file = auth.ConnectionInfo.from_json(_read_json(text), text)
        except (OSError, ValueError) as exc:
            raise LiveError(f"{text}: {exc}") from None
        return _from_info(from_file)
    if text.startswith("unix:") or (os.path.sep in text and not text.rpartition(":")[2].isdigit()):
        path = text[5:] if text.startswith("unix:") else text
        return "unix", path, auth.find_session(None, None, path=path)
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    try:
        port = int(port_text)
    except ValueError:
        raise LiveError(f"not an address: {text!r} (use PORT, HOST:PORT or unix:PATH)") from None
    host = host.strip("[]")
    info = auth.find_session(host or None, port)
    return "tcp", (host or (info.host if info else "127.0.0.1"), port), info


def _read_json(path: str) -> Any:
    import json

    with open(path) as f:
        return json.load(f)


def _from_info(info: auth.ConnectionInfo) -> tuple[str, Any, auth.ConnectionInfo | None]:
    if info.transport == "unix":
        return "unix", info.path, info
    return "tcp", (info.host or "127.0.0.1", info.port), info


class LiveClient:
    """A connection to a live server.

    Args:
        target: where (see :func:`resolve_address`).
        token: the token; ``None`` finds it in the local connection file or ``token_file``.
        token_file: a connection file or a file holding only the token.
        name: how this client introduces itself.
        timeout: seconds for connecting and for each request.
    """

    def __init__(
        self,
        target: str | int | None = None,
        *,
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        name: str = "cinema",
        timeout: float = 10.0,
    ) -> None:
        self.transport, self.address, self.info = resolve_address(target)
        if token is None and token_file is not None:
            try:
                token = auth.read_token_file(token_file)
            except (OSError, ValueError) as exc:
                raise LiveError(f"cannot read the token: {exc}") from None
        if token is None and self.info is not None:
            token = self.info.token
        self.token = token
        self.name = name
        self.timeout = timeout
        self.welcome: dict[str, Any] = {}
        self.on_data: Callable[[bytes], None] = lambda _b: None
        self.on_notice: Callable[[dict[str, Any]], None] = lambda _m: None
        self.on_close: Callable[[str], None] = lambda _r: None
        self.closed_reason: str | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._thread: threading.Thread | None = None
        self._reader = MessageReader(CLIENT_LIMITS, accept_data=True)

    @property
    def where(self) -> str:
        if self.transport == "unix":
            return f"unix:{self.address}"
        return f"{self.address[0]}:{self.address[1]}"

    @property
    def connected(self) -> bool:
        return self._sock is not None and self.closed_reason is None

    # ------------------------------------------------------------------ connecting

    def connect(self) -> dict[str, Any]:
        """Connect and authenticate; returns the server's welcome.

        Raises:
            LiveError: cannot connect, or the server refused (its reason is in the message).
        """
        family = socket.AF_UNIX if self.transport == "unix" else socket.AF_INET
        if self.transport == "tcp" and ":" in self.address[0]:
            family = socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            raise LiveError(f"cannot connect to {self.where}: {exc.strerror or exc}") from None
        if family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        hello: dict[str, Any] = {"op": "hello", "protocol": list(PROTOCOL), "client": self.name}
        if self.token is not None:
            hello["token"] = self.token
        try:
            sock.sendall(MAGIC + encode_control(hello))
            first = self._read_one()
        except (OSError, ProtocolError) as exc:
            self._drop()
            raise LiveError(f"{self.where}: the handshake failed: {exc}") from None
        if first.get("op") == "refused":
            self._drop()
            raise LiveError(f"{self.where} refused the connection: {first.get('reason')}")
        if first.get("op") != "welcome":
            self._drop()
            raise LiveError(f"{self.where}: unexpected answer to hello: {first.get('op')!r}")
        try:
            first = checked_welcome(first)
        except LiveError as exc:
            self._drop()
            raise LiveError(f"{self.where}: {exc}") from None
        self.welcome = first
        sock.settimeout(None)
        self._thread = threading.Thread(target=self._run, name="cinema-attach", daemon=True)
        self._thread.start()
        return first

    def _read_one(self) -> dict[str, Any]:
        assert self._sock is not None
        while True:
            data = self._sock.recv(1 << 16)
            if not data:
                raise ProtocolError("the server closed the connection")
            for mtype, body in self._reader.feed(data):
                if mtype == CONTROL:
                    return decode_control(body)
                raise ProtocolError("data before the welcome")

    def _drop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread's recv
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    # ------------------------------------------------------------------ the reader thread

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        reason = "the server closed the connection"
        try:
            while True:
                data = sock.recv(1 << 20)
                if not data:
                    break
                for mtype, body in self._reader.feed(data):
                    if mtype == DATA:
                        try:
                            self.on_data(body)
                        except Exception as exc:  # its consumer cannot read the stream
                            self.fail(f"the live stream cannot be read: {exc}")
                            return
                    else:
                        self._dispatch(decode_control(body))
                        if self.closed_reason is not None:
                            return
        except (OSError, ProtocolError) as exc:
            reason = f"connection lost: {exc}"
        self._closed(reason)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        re_id = msg.get("re")
        if isinstance(re_id, int):
            waiter = self._waiting.pop(re_id, None)
            if waiter is not None:
                waiter[1].append(msg)
                waiter[0].set()
            return
        if msg.get("op") == "bye":
            self._closed(f"the server said goodbye: {msg.get('reason')}")
            return
        try:
            self.on_notice(msg)
        except Exception:  # a broken listener must not kill the reader
            import logging

            logging.getLogger("recorder.live").exception("live notice handler failed")

    def fail(self, reason: str) -> None:
        """Close the connection because what arrived cannot be used (a stream that is not a
        valid session); ``on_close(reason)`` and any waiting request learn why."""
        self._closed(reason)

    def _closed(self, reason: str) -> None:
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._drop()
        for event, _box in list(self._waiting.values()):
            event.set()
        self._waiting.clear()
        try:
            self.on_close(reason)
        except Exception:
            import logging

            logging.getLogger("recorder.live").exception("live close handler failed")

    # ------------------------------------------------------------------ requests

    def send(self, op: str, **fields: Any) -> None:
        """Send a request without waiting for its reply."""
        self._send({"op": op, **fields})

    def _send(self, msg: dict[str, Any]) -> None:
        sock = self._sock
        if sock is None or self.closed_reason is not None:
            raise LiveError(f"not connected ({self.closed_reason or 'never connected'})")
        data = encode_control(msg)
        try:
            with self._send_lock:
                sock.sendall(data)
        except OSError as exc:
            self._closed(f"connection lost: {exc}")
            raise LiveError(f"connection lost: {exc}") from None

    def request(
        self,
        op: str,
        *,
        timeout: float | None = None,
        expect: dict[str, type | tuple[type, ...]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Send a request and wait for its reply.

        Args:
            expect: fields the reply must hold, and their types (what a caller reads from
                it): a server that answers otherwise is refused with a clear error instead of
                a ``KeyError`` somewhere later.

        Raises:
            LiveError: the server said no (its reason), no reply in time, disconnected, or a
                reply without the ``expect``-ed fields.
        """
        req_id = next(self._ids)
        event = threading.Event()
        box: list[dict[str, Any]] = []
        self._waiting[req_id] = (event, box)
        self._send({"op": op, "id": req_id, **fields})
        wait = self.timeout if timeout is None else timeout
        if not event.wait(wait):
            self._waiting.pop(req_id, None)
            raise LiveError(f"{op}: no answer within {wait:g} s (is the program running?)")
        if not box:
            raise LiveError(f"{op}: {self.closed_reason or 'disconnected'}")
        reply = box[0]
        if not reply.get("ok"):
            raise LiveError(f"{op}: {str(reply.get('error', 'refused'))[:1000]}")
        for key, kind in (expect or {}).items():
            value = reply.get(key)
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
                raise LiveError(f"{op}: the server's answer has no valid {key!r}")
        return reply

    def subscribe(self, **subscription: Any) -> dict[str, Any]:
        """Start the stream (``history``, ``kinds``, ``pids``, ``hops``, ``where``, ``sample``)."""
        return self.request("subscribe", **subscription)

    def close(self) -> None:
        """Say goodbye and close."""
        if self.connected:
            with contextlib.suppress(LiveError):
                self.send("bye")
        self._closed("closed by the client")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
