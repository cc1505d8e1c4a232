"""Type stub of the native module (sources: recorder/_native/*.c)."""

from collections.abc import Callable
from typing import Any

from recorder.payload._buffer import EventBatch
from recorder.payload._types import Limits, Packed

API_VERSION: int

def setup(
    default_limits: Limits,
    pid: type,
    ref: type,
    packed: type,
    ext_type: type,
    batch: type,
    field_marker: object,
    bigint_max_bits: int,
    /,
) -> None: ...
def encode(value: Any, limits: Limits | None = None, /) -> bytes: ...
def ts_deltas(ts: bytes, /) -> bytes: ...
def mailbox_cells(
    envelopes: Any, limit: int, limits: Limits | None, /
) -> tuple[bytes, list[tuple[int, int]], tuple[tuple[Any, ...], ...]] | None: ...
def payload_texts(
    block: bytes,
    offsets: Any,
    index: Any,
    json: bool,
    text: bool,
    head: int,
    key: str,
    wrappers: tuple[str, ...],
    /,
) -> tuple[list[str | None] | None, list[str | None] | None, list[str | None] | None]: ...
def payload_columns(
    block: bytes | memoryview, offsets: Any, index: Any, json: bool, text: bool, /
) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None, bytes]: ...
def trace_events(
    seq: Any,
    ts: Any,
    kind: Any,
    pid: Any,
    peer: Any,
    ref: Any,
    texts: list[Any],
    heads: list[str | None],
    t0: int,
    inflight: dict[int, str],
    handler: dict[int, list[Any]],
    last_ts: dict[int, int],
    where: dict[int, str],
    where_fn: Callable[[int], str],
    labels: dict[int, str],
    label_fn: Callable[[int], str],
    quote: Callable[[str], str],
    cats: list[str],
    kind_names: list[str],
    /,
) -> bytes: ...
def freeze(value: Any, limits: Limits | None = None) -> Packed: ...
def freeze_after(value: Any, prefix: bytes, /) -> tuple[Packed, Packed]: ...
def frame_tally(
    kinds: bytes, pids: bytes, /
) -> tuple[list[tuple[int, int]], int, bytes, bytes]: ...
def scan(data: bytes | memoryview, max_nesting: int, hash_check: int, /) -> int: ...

class EventBuffer:
    def __init__(self, clock: Callable[[], int] = ..., limits: Limits = ...) -> None: ...
    def emit(
        self, kind: int, pid: int, peer: int = ..., ref: int = ..., data: Any = None
    ) -> None: ...
    def take(self) -> EventBatch: ...
    def __len__(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def clock(self) -> Callable[[], int]: ...
    @property
    def limits(self) -> Limits: ...
    threshold: int
    on_threshold: Callable[[], object] | None

class MonotonicClock:
    def __init__(self, origin: int = 0) -> None: ...
    def __call__(self) -> int: ...
    @property
    def origin(self) -> int: ...

def ints_in(col: Any, lo: int, hi: int, optional: bool, /) -> bool: ...
def nested_ints_in(col: Any, lo: int, hi: int, /) -> bool: ...
def rows_in(col: Any, width: int, lo2: int, hi2: int, sender: bool, /) -> bool: ...
