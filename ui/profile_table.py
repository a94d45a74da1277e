"""A table model for profile rows (:class:`meterreader.reading.ReadingTable` or rows arriving
from a read) that stays smooth at 100k rows, plus the view, copy and CSV export around it.

The model keeps only the row tuples it is given (no per-cell objects); cells are formatted
when Qt asks for them (only the visible ones). :meth:`ReadingTableModel.append_rows` queues
rows and a short timer inserts them in batches of at most :data:`APPEND_BATCH` rows per tick,
so a fast read never stalls the GUI thread. :class:`ReadingTableView` uses fixed row heights
(no per-row size hints) and copies the selection as TSV with Ctrl+C.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer,
                            Signal)
from PySide6.QtGui import QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

import ui.pyside_fixes  # noqa: F401  (emit work-around; this module emits signals)
from meterreader.atomic import atomic_path
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.reading.model import ReadingColumn, ReadingTable

__all__ = ["APPEND_BATCH", "FLUSH_INTERVAL_MS", "VALUE_ROLE", "ReadingTableModel",
           "ReadingTableView", "column_header", "copy_selection", "format_cell", "write_csv"]

APPEND_BATCH = 2000  #: rows inserted per timer tick by append_rows
FLUSH_INTERVAL_MS = 30
VALUE_ROLE = Qt.ItemDataRole.UserRole + 1  #: the cell's Python value
_AnyIndex = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


# --- formatting ----------------------------------------------------------------------------------

def _offset_text(value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _float_text(value: float, decimals: int | None) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if value and (abs(value) >= 1e15 or abs(value) < 1e-4):
        return f"{value:.6g}"
    return f"{value:.6f}".rstrip("0").rstrip(".")


def format_cell(value: Any, column: ReadingColumn | None = None) -> str:
    """Display text of one cell: meter-local date-times ("2024-05-01 10:15:00"), numbers with
    the decimals of the column's scaler (scaler -2 → two decimals), bytes as spaced hex,
    lists in braces, None as empty text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        scaler = column.scaler if column is not None else None
        decimals = -scaler if scaler is not None and scaler < 0 else (
            0 if scaler is not None and value.is_integer() else None)
        return _float_text(value, decimals)
    if isinstance(value, dt.datetime):
        # The meter's wall clock (aware values carry the meter's offset; shown in the tooltip).
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        when = CosemDateTime.try_from_bytes(value) if len(value) == 12 else None
        if when is not None:  # e.g. a billing date captured as an octet-string
            return when.iso_text().replace("T", " ")
        if value and all(0x20 <= b < 0x7F for b in value):
            return value.decode("ascii")
        return value.hex(" ").upper()
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(format_cell(v) for v in value) + "}"
    return str(value)


def column_header(column: ReadingColumn) -> str:
    """The column's title, with its unit when the title does not already show it."""
    if column.unit and f"({column.unit})" not in column.title:
        return f"{column.title} ({column.unit})"
    return column.title


def _sort_key(value: Any) -> tuple:
    # Mixed-type columns sort by kind first (None last); aware date-times by their UTC instant.
    if value is None:
        return (9, 0)
    if isinstance(value, (bool, int, float)):
        return (0, value if not (isinstance(value, float) and math.isnan(value)) else math.inf)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return (1, value)
    if isinstance(value, (dt.date, dt.time)):
        return (2, value.isoformat())
    if isinstance(value, bytes):
        return (3, value)
    return (4, str(value))


# --- model ---------------------------------------------------------------------------------------

