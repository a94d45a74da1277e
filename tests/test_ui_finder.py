"""The meter finder in the GUI and the diagnosis of failed connects (pytest-qt, offscreen).

"Detect…" on the wizard's medium page searches a simulator over TCP (wrapper and raw HDLC, the
simulator in its own process) and through the emulated serial line, on a background thread while
a 20 ms QTimer heartbeat on the GUI thread checks it never stalls; "Use these settings" fills the fields and "Test connection" then
works. A wrong password or port shows the diagnosis (title and next steps) where the error is
shown: the wizard's test result and the main window's banner and status bar. Every wait is
qtbot.waitUntil; nothing waits on a thread.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QWizard  # noqa: E402

from meterreader.client.profile import ConnectionProfile  # noqa: E402
from meterreader.transport import PortInfo  # noqa: E402
from ui import wizard_pages  # noqa: E402
from ui.finder_dialog import (FinderDialog, adopt_found, diagnosis_html,  # noqa: E402
                              diagnosis_text)
from ui.profile_store import ProfileStore  # noqa: E402
from ui.wizard import ConnectionWizard  # noqa: E402

from meterreader.finder.model import Diagnosis  # noqa: E402
from meterreader.simulator import SimulatedMeter  # noqa: E402

SHOTS = "/tmp/shots"
LONG = 20_000  # ms


@pytest.fixture(autouse=True)
def no_real_ports(monkeypatch):
    monkeypatch.setattr(wizard_pages.transport, "list_ports",
                        lambda: [PortInfo(device="/dev/ttyUSB0", description="USB-Serial",
                                          hwid="USB VID:PID=1")])


@pytest.fixture
def store(tmp_path):
    settings = QSettings(str(tmp_path / "meterreader.ini"), QSettings.Format.IniFormat)
    return ProfileStore(settings, secrets_path=tmp_path / "secrets.json")


@pytest.fixture
def wizard(qtbot, store):
    wiz = ConnectionWizard(profiles=store)
    qtbot.addWidget(wiz)
    wiz.show()
    qtbot.waitExposed(wiz)
    yield wiz
    wiz.reject()


@pytest.fixture
def meter():
    m = SimulatedMeter()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def sim_process():
    """The simulator in its own process (``python -m meterreader simulate``): the heartbeat
    measures the GUI thread, not a simulator thread sharing our GIL. Yields its ports."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "meterreader", "simulate", "--wrapper-port",
                             "0", "--hdlc-port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    ports = {}
    try:
        for line in proc.stdout:
            if "TCP listening on" in line:
                kind = "hdlc" if line.startswith("HDLC") else "wrapper"
                ports[kind] = int(line.rsplit(":", 1)[1])
            if line.startswith("meter "):
                break
        assert set(ports) == {"wrapper", "hdlc"}, ports
        yield ports
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Heartbeat:
    """A 20 ms QTimer on the GUI thread recording the longest gap between its ticks while
    ``during()`` is true (the search runs: rendering its result afterwards is the GUI's own
    work, not a stall caused by the search)."""

    def __init__(self, during=lambda: True):
        self.ticks, self.max_gap = 0, 0.0
        self.during = during
        self._last = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self):
        now = time.monotonic()
        if self.during():
            self.max_gap = max(self.max_gap, now - self._last)
        self._last, self.ticks = now, self.ticks + 1

    def stop(self):
        self.timer.stop()
        if self.during():
            self.max_gap = max(self.max_gap, time.monotonic() - self._last)

    def assert_smooth(self, limit=0.100):
        assert self.ticks >= 1
        assert self.max_gap < limit, f"the GUI thread stalled {self.max_gap * 1000:.0f} ms"


def shot(widget, name):
    os.makedirs(SHOTS, exist_ok=True)
    assert widget.grab().save(f"{SHOTS}/finder_{name}.png")


def fill_tcp(wizard, port, *, hdlc):
    page = wizard.medium_page
    page.tcp_radio.setChecked(True)
    page.host_edit.setText("127.0.0.1")
    page.port_spin.setValue(port)
    (page.hdlc_radio if hdlc else page.wrapper_radio).setChecked(True)


