"""The profile view: one profile generic (IC 7) object read through the protocol worker.

Read the whole buffer, a date range (pickers in the meter's wall-clock time, whose UTC offset is
shown once the meter's clock has been read; or, ticked, in this PC's time zone — then aware
date-times are sent and the session converts them) or an entry range. Progress shows rows,
bytes and the ETA; Stop keeps the rows already read (the session returns them with
``complete=False``). The worker thread does the read, the conversion to a
:class:`~meterreader.reading.ReadingTable` and the chart series; the GUI thread only appends the
rows to the table in timed batches and hands the series to the chart. The chart tab is enabled
when the profile has a clock column. The table (and chart) export as CSV (PNG/SVG).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateTimeEdit, QFileDialog, QHBoxLayout,
                               QLabel, QMessageBox, QProgressBar, QPushButton, QSpinBox,
                               QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401
from meterreader.cosem.obis import Obis
from meterreader.reading.model import ReadingTable, table_from_profile
from ui.charts import ChartData, ProfileChart, chart_data, chart_for, has_clock
from ui.profile_table import ReadingTableModel, ReadingTableView, write_csv

__all__ = ["MODES", "ProfileView", "ReadOutcome", "format_bytes", "format_offset"]

MODES = ("whole", "range", "entries")
_MODE_TEXT = {"whole": "Whole buffer", "range": "Date range", "entries": "Entry range"}


def format_offset(offset: dt.timedelta | None) -> str:
    """``"UTC+05:30"`` (``"unknown"`` for None)."""
    if offset is None:
        return "unknown"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} kB"
    return f"{count / 1024 / 1024:.1f} MB"


class ReadOutcome:
    """What a read job returns to the GUI thread (built on the worker thread)."""

    __slots__ = ("chart", "table")

    def __init__(self, table: ReadingTable, chart: ChartData | None) -> None:
        self.table = table
        self.chart = chart


def _to_qdatetime(value: dt.datetime) -> QDateTime:
    return QDateTime(value.year, value.month, value.day, value.hour, value.minute,
                     value.second)


def _from_qdatetime(value: QDateTime) -> dt.datetime:
    d, t = value.date(), value.time()
    return dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second())


class ProfileView(QWidget):
    """One IC 7 object: read controls, progress, the table and (with a clock column) a chart.

    Signals: ``read_finished(ReadingTable)`` after every read that returned rows (also a
    stopped one: ``complete`` False), ``read_failed(str)`` with the message of a read that
    returned nothing."""

    read_finished = Signal(object)
    read_failed = Signal(str)

    def __init__(self, worker: Any, obis: Obis | str, parent: QWidget | None = None, *,
                 title: str | None = None, section: str = "profile") -> None:
        super().__init__(parent)
        self.worker = worker
        self.obis = str(Obis.parse(obis) if isinstance(obis, str) else obis)
        self.section = section
        self.title = title or f"Profile {self.obis}"
        self.meter_offset: dt.timedelta | None = None
        self.meter_clock: dt.datetime | None = None
        self._table: ReadingTable | None = None
        self._job: Any = None
        self._stopping = False
        self.model = ReadingTableModel(parent=self)
        self.chart: ProfileChart | None = None
        self._chart_data: ChartData | None = None  # waiting for the Chart tab
        self._build()
        worker.progress.connect(self._on_progress)
        worker.busy_changed.connect(self._on_busy)
        self._update_buttons()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        heading = QLabel(f"<b>{self.title}</b> &nbsp; <span style='color:gray'>{self.obis}"
                         "</span>")
        self.mode = QComboBox()
        for mode in MODES:
            self.mode.addItem(_MODE_TEXT[mode], mode)
        self.mode.currentIndexChanged.connect(self._on_mode)
        now = dt.datetime.now().replace(second=0, microsecond=0)
        self.from_edit = self._picker(now - dt.timedelta(days=1))
        self.to_edit = self._picker(now)
        self.pc_zone = QCheckBox("Times in this PC's time zone")
        self.pc_zone.setToolTip("Unticked: the times are the meter's wall clock (sent as such).\n"
                                "Ticked: the times are this PC's local time; they are converted "
                                "to the meter's zone.")
        self.zone_label = QLabel("meter time (zone unknown)")
        self.clock_button = QPushButton("Read meter clock")
        self.clock_button.clicked.connect(self.refresh_clock)
        range_box = QWidget()
        row = QHBoxLayout(range_box)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("From"), self.from_edit, QLabel("to"), self.to_edit,
                       self.zone_label, self.pc_zone, self.clock_button):
            row.addWidget(widget)
        row.addStretch(1)
        self.first_entry = QSpinBox()
        self.first_entry.setRange(1, 10_000_000)
        self.last_entry = QSpinBox()
        self.last_entry.setRange(0, 10_000_000)
        self.last_entry.setSpecialValueText("newest")
        entry_box = QWidget()
        row = QHBoxLayout(entry_box)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Entries from"), self.first_entry, QLabel("to"), self.last_entry):
            row.addWidget(widget)
        row.addStretch(1)
        self.options = QStackedWidget()
        self.options.addWidget(QWidget())
        self.options.addWidget(range_box)
        self.options.addWidget(entry_box)
        self.read_button = QPushButton("Read")
        self.read_button.clicked.connect(self.read)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the read; the rows already read are kept")
        self.stop_button.clicked.connect(self.stop)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._ask_export_csv)
        controls = QHBoxLayout()
        for widget in (QLabel("Read"), self.mode, self.options):
            controls.addWidget(widget)
        controls.addStretch(1)
        for widget in (self.read_button, self.stop_button, self.export_button):
            controls.addWidget(widget)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.status = QLabel("Not read yet.")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table_view = ReadingTableView()
        self.table_view.setModel(self.model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table_view, "Table")
        self.chart_page = QWidget()
        chart_box = QVBoxLayout(self.chart_page)
        chart_box.setContentsMargins(0, 0, 0, 0)
        export_row = QHBoxLayout()
        export_row.addStretch(1)
        self.export_chart_button = QPushButton("Export chart…")
        self.export_chart_button.clicked.connect(self._ask_export_chart)
        export_row.addWidget(self.export_chart_button)
        chart_box.addLayout(export_row)
        self.tabs.addTab(self.chart_page, "Chart")
        self.tabs.setTabEnabled(1, False)
        self.tabs.currentChanged.connect(self._on_tab)
        box = QVBoxLayout(self)
        box.addWidget(heading)
        box.addLayout(controls)
        box.addWidget(self.progress)
        box.addWidget(self.status)
        box.addWidget(self.tabs, 1)

    def _picker(self, value: dt.datetime) -> QDateTimeEdit:
        edit = QDateTimeEdit(_to_qdatetime(value))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        return edit

    def _on_mode(self) -> None:
        self.options.setCurrentIndex(self.mode.currentIndex())

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(MODES.index(mode))

    def _on_busy(self, _busy: bool) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        reading = self._job is not None
        self.read_button.setEnabled(not reading)
        self.stop_button.setEnabled(reading)
        self.export_button.setEnabled(not reading and self.model.rowCount() > 0)
        self.clock_button.setEnabled(not reading)

    # -- state ------------------------------------------------------------------------------------
    @property
    def is_reading(self) -> bool:
        return self._job is not None

    def table(self) -> ReadingTable | None:
        """The last read (None before the first)."""
        return self._table

    def range_values(self) -> tuple[dt.datetime, dt.datetime]:
        """The pickers' times as sent: naive meter wall clock, or aware in this PC's zone."""
        start, end = _from_qdatetime(self.from_edit.dateTime()), _from_qdatetime(
            self.to_edit.dateTime())
        if self.pc_zone.isChecked():
            start, end = start.astimezone(), end.astimezone()
        return start, end

    def set_range(self, start: dt.datetime, end: dt.datetime) -> None:
        """Set the pickers (wall-clock values; aware ones are shown in the meter's zone when
        it is known and the PC-zone box is unticked)."""
        def wall(value: dt.datetime) -> dt.datetime:
            if value.tzinfo is None:
                return value
            if self.pc_zone.isChecked():
                return value.astimezone().replace(tzinfo=None)
            if self.meter_offset is not None:
                value = value.astimezone(dt.timezone(self.meter_offset))
            return value.replace(tzinfo=None)
        self.from_edit.setDateTime(_to_qdatetime(wall(start)))
        self.to_edit.setDateTime(_to_qdatetime(wall(end)))

    # -- meter clock ------------------------------------------------------------------------------
    def refresh_clock(self) -> Any:
        """Read the meter's clock (its zone labels the pickers; the pickers default to the last
        day before it). Returns the Job."""
        job = self.worker.read_clock()
        job.finished.connect(self._on_clock)
        job.failed.connect(self._on_clock_failed)
        return job

    def _on_clock_failed(self, exc: BaseException) -> None:
        self.zone_label.setText(f"meter time (clock not read: {exc})")

    def _on_clock(self, clock: Any) -> None:
        if not isinstance(clock, dt.datetime):
            self.zone_label.setText("meter time (clock not a complete date-time)")
            return
        first = self.meter_clock is None
        self.meter_clock = clock
        self.meter_offset = clock.utcoffset()
        self.zone_label.setText(f"meter time ({format_offset(self.meter_offset)})"
                                if self.meter_offset is not None
                                else "meter time (the meter sends no zone)")
        self.zone_label.setToolTip(f"Meter clock {clock.isoformat(sep=' ')}")
        if first:
            end = clock.replace(second=0, microsecond=0, tzinfo=None)
            self.set_range(end - dt.timedelta(days=1), end)

    # -- reading ----------------------------------------------------------------------------------
    def read(self) -> Any:
        """Read with the mode and values of the controls; returns the Job."""
        mode = self.mode.currentData()
        if mode == "range":
            return self.read_range(*self.range_values())
        if mode == "entries":
            return self.read_entries(self.first_entry.value(), self.last_entry.value() or None)
        return self.read_whole()

    def read_whole(self) -> Any:
        return self._start({}, "whole buffer")

    def read_range(self, start: dt.datetime | None, end: dt.datetime | None) -> Any:
        """Rows whose clock lies in [start, end]: naive = meter wall clock, aware = converted
        to the meter's zone by the session."""
        def text(value: dt.datetime | None) -> str:
            return "…" if value is None else value.isoformat(sep=" ", timespec="minutes")
        return self._start({"range": (start, end)}, f"{text(start)} to {text(end)}")

    def read_entries(self, first: int, last: int | None = None) -> Any:
        return self._start({"entries": (first, last)},
                           f"entries {first} to {last if last else 'newest'}")

    def _start(self, kw: dict[str, Any], what: str) -> Any:
        if self._job is not None:
            return self._job
        obis, section, title = self.obis, self.section, self.title

        def work(session: Any) -> ReadOutcome:  # on the worker thread
            result = session.read_profile(obis, **kw)
            table = table_from_profile(section, result, title=title)
            return ReadOutcome(table, chart_data(table) if has_clock(table) else None)

        self._stopping = False
        self.model.set_columns(())
        self.progress.setRange(0, 0)
        self.status.setText(f"Reading {what}…")
        job = self.worker.submit(work, description=f"profile {obis} ({what})")
        self._job = job
        job.finished.connect(self._on_result)
        job.failed.connect(self._on_failed)
        self._update_buttons()
        return job

    def stop(self) -> None:
        """Stop the running read (the rows read so far are kept)."""
        if self._job is not None:
            self._stopping = True
            self.status.setText("Stopping…")
            self.worker.cancel()

    def _on_progress(self, p: Any) -> None:
        if self._job is None or getattr(p, "operation", "") != f"profile {self.obis}":
            return
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(min(p.done, p.total))
        parts = [f"{p.rows} rows" + (f" of {p.total}" if p.total else ""),
                 format_bytes(p.bytes)]
        if p.eta_s is not None:
            parts.append(f"about {p.eta_s:.0f} s left")
        if not self._stopping:
            self.status.setText("Reading… " + " · ".join(parts))

    def _on_result(self, outcome: ReadOutcome) -> None:
        self._job = None
        table = outcome.table
        self._table = table
        self.model.set_columns(table.columns)
        self.model.append_rows(table.rows)  # inserted in timed batches
        self.model.rows_appended.connect(self._fit_once, Qt.ConnectionType.SingleShotConnection)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        rows = len(table.rows)
        if table.complete:
            self.status.setText(f"{rows} rows read.")
        elif self._stopping:
            self.status.setText(f"Stopped: {rows} rows read before Stop are kept.")
        else:
            self.status.setText(f"Incomplete: {rows} rows kept — {table.error}")
        self._show_chart(outcome.chart)
        self._update_buttons()
        self.read_finished.emit(table)

    def _fit_once(self, _rows: int) -> None:
        self.table_view.fit_columns()

    def _on_failed(self, exc: BaseException) -> None:
        self._job = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        message = str(exc) or type(exc).__name__
        self.status.setText(("Stopped before any rows arrived: " if self._stopping
                             else "Read failed: ") + message)
        self._update_buttons()
        self.read_failed.emit(message)

    def _show_chart(self, data: ChartData | None) -> None:
        # The plots are built when the Chart tab is shown (tens of ms for 10k rows): never
        # while the table is filling unless the chart is what the user is looking at.
        self._chart_data = data if data is not None and data.series else None
        self.tabs.setTabEnabled(1, self._chart_data is not None)
        if self.tabs.currentIndex() == 1:
            self._on_tab(1)

    def _on_tab(self, index: int) -> None:
        data, self._chart_data = self._chart_data, None
        if index != 1 or data is None:
            self._chart_data = data
            return
        if self.chart is None:
            assert self._table is not None
            self.chart = chart_for(self._table, data=data)
            self.chart_page.layout().addWidget(self.chart, 1)
        else:
            self.chart.set_data(data)

    # -- export -----------------------------------------------------------------------------------
    def visible_columns(self) -> list[int]:
        return [c for c in range(self.model.columnCount())
                if not self.table_view.isColumnHidden(c)]

    def export_csv(self, path: str | Path) -> Path:
        """The table as shown (visible columns, display order and text) as CSV."""
        return write_csv(self.model, path, columns=self.visible_columns())

    def _default_name(self, suffix: str) -> str:
        return f"{self.section}_{self.obis.replace('.', '-')}{suffix}"

    def _ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export table as CSV",
                                              self._default_name(".csv"), "CSV files (*.csv)")
        if path:
            self._guarded(lambda: self.export_csv(path))

    def _ask_export_chart(self) -> None:
        if self.chart is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export chart", self._default_name(".png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            chart = self.chart
            self._guarded(lambda: chart.export(path))

    def _guarded(self, action: Any) -> None:
        try:
            written = action()
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export failed", str(exc))
            return
        self.status.setText(f"Saved {written}")
