"""The live server's I/O loop never loses a wake-up (real socket pair, the real server)."""

from __future__ import annotations

import selectors
import socket

from recorder.live.server import LiveServer


class _RacingSocket:
    """The wake socket, with another thread's ``wake()`` landing inside the loop's drain."""

    def __init__(self, real: socket.socket, server: LiveServer) -> None:
        self.real, self.server, self.raced = real, server, False

    def recv(self, n: int) -> bytes:
        if not self.raced:
            self.raced = True
            self.server.wake()  # a notice queued by the runtime thread, right now
        return self.real.recv(n)


def _readable(sock: socket.socket) -> bool:
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ)
        return bool(sel.select(timeout=0))


def test_a_wake_that_races_the_drain_is_not_lost() -> None:
    server = LiveServer("tcp")  # its I/O loop is not started: the test plays the loop
    real = server._wake_r
    try:
        server.wake()
        assert _readable(real)
        server._wake_r = _RacingSocket(real, server)  # type: ignore[assignment]
        server._drain_wake()
        server._wake_r = real
        # the next notice must wake the loop (before the fix the flag stayed set with the
        # socket empty, and every later reply waited for the 0.2 s select timeout)
        server.wake()
        assert _readable(real)
    finally:
        server._wake_r = real
        server.closed = True
        server._shutdown()
