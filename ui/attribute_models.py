"""Table models of the attribute panel: one row per attribute or method of the selected object.

Qt model only (no I/O): :class:`AttributeTableModel` shows index, Blue Book name, the access right
granted by the current association, the last value (register values with scaler and unit
applied) and its raw type; :class:`MethodTableModel` shows index, name, access and the last
result. Results and errors are stored per (OBIS, index) in a :class:`ValueStore` so that going
back to an object shows what was read before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from meterreader.client import CosemObjectInfo
from meterreader.client.values import REGISTER_ATTRIBUTES
from meterreader.cosem.interface_classes import (AssociationStatus, AttributeAccessMode,
                                                 ClockBase, ControlState, ImageTransferStatus,
                                                 MethodAccessMode, SortMethod,
                                                 attribute_access_text, attribute_name,
                                                 interface_class, method_access_text,
                                                 method_name)
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.axdr_values import data_to_json
from ui.value_format import format_data, format_quantity, format_scaler_unit, type_text

__all__ = ["ATTRIBUTE_COLUMNS", "DATA_ROLE", "ENUMS", "INDEX_ROLE", "METHOD_COLUMNS",
           "AttributeTableModel", "Cell", "MethodTableModel", "ValueStore", "enum_choices"]

ATTRIBUTE_COLUMNS = ("#", "Attribute", "Access", "Value", "Type")
METHOD_COLUMNS = ("#", "Method", "Access", "Result")
INDEX_ROLE = Qt.ItemDataRole.UserRole + 1  #: the attribute/method index
DATA_ROLE = Qt.ItemDataRole.UserRole + 2  #: the last Data read (attributes)
_ERROR_COLOUR = QColor("#d32f2f")
_OK_COLOUR = QColor("#2e7d32")
ModelIndex = QModelIndex | QPersistentModelIndex
#: (class_id, attribute) → the Blue Book enumeration of that enum attribute.
ENUMS: dict[tuple[int, int], type] = {
    (7, 5): SortMethod, (8, 9): ClockBase, (15, 8): AssociationStatus, (70, 3): ControlState,
    (18, 6): ImageTransferStatus,
}


def enum_choices(class_id: int, attribute: int) -> dict[int, str]:
    """Value → readable name of an enum attribute ({} when the tables name none)."""
    enum = ENUMS.get((class_id, attribute))
    return {int(m): m.name.lower().replace("_", " ") for m in enum} if enum else {}


@dataclass(slots=True)
class Cell:
    """What is known about one attribute or method of one object."""

    value: Data | None = None  #: last value read (attributes) or returned (methods)
    error: str = ""  #: short error text shown in place
    detail: str = ""  #: the full message (tooltip)
    status: str = ""  #: "reading…", "written", "done" …
    pending: bool = False


@dataclass(slots=True)
class ValueStore:
    """Cells per (kind "a"/"m", OBIS, index); cleared on a new association."""

    cells: dict[tuple[str, Obis, int], Cell] = field(default_factory=dict)

    def cell(self, kind: str, obis: Obis, index: int) -> Cell:
        return self.cells.setdefault((kind, obis, index), Cell())

    def peek(self, kind: str, obis: Obis, index: int) -> Cell | None:
        return self.cells.get((kind, obis, index))

    def clear(self) -> None:
        self.cells.clear()


def _indices(declared: range | tuple[int, ...], listed: Any) -> list[int]:
    return sorted(set(declared) | {int(i) for i in listed})


class _MemberModel(QAbstractTableModel):
    """Shared parts of the two tables: the object, its member indices and the store."""

    KIND = "a"
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, store: ValueStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.info: CosemObjectInfo | None = None
        self.members: list[int] = []

    def set_object(self, info: CosemObjectInfo | None) -> None:
        self.beginResetModel()
        self.info = info
        self.members = self._members(info) if info is not None else []
        self.endResetModel()

    def _members(self, info: CosemObjectInfo) -> list[int]:
        raise NotImplementedError

    def row_of(self, index: int) -> int:
        """The row of attribute/method ``index`` (-1 if absent)."""
        try:
            return self.members.index(index)
        except ValueError:
            return -1

    def cell(self, index: int) -> Cell:
        assert self.info is not None
        return self.store.cell(self.KIND, self.info.logical_name, index)

    def refresh(self, index: int | None = None) -> None:
        """Repaint one member's row (or every row)."""
        if not self.members:
            return
        rows = range(len(self.members)) if index is None else [self.row_of(index)]
        for row in rows:
            if row >= 0:
                self.dataChanged.emit(self.index(row, 0),
                                      self.index(row, len(self.COLUMNS) - 1),
                                      [Qt.ItemDataRole.DisplayRole])

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.members)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.COLUMNS)):
            return self.COLUMNS[section]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def _result_role(self, cell: Cell | None, role: int) -> Any:
        """Font/colour/tooltip of the value (result) column."""
        if cell is None:
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if cell.error:
                return QBrush(_ERROR_COLOUR)
            if cell.status and not cell.pending and cell.value is None:
                return QBrush(_OK_COLOUR)
        if role == Qt.ItemDataRole.FontRole and cell.pending:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and (cell.detail or cell.error):
            return cell.detail or cell.error
        return None


