"""The main window end to end against the real simulator (pytest-qt, offscreen).

Connect through the first-run offer (demo meter) and through the wizard (TCP wrapper and HDLC over
TCP), browse and read the clock, write under US and read back, invoke the MD reset script, the
object-list cache and Refresh, export, Stop a long profile read on a 9600-baud link while a QTimer
heartbeat checks that the GUI thread never stalls, and a meter killed in the middle of a read.
Every wait is qtbot.waitUntil/waitSignal with a generous timeout; nothing waits on a thread.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QWizard  # noqa: E402

from meterreader.client.profile import ConnectionProfile  # noqa: E402
from meterreader.client import SessionStats  # noqa: E402
from meterreader.dlms.axdr import D  # noqa: E402
from meterreader.dlms.cosem_time import CosemDateTime  # noqa: E402
from meterreader.simulator.facade import SimulatedMeter  # noqa: E402
from ui import app as ui_app  # noqa: E402
from ui.main_connect import FirstRunDialog, association_key, serial_text  # noqa: E402
from ui.status_bar import counters_text, elapsed_text, negotiated_text, progress_text  # noqa: E402
from ui.worker_types import Progress  # noqa: E402

START = dt.datetime(2024, 3, 10, 12, 0)
CLOCK = "0.0.1.0.0.255"
BLOCK_LOAD = "1.0.99.1.0.255"
MD_RESET = "0.0.10.0.1.255"  # meterreader/india/catalogue.py: MD_RESET_SCRIPT_TABLE, method 1
LONG = 15_000  # ms: generous limit of every wait


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(category="C", seed=5, start=START, days_of_block_load=1) as m:
        m.wrapper_port = m.serve_tcp()
        m.hdlc_port = m.serve_tcp(hdlc=True)
        yield m


def slow_meter(**options):
    """A meter behind an emulated 9600-baud line, with small PDUs so a buffer comes in blocks."""
    m = SimulatedMeter(category="C", seed=6, start=START, days_of_block_load=2, link_baud=9600,
                       max_pdu_size=256, **options)
    m.wrapper_port = m.serve_tcp()
    return m


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "meterreader.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, settings, tmp_path):
    window = ui_app.build_main_window(settings=settings, cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot, settings, tmp_path):
    win = make_window(qtbot, settings, tmp_path)
    yield win
    win.close()  # releases the association and ends the worker thread (bounded by stop())


def connect(qtbot, window, profile):
    window.controller.connect_profile(profile)
    wait_objects(qtbot, window)


def wait_objects(qtbot, window):
    qtbot.waitUntil(lambda: window.worker.is_connected, timeout=LONG)
    qtbot.waitUntil(lambda: window.browser.model.object_count() > 0, timeout=LONG)


def idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.panel._jobs and not window.worker.is_busy, timeout=LONG)


def profile_for(meter, association="mr", framing="wrapper", **kw):
    port = meter.wrapper_port if framing == "wrapper" else meter.hdlc_port
    return ConnectionProfile.for_association(association, name=f"sim {association}",
                                             port=port, framing=framing,
                                             response_timeout=3.0, **kw)


def select(window, obis):
    assert window.browser.select_obis(obis), obis
    assert str(window.panel.info.logical_name) == obis


# -- the window itself -----------------------------------------------------------------------------

def test_layout_actions_and_shortcuts(window):
    assert window.windowTitle() == "meterreader"
    assert window.centralWidget().isAncestorOf(window.panel)
    assert window.browser_dock.isVisible() and window.trace_dock.isVisible()
    assert not window.translator_dock.isVisible()  # tool window, hidden at first
    assert window.translator_dock.widget() is window.translator
    area = window.dockWidgetArea
    assert area(window.browser_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert area(window.trace_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert [a.text() for a in window.toolbar.actions() if not a.isSeparator()] == [
        "&Connect…", "&Disconnect", "&Read", "Read &all", "&Write…", "&Action…", "&Stop",
        "&Export…"]
    keys = {a.text(): a.shortcut().toString() for a in window.actions()}
    assert keys["&Connect…"] == "Ctrl+K" and keys["&Read"] == "Ctrl+R"
    assert keys["Read &all"] == "Ctrl+Shift+R" and keys["&Stop"] == "Esc"
    assert keys["Re&fresh object list"] == "F5"
    assert not any(icon.isNull() for icon in (window.connect_action.icon(),
                                              window.stop_action.icon()))
    # disconnected: nothing that needs a meter is enabled
    assert window.connect_action.isEnabled() and window.demo_action.isEnabled()
    for action in (window.disconnect_action, window.read_action, window.read_all_action,
                   window.write_action, window.action_action, window.refresh_action):
        assert not action.isEnabled(), action.text()
    view = [m for m in window.menuBar().actions() if m.text() == "&View"][0].menu()
    toggles = {a.text(): a for a in view.actions()}
    toggles["PDU translator"].trigger()
    assert window.translator_dock.isVisible()
    toggles["Trace"].trigger()
    assert not window.trace_dock.isVisible()
    assert window.status.connection_label.text() == "Not connected"


def test_window_state_is_restored(qtbot, settings, tmp_path):
    first = make_window(qtbot, settings, tmp_path)
    first.trace_dock.hide()
    first.translator_dock.show()
    first.resize(700, 500)  # inside the offscreen screen (restoreGeometry clamps to it)
    first.close()
    second = make_window(qtbot, settings, tmp_path)
    assert not second.trace_dock.isVisible() and second.translator_dock.isVisible()
    assert (second.width(), second.height()) == (700, 500)
    second.close()


# -- connecting ------------------------------------------------------------------------------------

def test_first_run_offers_the_demo_meter(qtbot, window):
    assert window.controller.profiles.names() == []
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # Ctrl+K
    dialog = window.controller.first_run
    assert isinstance(dialog, FirstRunDialog) and dialog.isVisible()
    assert dialog.demo_button.text() == "Demo meter — the built-in simulator"
    qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    wait_objects(qtbot, window)
    assert window.controller.demo.is_running
    assert window.status.connection_label.text().startswith("demo TCP 127.0.0.1:")
    assert "MR (client 32)" in window.status.connection_label.text()
    assert window.status.negotiated_label.text().startswith("PDU ")
    assert window.windowTitle().startswith("meterreader — demo TCP 127.0.0.1:")
    serial = window.controller.serial
    assert window.browser.count_label.text().endswith(f"serial {serial} · read from the meter")
    device = window.browser.model.index(0, 0).data()
    assert device.startswith("Logical device 1 · ") and device.endswith("objects")
    select(window, CLOCK)
    qtbot.waitActive(window)  # back from the first-run dialog
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # Read all
    idle(qtbot, window)
    assert window.panel.attribute_text(3) == "-330"  # time_zone
    when = CosemDateTime.from_bytes(window.panel.cell(2).value.value)
    assert when.year >= 2024 and window.panel.attribute_text(2)[:2] == "20"
    qtbot.waitUntil(lambda: window.trace.model.rowCount() > 4, timeout=LONG)
    assert "RX" in window.status.counters_label.text()
    demo = window.controller.demo
    window.close()
    assert not demo.is_running  # closing the window stops the demo meter


def drive_wizard(qtbot, window, meter, framing, association):
    """Ctrl+K with no profile saved → "Set up a connection…" → fill the pages → Finish."""
    window.connect_action.trigger()
    dialog = window.controller.first_run
    qtbot.mouseClick(dialog.wizard_button, Qt.MouseButton.LeftButton)
    wizard = window.controller.wizard
    qtbot.waitExposed(wizard)
    page = wizard.medium_page
    page.tcp_radio.setChecked(True)
    page.host_edit.setText("127.0.0.1")
    page.port_spin.setValue(meter.wrapper_port if framing == "wrapper" else meter.hdlc_port)
    (page.wrapper_radio if framing == "wrapper" else page.hdlc_radio).setChecked(True)
    wizard.next()
    addressing = wizard.addressing_page
    addressing.preset_combo.setCurrentIndex(addressing.preset_combo.findData(association))
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.summary_page
    qtbot.keyClicks(wizard.summary_page.name_edit, f"bench {framing}")
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert finish.isEnabled(), wizard.errors
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    wait_objects(qtbot, window)
    return wizard.profile()


def test_wizard_connects_over_tcp_wrapper_and_reads_the_clock(qtbot, window, meter):
    profile = drive_wizard(qtbot, window, meter, "wrapper", "mr")
    assert window.controller.profiles.names() == ["bench wrapper"]
    assert (profile.framing, profile.association) == ("wrapper", "mr")
    assert "wrapper · MR (client 32)" in window.status.connection_label.text()
    select(window, CLOCK)
    window.panel.select_attribute(2)
    window.read_action.trigger()
    idle(qtbot, window)
    assert window.panel.attribute_text(2).startswith("2024-03-")
    # the next Connect opens the wizard on the saved profile
    wizard = window.controller.connect_dialog()
    assert wizard is window.controller.wizard and wizard.isVisible()
    assert wizard.medium_page.port_spin.value() == meter.wrapper_port
    wizard.reject()


def test_wizard_connects_over_hdlc_then_writes_and_invokes_under_us(qtbot, window, meter,
                                                                    tmp_path):
    drive_wizard(qtbot, window, meter, "hdlc", "us")
    assert "HDLC · US (client 48)" in window.status.connection_label.text()
    assert "window" in window.status.negotiated_label.text()
    # write the block-load capture period (attribute 4) and see it read back
    select(window, BLOCK_LOAD)
    panel = window.panel
    panel.select_attribute(4)
    window.read_action.trigger()
    idle(qtbot, window)
    assert panel.attribute_text(4) == "900" and panel.attributes.access_text(4) == "read-write"
    window.write_action.trigger()
    panel.editor.edit.setText("-5")  # invalid for double-long-unsigned: flagged, not sent
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    assert "out of range" in panel.editor.error
    panel.editor.edit.setText("1800")
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    idle(qtbot, window)
    assert panel.attribute_text(4) == "1800  (written)"
    qtbot.waitUntil(lambda: window.trace.model.rowCount() > 0, timeout=LONG)  # batched
    # the clock time zone too (a long)
    select(window, CLOCK)
    panel.begin_write(3)
    panel.editor.edit.setText("-300")
    assert window.stop_action.isEnabled()  # Esc would close the editor
    panel.commit_edit()
    idle(qtbot, window)
    assert panel.attribute_text(3) == "-300  (written)"
    # a write the association may not do is refused in place
    panel.store.cell("a", panel.info.logical_name, 4).value = D.unsigned(0)
    panel.begin_write(4)
    panel.editor.edit.setText("1")
    panel.commit_edit()
    idle(qtbot, window)
    assert panel.attribute_text(4) == "read-write-denied"
    # MD reset: script table method 1 with long-unsigned 1
    select(window, MD_RESET)
    panel.select_method(1)
    window.action_action.trigger()
    assert panel.editor.type_combo.currentText() == "long-unsigned"
    panel.editor.editor.edit.setText("1")
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    idle(qtbot, window)
    assert panel.method_text(1) == "success"
    # export the shown object
    path = window.export_selected(tmp_path / "script.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows[0]["obis"] == MD_RESET and rows[0]["name"] == "logical_name"


def test_object_list_is_cached_per_serial_and_refreshed(qtbot, window, meter, tmp_path):
    profile = profile_for(meter, "mr")
    connect(qtbot, window, profile)
    controller = window.controller
    assert window.browser.count_label.text().endswith("read from the meter")
    serial = controller.serial
    assert serial and controller.cache.path(serial, association_key(profile)).is_file()
    count = window.browser.model.object_count()
    window.disconnect_action.trigger()
    qtbot.waitUntil(lambda: not window.worker.is_connected, timeout=LONG)
    assert window.status.connection_label.text() == "Not connected"
    assert not window.read_all_action.isEnabled()
    window.trace.flush()
    frames = window.trace.model.rowCount()
    connect(qtbot, window, profile)
    assert window.browser.count_label.text().endswith("from the cache (F5 reads it again)")
    assert window.browser.model.object_count() == count
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.browser.count_label.text().endswith("read from the meter"),
                    timeout=LONG)
    qtbot.waitUntil(lambda: window.trace.model.rowCount() > frames, timeout=LONG)
    # the filter box (Ctrl+F)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.browser.filter_edit.hasFocus()
    qtbot.keyClicks(window.browser.filter_edit, "clock")
    assert window.browser.visible_object_count() == 1
    assert window.export_selected(tmp_path / "none.json") is None  # nothing selected
    select(window, CLOCK)
    window.read_all_action.trigger()
    idle(qtbot, window)
    document = json.loads(window.export_selected(tmp_path / "clock.json").read_text())
    rows = {row["attribute"]: row for row in document["attributes"]}
    assert document["format"] == "meterreader-attributes/1" and len(rows) == 9
    assert rows[3]["name"] == "time_zone" and rows[3]["data"]["type"] == "long"
    assert rows[3]["value"] == str(rows[3]["data"]["value"])  # (another test may write it)
    assert rows[2]["access"] == "read-only" and rows[2]["value"].startswith("2024-03-")


def test_serial_and_status_texts():
    assert serial_text(D.octet_string(b"ABC123")) == "ABC123"
    assert serial_text(D.octet_string(b"\x01\x02")) == "0102"
    assert serial_text(D.double_long_unsigned(42)) == "42" and serial_text(D.null()) is None
    stats = SessionStats(frames_sent=3, frames_received=4, bytes_sent=812, bytes_received=12_345,
                         last_operation="GET 0.0.1.0.0.255:2", last_elapsed=0.1234)
    assert counters_text(stats) == "TX 812 B / 3 fr · RX 12.3 kB / 4 fr"
    assert elapsed_text(stats) == "GET 0.0.1.0.0.255:2 in 123 ms"
    assert elapsed_text(SessionStats()) == ""
    assert negotiated_text({"max_pdu_size": 1024, "window_tx": 1, "window_rx": 7,
                            "max_info_tx": 128, "max_info_rx": None}) == "PDU 1024 · window 1/7"
    assert progress_text(Progress(operation="GET 1.0.99.1.0.255:2", done=120, total=960,
                                  rows=120, bytes=14_200, eta_s=8.2)) \
        == "GET 1.0.99.1.0.255:2: 120 of 960 rows · 14.2 kB · 8 s left"
    assert progress_text(Progress(operation="GET x", done=3, total=None, rows=0,
                                  bytes=900)) == "GET x: 3 blocks · 900 B"


# -- long reads: Stop, responsiveness, a meter that dies -----------------------------------------

class Heartbeat:
    """A 10 ms QTimer on the GUI thread; ``max_gap`` is the longest time between two ticks."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.last = None
        self.max_gap = 0.0
        self.timer.timeout.connect(self.tick)

    def tick(self):
        now = time.monotonic()
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self):
        self.last = time.monotonic()
        self.timer.start()

    def stop(self):
        self.timer.stop()


