"""The connection wizard and the profile store (pytest-qt, offscreen).

The wizard is driven like a user would: type into fields, pick combo entries, click Next and
Finish. "Test connection" runs against the real simulator on background threads while a QTimer
heartbeat on the GUI thread checks that nothing blocks.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import (QAbstractButton, QLineEdit, QPushButton, QToolButton,  # noqa: E402
                               QWizard)

from meterreader.client.profile import ConnectionProfile  # noqa: E402
from meterreader.dlms.acse import MechanismName  # noqa: E402
from meterreader.dlms.secret import SecretBytes  # noqa: E402
from meterreader.india.associations import DEFAULT_LLS_PASSWORD  # noqa: E402
from meterreader.transport import PortInfo  # noqa: E402
from ui import wizard_pages  # noqa: E402
from ui.profile_store import ProfileStore  # noqa: E402
from ui.wizard import ConnectionWizard, describe_connected  # noqa: E402

EK_HEX = "000102030405060708090A0B0C0D0E0F"
AK_HEX = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
TITLE_HEX = "4D4D4D0000BC614E"
PASSWORD = "s3cret-Pw"  # distinctive, to search for in files


@pytest.fixture
def ini_path(tmp_path):
    return tmp_path / "meterreader.ini"


@pytest.fixture
def secrets_path(tmp_path):
    return tmp_path / "private" / "secrets.json"


@pytest.fixture
def store(ini_path, secrets_path):
    settings = QSettings(str(ini_path), QSettings.Format.IniFormat)
    return ProfileStore(settings, secrets_path=secrets_path)


@pytest.fixture(autouse=True)
def no_real_ports(monkeypatch):
    """The serial port list comes from a fake pyserial answer (no hardware in tests)."""
    ports = [PortInfo(device="/dev/ttyUSB0", description="USB-Serial", hwid="USB VID:PID=1")]
    monkeypatch.setattr(wizard_pages.transport, "list_ports", lambda: list(ports))
    return ports


def make_wizard(qtbot, store, initial=None, **kw):
    wizard = ConnectionWizard(profiles=store, initial=initial, **kw)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


@pytest.fixture
def wizard(qtbot, store):
    return make_wizard(qtbot, store)


def click(qtbot, widget):
    """Click like a user; check boxes and radio buttons on their indicator (their centre may
    lie right of the text when the layout stretches them)."""
    if isinstance(widget, QAbstractButton) and widget.isCheckable() and not isinstance(
            widget, QPushButton | QToolButton):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton,
                         pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def next_button(wizard):
    return wizard.button(QWizard.WizardButton.NextButton)


def go_next(qtbot, wizard):
    before = wizard.currentId()
    button = next_button(wizard)
    assert button.isEnabled(), wizard.errors
    click(qtbot, button)
    assert wizard.currentId() == before + 1


def finish(qtbot, wizard):
    button = wizard.button(QWizard.WizardButton.FinishButton)
    assert button.isEnabled(), wizard.errors
    click(qtbot, button)


def retype(qtbot, edit, text):
    edit.selectAll()
    edit.clear()
    qtbot.keyClicks(edit, text)


def retype_spin(qtbot, spin, value):
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), str(value))
    assert spin.value() == value


def choose(combo, data):
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def fill_tcp(qtbot, wizard, host, port, *, hdlc=False):
    page = wizard.medium_page
    click(qtbot, page.tcp_radio)
    retype(qtbot, page.host_edit, host)
    retype_spin(qtbot, page.port_spin, port)
    click(qtbot, page.hdlc_radio if hdlc else page.wrapper_radio)


# -- building profiles ----------------------------------------------------------------------------

def test_build_tcp_wrapper_profile_mr(qtbot, wizard, store):
    fill_tcp(qtbot, wizard, "10.1.2.3", 4059)
    go_next(qtbot, wizard)
    page = wizard.addressing_page
    assert not page.size_combo.isEnabled() and not page.physical_spin.isEnabled()
    assert "HDLC only" in page.size_note.text()
    choose(page.preset_combo, "mr")
    assert page.client_spin.value() == 32
    go_next(qtbot, wizard)
    security = wizard.security_page
    assert security.mechanism is MechanismName.LOW
    # The MR preset fills the IS 15959 default password into the (masked) field.
    assert security.password.edit.text() == DEFAULT_LLS_PASSWORD.decode()
    retype(qtbot, security.password.edit, PASSWORD)
    go_next(qtbot, wizard)
    summary = wizard.summary_page
    assert summary.description_label.text() == (
        "TCP 10.1.2.3:4059 wrapper · MR (client 32) → LD 1/256")
    assert "password set" in summary.security_label.text()
    assert not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()  # no name yet
    qtbot.keyClicks(summary.name_edit, "Bench MR")
    finish(qtbot, wizard)

    profile = wizard.profile()
    assert wizard.result() == QWizard.DialogCode.Accepted
    assert (profile.name, profile.medium, profile.host, profile.port, profile.framing) == (
        "Bench MR", "tcp", "10.1.2.3", 4059, "wrapper")
    assert (profile.association, profile.client_sap, profile.mechanism) == ("mr", 32, 1)
    assert profile.password == SecretBytes(PASSWORD.encode())
    assert profile.validate() == {}
    assert store.names() == ["Bench MR"] and store.last_used == "Bench MR"
    loaded = store.load("Bench MR")
    assert loaded.password is None  # not remembered
    assert loaded == profile.without_secrets()


def test_build_hdlc_over_tcp_profile(qtbot, wizard, store):
    fill_tcp(qtbot, wizard, "192.168.0.50", 4001, hdlc=True)
    go_next(qtbot, wizard)
    page = wizard.addressing_page
    assert page.size_combo.isEnabled() and page.physical_spin.isEnabled()
    retype_spin(qtbot, page.physical_spin, 17)
    choose(page.size_combo, 2)
    assert page.preview_label.text() == "server 02 23 · client 21"
    go_next(qtbot, wizard)
    assert wizard.security_page.mechanism is MechanismName.NONE
    go_next(qtbot, wizard)
    qtbot.keyClicks(wizard.summary_page.name_edit, "NPort 1")
    assert wizard.summary_page.address_label.text() == "server 02 23 · client 21"
    finish(qtbot, wizard)
    profile = wizard.profile()
    assert (profile.medium, profile.framing, profile.port) == ("tcp", "hdlc", 4001)
    assert (profile.server_logical, profile.server_physical, profile.address_size) == (1, 17, 2)
    assert profile.describe() == "TCP 192.168.0.50:4001 HDLC · PC (client 16) → LD 1/17"
    assert store.load("NPort 1") == profile


def test_serial_page_lists_ports_and_takes_a_typed_path(qtbot, wizard, no_real_ports):
    page = wizard.medium_page
    click(qtbot, page.serial_radio)
    assert page.serial_group.isEnabled() and not page.tcp_group.isEnabled()
    assert [page.port_combo.itemText(i) for i in range(page.port_combo.count())] == [
        "/dev/ttyUSB0"]
    assert page.port_combo.currentText() == "/dev/ttyUSB0"
    assert page.baud_combo.currentData() == 9600
    no_real_ports.append(PortInfo(device="/dev/ttyUSB1", description="", hwid=""))
    click(qtbot, page.refresh_button)
    assert page.port_combo.count() == 2
    page.port_combo.lineEdit().clear()
    assert "serial_port" in wizard.errors and not next_button(wizard).isEnabled()
    qtbot.keyClicks(page.port_combo.lineEdit(), "/dev/pts/3")
    choose(page.parity_combo, "E")
    choose(page.baud_combo, 19200)
    click(qtbot, page.mode_e_check)
    draft = wizard.draft()
    assert (draft.medium, draft.serial_port, draft.parity, draft.mode_e, draft.framing) == (
        "serial", "/dev/pts/3", "E", True, "hdlc")
    assert next_button(wizard).isEnabled()
    # Mode E only knows the IEC 62056-21 baud rates.
    page.baud_combo.addItem("14400", 14400)
    choose(page.baud_combo, 14400)
    assert "mode E" in wizard.errors["baudrate"]
    assert page.error_label("baudrate").isVisible()
    assert not next_button(wizard).isEnabled()


# -- in-place validation --------------------------------------------------------------------------

def test_invalid_key_is_flagged_and_blocks_next(qtbot, wizard):
    fill_tcp(qtbot, wizard, "127.0.0.1", 4059)
    go_next(qtbot, wizard)
    go_next(qtbot, wizard)
    security = wizard.security_page
    choose(security.ciphering_combo, "global")
    assert security.encryption_key.isEnabled()
    assert not next_button(wizard).isEnabled()  # keys now required
    edit = security.encryption_key.edit
    qtbot.keyClicks(edit, "00112233")
    label = security.error_label("encryption_key")
    assert label.isVisible() and label.text() == "key must be 32 hex digits"
    assert edit.property("invalid") is True
    assert edit.toolTip() == "key must be 32 hex digits"
    assert not next_button(wizard).isEnabled()
    qtbot.keyClicks(edit, "zz")  # not hex at all: same message, the text is never echoed
    assert label.text() == "key must be 32 hex digits"
    assert "zz" not in label.text() and "00112233" not in label.text()
    retype(qtbot, edit, EK_HEX)
    assert edit.property("invalid") is False and not label.isVisible()
    retype(qtbot, security.authentication_key.edit, AK_HEX)
    retype(qtbot, security.title_edit, "4D4D4D")
    assert security.error_label("system_title").text().startswith("system title must be 8 bytes")
    assert not next_button(wizard).isEnabled()
    retype(qtbot, security.title_edit, TITLE_HEX)
    assert next_button(wizard).isEnabled()
    go_next(qtbot, wizard)
    draft = wizard.draft()
    assert draft.encryption_key == SecretBytes.from_hex(EK_HEX)
    assert draft.system_title == bytes.fromhex(TITLE_HEX) and draft.ciphering == "global"


def test_empty_host_is_flagged_on_page_one(qtbot, wizard):
    page = wizard.medium_page
    click(qtbot, page.tcp_radio)
    page.host_edit.clear()
    assert page.error_label("host").text() == "host is empty"
    assert page.host_edit.property("invalid") is True
    assert not next_button(wizard).isEnabled()
    qtbot.keyClicks(page.host_edit, "meter.local")
    assert next_button(wizard).isEnabled()


def test_address_preview_updates_as_you_type(qtbot, wizard):
    fill_tcp(qtbot, wizard, "127.0.0.1", 4059, hdlc=True)
    go_next(qtbot, wizard)
    page = wizard.addressing_page
    preview = page.preview_label
    assert (page.logical_spin.value(), page.physical_spin.value()) == (1, 256)
    assert page.size_combo.currentData() == 4
    assert preview.text() == "server 00 02 04 01 · client 21"
    retype_spin(qtbot, page.physical_spin, 17)
    assert preview.text() == "server 00 02 00 23 · client 21"
    retype_spin(qtbot, page.client_spin, 48)
    assert preview.text() == "server 00 02 00 23 · client 61"
    assert page.preset_combo.currentData() == "custom"  # the SAP no longer matches PC
    choose(page.size_combo, 1)
    assert not page.physical_spin.isEnabled()
    assert preview.text() == "server 03 · client 61"
    retype_spin(qtbot, page.logical_spin, 200)  # too big for a 1-byte address
    assert page.error_label("server_logical").text() == (
        "logical address must be 0..127 with 1-byte addresses")
    assert preview.property("role") == "error"
    assert not next_button(wizard).isEnabled()
    choose(page.size_combo, 4)
    assert preview.text() == "server 02 90 00 23 · client 61"  # 200 = 1·128 + 72
    assert next_button(wizard).isEnabled()


def test_presets_fill_client_sap_and_mechanism(qtbot, wizard):
    go_next(qtbot, wizard)
    page, security = wizard.addressing_page, wizard.security_page
    choose(page.preset_combo, "us")
    assert page.client_spin.value() == 48 and security.mechanism is MechanismName.HIGH
    assert security.hls_key.edit.text() == "1111111111111111"
    choose(page.preset_combo, "pc")
    assert page.client_spin.value() == 16 and security.mechanism is MechanismName.NONE
    security.set_mechanism(MechanismName.LOW)  # a hand-picked mechanism: no longer PC
    assert page.preset_combo.currentData() == "custom"
    assert wizard.draft().association == "custom"


@pytest.mark.parametrize("mechanism, enabled", [
    (MechanismName.NONE, set()),
    (MechanismName.LOW, {"password"}),
    (MechanismName.HIGH, {"hls_key"}),
    (MechanismName.HIGH_MD5, {"hls_key"}),
    (MechanismName.HIGH_SHA1, {"hls_key"}),
    (MechanismName.HIGH_GMAC, {"encryption_key", "authentication_key", "system_title"}),
    (MechanismName.HIGH_SHA256, {"hls_key", "system_title"}),
])
def test_mechanism_enables_the_right_fields(qtbot, wizard, mechanism, enabled):
    security = wizard.security_page
    security.set_mechanism(mechanism)
    fields = {"password": security.password, "hls_key": security.hls_key,
              "encryption_key": security.encryption_key,
              "authentication_key": security.authentication_key,
              "system_title": security.title_edit}
    assert {name for name, w in fields.items() if w.isEnabled()} == enabled
    choose(security.ciphering_combo, "dedicated")
    assert {name for name, w in fields.items() if w.isEnabled()} >= {
        "encryption_key", "authentication_key", "system_title"}


def test_secret_fields_are_masked_with_a_show_toggle(qtbot, wizard):
    security = wizard.security_page
    for holder in (security.password, security.hls_key, security.encryption_key,
                   security.authentication_key):
        assert holder.edit.echoMode() == QLineEdit.EchoMode.Password
    security.set_mechanism(MechanismName.LOW)
    click(qtbot, security.password.toggle)
    assert security.password.edit.echoMode() == QLineEdit.EchoMode.Normal
    click(qtbot, security.password.toggle)
    assert security.password.edit.echoMode() == QLineEdit.EchoMode.Password
    assert not security.remember_check.isChecked()


# -- saving and loading ---------------------------------------------------------------------------

def _us_profile(name="US lab"):
    return ConnectionProfile.for_association(
        "us", name=name, host="10.0.0.9", framing="hdlc", server_physical=17,
        ciphering="global", encryption_key=SecretBytes.from_hex(EK_HEX),
        authentication_key=SecretBytes.from_hex(AK_HEX), system_title=bytes.fromhex(TITLE_HEX),
        hls_key=SecretBytes(PASSWORD.encode() + b"1234567"))


def test_saved_profile_is_offered_and_loaded_into_every_page(qtbot, store):
    store.save(_us_profile(), remember_secrets=True)
    store.save(ConnectionProfile(name="a/b\\c plain"))
    wizard = make_wizard(qtbot, store)
    combo = wizard.medium_page.profile_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "New profile", "a/b\\c plain", "US lab"]
    combo.setCurrentIndex(combo.findData("US lab"))
    combo.activated.emit(combo.currentIndex())
    security = wizard.security_page
    assert wizard.medium_page.hdlc_radio.isChecked()
    assert wizard.addressing_page.preset_combo.currentData() == "us"
    assert wizard.addressing_page.physical_spin.value() == 17
    assert security.mechanism is MechanismName.HIGH
    assert security.hls_key.edit.text() == PASSWORD + "1234567"
    assert security.encryption_key.edit.text() == EK_HEX
    assert security.remember_check.isChecked()
    assert wizard.summary_page.name_edit.text() == "US lab"
    assert wizard.draft() == store.load("US lab") == _us_profile()
    combo.setCurrentIndex(0)  # "New profile": back to the defaults, no name, no secrets
    combo.activated.emit(0)
    assert wizard.draft() == ConnectionProfile(name="")
    assert security.hls_key.edit.text() == "" and not security.remember_check.isChecked()


def test_initial_profile_is_edited_and_saved_again(qtbot, store):
    wizard = make_wizard(qtbot, store, initial=_us_profile())
    assert wizard.windowTitle() == "Edit connection"
    for _ in range(3):
        go_next(qtbot, wizard)
    finish(qtbot, wizard)
    assert wizard.profile() == _us_profile()
    assert store.load("US lab").hls_key is None  # secrets were not asked to be remembered


def test_delete_saved_profile(qtbot, store, secrets_path):
    store.save(_us_profile(), remember_secrets=True)
    wizard = make_wizard(qtbot, store)
    wizard.confirm_delete = lambda name: True
    combo = wizard.medium_page.profile_combo
    combo.setCurrentIndex(combo.findData("US lab"))
    combo.activated.emit(combo.currentIndex())
    click(qtbot, wizard.medium_page.delete_button)
    assert store.names() == [] and combo.count() == 1
    assert "US lab" not in secrets_path.read_text()


def test_secrets_stay_out_of_qsettings_unless_remembered(qtbot, store, ini_path, secrets_path,
                                                         caplog):
    caplog.set_level(logging.DEBUG)
    secret_forms = (PASSWORD, PASSWORD.encode().hex(), PASSWORD.encode().hex().upper(), EK_HEX,
                    EK_HEX.lower())

    def run(remember):
        wizard = make_wizard(qtbot, store)
        fill_tcp(qtbot, wizard, "127.0.0.1", 4059)
        go_next(qtbot, wizard)
        choose(wizard.addressing_page.preset_combo, "mr")
        go_next(qtbot, wizard)
        security = wizard.security_page
        retype(qtbot, security.password.edit, PASSWORD)
        choose(security.ciphering_combo, "global")
        qtbot.keyClicks(security.encryption_key.edit, EK_HEX)
        qtbot.keyClicks(security.authentication_key.edit, AK_HEX)
        qtbot.keyClicks(security.title_edit, TITLE_HEX)
        if remember:
            click(qtbot, security.remember_check)
        go_next(qtbot, wizard)
        retype(qtbot, wizard.summary_page.name_edit, "Secret meter")
        finish(qtbot, wizard)

    run(remember=False)
    ini_text = ini_path.read_text()
    assert "Secret meter" in ini_text
    assert not any(form in ini_text for form in secret_forms)
    assert not secrets_path.exists()
    assert store.load("Secret meter").password is None

    run(remember=True)
    ini_text = ini_path.read_text()
    assert not any(form in ini_text for form in secret_forms)
    assert stat.S_IMODE(os.stat(secrets_path).st_mode) == 0o600
    assert PASSWORD.encode().hex() in secrets_path.read_text()
    loaded = store.load("Secret meter")
    assert loaded.password == SecretBytes(PASSWORD.encode())
    assert loaded.encryption_key == SecretBytes.from_hex(EK_HEX)
    assert PASSWORD not in repr(loaded)
    logged = caplog.text
    assert not any(form in logged for form in secret_forms)

    run(remember=False)  # unticking forgets what was remembered
    assert PASSWORD.encode().hex() not in secrets_path.read_text()
    assert store.load("Secret meter").password is None


# -- the profile store on its own -----------------------------------------------------------------

def test_profile_store_names_last_used_and_delete(store, secrets_path):
    assert store.names() == [] and store.last_used is None
    with pytest.raises(KeyError):
        store.load("nope")
    store.save(ConnectionProfile(name="zeta", port=1))
    store.save(ConnectionProfile(name="Alpha/1", port=2))
    assert store.names() == ["Alpha/1", "zeta"]
    assert store.last_used == "Alpha/1"
    store.last_used = "zeta"
    assert store.last_used == "zeta"
    assert store.load("Alpha/1").port == 2
    store.save(ConnectionProfile(name="zeta", port=3))  # replaces
    assert store.names() == ["Alpha/1", "zeta"] and store.load("zeta").port == 3
    store.delete("zeta")
    assert store.names() == ["Alpha/1"] and store.last_used is None
    store.delete("never there")
    with pytest.raises(ValueError):
        store.save(ConnectionProfile(name="  "))


def test_profile_store_survives_a_damaged_entry(store):
    store.settings.setValue("profiles/broken", "{not json")
    with pytest.raises(KeyError):
        store.load("broken")
    assert "broken" in store.names()


def test_profile_store_default_secrets_path_honours_xdg(monkeypatch, tmp_path, ini_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    store = ProfileStore(QSettings(str(ini_path), QSettings.Format.IniFormat))
    store.save(ConnectionProfile(name="p", mechanism=1, password=SecretBytes(b"pw")),
               remember_secrets=True)
    assert (tmp_path / "xdg" / "meterreader" / "secrets.json").is_file()
    assert store.load("p").password == SecretBytes(b"pw")


def test_describe_connected_formats_the_negotiated_limits():
    class Info:
        profile_description = "TCP 127.0.0.1:4059 HDLC · PC (client 16) → LD 1/256"
        association = "PC (client 16)"
        negotiated = {"max_pdu_size": 1024, "window_tx": 1, "window_rx": 1}

    assert describe_connected(Info()) == (
        "Connected: TCP 127.0.0.1:4059 HDLC · PC (client 16) → LD 1/256 (PDU 1024, window 1)")
    Info.negotiated = {"max_pdu_size": 512}
    assert describe_connected(Info()).endswith("(PDU 512)")


# -- "Test connection" on a background worker -----------------------------------------------------

@pytest.fixture
def meter():
    from meterreader.simulator import SimulatedMeter

    simulated = SimulatedMeter(link_baud=2400)  # slow enough for the heartbeat to tick
    yield simulated
    simulated.stop()


class Heartbeat:
    """A 10 ms QTimer on the GUI thread that records its ticks and the longest gap."""

    def __init__(self):
        self.ticks, self.max_gap = 0, 0.0
        self.started = self._last = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self):
        now = time.monotonic()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last, self.ticks = now, self.ticks + 1

    def stop(self):
        self.timer.stop()
        now = time.monotonic()
        self.max_gap = max(self.max_gap, now - self._last)  # the tail counts as a gap too
        self.elapsed = now - self.started

    def assert_kept_ticking(self):
        # The timer ran, and the GUI thread was never blocked for a quarter of a second.
        assert self.ticks >= 1, (self.ticks, self.elapsed)
        assert self.max_gap < 0.25, f"the GUI thread was blocked for {self.max_gap:.3f} s"


def run_test_connection(qtbot, wizard):
    summary = wizard.summary_page
    assert wizard.currentPage() is summary and summary.test_button.isEnabled()
    beat = Heartbeat()
    click(qtbot, summary.test_button)
    assert wizard.tester.running and summary.cancel_test_button.isEnabled()
    assert not summary.test_button.isEnabled()
    assert summary.result_label.property("state") == "busy"
    # The wizard stays usable while the test runs.
    assert wizard.button(QWizard.WizardButton.BackButton).isEnabled()
    qtbot.waitUntil(lambda: not wizard.tester.running, timeout=15_000)
    beat.stop()
    beat.assert_kept_ticking()
    assert summary.test_button.isEnabled() and not summary.cancel_test_button.isEnabled()
    return summary.result_label


@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "hdlc-over-tcp"])
def test_test_connection_against_the_simulator(qtbot, wizard, meter, store, hdlc):
    port = meter.serve_tcp(port=0, hdlc=hdlc)
    fill_tcp(qtbot, wizard, "127.0.0.1", port, hdlc=hdlc)
    go_next(qtbot, wizard)
    choose(wizard.addressing_page.preset_combo, "mr")  # default IS 15959 password filled in
    go_next(qtbot, wizard)
    go_next(qtbot, wizard)
    label = run_test_connection(qtbot, wizard)
    assert label.property("state") == "ok", label.text()
    framing = "HDLC" if hdlc else "wrapper"
    assert label.text().startswith(
        f"Connected: TCP 127.0.0.1:{port} {framing} · MR (client 32) → LD 1/256 (PDU ")
    assert ("window" in label.text()) == hdlc
    qtbot.keyClicks(wizard.summary_page.name_edit, "Simulator")
    finish(qtbot, wizard)
    assert store.load("Simulator").port == port


def test_test_connection_to_a_closed_port_shows_the_error(qtbot, wizard):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    fill_tcp(qtbot, wizard, "127.0.0.1", closed)
    for _ in range(3):
        go_next(qtbot, wizard)
    label = run_test_connection(qtbot, wizard)
    assert label.property("state") == "error"
    assert f"127.0.0.1:{closed}" in label.text() or "refused" in label.text().lower(), \
        label.text()


def test_test_connection_can_be_cancelled(qtbot, wizard):
    silent = socket.socket()  # accepts the connection, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        fill_tcp(qtbot, wizard, "127.0.0.1", silent.getsockname()[1])
        for _ in range(3):
            go_next(qtbot, wizard)
        summary = wizard.summary_page
        beat = Heartbeat()
        started = time.monotonic()
        click(qtbot, summary.test_button)
        qtbot.wait(300)
        assert wizard.tester.running, summary.result_label.text()
        click(qtbot, summary.cancel_test_button)
        qtbot.waitUntil(lambda: not wizard.tester.running, timeout=5_000)
        beat.stop()
        assert time.monotonic() - started < 4.0  # well before the 5 s response timeout
        assert summary.result_label.text() == "Test cancelled."
        assert summary.result_label.property("state") == "cancelled"
        beat.assert_kept_ticking()
        assert beat.ticks >= 20
    finally:
        silent.close()


def test_closing_the_wizard_during_a_test_ends_the_worker(qtbot, wizard):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    workers = []

    def factory():
        from ui.worker import ProtocolWorker

        workers.append(ProtocolWorker())
        return workers[-1]

    try:
        wizard.tester._factory = factory
        fill_tcp(qtbot, wizard, "127.0.0.1", silent.getsockname()[1])
        for _ in range(3):
            go_next(qtbot, wizard)
        click(qtbot, wizard.summary_page.test_button)
        qtbot.wait(200)
        wizard.reject()
        assert not wizard.tester.running
        assert len(workers) == 1 and not workers[0].is_running
    finally:
        silent.close()
