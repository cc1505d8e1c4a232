"""File › Export…: the range, the processes, the redaction rules (with a preview of what they
cut) and the format, then ``cinema.model.export.export_session`` in a worker thread with a
progress bar. The dialog only gathers options; the model does the work."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cinema.model.errors import ModelError
from cinema.model.export import ExportOptions, ExportResult, Rules, export_session
from cinema.model.export.redact import DEFAULT_KEYS
from cinema.model.export.scope import SUFFIXES, moment_range, preview
from cinema.ui.state import ViewState
from cinema.views.damage import Damage
from recorder.session.format import SessionFormatError

__all__ = ["ExportDialog"]

_LABELS = {
    "cinema": "Cinema bundle (.cinema): opens in Cinema, with breakpoints, bookmarks and note",
    "chrome-trace": "Chrome trace (.json): Perfetto, chrome://tracing",
    "jsonl": "JSON Lines (.jsonl): the rows of `cinema events --json`",
    "parquet": "Parquet (.parquet): DuckDB, Spark, Trino",
}
#: Events the redaction preview looks at.
PREVIEW_EVENTS = 5000


class ExportDialog(QDialog):
    """Export the session of ``state`` (a cut of it), redacted."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setWindowTitle("Export session")
        self.setObjectName("ExportDialog")
        session = state.session
        n = session.event_count
        src = Path(session.reader.path or "session.cinema")
        self.outcome: ExportResult | None = None
        self.error: str | None = None
        self.damage = Damage()  # what the last export left out of a damaged file
        self._worker: threading.Thread | None = None
        self._done: tuple[int, int] = (0, max(n, 1))

        self.format = QComboBox()
        for name, text in _LABELS.items():
            self.format.addItem(text, name)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.t_from = QLineEdit("#0")
        self.t_to = QLineEdit(f"#{max(n - 1, 0)}")
        for edit in (self.t_from, self.t_to):
            edit.setToolTip("#N is an event number; 1.5s, 250ms, +3s a time since the start")
            edit.textChanged.connect(self._invalidate)
        from_here = QPushButton("From the playhead")
        from_here.clicked.connect(lambda: self.t_from.setText(f"#{max(state.seq, 0)}"))
        whole = QPushButton("Whole session")
        whole.clicked.connect(self._whole)
        rng = QHBoxLayout()
        rng.addWidget(QLabel("from"))
        rng.addWidget(self.t_from)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.t_to)
        rng.addWidget(from_here)
        rng.addWidget(whole)

        self.all_processes = QCheckBox("All processes")
        self.all_processes.setChecked(True)
        self.processes = QListWidget()
        for pid in sorted(session.processes):
            item = QListWidgetItem(f"{session.process_name(pid)} <0.{pid}.0>")
            item.setData(Qt.ItemDataRole.UserRole, pid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.processes.addItem(item)
        self.processes.setEnabled(False)
        # whole rows only (a fixed pixel height cut the last visible row in half)
        rows = max(1, min(6, self.processes.count()))
        row_h = max(self.processes.sizeHintForRow(0), 1)
        self.processes.setFixedHeight(rows * row_h + 2 * self.processes.frameWidth() + 2)
        self.all_processes.toggled.connect(lambda on: self.processes.setEnabled(not on))
        self.all_processes.toggled.connect(self._invalidate)
        self.processes.itemChanged.connect(self._invalidate)

        self.default_keys = QCheckBox("Redact values under the keys " + ", ".join(DEFAULT_KEYS))
        self.default_keys.setChecked(True)
        self.default_keys.toggled.connect(self._invalidate)
        self.rules = QPlainTextEdit()
        self.rules.setPlaceholderText(
            "More rules, one per line:\nkey:pin,cvv\npath:state.card.number\nre:\\d{16}"
        )
        self.rules.setMaximumHeight(80)
        self.rules.textChanged.connect(self._invalidate)
        self.preview_button = QPushButton("Preview redaction")
        self.preview_button.clicked.connect(self.run_preview)
        self.preview_text = QLabel("")
        # one line per place, no word wrap: a wrapped label in a form layout reserves the
        # height of its narrowest width, leaving blank bands around the preview
        self.preview_text.setWordWrap(False)
        self.preview_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.note = QLineEdit()
        self.note.setPlaceholderText("A note for your teammate (kept in the bundle)")
        self.output = QLineEdit(str(src.with_name(src.stem + "-export.cinema")))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out = QHBoxLayout()
        out.addWidget(self.output, 1)
        out.addWidget(browse)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Range", rng)
        form.addRow("Processes", self.all_processes)
        form.addRow("", self.processes)
        form.addRow("Redaction", self.default_keys)
        form.addRow("", self.rules)
        prev = QHBoxLayout()
        prev.addWidget(self.preview_button)
        prev.addStretch(1)
        form.addRow("", prev)
        form.addRow("", self.preview_text)
        form.addRow("Note", self.note)
        form.addRow("Save to", out)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.Ok
        )
        self.export_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)
        self._poll = QTimer(self)
        self._poll.setInterval(50)
        self._poll.timeout.connect(self._check_worker)
        self.resize(760, 0)

    # ---------------------------------------------------------------- options

    def options(self) -> ExportOptions:
        """The options the dialog shows.

        Raises:
            ModelError: a bad range, no process chosen, a bad rule.
        """
        session = self.state.session
        lo, hi = moment_range(session, self.t_from.text(), self.t_to.text())
        pids = None
        if not self.all_processes.isChecked():
            pids = [
                int(self.processes.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.processes.count())
                if self.processes.item(i).checkState() == Qt.CheckState.Checked
            ]
            if not pids:
                raise ModelError("choose at least one process (or all processes)")
        specs = [line for line in self.rules.toPlainText().splitlines() if line.strip()]
        rules = Rules.parse(specs, defaults=self.default_keys.isChecked())
        bps = self.state.breakpoints.to_json()
        marks = [(m.seq, m.note) for m in self.state.controller.bookmarks]
        return ExportOptions(
            str(self.format.currentData()), lo, hi, pids, None, rules, self.note.text(),
            bps, marks,
        )  # fmt: skip

    def _format_changed(self) -> None:
        fmt = str(self.format.currentData())
        path = Path(self.output.text())
        self.output.setText(str(path.with_suffix(SUFFIXES[fmt])))

    def _whole(self) -> None:
        self.t_from.setText("#0")
        self.t_to.setText(f"#{max(self.state.session.event_count - 1, 0)}")

    def _browse(self) -> None:
        fmt = str(self.format.currentData())
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", self.output.text(), f"{fmt} (*{SUFFIXES[fmt]});;All files (*)"
        )
        if path:
            self.output.setText(path)

    def _invalidate(self, *_args: Any) -> None:
        self.preview_text.setText("")

    # ---------------------------------------------------------------- preview

    def run_preview(self) -> None:
        """Show what the rules cut in the first events of the range (never the values)."""
        try:
            report, seen = preview(self.state.session, self.options(), PREVIEW_EVENTS)
        except ModelError as exc:
            self.preview_text.setText(f"⚠ {exc}")
            return
        lines = [f"In the first {seen:,} events of the export: {report.summary()}."]
        for place in report.to_json()["places"][:6]:
            lines.append(
                f"• {place['rule']} — {place['where']} {place['path']} ({place['type']}), "
                f"{place['count']:,}×, first at #{place['first_seq']}"
            )
        self.preview_text.setText("\n".join(lines))

    # ---------------------------------------------------------------- export

    def start(self) -> None:
        """Export in a worker thread; the dialog closes when it is done."""
        try:
            opts = self.options()
        except ModelError as exc:
            self.status.setText(f"⚠ {exc}")
            return
        target = self.output.text().strip()
        if not target:
            self.status.setText("⚠ choose where to save the export")
            return
        self.export_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 1000)
        self.status.setText(f"exporting to {target} …")
        session = self.state.session
        self.outcome, self.error = None, None
        self.damage = damage = Damage()
        # the frames of a damaged file that cannot be read are left out (said when done); a
        # bundle stops there, with the error

        def left_out(exc: SessionFormatError) -> None:
            damage.note(session, exc)

        opts = dataclasses.replace(opts, on_damage=left_out)

        def work() -> None:
            try:
                self.outcome = export_session(session, target, opts, progress=self._progress)
            except (ModelError, OSError, ValueError, SessionFormatError) as exc:
                problem = damage.note(session, exc) if isinstance(exc, SessionFormatError) else None
                self.error = (
                    f"{problem.text()}, and a cinema bundle needs every event of its range"
                    if problem is not None and problem.first >= 0
                    else str(exc)
                )

        self._worker = threading.Thread(target=work, name="cinema-export", daemon=True)
        self._worker.start()
        self._poll.start()

    def _progress(self, done: int, total: int) -> None:
        self._done = (done, max(total, 1))  # read by the GUI thread's timer

    def _check_worker(self) -> None:
        done, total = self._done
        self.progress.setValue(int(1000 * done / total))
        if self._worker is None or self._worker.is_alive():
            return
        self._poll.stop()
        self._worker = None
        self.export_button.setEnabled(True)
        if self.error is not None:
            self.progress.setVisible(False)
            self.status.setText(f"⚠ export failed: {self.error}")
            return
        assert self.outcome is not None
        r = self.outcome
        left = "; ".join(p.text() for p in self.damage.problems)
        left = f"; left out: {left}" if left else ""
        self.status.setText(
            f"wrote {r.path}: {r.events:,} events, {r.bytes:,} bytes; {r.report.summary()}{left}"
        )
        self.state.sigMessage.emit(f"exported {r.events:,} events to {r.path}{left}")
        self.accept()

    def busy(self) -> bool:
        return self._worker is not None
