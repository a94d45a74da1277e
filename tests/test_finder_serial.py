"""The serial finder against the simulator: over a pty (plain 8N1) and through the serial line
emulator (baud rates, 1-byte addressing, mode E, 7E1), bounded by its budget and cancellable."""

from __future__ import annotations

import threading
import time

import pytest

from meterreader.finder import AnswerKind, find_serial, identify
from meterreader.simulator import SimulatedMeter
from meterreader.simulator.serial_line import EmulatedSerialMeter
from meterreader.transport import CancelToken, ModeETransport, SerialTransport

FAST = {"probe_timeout": 0.2, "identify_timeout": 2.0, "sign_on_timeout": 0.8}


def emulated(**options):
    meter = SimulatedMeter(**options)
    return meter, EmulatedSerialMeter(meter)


def test_pty_meter_found_at_once_with_its_name_plate():
    with SimulatedMeter(seed=3) as meter:
        device = meter.serve_pty()
        seen = []
        result = find_serial(device, progress=seen.append, **FAST)
    assert result.ok and not result.cancelled and result.diagnosis is None
    found = result.found
    assert found.profile.serial_port == device and found.profile.baudrate == 9600
    assert not found.profile.mode_e and found.profile.address_size == 4
    assert (found.profile.server_logical, found.profile.server_physical) == (1, 256)
    assert found.profile.client_sap == 16 and found.profile.is_valid
    assert found.serial == meter.device.serial and found.manufacturer and found.firmware
    assert [sap for sap, _ in found.logical_devices] == [1, 2]
    assert found.object_count and found.object_count > 5
    assert seen == list(result.attempts) and seen[0].answer is AnswerKind.UA
    assert result.elapsed < 5


@pytest.mark.parametrize("options, baud, size", [
    ({"serial_baud": 19200}, 19200, 4),
    ({"serial_baud": 38400, "address_sizes": (1,)}, 38400, 1),
    ({"address_sizes": (2,)}, 9600, 2),
])
def test_emulated_line_settings_and_address_sizes(options, baud, size):
    meter, line = emulated(**options)
    with meter:
        result = find_serial("EMULATED", serial_factory=line.serial_factory, **FAST)
    assert result.ok, result.diagnosis
    profile = result.found.profile
    assert (profile.baudrate, profile.address_size, profile.mode_e) == (baud, size, False)
    assert result.found.serial == meter.device.serial
    # Before the hit: silence at the wrong settings, never an exception.
    hit = [a.answer for a in result.attempts].index(AnswerKind.UA)
    assert all(a.answer is AnswerKind.SILENCE for a in result.attempts[:hit])
    # After identify's release the same SNRM is answered again: direct HDLC, not mode E.
    assert result.attempts[-1].description.endswith("SNRM again after the release (still "
                                                    "direct HDLC?)")
    assert result.attempts[-1].answer is AnswerKind.UA


def test_mode_e_only_meter_found_through_the_sign_on():
    meter, line = emulated(mode_e_only=True, inactivity_timeout=1.0)
    with meter:
        result = find_serial("EMULATED", serial_factory=line.serial_factory, **FAST)
        assert result.ok, result.diagnosis
        profile = result.found.profile
        assert profile.mode_e and profile.baudrate == 9600 and profile.is_valid
        sign_on = [a for a in result.attempts if a.answer is AnswerKind.MODE_E_IDENT]
        assert len(sign_on) == 1 and sign_on[0].tx.startswith(b"/?!\r\n")
        # The found settings work on their own: a new mode E session after the meter's timeout.
        time.sleep(1.1)
        transport = ModeETransport(SerialTransport("EMULATED", serial_factory=line.serial_factory),
                                   ack_baud=profile.baudrate)
        again = identify(profile, transport=transport, response_timeout=2.0)
        assert again.serial == meter.device.serial


def test_7e1_mode_e_meter_signs_on_but_hdlc_stays_silent():
    meter, line = emulated(mode_e_only=True, serial_format="7E1", inactivity_timeout=1.0)
    with meter:
        result = find_serial("EMULATED", serial_factory=line.serial_factory, bauds=(9600,),
                             **FAST)
    assert not result.ok and not result.cancelled
    assert result.diagnosis.code == "no-answer" and "mode E" in result.diagnosis.title


def test_budget_is_respected_on_a_dead_line():
    meter, line = emulated(serial_format="7E1")  # a plain 7E1 meter never decodes our 8N1 SNRM
    with meter:
        started = time.monotonic()
        result = find_serial("EMULATED", serial_factory=line.serial_factory, budget_s=1.0,
                             probe_timeout=0.3)
        took = time.monotonic() - started
    assert not result.ok and result.budget_exhausted and not result.cancelled
    assert took < 1.6 and result.diagnosis.code == "no-answer"
    assert all(a.answer is AnswerKind.SILENCE for a in result.attempts)


