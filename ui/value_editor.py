"""Typed editors for attribute writes and method parameters.

Each :class:`ValueEditor` edits one A-XDR type and returns a checked
:class:`~meterreader.dlms.axdr.Data`: integers within the type's range (decimal or 0x hex),
octet-strings as hex (or "quoted ASCII"), visible-strings (printable ASCII), date-time/date/time
with ``*`` wildcards, enums, booleans, bit-strings, null-data, and — for structures, arrays and
anything else — the A-XDR bytes as hex. ``validate()`` flags invalid input in place (a red frame
and the reason under the field) and never raises; ``data()`` raises :class:`InvalidValue`.
:func:`editor_for` picks the editor for a value just read; ACTION parameters use
:class:`ui.parameter_editor.ParameterEditor`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.dlms.axdr import (TYPE_NAMES, BitString, Data, DataTag, decode_data,
                                   encode_data)
from meterreader.dlms.cosem_time import (BLUE_BOOK, CLOCK_STATUS_NOT_SPECIFIED,
                                         DEVIATION_NOT_SPECIFIED, NOT_SPECIFIED,
                                         YEAR_NOT_SPECIFIED, CosemDate, CosemDateTime, CosemTime)
from meterreader.dlms.errors import DlmsError

__all__ = ["INT_RANGES", "BitStringEditor", "BooleanEditor", "DateTimeEditor", "FloatEditor",
           "IntegerEditor", "InvalidValue", "NullEditor", "OctetStringEditor", "RawEditor",
           "StringEditor", "ValueEditor", "editor_for", "parse_hex"]

INT_RANGES: dict[DataTag, tuple[int, int]] = {
    DataTag.INTEGER: (-128, 127), DataTag.LONG: (-2**15, 2**15 - 1),
    DataTag.DOUBLE_LONG: (-2**31, 2**31 - 1), DataTag.LONG64: (-2**63, 2**63 - 1),
    DataTag.UNSIGNED: (0, 255), DataTag.LONG_UNSIGNED: (0, 2**16 - 1),
    DataTag.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1), DataTag.LONG64_UNSIGNED: (0, 2**64 - 1),
    DataTag.ENUM: (0, 255), DataTag.BCD: (0, 255),
}
_FLOATS = frozenset({DataTag.FLOAT32, DataTag.FLOAT64, DataTag.FLOATING_POINT})
_INVALID_STYLE = "border: 1px solid #d32f2f;"
_ERROR_STYLE = "color: #d32f2f;"


class InvalidValue(ValueError):
    """The editor's text is not a valid value of its type (the message says why)."""


class ValueEditor(QWidget):
    """Base class: the input widgets of one type plus an error line under them."""

    changed = Signal()

    def __init__(self, tag: DataTag, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tag = DataTag(tag)
        self.inputs: list[QWidget] = []
        self._error = ""
        self.body = QHBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("editorError")
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.body)
        layout.addWidget(self.error_label)

    def _add_line(self, placeholder: str = "", layout: QGridLayout | None = None,
                  row: int = 0, column: int = 0) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setPlaceholderText(placeholder)
        edit.textChanged.connect(self._edited)
        if layout is None:
            self.body.addWidget(edit, 1)
        else:
            layout.addWidget(edit, row, column)
        self.inputs.append(edit)
        return edit

    def _edited(self, *_args: object) -> None:
        if self._error:
            self.validate()
        self.changed.emit()

    # -- subclass interface -----------------------------------------------------------------------

    def set_data(self, data: Data) -> None:
        """Show ``data`` (same type) as the starting value."""
        raise NotImplementedError

    def data(self) -> Data:
        """The value; InvalidValue when the input is not valid."""
        raise NotImplementedError

    # -- validation -------------------------------------------------------------------------------

    @property
    def error(self) -> str:
        """The reason shown under the field ("" when valid or not yet validated)."""
        return self._error

    def validate(self) -> bool:
        """Check the input; flag it in place (True when valid)."""
        try:
            self.data()
        except InvalidValue as exc:
            self._flag(str(exc))
            return False
        self._flag("")
        return True

    def _flag(self, message: str) -> None:
        for widget in self.inputs:
            widget.setStyleSheet(_INVALID_STYLE if message else "")
            widget.setProperty("invalid", bool(message))
        self._error = message
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))


def _parse_int(text: str, what: str) -> int:
    text = text.strip().replace("_", "")
    if not text:
        raise InvalidValue(f"enter {what}")
    try:
        return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text, 10)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a whole number") from None


