"""The conformance bench's MR password / US key row (:mod:`ui.conformance_tab`): a masked field
and a "not available" box per association; a ticked box leaves that association out of the run
(its checks are skipped).
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from meterreader.conformance.context import ConformanceTarget
from meterreader.dlms.secret import SecretBytes, SecretFormatError
from ui.wizard_pages import secret_text

__all__ = ["SecretsRow"]

#: key → (label, tooltip) of the two secret fields.
_FIELDS = (
    ("mr", "MR password", "LLS password of the meter reader association (client 32). Default: "
     "the connected profile's when it is MR, else the IS 15959 default. Text, or 0x-prefixed "
     "hex."),
    ("us", "US key", "HLS key of the utility settings association (client 48). Default: the "
     "connected profile's when it is US, else the IS 15959 default. Text, or 0x-prefixed hex."))


class SecretsRow(QWidget):
    """The MR/US secret fields: ``secret_edits`` and ``secret_absent`` (dicts keyed "mr"/"us"),
    ``fill(target)``, ``secrets()``, ``set_running(bool)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.secret_edits: dict[str, QLineEdit] = {}
        self.secret_absent: dict[str, QCheckBox] = {}
        for key, label, tip in _FIELDS:
            row.addWidget(QLabel(label, self))
            edit = QLineEdit(self)
            edit.setObjectName(f"bench{key.upper()}Secret")
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setToolTip(tip)
            edit.setMaximumWidth(220)
            absent = QCheckBox("not available", self)
            absent.setToolTip(f"The {label} is not known: the checks that need the "
                              f"{key.upper()} association are skipped")
            absent.toggled.connect(lambda off, e=edit: e.setEnabled(not off))
            row.addWidget(edit)
            row.addWidget(absent)
            row.addSpacing(12)
            self.secret_edits[key] = edit
            self.secret_absent[key] = absent
        row.addStretch(1)

    def fill(self, target: ConformanceTarget) -> None:
        """Put ``target``'s MR password and US key into the (masked) fields."""
        for key, secret in (("mr", target.mr_password), ("us", target.us_key)):
            self.secret_edits[key].setText(secret_text(secret, as_hex=False))
            self.secret_absent[key].setChecked(secret is None)

    def secrets(self) -> dict[str, SecretBytes | None]:
        """``{"mr_password": …, "us_key": …}`` from the fields (None: not available).
        SecretFormatError when a field does not hold a secret."""
        found: dict[str, SecretBytes | None] = {}
        for key, name, _tip in _FIELDS:
            if self.secret_absent[key].isChecked():
                found[key] = None
                continue
            text = self.secret_edits[key].text()
            if not text:
                raise SecretFormatError(f"the {name} is empty (tick \"not available\" to "
                                        "leave that association out)")
            try:
                found[key] = SecretBytes.parse(text)
            except SecretFormatError as exc:
                raise SecretFormatError(f"the {name} is not valid: {exc}") from None
        return {"mr_password": found["mr"], "us_key": found["us"]}

    def set_running(self, running: bool) -> None:
        """Lock the fields during a run (a field stays off while its box is ticked)."""
        for key, edit in self.secret_edits.items():
            self.secret_absent[key].setEnabled(not running)
            edit.setEnabled(not running and not self.secret_absent[key].isChecked())
