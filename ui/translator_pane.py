"""The protocol translator pane: hex in, a tree of every protocol layer out.

A plain :class:`QWidget` (no main-window assumptions) so that the main window can later host it
as a dock widget. It wraps :func:`meterreader.translator.translate`, which is pure CPU and fast,
so decoding runs on the GUI thread. Errors show in a red label, never as a dialog or traceback;
the offending bytes are highlighted in the input. Keys are read from password-masked fields,
wrapped in :class:`SecretBytes` at once and never logged, shown or copied.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (QAction, QColor, QFontDatabase, QGuiApplication, QKeySequence,
                           QTextCharFormat, QTextCursor)
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QMenu, QPlainTextEdit, QPushButton, QSizePolicy, QSplitter,
                               QTextEdit, QToolButton, QVBoxLayout, QWidget)

from meterreader.cli import DEMO_EXCHANGE
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.secret import SecretBytes, SecretFormatError
from meterreader.dlms.security import SecurityKeys
from meterreader.translator import Decryption, TranslationError, parse_hex, translate
from ui.json_tree import JSON_VALUE_ROLE, JsonTreeModel, JsonTreeView

__all__ = ["CollapsibleGroup", "TranslatorPane", "LAYER_CHOICES", "byte_span", "error_span"]

# (combo label, translate(layer=...) value, tooltip)
LAYER_CHOICES: tuple[tuple[str, str | None, str], ...] = (
    ("Auto", None, "Detect the layer from the first bytes"),
    ("HDLC", "hdlc", "HDLC frame(s), IEC 62056-46"),
    ("Wrapper", "wrapper", "Wrapper packet(s), IEC 62056-47 (TCP/UDP)"),
    ("APDU", "apdu", "One xDLMS or ACSE APDU"),
    ("Data", "data", "One A-XDR Data value"),
)
_LAYER_LABELS = {value: label for label, value, _ in LAYER_CHOICES if value}
_AT_BYTE = re.compile(r"\bat byte (\d+)")
_AT_COLUMN = re.compile(r"\bat column (\d+)")
_SYSTEM_TITLE_LENGTH = 8  # Green Book: a system title is 8 octets
ERROR_COLOR = "#c62828"
EXAMPLE_HEX = "7E A0 0A 00 02 04 01 41 93 22 D0 7E"


def _digit_positions(text: str) -> list[int]:
    """Positions in ``text`` of the hex digits parse_hex keeps: every hex digit except the
    ``0`` of a ``0x`` prefix (whatever separates the bytes does not matter here)."""
    positions: list[int] = []
    i = 0
    while i < len(text):
        if text[i] == "0" and text[i + 1:i + 2] in ("x", "X"):
            i += 2
            continue
        if text[i] in string.hexdigits:
            positions.append(i)
        i += 1
    return positions


def byte_span(text: str, offset: int) -> tuple[int, int] | None:
    """The ``(start, end)`` character span in ``text`` of input byte ``offset``, or ``None``
    when the input has no such byte (e.g. a truncated frame)."""
    positions = _digit_positions(text)
    first = 2 * offset
    if offset < 0 or first >= len(positions):
        return None
    return positions[first], positions[min(first + 1, len(positions) - 1)] + 1


def error_span(text: str, error: Exception) -> tuple[int, int] | None:
    """The span in ``text`` that a translator error blames: the byte of its ``offset`` (or the
    "at byte N" of its message), else the "column N" (1-based) of a hex syntax error."""
    message = str(error)
    offset = getattr(error, "offset", -1)
    if not isinstance(offset, int) or offset < 0:
        match = _AT_BYTE.search(message)
        offset = int(match.group(1)) if match else -1
    if offset >= 0:
        return byte_span(text, offset)
    if (match := _AT_COLUMN.search(message)) and 1 <= int(match.group(1)) <= len(text):
        column = int(match.group(1))
        return column - 1, column
    return None


class _KeyField(QLineEdit):
    """A password-masked hex key field: no echo, no copy, no drag, no undo history."""

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.setDragEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.setInputMethodHints(Qt.InputMethodHint.ImhHiddenText
                                 | Qt.InputMethodHint.ImhSensitiveData
                                 | Qt.InputMethodHint.ImhNoPredictiveText)
        # Show the start of a long masked key rather than a cut-off end.
        self.editingFinished.connect(lambda: self.setCursorPosition(0))


class CollapsibleGroup(QWidget):
    """A titled section whose body folds away under an arrow button (collapsed by default)."""

    expanded_changed = Signal(bool)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self.toggle_button = QToolButton(self)
        self.toggle_button.setCheckable(True)
        self.toggle_button.setAutoRaise(True)
        self.toggle_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle_button.setSizePolicy(QSizePolicy.Policy.Expanding,
                                         QSizePolicy.Policy.Fixed)
        self.body = QFrame(self)
        self.body.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toggle_button)
        layout.addWidget(self.body)
        self.toggle_button.toggled.connect(self.setExpanded)
        self._summary = ""
        self.setExpanded(False)

    def isExpanded(self) -> bool:  # noqa: N802 (Qt naming)
        return self.toggle_button.isChecked()

    def setExpanded(self, expanded: bool) -> None:  # noqa: N802 (Qt naming)
        if self.toggle_button.isChecked() != expanded:
            self.toggle_button.setChecked(expanded)  # re-enters through toggled
            return
        self.toggle_button.setArrowType(Qt.ArrowType.DownArrow if expanded
                                        else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
        self._update_text()
        self.expanded_changed.emit(expanded)

    def set_summary(self, summary: str) -> None:
        """A hint shown after the title while the body is folded (e.g. "EK, AK set")."""
        self._summary = summary
        self._update_text()

    def _update_text(self) -> None:
        folded_hint = self._summary and not self.isExpanded()
        self.toggle_button.setText(f"{self._title}  ({self._summary})" if folded_hint
                                   else self._title)


class TranslatorPane(QWidget):
    """Hex input, layer choice, optional decryption keys → a Field | Value tree of the layers."""

    decoded = Signal(dict)  # the translator's JSON result
    failed = Signal(str)  # the one-line error message
    status_message = Signal(str)  # for a status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TranslatorPane")
        self._result: dict[str, Any] | None = None
        self.model = JsonTreeModel(self)
        self._build_input_side()
        self._build_result_side()
        self._build_actions()

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self._input_side)
        self.splitter.addWidget(self._result_side)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([420, 640])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.splitter)

    # -- construction ----------------------------------------------------------------------------

    def _build_input_side(self) -> None:
        side = self._input_side = QWidget(self)
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(8)

        header = QHBoxLayout()
        title = QLabel("<b>Hex input</b>", side)
        header.addWidget(title)
        header.addStretch(1)
        self.examples_button = QToolButton(side)
        self.examples_button.setText("Examples")
        self.examples_button.setToolTip("Fill the input with a recorded IS 15959 exchange step")
        self.examples_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.examples_button)
        for label, hex_text in DEMO_EXCHANGE:
            action = menu.addAction(label)
            action.triggered.connect(lambda _=False, h=hex_text: self.set_input(h, decode=True))
        self.examples_button.setMenu(menu)
        header.addWidget(self.examples_button)
        layout.addLayout(header)

        self.hex_edit = QPlainTextEdit(side)
        self.hex_edit.setObjectName("hexInput")
        self.hex_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.hex_edit.setPlaceholderText(
            f"Paste HDLC frames, a wrapper packet, an APDU or A-XDR data in hex, e.g.\n"
            f"{EXAMPLE_HEX}\n\nSpaces, colons, dashes and line breaks are ignored.")
        self.hex_edit.setTabChangesFocus(True)
        self.hex_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.hex_edit.textChanged.connect(self._clear_highlight)
        title.setBuddy(self.hex_edit)
        layout.addWidget(self.hex_edit, 1)

        options = QFormLayout()
        options.setContentsMargins(0, 0, 0, 0)
        self.layer_combo = QComboBox(side)
        for row, (label, value, tip) in enumerate(LAYER_CHOICES):
            self.layer_combo.addItem(label, value)
            self.layer_combo.setItemData(row, tip, Qt.ItemDataRole.ToolTipRole)
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        options.addRow("&Layer:", self.layer_combo)
        layout.addLayout(options)

        layout.addWidget(self._build_decryption_group(side))

        buttons = QHBoxLayout()
        self.clear_button = QPushButton("Clear", side)
        self.clear_button.setToolTip("Clear the input and the result")
        self.clear_button.clicked.connect(self.clear)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        self.decode_button = QPushButton("Decode", side)
        self.decode_button.setDefault(True)
        self.decode_button.setToolTip("Translate the input (Ctrl+Return)")
        self.decode_button.clicked.connect(self.decode)
        buttons.addWidget(self.decode_button)
        layout.addLayout(buttons)

    def _build_decryption_group(self, parent: QWidget) -> CollapsibleGroup:
        group = self.decryption_group = CollapsibleGroup("Decryption", parent)
        group.toggle_button.setToolTip("Keys to open ciphered APDUs (security suite 0); "
                                       "used whenever filled in")
        form = QFormLayout(group.body)
        form.setContentsMargins(10, 8, 10, 8)
        self.ek_edit = _KeyField("global encryption key, 32 hex digits", group.body)
        self.ak_edit = _KeyField("authentication key, 32 hex digits", group.body)
        self.dk_edit = _KeyField("dedicated key (ded- APDUs), optional", group.body)
        self.system_title_edit = QLineEdit(group.body)
        self.system_title_edit.setPlaceholderText("sender's system title, 16 hex digits")
        self.system_title_edit.setToolTip("Needed for glo-/ded- APDUs, which do not carry it")
        self.system_title_edit.setClearButtonEnabled(True)
        form.addRow("&EK:", self.ek_edit)
        form.addRow("&AK:", self.ak_edit)
        form.addRow("&DK:", self.dk_edit)
        form.addRow("System &title:", self.system_title_edit)
        note = QLabel("Keys stay in memory only: never logged, saved or shown.", group.body)
        note.setEnabled(False)
        note.setWordWrap(True)
        form.addRow(note)
        for edit in (self.ek_edit, self.ak_edit, self.dk_edit, self.system_title_edit):
            edit.textChanged.connect(self._update_decryption_summary)
        return group

    def _update_decryption_summary(self) -> None:
        names = [name for name, edit in (("EK", self.ek_edit), ("AK", self.ak_edit),
                                         ("DK", self.dk_edit),
                                         ("system title", self.system_title_edit))
                 if edit.text().strip()]
        self.decryption_group.set_summary(", ".join(names) + " set" if names else "")

    def _build_result_side(self) -> None:
        side = self._result_side = QWidget(self)
        layout = QVBoxLayout(side)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.setSpacing(8)

        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Result</b>", side))
        self.summary_label = QLabel(side)
        self.summary_label.setEnabled(False)
        header.addWidget(self.summary_label)
        header.addStretch(1)
        self.expand_button = QToolButton(side)
        self.expand_button.setText("Expand all")
        self.expand_button.clicked.connect(lambda: self.tree.expandAll())
        self.collapse_button = QToolButton(side)
        self.collapse_button.setText("Collapse")
        self.collapse_button.clicked.connect(lambda: self.tree.expandToDepth(0))
        self.copy_button = QPushButton("Copy JSON", side)
        self.copy_button.setToolTip("Copy the result as indented JSON")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_json)
        for widget in (self.expand_button, self.collapse_button, self.copy_button):
            header.addWidget(widget)
        layout.addLayout(header)

        self.error_label = QLabel(side)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(
            f"QLabel#errorLabel {{ color: {ERROR_COLOR}; background: #fdecea;"
            f" border: 1px solid #f5c2c0; border-radius: 4px; padding: 6px; }}")
        self.error_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.tree = JsonTreeView(side)
        self.tree.setObjectName("resultTree")
        self.tree.setModel(self.model)
        self.tree.placeholder = ("Decoded layers appear here: paste hex on the left and "
                                 "press Decode.")
        layout.addWidget(self.tree, 1)

    def _build_actions(self) -> None:
        self.decode_action = QAction("Decode", self)
        self.decode_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.decode_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.decode_action.triggered.connect(self.decode)
        self.addAction(self.decode_action)

        self.copy_value_action = QAction("Copy value", self.tree)
        self.copy_value_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_value_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_value_action.triggered.connect(self.copy_current_value)
        self.tree.addAction(self.copy_value_action)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    # -- public API ------------------------------------------------------------------------------

    def result(self) -> dict[str, Any] | None:
        """The last successful translation (``None`` after an error or :meth:`clear`)."""
        return self._result

    def json_text(self) -> str:
        """The last result as indented JSON ("" when there is none)."""
        if self._result is None:
            return ""
        return json.dumps(self._result, indent=2, ensure_ascii=False)

    def error_text(self) -> str:
        """The error shown, "" when none."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def set_input(self, hex_text: str, *, decode: bool = False) -> None:
        self.hex_edit.setPlainText(hex_text)
        if decode:
            self.decode()

    def set_layer(self, layer: str | None) -> None:
        """Choose the layer by translator name (``"hdlc"`` …) or ``None`` for Auto."""
        index = self.layer_combo.findData(layer)
        if index < 0:
            raise ValueError(f"unknown layer {layer!r}")
        self.layer_combo.setCurrentIndex(index)

    def clear(self) -> None:
        self.hex_edit.clear()
        self._show_result(None)
        self._hide_error()
        self.summary_label.clear()

    def decode(self) -> bool:
        """Translate the input into the tree; on failure show the error. True on success."""
        text = self.hex_edit.toPlainText()
        try:
            decryption = self._decryption()
        except TranslationError as exc:  # about the key fields, not the hex input
            self._fail(str(exc), None)
            return False
        try:
            result = translate(text, layer=self.layer_combo.currentData(), decryption=decryption)
        except (TranslationError, DlmsError) as exc:
            self._fail(str(exc) or type(exc).__name__, error_span(text, exc))
            return False
        self._hide_error()
        self._show_result(result)
        summary = self._summary(result, len(parse_hex(text)))
        self.summary_label.setText(summary)
        self.status_message.emit(f"Decoded {summary}")
        self.decoded.emit(result)
        return True

    def copy_json(self) -> None:
        if self._result is not None:
            QGuiApplication.clipboard().setText(self.json_text())
            self.status_message.emit("Result copied to the clipboard as JSON")

    def copy_current_value(self) -> None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return
        value = index.siblingAtColumn(1).data(JSON_VALUE_ROLE)
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        QGuiApplication.clipboard().setText(text)

    # -- internals -------------------------------------------------------------------------------

    def _decryption(self) -> Decryption | None:
        """The Decryption the key fields describe (folded or not); None when all are empty."""
        keys: dict[str, SecretBytes | None] = {}
        for name, label, edit in (("encryption_key", "EK", self.ek_edit),
                                  ("authentication_key", "AK", self.ak_edit),
                                  ("dedicated_key", "DK", self.dk_edit)):
            text = edit.text().strip()
            try:
                keys[name] = SecretBytes.from_hex(text) if text else None
            except SecretFormatError as exc:  # its message never repeats the key text
                raise TranslationError(f"{label}: {exc}") from None
        title_text = self.system_title_edit.text().strip()
        title = None
        if title_text:
            try:
                title = parse_hex(title_text)
            except TranslationError as exc:
                raise TranslationError(f"system title: {exc}") from None
            if len(title) != _SYSTEM_TITLE_LENGTH:
                raise TranslationError(f"system title: must be {_SYSTEM_TITLE_LENGTH} bytes "
                                       f"({2 * _SYSTEM_TITLE_LENGTH} hex digits), got {len(title)}")
        if not any(keys.values()) and title is None:
            return None
        security_keys = SecurityKeys(**keys) if any(keys.values()) else None
        return Decryption(keys=security_keys, system_title=title)

    @staticmethod
    def _summary(result: dict[str, Any], size: int) -> str:
        layer = result.get("layer", "")
        parts = [f"{size} byte{'s' if size != 1 else ''} as {_LAYER_LABELS.get(layer, layer)}"]
        for key, noun in (("frames", "frame"), ("packets", "packet"), ("apdus", "APDU")):
            if isinstance(result.get(key), list):
                count = len(result[key])
                parts.append(f"{count} {noun}{'s' if count != 1 else ''}")
        return " · ".join(parts)

    def _show_result(self, result: dict[str, Any] | None) -> None:
        self._result = result
        self.copy_button.setEnabled(result is not None)
        if result is None:
            self.model.clear()
            return
        self.tree.show_value(result)

    def _fail(self, message: str, span: tuple[int, int] | None) -> None:
        self._show_result(None)
        self.summary_label.clear()
        self.error_label.setText(message)
        self.error_label.show()
        self._highlight(span)
        self.status_message.emit("Decode failed")
        self.failed.emit(message)

    def _hide_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()
        self._clear_highlight()

    def _highlight(self, span: tuple[int, int] | None) -> None:
        if span is None:
            self._clear_highlight()
            return
        char_format = QTextCharFormat()
        char_format.setBackground(QColor("#f8c4c0"))
        char_format.setForeground(QColor(ERROR_COLOR))
        selection = QTextEdit.ExtraSelection()
        selection.format = char_format
        cursor = QTextCursor(self.hex_edit.document())
        cursor.setPosition(span[0])
        cursor.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        self.hex_edit.setExtraSelections([selection])

    def _clear_highlight(self) -> None:
        if self.hex_edit.extraSelections():
            self.hex_edit.setExtraSelections([])
