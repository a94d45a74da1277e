"""Page 3 of the connection wizard: authentication mechanism, secrets, keys and ciphering.

Secrets are typed into masked line edits (Show/Hide toggle) and wrapped in
:class:`SecretBytes` at once; fields the chosen mechanism and ciphering do not use are disabled
and left out of the profile.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QLineEdit, QToolButton,
                               QVBoxLayout, QWidget)

from meterreader.client.profile import ConnectionProfile, parse_key, parse_system_title
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.secret import SecretBytes, SecretFormatError
from ui.wizard_pages import FieldPage, combo_of, field_label, secret_text, select_data

__all__ = ["CIPHERING_ITEMS", "MECHANISM_CHOICES", "SecretEdit", "SecurityPage"]

MECHANISM_CHOICES: tuple[tuple[str, MechanismName], ...] = (
    ("None (lowest level security)", MechanismName.NONE),
    ("Low (LLS, password)", MechanismName.LOW),
    ("High, mechanism 2 (IS 15959)", MechanismName.HIGH),
    ("High MD5 (3)", MechanismName.HIGH_MD5),
    ("High SHA-1 (4)", MechanismName.HIGH_SHA1),
    ("High GMAC (5)", MechanismName.HIGH_GMAC),
    ("High SHA-256 (6)", MechanismName.HIGH_SHA256),
)
CIPHERING_ITEMS = (("None", "none"), ("Global key", "global"), ("Dedicated key", "dedicated"),
                   ("General (general-glo/ded)", "general"))
#: Mechanisms that authenticate with the HLS secret (IS 15959 mechanism 2, MD5, SHA-1, SHA-256).
HLS_SECRET_MECHANISMS = frozenset({MechanismName.HIGH, MechanismName.HIGH_MD5,
                                   MechanismName.HIGH_SHA1, MechanismName.HIGH_SHA256})
#: Mechanisms that need the system titles: GMAC and SHA-256 (Green Book: both hash them in).
SYSTEM_TITLE_MECHANISMS = frozenset({MechanismName.HIGH_GMAC, MechanismName.HIGH_SHA256})


class SecretEdit:
    """A masked line edit and its Show/Hide toggle (laid out by ``FieldPage.field_row``)."""

    def __init__(self, placeholder: str = "") -> None:
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(placeholder)
        self.toggle = QToolButton()
        self.toggle.setText("Show")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("Show or hide the secret")
        self.toggle.toggled.connect(self._toggled)

    def _toggled(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown
                              else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if shown else "Show")

    def isEnabled(self) -> bool:  # noqa: N802 (reads like the Qt widgets beside it)
        return self.edit.isEnabled()

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802
        self.edit.setEnabled(enabled)
        self.toggle.setEnabled(enabled)


class SecurityPage(FieldPage):
    """Page 3: mechanism, password, HLS secret, keys, system title, ciphering."""

    FIELDS = ("mechanism", "password", "hls_key", "encryption_key", "authentication_key",
              "system_title", "ciphering")

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.setTitle("Security")
        self.setSubTitle("Authentication mechanism and secrets. Secrets stay in memory unless "
                         "you ask to remember them.")
        self.mechanism_combo = QComboBox()
        for text, value in MECHANISM_CHOICES:
            self.mechanism_combo.addItem(text, int(value))
        self.password = SecretEdit("LLS password (IS 15959 meter reader default: 12345678)")
        self.hls_key = SecretEdit("HLS secret, text or 0x… hex")
        self.encryption_key = SecretEdit("32 hex digits")
        self.authentication_key = SecretEdit("32 hex digits")
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("16 hex digits, e.g. 4D 52 44 00 00 00 00 01")
        self.ciphering_combo = combo_of(CIPHERING_ITEMS)
        self.remember_check = QCheckBox("Remember secrets on this computer (stored in a file "
                                        "only you can read)")
        self.remember_check.setChecked(False)

        form = QFormLayout()
        form.addRow(field_label("Mechanism:"), self.field_row("mechanism", self.mechanism_combo))
        form.addRow(field_label("Password:"), self.secret_row(
            "password", "LLS password (text, or 0x… for hex)"))
        form.addRow(field_label("HLS secret:"), self.secret_row(
            "hls_key", "HLS secret (IS 15959 mechanism 2: 16 characters)"))
        form.addRow(field_label("Ciphering:"), self.field_row("ciphering", self.ciphering_combo))
        form.addRow(field_label("Encryption key (EK):"), self.secret_row(
            "encryption_key", "Global unicast encryption key, 32 hex digits"))
        form.addRow(field_label("Authentication key (AK):"), self.secret_row(
            "authentication_key", "Authentication key (AES-GCM), 32 hex digits"))
        form.addRow(field_label("Client system title:"), self.field_row(
            "system_title", self.title_edit,
            help_text="8 bytes: a 3-letter manufacturer code and 5 bytes of serial number"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(self.remember_check)
        layout.addStretch(1)

        self.mechanism_combo.currentIndexChanged.connect(self._update_enabled)
        self.ciphering_combo.currentIndexChanged.connect(self._update_enabled)
        for edit in (self.password.edit, self.hls_key.edit, self.encryption_key.edit,
                     self.authentication_key.edit, self.title_edit):
            edit.textChanged.connect(self.changed)
        self.remember_check.toggled.connect(self.changed)
        self._update_enabled()

    def secret_row(self, name: str, help_text: str) -> QWidget:
        """The field row of the SecretEdit attribute ``name``: masked edit, then Show/Hide."""
        holder: SecretEdit = getattr(self, name)
        return self.field_row(name, holder.edit, extra=holder.toggle, help_text=help_text)

    @property
    def mechanism(self) -> MechanismName:
        return MechanismName(self.mechanism_combo.currentData())

    def set_mechanism(self, mechanism: int) -> None:
        select_data(self.mechanism_combo, int(mechanism))

    def _update_enabled(self, *_: object) -> None:
        mech = self.mechanism
        ciphered = self.ciphering_combo.currentData() != "none"
        self.password.setEnabled(mech == MechanismName.LOW)
        self.hls_key.setEnabled(mech in HLS_SECRET_MECHANISMS)
        keys = ciphered or mech == MechanismName.HIGH_GMAC
        self.encryption_key.setEnabled(keys)
        self.authentication_key.setEnabled(keys)
        self.title_edit.setEnabled(keys or mech in SYSTEM_TITLE_MECHANISMS)
        self.changed()

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {"mechanism": int(self.mechanism),
                                  "ciphering": self.ciphering_combo.currentData()}
        errors: dict[str, str] = {}
        for name in ("password", "hls_key"):
            holder: SecretEdit = getattr(self, name)
            values[name] = None
            if holder.isEnabled() and holder.edit.text():
                try:
                    values[name] = SecretBytes.parse(holder.edit.text())
                except SecretFormatError as exc:
                    errors[name] = str(exc)
        for name in ("encryption_key", "authentication_key"):
            holder = getattr(self, name)
            values[name] = None
            text = holder.edit.text().strip()
            if holder.isEnabled() and text:
                try:
                    values[name] = parse_key(text)
                except SecretFormatError as exc:
                    errors[name] = str(exc)
        values["system_title"] = None
        text = self.title_edit.text().strip()
        if self.title_edit.isEnabled() and text:
            try:
                values["system_title"] = parse_system_title(text)
            except ValueError as exc:
                errors["system_title"] = str(exc)
        return values, errors

    def load(self, profile: ConnectionProfile) -> None:
        self.set_mechanism(profile.mechanism)
        select_data(self.ciphering_combo, profile.ciphering)
        self.password.edit.setText(secret_text(profile.password, as_hex=False))
        self.hls_key.edit.setText(secret_text(profile.hls_key, as_hex=False))
        self.encryption_key.edit.setText(secret_text(profile.encryption_key, as_hex=True))
        self.authentication_key.edit.setText(secret_text(profile.authentication_key,
                                                         as_hex=True))
        self.title_edit.setText(profile.system_title.hex(" ").upper()
                                if profile.system_title else "")
        self._update_enabled()
