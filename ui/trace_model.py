"""The trace pane's data side: the record type, the JSON-lines trace file and a table model that
stays smooth at 100k+ records.

:class:`TraceTableModel` never resets on new records: :meth:`~TraceTableModel.add` appends to a
pending list and a single-shot :class:`QTimer` flushes the batch with one ``beginInsertRows`` per
tick (:data:`FLUSH_INTERVAL_MS`). A ring cap (:data:`DEFAULT_CAPACITY`) drops the oldest records
with one ``beginRemoveRows``. The filter is applied inside the model (a sorted list of the
sequence numbers of the records it keeps), so new batches are filtered once and never trigger a
full re-scan. Pause discards new records and counts them ("paused, N frames not shown").
"""

from __future__ import annotations

import json
import math
import string
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Protocol

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer,
                            Signal)
from PySide6.QtGui import QColor, QFontDatabase

from meterreader.atomic import atomic_path
# The worker's record type (frozen dataclass: timestamp, direction, layer, data, summary) is the
# one the pane builds when loading a file; the pane itself accepts any TraceRecordLike.
from ui.worker_types import TraceRecord

__all__ = ["COLUMNS", "DEFAULT_CAPACITY", "DIRECTIONS", "FLUSH_INTERVAL_MS", "LAYERS",
           "RECORD_ROLE", "TraceFileError", "TraceFilter", "TraceRecord", "TraceRecordLike",
           "TraceTableModel", "format_time", "hex_dump", "load_trace", "record_from_json",
           "record_to_json", "save_trace"]

COLUMNS = ("Time", "Dir", "Layer", "Length", "Summary")
DIRECTIONS = ("tx", "rx")
LAYERS = ("hdlc", "wrapper", "apdu")
DEFAULT_CAPACITY = 200_000  # records kept; the oldest are dropped beyond this
FLUSH_INTERVAL_MS = 100
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's TraceRecord
_DIR_TEXT = {"tx": "TX →", "rx": "RX ←"}
# Mid tones readable on light and dark palettes alike.
_DIR_COLOR = {"tx": QColor("#4f86c6"), "rx": QColor("#2e9d5b")}
_LAYER_TEXT = {"hdlc": "HDLC", "wrapper": "Wrapper", "apdu": "APDU"}
_AnyIndex = QModelIndex | QPersistentModelIndex


class TraceRecordLike(Protocol):
    """What the pane accepts: any object with these attributes (duck typed), e.g.
    :class:`ui.worker_types.TraceRecord`."""

    timestamp: float  # seconds since the epoch (time.time())
    direction: str  # "tx" | "rx"
    layer: str  # "hdlc" | "wrapper" | "apdu"
    data: bytes  # already secret-masked by the session
    summary: str


# --- formatting -----------------------------------------------------------------------------------

def format_time(timestamp: float) -> str:
    """Local wall-clock time ``HH:MM:SS.mmm``."""
    try:
        moment = datetime.fromtimestamp(timestamp)
    except (OverflowError, OSError, ValueError):
        return "??:??:??.???"
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


_PRINTABLE = frozenset(range(0x20, 0x7F))


def hex_dump(data: bytes, width: int = 16) -> str:
    """Classic ``offset | hex | ascii`` dump, ``width`` bytes a line."""
    lines = []
    for start in range(0, len(data), width):
        chunk = data[start:start + width]
        hex_part = " ".join(f"{b:02X}" for b in chunk)
        text = "".join(chr(b) if b in _PRINTABLE else "." for b in chunk)
        lines.append(f"{start:06X}  {hex_part:<{3 * width - 1}}  {text}")
    return "\n".join(lines)


# --- JSON lines file -----------------------------------------------------------------------------

