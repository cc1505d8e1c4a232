"""``cinema export``: a session (or a cut of it) for a teammate, redacted, in one of four
formats."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from cinema.cli._model_args import TIME_HELP, session_argument

__all__ = ["command"]

_FORMATS = ("cinema", "chrome-trace", "jsonl", "parquet")


def _sidecar(session: str) -> tuple[list[Any] | None, list[tuple[int, str]] | None]:
    """The breakpoints and bookmarks kept beside the session, for a bundle (none: none)."""
    from cinema.model.sidecar import load_sidecar, sidecar_path

    path = sidecar_path(session)
    if not path.exists():
        return None, None
    bps, marks = load_sidecar(path)
    return bps.to_json(), [(m.seq, m.note) for m in marks]


class _Bar:
    """A rich progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str) -> None:
        self._progress: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} events"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )  # fmt: skip
            self._task = self._progress.add_task(label, total=None)

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)


@click.command("export")
@session_argument
@click.option(
    "--output",
    "-o",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="OUT",
    help="The file to write. An existing file is kept unless --force is given (even then it is "
    "replaced only once the export is complete).",
)
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(_FORMATS),
    default=None,
    help="cinema (a bundle Cinema opens), chrome-trace (Perfetto, chrome://tracing), "
    "jsonl (the rows of `cinema events --json`) or parquet (DuckDB, Spark, Trino). "
    "Default: from OUT's suffix (.cinema .json .jsonl .parquet), else cinema.",
)
@click.option("--from", "t_from", metavar="T", help=f"Start at T: {TIME_HELP}.")
@click.option("--to", "t_to", metavar="T", help=f"End at T (inclusive): {TIME_HELP}.")
@click.option(
    "--process",
    "-p",
    "processes",
    multiple=True,
    metavar="P",
    help="Only events of this process, as actor or peer (pid or name). Repeatable.",
)
@click.option(
    "--kind",
    "-k",
    "kinds",
    multiple=True,
    metavar="K",
    help="Only events of this kind (not for the cinema bundle). Repeatable.",
)
@click.option(
    "--redact",
    "rules",
    multiple=True,
    metavar="RULE",
    help="Also redact: key:NAME[,NAME] (a map key or field name), path:ROOT.FIELD "
    "(roots data, message, state, reason; * for any), re:REGEX or /REGEX/ (in every "
    "string). 'none' drops the default keys (password, token, secret, authorization, "
    "api_key). Repeatable.",
)
@click.option("--note", default="", metavar="TEXT", help="A note for the teammate.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def command(
    session: str, output: str, fmt: str | None, t_from: str | None, t_to: str | None,
    force: bool, processes: tuple[str, ...], kinds: tuple[str, ...], rules: tuple[str, ...],
    note: str, as_json: bool,
) -> None:  # fmt: skip
    """Export SESSION (or a cut of it) to OUT, redacted, for a teammate.

    Every payload, state, mailbox, exit reason and crash traceback is redacted first: values
    under the keys password, token, secret, authorization and api_key (and what --redact adds)
    become markers like "[redacted str 8-15]"; the report of what was cut where (never the
    values) goes into the bundle and is summed up here. The export streams: any size of
    session runs in bounded memory, with a progress bar on a terminal. See docs/export.md.

    \b
    Examples:
      cinema export run.cinema -o cut.cinema --from 1.5s --to 2s --note "the overdraft"
      cinema export run.cinema -o run.json            # open in ui.perfetto.dev
      cinema export run.cinema -o run.jsonl --from 1.5s --to 2s --redact path:state.card.number
      cinema export run.cinema -o db.jsonl -p db --kind send --redact '/\\d{16}/'
      cinema export run.cinema -o run.parquet --redact path:state.card.number
    """
    import json
    from pathlib import Path

    from cinema.cli._damage import DamageReport
    from cinema.model.errors import ModelError
    from cinema.model.export import ExportOptions, Rules, export_session
    from cinema.model.export.scope import SUFFIXES, moment_range
    from cinema.model.moments import resolve_processes
    from cinema.model.session import Session
    from recorder.events import kind_from_name

    if os.path.isfile(output) and not _same_file(output, session) and not force:
        # (a device or FIFO is written in place or refused later; OUT == SESSION is refused
        # with its own reason)
        raise ModelError(f"{output} already exists; pass --force to replace it")
    by_suffix = {suffix: name for name, suffix in SUFFIXES.items()}
    fmt = fmt or by_suffix.get(Path(output).suffix.lower(), "cinema")
    with Session.open(session) as s:
        pids = sorted({p for text in processes for p in resolve_processes(s, text)}) or None
        try:
            codes = [int(kind_from_name(k)) for k in kinds] or None
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        lo, hi = moment_range(s, t_from, t_to)
        bps, marks = _sidecar(session)
        damage = DamageReport(s, "left out of the export", "everything else is exported")
        opts = ExportOptions(
            fmt, lo, hi, pids, codes, Rules.parse(rules), note, bps, marks, damage,
        )  # fmt: skip
        with _Bar(f"export {fmt}") as bar:
            result = export_session(s, output, opts, progress=bar)
    report = result.report
    if as_json:
        doc = {
            "file": result.path, "format": result.format, "events": result.events,
            "bytes": result.bytes, "range": [lo, hi], "processes": pids,
            "redaction": report.to_json(), **result.extra,
        }  # fmt: skip
        click.echo(json.dumps(doc, indent=2, allow_nan=False))
        damage.finish()
        return
    click.echo(
        f"wrote {result.path} ({result.format}): {result.events:,} events "
        f"#{lo}..#{hi}, {result.bytes:,} bytes; {report.summary()}"
    )
    damage.finish()


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
