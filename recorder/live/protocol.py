"""The live wire: a magic, then length-prefixed messages of two types (``docs/live.md``).

Each side starts with the 8 bytes :data:`MAGIC`, then sends *messages*: a 5-byte header
(type ``uint8``, length ``uint32`` little-endian) and a body.

- :data:`CONTROL` bodies are one msgpack map: requests, replies, notices. Values that come from
  the observed program (states, messages) inside them use the payload encoding of
  ``docs/session-format.md`` (extension types; decoded without running anything).
- :data:`DATA` bodies are bytes of a session stream: a file header, then frames, exactly as a
  session file holds them. The receiver feeds them to :class:`~recorder.session.stream.
  StreamDecoder` (the same decoder as for files), whatever the chunking.

Only the server sends DATA. Sizes are bounded (:class:`WireLimits`); anything malformed raises
:class:`ProtocolError` and the connection closes. Nothing received is ever evaluated.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack

from recorder.payload import Limits, PayloadError, decode_payload, to_structural

__all__ = [
    "CONTROL",
    "DATA",
    "HEADER",
    "MAGIC",
    "PROTOCOL",
    "MessageReader",
    "ProtocolError",
    "WireLimits",
    "decode_control",
    "encode_control",
    "encode_data",
    "int_field",
]

#: The first 8 bytes in each direction (high byte and newline catch text-mode mangling).
MAGIC = b"\x89CINLIV\n"
#: ``(major, minor)``: a peer refuses another major; minors only add optional things.
PROTOCOL = (1, 0)
#: type, length.
HEADER = struct.Struct("<BI")
CONTROL = 1
DATA = 2


class ProtocolError(Exception):
    """The peer sent something that is not this protocol (the connection must close)."""


@dataclass(frozen=True, slots=True)
class WireLimits:
    """Bounds on what one side accepts from the other.

    Attributes:
        max_control: the largest control message (bytes).
        max_data: the largest data message (bytes); senders cut bigger frames into chunks.
    """

    max_control: int = 1 << 20
    max_data: int = 4 << 20


#: What a server accepts from clients (small requests, no data).
SERVER_LIMITS = WireLimits(max_control=1 << 20, max_data=0)
#: What a client accepts from a server (replies may hold big states).
CLIENT_LIMITS = WireLimits(max_control=64 << 20, max_data=4 << 20)


#: Bounds of the control map itself; program values inside are frozen with the recording's
#: limits first (:func:`recorder.payload.freeze`), as events are.
CONTROL_ENCODING = Limits(
    max_depth=32, max_items=1 << 20, max_str=16 << 20, max_bytes=32 << 20, max_nodes=1 << 22
)


def encode_control(message: dict[str, Any]) -> bytes:
    """One CONTROL message (header and body). Everything inside goes through the safe payload
    encoder, so any value can be sent and none can break the encoding."""
    body: bytes = msgpack.packb(to_structural(message, CONTROL_ENCODING), use_bin_type=True)
    return HEADER.pack(CONTROL, len(body)) + body


def encode_data(chunk: bytes) -> bytes:
    """One DATA message carrying ``chunk`` (bytes of a session stream)."""
    return HEADER.pack(DATA, len(chunk)) + chunk


def decode_control(body: bytes) -> dict[str, Any]:
    """The map of a CONTROL body.

    Raises:
        ProtocolError: not msgpack, or not a map with a string ``op`` or an integer ``re``.
    """
    try:
        value = decode_payload(body)
    except (PayloadError, ValueError) as exc:
        raise ProtocolError(f"a control message is not valid msgpack: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("a control message must be a map")
    if not isinstance(value.get("op"), str) and not isinstance(value.get("re"), int):
        raise ProtocolError("a control message needs an 'op' (string) or a 're' (integer)")
    return value


class MessageReader:
    """Splits bytes received into messages, incrementally, checking the magic and the limits.

    Args:
        limits: the largest messages accepted.
        accept_data: whether DATA messages may arrive (a server refuses them from clients).
    """

    def __init__(self, limits: WireLimits, *, accept_data: bool) -> None:
        self.limits = limits
        self.accept_data = accept_data
        self.magic_seen = False
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole message yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """Add bytes; yield each complete ``(type, body)``.

        Raises:
            ProtocolError: wrong magic, unknown type, oversize or forbidden message.
        """
        buf = self._buf
        buf += data
        if not self.magic_seen:
            if len(buf) < len(MAGIC):
                if not MAGIC.startswith(bytes(buf)):
                    raise ProtocolError("not a Cinema live connection (bad magic bytes)")
                return
            if bytes(buf[: len(MAGIC)]) != MAGIC:
                raise ProtocolError("not a Cinema live connection (bad magic bytes)")
            del buf[: len(MAGIC)]
            self.magic_seen = True
        start = 0
        try:
            while len(buf) - start >= HEADER.size:
                mtype, length = HEADER.unpack_from(buf, start)
                if mtype == CONTROL:
                    limit = self.limits.max_control
                elif mtype == DATA and self.accept_data:
                    limit = self.limits.max_data
                elif mtype == DATA:
                    raise ProtocolError("data messages are not accepted on this side")
                else:
                    raise ProtocolError(f"unknown message type {mtype}")
                if length > limit:
                    raise ProtocolError(f"message of {length} bytes exceeds the limit ({limit})")
                end = start + HEADER.size + length
                if len(buf) < end:
                    break
                body = bytes(buf[start + HEADER.size : end])
                start = end  # before the yield: a consumer may stop after any message
                yield mtype, body
        finally:
            if start:
                del buf[:start]


def int_field(msg: dict[str, Any], key: str, default: int) -> int:
    """``msg[key]`` when it is an int (not a bool) that fits an int64, else ``default``: the
    numbers a peer sends are read, never trusted."""
    value = msg.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool) and -(1 << 63) <= value < 1 << 63:
        return value
    return default
