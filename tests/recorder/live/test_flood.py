"""A flood of bad connections costs the observed program neither unbounded memory nor an
unbounded stderr, and the server still serves its user (real sockets on loopback)."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from recorder.live import LiveClient
from recorder.live.server import _KEEP_REFUSALS, LiveServer


def test_a_flood_of_bad_connections_is_logged_in_a_bounded_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = LiveServer("tcp")
    server._thread.start()  # the I/O loop, without a runtime
    try:
        caplog.set_level(logging.WARNING, logger="recorder.live")
        for _ in range(300):
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                s.settimeout(5)
                while s.recv(4096):  # the server answers with its refusal, then closes
                    pass
        deadline = time.monotonic() + 10
        while len(server.refused) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(server.refused) == 300 <= _KEEP_REFUSALS
        logged = [r for r in caplog.records if "refused" in r.getMessage()]
        assert 1 <= len(logged) <= 21  # a burst, not one line per connection
        client = LiveClient(server.where, token=server.token, timeout=5)
        assert client.connect()["op"] == "welcome"  # the user still gets in
        client.close()
    finally:
        server.closed = True  # the loop ends and shuts the sockets
        server.wake()
        server._thread.join(5)