class TraceFileError(Exception):
    """A trace file line that does not describe a record; ``line`` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def record_to_json(record: TraceRecordLike) -> str:
    """One JSON line: ``{"t", "dir", "layer", "hex", "summary"}``."""
    return json.dumps({"t": record.timestamp, "dir": record.direction, "layer": record.layer,
                       "hex": bytes(record.data).hex().upper(), "summary": record.summary},
                      ensure_ascii=False)


def record_from_json(text: str) -> TraceRecord:
    """Parse one line; raises ValueError naming the first problem."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    t = obj.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise ValueError('"t" must be a number (seconds since the epoch)')
    direction = obj.get("dir")
    if direction not in DIRECTIONS:
        raise ValueError(f'"dir" must be "tx" or "rx", got {direction!r}')
    layer = obj.get("layer")
    if layer not in LAYERS:
        raise ValueError(f'"layer" must be one of {", ".join(LAYERS)}, got {layer!r}')
    hex_text = obj.get("hex")
    if not isinstance(hex_text, str) or len(hex_text) % 2 or not all(
            c in string.hexdigits for c in hex_text):
        raise ValueError('"hex" must be a string of hex digit pairs')
    summary = obj.get("summary", "")
    if not isinstance(summary, str):
        raise ValueError('"summary" must be a string')
    return TraceRecord(timestamp=float(t), direction=direction, layer=layer,
                       data=bytes.fromhex(hex_text), summary=summary)


def save_trace(path: str | Path, records: Iterable[TraceRecordLike]) -> int:
    """Write ``records`` as JSON lines (UTF-8), atomically (a failure leaves the old file or
    none, never half a trace); returns how many."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(record_to_json(record))
            out.write("\n")
            count += 1
    return count


def load_trace(path: str | Path) -> list[TraceRecord]:
    """Read a JSON-lines trace; blank lines are skipped. Raises :class:`TraceFileError` for the
    first bad line (OSError when the file cannot be read)."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as src:
        for number, line in enumerate(src, start=1):
            if not line.strip():
                continue
            try:
                records.append(record_from_json(line))
            except ValueError as exc:
                raise TraceFileError(number, str(exc)) from None
    return records


# --- filter ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class TraceFilter:
    """Keep records of ``direction``/``layer`` (None = any) whose summary contains ``text``
    (case-insensitive) or, when ``text`` is hex, whose bytes contain it."""

    direction: str | None = None
    layer: str | None = None
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return self.direction is None and self.layer is None and not self.text.strip()

    def matches(self, record: TraceRecordLike) -> bool:
        if self.direction is not None and record.direction != self.direction:
            return False
        if self.layer is not None and record.layer != self.layer:
            return False
        needle = self.text.strip()
        if not needle:
            return True
        if needle.casefold() in record.summary.casefold():
            return True
        digits = "".join(needle.split())
        if len(digits) >= 2 and len(digits) % 2 == 0 and all(c in string.hexdigits
                                                             for c in digits):
            return bytes.fromhex(digits) in record.data
        return False


# --- model ----------------------------------------------------------------------------------------

