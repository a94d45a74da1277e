"""The main window's connection flow: wizard or first-run demo offer, connect, lost link,
Reconnect, and loading the object list once per association (cached per meter serial).

:class:`ConnectionController` owns the :class:`~ui.worker.ProtocolWorker` (and the in-process
:class:`~ui.demo_meter.DemoMeter` when used) and updates the window's panes from the worker's
signals. Failures never open a modal dialog: they show in the lost-link banner (with Reconnect)
and in the status bar; a failed connect also shows its diagnosis (from the exception and the
frames traced during the attempt: what they mean and what to try next).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

import ui.pyside_fixes  # noqa: F401 - emit() reference defect of PySide6 6.12 on CPython 3.11
from meterreader.client.objects import parse_object_list
from meterreader.dlms.axdr import Data, DataTag

if TYPE_CHECKING:
    from meterreader.client.profile import ConnectionProfile
    from ui.main_window import MainWindow

__all__ = ["SERIAL_NUMBER", "LOGICAL_DEVICE_NAME", "ConnectionController", "FirstRunDialog",
           "association_key", "serial_text"]

SERIAL_NUMBER = "0.0.96.1.0.255"  #: Data object holding the meter serial number (IS 15959)
LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"  #: COSEM logical device name
CURRENT_ASSOCIATION = "0.0.40.0.0.255"
WINDOW_TITLE = "meterreader"


def serial_text(value: Any) -> str | None:
    """The serial number from its Data (octet- or visible-string, or a number); None if not."""
    if not isinstance(value, Data):
        return None
    if value.tag is DataTag.OCTET_STRING:
        raw = value.value
        text = raw.decode("latin-1") if all(0x20 <= b < 0x7F for b in raw) else raw.hex()
        return text.strip() or None
    if value.tag in (DataTag.VISIBLE_STRING, DataTag.UTF8_STRING):
        return str(value.value).strip() or None
    if isinstance(value.value, int) and not isinstance(value.value, bool):
        return str(value.value)
    return None


def association_key(profile: Any) -> str:
    """Cache key of an association: name, client SAP and logical device ("mr-c32-ld1")."""
    return f"{profile.association}-c{profile.client_sap}-ld{profile.server_logical}"


class FirstRunDialog(QDialog):
    """Shown by Connect while no profile is saved: the demo meter or the wizard."""

    demo_chosen = Signal()
    wizard_chosen = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FirstRunDialog")
        self.setWindowTitle("Connect to a meter")
        text = QLabel("<h3>Welcome to meterreader</h3><p>No connection is set up yet. Try the "
                      "built-in simulator of an IS 15959 meter, or describe how to reach your "
                      "meter (serial port or TCP).</p>", self)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.demo_button = QPushButton("Demo meter — the built-in simulator", self)
        self.demo_button.setObjectName("demoButton")
        self.demo_button.setDefault(True)
        self.wizard_button = QPushButton("Set up a connection…", self)
        self.wizard_button.setObjectName("wizardButton")
        self.demo_button.clicked.connect(self._demo)
        self.wizard_button.clicked.connect(self._wizard)
        for button, name in ((self.demo_button, "demo"), (self.wizard_button, "wizard")):
            try:
                from ui.icons import icon
                button.setIcon(icon(name))
            except Exception:  # noqa: BLE001 (decoration only)
                pass
            button.setMinimumHeight(36)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.demo_button)
        layout.addWidget(self.wizard_button)
        self.setMinimumWidth(420)

    def _demo(self) -> None:
        self.accept()
        self.demo_chosen.emit()

    def _wizard(self) -> None:
        self.accept()
        self.wizard_chosen.emit()


class ConnectionController(QObject):
    """Connect/disconnect/reconnect and the object list for the window (see module docstring).
    ``serial`` is the connected meter's serial number (None when unknown)."""

    objects_loaded = Signal(object)  # list[CosemObjectInfo]
    _demo_ready = Signal(object)  # ConnectionProfile, or the Exception that stopped the start

    def __init__(self, window: MainWindow, *, worker: Any = None, profiles: Any = None) -> None:
        super().__init__(window)
        self.window = window
        if worker is None:
            from ui.worker import ProtocolWorker
            worker = ProtocolWorker(self)
        self.worker = worker
        self._profiles = profiles
        self.demo: Any = None
        self.wizard: Any = None
        self.first_run: FirstRunDialog | None = None
        self._demo_starting = False
        self._demo_ready.connect(self._on_demo_ready)
        self.serial: str | None = None
        self.device_name: str = ""
        self._jobs: set[Any] = set()
        worker.connected.connect(self._on_connected)
        worker.disconnected.connect(self._on_disconnected)
        worker.link_lost.connect(self._on_link_lost)
        self._connect_trace: deque[Any] = deque(maxlen=32)  # frames of the connect attempt
        self._connecting: Any = None  # the profile being connected
        worker.trace.connect(self._connect_trace.append)

    @property
    def profiles(self) -> Any:
        if self._profiles is None:
            from ui.profile_store import ProfileStore
            self._profiles = ProfileStore(self.window.settings)
        return self._profiles

    def _track(self, job: Any, done: Any, failed: Any) -> Any:
        self._jobs.add(job)

        def finish(result: object) -> None:
            self._jobs.discard(job)
            done(result)

        def fail(error: object) -> None:
            self._jobs.discard(job)
            failed(error)

        job.finished.connect(finish)
        job.failed.connect(fail)
        return job

    # -- choosing a meter -------------------------------------------------------------------------

    def connect_dialog(self) -> QDialog:
        """Connect (Ctrl+K): the first-run offer while no profile is saved, else the wizard."""
        if not self.profiles.names():
            dialog = FirstRunDialog(self.window)
            dialog.finished.connect(lambda _r: self.window.activateWindow())
            dialog.demo_chosen.connect(self.start_demo)
            dialog.wizard_chosen.connect(lambda: self.open_wizard())
            dialog.open()
            self.first_run = dialog
            return dialog
        return self.open_wizard()

    def open_wizard(self, initial: ConnectionProfile | None = None) -> QDialog:
        """The connection wizard (non-blocking); Finish connects with its profile."""
        from ui.wizard import ConnectionWizard
        store = self.profiles
        if initial is None and store.last_used in store.names():
            try:
                initial = store.load(store.last_used)
            except Exception:  # noqa: BLE001 (a damaged saved profile: start afresh)
                initial = None
        wizard = ConnectionWizard(self.window, profiles=store, initial=initial)
        wizard.accepted.connect(lambda: self._wizard_done(wizard))
        wizard.open()
        self.wizard = wizard
        return wizard

    def _wizard_done(self, wizard: Any) -> None:
        profile = wizard.profile()
        try:
            self.profiles.last_used = profile.name
        except Exception:  # noqa: BLE001
            pass
        self.connect_profile(profile)

    def start_demo(self, **options: Any) -> Any:
        """Start the in-process demo meter (once) and connect to it.

        Building the simulator takes a good part of a second, so it starts on a background
        thread and the connection follows when it is listening; returns the connect Job when
        the meter already runs, else None (the Job comes later through the worker's signals)."""
        from ui.demo_meter import DemoMeter
        if self.demo is None:
            self.demo = DemoMeter(**options)
        if self.demo.is_running:
            return self.connect_profile(self.demo.start())
        if self._demo_starting:
            return None
        self._demo_starting = True
        self.demo.hold_gc()  # on the GUI thread, before Python runs on the starter thread
        self.window.status.showMessage("Starting the demo meter…")
        demo = self.demo

        def build() -> None:
            try:
                result: object = demo.start()
            except Exception as exc:  # noqa: BLE001 (no free port …): reported in place
                result = exc
            self._demo_ready.emit(result)

        threading.Thread(target=build, name="demo-meter-start", daemon=True).start()
        return None

    def _on_demo_ready(self, result: object) -> None:
        self._demo_starting = False
        if isinstance(result, Exception):
            self.window.status.clearMessage()
            self.window.banner.show_message(f"Could not start the demo meter: {result}")
            return
        self.connect_profile(result)  # type: ignore[arg-type]

    # -- connection -------------------------------------------------------------------------------

    def connect_profile(self, profile: ConnectionProfile) -> Any:
        """Connect with ``profile`` (the result arrives through the worker's signals)."""
        w = self.window
        w.banner.hide()
        w.status.showMessage(f"Connecting: {profile.describe()}…")
        w.browser.clear("Connecting…")
        self._connect_trace.clear()
        self._connecting = profile
        job = self.worker.connect_meter(profile)
        return self._track(job, lambda _info: None, self._connect_failed)

    def _connect_failed(self, error: object) -> None:
        from meterreader.client import Cancelled
        from ui.finder_dialog import diagnose_failure
        text = f"Could not connect: {error}"
        diagnosis = None
        if isinstance(error, BaseException) and not isinstance(error, Cancelled):
            diagnosis = diagnose_failure(error, self._connect_trace, self._connecting)
        self.window.banner.show_message(text, diagnosis)
        self.window.status.show_failure(text, diagnosis)
        self.window.browser.clear("Not connected")
        self.window.update_actions()

    def disconnect(self) -> Any:
        return self.worker.disconnect_meter() if self.worker.is_connected else None

    def reconnect(self) -> Any:
        """Connect again with the last profile (the banner's Reconnect)."""
        profile = self.worker.profile
        if profile is None:
            return self.connect_dialog()
        if profile.demo and self.demo is not None and not self.demo.is_running:
            return self.start_demo()
        return self.connect_profile(profile)

    def _on_connected(self, info: Any) -> None:
        w = self.window
        w.setWindowTitle(f"{WINDOW_TITLE} — {info.profile_description}")
        w.banner.hide()
        w.status.set_connected(info)
        w.panel.clear_values()
        w.panel.set_connected(True)
        w.update_actions()
        self.load_objects()

    def _on_disconnected(self, reason: str) -> None:
        w = self.window
        w.setWindowTitle(WINDOW_TITLE)
        w.status.set_disconnected(reason or "Disconnected")
        w.panel.set_connected(False)
        count = w.browser.model.object_count()
        w.browser.count_label.setText(f"{count} objects · disconnected" if count
                                      else "Not connected")
        w.update_actions()

    def _on_link_lost(self, message: str) -> None:
        self.window.banner.show_message(message)
        self.window.status.showMessage(message, 15_000)

    # -- object list ------------------------------------------------------------------------------

    def load_objects(self, refresh: bool = False) -> None:
        """Serial number and LD name, then the object list: from the cache unless ``refresh``."""
        profile = self.worker.profile
        if not self.worker.is_connected or profile is None:
            return
        self.window.browser.count_label.setText("Reading the meter's identity…")
        job = self.worker.get_many([(1, SERIAL_NUMBER, 2), (1, LOGICAL_DEVICE_NAME, 2)])
        self._track(job, lambda values: self._identified(values, profile, refresh),
                    lambda _error: self._identified([], profile, refresh))

    def _identified(self, values: Any, profile: Any, refresh: bool) -> None:
        values = list(values) if isinstance(values, (list, tuple)) else []
        self.serial = serial_text(values[0]) if values else None
        name = values[1] if len(values) > 1 else None
        self.device_name = ""
        if isinstance(name, Data) and isinstance(name.value, bytes):
            self.device_name = name.value.decode("latin-1", "replace").strip()
        key = association_key(profile)
        cached = None if refresh or self.serial is None else self.cache.get(self.serial, key)
        if cached is not None:
            self._show_objects(cached, profile, "from the cache (F5 reads it again)")
            return
        self.window.browser.count_label.setText("Reading the object list…")
        if refresh:  # bypass the session's own copy
            job = self.worker.submit(
                lambda s: parse_object_list(s.get(15, CURRENT_ASSOCIATION, 2)),
                description="object list")
        else:
            job = self.worker.object_list()
        self._track(job, lambda objects: self._read(objects, profile, key),
                    self._objects_failed)

    @property
    def cache(self) -> Any:
        return self.window.cache

    def _read(self, objects: Any, profile: Any, key: str) -> None:
        if self.serial is not None:
            self.cache.put(self.serial, key, objects)
        self._show_objects(objects, profile, "read from the meter")

    def _objects_failed(self, error: object) -> None:
        self.window.browser.count_label.setText(f"Object list not read: {error}")
        self.window.status.showMessage(f"Object list not read: {error}", 10_000)

    def _show_objects(self, objects: Any, profile: Any, note: str) -> None:
        label = f"Logical device {profile.server_logical}"
        if self.device_name:
            label += f" · {self.device_name}"
        if self.serial:
            note = f"serial {self.serial} · {note}"
        browser = self.window.browser
        browser.set_devices([(label, list(objects))], note)
        self.window.panel.set_object(None)
        self.objects_loaded.emit(list(objects))
        self.window.update_actions()

    # -- shutdown ---------------------------------------------------------------------------------

    def shutdown(self, timeout: float = 2.0) -> None:
        """Release the association, end the worker thread, stop the demo meter."""
        for dialog in (self.wizard, self.first_run):
            if dialog is not None:
                dialog.close()
        try:
            self.worker.stop(timeout=timeout)
        finally:
            if self.demo is not None:
                self.demo.stop()