def start_buffer_read(qtbot, window):
    select(window, BLOCK_LOAD)
    window.panel.select_attribute(2)
    window.read_action.trigger()
    assert window.panel.attribute_text(2) == "reading…"
    qtbot.waitUntil(lambda: window.status.progress_bar.isVisible(), timeout=LONG)


def test_stop_a_long_profile_read_while_the_gui_stays_responsive(qtbot, window):
    with slow_meter() as m:
        connect(qtbot, window, profile_for(m, "mr"))
        beat = Heartbeat()
        beat.start()
        start_buffer_read(qtbot, window)
        assert window.stop_action.isEnabled()
        qtbot.wait(2500)  # the profile downloads at 9600 baud meanwhile
        assert "blocks" in window.status.currentMessage() or \
            "rows" in window.status.currentMessage()
        started = time.monotonic()
        qtbot.keyClick(window, Qt.Key.Key_Escape)  # Stop
        qtbot.waitUntil(lambda: not window.panel._jobs, timeout=LONG)
        stopped_in = time.monotonic() - started
        beat.stop()
        assert window.panel.attribute_text(2).lower().startswith(("cancel", "stop")), \
            window.panel.attribute_text(2)
        assert stopped_in < 3.0
        assert beat.max_gap < 0.100, f"GUI thread stalled {beat.max_gap * 1000:.0f} ms"
        # the worker associates again after a Stop: the next read works
        qtbot.waitUntil(lambda: window.worker.is_connected and not window.worker.is_busy,
                        timeout=LONG)
        window.panel.read_attribute(4)
        idle(qtbot, window)
        assert window.panel.attribute_text(4) == "900"


