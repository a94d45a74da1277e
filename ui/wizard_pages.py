"""The connection wizard's page base class and its first two pages: medium and addressing.

Each page owns some :class:`~meterreader.client.profile.ConnectionProfile` fields (``FIELDS``),
turns its widgets into profile values (:meth:`FieldPage.values`, with the errors of text that
does not even parse) and shows the errors of ``ConnectionProfile.validate()`` next to the
offending widget (:meth:`FieldPage.show_errors`). The wizard (ui/wizard.py) collects the values
of all pages, builds the profile and hands every page its errors; a page with errors is not
complete, so Next/Finish stay disabled.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFormLayout, QFrame, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget, QWizardPage)

import ui.pyside_fixes  # noqa: F401 - PySide6 6.12 on CPython 3.11 drops None/True references
from meterreader import transport
from meterreader.client.profile import ConnectionProfile
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.secret import SecretBytes
from meterreader.india.associations import ASSOCIATIONS, association_by_name

__all__ = ["AddressingPage", "BAUD_RATES", "FieldPage", "INVALID_STYLE", "MediumPage",
           "combo_of", "field_label", "secret_text", "select_data", "set_invalid"]

BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES = (("None", "N"), ("Even", "E"), ("Odd", "O"))
ERROR_COLOR = "#d32f2f"
# The red border goes on a thin frame around the field, not on the field itself: a style sheet
# border on a spin box or combo box makes Qt draw its arrows by style sheet rules (none here).
INVALID_STYLE = f"""
QFrame#fieldFrame {{ border: 2px solid transparent; border-radius: 4px; }}
QFrame#fieldFrame[invalid="true"] {{ border-color: {ERROR_COLOR}; }}
QLabel[role="error"] {{ color: {ERROR_COLOR}; }}
QLabel[role="note"] {{ color: palette(placeholder-text); }}
QLabel#addressPreview {{
    border: 1px solid palette(mid); border-radius: 4px; padding: 6px 8px;
    background: palette(base);
}}
"""


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def set_invalid(widget: QWidget, error: str | None, help_text: str = "",
                frame: QWidget | None = None) -> None:
    """Flag ``widget`` and its ``frame`` (the ``invalid`` property; the style sheet draws the
    frame red) and give the widget the error as tooltip (``help_text`` when valid)."""
    invalid = bool(error)
    for target in (widget, frame):
        if target is None:
            continue
        # PySide6 6.12 drops a reference to None when property() reads an unset name (CPython
        # 3.11 then aborts): the property is always set before it is read.
        if target.dynamicPropertyNames().count(b"invalid") == 0 \
                or target.property("invalid") != invalid:
            target.setProperty("invalid", invalid)
            if target is frame:
                _repolish(target)
    widget.setToolTip(error or help_text)


def secret_text(secret: SecretBytes | None, *, as_hex: bool) -> str:
    """The text to put back into a field for ``secret`` (hex for keys; passwords as text when
    printable, else ``0x``-prefixed hex as :meth:`SecretBytes.parse` reads it)."""
    if secret is None:
        return ""
    raw = secret.reveal()
    if as_hex:
        return raw.hex().upper()
    if raw.isascii() and raw.decode("ascii").isprintable() and raw[:2].lower() != b"0x":
        return raw.decode("ascii")
    return "0x" + raw.hex().upper()


def field_label(text: str) -> QLabel:
    """A form label whose text lines up with a field in its 2 px frame, also when the error
    text under the field makes the row taller (the label is top-aligned, then offset)."""
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    # The frame's 2 px, the line edit's own centring of its text, then its inner text margin
    # and frame (measured on Fusion/DejaVu: caps of label and field on one line).
    offset = 2 + (QLineEdit().sizeHint().height() - label.fontMetrics().height() + 1) // 2 + 3
    label.setContentsMargins(0, max(0, offset), 0, 0)
    return label


def _error_label() -> QLabel:
    label = QLabel()
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.hide()
    return label


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "note")
    label.setWordWrap(True)
    return label


def combo_of(choices: Any) -> QComboBox:
    combo = QComboBox()
    for text, value in choices:
        combo.addItem(text, value)
    return combo


def select_data(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


class FieldPage(QWizardPage):
    """A wizard page holding some profile fields, their inline error labels and red borders."""

    FIELDS: tuple[str, ...] = ()

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__()
        self._on_change = on_change
        self._widgets: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._help: dict[str, str] = {}
        self._frames: dict[str, QFrame] = {}
        self.errors: dict[str, str] = {}

    def changed(self, *_: object) -> None:
        self._on_change()

    def field_row(self, name: str, widget: QWidget, *, extra: QWidget | None = None,
                  help_text: str = "") -> QWidget:
        """``widget`` in its (red when invalid) frame, an optional button beside it, above its
        hidden error label."""
        frame = QFrame()
        frame.setObjectName("fieldFrame")
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(2, 2, 2, 2)
        inner.addWidget(widget)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        if extra is None:
            layout.addWidget(frame)
        else:
            row = QHBoxLayout()
            row.setSpacing(4)
            row.addWidget(frame, 1)
            row.addWidget(extra)
            layout.addLayout(row)
        label = _error_label()
        label.setContentsMargins(2, 0, 2, 2)
        layout.addWidget(label)
        widget.setToolTip(help_text)
        self._help[name] = help_text
        self._widgets[name] = widget
        self._frames[name] = frame
        self._labels[name] = label
        return box

    def widget(self, name: str) -> QWidget:
        return self._widgets[name]

    def error_label(self, name: str) -> QLabel:
        return self._labels[name]

    def show_errors(self, errors: dict[str, str]) -> None:
        """Show the errors of this page's fields in place and update Next/Finish."""
        own = {k: v for k, v in errors.items() if k in self.FIELDS}
        for name, widget in self._widgets.items():
            error = own.get(name) if widget.isEnabled() else None
            set_invalid(widget, error, self._help.get(name, ""), self._frames.get(name))
            label = self._labels[name]
            label.setText(error or "")
            label.setVisible(bool(error))
        if own != self.errors:
            self.errors = own
            self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return not self.errors

    def validatePage(self) -> bool:  # noqa: N802 (Qt override)
        return self.isComplete()

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(profile field values, errors of text that does not parse)."""
        raise NotImplementedError

    def load(self, profile: ConnectionProfile) -> None:
        raise NotImplementedError


class MediumPage(FieldPage):
    """Page 1: saved profiles, then serial port or TCP/IP and the framing."""

    FIELDS = ("medium", "serial_port", "baudrate", "parity", "mode_e", "host", "port",
              "framing")

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.setTitle("Medium")
        self.setSubTitle("How the computer reaches the meter: a serial line (optical probe, "
                         "RS-485 converter) or the network.")

        self.profile_combo = QComboBox()
        self.profile_combo.setMinimumContentsLength(24)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected saved profile")
        top = QHBoxLayout()
        top.addWidget(QLabel("Saved profile:"))
        top.addWidget(self.profile_combo, 1)
        top.addWidget(self.delete_button)

        self.serial_radio = QRadioButton("Serial port")
        self.tcp_radio = QRadioButton("TCP/IP")
        self.medium_group = QButtonGroup(self)
        self.medium_group.addButton(self.serial_radio)
        self.medium_group.addButton(self.tcp_radio)
        self.detect_button = QPushButton("Detect…")
        self.detect_button.setObjectName("detectButton")
        self.detect_button.setToolTip("Find the framing, baud rate and addresses of the meter "
                                      "on this serial port or TCP port (public client)")
        radios = QHBoxLayout()
        radios.addWidget(self.serial_radio)
        radios.addWidget(self.tcp_radio)
        radios.addStretch(1)
        radios.addWidget(self.detect_button)

        self.port_combo = QComboBox()
        self.port_combo.setEditable(True)
        self.port_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.port_combo.lineEdit().setPlaceholderText("COM3, /dev/ttyUSB0, /dev/pts/3 …")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("List the serial ports present now")
        self.baud_combo = QComboBox()
        for rate in BAUD_RATES:
            self.baud_combo.addItem(str(rate), rate)
        self.parity_combo = combo_of(PARITIES)
        self.mode_e_check = QCheckBox("IEC 62056-21 mode E opening (optical probe)")
        self.mode_e_check.setToolTip("Send the IEC 62056-21 sign-on first and switch to HDLC "
                                     "(mode E), as optical probes on IS 15959 meters need")
        self.serial_group = QGroupBox("Serial line (HDLC, IEC 62056-46)")
        serial_form = QFormLayout(self.serial_group)
        serial_form.addRow(field_label("Port:"), self.field_row("serial_port", self.port_combo,
                                                   extra=self.refresh_button))
        serial_form.addRow(field_label("Baud rate:"), self.field_row("baudrate", self.baud_combo))
        serial_form.addRow(field_label("Parity:"), self.field_row("parity", self.parity_combo))
        serial_form.addRow("", self.field_row("mode_e", self.mode_e_check))

        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText("192.168.1.20 or meter.example.net")
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(4059)
        self.wrapper_radio = QRadioButton("DLMS wrapper (IEC 62056-47, meter IP port)")
        self.hdlc_radio = QRadioButton("HDLC over TCP (serial-to-Ethernet converter in "
                                       "transparent mode, e.g. NPort)")
        self.framing_group = QButtonGroup(self)
        self.framing_group.addButton(self.wrapper_radio)
        self.framing_group.addButton(self.hdlc_radio)
        framing_box = QWidget()
        framing_layout = QVBoxLayout(framing_box)
        framing_layout.setContentsMargins(0, 0, 0, 0)
        framing_layout.addWidget(self.wrapper_radio)
        framing_layout.addWidget(self.hdlc_radio)
        self.tcp_group = QGroupBox("TCP/IP")
        tcp_form = QFormLayout(self.tcp_group)
        tcp_form.addRow(field_label("Host or IP:"), self.field_row("host", self.host_edit))
        tcp_form.addRow(field_label("Port:"), self.field_row(
            "port", self.port_spin, help_text="4059 is the IANA port of the DLMS wrapper"))
        tcp_form.addRow(field_label("Framing:"), self.field_row("framing", framing_box))
        self._widgets["medium"] = self.serial_radio  # errors about the medium show on it
        self._labels["medium"] = _error_label()

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(8)
        layout.addLayout(radios)
        layout.addWidget(self._labels["medium"])
        layout.addWidget(self.serial_group)
        layout.addWidget(self.tcp_group)
        layout.addStretch(1)

        self.refresh_button.clicked.connect(self.refresh_ports)
        self.medium_group.buttonToggled.connect(self._medium_toggled)
        self.framing_group.buttonToggled.connect(self.changed)
        self.port_combo.currentTextChanged.connect(self.changed)
        self.baud_combo.currentIndexChanged.connect(self.changed)
        self.parity_combo.currentIndexChanged.connect(self.changed)
        self.mode_e_check.toggled.connect(self.changed)
        self.host_edit.textChanged.connect(self.changed)
        self.port_spin.valueChanged.connect(self.changed)
        self.refresh_ports()

    def refresh_ports(self) -> None:
        """Fill the port list from pyserial, keeping whatever the user typed."""
        current = self.port_combo.currentText()
        try:
            ports = transport.list_ports()
        except Exception:  # noqa: BLE001 (a broken driver must not break the wizard)
            ports = []
        self.port_combo.blockSignals(True)
        self.port_combo.clear()
        for info in ports:
            self.port_combo.addItem(info.device)
            tip = " · ".join(p for p in (info.description, info.hwid) if p)
            self.port_combo.setItemData(self.port_combo.count() - 1, tip,
                                        Qt.ItemDataRole.ToolTipRole)
        self.port_combo.setEditText(current or (ports[0].device if ports else ""))
        self.port_combo.blockSignals(False)
        self.changed()

    def _medium_toggled(self, *_: object) -> None:
        serial = self.serial_radio.isChecked()
        if serial and not self.port_combo.currentText() and self.port_combo.count():
            self.port_combo.setEditText(self.port_combo.itemText(0))  # the first port found
        self.serial_group.setEnabled(serial)
        self.tcp_group.setEnabled(not serial)
        self.changed()

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        serial = self.serial_radio.isChecked()
        return ({"medium": "serial" if serial else "tcp",
                 "serial_port": self.port_combo.currentText().strip(),
                 "baudrate": self.baud_combo.currentData(),
                 "parity": self.parity_combo.currentData(),
                 "mode_e": self.mode_e_check.isChecked(),
                 "host": self.host_edit.text().strip(),
                 "port": self.port_spin.value(),
                 "framing": "hdlc" if serial or self.hdlc_radio.isChecked() else "wrapper"},
                {})

    def load(self, profile: ConnectionProfile) -> None:
        (self.serial_radio if profile.medium == "serial" else self.tcp_radio).setChecked(True)
        self.port_combo.setEditText(profile.serial_port)
        if self.baud_combo.findData(profile.baudrate) < 0:
            self.baud_combo.addItem(str(profile.baudrate), profile.baudrate)
        select_data(self.baud_combo, profile.baudrate)
        select_data(self.parity_combo, profile.parity)
        self.mode_e_check.setChecked(profile.mode_e)
        self.host_edit.setText(profile.host)
        self.port_spin.setValue(profile.port)
        (self.hdlc_radio if profile.framing == "hdlc" else self.wrapper_radio).setChecked(True)
        self.serial_group.setEnabled(profile.medium == "serial")
        self.tcp_group.setEnabled(profile.medium != "serial")


class AddressingPage(FieldPage):
    """Page 2: IS 15959 association preset, client SAP, server addresses and the preview."""

    FIELDS = ("association", "client_sap", "server_logical", "server_physical", "address_size",
              "deviation_sign")

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.setTitle("Addressing")
        self.setSubTitle("Which association to open (IS 15959 presets) and the addresses of "
                         "client and server.")
        self.preset_combo = QComboBox()
        for assoc in ASSOCIATIONS:
            self.preset_combo.addItem(
                f"{assoc.name} — {assoc.title} (client {assoc.client_sap}, "
                f"{_MECHANISM_SHORT[assoc.mechanism]})", assoc.name.lower())
        self.preset_combo.addItem("Custom", "custom")
        self.preset_note = _note("")
        self.client_spin = QSpinBox()
        self.client_spin.setRange(0, 0x7F)
        self.logical_spin = QSpinBox()
        self.logical_spin.setRange(0, 0x3FFF)
        self.physical_spin = QSpinBox()
        self.physical_spin.setRange(0, 0x3FFF)
        self.size_combo = combo_of((("1 byte", 1), ("2 bytes", 2), ("4 bytes", 4)))
        self.size_note = _note("")
        self.preview_label = QLabel()
        self.preview_label.setObjectName("addressPreview")
        self.preview_label.setProperty("role", "preview")
        self.preview_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_label.setWordWrap(True)
        self.deviation_check = QCheckBox("Meter sends +330 for IST (deviation sign +1)")

        form = QFormLayout()
        form.addRow(field_label("Association:"), self.field_row("association", self.preset_combo))
        form.addRow("", self.preset_note)
        form.addRow(field_label("Client SAP:"), self.field_row(
            "client_sap", self.client_spin,
            help_text="Client address: 16 public client, 32 meter reader, 48 utility settings"))
        form.addRow(field_label("Server logical address:"), self.field_row(
            "server_logical", self.logical_spin,
            help_text="Upper HDLC address / wrapper destination port; 1 = management device"))
        form.addRow(field_label("Server physical address:"), self.field_row(
            "server_physical", self.physical_spin,
            help_text="Lower HDLC address; 256 on IS 15959 meters, often 17 elsewhere"))
        form.addRow(field_label("Address size:"), self.field_row("address_size", self.size_combo))
        form.addRow("", self.size_note)
        form.addRow("Address bytes:", self.preview_label)
        form.addRow("Clock:", self.field_row(
            "deviation_sign", self.deviation_check,
            help_text="The Blue Book clock deviation is minutes local time is behind UTC (IST "
                      "-330); tick this when the meter's clock reads 11 h off"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)

        self.preset_combo.currentIndexChanged.connect(self._preset_chosen)
        for spin in (self.client_spin, self.logical_spin, self.physical_spin):
            spin.valueChanged.connect(self.changed)
        self.size_combo.currentIndexChanged.connect(self.changed)
        self.deviation_check.toggled.connect(self.changed)
        self.preset_hook: Callable[[str], None] | None = None

    def _preset_chosen(self, *_: object) -> None:
        name = self.preset_combo.currentData()
        assoc = association_by_name(name)
        if assoc is not None:
            self.client_spin.blockSignals(True)
            self.client_spin.setValue(assoc.client_sap)
            self.client_spin.blockSignals(False)
            if self.preset_hook is not None:
                self.preset_hook(name)
        self._update_note()
        self.changed()

    def _update_note(self) -> None:
        assoc = association_by_name(self.preset_combo.currentData())
        self.preset_note.setText(f"May use: {assoc.services}" if assoc else
                                 "Client SAP and mechanism as you set them")

    def set_preset(self, name: str) -> None:
        """Show ``name`` ("pc", "mr", "us", "custom") without applying its values."""
        self.preset_combo.blockSignals(True)
        select_data(self.preset_combo, name)
        self.preset_combo.blockSignals(False)
        self._update_note()

    def update_framing(self, framing: str) -> None:
        """The wrapper has no HDLC addresses: disable size and physical address with a note."""
        wrapper = framing == "wrapper"
        self.size_combo.setEnabled(not wrapper)
        self.physical_spin.setEnabled(not wrapper and self.size_combo.currentData() != 1)
        self.size_note.setText(
            "The DLMS wrapper addresses by port numbers (client SAP → server logical address); "
            "address size and physical address apply to HDLC only." if wrapper else
            "1 byte: logical address only; 2 and 4 bytes: logical and physical address.")

    def show_preview(self, text: str, ok: bool) -> None:
        """The address bytes, or (``ok`` False) why there are none, in the error colour."""
        self.preview_label.setText(text)
        role = "preview" if ok else "error"
        if self.preview_label.property("role") != role:
            self.preview_label.setProperty("role", role)
            _repolish(self.preview_label)

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        return ({"association": self.preset_combo.currentData(),
                 "client_sap": self.client_spin.value(),
                 "server_logical": self.logical_spin.value(),
                 "server_physical": self.physical_spin.value(),
                 "address_size": self.size_combo.currentData(),
                 "deviation_sign": 1 if self.deviation_check.isChecked() else -1}, {})

    def load(self, profile: ConnectionProfile) -> None:
        self.set_preset(profile.association)
        self.client_spin.setValue(profile.client_sap)
        self.logical_spin.setValue(profile.server_logical)
        self.physical_spin.setValue(profile.server_physical)
        select_data(self.size_combo, profile.address_size)
        self.deviation_check.setChecked(profile.deviation_sign == 1)


_MECHANISM_SHORT = {MechanismName.NONE: "no security", MechanismName.LOW: "LLS",
                    MechanismName.HIGH: "HLS mechanism 2"}
