"""The Parquet export's bulk path writes what the reference path writes, value for value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import pyarrow.parquet as pq
import pytest

from cinema.model.export import _json, parquet
from cinema.model.export._columns import patched, slices
from cinema.model.export.scope import ExportOptions, export_session
from cinema.model.session import Session
from recorder.events import NO_PEER, EventKind
from recorder.payload import NATIVE
from recorder.session.writer import Recorder


class _Slotted:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<function pkg.mod.f.<locals>.g at 0x7f3a9b>"


#: Payloads the native reader says itself, and ones it leaves to the reference (sets, bytes,
#: NaN, big integers, maps with non-string keys, more than 16 keys, a repeated key), floats
#: (redone holding the GIL), reprs to clean, non-ASCII text.
_PAYLOADS: list[Any] = [
    ("hello", 1, [1, 2]),
    {"trigger": "call", "state": {"n": 1, "seen": {3, 1, 2}}},
    b"\x00\xffbytes",
    float("nan"),
    2**80,
    {1: "int key"},
    {f"k{i}": i for i in range(20)},
    1.25,
    {"f": [0.1, -2.5e-9]},
    _Slotted(),
    "naïve ☃ \u2028 \x85",
    None,
    ("$call", ("get", "w1")),
]


@pytest.fixture
def odd_session(tmp_path: Path) -> Path:
    path = tmp_path / "odd.cinema"
    clock = iter(range(0, 10**9, 1000))
    with Recorder(path, clock=lambda: next(clock), wall_clock=lambda: 0, frame_events=16,
                  flush_interval=None) as rec:  # fmt: skip
        for pid in (0, 1):
            rec.emit(EventKind.SPAWN, pid, NO_PEER, 0, {"name": f"p{pid}", "parent": NO_PEER})
        for i in range(150):
            rec.emit(EventKind.SEND, i % 2, 1 - i % 2, i + 1, _PAYLOADS[i % len(_PAYLOADS)])
        # a repeated key only a hand-made payload has
        rec.emit(EventKind.MARKER, 0, NO_PEER, 0, None)
    return path


def _export(session: Path, out: Path) -> Any:
    with Session.open(session) as s:
        export_session(s, out, ExportOptions(format="parquet"))
    return pq.read_table(out)


@pytest.mark.skipif(not NATIVE, reason="the native module is not built")
def test_the_bulk_path_writes_what_the_reference_path_writes(
    odd_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "ROW_GROUP", 40)  # several row groups, frames across them
    fast = _export(odd_session, tmp_path / "fast.parquet")
    monkeypatch.setattr(_json, "_payload_columns", None)
    slow = _export(odd_session, tmp_path / "slow.parquet")
    assert fast.schema == slow.schema and fast.num_rows == slow.num_rows == 153
    for name in fast.column_names:
        a, b = fast[name].to_pylist(), slow[name].to_pylist()
        assert a == b, name
    assert pq.ParquetFile(tmp_path / "fast.parquet").metadata.num_row_groups == 4
    data = fast["data"].to_pylist()
    assert data[0] is not None and data[-1] is None  # an event without data: NULL
    texts = fast["text"].to_pylist()
    assert "<function g>" in texts and any("naïve" in t for t in texts)


def test_patched_fills_the_declined_items_in_order() -> None:
    import numpy as np

    data, offsets = b"abcd", np.array([0, 2, 2, 4, 4], dtype=np.int64)
    got, offs = patched((data, offsets), [(1, b"XYZ"), (3, b"")])
    assert got == b"abXYZcd" and offs.tolist() == [0, 2, 5, 7, 7]
    got, offs = patched((b"", np.array([0, 0], dtype=np.int64)), [(0, b"Q")])
    assert got == b"Q" and offs.tolist() == [0, 1]


def test_slices_bound_the_bytes_of_one_native_call() -> None:
    import numpy as np

    lengths = np.array([5, 5, 20, 1, 1, 1], dtype=np.int64)
    assert slices(lengths, limit=100) == [(0, 6)]
    assert slices(lengths, limit=10) == [(0, 2), (2, 3), (3, 6)]
    assert slices(np.zeros(0, dtype=np.int64), limit=10) == [(0, 0)]


def test_a_hand_made_payload_with_a_repeated_key_is_said_by_the_reference() -> None:
    import numpy as np

    raw = b"\x82\xa1a\x01\xa1a\x02"  # {"a": 1, "a": 2}
    got = _json.native_columns(np.array([len(raw)], dtype=np.int64), raw)
    if got is None:
        pytest.skip("the native module is not built")
    assert got.declined.tolist() == [_json.JSON_DECLINED | _json.TEXT_DECLINED]
    assert msgpack.unpackb(raw) == {"a": 2}