def detect(qtbot, wizard):
    """Click Detect… and wait for the search to end; returns the dialog and the heartbeat."""
    button = wizard.medium_page.detect_button
    assert button.isEnabled(), wizard.errors
    button.click()
    dialog = wizard.finder
    assert isinstance(dialog, FinderDialog) and dialog.isVisible()
    qtbot.waitExposed(dialog)
    beat = Heartbeat(lambda: dialog.running)  # the GUI thread only waits for the search
    qtbot.waitUntil(lambda: not dialog.running and beat.ticks >= 1, timeout=LONG)
    beat.stop()
    return dialog, beat


def to_summary(qtbot, wizard):
    while wizard.currentPage() is not wizard.summary_page:
        button = wizard.button(QWizard.WizardButton.NextButton)
        assert button.isEnabled(), wizard.errors
        button.click()


def run_test_connection(qtbot, wizard):
    to_summary(qtbot, wizard)
    summary = wizard.summary_page
    summary.test_button.click()
    qtbot.waitUntil(lambda: not wizard.tester.running, timeout=LONG)
    return summary


# -- detect over TCP, use the settings, test them -------------------------------------------------

@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "raw-hdlc"])
def test_detect_over_tcp_fills_the_wizard_and_the_test_connects(qtbot, wizard, sim_process,
                                                                 hdlc):
    port = sim_process["hdlc" if hdlc else "wrapper"]
    fill_tcp(wizard, port, hdlc=not hdlc)  # the user guessed the framing wrong
    dialog, beat = detect(qtbot, wizard)
    beat.assert_smooth()
    assert dialog.result is not None and dialog.result.found is not None, dialog.status_label.text()
    assert dialog.attempt_list.topLevelItemCount() >= 1
    assert dialog.found_box.isVisible() and not dialog.diagnosis_label.isVisible()
    assert dialog.use_button.isEnabled()
    assert dialog.status_label.text().startswith("Found after")
    found = dialog.result.found
    assert dialog.found_labels["settings"].text() == found.connection_text()
    if not hdlc:  # the wrapper has no physical address
        assert found.connection_text().endswith("→ logical device 1")
        assert "/256" not in dialog.found_labels["settings"].text()
    last = dialog.attempt_list.topLevelItem(dialog.attempt_list.topLevelItemCount() - 1)
    assert "associate as public client" in last.text(1) and last.text(2) == "associated"
    if found.serial:
        assert dialog.found_labels["serial"].text() == found.serial
    if found.object_count is not None:
        assert dialog.found_labels["objects"].text().startswith(str(found.object_count))
    shot(dialog, f"found_{'hdlc' if hdlc else 'wrapper'}")

    dialog.use_button.click()
    assert not dialog.isVisible()
    page = wizard.medium_page
    assert page.tcp_radio.isChecked() and page.port_spin.value() == port
    assert page.hdlc_radio.isChecked() == hdlc and page.wrapper_radio.isChecked() == (not hdlc)
    draft = wizard.draft()
    assert draft is not None and draft.framing == ("hdlc" if hdlc else "wrapper")
    assert draft.server_logical == found.profile.server_logical
    assert draft.server_physical == found.profile.server_physical
    summary = run_test_connection(qtbot, wizard)
    assert summary.result_label.property("state") == "ok", summary.result_label.text()
    assert summary.diagnosis is None


def test_detect_through_the_emulated_serial_line(qtbot, wizard):
    line_mod = pytest.importorskip("meterreader.simulator.serial_line")
    m = SimulatedMeter(serial_baud=19200, address_sizes=(1,))
    try:
        line = line_mod.EmulatedSerialMeter(m)
        wizard.finder_options = {"serial_factory": line.serial_factory}
        page = wizard.medium_page
        page.serial_radio.setChecked(True)
        page.port_combo.setEditText("/dev/ttyUSB0")
        dialog, beat = detect(qtbot, wizard)
        beat.assert_smooth()
        found = dialog.result.found
        assert found is not None, dialog.status_label.text()
        assert (found.profile.baudrate, found.profile.address_size) == (19200, 1)
        shot(dialog, "found_serial")
        dialog.use_button.click()
        assert page.baud_combo.currentData() == 19200
        assert wizard.addressing_page.size_combo.currentData() == 1
        assert wizard.draft().serial_port == "/dev/ttyUSB0"
    finally:
        m.stop()


