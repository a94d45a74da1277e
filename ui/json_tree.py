"""A read-only tree model and view for a JSON value (dicts, lists and scalars) with columns Field | Value.

Follows the rules of Qt's simpletreemodel example (STYLE.md §5): ``index()`` checks ``hasIndex``
and takes the parent from ``internalPointer()``; ``parent()`` returns an invalid index for
top-level rows; ``rowCount()`` is 0 for columns > 0; ``data()`` answers only the roles it handles.
The model owns every :class:`JsonItem` (the root keeps the tree alive), so an ``internalPointer``
never dangles, and each item caches its row so ``parent()`` is O(1).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QTreeView, QWidget

__all__ = ["JsonItem", "JsonTreeModel", "JsonTreeView", "JSON_PATH_ROLE", "JSON_VALUE_ROLE"]

JSON_VALUE_ROLE = Qt.ItemDataRole.UserRole + 1  # the Python value of the row (dict/list/scalar)
JSON_PATH_ROLE = Qt.ItemDataRole.UserRole + 2  # the row's path, e.g. "frames[0].control.byte"

_HEADERS = ("Field", "Value")
EXPAND_ALL_LIMIT = 400  # rows; bigger values open only the first levels
EXPAND_DEPTH = 2
_AnyIndex = QModelIndex | QPersistentModelIndex


def _scalar_text(value: Any) -> str:
    """How a leaf shows in the Value column: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _summary(value: dict | list) -> str:
    """The Value text of a branch: a dict's ``pdu``/``name`` when present, else a count."""
    if isinstance(value, dict):
        for key in ("pdu", "name", "frame_type"):
            label = value.get(key)
            if isinstance(label, str):
                return label
        return f"{{{len(value)} field{'s' if len(value) != 1 else ''}}}"
    return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"


class JsonItem:
    """One row: a key (dict key or ``[i]``), its value, its children and its cached row."""

    __slots__ = ("key", "value", "parent", "row", "children", "path")

    def __init__(self, key: str, value: Any, parent: JsonItem | None, row: int, path: str) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.row = row
        self.path = path
        self.children: list[JsonItem] = []
        if isinstance(value, dict):
            pairs = [(str(k), v) for k, v in value.items()]
            paths = [f"{path}.{k}" if path else k for k, _ in pairs]
        elif isinstance(value, list):
            pairs = [(f"[{i}]", v) for i, v in enumerate(value)]
            paths = [f"{path}{k}" for k, _ in pairs]
        else:
            return
        self.children = [JsonItem(k, v, self, i, p)
                         for i, ((k, v), p) in enumerate(zip(pairs, paths))]

    @property
    def is_branch(self) -> bool:
        return isinstance(self.value, (dict, list))

    def text(self, column: int) -> str:
        if column == 0:
            return self.key
        return _summary(self.value) if self.is_branch else _scalar_text(self.value)

    def count(self) -> int:
        """This item and all its descendants."""
        return 1 + sum(child.count() for child in self.children)


class JsonTreeModel(QAbstractItemModel):
    """Read-only model of one JSON value; :meth:`set_value` replaces it, :meth:`clear` empties."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._root = JsonItem("", {}, None, 0, "")
        self._value: Any = None

    # -- content ---------------------------------------------------------------------------------

    def set_value(self, value: Any) -> None:
        """Show ``value``; a dict or list gives one top-level row per entry, a scalar one row."""
        self.beginResetModel()
        self._value = value
        self._root = JsonItem("", value if isinstance(value, (dict, list)) else {"value": value},
                              None, 0, "")
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self._value = None
        self._root = JsonItem("", {}, None, 0, "")
        self.endResetModel()

    def value(self) -> Any:
        """The value shown (``None`` after :meth:`clear`)."""
        return self._value

    def item_count(self) -> int:
        """Number of rows in the whole tree (every depth)."""
        return self._root.count() - 1

    def item(self, index: _AnyIndex) -> JsonItem:
        return index.internalPointer() if index.isValid() else self._root

    # -- QAbstractItemModel ----------------------------------------------------------------------

    def index(self, row: int, column: int, parent: _AnyIndex = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        parent_item = self.item(parent)
        return self.createIndex(row, column, parent_item.children[row])

    def parent(self, index: _AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        parent_item = index.internalPointer().parent
        if parent_item is None or parent_item is self._root:
            return QModelIndex()
        return self.createIndex(parent_item.row, 0, parent_item)

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:
        if parent.column() > 0:
            return 0
        return len(self.item(parent).children)

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:
        return len(_HEADERS)

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(_HEADERS)):
            return _HEADERS[section]
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item: JsonItem = index.internalPointer()
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return item.text(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1 and not item.is_branch:
                return f"{item.path} = {_scalar_text(item.value)}"
            return item.path
        if role == Qt.ItemDataRole.ForegroundRole:
            # Branch summaries and nulls are secondary information: draw them dimmed.
            if column == 1 and (item.is_branch or item.value is None):
                return QBrush(QApplication.palette().color(QPalette.ColorGroup.Disabled,
                                                           QPalette.ColorRole.Text))
            return None
        if role == Qt.ItemDataRole.FontRole and column == 0 and item.is_branch:
            font = QApplication.font()
            font.setBold(True)
            return font
        if role == JSON_VALUE_ROLE:
            return item.value
        if role == JSON_PATH_ROLE:
            return item.path
        return None

    def find(self, text: str, column: int = 1) -> list[QModelIndex]:
        """Indexes (any depth) whose ``column`` text equals ``text``."""
        found: list[QModelIndex] = []
        stack = [QModelIndex()]
        while stack:
            parent = stack.pop()
            for row in range(self.rowCount(parent)):
                if self.index(row, column, parent).data() == text:
                    found.append(self.index(row, column, parent))
                stack.append(self.index(row, 0, parent))
        return found


class JsonTreeView(QTreeView):
    """A read-only tree view for :class:`JsonTreeModel` that expands results to a sensible depth
    and paints :attr:`placeholder` while the model is empty."""

    placeholder = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(True)
        self.setColumnWidth(0, 260)

    def show_value(self, value: Any) -> None:
        """Load ``value`` into the (JsonTreeModel) model; small trees open fully, big ones to
        :data:`EXPAND_DEPTH`; the Field column fits its text, up to half the width."""
        model = self.model()
        if not isinstance(model, JsonTreeModel):
            raise TypeError(f"JsonTreeView.show_value needs a JsonTreeModel, has {model!r}")
        model.set_value(value)
        if model.item_count() <= EXPAND_ALL_LIMIT:
            self.expandAll()
        else:
            self.expandToDepth(EXPAND_DEPTH)
        self.resizeColumnToContents(0)
        width = self.viewport().width() or 600
        self.setColumnWidth(0, max(160, min(self.columnWidth(0) + 16, width // 2)))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().paintEvent(event)
        model = self.model()
        if self.placeholder and model is not None and model.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorGroup.Disabled,
                                                QPalette.ColorRole.Text))
            rect = self.viewport().rect().adjusted(24, 24, -24, -24)
            painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                             | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
