"""The report dialog: write a reading's CSV, XLSX, PDF and XML files into a folder.

Each format is written by :func:`meterreader.reports.write_reports` (the PDF in-process with
:func:`ui.report_pdf.write_pdf`, no subprocess), one format per event-loop turn so the progress
bar moves and the window stays responsive. The files written are listed; "Open folder" shows
them in the desktop's file manager.
"""

from __future__ import annotations

from pathlib import Path
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.reading.model import MeterReading

__all__ = ["FORMAT_TEXT", "ReportDialog"]

FORMAT_TEXT = {"csv": "CSV — one file per section", "xlsx": "Excel workbook (XLSX)",
               "pdf": "PDF report", "xml": "XML (whole reading, IEEMA CDF style)"}


class ReportDialog(QDialog):
    """See the module docstring. ``folder``: where the files go (default: beside the saved
    reading, else the readings folder)."""

    def __init__(self, reading: MeterReading, parent: QWidget | None = None, *,
                 folder: Path | str | None = None, stem: str | None = None) -> None:
        super().__init__(parent)
        from meterreader.reports import REPORT_FORMATS, default_stem
        self.setObjectName("ReportDialog")
        self.setWindowTitle("Export report")
        self.reading = reading
        self.stem = stem or default_stem(reading)
        self.written: list[Path] = []
        self.errors: list[str] = []
        self._queue: list[str] = []
        self._count = 0

        self.checks: dict[str, QCheckBox] = {}
        boxes = QVBoxLayout()
        for fmt in REPORT_FORMATS:
            box = QCheckBox(FORMAT_TEXT.get(fmt, fmt.upper()), self)
            box.setObjectName(f"format_{fmt}")
            box.setChecked(True)
            box.toggled.connect(self._update)
            self.checks[fmt] = box
            boxes.addWidget(box)
        if folder is None:
            from ui.read_meter_dialog import default_readings_dir
            folder = default_readings_dir().parent / "reports"
        self.folder = QLineEdit(str(folder), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Formats:", boxes)
        form.addRow("Folder:", row)
        form.addRow("File names:", QLabel(f"{self.stem}…", self))

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message = QLabel(self)
        self.message.setObjectName("reportMessage")
        self.message.setWordWrap(True)
        self.results = QListWidget(self)
        self.results.setObjectName("reportResults")
        self.write_button = QPushButton("Write", self)
        self.write_button.setObjectName("writeButton")
        self.write_button.setDefault(True)
        self.write_button.clicked.connect(self.start)
        self.open_button = QPushButton("Open folder", self)
        self.open_button.setObjectName("openFolderButton")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_folder)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.write_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.results, 1)
        layout.addLayout(buttons)
        self.setMinimumWidth(560)

    def formats(self) -> list[str]:
        return [fmt for fmt, box in self.checks.items() if box.isChecked()]

    @property
    def running(self) -> bool:
        return bool(self._queue)

    def _update(self) -> None:
        self.write_button.setEnabled(bool(self.formats()) and not self.running)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Write the reports in",
                                                  self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def start(self) -> None:
        """Write the ticked formats, one per event-loop turn."""
        if self.running or not self.formats():
            return
        self.written, self.errors = [], []
        self.results.clear()
        self._queue = self.formats()
        self._count = len(self._queue)
        self.progress.setRange(0, self._count)
        self.progress.setValue(0)
        self.write_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.message.setStyleSheet("")
        self.message.setText(f"Writing {self._queue[0].upper()}…")
        QTimer.singleShot(0, self, self._next)

    def _next(self) -> None:
        from meterreader.reports import ReportError, write_reports
        from ui.report_pdf import write_pdf
        if not self._queue:
            return
        fmt = self._queue[0]
        try:
            paths = write_reports(self.reading, Path(self.folder.text()).expanduser(), [fmt],
                                  stem=self.stem, pdf_writer=write_pdf)
        except ReportError as exc:
            paths = list(getattr(exc, "written", ()))
            self.errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 (no folder, disk full …): listed, not raised
            paths = []
            self.errors.append(f"{fmt.upper()}: {exc}")
        for path in paths:
            self.written.append(Path(path))
            item = QListWidgetItem(Path(path).name, self.results)
            item.setToolTip(str(path))
        self._queue.pop(0)
        self.progress.setValue(self._count - len(self._queue))
        if self._queue:
            self.message.setText(f"Writing {self._queue[0].upper()}…")
            QTimer.singleShot(0, self, self._next)
            return
        self._finish()

    def _finish(self) -> None:
        self.close_button.setEnabled(True)
        self._update()
        self.open_button.setEnabled(bool(self.written))
        if self.errors:
            self.message.setStyleSheet("color: #b3261e;")
            self.message.setText("\n".join(self.errors))
        else:
            self.message.setText(f"{len(self.written)} files written to {self.folder.text()}")

    def open_folder(self) -> bool:
        """Show the folder in the file manager."""
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.folder.text()))))

    def reject(self) -> None:
        if not self.running:
            super().reject()

    def accept(self) -> None:
        if not self.running:
            super().accept()