def test_stop_cancels_the_search_at_once(qtbot, wizard):
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        fill_tcp(wizard, silent.getsockname()[1], hdlc=False)
        wizard.medium_page.detect_button.click()
        dialog = wizard.finder
        qtbot.waitExposed(dialog)
        beat = Heartbeat(lambda: dialog.running)
        qtbot.wait(400)
        assert dialog.running and dialog.stop_button.isEnabled()
        started = time.monotonic()
        dialog.stop_button.click()
        qtbot.waitUntil(lambda: not dialog.running, timeout=5_000)
        beat.stop()
        assert time.monotonic() - started < 3.0
        beat.assert_smooth()
        assert dialog.status_label.text().startswith("Stopped after")
        assert dialog.result.cancelled and dialog.result.found is None
        assert not dialog.use_button.isEnabled()
        assert dialog.start_button.isEnabled() and dialog.start_button.text() == "Search again"
    finally:
        silent.close()


def test_nothing_listening_shows_the_diagnosis_in_the_dialog(qtbot, wizard):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    fill_tcp(wizard, closed, hdlc=False)
    dialog, _beat = detect(qtbot, wizard)
    assert dialog.result.found is None
    assert dialog.diagnosis_label.isVisible() and not dialog.found_box.isVisible()
    diagnosis = dialog.result.diagnosis
    assert diagnosis is not None and diagnosis.title in dialog.diagnosis_label.text()
    assert "Try next" in dialog.diagnosis_label.text()
    assert not dialog.use_button.isEnabled()
    shot(dialog, "not_found")


def test_closing_the_dialog_during_a_search_ends_its_thread(qtbot, wizard):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        fill_tcp(wizard, silent.getsockname()[1], hdlc=False)
        wizard.medium_page.detect_button.click()
        dialog = wizard.finder
        qtbot.wait(200)
        thread = dialog._thread
        dialog.reject()
        assert not dialog.running and not thread.is_alive()
    finally:
        silent.close()


# -- diagnosis of failed connects -----------------------------------------------------------------

def test_wrong_password_shows_the_diagnosis_in_the_test_result(qtbot, wizard, meter):
    port = meter.serve_tcp(port=0)
    fill_tcp(wizard, port, hdlc=False)
    wizard.button(QWizard.WizardButton.NextButton).click()
    combo = wizard.addressing_page.preset_combo
    combo.setCurrentIndex(combo.findData("mr"))
    wizard.button(QWizard.WizardButton.NextButton).click()
    wizard.security_page.password.edit.setText("wrong-one")
    summary = run_test_connection(qtbot, wizard)
    assert summary.result_label.property("state") == "error"
    diagnosis = summary.diagnosis
    assert diagnosis is not None and diagnosis.code == "wrong-password", diagnosis
    text = summary.result_label.text()
    assert diagnosis.title in text and "Try next" in text
    assert "wrong-one" not in text
    summary.result_label.parentWidget().adjustSize()
    shot(wizard, "wizard_wrong_password")


def test_closed_port_shows_the_diagnosis_in_the_test_result(qtbot, wizard):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    fill_tcp(wizard, closed, hdlc=False)
    summary = run_test_connection(qtbot, wizard)
    assert summary.result_label.property("state") == "error"
    assert summary.diagnosis is not None and summary.diagnosis.code == "refused"
    assert summary.diagnosis.title in summary.result_label.text()


