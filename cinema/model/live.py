"""A live session: a :class:`~cinema.model.session.Session` that grows from a running sandbox,
and the commands that steer it (Qt-free; the window and ``cinema attach`` use it).

:class:`LiveSource` connects a :class:`~recorder.live.LiveClient`, feeds every frame it
receives into a live ``Session`` (the same decoder as for files), keeps a copy of the bytes on
disk (so that what was received stays, and can be saved, even after the connection drops), and
maps the session's event numbers to the sandbox's (a late attach, or a client that fell behind,
starts from a keyframe with its own numbering; a reconnect continues where it left off).

Breakpoint conditions are parsed here, with the model's own safe parser, and sent as text and
tree (:func:`condition_tree`); the sandbox checks the tree and evaluates it in the program.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from cinema.model.errors import ModelError
from cinema.model.expr import (
    Attr,
    Binary,
    BoolOp,
    Call,
    Index,
    ListLit,
    Lit,
    Name,
    Node,
    Unary,
    parse,
)
from cinema.model.session import Session
from recorder.live import LiveClient, LiveError
from recorder.live.protocol import int_field
from recorder.live.restream import lost_frame, renumber
from recorder.live.savefile import StreamFile
from recorder.session.format import (
    FRAME_HEADER,
    TRAILER,
    TRAILER_MAGIC,
    FrameType,
    SessionFormatError,
)
from recorder.session.stream import StreamDecoder

__all__ = ["LiveSource", "condition_tree", "tree_of"]

log = logging.getLogger("cinema.model")
log.addHandler(logging.NullHandler())

Listener = Callable[[dict[str, Any]], None]


def tree_of(node: Node) -> list[Any]:
    """A syntax tree as the nested lists of the live protocol (``docs/live.md``)."""
    if isinstance(node, Lit):
        return ["lit", node.value]
    if isinstance(node, Name):
        return ["name", node.name]
    if isinstance(node, ListLit):
        return ["list", [tree_of(i) for i in node.items]]
    if isinstance(node, Attr):
        return ["attr", tree_of(node.obj), node.name]
    if isinstance(node, Index):
        return ["index", tree_of(node.obj), tree_of(node.index)]
    if isinstance(node, Unary):
        return ["unary", node.op, tree_of(node.operand)]
    if isinstance(node, BoolOp):
        return ["bool", node.op, tree_of(node.left), tree_of(node.right)]
    if isinstance(node, Binary):
        return ["binary", node.op, tree_of(node.left), tree_of(node.right)]
    if isinstance(node, Call):
        return ["call", node.func, [tree_of(a) for a in node.args]]
    raise TypeError(f"not an expression node: {node!r}")


def condition_tree(text: str) -> dict[str, Any]:
    """``{"text": text, "tree": ...}`` for the wire. Raises ExprError (with the position)."""
    return {"text": text, "tree": tree_of(parse(text))}


class LiveSource:
    """A growing session fed by a live server, and its controls.

    Args:
        target: where the server is (``PORT``, ``HOST:PORT``, ``unix:PATH``, a connection
            file, or ``None`` for the newest local session).
        token_file: where the token is, when it is not a local session of this user.
        history: ``"all"`` (the whole session file, when the program writes one), ``"recent"``
            (the flight recorder) or ``"none"``.
    """

    def __init__(
        self,
        target: str | int | None = None,
        *,
        token_file: str | None = None,
        history: str = "all",
        name: str = "cinema",
    ) -> None:
        self.target = target
        self.token_file = token_file
        self.history = history
        self.name = name
        self.session = Session.live()
        self.client: LiveClient | None = None
        self.welcome: dict[str, Any] = {}
        self.paused = False
        self.paused_at: dict[str, Any] | None = None
        self.breakpoints: list[dict[str, Any]] = []
        self.closed_reason: str | None = None
        self.complete = False  # the recording finished: footer and trailer were received
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._decoder = StreamDecoder()
        self._header: bytes | None = None
        fd, self.spool_path = tempfile.mkstemp(prefix="cinema-live-", suffix=".part")
        self._spool = os.fdopen(fd, "wb")
        # event numbering: server frames carry the server's numbering for this connection
        self._server_offset = 0  # sandbox seq - server seq, for the current connection
        self._local_offset = 0  # sandbox seq - local seq
        self._map_local: list[int] = []  # local first seq of each stretch...
        self._map_offset: list[int] = []  # ...and its sandbox - local offset
        self._head = bytearray()
        #: Received pieces not yet fed to the session (fed by :meth:`pump`, on the caller's
        #: thread: the session is not thread-safe, and the window reads it on its own thread).
        self._inbox: list[bytes] = []
        self._local_next = 0
        self.auto_pump = False
        self._decompress: Any = None
        try:
            import zstandard

            self._decompress = zstandard.ZstdDecompressor().decompress
        except ImportError:
            pass

    # ------------------------------------------------------------------ connection

    def connect(self) -> dict[str, Any]:
        """Connect (or reconnect), authenticate and subscribe.

        Raises:
            LiveError: the server cannot be reached or refused (the reason is in the message).
        """
        client = LiveClient(self.target, token_file=self.token_file, name=self.name)
        welcome = client.connect()
        client.on_data = self._on_data
        client.on_notice = self._on_notice
        client.on_close = self._on_close
        with self._lock:
            self.client = client
            self.closed_reason = None
            self._decoder = StreamDecoder()
            self._head = bytearray()
        self.welcome = welcome
        self.paused = bool(welcome.get("paused"))
        reply = client.subscribe(history=self.history)
        with self._lock:
            self._server_offset = int_field(reply, "seq_offset", 0)
        with contextlib.suppress(LiveError):
            self.breakpoints = _dicts(client.request("status").get("breakpoints"))
        self._emit({"op": "connected", "welcome": welcome})
        return welcome

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(notice)`` for every notice (``paused``, ``resumed``, ``gap``,
        ``breakpoints``, ``connected``, ``disconnected``); from the client's thread."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, notice: dict[str, Any]) -> None:
        for cb in list(self._listeners):
            try:
                cb(notice)
            except Exception:
                log.exception("live listener failed")

    def close(self) -> None:
        """Disconnect (the received events stay)."""
        if self.client is not None:
            self.client.close()
        self._spool.flush()

    def discard(self) -> None:
        """Disconnect and remove the spool file."""
        self.close()
        self._spool.close()
        with contextlib.suppress(OSError):
            os.unlink(self.spool_path)

    # ------------------------------------------------------------------ receiving

    def _on_data(self, data: bytes) -> None:
        with self._lock:
            pieces = self._stitch(data)
            for piece in pieces:
                self._spool.write(piece)
            self._inbox.extend(pieces)
        if self.auto_pump:
            self.pump()

    def pump(self) -> int:
        """Feed what arrived into :attr:`session` (on the thread that reads the session);
        returns the number of new events."""
        with self._lock:
            pieces, self._inbox = self._inbox, []
        if not pieces:
            return 0
        try:
            return self.session.feed(b"".join(pieces))
        except SessionFormatError as exc:  # what was received before stays readable
            if self.client is not None:
                self.client.fail(f"the live stream cannot be read: {exc}")
            return 0

    def _stitch(self, data: bytes) -> list[bytes]:
        """This connection's bytes as a continuation of the local session."""
        had_meta = self._decoder.meta is not None
        frames = self._decoder.feed(data)
        out: list[bytes] = []
        if not had_meta:
            self._head += data
            if self._decoder.meta is not None:
                header = bytes(self._head[: self._decoder.header_size])
                self._head = bytearray()
                if self._header is None:  # a reconnect's header is the one we hold already
                    self._header = header
                    out.append(header)
        local_next = self._local_next
        for fr in frames:
            h = fr.header
            raw = _frame_bytes(h) + fr.body
            if h.type == FrameType.FOOTER:
                # a finished recording, received byte for byte: keep its end as the file has it
                if self._local_offset == 0 and self._server_offset == 0:
                    out.append(raw + TRAILER.pack(h.offset, TRAILER_MAGIC))
                    self.complete = True
                continue
            if h.type not in (FrameType.EVENTS, FrameType.KEYFRAME):
                continue
            sandbox = h.first_seq + self._server_offset
            local = sandbox - self._local_offset
            if local < local_next:
                continue  # already held (a reconnect replays what we had)
            if local > local_next:
                if h.type != FrameType.KEYFRAME:
                    continue  # wait for a keyframe to resume from
                out.append(lost_frame(local_next, h.t_first, local - local_next))
                local_next += 1
                self._local_next = local_next
                self._local_offset = sandbox - local_next
                local = local_next
            if not self._map_local or self._map_offset[-1] != self._local_offset:
                self._map_local.append(local)
                self._map_offset.append(self._local_offset)
            out.append(raw if local == h.first_seq else renumber(raw, h, local, self._decompress))
            if h.type == FrameType.EVENTS:
                local_next = local + h.count
        self._local_next = local_next
        return out

    def _on_notice(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "gap":
            with self._lock:
                self._server_offset = int_field(msg, "seq_offset", self._server_offset)
        elif op == "paused":
            self.paused = True
            self.paused_at = msg
        elif op == "resumed":
            self.paused = False
        elif op == "breakpoints":
            self.breakpoints = _dicts(msg.get("list"))
        self._emit(msg)

    def _on_close(self, reason: str) -> None:
        self.closed_reason = reason
        self._spool.flush()
        self._emit({"op": "disconnected", "reason": reason})

    # ------------------------------------------------------------------ numbering

    def sandbox_seq(self, seq: int) -> int:
        """The sandbox's number of local event ``seq``."""
        i = bisect.bisect_right(self._map_local, seq) - 1
        return seq + (self._map_offset[i] if i >= 0 else self._local_offset)

    def local_seq(self, sandbox_seq: int) -> int:
        """The local number of sandbox event ``sandbox_seq`` (as of the current stretch)."""
        return sandbox_seq - self._local_offset

    # ------------------------------------------------------------------ commands

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send a request; its reply. Raises ModelError with the server's reason."""
        client = self.client
        if client is None or not client.connected:
            raise ModelError(f"not connected ({self.closed_reason or 'never connected'})")
        try:
            return client.request(op, **fields)
        except LiveError as exc:
            raise ModelError(str(exc)) from None

    def pause(self) -> None:
        self.request("pause")

    def resume(self) -> None:
        self.request("resume")

    def step(self, events: int = 1, pid: int | None = None) -> None:
        """Run one event (or ``events``), or until ``pid``'s next event, then pause again."""
        fields: dict[str, Any] = {"events": events}
        if pid is not None:
            fields["pid"] = pid
        self.request("step", **fields)

    def add_breakpoint(self, text: str, *, once: bool = False) -> dict[str, Any]:
        """A breakpoint evaluated in the sandbox (it pauses the whole system when it hits).

        Raises:
            ExprError: the text does not parse.
            ModelError: the sandbox cannot evaluate it (the reason says why).
        """
        cond = condition_tree(text)
        reply = self.request(
            "break_add", text=text, tree=cond["tree"], once=once, expect={"breakpoint": dict}
        )
        bp: dict[str, Any] = reply["breakpoint"]
        return bp

    def remove_breakpoint(self, bp_id: int) -> None:
        self.request("break_remove", bp=bp_id)

    def info(self, pid: int | str) -> dict[str, Any]:
        """Everything about a live process (state, mailbox, links, ...), now."""
        info: dict[str, Any] = self.request("info", pid=pid, expect={"info": dict})["info"]
        return info

    def set_state(self, pid: int | str, path: list[Any], value: Any) -> dict[str, Any]:
        """Replace the state of ``pid`` (or the item at ``path`` inside it) with ``value``."""
        return self.request("set_state", pid=pid, path=path, value=value)

    def add_rule(self, action: str, *, where: str | None = None, **fields: Any) -> dict[str, Any]:
        """An interception rule (``"delay"``, ``"drop"``, ``"transform"``); ``where`` is a
        condition on the message (``msg_type == "deposit"``)."""
        if where:
            fields["where"] = condition_tree(where)
        rule: dict[str, Any] = self.request(
            "intercept_add", action=action, expect={"rule": dict}, **fields
        )["rule"]
        return rule

    def remove_rule(self, rule_id: int) -> None:
        self.request("intercept_remove", rule=rule_id)

    def rules(self) -> list[dict[str, Any]]:
        return list(self.request("intercept_list")["rules"])

    def snapshot(self, label: str = "") -> dict[str, Any]:
        snap: dict[str, Any] = self.request("snapshot", label=label)["snapshot"]
        return snap

    def restore(self, snap_id: int) -> dict[str, Any]:
        return self.request("restore", snapshot=snap_id)

    def snapshots(self) -> list[dict[str, Any]]:
        return list(self.request("snapshots")["snapshots"])

    # ------------------------------------------------------------------ saving

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write what was received so far to a session file (complete, with a footer).

        Raises:
            ModelError: nothing received yet, or the file cannot be written.
        """
        with self._lock:
            self._spool.flush()
            if self._header is None:
                raise ModelError("nothing has been received yet")
            target = os.fspath(path)
            try:
                if self.complete:
                    shutil.copyfile(self.spool_path, target)
                    return target
                out = StreamFile(target, self._header, self._decompress)
                dec = StreamDecoder()
                with open(self.spool_path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        for fr in dec.feed(chunk):
                            out.add(fr.header, _frame_bytes(fr.header) + fr.body)
                return out.close()
            except OSError as exc:
                raise ModelError(f"cannot save to {target}: {exc.strerror or exc}") from None


def _frame_bytes(h: Any) -> bytes:
    return FRAME_HEADER.pack(
        b"CFRM", h.type, h.flags, 0, h.count, h.crc, h.first_seq, h.t_first, h.t_last,
        *h.stored, *h.raw,
    )  # fmt: skip


def _dicts(found: Any) -> list[dict[str, Any]]:
    """The maps of a list a server sent (anything else it sent is left out)."""
    return [b for b in found if isinstance(b, dict)] if isinstance(found, list) else []
