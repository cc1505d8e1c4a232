"""Export of a session for a teammate: redaction, then one of four formats.

``cinema export`` and File › Export… run :func:`export_session`: the events of a range and of
some processes (and kinds), streamed a frame at a time in bounded memory, every payload, state,
mailbox and traceback redacted (:mod:`.redact`), written as

- ``cinema``: a bundle that opens in Cinema like any session (:mod:`.bundle`);
- ``chrome-trace``: the Trace Event Format for Perfetto and chrome://tracing (:mod:`.chrome`);
- ``jsonl``: one event row per line, the rows of ``cinema events --json`` (:mod:`.jsonl`);
- ``parquet``: the event columns for DuckDB, Spark or Trino (:mod:`.parquet`).

``docs/export.md`` describes each format and the redaction rules.
"""

from cinema.model.export.redact import DEFAULT_KEYS, Redactor, Report, Rules
from cinema.model.export.scope import FORMATS, ExportOptions, ExportResult, export_session

__all__ = [
    "DEFAULT_KEYS",
    "FORMATS",
    "ExportOptions",
    "ExportResult",
    "Redactor",
    "Report",
    "Rules",
    "export_session",
]
