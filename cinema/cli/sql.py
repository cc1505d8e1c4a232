"""``cinema sql``: SQL over a session (or its Parquet export) with DuckDB."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

__all__ = ["command"]


@click.command("sql")
@click.argument("source", type=click.Path(exists=False))
@click.argument("query")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True, help="table: aligned text; csv; json: one JSON object per row (lines).",
)  # fmt: skip
@click.option(
    "--max-width", type=click.IntRange(min=8), default=60, show_default=True,
    help="Cut table cells to this many characters (table format only).",
)  # fmt: skip
@click.option(
    "--allow-files", is_flag=True,
    help="Let the query read and write files (COPY ... TO, read_csv, ATTACH). Off: the query "
    "sees only the session's tables, so one a teammate sends cannot touch your files.",
)  # fmt: skip
def command(source: str, query: str, fmt: str, max_width: int, allow_files: bool) -> None:
    """Run the SQL QUERY over SOURCE: a session file, a Parquet export (a .parquet file, the
    events table), or a folder of them (each NAME.parquet is table NAME).

    Tables (docs/sql.md): events (seq, ts, t, kind, pid, process, peer, peer_process, ref,
    data as typed JSON, text), messages (msg_id, send_seq, outcome_seq, outcome, sender,
    receiver, sender_process, receiver_process, sent_t, latency_ns, size_bytes) and
    processes (pid, name, behaviour, node, parent, supervisor, spawn_seq, end_seq, ended).
    Payloads are decoded only when the query names data or text (or selects *).

    The query reads these tables and nothing else: file access (COPY, read_csv, ATTACH, ...),
    extensions and settings are refused unless --allow-files is given.

    \b
    Examples:
      cinema sql run.cinema "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY 2 DESC"
      cinema sql run.cinema "SELECT receiver_process, max(latency_ns) FROM messages GROUP BY 1"
      cinema sql run.cinema "SELECT seq, data->>'$.reason' FROM events WHERE kind = 'crash'"
      cinema sql export.parquet "SELECT process, count(*) FROM events GROUP BY 1" --format csv
    """
    from cinema.model import sql
    from cinema.model.errors import ModelError

    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", source)
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a dependency, but say what is missing
        raise ModelError("cinema sql needs DuckDB: pip install duckdb pyarrow") from None
    if path.is_dir() or path.suffix == ".parquet":
        con = sql.connect(parquet=sql.parquet_tables(path), allow_files=allow_files)
    else:
        from cinema.model.session import Session

        needed, payloads = sql.needed_tables(query)
        s = Session.open(path)
        con = sql.connect(sql.session_tables(s, needed, payloads=payloads), allow_files=allow_files)
    try:
        result = con.execute(query)
        columns = [d[0] for d in result.description] if result.description else []
        rows = result.fetchall() if columns else []
    except duckdb.Error as exc:
        if sql.is_refusal(exc):
            raise ModelError(sql.refusal(con, query, exc)) from None
        raise ModelError(f"SQL: {str(exc).strip()}") from None
    if fmt == "json":
        for line in sql.rows_json(columns, rows):
            click.echo(line)
    elif fmt == "csv":
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(columns)
        out.writerows(["" if v is None else v for v in r] for r in rows)
    else:
        _table(columns, rows, max_width)


def _table(columns: list[str], rows: list[tuple[object, ...]], width: int) -> None:
    def cell(v: object) -> str:
        text = "NULL" if v is None else str(v).replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cell(v) for v in r] for r in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
               for i in range(len(columns))]  # fmt: skip

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    click.echo(line(columns))
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo(line(r))
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
