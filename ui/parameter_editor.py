"""The ACTION parameter editor: choose the parameter's type, then edit a value of that type.

The default type comes from the IC table's hint (``"long-unsigned (script_identifier)"`` →
long-unsigned; ``"integer (0)"`` → integer 0); null-data means "no parameter".
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.dlms.axdr import TYPE_NAMES, Data, DataTag
from ui.value_editor import INT_RANGES, NullEditor, RawEditor, ValueEditor, editor_for

__all__ = ["PARAMETER_TYPES", "ParameterEditor", "tag_from_hint"]


#: The types offered for an ACTION parameter ("A-XDR hex" = RawEditor), in menu order.
PARAMETER_TYPES: tuple[tuple[str, DataTag | None], ...] = (
    ("null-data", DataTag.NULL_DATA), ("integer", DataTag.INTEGER), ("long", DataTag.LONG),
    ("unsigned", DataTag.UNSIGNED), ("long-unsigned", DataTag.LONG_UNSIGNED),
    ("double-long", DataTag.DOUBLE_LONG), ("double-long-unsigned", DataTag.DOUBLE_LONG_UNSIGNED),
    ("enum", DataTag.ENUM), ("boolean", DataTag.BOOLEAN), ("octet-string", DataTag.OCTET_STRING),
    ("visible-string", DataTag.VISIBLE_STRING), ("date-time", DataTag.DATE_TIME),
    ("A-XDR hex", None))


_SIMPLE = frozenset({DataTag.NULL_DATA, DataTag.BOOLEAN, DataTag.BIT_STRING,
                     DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING,
                     DataTag.DATE_TIME, DataTag.DATE, DataTag.TIME, DataTag.FLOAT32,
                     DataTag.FLOAT64, *INT_RANGES})
_BY_NAME = {name: DataTag(tag) for tag, name in TYPE_NAMES.items() if tag in _SIMPLE}


def tag_from_hint(hint: str) -> tuple[DataTag | None, str]:
    """(type, default text) from an IC table hint such as ``"long-unsigned (script_identifier)"``
    or ``"integer (0)"``; (None, "") when the hint names no simple type (a structure …)."""
    head, _, rest = hint.strip().partition(" ")
    tag = _BY_NAME.get(head.split("[")[0])
    if tag is None:
        return None, ""
    default = rest.strip().strip("()")
    return tag, default if default.lstrip("-").isdigit() else ""


class ParameterEditor(QWidget):
    """An ACTION parameter: a type chooser and the editor of that type."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.type_combo = QComboBox(self)
        self.type_combo.setObjectName("parameterType")
        for name, tag in PARAMETER_TYPES:
            self.type_combo.addItem(name, tag)
        self.type_combo.currentIndexChanged.connect(self._type_changed)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.type_combo, 0)
        self.editor: ValueEditor = NullEditor(self)
        self._shown = 0
        self._layout.addWidget(self.editor, 1)

    def set_type(self, tag: DataTag | None, default: str = "") -> None:
        """Choose the type (None = A-XDR hex) and optionally a starting text."""
        index = next((i for i, (_n, t) in enumerate(PARAMETER_TYPES) if t == tag), 0)
        self.type_combo.setCurrentIndex(index)
        self._type_changed(index)
        edit = getattr(self.editor, "edit", None)
        if default and isinstance(edit, QLineEdit):
            edit.setText(default)

    def set_hint(self, hint: str) -> None:
        """Preset from an IC method's parameter hint (null-data when it names no type)."""
        tag, default = tag_from_hint(hint)
        self.set_type(tag if tag is not None else DataTag.NULL_DATA, default)

    def _type_changed(self, index: int) -> None:
        if index == self._shown:
            return
        self._shown = index
        tag = self.type_combo.itemData(index)
        old = self.editor
        self.editor = RawEditor(self) if tag is None else editor_for(tag=tag, parent=self)
        self.editor.changed.connect(self.changed)
        self._layout.replaceWidget(old, self.editor)
        old.hide()  # gone at once, not at the next deferred delete
        old.deleteLater()
        self.changed.emit()

    def data(self) -> Data:
        return self.editor.data()

    def validate(self) -> bool:
        return self.editor.validate()

    @property
    def error(self) -> str:
        return self.editor.error
