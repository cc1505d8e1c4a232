"""The payload vocabulary: extension codes, encoding limits and the display types.

Decoding produces these plain classes (never a class named in a file); the sandbox uses
:class:`Pid` and :class:`Ref` for its own process ids and references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_LIMITS",
    "EXT_BIGINT",
    "EXT_ENUM",
    "EXT_FROZENSET",
    "EXT_OPAQUE",
    "EXT_PID",
    "EXT_RECORD",
    "EXT_REF",
    "EXT_SET",
    "EXT_TRUNCATED",
    "EXT_TUPLE",
    "MAX_DECODE_DEPTH",
    "MAX_DEPTH_LIMIT",
    "EnumValue",
    "Limits",
    "Opaque",
    "Packed",
    "PayloadError",
    "Pid",
    "Record",
    "Ref",
    "Truncated",
]

EXT_TUPLE = 1
EXT_SET = 2
EXT_FROZENSET = 3
EXT_RECORD = 4
EXT_ENUM = 5
EXT_PID = 6
EXT_REF = 7
EXT_OPAQUE = 8
EXT_TRUNCATED = 9
EXT_BIGINT = 10

#: Hard ceiling on extension nesting when decoding, whatever a file says.
MAX_DECODE_DEPTH = 64
#: Largest ``Limits.max_depth`` accepted: the native encoder recurses once per level.
MAX_DEPTH_LIMIT = 200


class PayloadError(ValueError):
    """A payload could not be decoded (corrupt or hostile bytes)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied when encoding a value. Every bound, when hit, leaves a visible marker.

    Raises:
        ValueError: a bound is not a positive int (or ``max_depth`` exceeds
            :data:`MAX_DEPTH_LIMIT`).
    """

    max_depth: int = 24
    """Containers nested deeper than this become ``Truncated("depth", ...)``."""
    max_items: int = 1000
    """Entries kept per list / tuple / set / dict / record, a truncation marker included: a
    longer container keeps ``max_items - 1`` entries and ends with ``Truncated("items")``."""
    max_str: int = 4096
    """Characters (or bytes, for ``bytes``) kept per string."""
    max_bytes: int = 64 * 1024
    """Encoded size of the whole value: once the output reaches it, the rest of every open
    container becomes one ``Truncated("size")`` (so a value exceeds it by at most one item
    and a marker per open container)."""
    max_repr: int = 200
    """Characters kept of the ``repr`` of an object that has no structural form (and of type
    names)."""
    max_nodes: int = 16384
    """Values written per encoding (containers, scalars, keys); past it, the rest of every
    open container becomes one ``Truncated("nodes")``. Bounds the work on shared structure."""

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_items", "max_str", "max_bytes", "max_repr", "max_nodes"):
            v = getattr(self, name)
            if type(v) is not int or v < 1 or v > 2**62:
                raise ValueError(f"Limits.{name} must be a positive int, not {v!r}")
        if self.max_depth > MAX_DEPTH_LIMIT:
            raise ValueError(f"Limits.max_depth must be at most {MAX_DEPTH_LIMIT}")


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True, order=True)
class Pid:
    """A process id. The sandbox uses this class for its pids; decoding produces it too."""

    n: int

    def __repr__(self) -> str:
        return f"<0.{self.n}.0>"


@dataclass(frozen=True, slots=True)
class Ref:
    """A unique reference (monitor ref, call ref, timer ref)."""

    n: int

    def __repr__(self) -> str:
        return f"#Ref<{self.n}>"


@dataclass(frozen=True, slots=True)
class Record:
    """A decoded dataclass, named tuple, exception or plain object: a type name and fields."""

    type_name: str
    fields: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.fields)
        return f"{self.type_name}({inner})"


@dataclass(frozen=True, slots=True)
class EnumValue:
    """A decoded enum member."""

    type_name: str
    name: str
    value: Any

    def __repr__(self) -> str:
        return f"{self.type_name}.{self.name}"


@dataclass(frozen=True, slots=True)
class Opaque:
    """A value with no structural form: its type name and a bounded ``repr`` (or a note saying
    why the value could not be read)."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Truncated:
    """A visible marker where a limit cut a value: what was cut, its size, a short preview.

    ``what`` is one of ``str``, ``bytes``, ``items``, ``depth``, ``size``, ``nodes``,
    ``cycle`` and ``shared`` (see ``docs/session-format.md``).
    """

    what: str
    size: int
    preview: Any = None

    def __repr__(self) -> str:
        return f"<truncated {self.what}: {self.size}>"


class Packed:
    """A value captured at one moment: its encoded payload bytes (see ``freeze``).

    Encoding a ``Packed`` (alone or inside any container) writes its bytes as they are, so a
    value frozen on the program thread is recorded exactly as it was then, however the live
    object changes later, and is never encoded twice. ``data`` must be what ``freeze`` (or
    ``encode_payload``) returned.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __eq__(self, other: object) -> bool:
        return type(other) is Packed and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"Packed({len(self.data)} bytes)"

    def decode(self) -> Any:
        """The value as a reader sees it (``decode_payload`` of the bytes)."""
        from recorder.payload._decode import decode_payload

        return decode_payload(self.data)
