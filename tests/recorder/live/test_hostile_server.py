"""A client against a server that sends a stream no reader may accept: the connection closes
with the reason, at once, and what was received before stays (a real socket on loopback)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest

from recorder.live import LiveClient
from recorder.live.protocol import HEADER, MAGIC, PROTOCOL, encode_control
from recorder.session.reader import SessionReader

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "sessions"


def _data(chunk: bytes) -> bytes:
    return HEADER.pack(2, len(chunk)) + chunk


class EvilServer:
    """Welcomes anyone, answers every request with ok, then sends ``stream`` as DATA."""

    def __init__(
        self,
        stream: bytes,
        welcome: dict[str, Any] | None = None,
        answer: dict[str, Any] | None = None,
    ) -> None:
        self.stream = stream
        self.welcome = welcome
        self.answer = {"seq_offset": 0} if answer is None else answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(MAGIC)
            unpacker = msgpack.Unpacker()
            buf = b""
            sent = False
            conn.settimeout(10)
            try:
                while True:
                    got = conn.recv(65536)
                    if not got:
                        return
                    buf += got
                    if buf.startswith(MAGIC):
                        buf = buf[len(MAGIC) :]
                    while len(buf) >= HEADER.size:
                        _t, n = HEADER.unpack_from(buf)
                        if len(buf) < HEADER.size + n:
                            break
                        unpacker.feed(buf[HEADER.size : HEADER.size + n])
                        buf = buf[HEADER.size + n :]
                        for msg in unpacker:
                            self._answer(conn, msg)
                            if msg.get("op") == "subscribe" and not sent:
                                sent = True
                                for i in range(0, len(self.stream), 1 << 16):
                                    conn.sendall(_data(self.stream[i : i + (1 << 16)]))
            except OSError:
                return

    def _answer(self, conn: socket.socket, msg: dict[str, Any]) -> None:
        if msg.get("op") == "hello":
            welcome = self.welcome or {"op": "welcome", "protocol": list(PROTOCOL), "pid": 1,
                                       "program": "evil", "session_file": None, "events": 0,
                                       "paused": False}  # fmt: skip
            conn.sendall(encode_control(welcome))
        elif "id" in msg:
            conn.sendall(encode_control({"re": msg["id"], "ok": True, **self.answer}))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def bomb_server():
    server = EvilServer((CORPUS / "zstd-bombs.cinema").read_bytes())
    yield server
    server.close()


def test_a_stream_the_reader_refuses_closes_the_connection_with_its_reason(bomb_server) -> None:
    client = LiveClient(f"127.0.0.1:{bomb_server.port}", token="any")
    reader = SessionReader(None)
    client.on_data = reader.feed  # what `cinema attach --headless` does
    closed: list[str] = []
    client.on_close = closed.append
    client.connect()
    started = time.monotonic()
    client.subscribe()
    deadline = time.monotonic() + 10
    while not closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closed and "the live stream cannot be read" in closed[0] and "zstd bomb" in closed[0]
    assert time.monotonic() - started < 5  # at once, not after a request's timeout
    assert not client.connected


def test_the_live_source_keeps_what_came_before_and_says_why_it_stopped(bomb_server) -> None:
    from cinema.model.live import LiveSource

    source = LiveSource(f"127.0.0.1:{bomb_server.port}")
    source.connect()
    deadline = time.monotonic() + 10
    while source.connected and time.monotonic() < deadline:
        source.pump()  # the window's timer: a refused frame must not raise here
        time.sleep(0.02)
    assert not source.connected
    assert source.closed_reason is not None and "cannot be read" in source.closed_reason
    source.discard()


def _cinema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cinema", *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("welcome", "answer", "expected"),
    [
        ({"op": "welcome", "protocol": [99, 0]}, None, "speaks live protocol 99.0"),
        ({"op": "welcome", "protocol": "1.0"}, None, "names no protocol version"),
        ({"op": "welcome", "protocol": [1, 0], "events": "lots", "program": 7},
         {"seq_offset": "zz", "info": "none"}, "--process"),
        ({"op": "welcome", "protocol": [1, 0]}, {"info": {"pid": "x"}}, "names no process"),
    ],
)  # fmt: skip
def test_a_server_that_answers_oddly_is_refused_in_one_line(
    tmp_path: Path, welcome: dict[str, Any], answer: dict[str, Any] | None, expected: str
) -> None:
    server = EvilServer(b"", welcome=welcome, answer=answer)
    token = tmp_path / "token"
    token.write_text("any")
    try:
        got = _cinema("attach", f"127.0.0.1:{server.port}", "--token-file", str(token),
                      "--headless", "--events", "--count", "1", "-p", "bank")  # fmt: skip
    finally:
        server.close()
    assert got.returncode == 2, got.stderr
    assert "Traceback" not in got.stderr and expected in got.stderr, got.stderr


def test_odd_fields_of_a_welcome_take_their_defaults() -> None:
    from recorder.live.client import checked_welcome

    w = checked_welcome({"op": "welcome", "protocol": (1, 7), "events": -5, "pid": True,
                         "program": ["x"], "paused": "yes", "session_file": 3})  # fmt: skip
    assert w["protocol"] == [1, 7] and w["events"] == 0 and w["pid"] is None
    assert w["program"] == "" and w["paused"] is False and w["session_file"] is None
