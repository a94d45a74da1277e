"""The connection wizard: medium → addressing → security → summary with "Test connection".

``ConnectionWizard(parent, profiles=store, initial=profile)`` edits a
:class:`~meterreader.client.profile.ConnectionProfile`. Every change rebuilds the draft profile
and shows the errors of ``ConnectionProfile.validate()`` in place (red border, tooltip, text
under the field); a page with errors keeps Next/Finish disabled. "Test connection" connects and
releases on a throw-away :class:`~ui.worker.ProtocolWorker` thread, so the wizard stays usable
and the test can be cancelled; a failure shows with its diagnosis (what the bytes seen mean and
what to try next). "Detect…" on the medium page opens the :class:`~ui.finder_dialog.FinderDialog`
for the chosen port; "Use these settings" there fills the fields. On Finish the profile is saved to the :class:`ProfileStore`
(secrets only when the user ticked "Remember secrets"); :meth:`ConnectionWizard.profile` returns
it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget, QWizard)

import ui.pyside_fixes  # noqa: F401 - PySide6 6.12 on CPython 3.11 drops None/True references
from meterreader.client.profile import SECRET_FIELDS, ConnectionProfile, preset_values
from meterreader.client.settings import Framing
from meterreader.india.associations import association_by_name
from ui.finder_dialog import FinderDialog, adopt_found, diagnosis_html
from ui.profile_store import ProfileStore
from ui.wizard_pages import (INVALID_STYLE, AddressingPage, FieldPage, MediumPage, field_label,
                             secret_text)
from ui.wizard_security import MECHANISM_CHOICES, SecurityPage
from ui.wizard_tester import ConnectionTester, describe_connected

__all__ = ["ConnectionTester", "ConnectionWizard", "SummaryPage", "describe_connected"]

OK_COLOR, ERROR_COLOR = "#2e7d32", "#c62828"
_BOX = "border-radius: 4px; padding: 8px 10px;"
#: Style of the test result label by state (set on the label itself, so that its padding is
#: recomputed when the state changes).
RESULT_STYLES = {
    "ok": f"QLabel {{ color: {OK_COLOR}; border: 1px solid {OK_COLOR}; {_BOX}"
          " background: rgba(46, 125, 50, 0.10); }",
    "error": f"QLabel {{ color: {ERROR_COLOR}; border: 1px solid {ERROR_COLOR}; {_BOX}"
             " background: rgba(198, 40, 40, 0.10); }",
    "busy": f"QLabel {{ border: 1px solid palette(mid); {_BOX} }}",
    "cancelled": f"QLabel {{ border: 1px solid palette(mid); {_BOX} }}",
    "": f"QLabel {{ border: 1px solid transparent; {_BOX} color: palette(placeholder-text); }}",
}
#: The fields a search needs: "Detect…" stays disabled while one of them is invalid.
_DETECT_FIELDS = ("medium", "host", "port", "serial_port")
_MECHANISM_TEXT = {int(value): text for text, value in MECHANISM_CHOICES}


class SummaryPage(FieldPage):
    """Page 4: what will be used, the profile name and "Test connection"."""

    FIELDS = ("name",)

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.setTitle("Summary")
        self.setSubTitle("Check the connection, test it if you like, and save it under a name.")
        self.description_label = QLabel()
        self.address_label = QLabel()
        self.security_label = QLabel()
        self.problems_label = QLabel()
        self.problems_label.setProperty("role", "error")
        for label in (self.description_label, self.address_label, self.security_label,
                      self.problems_label):
            label.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. Lab bench meter 3 (MR)")
        self.test_button = QPushButton("Test connection")
        self.test_button.setToolTip("Connect and release once, on a background thread")
        self.cancel_test_button = QPushButton("Cancel test")
        self.cancel_test_button.setEnabled(False)
        self.result_label = QLabel()
        self.result_label.setObjectName("testResult")
        self.result_label.setWordWrap(True)
        self.diagnosis: Any = None  # the Diagnosis of the last failed test
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_result("", "Not tested yet.")

        form = QFormLayout()
        form.addRow("Connection:", self.description_label)
        form.addRow("Addresses:", self.address_label)
        form.addRow("Security:", self.security_label)
        form.addRow("", self.problems_label)
        form.addRow(field_label("Save as:"), self.field_row(
            "name", self.name_edit, help_text="Name of the saved profile"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.cancel_test_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        self.name_edit.textChanged.connect(self.changed)
        self.all_errors: dict[str, str] = {}

    def show_errors(self, errors: dict[str, str]) -> None:
        others = {k: v for k, v in errors.items() if k not in self.FIELDS}
        self.problems_label.setText("\n".join(f"{k.replace('_', ' ')}: {v}"
                                              for k, v in sorted(others.items())))
        self.problems_label.setVisible(bool(others))
        changed = errors != self.all_errors
        self.all_errors = dict(errors)
        super().show_errors(errors)
        if changed:
            self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return not self.all_errors

    def show_result(self, state: str, text: str, diagnosis: Any = None) -> None:
        """Show the test result ``text``; ``state`` ("ok", "error", "busy", "cancelled", "")
        picks the colours and is kept in the label's ``state`` property. A ``diagnosis`` (of a
        failure) adds its title, explanation and next steps under the text."""
        self.diagnosis = diagnosis
        if diagnosis is not None:
            self.result_label.setTextFormat(Qt.TextFormat.RichText)
            self.result_label.setText(diagnosis_html(diagnosis, lead=text))
        else:
            self.result_label.setTextFormat(Qt.TextFormat.PlainText)
            self.result_label.setText(text)
        self.result_label.setProperty("state", state)
        self.result_label.setStyleSheet(RESULT_STYLES.get(state, RESULT_STYLES[""]))

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        return {"name": self.name_edit.text().strip()}, {}

    def load(self, profile: ConnectionProfile) -> None:
        self.name_edit.setText(profile.name)


def _security_text(profile: ConnectionProfile, remember: bool) -> str:
    parts = [_MECHANISM_TEXT.get(int(profile.mechanism), str(profile.mechanism))]
    held = [f.replace("_", " ") for f in SECRET_FIELDS if getattr(profile, f) is not None]
    if held:
        parts.append(", ".join(held) + " set")
    if profile.ciphering != "none":
        parts.append(f"{profile.ciphering} ciphering")
    if held:
        parts.append("secrets remembered on this computer" if remember
                     else "secrets kept in memory only")
    return " · ".join(parts)


class ConnectionWizard(QWizard):
    """Create or edit a connection profile; saved to ``profiles`` on Finish.

    ``worker_factory()`` returns a fresh, not yet started ProtocolWorker for "Test connection"
    (default: ``ui.worker.ProtocolWorker()``). ``profile_saved(profile)`` after a save."""

    profile_saved = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, profiles: ProfileStore,
                 initial: ConnectionProfile | None = None,
                 worker_factory: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConnectionWizard")
        self.setWindowTitle("Edit connection" if initial is not None else "New connection")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setStyleSheet(INVALID_STYLE)
        self.setMinimumSize(760, 640)
        self.profiles = profiles
        self._base = initial if initial is not None else ConnectionProfile(name="")
        self._draft: ConnectionProfile | None = None
        self._accepted: ConnectionProfile | None = None
        self.errors: dict[str, str] = {}
        self._loading = True

        self.medium_page = MediumPage(self.refresh)
        self.addressing_page = AddressingPage(self.refresh)
        self.security_page = SecurityPage(self.refresh)
        self.summary_page = SummaryPage(self.refresh)
        self.field_pages: tuple[FieldPage, ...] = (self.medium_page, self.addressing_page,
                                                   self.security_page, self.summary_page)
        for page_id, page in enumerate(self.field_pages):
            self.setPage(page_id, page)
        self.addressing_page.preset_hook = self._apply_preset
        self.tester = ConnectionTester(worker_factory, self)
        self.tester.result.connect(self.summary_page.show_result)
        self.tester.running_changed.connect(self._test_running)
        self.summary_page.test_button.clicked.connect(self.test_connection)
        self.summary_page.cancel_test_button.clicked.connect(self.tester.cancel)
        self.medium_page.profile_combo.activated.connect(self._saved_profile_chosen)
        self.medium_page.delete_button.clicked.connect(self._delete_saved_profile)
        self.medium_page.detect_button.clicked.connect(self.detect)
        self.finder: FinderDialog | None = None
        #: Extra FinderDialog arguments (``budget_s``, ``serial_factory``, ``search``).
        self.finder_options: dict[str, Any] = {}

        self._fill_saved_profiles(self._base.name if initial is not None else None)
        self.load_profile(self._base, remember=(initial is not None
                                                and self.profiles.remembers_secrets(
                                                    self._base.name)))

    # -- profile <-> widgets -------------------------------------------------------------------

    def load_profile(self, profile: ConnectionProfile, *, remember: bool = False) -> None:
        """Show ``profile`` in every page."""
        self._loading = True
        try:
            self._base = profile
            for page in self.field_pages:
                page.load(profile)
            self.security_page.remember_check.setChecked(remember)
        finally:
            self._loading = False
        self.refresh()

    def draft(self) -> ConnectionProfile | None:
        """The profile as the fields say now (None when a field cannot even be parsed)."""
        return self._draft

    def profile(self) -> ConnectionProfile:
        """The saved profile after Finish (before it: the current draft or the initial one)."""
        return self._accepted or self._draft or self._base

    @property
    def remember_secrets(self) -> bool:
        return self.security_page.remember_check.isChecked()

    def refresh(self) -> None:
        """Rebuild the draft from the fields, flag errors in place, update previews."""
        if self._loading:
            return
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for page in self.field_pages:
            page_values, page_errors = page.values()
            values.update(page_values)
            errors.update(page_errors)
        self.addressing_page.update_framing(values["framing"])
        values["association"] = self._sync_preset(values)
        base = self._base
        if base.demo and any(values[k] != getattr(base, k) for k in ("medium", "host", "port")):
            values["demo"] = False
        profile: ConnectionProfile | None
        try:
            profile = dataclasses.replace(base, **{k: v for k, v in values.items()
                                                   if k not in errors})
        except Exception as exc:  # noqa: BLE001 (a constructor check: show it, don't crash)
            profile, errors["profile"] = None, str(exc)
        if profile is not None:
            for name, text in profile.validate().items():
                errors.setdefault(name, text)
        self._draft, self.errors = profile, errors
        for page in self.field_pages:
            page.show_errors(errors)
        self._update_previews(profile, errors)

    def _sync_preset(self, values: dict[str, Any]) -> str:
        """A preset whose client SAP or mechanism was changed by hand becomes "custom"."""
        assoc = association_by_name(values["association"])
        if assoc is not None and (values["client_sap"] != assoc.client_sap
                                  or values["mechanism"] != int(assoc.mechanism)):
            self.addressing_page.set_preset("custom")
            return "custom"
        return values["association"]

    def _apply_preset(self, name: str) -> None:
        """An IS 15959 preset sets the mechanism and fills an empty password/HLS secret field
        with the standard's default secret."""
        values = preset_values(name)
        if not values:
            return
        security = self.security_page
        security.set_mechanism(values["mechanism"])
        for field in ("password", "hls_key"):
            edit = getattr(security, field).edit
            if field in values and not edit.text():
                edit.setText(secret_text(values[field], as_hex=False))

    def _update_previews(self, profile: ConnectionProfile | None,
                         errors: dict[str, str]) -> None:
        summary = self.summary_page
        address_errors = [errors[k] for k in AddressingPage.FIELDS if k in errors]
        if profile is not None and not address_errors:
            if profile.session_framing is Framing.WRAPPER:
                # IEC 62056-47: the wrapper header carries the SAPs as wPorts instead.
                preview = (f"wrapper wPorts: client {profile.client_sap} → server "
                           f"{profile.server_logical} (no HDLC address bytes)")
            else:
                preview = profile.hdlc_address_preview()
            ok = True
        else:
            preview, ok = (address_errors[0] if address_errors else "—"), False
        self.addressing_page.show_preview(preview, ok)
        summary.address_label.setText(preview if ok else "—")
        if profile is None:
            summary.description_label.setText("—")
            summary.security_label.setText("—")
        else:
            summary.description_label.setText(profile.describe())
            summary.security_label.setText(_security_text(profile, self.remember_secrets))
        if not self.tester.running:
            summary.show_result("", "Not tested yet.")
        summary.test_button.setEnabled(self._testable() and not self.tester.running)
        self.medium_page.detect_button.setEnabled(
            profile is not None and not set(errors) & set(_DETECT_FIELDS))

    # -- saved profiles --------------------------------------------------------------------------

    def _fill_saved_profiles(self, select: str | None = None) -> None:
        combo = self.medium_page.profile_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("New profile", "")  # "" not None: PySide6 6.12 miscounts None refs
        for name in self.profiles.names():
            combo.addItem(name, name)
        index = combo.findData(select) if select else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        self.medium_page.delete_button.setEnabled(bool(combo.currentData()))

    def _saved_profile_chosen(self, index: int) -> None:
        name = self.medium_page.profile_combo.itemData(index)
        self.medium_page.delete_button.setEnabled(bool(name))
        if not name:
            self.load_profile(ConnectionProfile(name=""))
            return
        try:
            profile = self.profiles.load(name)
        except Exception as exc:  # noqa: BLE001 (a damaged entry: say so, keep the fields)
            self.medium_page.error_label("medium").setText(f"cannot load {name!r}: {exc}")
            self.medium_page.error_label("medium").show()
            return
        self.load_profile(profile, remember=self.profiles.remembers_secrets(name))

    def confirm_delete(self, name: str) -> bool:
        """Ask before deleting a saved profile (tests replace this)."""
        answer = QMessageBox.question(self, "Delete profile",
                                      f"Delete the saved profile “{name}”?")
        return answer == QMessageBox.StandardButton.Yes

    def _delete_saved_profile(self) -> None:
        name = self.medium_page.profile_combo.currentData()
        if name and self.confirm_delete(name):
            self.profiles.delete(name)
            self._fill_saved_profiles()

    # -- test connection ------------------------------------------------------------------------

    def _testable(self) -> bool:
        """A connection can be tried: every field but the profile name is valid."""
        return self._draft is not None and not set(self.errors) - {"name"}

    def test_connection(self) -> None:
        """Connect and release on a background worker; the result shows on the summary page."""
        profile = self._draft
        if profile is not None and self._testable():
            # to_settings() checks the whole profile, the name included: a test needs none.
            self.tester.start(profile if profile.name.strip()
                              else profile.replace(name="connection test"))

    def _test_running(self, running: bool) -> None:
        self.summary_page.test_button.setEnabled(not running and self._testable())
        self.summary_page.cancel_test_button.setEnabled(running)

    # -- detect -----------------------------------------------------------------------------------

    def detect(self) -> FinderDialog | None:
        """Open the finder for the chosen serial port or TCP host:port and start searching."""
        profile = self._draft
        if profile is None or set(self.errors) & set(_DETECT_FIELDS):
            return None
        if self.finder is not None:
            self.finder.close()
        dialog = FinderDialog(self, profile=profile, **self.finder_options)
        dialog.settings_chosen.connect(self.use_found)
        dialog.open()
        dialog.start()
        self.finder = dialog
        return dialog

    def use_found(self, found: ConnectionProfile) -> None:
        """Fill the medium and address fields from a profile the finder found (association,
        client SAP, security and name stay as they are)."""
        base = self._draft or self._base
        self.load_profile(adopt_found(base, found), remember=self.remember_secrets)

    # -- finishing -------------------------------------------------------------------------------

    def accept(self) -> None:
        """Save the profile (secrets only when asked) and close; a failed save shows in place."""
        self.refresh()
        profile = self._draft
        if profile is None or self.errors:
            return
        try:
            self.profiles.save(profile, remember_secrets=self.remember_secrets)
        except Exception as exc:  # noqa: BLE001 (disk full, unwritable secrets file …)
            self.summary_page.show_result("error", f"Could not save the profile: {exc}")
            return
        self._accepted = profile
        self.profile_saved.emit(profile)
        super().accept()

    def done(self, result: int) -> None:
        self.tester.shutdown()
        if self.finder is not None:
            self.finder.shutdown()
        super().done(result)

