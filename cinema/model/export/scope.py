"""What an export takes (range, processes, kinds, redaction) and the one streaming pass over it.

:func:`chunks` walks the chosen events a frame at a time (:meth:`SessionReader.scan`, bounded
memory whatever the session's size): each :class:`Chunk` holds one frame's selected rows as
numpy columns and their payloads, already redacted. Every format reads events this way, so
redaction happens in one place, before a byte is written. :func:`export_session` picks the
format's writer and writes to a hidden file beside the target, renamed over it when complete
(a failed export never leaves half a file, nor destroys one that was there).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from cinema.model.errors import ModelError
from cinema.model.export.redact import Redactor, Report, Rules
from cinema.model.session import Session
from recorder.events import KIND_NAMES, Event, EventKind
from recorder.payload import PayloadError, decode_payload
from recorder.session.format import SessionFormatError
from recorder.session.scan import FrameScan

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Chunk",
    "ExportNames",
    "ExportOptions",
    "ExportResult",
    "Progress",
    "chunks",
    "export_session",
    "moment_range",
    "preview",
    "roots_of",
]

#: The formats, in the order the CLI and the dialog offer them.
FORMATS = ("cinema", "chrome-trace", "jsonl", "parquet")
#: The file suffix of each format (what ``cinema export`` guesses the format from).
SUFFIXES = {"cinema": ".cinema", "chrome-trace": ".json", "jsonl": ".jsonl", "parquet": ".parquet"}
#: ``progress(events_done, events_total)``: called after each frame.
Progress = Callable[[int, int], object]


@dataclass(frozen=True)
class ExportOptions:
    """One export.

    Attributes:
        format: one of :data:`FORMATS`.
        seq_from, seq_to: inclusive event numbers (``None``: the first / last event).
        processes: pids; an event is kept when its process or its peer is one of them
            (``None``: every process).
        kinds: kind codes to keep (``None``: all; not for the ``cinema`` bundle, which keeps
            every kind so that it replays).
        rules: what to redact (the default key names unless told otherwise).
        note: the exporter's note, carried by the bundle (and the chrome-trace metadata).
        breakpoints: breakpoints as their JSON form (``BreakpointSet.to_json()``), for the
            bundle.
        bookmarks: ``(seq, note)`` pairs of the original, for the bundle (renumbered there).
        on_damage: for chrome-trace, jsonl and parquet, told of each frame of a damaged file
            that cannot be read, which the export then leaves out (``None``: the export
            stops there with the error). A bundle always stops: its events are renumbered
            from #0 and a hole would shift them.
    """

    format: str = "cinema"
    seq_from: int | None = None
    seq_to: int | None = None
    processes: Sequence[int] | None = None
    kinds: Sequence[int] | None = None
    rules: Rules = field(default_factory=Rules)
    note: str = ""
    breakpoints: Sequence[Mapping[str, Any]] | None = None
    bookmarks: Sequence[tuple[int, str]] | None = None
    on_damage: Callable[[SessionFormatError], None] | None = field(default=None, compare=False)

    def check(self, session: Session) -> tuple[int, int]:
        """The event numbers ``lo <= seq < hi`` to export.

        Raises:
            ModelError: an unknown format, an empty or reversed range, ``kinds`` with the
                bundle.
        """
        if self.format not in FORMATS:
            raise ModelError(f"unknown export format {self.format!r}: one of {', '.join(FORMATS)}")
        n = session.event_count
        if n == 0:
            raise ModelError("the session has no events to export")
        lo = 0 if self.seq_from is None else self.seq_from
        hi = n - 1 if self.seq_to is None else self.seq_to
        if not (0 <= lo < n and 0 <= hi < n):
            raise ModelError(f"export range #{lo} to #{hi} is outside the session (#0 to #{n - 1})")
        if hi < lo:
            raise ModelError(f"export range is empty: #{lo} comes after #{hi}")
        if self.kinds is not None and self.format == "cinema":
            raise ModelError(
                "--kind applies to chrome-trace, jsonl and parquet: a cinema bundle keeps every "
                "kind of event, so that it replays the world"
            )
        return lo, hi + 1


@dataclass
class ExportResult:
    """What an export wrote."""

    path: str
    format: str
    events: int
    bytes: int
    report: Report
    extra: dict[str, Any] = field(default_factory=dict)


class ExportNames:
    """Process names as exports show them (the regex rules applied) and the session's first
    timestamp: what :func:`cinema.model.present.event_row` needs."""

    def __init__(self, session: Session, redactor: Redactor) -> None:
        self.t_first = session.t_first
        self._session = session
        self._redactor = redactor
        self._names: dict[int, str] = {}

    def process_name(self, pid: int) -> str:
        name = self._names.get(pid)
        if name is None:
            name = self._names[pid] = self._redactor.text(
                self._session.process_name(pid), "process name"
            )
        return name


def roots_of(kind: int) -> list[tuple[str, ...]]:
    """The rule roots an event's data has (``docs/export.md``): a SEND's data is a message."""
    if kind == EventKind.SEND:
        return [("data",), ("message",)]
    return [("data",)]


class Chunk:
    """The selected events of one frame: columns (numpy) and redacted payloads."""

    __slots__ = ("_block", "_offsets", "_redacted", "_skip", "kind", "peer", "pid", "ref",
                 "rows", "seq", "ts")  # fmt: skip

    def __init__(self, fs: FrameScan, rows: np.ndarray, redactor: Redactor) -> None:
        self.rows = rows
        self.seq = rows + fs.first_seq
        self.ts = fs.ts[rows]
        self.kind = fs.kind[rows]
        self.pid = fs.pid[rows]
        self.peer = fs.peer[rows]
        self.ref = fs.refs()[rows]
        block, offsets = fs.payload_block()
        self._block, self._offsets = block, offsets
        self._redacted: dict[int, bytes] = {}
        self._skip = fs.skip
        if redactor.active:
            hit = redactor.candidates(block, offsets)
            if len(hit):
                # rows of this scan -> indexes into the frame's payload table
                wanted = np.intersect1d(hit, rows + fs.skip)
                kinds = fs.kind
                for k in wanted.tolist():
                    j = k - fs.skip
                    raw = block[int(offsets[k]) : int(offsets[k + 1])]
                    kind = int(kinds[j])
                    where = KIND_NAMES.get(kind, f"kind {kind}")
                    new = redactor.payload(raw, roots_of(kind), where, fs.first_seq + j)
                    if new is not raw:
                        self._redacted[j] = new

    def __len__(self) -> int:
        return len(self.rows)

    def payload(self, i: int) -> bytes:
        """The (redacted) encoded payload of the ``i``-th selected event."""
        j = int(self.rows[i])
        got = self._redacted.get(j)
        if got is not None:
            return got
        k = j + self._skip
        return self._block[int(self._offsets[k]) : int(self._offsets[k + 1])]

    def payload_bytes(self) -> int:
        """About how many encoded payload bytes the selected events hold (no more than the
        frame's payloads from the first selected to the last, plus what redaction rewrote)."""
        rows = self.rows
        if not len(rows):
            return 0
        a, b = int(rows[0]) + self._skip, int(rows[-1]) + self._skip + 1
        extra = sum(len(v) for v in self._redacted.values())
        return int(self._offsets[b]) - int(self._offsets[a]) + extra

    def payload_run(self) -> tuple[np.ndarray, bytes]:
        """``(lengths, block)``: the (redacted) encoded payloads of every selected event, one
        after another in ``block`` (one slice of the frame's block when the selection is a run
        of events nothing was redacted in: a range cut copies payloads without a Python step
        per event)."""
        rows = self.rows
        n = len(rows)
        if n and not self._redacted and int(rows[-1]) - int(rows[0]) + 1 == n:
            a = int(rows[0]) + self._skip
            offs = self._offsets[a : a + n + 1].astype(np.int64)
            return np.diff(offs), self._block[int(offs[0]) : int(offs[-1])]
        parts = [self.payload(i) for i in range(n)]
        return np.fromiter(map(len, parts), np.int64, n), b"".join(parts)

    def data(self, i: int) -> Any:
        """The decoded (redacted) data of the ``i``-th selected event.

        Raises:
            SessionFormatError: the payload is corrupt.
        """
        raw = self.payload(i)
        if not raw:
            return None
        try:
            return decode_payload(raw)
        except PayloadError as exc:
            raise SessionFormatError(f"event {int(self.seq[i])}: {exc}") from None

    def events(self) -> Iterator[Event]:
        """The selected events, data decoded and redacted."""
        seq, ts, kind = self.seq.tolist(), self.ts.tolist(), self.kind.tolist()
        pid, peer, ref = self.pid.tolist(), self.peer.tolist(), self.ref.tolist()
        for i in range(len(seq)):
            yield Event(seq[i], ts[i], kind[i], pid[i], peer[i], ref[i], self.data(i))


def chunks(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor,
    progress: Progress | None = None,
) -> Iterator[Chunk]:  # fmt: skip
    """The selected events of ``lo <= seq < hi``, a frame at a time (module docs)."""
    kinds_table: np.ndarray | None = None
    if opts.kinds is not None:
        kinds_table = np.zeros(256, dtype=bool)
        kinds_table[np.asarray(list(opts.kinds), dtype=np.int64) & 0xFF] = True
    pids = None if opts.processes is None else np.asarray(sorted(opts.processes), dtype=np.int64)

    def select(fs: FrameScan) -> np.ndarray:
        mask = np.ones(len(fs), dtype=bool) if kinds_table is None else kinds_table[fs.kind]
        if pids is not None:
            mask &= np.isin(fs.pid, pids) | np.isin(fs.peer, pids)
        return np.flatnonzero(mask)

    total = hi - lo
    skip = opts.on_damage if opts.format != "cinema" else None
    for fs in session.reader.scan(lo, hi, where=select, on_error=skip):
        assert fs.rows is not None
        yield Chunk(fs, fs.rows, redactor)
        if progress is not None:
            progress(fs.first_seq + len(fs) - lo, total)
    if progress is not None:
        progress(total, total)


def moment_range(session: Session, t_from: str | None, t_to: str | None) -> tuple[int, int]:
    """``--from`` / ``--to`` texts (``#120``, ``1.5s``; empty: the ends) as inclusive event
    numbers; a time keeps every event at that time.

    Raises:
        ModelError: a text that is not a moment, or a range with no event.
    """
    from cinema.model.moments import parse_moment

    n = session.event_count
    if n == 0:
        raise ModelError("the session has no events to export")
    lo, hi = 0, n - 1
    if t_from and t_from.strip():
        m = parse_moment(session, t_from)
        if m.seq is not None:
            lo = session.check_seq(m.seq)
        else:
            assert m.t_ns is not None
            lo = 0 if m.t_ns <= session.t_first else (
                n if m.t_ns > session.t_last else session.seq_at_time(m.t_ns - 1) + 1
            )  # fmt: skip
    if t_to and t_to.strip():
        m = parse_moment(session, t_to)
        if m.seq is not None:
            hi = session.check_seq(m.seq)
        else:
            assert m.t_ns is not None
            hi = (
                -1 if m.t_ns < session.t_first else session.seq_at_time(min(m.t_ns, session.t_last))
            )
    if hi < lo or lo >= n:
        raise ModelError(f"no event between --from {t_from} and --to {t_to}")
    return lo, hi


def preview(session: Session, opts: ExportOptions, limit: int = 5000) -> tuple[Report, int]:
    """What the redaction rules cut in the first ``limit`` events the export would write:
    ``(report, events looked at)`` (the File › Export… dialog shows it before exporting).

    Raises:
        ModelError: bad options.
    """
    lo, hi = opts.check(session)
    redactor = Redactor(opts.rules)
    seen = 0
    for chunk in chunks(session, lo, min(hi, lo + limit), opts, redactor):
        seen += len(chunk)
    return redactor.report, seen


Writer = Callable[[Session, int, int, ExportOptions, Redactor, IO[bytes], Progress | None],
                  dict[str, Any]]  # fmt: skip


def _writer(fmt: str) -> Writer:
    if fmt == "jsonl":
        from cinema.model.export.jsonl import write_jsonl

        return write_jsonl
    if fmt == "parquet":
        from cinema.model.export.parquet import write_parquet

        return write_parquet
    if fmt == "chrome-trace":
        from cinema.model.export.chrome import write_chrome_trace

        return write_chrome_trace
    from cinema.model.export.bundle import write_bundle

    return write_bundle


def export_session(
    session: Session, out: str | os.PathLike[str], opts: ExportOptions,
    progress: Progress | None = None,
) -> ExportResult:  # fmt: skip
    """Export ``session`` to ``out`` as ``opts`` says (module docs).

    Raises:
        ModelError: bad options, or ``out`` is the session itself.
        SessionFormatError: the session is corrupt in the range exported.
        OSError: the target cannot be written.
    """
    lo, hi = opts.check(session)
    target = Path(out)
    src = session.reader.path
    if src is not None and target.exists() and os.path.samefile(src, target):
        raise ModelError(f"{target}: the export would overwrite the session it reads")
    if target.is_dir():
        raise ModelError(f"{target}: is a directory; name the file to write")
    redactor = Redactor(opts.rules)
    real = Path(os.path.realpath(target))  # a symlink keeps pointing at the export
    mode = real.stat().st_mode if real.exists() else None
    if mode is not None and not stat.S_ISREG(mode):
        # a device (/dev/null, /dev/stdout ...) is written in place: renaming a file over it
        # would destroy it; a FIFO would block until someone reads it
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise ModelError(f"{target}: is a FIFO or socket; name a regular file to write")
        with open(real, "wb") as f:
            extra = _writer(opts.format)(session, lo, hi, opts, redactor, f, progress)
        return ExportResult(
            str(target), opts.format, int(extra.pop("events", 0)), 0, redactor.report, extra
        )
    folder = real.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".export", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            extra = _writer(opts.format)(session, lo, hi, opts, redactor, f, progress)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))  # the file it replaces keeps its permissions
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return ExportResult(
        str(target), opts.format, int(extra.pop("events", 0)), target.stat().st_size,
        redactor.report, extra,
    )  # fmt: skip