def test_cancel_stops_the_search_quickly():
    meter, line = emulated(serial_format="7E1")
    token = CancelToken()
    with meter:
        threading.Timer(0.4, token.cancel).start()
        started = time.monotonic()
        result = find_serial("EMULATED", serial_factory=line.serial_factory, cancel=token,
                             probe_timeout=0.3)
        took = time.monotonic() - started
    assert result.cancelled and not result.ok and not result.budget_exhausted
    assert took < 0.9


def test_missing_port_is_diagnosed_without_attempts():
    meter = SimulatedMeter()
    line = EmulatedSerialMeter(meter, port="COM7")
    with meter:
        result = find_serial("COM9", serial_factory=line.serial_factory, **FAST)
    assert not result.ok and result.attempts == () and result.diagnosis.code == "no-port"


def test_budget_must_be_positive():
    with pytest.raises(ValueError):
        find_serial("X", budget_s=0)


# -- echo, slow answers, a mode E meter left in HDLC mode, realistic mode E timing -----------------

def test_echoing_adapter_is_skipped_and_reported():
    meter = SimulatedMeter()
    line = EmulatedSerialMeter(meter, echo=True)
    with meter:
        result = find_serial("EMULATED", serial_factory=line.serial_factory, **FAST)
    assert result.ok, result.diagnosis
    first = result.attempts[0]
    assert first.rx.startswith(first.tx) and first.answer is AnswerKind.UA
    assert any("echoes what we send" in note for note in result.found.notes)


def test_echo_without_a_meter_is_silence_with_an_echo_diagnosis():
    meter = SimulatedMeter(serial_format="7E1")  # never decodes our 8N1 SNRM: only the echo
    line = EmulatedSerialMeter(meter, echo=True)
    with meter:
        result = find_serial("EMULATED", serial_factory=line.serial_factory, bauds=(9600,),
                             mode_e=False, **FAST)
    assert not result.ok
    assert all(a.answer is AnswerKind.SILENCE and a.rx == a.tx for a in result.attempts)
    assert result.diagnosis.code == "no-answer"
    assert "echoes what we send" in result.diagnosis.explanation


def test_a_ua_arriving_just_after_the_probe_timeout_is_not_dropped():
    meter = SimulatedMeter()
    line = EmulatedSerialMeter(meter, reply_delay=0.3)  # answers 0.1 s after the 0.2 s wait
    with meter:
        result = find_serial("EMULATED", serial_factory=line.serial_factory, **FAST)
    assert result.ok, result.diagnosis
    profile = result.found.profile
    # The UA belongs to the first probe (4-byte 1/256), not to the probe during which it came.
    assert (profile.address_size, profile.server_physical, profile.baudrate) == (4, 256, 9600)
    assert result.attempts[0].answer is AnswerKind.SILENCE
    assert result.found.serial == meter.device.serial


def test_mode_e_meter_left_in_hdlc_mode_is_reported_as_mode_e():
    meter, line = emulated(mode_e_only=True, inactivity_timeout=30.0)
    with meter:
        # An earlier session signs on and leaves without DISC: the meter stays in HDLC at 9600.
        earlier = ModeETransport(SerialTransport("EMULATED", serial_factory=line.serial_factory))
        earlier.open()
        earlier.write(bytes.fromhex("7EA00A000204012193") + b"")  # noqa: ISC001 - SNRM body
        earlier.close()
        result = find_serial("EMULATED", serial_factory=line.serial_factory, **FAST)
    assert result.ok, result.diagnosis
    assert result.attempts[0].answer is AnswerKind.UA  # direct HDLC at once …
    again = result.attempts[-1]
    assert "SNRM again after the release" in again.description
    assert again.answer is AnswerKind.SILENCE  # … but not after identify's DISC
    assert result.found.profile.mode_e is True
    assert any("mode E" in note for note in result.found.notes)


def test_mode_e_with_realistic_timing_at_the_default_timeouts():
    # IEC 62056-21: a reaction time up to 1.5 s, then 33 ms a character at 300 Bd.
    meter = SimulatedMeter(mode_e_only=True, inactivity_timeout=1.0)
    line = EmulatedSerialMeter(meter, wire_time=True, sign_on_delay=1.5)
    with meter:
        started = time.monotonic()
        result = find_serial("EMULATED", serial_factory=line.serial_factory)
        took = time.monotonic() - started
    assert result.ok, result.diagnosis
    assert result.found.profile.mode_e and result.found.serial == meter.device.serial
    assert took < 10
