"""The "Read meter (IS 15959)" dialog: one click reads a whole category A, B or C meter.

The user picks the category, the block-load days and the sections; Read runs
:func:`meterreader.reading.plan.read_meter` as one job on the :class:`~ui.worker.ProtocolWorker`.
The plan reports :class:`~meterreader.reading.plan.ReadProgress` on the worker thread; a small
QObject living on the GUI thread re-emits it through a queued signal, so the progress bar is only
touched on the GUI thread. Stop cancels the session: the plan keeps the rows already read and
returns a partial reading. The reading is saved at once (JSON, :func:`save_reading`) into the
readings folder and handed on through ``reading_ready(reading, path)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.india.catalogue_types import MeterCategory
from meterreader.reading.model import EVENT_SECTIONS, SECTION_TITLES

__all__ = ["CATEGORIES", "ProgressRelay", "ReadMeterDialog", "default_readings_dir"]

CATEGORIES = ("A", "B", "C")
# IS 15959 meter categories in words (IS15959.md): A energy audit, B boundary/ABT, C consumers.
CATEGORY_TEXT = {c.value: f"{c.value} — {c.description}" for c in MeterCategory}


def default_readings_dir() -> Path:
    """``<Documents>/meterreader/readings`` (the home folder when there is no Documents)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(base or Path.home()) / "meterreader" / "readings"


class ProgressRelay(QObject):
    """Lives on the GUI thread; :meth:`report` may be called from any thread and
    ``progressed`` is delivered on the GUI thread (queued)."""

    progressed = Signal(object)

    def report(self, progress: Any) -> None:
        self.progressed.emit(progress)


