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

    Raises:
        SidecarError: unreadable, not JSON, not a breakpoint file, a newer version, or a
            malformed breakpoint / bookmark.
        FileNotFoundError: there is no such file.
    """
    p = Path(path)
    if p.stat().st_size > _MAX_BYTES:
        raise SidecarError(f"{p}: too large for a breakpoint file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SidecarError(f"{p}: not a breakpoint file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise SidecarError(
            f"{p}: corrupt breakpoint file (invalid JSON at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SidecarError(f'{p}: not a Cinema breakpoint file (no "format": "{FORMAT}")')
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SidecarError(f"{p}: breakpoint file has no version number")
    if version > VERSION:
        raise SidecarError(
            f"{p}: breakpoint file version {version} is newer than this Cinema reads ({VERSION})"
        )
    try:
        bps = BreakpointSet.from_json(doc.get("breakpoints", []))
    except ModelError as exc:
        raise SidecarError(f"{p}: {exc}") from None
    marks = doc.get("bookmarks", [])
    if not isinstance(marks, list):
        raise SidecarError(f"{p}: bookmarks must be a JSON list")
    bookmarks: list[Bookmark] = []
    for i, m in enumerate(marks, 1):
        seq = m.get("seq") if isinstance(m, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise SidecarError(f"{p}: bookmark {i} has no valid event number")
        bookmarks.append(Bookmark(seq, str(m.get("note") or "")))
    return bps, bookmarks
