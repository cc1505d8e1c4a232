"""The GIL switch interval while live clients are attached, and the I/O loop's system calls
(each one costs the server's thread a GIL hand-over against a busy program)."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder.live import LiveClient, switch
from recorder.live.protocol import MAGIC, encode_control
from recorder.live.server import LiveServer


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(before)


def _wait(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_holds_lower_the_interval_and_the_last_release_restores_it() -> None:
    switch.hold()
    switch.hold()
    assert sys.getswitchinterval() == pytest.approx(switch.LIVE_SWITCH_INTERVAL)
    switch.release()
    assert sys.getswitchinterval() == pytest.approx(switch.LIVE_SWITCH_INTERVAL)
    switch.release()
    assert sys.getswitchinterval() == pytest.approx(0.005)
    switch.release()  # one too many: nothing happens
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_the_programs_own_interval_is_never_raised_nor_overwritten() -> None:
    sys.setswitchinterval(0.0001)  # shorter than ours: left alone
    switch.hold()
    assert sys.getswitchinterval() == pytest.approx(0.0001)
    switch.release()
    assert sys.getswitchinterval() == pytest.approx(0.0001)
    sys.setswitchinterval(0.005)
    switch.hold()
    sys.setswitchinterval(0.002)  # the program changed it while a client was attached
    switch.release()
    assert sys.getswitchinterval() == pytest.approx(0.002)


def test_an_attached_client_shortens_the_interval_until_it_goes() -> None:
    server = LiveServer("tcp")
    server._thread.start()  # the I/O loop alone: hello and welcome need no runtime
    try:
        client = LiveClient(f"127.0.0.1:{server.port}", token=server.token)
        client.connect()
        assert sys.getswitchinterval() == pytest.approx(switch.LIVE_SWITCH_INTERVAL)
        other = LiveClient(f"127.0.0.1:{server.port}", token=server.token)
        other.connect()
        client.close()
        time.sleep(0.1)
        assert sys.getswitchinterval() == pytest.approx(switch.LIVE_SWITCH_INTERVAL)
        other.close()
        _wait(lambda: sys.getswitchinterval() == pytest.approx(0.005))
        refused = LiveClient(f"127.0.0.1:{server.port}", token="wrong")
        with pytest.raises(Exception, match="wrong token"):
            refused.connect()
        assert sys.getswitchinterval() == pytest.approx(0.005)  # only authenticated clients
    finally:
        server.close()
    assert sys.getswitchinterval() == pytest.approx(0.005)


class _CountingSocket:
    """A client's socket that counts the sends the loop tries."""

    def __init__(self, real: socket.socket) -> None:
        self.real, self.sends = real, 0

    def send(self, data: bytes) -> int:
        self.sends += 1
        return self.real.send(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_a_client_whose_socket_is_full_is_not_sent_to_until_it_reads(tmp_path: Path) -> None:
    # its I/O loop is not started: the test plays the loop (no hello: it may take its time)
    server = LiveServer(f"unix:{tmp_path / 'live.sock'}", hello_timeout=600)
    peer = socket.socket(socket.AF_UNIX)
    peer.connect(server.address.path)
    try:
        _wait(lambda: server._step(0.01) or server._clients)
        (client,) = server._clients
        counting = _CountingSocket(client.sock)
        client.sock = counting  # type: ignore[assignment]
        big = {"op": "notice", "blob": b"x" * 100_000}
        expected = bytearray(MAGIC)  # what the peer reads: the server's magic first
        for _ in range(30):  # ~3 MB: more than the socket takes
            client.control.append(big)
            expected += encode_control(big)
        _wait(lambda: server._step(0.001) or client.blocked)  # it took what it could
        assert client.out
        tried = counting.sends
        for _ in range(20):
            server._step(0.001)
        assert counting.sends == tried  # no send that could only fail
        # the peer reads again: the loop (select says writable) sends the rest, in order
        got = bytearray()
        peer.setblocking(False)
        deadline = time.monotonic() + 20
        while len(got) < len(expected):
            assert time.monotonic() < deadline, "the rest never came"
            server._step(0.01)
            with contextlib.suppress(BlockingIOError):
                got += peer.recv(1 << 20)
        assert bytes(got) == bytes(expected)
    finally:
        peer.close()
        server.closed = True
        server._shutdown()
