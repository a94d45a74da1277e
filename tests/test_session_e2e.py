"""Session end to end against the simulator (``SimulatedMeter``) over real transports: TCP with
the wrapper, HDLC over TCP, and HDLC on a pty through pyserial."""

from __future__ import annotations

import datetime as dt
import logging
import math

import pytest

from session_meter import START, Recorder

from meterreader.client import (AccessDenied, AssociationRejected, ConnectionLost,
                                ConnectionSettings, Session, SessionState)
from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import D
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.simulator.facade import SimulatedMeter
from meterreader.transport import SerialTransport, TcpTransport

BLOCK_LOAD = "1.0.99.1.0.255"
MEDIA = ["wrapper", "hdlc-tcp", "pty"]


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(category="C", seed=3, start=START, days_of_block_load=7,
                        max_pdu_size=1024) as m:
        m.ports = {"wrapper": m.serve_tcp(), "hdlc-tcp": m.serve_tcp(hdlc=True),
                   "pty": m.serve_pty()}
        yield m


def _transport(meter, medium: str):
    if medium == "pty":
        return SerialTransport(meter.ports["pty"], baudrate=9600)
    return TcpTransport("127.0.0.1", meter.ports[medium])


def _session(meter, medium: str, association: str, recorder: Recorder | None = None,
             **overrides) -> Session:
    framing = "wrapper" if medium == "wrapper" else "hdlc"
    settings = ConnectionSettings.for_association(association, framing=framing,
                                                  response_timeout=2.0, **overrides)
    rec = recorder or Recorder()
    return Session(_transport(meter, medium), settings, on_trace=rec.on_trace,
                   on_progress=rec.on_progress)


@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize("association", ["pc", "mr", "us"])
def test_connect_read_object_list_and_release(meter, medium, association):
    rec = Recorder()
    with _session(meter, medium, association, rec) as session:
        names = {o.logical_name for o in session.object_list()}
        assert Obis.parse("0.0.1.0.0.255") in names
        assert (Obis.parse(BLOCK_LOAD) in names) == (association != "pc")
        assert isinstance(session.read_clock(), dt.datetime)
        stats = session.stats
    assert session.state is SessionState.CLOSED
    assert rec.apdus("rx")[-1][0] == 0x63  # the meter answered the RLRQ with an RLRE
    assert stats.frames_sent and stats.frames_received and stats.bytes_received > 500
    assert stats.round_trips >= 3 and stats.last_operation == "GET 0.0.1.0.0.255:2"


@pytest.mark.parametrize("medium", MEDIA)
def test_meter_reader_registers_lists_and_logical_devices(meter, medium):
    with _session(meter, medium, "mr") as session:
        energy = session.read_register("1.0.1.8.0.255")
        raw_scaler = session.get(3, "1.0.1.8.0.255", 3).value[0].value
        assert energy.unit_text == "Wh" and energy.scaler == raw_scaler
        assert energy.value == pytest.approx(energy.raw * 10 ** raw_scaler)
        voltage = session.read_register("1.0.32.7.0.255")
        assert voltage.unit_text == "V" and 150 < voltage.value < 300
        static = [(3, "1.0.32.7.0.255", 3), (3, "1.0.52.7.0.255", 3), (1, "0.0.96.1.0.255", 2)]
        assert session.get_many(static) == [session.get(*item) for item in static]
        assert session.logical_devices()[0].sap == 1
        with pytest.raises(AccessDenied):
            session.set(1, "1.0.0.8.0.255", 2, D.long_unsigned(900))


@pytest.mark.parametrize("medium", MEDIA)
def test_utility_settings_set_and_action(meter, medium):
    with _session(meter, medium, "us") as session:
        period = session.get(1, "1.0.0.8.0.255", 2)
        session.set(1, "1.0.0.8.0.255", 2, D.long_unsigned(1800))
        assert session.get(1, "1.0.0.8.0.255", 2).value == 1800
        session.set(1, "1.0.0.8.0.255", 2, period)
        billing = session.get(1, "0.0.0.1.0.255", 2).value
        assert session.action(9, "0.0.10.0.1.255", 1, D.long_unsigned(1)) is None
        assert session.get(1, "0.0.0.1.0.255", 2).value == billing + 1  # an MD reset


