"""The main window's documents: meter readings and profile views in closable tabs.

:class:`ReadingController` opens the "Read meter (IS 15959)" dialog, shows each reading it
brings (and each saved reading the user opens, without a meter) in a
:class:`~ui.reading_view.ReadingView` tab, opens the report dialog for the reading shown, and
opens a class 7 object of the object browser in a :class:`~ui.profile_view.ProfileView` tab.
The first tab of the window's document area is always the attribute panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11

if TYPE_CHECKING:
    from ui.main_window import MainWindow

__all__ = ["PROFILE_CLASS", "ReadingController"]

PROFILE_CLASS = 7
_CATEGORY_KEY = "reading/category"
_DAYS_KEY = "reading/days"
_FOLDER_KEY = "reading/folder"
_REPORT_FOLDER_KEY = "reading/report_folder"


class ReadingController(QObject):
    """Readings, reports and profile views for ``window`` (see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.read_dialog: Any = None
        self.report_dialog: Any = None
        self.open_dialog: QFileDialog | None = None
        self.message_box: QMessageBox | None = None

    # -- settings ---------------------------------------------------------------------------------

    def readings_dir(self) -> Path:
        """Where readings are saved (QSettings ``reading/folder``, else Documents)."""
        from ui.read_meter_dialog import default_readings_dir
        saved = self.window.settings.value(_FOLDER_KEY)
        return Path(str(saved)) if saved else default_readings_dir()

    def default_category(self) -> str:
        """The last category read, else the demo meter's, else C."""
        saved = self.window.settings.value(_CATEGORY_KEY)
        if saved in ("A", "B", "C"):
            return str(saved)
        demo = self.window.controller.demo
        if demo is not None and self.window.worker.profile is not None \
                and self.window.worker.profile.demo:
            return str(demo.options.get("category", "C")).upper()
        return "C"

    # -- reading a meter --------------------------------------------------------------------------

    def read_meter_dialog(self) -> Any:
        """Open the Read-meter dialog (non-blocking); the reading opens in a tab when done."""
        from ui.read_meter_dialog import ReadMeterDialog
        w = self.window
        profile = w.worker.profile
        info = w.worker.connected_info
        try:
            days = int(w.settings.value(_DAYS_KEY, 7))
        except (TypeError, ValueError):
            days = 7
        dialog = ReadMeterDialog(w, w.worker, category=self.default_category(), days=days,
                                 folder=self.readings_dir(),
                                 connection=profile.describe() if profile is not None else "",
                                 association=(info.association.split(" ")[0]
                                              if info is not None else ""))
        dialog.reading_ready.connect(lambda reading, path: self._read_done(dialog, reading,
                                                                           path))
        dialog.finished.connect(lambda _r: w.update_actions())
        dialog.running_changed.connect(lambda _r: w.update_actions())
        dialog.open()
        self.read_dialog = dialog
        w.update_actions()
        return dialog

    def _read_done(self, dialog: Any, reading: Any, path: str) -> None:
        w = self.window
        w.settings.setValue(_CATEGORY_KEY, dialog.chosen_category())
        w.settings.setValue(_DAYS_KEY, dialog.days.value())
        w.settings.setValue(_FOLDER_KEY, dialog.folder.text())
        self.show_reading(reading, path or None)
        state = "Reading saved" if reading.complete else "PARTIAL reading saved"
        text = f"{state} to {path}" if path else (dialog.error or "Reading not saved")
        w.status.showMessage(text, 20_000)

    def reading_running(self) -> bool:
        """True while a Read-meter job runs."""
        return self.read_dialog is not None and self.read_dialog.running

    # -- showing readings -------------------------------------------------------------------------

    def show_reading(self, reading: Any, path: str | Path | None = None) -> Any:
        """Open ``reading`` in a new tab and bring it to the front."""
        from ui.reading_view import ReadingView
        view = ReadingView(reading, path=path)
        view.export_requested.connect(lambda: self.report_dialog_open(view))
        tip = str(path) if path else view.title()
        self.window.add_document(view, view.title(), tip)
        return view

    def open_reading(self, path: str | Path) -> Any:
        """Load a saved reading and show it; a load error is shown in a message box."""
        from meterreader.reading.json_io import load_reading
        try:
            reading = load_reading(path)
        except (OSError, ValueError) as exc:
            self._error("Cannot open the reading", str(exc))
            return None
        view = self.show_reading(reading, path)
        self.window.status.showMessage(f"Opened {path}", 8000)
        return view

    def open_reading_dialog(self) -> QFileDialog:
        """Ask which saved reading to open (non-blocking)."""
        dialog = QFileDialog(self.window, "Open reading")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["Meter readings (*.json)", "All files (*)"])
        folder = self.readings_dir()
        if folder.is_dir():
            dialog.setDirectory(str(folder))
        dialog.fileSelected.connect(self.open_reading)
        dialog.open()
        self.open_dialog = dialog
        return dialog

    def _error(self, title: str, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self.window)
        box.open()
        self.message_box = box
        return box

    # -- reports ----------------------------------------------------------------------------------

    def report_dialog_open(self, view: Any = None) -> Any:
        """The report dialog for ``view``'s reading (default: the reading tab shown)."""
        from ui.report_dialog import ReportDialog
        view = view if view is not None else self.window.current_reading_view()
        if view is None:
            return None
        saved = self.window.settings.value(_REPORT_FOLDER_KEY)
        folder = Path(str(saved)) if saved else (
            view.path.parent if view.path is not None else self.readings_dir())
        dialog = ReportDialog(view.reading, self.window, folder=folder)
        dialog.finished.connect(
            lambda _r: self.window.settings.setValue(_REPORT_FOLDER_KEY, dialog.folder.text()))
        dialog.open()
        self.report_dialog = dialog
        return dialog

    # -- conformance bench ------------------------------------------------------------------------

    def open_conformance(self) -> QWidget:
        """Open the conformance test bench tab (an open one is brought to the front)."""
        w = self.window
        existing = w.find_document(lambda d: type(d).__name__ == "ConformanceTab")
        if existing is not None:
            w.documents.setCurrentWidget(existing)
            return existing
        from ui.conformance_tab import ConformanceTab
        tab = ConformanceTab(w, worker=w.worker, category=self.default_category(),
                             reconnect=w.controller.connect_profile)
        tab.status_message.connect(lambda text: w.status.showMessage(text, 10_000))
        tab.trace_batch.connect(w.trace.add_many)
        w.add_document(tab, "Conformance", "Conformance test bench (IS 15959 / DLMS checks)")
        return tab

    # -- profiles ---------------------------------------------------------------------------------

    def can_open_profile(self, info: Any = None) -> bool:
        info = info if info is not None else self.window.panel.info
        return info is not None and info.class_id == PROFILE_CLASS

    def open_profile(self, info: Any = None) -> QWidget | None:
        """Open the selected class 7 object (or ``info``) in a profile view tab (an open tab
        for the same object is brought to the front instead)."""
        w = self.window
        info = info if info is not None else w.panel.info
        if not self.can_open_profile(info):
            w.status.showMessage("Select a profile generic (class 7) object first", 5000)
            return None
        obis = str(info.logical_name)
        existing = w.find_document(lambda d: getattr(d, "obis", None) == obis
                                   and type(d).__name__ == "ProfileView")
        if existing is not None:
            w.documents.setCurrentWidget(existing)
            return existing
        from ui.profile_view import ProfileView
        title = info.name or f"Profile {obis}"
        view = ProfileView(w.worker, obis, title=title)
        w.add_document(view, f"{obis}", f"{title} ({obis})")
        return view

