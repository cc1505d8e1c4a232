"""String columns of payload text in Arrow's layout, a frame at a time, for the Parquet export.

:func:`chunk_texts` turns one chunk's payloads into its ``data`` (JSON text) and ``text``
(one-line text) items in bulk: the native reader writes each column as UTF-8 bytes one after
another with int64 offsets (no Python object per event, the GIL released, so it runs beside
the scan and the Parquet writer); what it declines (sets, bytes, NaN, ...) takes the reference
path and is spliced in. :class:`Strings` gathers the pieces of a row group and hands them to
Arrow as one string array (int32 offsets) without copying an item on its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from cinema.model.errors import ModelError
from cinema.model.export._json import JSON_DECLINED, TEXT_DECLINED, native_columns
from cinema.model.export.scope import Chunk

__all__ = ["MAX_STRINGS", "Piece", "Reference", "Strings", "chunk_texts", "patched", "slices"]

#: One run of items: UTF-8 bytes one after another and their ``n + 1`` int64 offsets (from 0).
Piece = tuple[bytes, np.ndarray]
#: ``reference(chunk, i)``: the ``data`` and ``text`` of the chunk's ``i``-th event, by the
#: reference path (``b""`` for an event without data).
Reference = Callable[[Chunk, int], tuple[bytes, bytes]]

#: Bytes a string column with int32 offsets holds at most.
MAX_STRINGS = (1 << 31) - 1
#: Encoded payload bytes read in one native call: their texts stay far below 2 GiB (a byte of
#: msgpack writes at most a few bytes of text: ``\u0001``, ``null, ``).
SLICE_BYTES = 32 << 20


class Strings:
    """A string column gathered a piece at a time as Arrow lays it out."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._ends: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self.size = 0

    def add(self, piece: Piece) -> None:
        """Append a run of items."""
        data, offsets = piece
        self._parts.append(data)
        self._ends.append(offsets[1:] + self.size)
        self.size += len(data)

    def take(self, *, null_if_empty: bool = False) -> pa.Array:
        """The gathered items as one Arrow string array (then empty again); ``null_if_empty``:
        an empty item is NULL (``data`` of an event without data: no JSON text is empty).

        Raises:
            ModelError: more than 2 GiB of text (one payload of a crafted file can say that
                much; a row group ends before it gathers that much).
        """
        offsets = np.concatenate(self._ends)
        n = len(offsets) - 1
        if offsets[-1] > MAX_STRINGS:
            raise ModelError("a payload's text is too large for a Parquet string column")
        validity = None
        nulls = 0
        if null_if_empty:
            present = offsets[1:] != offsets[:-1]
            nulls = n - int(np.count_nonzero(present))
            if nulls:
                validity = pa.py_buffer(np.packbits(present, bitorder="little"))
        data = pa.py_buffer(b"".join(self._parts))
        self._parts, self._ends, self.size = [], [np.zeros(1, dtype=np.int64)], 0
        buffers = [validity, pa.py_buffer(offsets.astype(np.int32)), data]
        return pa.Array.from_buffers(pa.string(), n, buffers, null_count=nulls)


def patched(piece: Piece, fixes: list[tuple[int, bytes]]) -> Piece:
    """``piece`` with its (empty) items at the ``fixes`` indexes (ascending) given their text."""
    data, offsets = piece
    parts: list[bytes] = []
    grown = np.zeros(len(offsets), dtype=np.int64)
    start = 0
    for i, text in fixes:
        end = int(offsets[i])
        parts.append(data[start:end])
        parts.append(text)
        grown[i + 1] = len(text)
        start = end
    parts.append(data[start:])
    return b"".join(parts), offsets + np.cumsum(grown)


def joined(items: list[bytes]) -> Piece:
    """Items given one by one, as a piece."""
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, items), np.int64, len(items)), out=offsets[1:])
    return b"".join(items), offsets


def slices(lengths: np.ndarray, limit: int = SLICE_BYTES) -> list[tuple[int, int]]:
    """``[a, b)`` runs of payloads of at most ``limit`` encoded bytes (a payload larger than
    that is a run of its own)."""
    ends = np.cumsum(lengths)
    if not len(ends) or int(ends[-1]) <= limit:
        return [(0, len(lengths))]
    out = []
    a, base = 0, 0
    while a < len(lengths):
        b = max(int(np.searchsorted(ends, base + limit, side="right")), a + 1)
        out.append((a, b))
        base = int(ends[b - 1])
        a = b
    return out


def chunk_texts(chunk: Chunk, reference: Reference) -> list[tuple[Piece, Piece]]:
    """The ``(data, text)`` pieces of the chunk's events, in order (module docs)."""
    lengths, block = chunk.payload_run()
    ends = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ends[1:])
    view = memoryview(block)
    out: list[tuple[Piece, Piece]] = []
    for a, b in slices(lengths):
        got = native_columns(lengths[a:b], view[int(ends[a]) : int(ends[b])])
        if got is None:  # no native module: everything by the reference path
            both = [reference(chunk, i) for i in range(a, b)]
            out.append((joined([j for j, _ in both]), joined([t for _, t in both])))
            continue
        assert got.jsons is not None and got.json_offsets is not None
        assert got.texts is not None and got.text_offsets is not None
        data: Piece = (got.jsons, got.json_offsets)
        text: Piece = (got.texts, got.text_offsets)
        fix = np.flatnonzero(got.declined)
        if len(fix):
            data_fixes: list[tuple[int, bytes]] = []
            text_fixes: list[tuple[int, bytes]] = []
            for i in fix.tolist():
                j, t = reference(chunk, a + i)
                if got.declined[i] & JSON_DECLINED:
                    data_fixes.append((i, j))
                if got.declined[i] & TEXT_DECLINED:
                    text_fixes.append((i, t))
            if data_fixes:
                data = patched(data, data_fixes)
            if text_fixes:
                text = patched(text, text_fixes)
        out.append((data, text))
    return out