class IntegerEditor(ValueEditor):
    """Integer types, enum and BCD: decimal or 0x-hex within the type's range. ``choices``
    (value → name) turns it into an editable list, e.g. for an enum."""

    def __init__(self, tag: DataTag, parent: QWidget | None = None,
                 choices: Mapping[int, str] | None = None) -> None:
        super().__init__(tag, parent)
        self.low, self.high = INT_RANGES[self.tag]
        self.choices = dict(choices or {})
        self.combo: QComboBox | None = None
        if self.choices:
            self.combo = QComboBox(self)
            self.combo.setEditable(True)
            for value, name in sorted(self.choices.items()):
                self.combo.addItem(f"{value} {name}", value)
            self.combo.currentTextChanged.connect(self._edited)
            self.body.addWidget(self.combo, 1)
            self.inputs.append(self.combo)
            self.edit = self.combo.lineEdit()
        else:
            self.edit = self._add_line(f"{TYPE_NAMES[self.tag]}: {self.low} … {self.high}")
        self.edit.setText("0" if self.low <= 0 <= self.high else str(self.low))

    def set_data(self, data: Data) -> None:
        found = self.combo.findData(int(data.value)) if self.combo is not None else -1
        if found >= 0:
            self.combo.setCurrentIndex(found)
        else:
            self.edit.setText(str(int(data.value)))

    def data(self) -> Data:
        text = self.edit.text().strip()
        if self.choices and text:
            text = text.split()[0]
        value = _parse_int(text, f"a number {self.low} … {self.high}")
        if not self.low <= value <= self.high:
            raise InvalidValue(f"{value} is out of range for {TYPE_NAMES[self.tag]} "
                               f"({self.low} … {self.high})")
        return Data(self.tag, value)


class FloatEditor(ValueEditor):
    def __init__(self, tag: DataTag, parent: QWidget | None = None) -> None:
        super().__init__(tag, parent)
        self.edit = self._add_line(f"{TYPE_NAMES[self.tag]}, e.g. 1.5")
        self.edit.setText("0")

    def set_data(self, data: Data) -> None:
        self.edit.setText(repr(float(data.value)))

    def data(self) -> Data:
        text = self.edit.text().strip()
        try:
            value = float(text)
        except ValueError:
            raise InvalidValue(f"{text!r} is not a number" if text else "enter a number") \
                from None
        if self.tag is not DataTag.FLOAT64 and math.isfinite(value) and abs(value) > 3.4028235e38:
            raise InvalidValue(f"{value} does not fit a 32-bit float")
        return Data(self.tag, value)


class BooleanEditor(ValueEditor):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DataTag.BOOLEAN, parent)
        self.check = QCheckBox("true", self)
        self.check.toggled.connect(self._edited)
        self.body.addWidget(self.check, 1)

    def set_data(self, data: Data) -> None:
        self.check.setChecked(bool(data.value))

    def data(self) -> Data:
        return Data(DataTag.BOOLEAN, self.check.isChecked())


class NullEditor(ValueEditor):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DataTag.NULL_DATA, parent)
        label = QLabel("null-data (no value)", self)
        label.setEnabled(False)
        self.body.addWidget(label, 1)

    def set_data(self, data: Data) -> None:
        pass

    def data(self) -> Data:
        return Data(DataTag.NULL_DATA)


def parse_hex(text: str) -> bytes:
    """Hex digits with optional blanks, ':' or '-' separators (InvalidValue otherwise)."""
    digits = "".join(text.replace(":", " ").replace("-", " ").split())
    if digits.lower().startswith("0x"):
        digits = digits[2:]
    if any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise InvalidValue("hex digits only (0-9, A-F), e.g. 01 00 1F")
    if len(digits) % 2:
        raise InvalidValue(f"odd number of hex digits ({len(digits)})")
    return bytes.fromhex(digits)


