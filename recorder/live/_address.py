"""Where a live server listens: parse an address, bind its socket (loopback TCP or Unix)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from recorder.live import auth, sockfile

__all__ = ["Address", "bind", "parse_address"]


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


def bind(address: Address, name: str) -> tuple[socket.socket, Address, tuple[int, int] | None]:
    """A listening, non-blocking socket at ``address`` (a Unix one without a path: ``name`` in
    the runtime dir); returns it, the address it is bound to (the port a ``tcp`` address got)
    and, for a Unix socket, its file's ``(dev, ino)`` (so only our own file is removed)."""
    ident: tuple[int, int] | None = None
    if address.transport == "unix":
        path = address.path or str(auth.runtime_dir() / name)
        sock, ident = sockfile.bind_unix(path)
        address = Address("unix", path=path)
    else:
        family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address.host, address.port))
        address = Address("tcp", host=address.host, port=sock.getsockname()[1])
    sock.listen(16)
    sock.setblocking(False)
    return sock, address, ident