@pytest.mark.parametrize("medium", MEDIA)
def test_block_load_seven_days_whole_by_range_and_by_entry(meter, medium):
    rec = Recorder()
    with _session(meter, medium, "mr", rec) as session:
        whole = session.read_profile(BLOCK_LOAD)
        assert whole.complete and len(whole.rows) >= 600  # 7 days of 15 min, some outages
        assert whole.blocks > 30 and len(rec.progress) == whole.blocks
        assert rec.progress[-1].rows == len(whole.rows)
        start, end = whole.rows[100][0], whole.rows[195][0]
        by_range = session.read_profile(BLOCK_LOAD, range=(start, end))
        assert by_range.rows == whole.rows[100:196]
        by_entry = session.read_profile(BLOCK_LOAD, entries=(101, 196))
        assert by_entry.rows == by_range.rows
        if medium != "wrapper":
            # Wire efficiency: the meter fills each window of 7 frames; we answer each window
            # with one RR, so a datablock of n frames costs ceil(n / 7) round trips.
            before = session.stats
            session.get(7, BLOCK_LOAD, 2, None)
            after = session.stats
            frames = after.frames_received - before.frames_received
            blocks = after.apdus_received - before.apdus_received
            per_block = math.ceil(frames / blocks)
            assert after.round_trips - before.round_trips <= blocks * math.ceil(per_block / 7)
            assert after.retransmissions == 0


@pytest.mark.parametrize("medium", MEDIA)
def test_wrong_password_is_rejected(meter, medium):
    session = _session(meter, medium, "mr", password=b"87654321")
    with pytest.raises(AssociationRejected, match="authentication failure"):
        session.connect()
    assert session.state is SessionState.CLOSED


def test_partial_profile_kept_when_the_meter_resets_the_connection():
    with SimulatedMeter(category="C", seed=3, start=START, days_of_block_load=7,
                        max_pdu_size=1024, faults=["reset=20000"]) as m:
        port = m.serve_tcp()
        settings = ConnectionSettings.for_association("mr", response_timeout=2.0)
        session = Session(TcpTransport("127.0.0.1", port), settings).connect()
        result = session.read_profile(BLOCK_LOAD)
        assert not result.complete and isinstance(result.error, ConnectionLost)
        assert 100 < len(result.rows) < 600 and result.blocks >= 10
        assert all(isinstance(row[0], dt.datetime) for row in result.rows)
        assert session.state is SessionState.CLOSED


def test_server_sees_the_release_and_the_disconnect():
    log = logging.getLogger("test_session_e2e.simulator")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())
    handler = Collect()
    log.addHandler(handler)
    try:
        with SimulatedMeter(category="C", seed=3, start=START, days_of_block_load=1,
                            logger=log) as m:
            port = m.serve_tcp(hdlc=True)
            settings = ConnectionSettings.for_association("mr", framing="hdlc")
            with Session(TcpTransport("127.0.0.1", port), settings) as session:
                session.read_clock()
    finally:
        log.removeHandler(handler)
    assert any("client 32: ClientReleased" in m for m in messages)
    assert any("] rx " in m and '"frame_type": "DISC"' in m for m in messages)


def test_ciphered_association_with_hls_gmac():
    ek, ak = bytes(range(16)), bytes(range(16, 32))
    with SimulatedMeter(category="C", seed=3, start=START, days_of_block_load=1,
                        ciphered_client=64, encryption_key=ek, authentication_key=ak) as m:
        port = m.serve_tcp()
        settings = ConnectionSettings(
            client_sap=64, mechanism=MechanismName.HIGH_GMAC, ciphering=CipheringMode.GLOBAL,
            keys=SecurityKeys(encryption_key=ek, authentication_key=ak),
            client_system_title=b"MRC00001", response_timeout=2.0)
        rec = Recorder()
        with Session(TcpTransport("127.0.0.1", port), settings, on_trace=rec.on_trace) as s:
            assert s.read_register("1.0.1.8.0.255").unit_text == "Wh"
            assert len(s.read_profile(BLOCK_LOAD, entries=(1, 3)).rows) == 3
        texts = [t for (_, layer, _, t) in rec.trace if layer == "apdu"]
        assert "glo-get-request (ciphered)" in " ".join(texts)
        assert all(ek not in d and ak not in d for (_, _, d, _) in rec.trace)