class OctetStringEditor(ValueEditor):
    """Hex bytes, or "quoted" ASCII text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DataTag.OCTET_STRING, parent)
        self.edit = self._add_line('hex bytes (01 0A FF) or "ASCII text" in quotes')

    def set_data(self, data: Data) -> None:
        self.edit.setText(bytes(data.value).hex(" ").upper())

    def data(self) -> Data:
        text = self.edit.text().strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            try:
                return Data(DataTag.OCTET_STRING, text[1:-1].encode("ascii"))
            except UnicodeEncodeError:
                raise InvalidValue("quoted text must be ASCII") from None
        return Data(DataTag.OCTET_STRING, parse_hex(text))


class StringEditor(ValueEditor):
    """visible-string (printable ASCII) or utf8-string."""

    def __init__(self, tag: DataTag, parent: QWidget | None = None) -> None:
        super().__init__(tag, parent)
        self.edit = self._add_line(TYPE_NAMES[self.tag])

    def set_data(self, data: Data) -> None:
        self.edit.setText(str(data.value))

    def data(self) -> Data:
        text = self.edit.text()
        if self.tag is DataTag.VISIBLE_STRING and any(not 0x20 <= ord(c) < 0x7F for c in text):
            bad = next(c for c in text if not 0x20 <= ord(c) < 0x7F)
            raise InvalidValue(f"visible-string takes printable ASCII only, not {bad!r}")
        return Data(self.tag, text)


class BitStringEditor(ValueEditor):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DataTag.BIT_STRING, parent)
        self.edit = self._add_line("bits, first = most significant, e.g. 1011")

    def set_data(self, data: Data) -> None:
        self.edit.setText(data.value.bits)

    def data(self) -> Data:
        text = "".join(self.edit.text().split())
        if text.strip("01"):
            raise InvalidValue("a bit-string holds only 0 and 1")
        return Data(DataTag.BIT_STRING, BitString.from_bits(text))


# (field, label, low, high, wildcard value, width); specials are accepted as numbers too.
_DATE_FIELDS = (("year", "Year", 0, 9999, YEAR_NOT_SPECIFIED, 5),
                ("month", "Month", 1, 12, NOT_SPECIFIED, 3),
                ("day", "Day", 1, 31, NOT_SPECIFIED, 3),
                ("day_of_week", "Weekday", 1, 7, NOT_SPECIFIED, 3))
_TIME_FIELDS = (("hour", "Hour", 0, 23, NOT_SPECIFIED, 3),
                ("minute", "Min", 0, 59, NOT_SPECIFIED, 3),
                ("second", "Sec", 0, 59, NOT_SPECIFIED, 3),
                ("hundredths", "1/100", 0, 99, NOT_SPECIFIED, 3))
_ZONE_FIELDS = (("deviation", "Deviation (min)", -720, 840, DEVIATION_NOT_SPECIFIED, 5),
                ("clock_status", "Status", 0, 0xFF, CLOCK_STATUS_NOT_SPECIFIED, 4))
#: Month 0xFD/0xFE (DST end/begin) and day 0xFD/0xFE (2nd-last/last) are legal specials.
_SPECIALS = {"month": (0xFD, 0xFE), "day": (0xFD, 0xFE)}


class DateTimeEditor(ValueEditor):
    """date-time, date or time field by field; ``*`` = not specified. ``as_octets`` returns a
    12-byte octet-string (how IS 15959 clocks and profiles carry date-times)."""

    def __init__(self, tag: DataTag = DataTag.DATE_TIME, parent: QWidget | None = None, *,
                 as_octets: bool = False, deviation_sign: int = BLUE_BOOK) -> None:
        super().__init__(tag, parent)
        self.as_octets = as_octets
        self.deviation_sign = deviation_sign
        self.fields = {DataTag.DATE_TIME: _DATE_FIELDS + _TIME_FIELDS + _ZONE_FIELDS,
                       DataTag.DATE: _DATE_FIELDS, DataTag.TIME: _TIME_FIELDS}[self.tag]
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(1)
        self.edits: dict[str, QLineEdit] = {}
        for column, (name, label, low, high, _wild, width) in enumerate(self.fields):
            caption = QLabel(label, self)
            caption.setEnabled(False)
            grid.addWidget(caption, 0, column)
            edit = self._add_line("*", grid, 1, column)
            edit.setObjectName(f"dt_{name}")
            edit.setToolTip(f"{label}: {low} … {high}, or * (not specified)")
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("0" * width) + 14)
            self.edits[name] = edit
        self.body.addLayout(grid, 1)
        self.now_button = QPushButton("Now", self)
        self.now_button.setToolTip("This computer's time, with its UTC offset")
        self.now_button.clicked.connect(self.set_now)
        self.body.addWidget(self.now_button, 0)
        self.set_now()

    def set_now(self) -> None:
        now = dt.datetime.now().astimezone().replace(microsecond=0)
        self._show(CosemDateTime.from_datetime(now, deviation_sign=self.deviation_sign))

    def _show(self, value: CosemDateTime | CosemDate | CosemTime) -> None:
        for name, _label, _low, _high, wild, _width in self.fields:
            raw = getattr(value, name)
            text = "*" if raw == wild else (f"{raw:02X}" if name == "clock_status" else str(raw))
            self.edits[name].setText(text)

    def set_data(self, data: Data) -> None:
        value = data.value
        if isinstance(value, bytes):
            value = CosemDateTime.from_bytes(value)
        self._show(value)

    def data(self) -> Data:
        values: dict[str, int] = {}
        for name, label, low, high, wild, _width in self.fields:
            text = self.edits[name].text().strip()
            if text in ("*", ""):
                values[name] = wild
                continue
            try:
                number = int(text, 16) if name == "clock_status" else int(text, 10)
            except ValueError:
                raise InvalidValue(f"{label}: {text!r} is not a number or *") from None
            if not (low <= number <= high or number in _SPECIALS.get(name, ())):
                raise InvalidValue(f"{label} must be {low} … {high} or *")
            values[name] = number
        try:
            cls = {DataTag.DATE_TIME: CosemDateTime, DataTag.DATE: CosemDate,
                   DataTag.TIME: CosemTime}[self.tag]
            value = cls(**values)
        except DlmsError as exc:
            raise InvalidValue(str(exc)) from None
        if self.as_octets:
            return Data(DataTag.OCTET_STRING, bytes(value))
        return Data(self.tag, value)


class RawEditor(ValueEditor):
    """Any value as its A-XDR bytes in hex (tag first), e.g. ``02 02 0F FE 16 1E`` for a
    scal_unit_type; the decoded value is previewed under the field."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DataTag.NULL_DATA, parent)
        self.edit = self._add_line("A-XDR hex, tag first (e.g. 12 00 05 = long-unsigned 5)")
        self.preview = QLabel(self)
        self.preview.setEnabled(False)
        self.preview.setWordWrap(True)
        self.layout().insertWidget(1, self.preview)
        self.changed.connect(self._update_preview)
        self.edit.setText("00")

    def set_data(self, data: Data) -> None:
        self.edit.setText(encode_data(data).hex(" ").upper())

    def data(self) -> Data:
        raw = parse_hex(self.edit.text())
        if not raw:
            raise InvalidValue("enter the A-XDR bytes of the value")
        try:
            value, end = decode_data(raw)
        except DlmsError as exc:
            raise InvalidValue(f"not a valid A-XDR value: {getattr(exc, 'reason', '') or exc}"
                               ) from None
        if end != len(raw):
            raise InvalidValue(f"{len(raw) - end} byte(s) after the end of the value")
        return value

    def _update_preview(self) -> None:
        from ui.value_format import format_data, type_text
        try:
            value = self.data()
        except InvalidValue:
            self.preview.setText("")
            return
        self.preview.setText(f"{type_text(value)}: {format_data(value)}")