def test_meter_killed_mid_read_shows_the_error_and_offers_reconnect(qtbot, window):
    m = slow_meter()
    try:
        connect(qtbot, window, profile_for(m, "mr"))
        start_buffer_read(qtbot, window)
        m.stop()  # the meter dies in the middle of the transfer
        qtbot.waitUntil(lambda: not window.panel._jobs, timeout=LONG)
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LONG)
        error = window.panel.attribute_text(2)
        assert error and error != "reading…" and "Traceback" not in error
        assert "Reconnect" in window.banner.message
        assert window.banner.reconnect_button.isVisible()
        qtbot.waitUntil(lambda: not window.worker.is_connected, timeout=LONG)
        assert not window.read_action.isEnabled()
        qtbot.mouseClick(window.banner.reconnect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.banner.message.startswith("Could not connect"),
                        timeout=LONG)
    finally:
        m.stop()


def test_gui_demo_flag_connects_to_the_built_in_simulator(tmp_path):
    """`meterreader-gui --demo` (what `scripts/dev.sh app` runs) connects at once; run in a child
    process because a finished QApplication.exec() leaves Qt closing down."""
    import os
    import subprocess
    import sys
    script = (
        "import os, time\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtCore import QTimer\n"
        "import ui.app as ui_app\n"
        "app = ui_app.create_application([])\n"
        "deadline = time.monotonic() + 30\n"
        "def poll():\n"
        "    windows = [w for w in app.topLevelWidgets() if isinstance(w, ui_app.MainWindow)]\n"
        "    if windows and windows[0].worker.is_connected:\n"
        "        print('connected', windows[0].controller.__class__.__name__)\n"
        "        app.exit(0)\n"
        "    elif time.monotonic() > deadline:\n"
        "        app.exit(4)\n"
        "timer = QTimer(); timer.timeout.connect(poll); timer.start(100)\n"
        "raise SystemExit(ui_app.main(['--demo']))\n"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path),
           "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "connected" in proc.stdout