class ReadingTableModel(QAbstractTableModel):
    """Rows of one profile. Build from a :class:`ReadingTable` (``set_table``) or from columns
    and rows appended as they arrive (``set_columns`` + ``append_rows``).

    ``rows_appended(int)`` is emitted after every batch inserted (the new row count)."""

    rows_appended = Signal(int)

    def __init__(self, table: ReadingTable | None = None, parent=None, *,
                 batch: int = APPEND_BATCH, interval_ms: int = FLUSH_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._columns: tuple[ReadingColumn, ...] = ()
        self._rows: list[tuple[Any, ...]] = []
        self._pending: list[tuple[Any, ...]] = []
        self._batch = max(1, batch)
        self._table: ReadingTable | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._flush_batch)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if table is not None:
            self.set_table(table)

    # -- content ----------------------------------------------------------------------------------
    @property
    def columns(self) -> tuple[ReadingColumn, ...]:
        return self._columns

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """The rows shown (in display order); do not modify."""
        return self._rows

    @property
    def pending(self) -> int:
        """Rows queued by append_rows but not inserted yet."""
        return len(self._pending)

    def set_table(self, table: ReadingTable) -> None:
        """Show ``table`` (columns and all its rows) at once."""
        self._timer.stop()
        self.beginResetModel()
        self._table = table
        self._columns = tuple(table.columns)
        self._rows = list(table.rows)
        self._pending = []
        self.endResetModel()

    def set_columns(self, columns: Sequence[ReadingColumn]) -> None:
        """Start an empty table with these columns (rows follow via append_rows)."""
        self._timer.stop()
        self.beginResetModel()
        self._table = None
        self._columns = tuple(columns)
        self._rows = []
        self._pending = []
        self.endResetModel()

    def clear(self) -> None:
        self.set_columns(())

    def append_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Queue rows; they are inserted in batches from a timer (call :meth:`flush` to insert
        them all now)."""
        self._pending.extend(tuple(r) for r in rows)
        if self._pending and not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Insert every queued row now (one insert)."""
        self._timer.stop()
        self._insert(len(self._pending))

    def _flush_batch(self) -> None:
        self._insert(min(self._batch, len(self._pending)))
        if self._pending:
            self._timer.start()

    def _insert(self, count: int) -> None:
        if count <= 0:
            return
        batch, self._pending = self._pending[:count], self._pending[count:]
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        self._rows.extend(batch)
        self.endInsertRows()
        self.rows_appended.emit(len(self._rows))

    def reading_table(self, *, section: str = "profile", title: str = "", obis: str = "",
                      complete: bool = True, error: str = "",
                      capture_period: int | None = None) -> ReadingTable:
        """A :class:`ReadingTable` of the rows shown (queued rows included, display order)."""
        base = self._table
        return ReadingTable(
            section=base.section if base else section, title=base.title if base else title,
            obis=base.obis if base else obis, columns=self._columns,
            rows=tuple(self._rows) + tuple(self._pending),
            complete=base.complete if base else complete, error=base.error if base else error,
            capture_period=base.capture_period if base else capture_period)

    def row_values(self, row: int) -> tuple[Any, ...]:
        return self._rows[row]

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if r >= len(self._rows) or c >= len(self._columns):
            return None
        row = self._rows[r]
        value = row[c] if c < len(row) else None
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(value, self._columns[c])
        if role == VALUE_ROLE:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            return _RIGHT if numeric else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            if isinstance(value, dt.datetime):
                offset = _offset_text(value)
                return f"{value.isoformat(sep=' ')}" + (f" (meter time, {offset})" if offset
                                                        else " (meter local time)")
            if isinstance(value, bytes):
                return value.hex(" ").upper()
            return None
        if role == Qt.ItemDataRole.FontRole and isinstance(value, bytes):
            return self._mono
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(section + 1)
            return None
        if section >= len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column_header(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            scaler = "" if column.scaler is None else f", scaler 10^{column.scaler}"
            return f"class {column.class_id} · {column.obis} · attribute {column.attribute}" \
                   f"{scaler}"
        return None

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by one column (queued rows are inserted first)."""
        if not 0 <= column < len(self._columns):
            return
        self.flush()
        self.layoutAboutToBeChanged.emit()
        self._rows.sort(key=lambda row: _sort_key(row[column] if column < len(row) else None),
                        reverse=Qt.SortOrder(order) == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


# --- view, copy, CSV -----------------------------------------------------------------------------

def _selected_block(view: QTableView) -> tuple[list[int], list[int]]:
    model = view.selectionModel()
    if model is None:
        return [], []
    indexes = model.selectedIndexes()
    rows = sorted({i.row() for i in indexes})
    cols = sorted({i.column() for i in indexes if not view.isColumnHidden(i.column())})
    return rows, cols


def copy_selection(view: QTableView) -> str:
    """The selected cells as TSV: a header line of the selected columns' titles, then one line
    per selected row (cells of the selected rows × columns; unselected cells in between are
    empty). Empty text when nothing is selected."""
    model = view.model()
    rows, cols = _selected_block(view)
    if model is None or not rows or not cols:
        return ""
    selection = view.selectionModel()
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([model.headerData(c, Qt.Orientation.Horizontal) for c in cols])
    for r in rows:
        writer.writerow([model.data(model.index(r, c)) if selection.isSelected(model.index(r, c))
                         else "" for c in cols])
    return out.getvalue()


def write_csv(model: ReadingTableModel, path: str | Path, *,
              columns: Sequence[int] | None = None) -> Path:
    """Write the rows shown (display text, display order) as CSV (UTF-8 with BOM so Excel reads
    the units right; header with units) atomically; ``columns`` = visible column indexes."""
    model.flush()
    cols = list(range(model.columnCount())) if columns is None else list(columns)
    headers = [column_header(model.columns[c]) for c in cols]
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        specs = [model.columns[c] for c in cols]
        for row in model.rows:
            writer.writerow([format_cell(row[c] if c < len(row) else None, spec)
                             for c, spec in zip(cols, specs)])
    return Path(path)


class ReadingTableView(QTableView):
    """A table for :class:`ReadingTableModel`: fixed row height, sortable by header click,
    extended selection, Ctrl+C copies the selection (see :func:`copy_selection`)."""

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setDefaultSectionSize(130)
        vertical = self.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        vertical.setMinimumWidth(40)

    def copy_to_clipboard(self) -> str:
        text = copy_selection(self)
        if text:
            QGuiApplication.clipboard().setText(text)
            self.copied.emit(text)
        return text

    def fit_columns(self, sample_rows: int = 50) -> None:
        """Size the columns to the header and the first rows (never the whole table)."""
        model = self.model()
        if model is None:
            return
        metrics = self.fontMetrics()
        header = self.horizontalHeader()
        rows = min(model.rowCount(), sample_rows)
        for c in range(model.columnCount()):
            texts = [str(model.headerData(c, Qt.Orientation.Horizontal) or "")]
            texts += [str(model.data(model.index(r, c)) or "") for r in range(rows)]
            width = max(metrics.horizontalAdvance(t) for t in texts) + 24
            header.resizeSection(c, min(max(width, 60), 320))

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_to_clipboard()
            event.accept()
            return
        super().keyPressEvent(event)
