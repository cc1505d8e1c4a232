"""Bookmarks, and the breakpoint file kept beside a session (``<session>.cinema-bp.json``).

The file is versioned JSON::

    {"format": "cinema-breakpoints", "version": 1,
     "breakpoints": [{"id": "bp1", "condition": {"type": "state", "field": "balance",
                      "op": "<", "value": 0, "process": null}, "action": "pause", ...}],
     "bookmarks": [{"seq": 120, "note": "first overdraft"}]}

A reader refuses a newer major version and any malformed content with a
:class:`SidecarError` that names the file and the problem; it never evaluates what it reads
(expressions are parsed by :mod:`cinema.model.expr`, never run as Python).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinema.model.breakpoints import BreakpointSet
from cinema.model.errors import ModelError

__all__ = [
    "FORMAT",
    "VERSION",
    "Bookmark",
    "SidecarError",
    "load_sidecar",
    "save_sidecar",
    "sidecar_path",
]

FORMAT = "cinema-breakpoints"
VERSION = 1
_MAX_BYTES = 16 * 1024 * 1024
MAX_BREAKPOINTS = 1000
MAX_BOOKMARKS = 100_000


class SidecarError(ModelError):
    """A breakpoint file that cannot be used (the message names the file and the reason)."""


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A remembered event with a note."""

    seq: int
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "note": self.note}


def sidecar_path(session_path: str | os.PathLike[str]) -> Path:
    """``<session>.cinema-bp.json`` beside the session file."""
    p = Path(session_path)
    return p.with_name(p.name + ".cinema-bp.json")


def save_sidecar(
    path: str | os.PathLike[str],
    breakpoints: BreakpointSet,
    bookmarks: list[Bookmark] = (),  # type: ignore[assignment]
) -> Path:
    """Write breakpoints and bookmarks to ``path`` atomically (write, then rename)."""
    target = Path(path)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "breakpoints": breakpoints.to_json(),
        "bookmarks": [b.to_json() for b in sorted(bookmarks, key=lambda b: b.seq)],
    }
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def load_sidecar(path: str | os.PathLike[str]) -> tuple[BreakpointSet, list[Bookmark]]:
    """Read a breakpoint file.

    Whatever the file holds (JSON nested 100,000 deep, a 5,000-digit number, an expression or
    regular expression that cannot be compiled, a FIFO), the only errors are these two.

    Raises:
        SidecarError: unreadable, not JSON, not a breakpoint file, a newer version, a
            malformed breakpoint / bookmark, or more than the limits allow.
        FileNotFoundError: there is no such file.
    """
    p = Path(path)
    try:
        doc = _read_json(p)
        return _from_doc(p, doc)
    except SidecarError:
        raise
    except (ModelError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # a breakpoint whose condition cannot be built (whatever the reason) spoils the file
        raise SidecarError(f"{p}: unusable breakpoint file ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _read_json(p: Path) -> Any:
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SidecarError(f"{p}: not a regular file")
        if st.st_size > _MAX_BYTES:
            raise SidecarError(f"{p}: too large for a breakpoint file")
        raw = f.read(_MAX_BYTES + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SidecarError(f"{p}: not a breakpoint file (not UTF-8 text)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SidecarError(
            f"{p}: corrupt breakpoint file (invalid JSON at line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # 5,000 digits; arrays 100,000 deep
        raise SidecarError(f"{p}: corrupt breakpoint file ({_short(exc)})") from None


def _from_doc(p: Path, doc: Any) -> tuple[BreakpointSet, list[Bookmark]]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SidecarError(f'{p}: not a Cinema breakpoint file (no "format": "{FORMAT}")')
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SidecarError(f"{p}: breakpoint file has no version number")
    if version > VERSION:
        raise SidecarError(
            f"{p}: breakpoint file version {version} is newer than this Cinema reads ({VERSION})"
        )
    items = doc.get("breakpoints", [])
    if isinstance(items, list) and len(items) > MAX_BREAKPOINTS:
        raise SidecarError(f"{p}: more than {MAX_BREAKPOINTS:,} breakpoints")
    try:
        bps = BreakpointSet.from_json(items)
    except ModelError as exc:
        raise SidecarError(f"{p}: {exc}") from None
    marks = doc.get("bookmarks", [])
    if not isinstance(marks, list):
        raise SidecarError(f"{p}: bookmarks must be a JSON list")
    if len(marks) > MAX_BOOKMARKS:
        raise SidecarError(f"{p}: more than {MAX_BOOKMARKS:,} bookmarks")
    bookmarks: list[Bookmark] = []
    for i, m in enumerate(marks, 1):
        seq = m.get("seq") if isinstance(m, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 1 << 63:
            raise SidecarError(f"{p}: bookmark {i} has no valid event number")
        note = m.get("note") or ""
        if not isinstance(note, str):
            raise SidecarError(f"{p}: bookmark {i} has a note that is not text")
        bookmarks.append(Bookmark(seq, note))
    return bps, bookmarks
