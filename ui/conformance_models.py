"""Qt models of the conformance tab (:mod:`ui.conformance_tab`) and the verdict colours shared
with the PDF report (:mod:`ui.conformance_pdf`).

* :class:`CheckListModel` — the checklist: one checkable row per registered check under a
  tri-state row per group (IS 15959 group order), with result, title, clause, finding and time
  columns that fill in live as outcomes arrive.
* :class:`ResultFilter` — shows only the checks with one verdict (their group rows stay).
* :class:`EvidenceModel` — the frames/APDUs of one outcome (#, time, direction, layer, bytes,
  summary).
* :class:`BenchThread` — runs the bench off the GUI thread (``stop_all_benches`` at exit).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QCoreApplication, QDeadlineTimer, QModelIndex,
                            QPersistentModelIndex, QPointF, QRectF, QSortFilterProxyModel, Qt,
                            QThread, Signal)
from PySide6.QtGui import (QBrush, QColor, QFont, QIcon, QPainter, QPen, QPixmap,
                           QStandardItem, QStandardItemModel)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.conformance.context import ConformanceTarget
from meterreader.conformance.model import CheckOutcome, Evidence, Verdict
from meterreader.conformance.registry import CheckDef, group_rank
from meterreader.conformance.runner import run_conformance
from meterreader.transport.base import CancelToken
from ui.trace_model import format_time
from ui.worker_types import TraceRecord

__all__ = ["BenchThread", "CHECK_ID_ROLE", "COLUMNS", "CheckListModel", "EVIDENCE_COLUMNS",
           "EvidenceModel", "RUNNING", "ResultFilter", "VERDICT_BACKGROUND", "VERDICT_FOREGROUND",
           "VERDICT_ROLE",
           "VERDICT_TEXT", "stop_all_benches", "verdict_icon"]

#: Result words (as printed) → verdict.
VERDICT_TEXT = {"PASS": Verdict.PASS, "FAIL": Verdict.FAIL, "SKIP": Verdict.SKIP,
                "ERROR": Verdict.ERROR}
#: Light cell backgrounds (the XLSX report's fills) and the dark text drawn on them.
VERDICT_BACKGROUND = {Verdict.PASS: QColor("#c6efce"), Verdict.FAIL: QColor("#ffc7ce"),
                      Verdict.SKIP: QColor("#ededed"), Verdict.ERROR: QColor("#ffeb9c")}
VERDICT_FOREGROUND = {Verdict.PASS: QColor("#006100"), Verdict.FAIL: QColor("#9c0006"),
                      Verdict.SKIP: QColor("#4a4f57"), Verdict.ERROR: QColor("#8a4b00")}
#: The VERDICT_ROLE value of a check that is running now.
RUNNING = "running"
_ICON_COLOURS = {Verdict.PASS: "#2e7d32", Verdict.FAIL: "#c62828", Verdict.SKIP: "#8a8f98",
                 Verdict.ERROR: "#e08600", RUNNING: "#1f6fb2"}
_GLYPHS = {Verdict.PASS: "✓", Verdict.FAIL: "✗", Verdict.SKIP: "–", Verdict.ERROR: "!",
           RUNNING: "…"}
#: Worst first: the verdict a group row shows.
_SEVERITY = (Verdict.FAIL, Verdict.ERROR, Verdict.PASS, Verdict.SKIP)

COLUMNS = ("Check", "Result", "Title", "Clause", "Finding", "Time (s)")
COL_ID, COL_RESULT, COL_TITLE, COL_CLAUSE, COL_FINDING, COL_TIME = range(len(COLUMNS))
CHECK_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
#: On column 0: the verdict value ("pass" …), RUNNING, or "" before the check ran.
VERDICT_ROLE = int(Qt.ItemDataRole.UserRole) + 2

_icons: dict[str, QIcon] = {}


def verdict_icon(verdict: Verdict | str) -> QIcon:
    """A filled circle in the verdict's colour with a white glyph (✓ ✗ – ! …); cached."""
    key = str(verdict)
    cached = _icons.get(key)
    if cached is not None:
        return cached
    icon = QIcon()
    for size in (16, 32):
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(_ICON_COLOURS.get(verdict, "#8a8f98")))
        p.drawEllipse(QPointF(size / 2, size / 2), size / 2 - 0.5, size / 2 - 0.5)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(size * 0.72))
        p.setFont(font)
        p.setPen(QPen(QColor("white")))
        p.drawText(QRectF(0, 0, size, size), int(Qt.AlignmentFlag.AlignCenter),
                   _GLYPHS.get(verdict, "?"))
        p.end()
        icon.addPixmap(pixmap)
    _icons[key] = icon
    return icon


