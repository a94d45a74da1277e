"""The attribute panel: every attribute and method of the selected object, Read / Read all /
Write / Action through the protocol worker, results and errors shown in place.

The panel never does I/O: it asks the worker (``get``, ``get_many``, ``set``, ``action``, each
returning a Job with ``finished``/``failed`` signals) and fills the rows when the answer comes
back. A refusal shows its Data-Access-Result in the row ("read-write-denied"); a Write first checks
the typed editor (invalid input is flagged in place and nothing is sent), then reads the attribute
back. Nothing here opens a modal dialog.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSplitter, QTableView, QVBoxLayout,
                               QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.client import CosemObjectInfo
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import BLUE_BOOK
from ui.attribute_models import (AttributeTableModel, Cell, MethodTableModel, ValueStore,
                                 enum_choices)
from ui.parameter_editor import ParameterEditor, tag_from_hint
from ui.value_editor import DateTimeEditor, ValueEditor, editor_for
from ui.value_format import error_text

__all__ = ["AttributePanel", "READ_ALL_SKIPPED"]

#: Attributes Read all leaves out (read them alone): profile generic buffers can be huge.
READ_ALL_SKIPPED: dict[int, frozenset[int]] = {7: frozenset({2})}


def _result_error(result: Any) -> str:
    """A Data-Access-Result in the standard's spelling ("read-write-denied")."""
    name = getattr(result, "name", None)
    return name.lower().replace("_", "-") if name else str(result)