def editor_for(data: Data | None = None, tag: DataTag | None = None,
               parent: QWidget | None = None, *, deviation_sign: int = BLUE_BOOK,
               choices: Mapping[int, str] | None = None) -> ValueEditor:
    """The editor for a value of ``data``'s type (prefilled with it), or for ``tag``;
    ``choices`` names the values of an enum."""
    if data is not None:
        tag = data.tag
    tag = DataTag(tag) if tag is not None else None
    octet_time = (data is not None and tag is DataTag.OCTET_STRING and len(data.value) == 12
                  and CosemDateTime.try_from_bytes(data.value) is not None)
    editor: ValueEditor
    if octet_time:
        editor = DateTimeEditor(DataTag.DATE_TIME, parent, as_octets=True,
                                deviation_sign=deviation_sign)
    elif tag in INT_RANGES:
        editor = IntegerEditor(tag, parent, choices if tag is DataTag.ENUM else None)
    elif tag in _FLOATS:
        editor = FloatEditor(tag, parent)
    elif tag is DataTag.BOOLEAN:
        editor = BooleanEditor(parent)
    elif tag is DataTag.NULL_DATA:
        editor = NullEditor(parent)
    elif tag is DataTag.OCTET_STRING:
        editor = OctetStringEditor(parent)
    elif tag in (DataTag.VISIBLE_STRING, DataTag.UTF8_STRING):
        editor = StringEditor(tag, parent)
    elif tag is DataTag.BIT_STRING:
        editor = BitStringEditor(parent)
    elif tag in (DataTag.DATE_TIME, DataTag.DATE, DataTag.TIME):
        editor = DateTimeEditor(tag, parent, deviation_sign=deviation_sign)
    else:
        editor = RawEditor(parent)
    if data is not None:
        editor.set_data(data)
    return editor