def _cell(text: str = "", tip: str = "") -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    if tip:
        item.setToolTip(tip)
    return item


class CheckListModel(QStandardItemModel):
    """The checklist (see the module docstring): group rows with tri-state check boxes, check
    rows with a check box on column 0 that carry :data:`CHECK_ID_ROLE` and
    :data:`VERDICT_ROLE`."""

    def __init__(self, checks: Iterable[CheckDef] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self._rows: dict[str, QStandardItem] = {}
        self._groups: dict[str, QStandardItem] = {}
        self._defs: dict[str, CheckDef] = {}
        self._outcomes: dict[str, CheckOutcome] = {}
        self.populate(checks)

    # -- building ---------------------------------------------------------------------------------

    def populate(self, checks: Iterable[CheckDef]) -> None:
        """One row per check, under its group (groups in report order)."""
        self.removeRows(0, self.rowCount())
        self._rows.clear()
        self._groups.clear()
        self._outcomes.clear()
        defs = list(checks)
        order = {c.check_id: n for n, c in enumerate(defs)}
        defs.sort(key=lambda c: (group_rank(c.group), order[c.check_id]))
        self._defs = {c.check_id: c for c in defs}
        for c in defs:
            group = self._groups.get(c.group)
            if group is None:
                group = _cell(c.group.upper() if c.group == "hdlc" else c.group.capitalize())
                group.setCheckable(True)
                group.setAutoTristate(True)
                group.setCheckState(Qt.CheckState.Checked)
                font = group.font()
                font.setBold(True)
                group.setFont(font)
                self._groups[c.group] = group
                self.appendRow([group] + [_cell() for _ in COLUMNS[1:]])
            first = _cell(c.check_id)
            first.setCheckable(True)
            first.setCheckState(Qt.CheckState.Checked)
            first.setData(c.check_id, CHECK_ID_ROLE)
            first.setData("", VERDICT_ROLE)
            notes = []
            if c.destructive:
                notes.append("changes the meter (runs only with “Allow MD reset”)")
            if c.needs:
                notes.append("needs " + ", ".join(n.upper() for n in c.needs))
            first.setToolTip(f"{c.title}" + (f" — {'; '.join(notes)}" if notes else ""))
            group.appendRow([first, _cell(), _cell(c.title, c.title), _cell(c.clause, c.clause),
                             _cell(), _cell()])
            self._rows[c.check_id] = first

    # -- lookups ----------------------------------------------------------------------------------

    def check_ids(self) -> list[str]:
        """Every check id, in display order."""
        return list(self._rows)

    def row_index(self, check_id: str, column: int = COL_ID) -> QModelIndex:
        item = self._rows[check_id]
        return self.indexFromItem(item).siblingAtColumn(column)

    def group_of(self, check_id: str) -> str:
        return self._defs[check_id].group

    def checked_ids(self) -> list[str]:
        """The ticked checks, in display order."""
        return [i for i, item in self._rows.items()
                if item.checkState() == Qt.CheckState.Checked]

    def set_checked(self, check_ids: Iterable[str] | None) -> None:
        """Tick exactly ``check_ids`` (None: all)."""
        wanted = None if check_ids is None else set(check_ids)
        for check_id, item in self._rows.items():
            on = wanted is None or check_id in wanted
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def set_checkable(self, enabled: bool) -> None:
        """Let the user change the ticks (not while a run goes)."""
        for item in [*self._rows.values(), *self._groups.values()]:
            item.setCheckable(enabled)

    def outcome(self, check_id: str) -> CheckOutcome | None:
        return self._outcomes.get(check_id)

    def verdict(self, check_id: str) -> str:
        """"pass"/"fail"/"skip"/"error", :data:`RUNNING`, or "" (not run)."""
        return str(self._rows[check_id].data(VERDICT_ROLE) or "")

    # -- results ----------------------------------------------------------------------------------

    def _item(self, check_id: str, column: int) -> QStandardItem:
        first = self._rows[check_id]
        parent = first.parent()
        return parent.child(first.row(), column)

    def reset_results(self) -> None:
        """Forget every outcome (a new run starts)."""
        self._outcomes.clear()
        for check_id, first in self._rows.items():
            first.setData("", VERDICT_ROLE)
            first.setIcon(QIcon())
            for column in (COL_RESULT, COL_FINDING, COL_TIME):
                item = self._item(check_id, column)
                item.setText("")
                item.setToolTip("")
                item.setData(None, Qt.ItemDataRole.BackgroundRole)
                item.setData(None, Qt.ItemDataRole.ForegroundRole)
        for group in self._groups.values():
            self._set_group(group)

    def set_running(self, check_id: str) -> None:
        first = self._rows[check_id]
        first.setData(RUNNING, VERDICT_ROLE)
        first.setIcon(verdict_icon(RUNNING))
        self._item(check_id, COL_RESULT).setText("running…")

    def set_outcome(self, outcome: CheckOutcome) -> None:
        """Show one check's outcome (checks not in the list are ignored)."""
        first = self._rows.get(outcome.check_id)
        if first is None:
            return
        self._outcomes[outcome.check_id] = outcome
        v = outcome.verdict
        first.setData(v.value, VERDICT_ROLE)
        first.setIcon(verdict_icon(v))
        result = self._item(outcome.check_id, COL_RESULT)
        result.setText(v.value.upper())
        result.setData(QBrush(VERDICT_BACKGROUND[v]), Qt.ItemDataRole.BackgroundRole)
        result.setData(QBrush(VERDICT_FOREGROUND[v]), Qt.ItemDataRole.ForegroundRole)
        finding = self._item(outcome.check_id, COL_FINDING)
        finding.setText(outcome.finding)
        finding.setToolTip(outcome.finding)
        self._item(outcome.check_id, COL_TIME).setText(f"{outcome.elapsed:.2f}")
        self._item(outcome.check_id, COL_TIME).setTextAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._set_group(first.parent())

    def _set_group(self, group: QStandardItem) -> None:
        verdicts = [Verdict(v) for i in range(group.rowCount())
                    if (v := group.child(i, COL_ID).data(VERDICT_ROLE)) in
                    {x.value for x in Verdict}]
        row = group.row()
        result = self.item(row, COL_RESULT)
        finding = self.item(row, COL_FINDING)
        if not verdicts:
            result.setText("")
            finding.setText("")
            result.setData(None, Qt.ItemDataRole.BackgroundRole)
            result.setData(None, Qt.ItemDataRole.ForegroundRole)
            return
        worst = next(v for v in _SEVERITY if v in verdicts)
        result.setText(worst.value.upper())
        result.setData(QBrush(VERDICT_BACKGROUND[worst]), Qt.ItemDataRole.BackgroundRole)
        result.setData(QBrush(VERDICT_FOREGROUND[worst]), Qt.ItemDataRole.ForegroundRole)
        finding.setText(", ".join(f"{verdicts.count(v)} {v.value}" for v in Verdict
                                  if v in verdicts) + f" of {group.rowCount()}")

    def counts(self) -> dict[Verdict, int]:
        out = {v: 0 for v in Verdict}
        for outcome in self._outcomes.values():
            out[outcome.verdict] += 1
        return out


class ResultFilter(QSortFilterProxyModel):
    """Shows the check rows with one verdict (None: every row); group rows stay above the rows
    they hold (recursive filtering)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self._verdict: Verdict | None = None

    @property
    def verdict(self) -> Verdict | None:
        return self._verdict

    def set_verdict(self, verdict: Verdict | str | None) -> None:
        """Show only ``verdict`` ("fail" or Verdict.FAIL …; None or "" for all)."""
        self.beginFilterChange()
        self._verdict = Verdict(verdict) if verdict else None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex
                         ) -> bool:  # noqa: N802 (Qt override)
        if self._verdict is None:
            return True
        index = self.sourceModel().index(row, COL_ID, parent)
        if index.data(CHECK_ID_ROLE) is None:
            return False  # a group row: shown when one of its checks is
        return index.data(VERDICT_ROLE) == self._verdict.value


EVIDENCE_COLUMNS = ("#", "Time", "Dir", "Layer", "Bytes", "Summary")
_DIRECTION = {"tx": "TX →", "rx": "RX ←", "note": "note"}


class EvidenceModel(QAbstractTableModel):
    """The evidence (frames, APDUs, notes) of one outcome."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: tuple[Evidence, ...] = ()

    def set_evidence(self, items: Iterable[Evidence]) -> None:
        self.beginResetModel()
        self._items = tuple(items)
        self.endResetModel()

    def item(self, row: int) -> Evidence | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(EVIDENCE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return EVIDENCE_COLUMNS[section]
        return None

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(index.row() + 1)
            if column == 1:
                return format_time(item.timestamp)
            if column == 2:
                return _DIRECTION.get(item.direction, item.direction)
            if column == 3:
                return "" if item.layer == "note" else item.layer.upper()
            if column == 4:
                return str(len(item.hex) // 2) if item.hex else ""
            return item.summary
        if role == Qt.ItemDataRole.ToolTipRole and column == 5:
            return item.summary
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and item.layer == "note":
            return QBrush(QColor("#5a6470"))
        if role == Qt.ItemDataRole.FontRole and item.layer == "note":
            font = QFont()
            font.setItalic(True)
            return font
        return None


# -- the bench thread ---------------------------------------------------------------------------

_TRACE_BATCH = 64
# Bench threads not yet seen finished: a QThread must not be destroyed while it runs.
_RUNNING: set[BenchThread] = set()
_hooked = False


def stop_all_benches(timeout: float = 3.0) -> None:
    """Cancel every running bench and wait for its thread (application exit)."""
    for thread in list(_RUNNING):
        thread.cancel_token.cancel()
    for thread in list(_RUNNING):
        thread.wait(QDeadlineTimer(int(timeout * 1000)))
    _prune()


def _prune() -> None:
    for thread in list(_RUNNING):
        if thread.isFinished():
            _RUNNING.discard(thread)


def _hook_shutdown() -> None:
    global _hooked
    app = QCoreApplication.instance()
    if not _hooked and app is not None:
        _hooked = True
        app.aboutToQuit.connect(stop_all_benches)


class BenchThread(QThread):
    """Runs :func:`run_conformance` off the GUI thread; its signals arrive queued on the GUI
    thread: ``check_started(CheckDef)``, ``check_finished(CheckOutcome)``,
    ``traced(list[TraceRecord])``, then ``report_ready(ConformanceReport)`` or
    ``run_failed(str)``."""

    check_started = Signal(object)
    check_finished = Signal(object)
    traced = Signal(object)
    report_ready = Signal(object)
    run_failed = Signal(str)

    def __init__(self, target: ConformanceTarget, category: str, check_ids: list[str],
                 allow_destructive: bool) -> None:
        super().__init__()
        self.setObjectName("meterreader conformance bench")
        self.target = target
        self.category = category
        self.check_ids = list(check_ids)
        self.allow_destructive = allow_destructive
        self.cancel_token = CancelToken()
        self._trace: list[TraceRecord] = []

    def run(self) -> None:  # the bench thread
        try:
            report = run_conformance(self.target, self.category, check_ids=self.check_ids,
                                     allow_destructive=self.allow_destructive,
                                     progress=self._progress, cancel=self.cancel_token,
                                     on_trace=self._on_trace)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._flush()
            self.run_failed.emit(str(exc) or type(exc).__name__)
            return
        self._flush()
        self.report_ready.emit(report)

    def _progress(self, check: CheckDef, outcome: CheckOutcome | None) -> None:
        self._flush()
        if outcome is None:
            self.check_started.emit(check)
        else:
            self.check_finished.emit(outcome)

    def _on_trace(self, direction: str, layer: str, data: bytes, summary: str) -> None:
        self._trace.append(TraceRecord(timestamp=time.time(), direction=direction, layer=layer,
                                       data=bytes(data), summary=summary))
        if len(self._trace) >= _TRACE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._trace:
            batch, self._trace = self._trace, []
            self.traced.emit(batch)
