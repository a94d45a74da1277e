"""The main window of the desktop instrument (issue 7).

Layout: toolbar (Connect, Disconnect, Read, Read all, Write, Action, Stop, Export), the object
browser docked left, the document tabs in the centre under the lost-link banner (the attribute
panel first, then meter readings and profile views, see :mod:`ui.main_readings`), the trace pane
docked at the bottom and the PDU translator as a tool window (hidden at first); View toggles
every dock, and the window geometry and dock layout come back at the next start (QSettings).
A second toolbar holds Read meter (IS 15959), Open reading, Open profile and Conformance (the
test bench tab, :mod:`ui.conformance_tab`).

All I/O goes through one :class:`~ui.worker.ProtocolWorker`. After a connect the window reads the
meter serial number and logical device name, then takes the object list from
:class:`~ui.object_cache.ObjectListCache` (per serial and association) or reads it once; Refresh
(F5) reads it again. The connection flow (wizard, first-run demo offer) is in
:mod:`ui.main_connect`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths, Qt
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QTabBar, QTabWidget, QToolBar, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader import __version__
from meterreader.atomic import atomic_path, atomic_write_text
from ui.attribute_panel import AttributePanel
from ui.main_connect import WINDOW_TITLE, ConnectionController
from ui.main_readings import ReadingController
from ui.object_browser import ObjectBrowser
from ui.object_cache import ObjectListCache
from ui.status_bar import LinkBanner, StatusBar
from ui.trace_pane import TracePane
from ui.translator_pane import TranslatorPane

__all__ = ["DEFAULT_SIZE", "MainWindow", "STATE_VERSION", "WINDOW_TITLE", "export_rows"]

DEFAULT_SIZE = (1400, 900)
STATE_VERSION = 1  #: bump when the docks change, so an old saved layout is ignored
_GEOMETRY_KEY = "main_window/geometry"
_STATE_KEY = "main_window/state"


def _icon(name: str) -> QIcon:
    from ui.icons import icon
    return icon(name)


def export_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write attribute rows as CSV (``.csv``) or JSON (anything else), atomically (a failure
    leaves the old file or none, never half a file); returns the path."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        columns = ["obis", "class_id", "attribute", "name", "access", "value", "type", "error"]
        with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        document = {"format": "meterreader-attributes/1", "meterreader": __version__,
                    "attributes": rows}
        atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False))
    return path


class MainWindow(QMainWindow):
    """The instrument's main window (see the module docstring).

    ``settings`` holds the window state and the connection profiles (default: the application's
    QSettings); ``worker`` defaults to a new ProtocolWorker (started on first use);
    ``cache_dir`` is where object lists are cached (default: the user cache dir, ``None`` keeps
    them in memory only)."""

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None,
                 worker: Any = None, cache_dir: Path | str | None | bool = True,
                 profiles: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(*DEFAULT_SIZE)
        self.settings = settings if settings is not None else QSettings()
        if cache_dir is True:
            base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
            cache_dir = Path(base) / "objects" if base else None
        self.cache = ObjectListCache(cache_dir or None)
        self.about_box: QMessageBox | None = None
        self.export_dialog: QFileDialog | None = None

        self.browser = ObjectBrowser(self)
        self.panel = AttributePanel(self)
        self.banner = LinkBanner(self)
        self.translator = TranslatorPane(self)
        self.trace = TracePane(self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._version_label = QLabel(f"meterreader {__version__}", self)
        self._version_label.setEnabled(False)
        self.status.addPermanentWidget(self._version_label)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        self.documents = QTabWidget(central)
        self.documents.setObjectName("documentTabs")
        self.documents.setDocumentMode(True)
        self.documents.setTabsClosable(True)
        self.documents.setMovable(True)
        self.documents.setTabBarAutoHide(True)  # only the attribute panel: no tab bar
        self.documents.setMinimumWidth(60)  # the docks keep the room they had before the tabs
        self.documents.addTab(self.panel, "Object")
        self.documents.tabBar().setTabButton(0, QTabBar.ButtonPosition.RightSide, None)
        self.documents.tabCloseRequested.connect(self.close_document)
        self.documents.currentChanged.connect(lambda _i: self.update_actions())
        layout.addWidget(self.documents, 1)
        self.setCentralWidget(central)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.browser_dock = self._dock("objectBrowserDock", "Object browser", self.browser,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.trace_dock = self._dock("traceDock", "Trace", self.trace,
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        # The translator is a tool window: a tab beside the trace, so it never squeezes the
        # attribute table (it can be floated or moved like any dock).
        self.translator_dock = self._dock("translatorDock", "PDU translator", self.translator,
                                          Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.trace_dock, self.translator_dock)
        self.translator_dock.hide()
        self.translator_dock.toggleViewAction().toggled.connect(
            lambda shown: shown and self.translator_dock.raise_())
        self.resizeDocks([self.browser_dock], [430], Qt.Orientation.Horizontal)
        self.resizeDocks([self.trace_dock], [330], Qt.Orientation.Vertical)

        self.controller = ConnectionController(self, worker=worker, profiles=profiles)
        self.worker = self.controller.worker
        self.readings = ReadingController(self)
        self.panel.set_worker(self.worker)
        self._build_actions()
        self._build_menus_and_toolbar()
        self._wire()
        self.restore_window_state()
        self.update_actions()

    # -- construction -----------------------------------------------------------------------------

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
              ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, icon: str | None, shortcut: Any, slot: Any, tip: str
                ) -> QAction:
        action = QAction(_icon(icon) if icon else QIcon(), text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        c = self.controller
        self.connect_action = self._action("&Connect…", "connect", "Ctrl+K",
                                           lambda: c.connect_dialog(),
                                           "Connect to a meter (opens the connection wizard)")
        self.demo_action = self._action("&Demo meter", "demo", None, lambda: c.start_demo(),
                                        "Start the built-in simulator and connect to it")
        self.disconnect_action = self._action("&Disconnect", "disconnect", "Ctrl+Shift+D",
                                              lambda: c.disconnect(), "Release the association")
        self.reconnect_action = self._action("Re&connect", "connect", "Ctrl+Shift+K",
                                             lambda: c.reconnect(),
                                             "Connect again with the last profile")
        self.read_action = self._action("&Read", "read", "Ctrl+R",
                                        lambda: self.panel.read_selected(),
                                        "Read the selected attribute")
        self.read_all_action = self._action("Read &all", "read-all", "Ctrl+Shift+R",
                                            lambda: self.panel.read_all(),
                                            "Read every readable attribute of the object")
        self.write_action = self._action("&Write…", "write", "Ctrl+E",
                                         lambda: self.panel.begin_write(),
                                         "Write the selected attribute")
        self.action_action = self._action("&Action…", "action", "Ctrl+I",
                                          lambda: self.panel.begin_action(),
                                          "Invoke the selected method")
        self.stop_action = self._action("&Stop", "stop", "Esc", self.stop,
                                        "Stop the running operation")
        self.export_action = self._action("&Export…", "export", "Ctrl+Shift+E",
                                          self.export_dialog_open,
                                          "Export the object's attribute values (JSON or CSV)")
        r = self.readings
        self.read_meter_action = self._action("Read &meter (IS 15959)…", "read-all", "Ctrl+M",
                                              lambda: r.read_meter_dialog(),
                                              "Read the whole meter: name plate, instantaneous, "
                                              "billing, load surveys and events")
        self.open_reading_action = self._action("&Open reading…", "open",
                                                QKeySequence.StandardKey.Open,
                                                lambda: r.open_reading_dialog(),
                                                "Open a saved meter reading (no meter needed)")
        self.open_profile_action = self._action("Open &profile view", "read", "Ctrl+Shift+P",
                                                lambda: r.open_profile(),
                                                "Read the selected profile generic (class 7) "
                                                "in a table and chart")
        self.conformance_action = self._action("&Conformance…", "object", "Ctrl+Shift+B",
                                               lambda: r.open_conformance(),
                                               "Run the IS 15959 / DLMS conformance checks "
                                               "against the meter (test bench)")
        self.refresh_action = self._action("Re&fresh object list", "refresh", "F5",
                                           lambda: c.load_objects(refresh=True),
                                           "Read the object list from the meter again")
        self.browser.refresh_button.setDefaultAction(self.refresh_action)
        self.find_action = self._action("&Find object", None, "Ctrl+F", self.focus_filter,
                                        "Filter the object browser")
        self.quit_action = self._action("&Quit", None, QKeySequence.StandardKey.Quit, self.close,
                                        "Quit meterreader")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.about_action = QAction("&About meterreader", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.connect_action, self.demo_action, self.reconnect_action,
                       self.disconnect_action, None, self.open_reading_action, self.export_action,
                       None, self.quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        meter = bar.addMenu("&Meter")
        for action in (self.read_action, self.read_all_action, self.write_action,
                       self.action_action, self.stop_action, None, self.read_meter_action,
                       self.open_profile_action, self.conformance_action, None,
                       self.refresh_action, self.find_action):
            meter.addSeparator() if action is None else meter.addAction(action)
        self.toolbar = QToolBar("Main toolbar", self)
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.setMovable(False)
        for action in (self.connect_action, self.disconnect_action, None, self.read_action,
                       self.read_all_action, self.write_action, self.action_action,
                       self.stop_action, None, self.export_action):
            self.toolbar.addSeparator() if action is None else self.toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.reading_toolbar = QToolBar("Readings toolbar", self)
        self.reading_toolbar.setObjectName("readingsToolbar")
        self.reading_toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reading_toolbar.setMovable(False)
        for action in (self.read_meter_action, self.open_profile_action,
                       self.open_reading_action, self.conformance_action):
            self.reading_toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.reading_toolbar)
        view = bar.addMenu("&View")
        self.view_actions = {}
        for dock, keys in ((self.browser_dock, "Ctrl+1"), (self.trace_dock, "Ctrl+2"),
                           (self.translator_dock, "Ctrl+T")):
            toggle = dock.toggleViewAction()
            toggle.setShortcut(QKeySequence(keys))
            view.addAction(toggle)
            self.view_actions[dock.objectName()] = toggle
        view.addSeparator()
        view.addAction(self.toolbar.toggleViewAction())
        view.addAction(self.reading_toolbar.toggleViewAction())
        translator = bar.addMenu("&Translator")
        translator.addAction(self.translator.decode_action)
        copy_json = translator.addAction("Copy result as &JSON")
        copy_json.triggered.connect(self.translator.copy_json)
        clear = translator.addAction("C&lear")
        clear.triggered.connect(self.translator.clear)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _wire(self) -> None:
        self.browser.object_selected.connect(self.panel.set_object)
        # A chosen object brings the Object tab forward; a cleared selection (reconnect, list
        # reloaded) leaves the reading/profile/conformance tab in front.
        self.browser.object_selected.connect(
            lambda o: self.documents.setCurrentWidget(self.panel) if o is not None else None)
        self.browser.view.doubleClicked.connect(self._browser_activated)
        self.browser.object_selected.connect(lambda _o: self.update_actions())
        self.panel.selection_changed.connect(self.update_actions)
        self.panel.status_message.connect(lambda text: self.status.showMessage(text, 8000))
        self.translator.status_message.connect(lambda text: self.status.showMessage(text, 10_000))
        self.trace.status_message.connect(lambda text: self.status.showMessage(text, 8000))
        self.banner.reconnect_requested.connect(self.controller.reconnect)
        w = self.worker
        w.stats.connect(self.status.set_stats)
        w.progress.connect(self.status.set_progress)
        w.busy_changed.connect(self.status.set_busy)
        w.busy_changed.connect(lambda _b: self.update_actions())
        w.trace_batch.connect(self.trace.add_many)

    # -- state ------------------------------------------------------------------------------------

    def update_actions(self) -> None:
        """Enable what makes sense now (connected, busy, something selected)."""
        connected = bool(self.worker.is_connected)
        busy = bool(self.worker.is_busy)
        has_object = self.panel.info is not None
        self.disconnect_action.setEnabled(connected)
        self.reconnect_action.setEnabled(self.worker.profile is not None)
        self.read_action.setEnabled(connected and self.panel.selected_attribute() is not None)
        self.read_all_action.setEnabled(connected and has_object)
        self.write_action.setEnabled(connected and self.panel.selected_attribute() is not None)
        self.action_action.setEnabled(connected and self.panel.selected_method() is not None)
        self.stop_action.setEnabled(busy or self.panel.editor is not None)
        reading = self.current_reading_view() is not None
        self.export_action.setEnabled(has_object or reading)
        self.export_action.setStatusTip("Export the reading's reports (CSV, XLSX, PDF, XML)"
                                        if reading else
                                        "Export the object's attribute values (JSON or CSV)")
        self.refresh_action.setEnabled(connected)
        self.read_meter_action.setEnabled(connected and not busy
                                          and not self.readings.reading_running())
        self.open_profile_action.setEnabled(connected and self.readings.can_open_profile())

    def stop(self) -> None:
        """Stop (Esc): cancel the running operation, else close an open editor."""
        if self.worker.is_busy or self.worker.pending_jobs:
            self.worker.cancel()
            self.status.showMessage("Stopping…", 5000)
        elif self.panel.editor is not None:
            self.panel.cancel_edit()
        self.update_actions()

    # -- documents (readings, profile views) ------------------------------------------------------

    def add_document(self, widget: QWidget, title: str, tip: str = "") -> int:
        """Add a closable tab to the document area and show it."""
        index = self.documents.addTab(widget, title)
        self.documents.setTabToolTip(index, tip or title)
        self.documents.setCurrentIndex(index)
        self.update_actions()
        return index

    def find_document(self, match: Any) -> QWidget | None:
        for index in range(1, self.documents.count()):
            widget = self.documents.widget(index)
            if match(widget):
                return widget
        return None

    def close_document(self, index: int) -> None:
        """Close a reading or profile tab (never the attribute panel)."""
        widget = self.documents.widget(index)
        if widget is None or widget is self.panel:
            return
        self.documents.removeTab(index)
        widget.close()
        widget.deleteLater()
        self.update_actions()

    def current_reading_view(self) -> Any:
        """The ReadingView of the current tab, or None."""
        widget = self.documents.currentWidget()
        return widget if type(widget).__name__ == "ReadingView" else None

    def _browser_activated(self, index: Any) -> None:
        info = self.browser.model.info(self.browser.proxy.mapToSource(index))
        if info is not None and self.readings.can_open_profile(info) and \
                self.worker.is_connected:
            self.readings.open_profile(info)

    def focus_filter(self) -> None:
        self.browser_dock.show()
        self.browser.filter_edit.setFocus()
        self.browser.filter_edit.selectAll()

    def restore_window_state(self) -> bool:
        """Geometry and dock layout of the last run (False when none was saved)."""
        geometry = self.settings.value(_GEOMETRY_KEY)
        state = self.settings.value(_STATE_KEY)
        restored = False
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            restored = self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            restored = self.restoreState(state, STATE_VERSION) and restored
        return restored

    def save_window_state(self) -> None:
        self.settings.setValue(_GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(_STATE_KEY, self.saveState(STATE_VERSION))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.save_window_state()
        self.controller.shutdown()
        super().closeEvent(event)

    # -- export and about -------------------------------------------------------------------------

    def export_selected(self, path: str | Path) -> Path | None:
        """Export the selected object's attributes (CSV for ``.csv``, else JSON)."""
        rows = self.panel.export_rows()
        if not rows:
            self.status.showMessage("Select an object to export", 5000)
            return None
        try:
            written = export_rows(rows, path)
        except OSError as exc:
            self.status.showMessage(f"Export failed: {exc}", 10_000)
            return None
        self.status.showMessage(f"Exported {len(rows)} attributes to {written}", 8000)
        return written

    def export_dialog_open(self) -> Any:
        """Export: the report dialog when a reading is shown, else ask where to export the
        object's attributes (non-blocking file dialog)."""
        if self.current_reading_view() is not None:
            return self.readings.report_dialog_open()
        info = self.panel.info
        if info is None:
            return None
        dialog = QFileDialog(self, "Export attribute values")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["JSON (*.json)", "CSV (*.csv)"])
        dialog.setDefaultSuffix("json")
        dialog.selectFile(f"{str(info.logical_name).replace('.', '_')}.json")
        dialog.fileSelected.connect(self.export_selected)
        dialog.open()
        self.export_dialog = dialog
        return dialog

    def show_about(self) -> QMessageBox:
        """Open the About box window-modally without blocking (tests can read and close it)."""
        from ui.app import open_about
        return open_about(self)