class AttributeTableModel(_MemberModel):
    """Attributes of the selected object (see the module docstring)."""

    KIND = "a"
    COLUMNS = ATTRIBUTE_COLUMNS

    def _members(self, info: CosemObjectInfo) -> list[int]:
        ic = interface_class(info.class_id, info.version)
        count = len(ic.attributes) if ic is not None else 1
        return _indices(range(1, count + 1), info.attribute_access)

    def name(self, index: int) -> str:
        assert self.info is not None
        return attribute_name(self.info.class_id, index, self.info.version)

    def type_hint(self, index: int) -> str:
        assert self.info is not None
        ic = interface_class(self.info.class_id, self.info.version)
        attr = ic.attribute(index) if ic is not None else None
        return attr.type_hint if attr is not None else ""

    def access(self, index: int) -> AttributeAccessMode | int | None:
        assert self.info is not None
        return self.info.attribute_access.get(index)

    def access_text(self, index: int) -> str:
        mode = self.access(index)
        return "not listed" if mode is None else attribute_access_text(int(mode))

    def readable(self, index: int) -> bool:
        assert self.info is not None
        return self.info.can_read(index)

    def scaler_unit(self) -> Data | None:
        """The object's scaler_unit when it is a register and it has been read."""
        if self.info is None or self.info.class_id not in REGISTER_ATTRIBUTES:
            return None
        cell = self.store.peek("a", self.info.logical_name,
                               REGISTER_ATTRIBUTES[self.info.class_id][1])
        return cell.value if cell is not None else None

    def value_text(self, index: int) -> str:
        """The Value column: status while pending, the error, or the formatted value."""
        assert self.info is not None
        cell = self.store.peek("a", self.info.logical_name, index)
        if cell is None:
            return ""
        if cell.pending:
            return cell.status or "…"
        if cell.error:
            return cell.error
        if cell.value is None:
            return cell.status
        text = self._format(index, cell.value)
        return f"{text}  ({cell.status})" if cell.status else text

    def _format(self, index: int, value: Data) -> str:
        assert self.info is not None
        registers = REGISTER_ATTRIBUTES.get(self.info.class_id)
        if registers is not None and index == registers[0]:
            return format_quantity(value, self.scaler_unit())
        if registers is not None and index == registers[1]:
            return format_scaler_unit(value)
        if value.tag is DataTag.ENUM:
            name = enum_choices(self.info.class_id, index).get(value.value)
            if name:
                return f"{value.value} ({name})"
        return format_data(value)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.info is None:
            return None
        member = self.members[index.row()]
        column = index.column()
        cell = self.store.peek("a", self.info.logical_name, member)
        if role == INDEX_ROLE:
            return member
        if role == DATA_ROLE:
            return cell.value if cell is not None else None
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(member)
            if column == 1:
                return self.name(member)
            if column == 2:
                return self.access_text(member)
            if column == 3:
                return self.value_text(member)
            if column == 4:
                return type_text(cell.value) if cell is not None and cell.value is not None \
                    else ""
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                return self.type_hint(member) or None
            if column == 3 and cell is not None and cell.value is not None and not cell.error:
                return format_data(cell.value, limit=2000)
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            mode = self.access(member)
            if mode is None or mode == AttributeAccessMode.NO_ACCESS:
                return QBrush(QColor("#888888"))
        if column == 3:
            return self._result_role(cell, role)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def export_rows(self) -> list[dict[str, Any]]:
        """Every attribute as a plain dict (for JSON/CSV export)."""
        if self.info is None:
            return []
        rows = []
        for member in self.members:
            cell = self.store.peek("a", self.info.logical_name, member) or Cell()
            rows.append({
                "obis": str(self.info.logical_name), "class_id": self.info.class_id,
                "attribute": member, "name": self.name(member),
                "access": self.access_text(member),
                "value": self._format(member, cell.value) if cell.value is not None else "",
                "type": type_text(cell.value) if cell.value is not None else "",
                "data": data_to_json(cell.value) if cell.value is not None else None,
                "error": cell.error,
            })
        return rows


class MethodTableModel(_MemberModel):
    """Methods of the selected object and the result of the last invocation."""

    KIND = "m"
    COLUMNS = METHOD_COLUMNS

    def _members(self, info: CosemObjectInfo) -> list[int]:
        ic = interface_class(info.class_id, info.version)
        count = len(ic.methods) if ic is not None else 0
        return _indices(range(1, count + 1), info.method_access)

    def name(self, index: int) -> str:
        assert self.info is not None
        return method_name(self.info.class_id, index, self.info.version)

    def params_hint(self, index: int) -> str:
        assert self.info is not None
        ic = interface_class(self.info.class_id, self.info.version)
        method = ic.method(index) if ic is not None else None
        return method.params_hint if method is not None else ""

    def access_text(self, index: int) -> str:
        assert self.info is not None
        mode = self.info.method_access.get(index)
        return "not listed" if mode is None else method_access_text(mode)

    def result_text(self, index: int) -> str:
        assert self.info is not None
        cell = self.store.peek("m", self.info.logical_name, index)
        if cell is None:
            return ""
        if cell.pending:
            return cell.status or "…"
        if cell.error:
            return cell.error
        if cell.value is not None:
            return f"{cell.status}: returned {format_data(cell.value)}".lstrip(": ")
        return cell.status

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.info is None:
            return None
        member = self.members[index.row()]
        column = index.column()
        cell = self.store.peek("m", self.info.logical_name, member)
        if role == INDEX_ROLE:
            return member
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(member), self.name(member), self.access_text(member),
                    self.result_text(member))[column] if column < 4 else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            hint = self.params_hint(member)
            return f"parameter: {hint}" if hint else None
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            mode = self.info.method_access.get(member)
            if mode is None or mode == MethodAccessMode.NO_ACCESS:
                return QBrush(QColor("#888888"))
        if column == 3:
            return self._result_role(cell, role)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