class JunkPeer:
    """Accepts TCP connections and answers whatever arrives with noise (a converter at the
    wrong baud rate): bytes that are neither HDLC frames nor wrapper packets."""

    NOISE = bytes([0x00, 0xF8, 0x80, 0x78, 0x00, 0xE0, 0xFE, 0x00] * 4)

    def __init__(self):
        import threading
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn = self.sock.accept()[0]
            except OSError:
                continue
            self.conns.append(conn)
            conn.settimeout(0.05)
            while not self.stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                conn.sendall(self.NOISE)

    def close(self):
        self.stop.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_noise_from_the_peer_is_diagnosed_from_the_raw_bytes(qtbot, wizard):
    # The session's trace has no frame for noise: only the raw bytes the worker recorded on
    # the transport show what the peer sent.
    peer = JunkPeer()
    try:
        fill_tcp(wizard, peer.port, hdlc=False)
        summary = run_test_connection(qtbot, wizard)
    finally:
        peer.close()
    assert summary.result_label.property("state") == "error"
    diagnosis = summary.diagnosis
    assert diagnosis is not None and diagnosis.code == "garbage", diagnosis
    assert diagnosis.title.startswith("Bytes arrive but no valid frame")
    assert diagnosis.evidence.startswith("00 F8 80 78")
    assert diagnosis.title in summary.result_label.text()


def test_main_window_banner_and_status_show_the_diagnosis(qtbot, tmp_path, meter):
    from ui import app as ui_app

    settings = QSettings(str(tmp_path / "meterreader.ini"), QSettings.Format.IniFormat)
    window = ui_app.build_main_window(settings=settings, cache_dir=tmp_path / "cache")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        port = meter.serve_tcp(port=0)
        profile = ConnectionProfile.for_association("mr", name="wrong pw", port=port,
                                                    response_timeout=3.0)
        profile = profile.with_secrets({"password": b"badpass1"})
        window.controller.connect_profile(profile)
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LONG)
        banner = window.banner
        assert banner.message.startswith("Could not connect")
        assert banner.diagnosis is not None and banner.diagnosis.code == "wrong-password"
        assert banner.diagnosis.title in banner.label.text()
        assert "Try next" in banner.message and "badpass1" not in banner.message
        assert banner.diagnosis.title in window.status.currentMessage()
        assert banner.diagnosis.title in window.status.connection_label.toolTip()
        shot(window, "main_banner")
    finally:
        window.close()


# -- helpers --------------------------------------------------------------------------------------

DIAG = Diagnosis(code="dm", title="The meter refused the link (DM)",
                 explanation="A station answered with DM: <address> wrong or busy.",
                 next_steps=("try server address 1/17", "wait and connect again"),
                 evidence="7E A0 0A 00 02 00 23 21 1F 7E")


def test_diagnosis_text_and_html():
    assert diagnosis_text(DIAG).splitlines() == [
        "The meter refused the link (DM)", "A station answered with DM: <address> wrong or busy.",
        "Try next:", "• try server address 1/17", "• wait and connect again"]
    html = diagnosis_html(DIAG, lead="Could not connect: x")
    assert html.startswith("<p>Could not connect: x</p><p><b>The meter refused the link (DM)</b>")
    assert "&lt;address&gt;" in html and "<li>wait and connect again</li>" in html
    assert "<code>7E A0 0A 00 02 00 23 21 1F 7E</code>" in html


def test_use_these_settings_keeps_association_security_and_name():
    base = ConnectionProfile.for_association("mr", name="Bench 3", host="10.0.0.9")
    found = ConnectionProfile(name="found", medium="serial", serial_port="COM4", framing="hdlc",
                              baudrate=19200, mode_e=True, server_logical=1,
                              server_physical=17, address_size=2)
    merged = adopt_found(base, found)
    assert (merged.name, merged.association, merged.client_sap, merged.password) == (
        base.name, "mr", 32, base.password)
    assert (merged.medium, merged.serial_port, merged.baudrate, merged.mode_e,
            merged.server_physical, merged.address_size) == ("serial", "COM4", 19200, True, 17, 2)


def test_detect_is_disabled_without_a_target(qtbot, wizard):
    page = wizard.medium_page
    page.tcp_radio.setChecked(True)
    page.host_edit.setText("")
    assert not page.detect_button.isEnabled()
    assert wizard.detect() is None
    page.host_edit.setText("127.0.0.1")
    assert page.detect_button.isEnabled()
