"""The trace pane: every frame, packet and APDU the session sent or received.

A plain :class:`QWidget` the main window docks. :meth:`TracePane.add` is the slot for the
worker's ``trace`` signal; records are batched into :class:`~ui.trace_model.TraceTableModel`, so
100k records stay smooth. Selecting a row decodes it with :func:`meterreader.translator.translate`
into a :class:`~ui.json_tree.JsonTreeView` beside an ``offset | hex | ascii`` dump; decode errors
show in a red label. Ctrl+C copies the hex of the selected rows, one per line. Save/Load use JSON
lines (``{"t", "dir", "layer", "hex", "summary"}``).

Pause freezes the view while capture goes on: frames arriving meanwhile are held and counted
("paused, N new frames held") and appear on resume; Save includes them. The pane shows only the bytes
it is given: the session masks secrets before a record is made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QSizePolicy,
                               QSplitter, QTableView, QToolButton, QVBoxLayout, QWidget)

from meterreader.dlms.errors import DlmsError
from meterreader.translator import TranslationError, translate
from ui.json_tree import JsonTreeModel, JsonTreeView
from ui.trace_model import (DEFAULT_CAPACITY, TraceFileError, TraceFilter, TraceRecordLike,
                            TraceTableModel, format_time, hex_dump, load_trace, save_trace)

__all__ = ["TracePane", "TRANSLATOR_LAYER", "decode_record"]

#: Trace layer → translate(layer=...). Unknown layers are auto-detected.
TRANSLATOR_LAYER = {"hdlc": "hdlc", "wrapper": "wrapper", "apdu": "apdu"}
ERROR_COLOR = "#c62828"
HEX_DUMP_LIMIT = 64 * 1024  # bytes dumped for one record; the rest is summarised
FILTER_DELAY_MS = 250
_SELECT_HINT = "Select a frame to see it decoded."
_NO_TREE = "No decoded layers: the bytes do not decode (see the error above and the hex dump)."
_FILE_FILTER = "Trace files (*.jsonl *.json);;All files (*)"
_DIRECTION_CHOICES = (("Both directions", None), ("TX only", "tx"), ("RX only", "rx"))
_LAYER_CHOICES = (("All layers", None), ("HDLC", "hdlc"), ("Wrapper", "wrapper"), ("APDU", "apdu"))


def decode_record(record: TraceRecordLike) -> dict[str, Any]:
    """The translator's description of ``record``; raises TranslationError (and only that) with a
    one-line message when it does not decode."""
    try:
        return translate(bytes(record.data), layer=TRANSLATOR_LAYER.get(record.layer))
    except TranslationError:
        raise
    except DlmsError as exc:
        raise TranslationError(str(exc) or type(exc).__name__) from None
    except Exception as exc:  # noqa: BLE001 - a decoder bug must not take the pane down
        raise TranslationError(f"decoder failed: {type(exc).__name__}: {exc}") from None


class TracePane(QWidget):
    """Trace table + decoded tree + hex dump, with pause, clear, filter, copy, save and load."""

    status_message = Signal(str)  # for a status bar

    def __init__(self, parent: QWidget | None = None, *, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__(parent)
        self.setObjectName("TracePane")
        self.model = TraceTableModel(self, capacity=capacity)
        self.tree_model = JsonTreeModel(self)
        self._stick_to_bottom = True
        self._build_toolbar()
        self._build_table()
        self._build_detail()

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self._detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(self._toolbar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.splitter, 1)

        self.model.flushed.connect(self._update_status)
        self.model.rowsAboutToBeInserted.connect(self._remember_scroll)
        self.model.rowsInserted.connect(self._follow_new_rows)
        self.model.modelReset.connect(self._show_current)
        self._update_status()

    # -- construction ----------------------------------------------------------------------------

    def _button(self, text: str, tip: str, slot=None) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        if slot is not None:
            button.clicked.connect(slot)
        return button

    def _build_toolbar(self) -> None:
        bar = self._toolbar = QHBoxLayout()
        bar.setSpacing(4)
        self.pause_button = self._button("Pause", "Freeze the view; frames are still captured "
                                         "and appear on resume")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        self.clear_button = self._button("Clear", "Forget every frame", self.clear)
        self.copy_button = self._button("Copy hex", "Copy the hex of the selected frames, one "
                                        "per line (Ctrl+C)", self.copy_hex)
        self.save_button = self._button("Save…", "Save the trace as JSON lines",
                                        self._save_clicked)
        self.load_button = self._button("Load…", "Replace the trace by a saved one",
                                        self._load_clicked)
        for button in (self.pause_button, self.clear_button, self.copy_button, self.save_button,
                       self.load_button):
            bar.addWidget(button)
        bar.addSpacing(12)

        self.direction_combo = QComboBox(self)
        for label, value in _DIRECTION_CHOICES:
            self.direction_combo.addItem(label, value)
        self.layer_combo = QComboBox(self)
        for label, value in _LAYER_CHOICES:
            self.layer_combo.addItem(label, value)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter: summary text or hex bytes")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(180)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(lambda _: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self.apply_filter)
        self.direction_combo.currentIndexChanged.connect(self.apply_filter)
        self.layer_combo.currentIndexChanged.connect(self.apply_filter)
        bar.addWidget(self.direction_combo)
        bar.addWidget(self.layer_combo)
        bar.addWidget(self.filter_edit, 1)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("traceStatus")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        bar.addWidget(self.status_label)

        self.message_label = QLabel(self)
        self.message_label.setObjectName("traceMessage")
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()

    def _build_table(self) -> None:
        table = self.table = QTableView(self)
        table.setObjectName("traceTable")
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setShowGrid(False)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = table.verticalHeader()
        vertical.hide()
        # Fixed row heights: the view never measures 100k rows.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(table.fontMetrics().height() + 6)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        metrics = table.fontMetrics()
        for column, sample in enumerate(("00:00:00.000__", "RX ←___", "Wrapper__", "Length__")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(column, metrics.horizontalAdvance(sample) + 12)
        table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.copy_action = QAction("Copy hex", table)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_hex)
        table.addAction(self.copy_action)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def _build_detail(self) -> None:
        detail = self._detail = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget(detail)
        layout = QVBoxLayout(left)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.detail_label = QLabel(left)
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail_label)
        self.error_label = QLabel(left)
        self.error_label.setObjectName("decodeError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(
            f"QLabel#decodeError {{ color: {ERROR_COLOR}; background: #fdecea;"
            f" border: 1px solid #f5c2c0; border-radius: 4px; padding: 6px; }}")
        self.error_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.tree = JsonTreeView(left)
        self.tree.setObjectName("traceTree")
        self.tree.setModel(self.tree_model)
        self.tree.placeholder = _SELECT_HINT
        layout.addWidget(self.tree, 1)

        self.hex_view = QPlainTextEdit(detail)
        self.hex_view.setObjectName("traceHex")
        self.hex_view.setReadOnly(True)
        self.hex_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.hex_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.hex_view.setPlaceholderText("offset | hex | ascii")
        # Wide enough for one whole dump line (offset, 16 bytes, ascii) and the scroll bar.
        line = hex_dump(bytes(16))
        width = (self.hex_view.fontMetrics().horizontalAdvance(line + "  ")
                 + 2 * self.hex_view.frameWidth()
                 + self.hex_view.verticalScrollBar().sizeHint().width()
                 + int(2 * self.hex_view.document().documentMargin()))
        self.hex_view.setMinimumWidth(min(width, 640))
        detail.addWidget(left)
        detail.addWidget(self.hex_view)
        detail.setStretchFactor(0, 1)
        detail.setStretchFactor(1, 0)
        detail.setChildrenCollapsible(False)

    # -- feeding ---------------------------------------------------------------------------------

    def add(self, record: TraceRecordLike) -> None:
        """Slot for the worker's ``trace`` signal: the record shows at the next batch."""
        self.model.add(record)

    def add_many(self, records) -> None:
        """Slot for the worker's ``trace_batch`` signal (an iterable of records)."""
        self.model.add_many(records)

    def flush(self) -> None:
        """Show pending records now instead of at the next timer tick."""
        self.model.flush()

    def clear(self) -> None:
        self.model.clear()
        self._hide_message()
        self.status_message.emit("Trace cleared")

    def set_paused(self, paused: bool) -> None:
        self.model.set_paused(bool(paused))
        if self.pause_button.isChecked() != bool(paused):
            self.pause_button.setChecked(bool(paused))
        self.pause_button.setText("Resume" if paused else "Pause")

    def is_paused(self) -> bool:
        return self.model.paused

    # -- filter ----------------------------------------------------------------------------------

    def current_filter(self) -> TraceFilter:
        return TraceFilter(direction=self.direction_combo.currentData(),
                           layer=self.layer_combo.currentData(), text=self.filter_edit.text())

    def apply_filter(self) -> None:
        """Apply the filter controls now (typing applies them after a short pause)."""
        self._filter_timer.stop()
        self.model.flush()
        self.model.set_filter(self.current_filter())
        self._update_status()
        if self._stick_to_bottom:
            self.table.scrollToBottom()

    # -- selection, detail -----------------------------------------------------------------------

    def selected_records(self) -> list[TraceRecordLike]:
        """The selected records in row order."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.record(row) for row in rows]

    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def decode_error(self) -> str:
        """The decode error shown for the current record ("" when none)."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def show_record(self, record: TraceRecordLike | None) -> None:
        """Decode ``record`` into the tree and the hex dump (None empties both)."""
        if record is None:
            self.detail_label.clear()
            self.tree_model.clear()
            self.hex_view.clear()
            self._set_decode_error("")
            return
        data = bytes(record.data)
        direction = {"tx": "TX →", "rx": "RX ←"}.get(record.direction, record.direction)
        self.detail_label.setText(f"{format_time(record.timestamp)}  {direction}  "
                                  f"{record.layer.upper()}  {len(data)} bytes")
        dump = hex_dump(data[:HEX_DUMP_LIMIT])
        if len(data) > HEX_DUMP_LIMIT:
            dump += f"\n… {len(data) - HEX_DUMP_LIMIT} more bytes not shown"
        self.hex_view.setPlainText(dump)
        try:
            result = decode_record(record)
        except TranslationError as exc:
            self.tree_model.clear()
            self._set_decode_error(str(exc) or "does not decode")
            return
        self._set_decode_error("")
        self.tree.show_value(result)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.show_record(self.model.record(current.row()) if current.isValid() else None)

    def _show_current(self) -> None:
        self._current_changed(self.table.currentIndex(), QModelIndex())

    def _set_decode_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        self.tree.placeholder = (_NO_TREE if text else _SELECT_HINT)
        self.tree.viewport().update()

    # -- copy, save, load ------------------------------------------------------------------------

    def hex_text(self, records: list[TraceRecordLike] | None = None) -> str:
        """Hex of ``records`` (default: the selection), upper case, one record a line."""
        chosen = self.selected_records() if records is None else records
        return "\n".join(bytes(record.data).hex().upper() for record in chosen)

    def copy_hex(self) -> None:
        records = self.selected_records()
        if not records:
            return
        QGuiApplication.clipboard().setText(self.hex_text(records))
        noun = "frame" if len(records) == 1 else "frames"
        self.status_message.emit(f"Copied the hex of {len(records)} {noun}")

    def save_trace(self, path: str | Path) -> int:
        """Write every held record (filter ignored, pending included) as JSON lines."""
        self.model.flush()
        count = save_trace(path, self.model.records() + self.model.held())
        self.status_message.emit(f"Saved {count} frames to {path}")
        return count

    def load_trace(self, path: str | Path) -> int:
        """Replace the trace by the file's records (the newest ``capacity`` ones).

        Raises :class:`TraceFileError` (first bad line) or OSError; the trace is unchanged then."""
        records = load_trace(path)
        paused = self.model.paused
        self.model.clear()
        self.model.set_paused(False)
        self.model.add_many(records)
        self.model.flush()
        self.model.set_paused(paused)
        self._hide_message()
        self.status_message.emit(f"Loaded {len(records)} frames from {path}")
        return len(records)

    def _save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save trace", "trace.jsonl", _FILE_FILTER)
        if not path:
            return
        try:
            self.save_trace(path)
        except OSError as exc:
            self.show_message(f"Could not save {path}: {exc.strerror or exc}", error=True)

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load trace", "", _FILE_FILTER)
        if not path:
            return
        try:
            self.load_trace(path)
        except TraceFileError as exc:
            self.show_message(f"{Path(path).name}: {exc} — nothing loaded", error=True)
        except (OSError, UnicodeError) as exc:
            self.show_message(f"Could not read {path}: {exc}", error=True)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A one-line notice above the table (red when ``error``)."""
        color = f"color: {ERROR_COLOR};" if error else ""
        self.message_label.setStyleSheet(f"QLabel#traceMessage {{ {color} }}")
        self.message_label.setText(text)
        self.message_label.show()
        self.status_message.emit(text)

    def message(self) -> str:
        return self.message_label.text() if not self.message_label.isHidden() else ""

    def _hide_message(self) -> None:
        self.message_label.clear()
        self.message_label.hide()

    # -- status, auto-scroll ---------------------------------------------------------------------

    def status_text(self) -> str:
        model = self.model
        shown, total = model.rowCount(), model.total()
        parts = [f"{shown:,} of {total:,} frames" if shown != total else f"{total:,} frames"]
        if model.paused:
            parts.append(f"paused, {model.not_shown:,} new frames held")
        if model.dropped:
            parts.append(f"{model.dropped:,} oldest dropped (limit {model.capacity:,})")
        return " · ".join(parts)

    def _update_status(self) -> None:
        self.status_label.setText(self.status_text())

    def _remember_scroll(self, *_: Any) -> None:
        bar = self.table.verticalScrollBar()
        self._stick_to_bottom = bar.value() >= bar.maximum() - 2

    def _follow_new_rows(self, *_: Any) -> None:
        if self._stick_to_bottom:
            self.table.scrollToBottom()