class ReadMeterDialog(QDialog):
    """See the module docstring. ``worker``: the connected ProtocolWorker; ``folder``: where
    readings are saved; ``connection``/``association``: recorded in the reading."""

    reading_ready = Signal(object, str)  # MeterReading, saved JSON path ("" if not saved)
    running_changed = Signal(bool)

    def __init__(self, parent: QWidget | None, worker: Any, *, category: str = "C",
                 days: int = 7, folder: Path | str | None = None, connection: str = "",
                 association: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("ReadMeterDialog")
        self.setWindowTitle("Read meter (IS 15959)")
        self.worker = worker
        self.connection = connection
        self.association = association
        self.job: Any = None
        self.reading: Any = None
        self.saved_path: Path | None = None
        self.error = ""
        self.relay = ProgressRelay(self)
        self.relay.progressed.connect(self._on_progress)

        self.category = QComboBox(self)
        for key in CATEGORIES:
            self.category.addItem(CATEGORY_TEXT[key], key)
        self.category.setCurrentIndex(max(0, CATEGORIES.index(category)
                                          if category in CATEGORIES else 2))
        self.days = QSpinBox(self)
        self.days.setRange(1, 3660)  # as the CLI's --days; the meter's depth is the real bound
        self.days.setValue(days)
        self.days.setSuffix(" day(s)")
        self.days.setToolTip("Block load survey: the last N days up to the meter clock")
        self.sections = QListWidget(self)
        self.sections.setObjectName("sectionList")
        for name, title in SECTION_TITLES.items():
            item = QListWidgetItem(title, self.sections)
            item.setData(Qt.ItemDataRole.UserRole, name)
            flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
            if name == "name_plate":  # the identity step is always read
                flags &= ~Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Checked)
        self.sections.setMinimumHeight(self.sections.sizeHintForRow(0) * 7 + 8)
        self.folder = QLineEdit(str(folder or default_readings_dir()), self)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse_button)

        form = QFormLayout()
        form.addRow("Meter category:", self.category)
        form.addRow("Block load:", self.days)
        form.addRow("Sections:", self.sections)
        form.addRow("Save readings in:", folder_row)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.message = QLabel("Reads the name plate, instantaneous values, billing history, "
                              "load surveys and every event log in one go.", self)
        self.message.setObjectName("readMessage")
        self.message.setWordWrap(True)
        self.read_button = QPushButton("Read", self)
        self.read_button.setObjectName("readButton")
        self.read_button.setDefault(True)
        self.read_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the read; what was read so far is kept")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.read_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.setMinimumWidth(520)

    # -- choices ----------------------------------------------------------------------------------

    def chosen_category(self) -> str:
        return str(self.category.currentData())

    def chosen_sections(self) -> list[str]:
        out = []
        for row in range(self.sections.count()):
            item = self.sections.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def set_sections(self, names: list[str]) -> None:
        """Tick exactly these sections ("events" ticks every event log)."""
        wanted = set(names) | (set(EVENT_SECTIONS) if "events" in names else set())
        for row in range(self.sections.count()):
            item = self.sections.item(row)
            name = item.data(Qt.ItemDataRole.UserRole)
            on = name in wanted or name == "name_plate"
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Save readings in", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    # -- the read ---------------------------------------------------------------------------------

    def start(self) -> Any:
        """Submit the read (returns the Job, None when not connected)."""
        if self.running:
            return self.job
        if not self.worker.is_connected:
            self._say("Not connected: connect to a meter first.", error=True)
            return None
        from meterreader.reading.plan import read_meter
        category, days = self.chosen_category(), self.days.value()
        sections = self.chosen_sections()
        from meterreader.reading.json_io import reading_file_name, save_reading
        relay, connection, association = self.relay, self.connection, self.association
        folder = Path(self.folder.text()).expanduser()
        self.reading, self.saved_path, self.error = None, None, ""

        def run(session: Any) -> Any:  # on the worker thread: read, then save (file I/O too)
            reading = read_meter(session, category, days=days, sections=sections,
                                 progress=relay.report, connection=connection,
                                 association=association)
            try:
                return reading, save_reading(reading, folder / reading_file_name(reading)), None
            except Exception as exc:  # noqa: BLE001 (disk full, no permission …): reported
                return reading, None, exc

        self.job = self.worker.submit(run, description=f"read meter (category {category})")
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self._set_running(True)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self._say(f"Reading a category {category} meter…")
        return self.job

    def stop(self) -> None:
        """Stop: cancel the running read; the rows read so far come back as a partial
        reading."""
        if self.running:
            self.worker.cancel()
            self.stop_button.setEnabled(False)
            self._say("Stopping… the rows read so far are kept.")

    @Slot(object)
    def _on_progress(self, p: Any) -> None:
        if not self.running:
            return
        self.progress.setValue(int(round(1000 * min(1.0, max(0.0, p.fraction)))))
        self.progress.setFormat(f"Step {p.step} of {p.steps} · %p%")
        self.message.setText(p.message or p.title)

    def _on_finished(self, result: Any) -> None:
        reading, saved, save_error = result
        self._set_running(False)
        self.reading = reading
        self.progress.setValue(1000)
        self.progress.setFormat("Done" if reading.complete else "Partial")
        if save_error is not None:
            self.error = f"The reading could not be saved: {save_error}"
            self._say(self.error, error=True)
            self.reading_ready.emit(reading, "")
            return
        self.saved_path = saved
        state = "complete" if reading.complete else "PARTIAL"
        self._say(f"Reading {state}; saved to {self.saved_path}", error=not reading.complete)
        self.reading_ready.emit(reading, str(self.saved_path))
        self.accept()

    def _on_failed(self, error: object) -> None:
        self._set_running(False)
        self.error = f"The read failed: {error}"
        self.progress.setFormat("Failed")
        self._say(self.error, error=True)

    def _set_running(self, running: bool) -> None:
        for widget in (self.category, self.days, self.sections, self.folder, self.browse_button,
                       self.read_button):
            widget.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.close_button.setEnabled(not running)
        self.running_changed.emit(running)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b3261e;" if error else "")

    def reject(self) -> None:
        if self.running:  # closing the window stops the read (keeps what was read)
            self.stop()
            return
        super().reject()
