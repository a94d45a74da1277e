"""The main window of the desktop instrument (issue 7).

Layout: toolbar (Connect, Disconnect, Read, Read all, Write, Action, Stop, Export), the object
browser docked left, the attribute panel in the centre under the lost-link banner, the trace pane
docked at the bottom and the PDU translator as a tool window (hidden at first); View toggles
every dock, and the window geometry and dock layout come back at the next start (QSettings).

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
                               QToolBar, QVBoxLayout, QWidget)

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader import __version__
from ui.attribute_panel import AttributePanel
from ui.main_connect import WINDOW_TITLE, ConnectionController
from ui.object_browser import ObjectBrowser
from ui.object_cache import ObjectListCache
from ui.status_bar import LinkBanner, StatusBar
from ui.translator_pane import TranslatorPane

__all__ = ["DEFAULT_SIZE", "MainWindow", "STATE_VERSION", "WINDOW_TITLE", "export_rows"]

DEFAULT_SIZE = (1400, 900)
STATE_VERSION = 1  #: bump when the docks change, so an old saved layout is ignored
_GEOMETRY_KEY = "main_window/geometry"
_STATE_KEY = "main_window/state"


def _icon(name: str) -> QIcon:
    try:
        from ui.icons import icon
        return icon(name)
    except Exception:  # noqa: BLE001 (icons are optional decoration)
        return QIcon()


def export_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write attribute rows as CSV (``.csv``) or JSON (anything else); returns the path."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        columns = ["obis", "class_id", "attribute", "name", "access", "value", "type", "error"]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    else:
        document = {"format": "meterreader-attributes/1", "meterreader": __version__,
                    "attributes": rows}
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
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
        self.trace = self._make_trace_pane()
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
        layout.addWidget(self.panel, 1)
        self.setCentralWidget(central)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.browser_dock = self._dock("objectBrowserDock", "Object browser", self.browser,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.trace_dock = self._dock("traceDock", "Trace", self.trace,
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        self.translator_dock = self._dock("translatorDock", "PDU translator", self.translator,
                                          Qt.DockWidgetArea.RightDockWidgetArea)
        self.translator_dock.hide()
        self.resizeDocks([self.browser_dock], [430], Qt.Orientation.Horizontal)
        self.resizeDocks([self.trace_dock], [330], Qt.Orientation.Vertical)

        self.controller = ConnectionController(self, worker=worker, profiles=profiles)
        self.worker = self.controller.worker
        self.panel.set_worker(self.worker)
        self._build_actions()
        self._build_menus_and_toolbar()
        self._wire()
        self.restore_window_state()
        self.update_actions()

    # -- construction -----------------------------------------------------------------------------

    def _make_trace_pane(self) -> QWidget:
        try:
            from ui.trace_pane import TracePane
        except ImportError:  # the trace pane is optional while it is being written
            placeholder = QLabel("Trace pane unavailable", self)
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            return placeholder
        return TracePane(self)

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
                       self.disconnect_action, None, self.export_action, None, self.quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        meter = bar.addMenu("&Meter")
        for action in (self.read_action, self.read_all_action, self.write_action,
                       self.action_action, self.stop_action, None, self.refresh_action,
                       self.find_action):
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
        self.browser.object_selected.connect(lambda _o: self.update_actions())
        self.panel.selection_changed.connect(self.update_actions)
        self.panel.status_message.connect(lambda text: self.status.showMessage(text, 8000))
        self.translator.status_message.connect(lambda text: self.status.showMessage(text, 10_000))
        message = getattr(self.trace, "status_message", None)
        if message is not None:
            message.connect(lambda text: self.status.showMessage(text, 8000))
        self.banner.reconnect_requested.connect(self.controller.reconnect)
        w = self.worker
        w.stats.connect(self.status.set_stats)
        w.progress.connect(self.status.set_progress)
        w.busy_changed.connect(self.status.set_busy)
        w.busy_changed.connect(lambda _b: self.update_actions())
        add = getattr(self.trace, "add_many", None)
        if add is not None:
            w.trace_batch.connect(add)
        elif hasattr(self.trace, "add"):
            w.trace.connect(self.trace.add)

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
        self.export_action.setEnabled(has_object)
        self.refresh_action.setEnabled(connected)

    def stop(self) -> None:
        """Stop (Esc): cancel the running operation, else close an open editor."""
        if self.worker.is_busy or self.worker.pending_jobs:
            self.worker.cancel()
            self.status.showMessage("Stopping…", 5000)
        elif self.panel.editor is not None:
            self.panel.cancel_edit()
        self.update_actions()

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

    def export_dialog_open(self) -> QFileDialog | None:
        """Ask where to export (non-blocking file dialog)."""
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
        from ui.app import about_text, app_icon
        if self.about_box is None:
            box = QMessageBox(self)
            box.setWindowTitle("About meterreader")
            box.setIconPixmap(app_icon().pixmap(64, 64))
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(about_text())
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
            self.about_box = box
        self.about_box.open()
        return self.about_box