class TraceTableModel(QAbstractTableModel):
    """Rows of :class:`TraceRecordLike`, appended in timed batches, capped, filtered in place.

    ``flushed`` is emitted after every timer tick (also while paused, so counters can update)."""

    flushed = Signal()

    def __init__(self, parent=None, *, capacity: int = DEFAULT_CAPACITY,
                 interval_ms: int = FLUSH_INTERVAL_MS) -> None:
        super().__init__(parent)
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._records: list[TraceRecordLike] = []  # oldest first, at most capacity
        self._first_seq = 0  # sequence number of _records[0]
        self._shown: list[int] | None = None  # sequence numbers passing the filter; None = all
        self._filter = TraceFilter()
        self._pending: list[TraceRecordLike] = []
        self._paused = False
        self._held: list[TraceRecordLike] = []  # captured while paused, shown on resume
        self._dropped = 0  # removed by the cap
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._fixed_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    # -- feeding ---------------------------------------------------------------------------------

    def add(self, record: TraceRecordLike) -> None:
        """Queue ``record``; it appears at the next flush. While paused it is held (capture goes
        on, the view stays still) and appears on resume."""
        if self._paused:
            self._held.append(record)
            if len(self._held) > 2 * self._capacity:  # bounded: keep the newest capacity
                self._dropped += len(self._held) - self._capacity
                del self._held[:-self._capacity]
        else:
            self._pending.append(record)
        if not self._timer.isActive():
            self._timer.start()

    def add_many(self, records: Iterable[TraceRecordLike]) -> None:
        for record in records:
            self.add(record)

    def flush(self) -> None:
        """Move the pending records into the model: one removal (cap) and one insertion."""
        self._timer.stop()
        batch, self._pending = self._pending, []
        if batch:
            if len(batch) > self._capacity:
                self._dropped += len(batch) - self._capacity
                batch = batch[-self._capacity:]
            self._drop_oldest(len(self._records) + len(batch) - self._capacity)
            self._append(batch)
        self.flushed.emit()

    def _drop_oldest(self, count: int) -> None:
        if count <= 0:
            return
        self._dropped += count
        new_first = self._first_seq + count
        if self._shown is None:
            rows = count
        else:
            rows = bisect_left(self._shown, new_first)
        if rows:
            self.beginRemoveRows(QModelIndex(), 0, rows - 1)
        del self._records[:count]
        self._first_seq = new_first
        if self._shown is not None:
            del self._shown[:rows]
        if rows:
            self.endRemoveRows()

    def _append(self, batch: list[TraceRecordLike]) -> None:
        seq = self._first_seq + len(self._records)
        if self._shown is None:
            new_rows: list[int] | None = None
            added = len(batch)
        else:
            keep = self._filter.matches
            new_rows = [seq + i for i, record in enumerate(batch) if keep(record)]
            added = len(new_rows)
        first = self.rowCount()
        if added:
            self.beginInsertRows(QModelIndex(), first, first + added - 1)
        self._records.extend(batch)
        if new_rows is not None and self._shown is not None:
            self._shown.extend(new_rows)
        if added:
            self.endInsertRows()

    def clear(self) -> None:
        """Forget every record, the pending ones and the counters."""
        self.beginResetModel()
        self._first_seq += len(self._records) + len(self._pending)
        self._records.clear()
        self._pending.clear()
        self._held.clear()
        if self._shown is not None:
            self._shown = []
        self._dropped = 0
        self.endResetModel()
        self.flushed.emit()

    # -- state -----------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause freezes the view: records arriving meanwhile are held (nothing is lost) and
        appended on resume."""
        if paused == self._paused:
            return
        self._paused = paused
        if paused:
            self.flush()  # what arrived before the pause is still shown
        else:
            held, self._held = self._held, []
            self._pending.extend(held)
            self.flush()
        self.flushed.emit()

    @property
    def not_shown(self) -> int:
        """Records captured during the current pause, shown on resume."""
        return len(self._held)

    def held(self) -> list[TraceRecordLike]:
        """The records captured during the current pause, oldest first."""
        return list(self._held)

    @property
    def dropped(self) -> int:
        """Oldest records removed by the capacity cap since the last clear."""
        return self._dropped

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def total(self) -> int:
        """Records held (shown or filtered out)."""
        return len(self._records)

    def records(self) -> list[TraceRecordLike]:
        """Every record held, oldest first (filter ignored)."""
        return list(self._records)

    def filter(self) -> TraceFilter:
        return self._filter

    def set_filter(self, new_filter: TraceFilter) -> None:
        """Re-filter every record (one model reset; only on filter changes)."""
        if new_filter == self._filter:
            return
        self.beginResetModel()
        self._filter = new_filter
        if new_filter.is_empty:
            self._shown = None
        else:
            keep = new_filter.matches
            first = self._first_seq
            self._shown = [first + i for i, record in enumerate(self._records) if keep(record)]
        self.endResetModel()

    def record(self, row: int) -> TraceRecordLike:
        """The record shown at ``row`` (IndexError outside 0..rowCount-1)."""
        if not 0 <= row < self.rowCount():
            raise IndexError(row)
        if self._shown is None:
            return self._records[row]
        return self._records[self._shown[row] - self._first_seq]

    # -- QAbstractTableModel ---------------------------------------------------------------------

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return len(self._records) if self._shown is None else len(self._shown)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        record = self.record(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return _DIR_COLOR.get(record.direction)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and column == 0:
            return self._fixed_font
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            return record.summary
        if role == RECORD_ROLE:
            return record
        return None

    @staticmethod
    def _display(record: TraceRecordLike, column: int) -> str | int:
        if column == 0:
            return format_time(record.timestamp)
        if column == 1:
            return _DIR_TEXT.get(record.direction, record.direction)
        if column == 2:
            return _LAYER_TEXT.get(record.layer, record.layer)
        if column == 3:
            return len(record.data)
        return record.summary
