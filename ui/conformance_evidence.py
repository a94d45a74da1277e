"""The conformance bench's evidence viewer (:mod:`ui.conformance_tab`): one check's finding, the
frames/APDUs it exchanged, and the selected frame decoded by the PDU translator plus its hex dump.

Left: the finding line (coloured by verdict) above the frame table; right: a note on the selected
frame above a vertical splitter of the decoded tree and the hex dump.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QAbstractItemView, QLabel, QPlainTextEdit, QSplitter, QTableView,
                               QVBoxLayout, QWidget)

from meterreader.conformance.model import CheckOutcome
from meterreader.translator import TranslationError
from ui.conformance_models import VERDICT_FOREGROUND, EvidenceModel
from ui.json_tree import JsonTreeModel, JsonTreeView
from ui.trace_model import hex_dump
from ui.trace_pane import decode_record

__all__ = ["EvidenceViewer", "SELECT_CHECK", "SELECT_FRAME"]

SELECT_CHECK = "Select a check to see the frames it exchanged."
SELECT_FRAME = "Select a frame to see it decoded."


class EvidenceViewer(QWidget):
    """Shows one check's outcome: ``show_check``/``show_outcome``, ``select_frame(row)``,
    ``decoded()``. Widgets: ``finding_label``, ``frames`` (on ``evidence``), ``detail_label``,
    ``decode_tree`` (on ``tree_model``), ``hex_view``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evidence = EvidenceModel(self)
        self.tree_model = JsonTreeModel(self)
        self._build()

    def _build(self) -> None:
        self.frames = QTableView(self)
        self.frames.setObjectName("benchEvidence")
        self.frames.setModel(self.evidence)
        self.frames.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.frames.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.frames.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.frames.setWordWrap(False)
        self.frames.verticalHeader().hide()
        self.frames.verticalHeader().setDefaultSectionSize(
            self.frames.fontMetrics().height() + 6)
        self.frames.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((40, 90, 50, 70, 50)):
            self.frames.setColumnWidth(column, width)
        self.frames.selectionModel().currentRowChanged.connect(self._frame_selected)

        detail = QWidget(self)
        layout = QVBoxLayout(detail)
        layout.setContentsMargins(0, 0, 0, 0)
        self.detail_label = QLabel(SELECT_CHECK, detail)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail_label)
        self.decode_tree = JsonTreeView(detail)
        self.decode_tree.setObjectName("benchDecoded")
        self.decode_tree.setModel(self.tree_model)
        self.decode_tree.placeholder = SELECT_FRAME
        self.hex_view = QPlainTextEdit(detail)
        self.hex_view.setReadOnly(True)
        self.hex_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.hex_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.hex_view.setPlaceholderText("offset | hex | ascii")
        decoded = QSplitter(Qt.Orientation.Vertical, detail)
        decoded.addWidget(self.decode_tree)
        decoded.addWidget(self.hex_view)
        decoded.setStretchFactor(0, 3)
        decoded.setStretchFactor(1, 1)
        layout.addWidget(decoded, 1)

        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.finding_label = QLabel(left)
        self.finding_label.setObjectName("benchFinding")
        self.finding_label.setWordWrap(True)
        self.finding_label.setTextFormat(Qt.TextFormat.PlainText)
        self.finding_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.finding_label)
        column.addWidget(self.frames, 1)
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(left)
        lower.addWidget(detail)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setChildrenCollapsible(False)
        lower.setSizes([700, 520])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(lower)

    def reset(self) -> None:
        """Empty the frames, decoded tree and hex dump for a new run (the finding line stays)."""
        self.evidence.set_evidence(())
        self.tree_model.clear()
        self.hex_view.clear()
        self.detail_label.setText(SELECT_CHECK)

    def show_check(self, check_id: str | None, outcome: CheckOutcome | None) -> None:
        """Show the selected check: its ``outcome``, or "not run yet" when it has none."""
        self.show_outcome(outcome)
        if check_id and outcome is None:
            self.finding_label.setText(f"{check_id}: not run yet.")

    def show_outcome(self, outcome: CheckOutcome | None) -> None:
        """Show ``outcome``'s finding and evidence frames (None: nothing selected)."""
        self.evidence.set_evidence(outcome.evidence if outcome is not None else ())
        self.tree_model.clear()
        self.hex_view.clear()
        if outcome is None:
            self.finding_label.clear()
            self.detail_label.setText(SELECT_CHECK)
            return
        colour = VERDICT_FOREGROUND[outcome.verdict].name()
        self.finding_label.setStyleSheet(f"QLabel#benchFinding {{ color: {colour}; }}")
        self.finding_label.setText(f"{outcome.check_id} — {outcome.verdict.value.upper()}: "
                                   f"{outcome.finding}  ({outcome.clause}; "
                                   f"{len(outcome.evidence)} evidence items)")
        self.detail_label.setText(SELECT_FRAME)

    def select_frame(self, row: int) -> None:
        """Make evidence ``row`` the current frame (decodes it)."""
        self.frames.setCurrentIndex(self.evidence.index(row, 0))

    def _frame_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.evidence.item(current.row()) if current.isValid() else None
        self.tree_model.clear()
        self.hex_view.clear()
        if item is None:
            return
        if item.layer == "note" or not item.hex:
            self.detail_label.setText(f"Note: {item.summary}")
            return
        data = item.data
        direction = {"tx": "TX →", "rx": "RX ←"}.get(item.direction, item.direction)
        self.detail_label.setText(f"{direction} {item.layer.upper()} {len(data)} bytes — "
                                  f"{item.summary}")
        self.hex_view.setPlainText(hex_dump(data))
        try:
            self.decode_tree.show_value(decode_record(item))
        except TranslationError as exc:
            self.detail_label.setText(f"{self.detail_label.text()}\nDoes not decode: {exc}")

    def decoded(self) -> Any:
        """The decoded tree shown (None when empty)."""
        return self.tree_model.value()