def _table(model: Any, parent: QWidget, name: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(False)
    return view


class AttributePanel(QWidget):
    """Attributes and methods of one object (see the module docstring)."""

    status_message = Signal(str)
    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker: Any = None
        self.connected = False
        self.deviation_sign = BLUE_BOOK
        self.store = ValueStore()
        self.attributes = AttributeTableModel(self.store, self)
        self.methods = MethodTableModel(self.store, self)
        self._jobs: set[Any] = set()
        self._edit_target: tuple[str, CosemObjectInfo, int] | None = None
        self.editor: ValueEditor | ParameterEditor | None = None

        self.title = QLabel("Select an object in the object browser", self)
        self.title.setObjectName("objectTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)

        self.attribute_view = _table(self.attributes, self, "attributeTable")
        header = self.attribute_view.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.attribute_view.setColumnWidth(1, 190)
        self.attribute_view.setColumnWidth(2, 140)
        self.attribute_view.setColumnWidth(4, 150)
        self.method_view = _table(self.methods, self, "methodTable")
        self.method_view.horizontalHeader().setSectionResizeMode(
            3, QHeaderView.ResizeMode.Stretch)
        self.method_view.setColumnWidth(1, 190)
        self.method_view.setColumnWidth(2, 140)
        self.attribute_view.doubleClicked.connect(self._attribute_activated)
        self.method_view.doubleClicked.connect(lambda _i: self.begin_action())
        self.attribute_view.selectionModel().currentRowChanged.connect(
            lambda *_: self.selection_changed.emit())
        self.method_view.selectionModel().currentRowChanged.connect(
            lambda *_: self.selection_changed.emit())

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.attribute_view)
        splitter.addWidget(self.method_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter

        self.edit_box = QFrame(self)
        self.edit_box.setObjectName("editBox")
        self.edit_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.edit_title = QLabel(self.edit_box)
        self.edit_title.setTextFormat(Qt.TextFormat.RichText)
        self.edit_message = QLabel(self.edit_box)
        self.edit_message.setObjectName("editMessage")
        self.edit_message.setWordWrap(True)
        self.send_button = QPushButton("Write", self.edit_box)
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.commit_edit)
        self.cancel_button = QPushButton("Cancel", self.edit_box)
        self.cancel_button.clicked.connect(self.cancel_edit)
        self._editor_row = QHBoxLayout()
        self._editor_row.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.edit_message, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.send_button)
        box = QVBoxLayout(self.edit_box)
        box.setContentsMargins(8, 6, 8, 6)
        box.addWidget(self.edit_title)
        box.addLayout(self._editor_row)
        box.addLayout(buttons)
        self.edit_box.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.edit_box)

    # -- state ------------------------------------------------------------------------------------

    @property
    def info(self) -> CosemObjectInfo | None:
        return self.attributes.info

    def set_worker(self, worker: Any) -> None:
        self.worker = worker

    def set_connected(self, connected: bool) -> None:
        self.connected = connected
        if not connected:
            self.cancel_edit()
        self.selection_changed.emit()

    def clear_values(self) -> None:
        """Forget every value and result (a new association)."""
        self.store.clear()
        self.attributes.refresh()
        self.methods.refresh()

    def set_object(self, info: CosemObjectInfo | None) -> None:
        """Show ``info``'s attributes and methods (None: empty)."""
        if info is not None and self.info is not None and info == self.info:
            return
        self.cancel_edit()
        self.attributes.set_object(info)
        self.methods.set_object(info)
        if info is None:
            self.title.setText("Select an object in the object browser")
        else:
            name = info.name or "unnamed object"
            kind = "" if info.class_name == name else f"{info.class_name}, "
            self.title.setText(f"<b>{info.logical_name}</b> — {name} "
                               f"<span style='color:#888'>· {kind}class {info.class_id} "
                               f"version {info.version}</span>")
            self.attribute_view.setCurrentIndex(self.attributes.index(
                min(1, self.attributes.rowCount() - 1), 0))
        self.selection_changed.emit()

    def selected_attribute(self) -> int | None:
        index = self.attribute_view.currentIndex()
        return self.attributes.members[index.row()] if index.isValid() and self.info else None

    def selected_method(self) -> int | None:
        index = self.method_view.currentIndex()
        return self.methods.members[index.row()] if index.isValid() and self.info else None

    def select_attribute(self, index: int) -> None:
        self.attribute_view.setCurrentIndex(self.attributes.index(self.attributes.row_of(index),
                                                                  0))

    def select_method(self, index: int) -> None:
        self.method_view.setCurrentIndex(self.methods.index(self.methods.row_of(index), 0))

    def can_request(self) -> bool:
        return self.connected and self.worker is not None and self.info is not None

    def attribute_text(self, index: int) -> str:
        """The Value column of attribute ``index`` of the shown object (tests, export)."""
        return self.attributes.value_text(index)

    def method_text(self, index: int) -> str:
        return self.methods.result_text(index)

    def cell(self, index: int, kind: str = "a") -> Cell | None:
        return self.store.peek(kind, self.info.logical_name, index) if self.info else None

    # -- jobs -------------------------------------------------------------------------------------

    def _track(self, job: Any, on_done: Any, on_error: Any) -> None:
        self._jobs.add(job)

        def done(result: object) -> None:
            self._jobs.discard(job)
            on_done(result)

        def failed(error: object) -> None:
            self._jobs.discard(job)
            on_error(error)

        job.finished.connect(done)
        job.failed.connect(failed)

    def _repaint(self, kind: str, info: CosemObjectInfo, index: int | None = None) -> None:
        if self.info is not None and self.info.logical_name == info.logical_name:
            (self.attributes if kind == "a" else self.methods).refresh(index)

    def _start(self, kind: str, info: CosemObjectInfo, index: int, status: str) -> Cell:
        cell = self.store.cell(kind, info.logical_name, index)
        cell.pending, cell.status, cell.error, cell.detail = True, status, "", ""
        self._repaint(kind, info, index)
        return cell

    def _fail(self, kind: str, info: CosemObjectInfo, index: int, error: object) -> None:
        cell = self.store.cell(kind, info.logical_name, index)
        cell.pending, cell.status = False, ""
        if isinstance(error, BaseException):
            cell.error, cell.detail = error_text(error), str(error)
        else:
            cell.error, cell.detail = _result_error(error), ""
        self._repaint(kind, info, index)

    # -- read -------------------------------------------------------------------------------------

    def read_selected(self) -> bool:
        index = self.selected_attribute()
        return index is not None and self.read_attribute(index)

    def read_attribute(self, index: int, *, status: str = "reading…",
                       done_status: str = "") -> bool:
        """GET one attribute of the shown object; False when not connected."""
        if not self.can_request():
            return False
        info = self.info
        assert info is not None
        self._start("a", info, index, status)
        job = self.worker.get(info.class_id, info.logical_name, index)

        def done(value: object) -> None:
            cell = self.store.cell("a", info.logical_name, index)
            cell.pending, cell.status, cell.error = False, done_status, ""
            cell.value = value if isinstance(value, Data) else cell.value
            self._repaint("a", info, None)  # a scaler_unit changes the value row too
            self.status_message.emit(f"Read {info.logical_name} attribute {index}")

        self._track(job, done, lambda error: self._fail("a", info, index, error))
        return True

    def read_all(self) -> bool:
        """GET every readable attribute (one GET-with-list when the meter allows it)."""
        if not self.can_request():
            return False
        info = self.info
        assert info is not None
        skipped = READ_ALL_SKIPPED.get(info.class_id, frozenset())
        wanted = [i for i in self.attributes.members if info.can_read(i) and i not in skipped]
        if not wanted:
            self.status_message.emit("This association may read no attribute of this object")
            return False
        for index in wanted:
            self._start("a", info, index, "reading…")
        job = self.worker.get_many([(info.class_id, info.logical_name, i) for i in wanted])

        def done(results: object) -> None:
            values = list(results) if isinstance(results, (list, tuple)) else []
            for index, value in zip(wanted, values):
                if isinstance(value, Data):
                    cell = self.store.cell("a", info.logical_name, index)
                    cell.pending, cell.status, cell.error, cell.value = False, "", "", value
                else:
                    self._fail("a", info, index, value)
            for index in wanted[len(values):]:
                self._fail("a", info, index, "no answer")
            self._repaint("a", info, None)
            self.status_message.emit(f"Read {len(values)} attributes of {info.logical_name}")

        def failed(error: object) -> None:
            for index in wanted:
                self._fail("a", info, index, error)

        self._track(job, done, failed)
        return True

    def _attribute_activated(self, index: QModelIndex) -> None:
        self.read_attribute(self.attributes.members[index.row()])

    # -- write and action -------------------------------------------------------------------------

    def _open_edit(self, kind: str, index: int, editor: QWidget, title: str, send: str) -> None:
        assert self.info is not None
        self.cancel_edit()
        self._edit_target = (kind, self.info, index)
        self.editor = editor  # type: ignore[assignment]
        self._editor_row.addWidget(editor)
        self.edit_title.setText(title)
        self.send_button.setText(send)
        self.edit_message.setText("")
        self.edit_message.setStyleSheet("")
        self.edit_box.show()
        for line in editor.findChildren(QLineEdit):
            line.returnPressed.connect(self.commit_edit)
        first = editor.findChild(QLineEdit)
        if first is not None:
            first.setFocus()
        self.selection_changed.emit()  # Stop (Esc) now closes the editor

    def begin_write(self, index: int | None = None) -> bool:
        """Open the typed editor for attribute ``index`` (default: the selected one), typed to
        its last value (else the IC table's type hint, else A-XDR hex)."""
        index = self.selected_attribute() if index is None else index
        if index is None or not self.can_request():
            return False
        cell = self.cell(index)
        current = cell.value if cell is not None else None
        assert self.info is not None
        if current is not None:
            editor = editor_for(current, parent=self, deviation_sign=self.deviation_sign,
                                choices=enum_choices(self.info.class_id, index))
        else:  # never read (write-only …): typed from the IC table's hint
            hint = self.attributes.type_hint(index)
            tag, _default = tag_from_hint(hint)
            if "date-time" in hint and tag is DataTag.OCTET_STRING:
                editor = DateTimeEditor(DataTag.DATE_TIME, self, as_octets=True,
                                        deviation_sign=self.deviation_sign)
            else:
                editor = editor_for(tag=tag if tag is not None else DataTag.STRUCTURE,
                                    parent=self, deviation_sign=self.deviation_sign,
                                    choices=enum_choices(self.info.class_id, index))
        name = self.attributes.name(index)
        self._open_edit("a", index, editor, f"Write attribute {index} <b>{name}</b> "
                        f"<span style='color:#888'>({self.attributes.access_text(index)})"
                        "</span>", "Write")
        return True

    def begin_action(self, index: int | None = None) -> bool:
        """Open the parameter editor for method ``index`` (default: the selected one)."""
        index = self.selected_method() if index is None else index
        if index is None or not self.can_request():
            return False
        editor = ParameterEditor(self)
        editor.set_hint(self.methods.params_hint(index))
        hint = self.methods.params_hint(index)
        self._open_edit("m", index, editor, f"Invoke method {index} <b>{self.methods.name(index)}"
                        f"</b> <span style='color:#888'>{'· parameter: ' + hint if hint else ''}"
                        "</span>", "Invoke")
        return True

    def cancel_edit(self) -> None:
        """Close the Write/Action editor (nothing is sent)."""
        if self.editor is None:
            return
        self._editor_row.removeWidget(self.editor)
        self.editor.hide()  # gone at once, not at the next deferred delete
        self.editor.deleteLater()
        self.editor = None
        self._edit_target = None
        self.edit_box.hide()
        self.selection_changed.emit()

    def _edit_feedback(self, text: str, error: bool) -> None:
        self.edit_message.setText(text)
        self.edit_message.setStyleSheet("color: #d32f2f;" if error else "color: #2e7d32;")

    def commit_edit(self) -> bool:
        """Validate the editor and send the SET or ACTION; False when nothing was sent."""
        if self._edit_target is None or self.editor is None:
            return False
        if not self.editor.validate():
            self._edit_feedback("Fix the value first: nothing was sent.", True)
            return False
        if not self.connected or self.worker is None:
            self._edit_feedback("Not connected.", True)
            return False
        kind, info, index = self._edit_target
        value = self.editor.data()
        if kind == "a":
            self._send_set(info, index, value)
        else:
            self._send_action(info, index, None if value.tag is DataTag.NULL_DATA else value)
        return True

    def _send_set(self, info: CosemObjectInfo, index: int, value: Data) -> None:
        self._start("a", info, index, "writing…")
        self._edit_feedback("Writing…", False)
        job = self.worker.set(info.class_id, info.logical_name, index, value)

        def done(_result: object) -> None:
            self._edit_feedback("Written; reading it back.", False)
            self.status_message.emit(f"Wrote {info.logical_name} attribute {index}")
            if self.info is not None and self.info.logical_name == info.logical_name:
                self.read_attribute(index, status="written, reading back…",
                                    done_status="written")
            else:
                cell = self.store.cell("a", info.logical_name, index)
                cell.pending, cell.status = False, "written"

        def failed(error: object) -> None:
            self._fail("a", info, index, error)
            self._edit_feedback(f"Not written: {error}", True)

        self._track(job, done, failed)

    def _send_action(self, info: CosemObjectInfo, index: int, params: Data | None) -> None:
        self._start("m", info, index, "invoking…")
        self._edit_feedback("Invoking…", False)
        job = self.worker.action(info.class_id, info.logical_name, index, params)

        def done(result: object) -> None:
            cell = self.store.cell("m", info.logical_name, index)
            cell.pending, cell.status, cell.error = False, "success", ""
            cell.value = result if isinstance(result, Data) else None
            self._repaint("m", info, index)
            self._edit_feedback("Done: the meter executed the method.", False)
            self.status_message.emit(f"Invoked {info.logical_name} method {index}")

        def failed(error: object) -> None:
            self._fail("m", info, index, error)
            self._edit_feedback(f"Failed: {error}", True)

        self._track(job, done, failed)

    def export_rows(self) -> list[dict[str, Any]]:
        """The shown object's attributes as plain dicts (see AttributeTableModel)."""
        return self.attributes.export_rows()
