"""The ``jsonl`` export: one event row per line, exactly as ``cinema events --json`` prints it
(the rows of :func:`cinema.model.present.event_row`, ``docs/json-schema.md``)."""

from __future__ import annotations

import json
from typing import IO, Any

from cinema.model.export.redact import Redactor
from cinema.model.export.scope import ExportNames, ExportOptions, Progress, chunks
from cinema.model.present import event_row
from cinema.model.session import Session

__all__ = ["write_jsonl"]


def write_jsonl(
    session: Session, lo: int, hi: int, opts: ExportOptions, redactor: Redactor, out: IO[bytes],
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Write the selected events of ``lo <= seq < hi`` as JSON Lines; one write per frame."""
    names = ExportNames(session, redactor)
    dumps = json.JSONEncoder(allow_nan=False).encode  # what json.dumps(row, allow_nan=False) does
    n = 0
    for chunk in chunks(session, lo, hi, opts, redactor, progress):
        lines = [dumps(event_row(names, ev)) for ev in chunk.events()]
        if lines:
            out.write(("\n".join(lines) + "\n").encode("utf-8"))
            n += len(lines)
    return {"events": n}
