"""The object browser: the association's object list as a tree, with a filter box.

Tree: logical device → interface class → object. :class:`ObjectTreeModel` follows Qt's
simpletreemodel (STYLE.md §5): the model owns every :class:`_Item`, each item caches its row,
``index()`` checks ``hasIndex`` and takes the parent from ``internalPointer()``, ``rowCount()`` is
0 for ``column > 0`` and ``data()`` answers only the roles it handles. Custom roles carry the OBIS
code, the class id, the raw :class:`~meterreader.client.CosemObjectInfo` and the row kind.
:class:`ObjectFilterProxy` filters objects by OBIS or name (recursive filtering keeps their groups).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum, unique
from typing import Any

from PySide6.QtCore import (QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt, Signal)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QToolButton, QTreeView, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.client import CosemObjectInfo
from meterreader.cosem.interface_classes import class_name
from meterreader.cosem.obis import Obis

__all__ = ["CLASS_ID_ROLE", "COLUMNS", "COUNT_ROLE", "INFO_ROLE", "KIND_ROLE", "LABEL_ROLE",
           "OBIS_ROLE", "ItemKind", "ObjectBrowser", "ObjectFilterProxy", "ObjectTreeModel",
           "group_text", "obis_matches"]

OBIS_ROLE = Qt.ItemDataRole.UserRole + 1  #: Obis of an object row (None for group rows)
CLASS_ID_ROLE = Qt.ItemDataRole.UserRole + 2  #: class id of object and class rows
INFO_ROLE = Qt.ItemDataRole.UserRole + 3  #: the CosemObjectInfo of an object row
KIND_ROLE = Qt.ItemDataRole.UserRole + 4  #: the ItemKind of every row
LABEL_ROLE = Qt.ItemDataRole.UserRole + 5  #: a group row's label without its count
COUNT_ROLE = Qt.ItemDataRole.UserRole + 6  #: objects under a group row (in the source)
COLUMNS = ("OBIS", "Name", "Class", "Version")
ModelIndex = QModelIndex | QPersistentModelIndex


@unique
class ItemKind(IntEnum):
    ROOT = 0
    DEVICE = 1
    CLASS = 2
    OBJECT = 3


class _Item:
    """One tree node; owned by its parent (the root by the model). ``row`` is cached."""

    __slots__ = ("children", "class_id", "count", "info", "kind", "parent", "row", "texts")

    def __init__(self, kind: ItemKind, texts: tuple[str, ...], parent: _Item | None = None,
                 *, class_id: int | None = None, info: CosemObjectInfo | None = None) -> None:
        self.kind = kind
        self.texts = texts
        self.parent = parent
        self.class_id = class_id
        self.info = info
        self.children: list[_Item] = []
        self.row = 0
        self.count = 0  # objects under a group row

    def append(self, child: _Item) -> _Item:
        child.parent = self
        child.row = len(self.children)
        self.children.append(child)
        return child


def _object_texts(info: CosemObjectInfo) -> tuple[str, ...]:
    return (str(info.logical_name), info.name or "", info.class_name or class_name(info.class_id),
            str(info.version))


class ObjectTreeModel(QAbstractItemModel):
    """Logical device → interface class → object; set the contents with :meth:`set_devices`
    or :meth:`set_objects` (a model reset)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = _Item(ItemKind.ROOT, COLUMNS)
        self._by_obis: dict[tuple[int, Obis], _Item] = {}

    # -- contents ---------------------------------------------------------------------------------

    def set_objects(self, objects: Iterable[CosemObjectInfo], device: str = "Logical device 1"
                    ) -> None:
        """One logical device holding ``objects``."""
        self.set_devices([(device, list(objects))])

    def set_devices(self, devices: Sequence[tuple[str, Sequence[CosemObjectInfo]]]) -> None:
        """Replace the tree: one (label, objects) pair per logical device, in that order.
        Classes are sorted by class id, objects by OBIS code."""
        self.beginResetModel()
        self._root = _Item(ItemKind.ROOT, COLUMNS)
        self._by_obis = {}
        for d, (label, objects) in enumerate(devices):
            device = self._root.append(_Item(ItemKind.DEVICE, (label, "", "", "")))
            device.count = len(objects)
            by_class: dict[int, list[CosemObjectInfo]] = {}
            for info in objects:
                by_class.setdefault(info.class_id, []).append(info)
            for class_id in sorted(by_class):
                members = sorted(by_class[class_id], key=lambda i: bytes(i.logical_name))
                name = members[0].class_name or class_name(class_id)
                group = device.append(_Item(ItemKind.CLASS, (f"{name} ({class_id})", "", "", ""),
                                            class_id=class_id))
                group.count = len(members)
                for info in members:
                    item = group.append(_Item(ItemKind.OBJECT, _object_texts(info),
                                              class_id=class_id, info=info))
                    self._by_obis.setdefault((d, info.logical_name), item)
        self.endResetModel()

    def clear(self) -> None:
        self.set_devices([])

    def objects(self) -> list[CosemObjectInfo]:
        """Every object in tree order."""
        return [obj.info for dev in self._root.children for cls in dev.children
                for obj in cls.children if obj.info is not None]

    def object_count(self) -> int:
        return len(self._by_obis)

    def index_of(self, obis: Obis | str, device: int = 0) -> QModelIndex:
        """The index (column 0) of the object with this logical name, or an invalid index."""
        item = self._by_obis.get((device, Obis.parse(obis)))
        return self.createIndex(item.row, 0, item) if item is not None else QModelIndex()

    def info(self, index: ModelIndex) -> CosemObjectInfo | None:
        return self._item(index).info if index.isValid() else None

    # -- QAbstractItemModel -----------------------------------------------------------------------

    def _item(self, index: ModelIndex) -> _Item:
        if not index.isValid():
            return self._root
        return index.internalPointer()  # type: ignore[no-any-return]

    def index(self, row: int, column: int, parent: ModelIndex = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        return self.createIndex(row, column, self._item(parent).children[row])

    def parent(self, index: ModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        parent = self._item(index).parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        if parent.column() > 0:
            return 0
        return len(self._item(parent).children)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(COLUMNS)):
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._item(index)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if item.kind is not ItemKind.OBJECT and column == 0:
                return group_text(item.texts[0], item.count)
            return item.texts[column] if column < len(item.texts) else None
        if role == Qt.ItemDataRole.ToolTipRole and item.info is not None:
            info = item.info
            return (f"{info.logical_name} — {info.name or 'unnamed object'}\n"
                    f"class {info.class_id} ({info.class_name}) version {info.version}")
        if role == Qt.ItemDataRole.FontRole and item.kind is ItemKind.DEVICE and column == 0:
            font = QFont()
            font.setBold(True)
            return font
        if role == OBIS_ROLE:
            return item.info.logical_name if item.info is not None else None
        if role == CLASS_ID_ROLE:
            return item.class_id
        if role == INFO_ROLE:
            return item.info
        if role == KIND_ROLE:
            return int(item.kind)
        if role == LABEL_ROLE:
            return item.texts[0]
        if role == COUNT_ROLE and item.kind is not ItemKind.OBJECT:
            return item.count
        return None


def group_text(label: str, count: int, total: int | None = None) -> str:
    """``"Register (3) — 49 objects"``, or ``"… — 6 of 49 objects"`` when filtered."""
    shown = f"{count} of {total}" if total is not None and total != count else f"{count}"
    plural = "" if (total if total is not None else count) == 1 else "s"
    return f"{label} — {shown} object{plural}"


def obis_matches(pattern: str, info: CosemObjectInfo) -> bool:
    """True when ``pattern`` (case-insensitive, blanks around it ignored) occurs in the object's
    dotted OBIS code, its IEC-style code (``1-0:1.8.0*255``), its name or its class name."""
    needle = pattern.strip().casefold()
    if not needle:
        return True
    o = info.logical_name
    haystacks = (str(o), f"{o.a}-{o.b}:{o.c}.{o.d}.{o.e}*{o.f}", info.name or "",
                 info.class_name or "")
    return any(needle in text.casefold() for text in haystacks)


class ObjectFilterProxy(QSortFilterProxyModel):
    """Keeps the objects whose OBIS code or name contains the filter text, and their groups
    (recursive filtering). Empty text keeps everything."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self._pattern = ""

    @property
    def pattern(self) -> str:
        return self._pattern

    def set_pattern(self, text: str) -> None:
        self.beginFilterChange()
        self._pattern = text.strip()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def visible_objects(self, index: ModelIndex) -> int:
        """Objects under a group row of this proxy that pass the filter."""
        kind = index.data(KIND_ROLE)
        if kind == ItemKind.CLASS:
            return self.rowCount(index)
        return sum(self.visible_objects(self.index(r, 0, index))
                   for r in range(self.rowCount(index)))

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (self._pattern and role == Qt.ItemDataRole.DisplayRole and index.column() == 0
                and index.data(KIND_ROLE) in (ItemKind.DEVICE, ItemKind.CLASS)):
            return group_text(index.data(LABEL_ROLE), self.visible_objects(index),
                              index.data(COUNT_ROLE))
        return super().data(index, role)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if not self._pattern:
            return True
        source = self.sourceModel()
        info = source.index(source_row, 0, source_parent).data(INFO_ROLE)
        # Group rows answer False: recursive filtering shows them when a child matches.
        return info is not None and obis_matches(self._pattern, info)


class ObjectBrowser(QWidget):
    """Filter box over the object tree. ``object_selected`` carries the selected
    CosemObjectInfo (None when a group row or nothing is selected)."""

    object_selected = Signal(object)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ObjectTreeModel(self)
        self.proxy = ObjectFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("objectFilter")
        self.filter_edit.setPlaceholderText("Filter by OBIS or name (e.g. 1.8.0, clock)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.set_filter)
        self.refresh_button = QToolButton(self)
        self.refresh_button.setAutoRaise(True)
        self.refresh_button.clicked.connect(self.refresh_requested)

        self.view = QTreeView(self)
        self.view.setObjectName("objectTree")
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setColumnWidth(0, 170)
        self.view.setColumnHidden(2, True)  # the class is the group row; shown on demand
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)

        self._note = ""
        self.count_label = QLabel("Not connected", self)
        self.count_label.setObjectName("objectCount")
        self.count_label.setEnabled(False)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

    # -- contents ---------------------------------------------------------------------------------

    def set_devices(self, devices: Sequence[tuple[str, Sequence[CosemObjectInfo]]],
                    note: str = "") -> None:
        """Show these logical devices' objects (see ObjectTreeModel.set_devices)."""
        self.model.set_devices(devices)
        self._expand_groups()
        self._update_count(note)
        self.object_selected.emit(None)

    def set_objects(self, objects: Sequence[CosemObjectInfo], device: str = "Logical device 1",
                    note: str = "") -> None:
        self.set_devices([(device, objects)], note)

    def clear(self, message: str = "Not connected") -> None:
        self.model.clear()
        self.count_label.setText(message)
        self.object_selected.emit(None)

    def set_filter(self, text: str) -> None:
        """Filter the tree (also what typing in the filter box does)."""
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)  # re-enters through textChanged
            return
        self.proxy.set_pattern(text)
        self._expand_groups()
        self._update_count()

    def _expand_groups(self) -> None:
        # Devices always open; classes too when filtering or when the list is short.
        # Group rows span every column, so their label and count are never cut.
        small = self.model.object_count() <= 40 or bool(self.proxy.pattern)
        root = QModelIndex()
        for d in range(self.proxy.rowCount()):
            device = self.proxy.index(d, 0)
            self.view.setFirstColumnSpanned(d, root, True)
            self.view.expand(device)
            for c in range(self.proxy.rowCount(device)):
                self.view.setFirstColumnSpanned(c, device, True)
                self.view.setExpanded(self.proxy.index(c, 0, device), small)

    def _update_count(self, note: str | None = None) -> None:
        if note is not None:
            self._note = note
        total = self.model.object_count()
        shown = self.visible_object_count()
        text = f"{total} objects" if shown == total else f"{shown} of {total} objects"
        if self._note:
            text += f" · {self._note}"
        self.count_label.setText(text)

    def visible_object_count(self) -> int:
        """Objects that pass the filter."""
        count = 0
        for d in range(self.proxy.rowCount()):
            device = self.proxy.index(d, 0)
            for c in range(self.proxy.rowCount(device)):
                count += self.proxy.rowCount(self.proxy.index(c, 0, device))
        return count

    # -- selection --------------------------------------------------------------------------------

    def selected_object(self) -> CosemObjectInfo | None:
        index = self.view.currentIndex()
        return index.data(INFO_ROLE) if index.isValid() else None

    def select_obis(self, obis: Obis | str) -> bool:
        """Select (and scroll to) an object; False when it is absent or filtered out."""
        source = self.model.index_of(obis)
        index = self.proxy.mapFromSource(source) if source.isValid() else QModelIndex()
        if not index.isValid():
            return False
        self.view.scrollTo(index)
        self.view.setCurrentIndex(index)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.object_selected.emit(current.data(INFO_ROLE) if current.isValid() else None)
