"""Session against in-memory meters behind a FakeTransport: the simulator's protocol glue for the
normal cases, scripted frames and silenced/cut lines for the failures."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from session_meter import MeterLine, Recorder, build_meter, open_session, settings

from meterreader.client import (AccessDenied, AssociationRejected, Cancelled, ConnectionFailed,
                                ConnectionLost, ConnectionSettings, MeterNotAnswering,
                                ObjectUndefined, Quirks, ServiceFailed, Session, SessionNotReady,
                                SessionState)
from meterreader.cosem.interface_classes import AttributeAccessMode
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import D, DataTag
from meterreader.dlms.hdlc import FrameType, HdlcAddress, HdlcFrame, decode_frame, encode_frame
from meterreader.dlms.hdlc.params import parameters_from_info
from meterreader.dlms.initiate import Conformance
from meterreader.dlms.xdlms import DataAccessResult
from meterreader.transport import CancelToken, FakeTransport

CLOCK = "0.0.1.0.0.255"
ENERGY = "1.0.1.8.0.255"
RLRQ_TAG, RLRE_TAG = 0x62, 0x63


@pytest.fixture(scope="module")
def meter():
    return build_meter()


# -- association ----------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["wrapper", "hdlc"])
@pytest.mark.parametrize("association", ["pc", "mr", "us"])
def test_connect_each_association_then_close_releases(meter, association, framing):
    rec = Recorder()
    session, line = open_session(meter, association, framing, recorder=rec)
    assert session.state is SessionState.READY
    assert session.conformance & Conformance.GET
    assert isinstance(session.read_clock(), dt.datetime)
    session.close()
    assert session.state is SessionState.CLOSED
    assert not line.transport.is_open and line.transport.close_count == 1
    sent, received = rec.apdus("tx"), rec.apdus("rx")
    assert sent[-1][0] == RLRQ_TAG and received[-1][0] == RLRE_TAG
    if framing == "hdlc":
        frames = [d for (dirn, layer, d, _) in rec.trace if dirn == "tx" and layer == "hdlc"]
        last_frame = frames[-1]
        assert decode_frame(last_frame)[0].frame_type is FrameType.DISC
    stats = session.stats
    assert stats.frames_sent > 0 and stats.frames_received > 0
    assert stats.bytes_sent == sum(len(w) for w in line.transport.writes)
    assert stats.round_trips >= 3 and stats.apdus_sent >= 3 and stats.apdus_received >= 3
    session.close()  # a second close is harmless


def test_hdlc_proposes_the_largest_parameters_and_uses_the_granted_ones(meter):
    rec = Recorder()
    session, line = open_session(meter, "pc", "hdlc", recorder=rec)
    snrm, _ = decode_frame(line.transport.writes[0])
    assert snrm.frame_type is FrameType.SNRM
    proposal = parameters_from_info(snrm.info)
    assert (proposal.max_info_field_length_transmit, proposal.max_info_field_length_receive,
            proposal.window_size_transmit, proposal.window_size_receive) == (2030, 2030, 7, 7)
    # IS 15959 4-byte server address 1/256: 00 02 04 01.
    assert line.transport.writes[0][3:7] == bytes.fromhex("00020401")
    stats = session.stats
    assert (stats.max_info_field_receive, stats.window_receive) == (1024, 7)  # the simulator's
    assert stats.server_max_pdu_size == 0xFFFF
    session.close()


def test_wrong_password_is_rejected_with_authentication_failure(meter):
    line = MeterLine(meter, "hdlc")
    session = Session(line.transport, settings("mr", "hdlc", password=b"wrong!!!"))
    with pytest.raises(AssociationRejected, match="authentication failure") as info:
        session.connect()
    assert info.value.authentication_failed
    assert session.state is SessionState.CLOSED and not line.transport.is_open
    assert decode_frame(line.transport.writes[-1])[0].frame_type is FrameType.DISC


def test_wrong_hls_key_is_rejected(meter):
    session, _ = open_session(meter, "us", connect=False, key=b"0" * 16)
    with pytest.raises(AssociationRejected, match="authentication failure"):
        session.connect()


def test_trace_never_shows_the_password_and_describes_every_layer(meter):
    rec = Recorder()
    session, line = open_session(meter, "mr", "hdlc", recorder=rec)
    session.close()
    assert b"12345678" in line.transport.written  # it did go to the meter
    assert all(b"12345678" not in data for (_, _, data, _) in rec.trace)
    layers = {(d, layer) for (d, layer, _, _) in rec.trace}
    assert {("tx", "hdlc"), ("rx", "hdlc"), ("tx", "apdu"), ("rx", "apdu")} <= layers
    descriptions = [text for (_, _, _, text) in rec.trace]
    assert descriptions[0].startswith("SNRM P/F info 2030/2030 window 7/7")
    assert "AARQ" in descriptions and "AARE accepted" in descriptions
    assert "I N(S)=0 N(R)=0 P/F 59 bytes" in descriptions  # the AARQ in its I-frame
    assert descriptions[-2:] == ["DISC P/F", "UA P/F"]


# -- services -------------------------------------------------------------------------------------

def test_get_set_action_and_typed_refusals():
    session, _ = open_session(build_meter(), "us")  # its own meter: the MD reset changes it
    period = session.get(1, "1.0.0.8.0.255", 2)
    assert period.tag is DataTag.LONG_UNSIGNED
    session.set(1, "1.0.0.8.0.255", 2, D.long_unsigned(1800))
    assert session.get(1, "1.0.0.8.0.255", 2).value == 1800
    session.set(1, "1.0.0.8.0.255", 2, period)
    assert session.action(9, "0.0.10.0.1.255", 1, D.long_unsigned(1)) is None
    with pytest.raises(ObjectUndefined, match=r"reading 1\.2\.3\.4\.5\.6 attribute 2 "
                                              r"\(value\) of class 3"):
        session.get(3, "1.2.3.4.5.6", 2)
    with pytest.raises(AccessDenied, match=r"writing 0\.0\.1\.0\.0\.255 attribute 4 "
                                           r"\(status\).*read-write-denied") as info:
        session.set(8, CLOCK, 4, D.unsigned(0))
    assert info.value.result is DataAccessResult.READ_WRITE_DENIED
    assert session.is_ready  # refusals leave the session usable
    assert session.read_clock() is not None
    session.close()


def test_public_client_is_denied_what_it_may_not_read(meter):
    session, _ = open_session(meter, "pc")
    objects = {o.logical_name: o for o in session.object_list()}
    clock = objects[Obis.parse(CLOCK)]
    assert clock.attribute_access[5] is AttributeAccessMode.NO_ACCESS
    with pytest.raises(AccessDenied, match="0.0.1.0.0.255 attribute 5"):
        session.get(8, CLOCK, 5)
    with pytest.raises(ServiceFailed):  # not in the PC's object list at all
        session.get(3, ENERGY, 2)
    session.close()


def test_get_many_uses_with_list_chunked_to_max_list_items(meter):
    rec = Recorder()
    session, _ = open_session(meter, "mr", recorder=rec, quirks=Quirks(max_list_items=2))
    before = len(rec.apdus("tx"))
    values = session.get_many([(8, CLOCK, 2), (3, ENERGY, 2), (3, ENERGY, 3),
                               (3, "1.2.3.4.5.6", 2)])
    requests = rec.apdus("tx")[before:]
    assert [r[:2] for r in requests] == [b"\xc0\x03", b"\xc0\x03"]  # two get-request-with-list
    assert values[0].tag in (DataTag.OCTET_STRING, DataTag.DATE_TIME)
    assert values[1].tag is DataTag.DOUBLE_LONG_UNSIGNED
    assert values[2].tag is DataTag.STRUCTURE
    assert values[3] is DataAccessResult.OBJECT_UNDEFINED
    session.close()


def test_get_many_is_sequential_without_multiple_references(meter):
    rec = Recorder()
    conformance = ConnectionSettings().proposed_conformance & ~Conformance.MULTIPLE_REFERENCES
    session, _ = open_session(meter, "mr", recorder=rec, proposed_conformance=conformance)
    before = len(rec.apdus("tx"))
    values = session.get_many([(3, ENERGY, 2), (3, ENERGY, 3)])
    assert [r[:2] for r in rec.apdus("tx")[before:]] == [b"\xc0\x01", b"\xc0\x01"]
    assert len(values) == 2
    session.close()


def test_read_register_applies_the_scaler_and_reads_it_once(meter):
    rec = Recorder()
    session, _ = open_session(meter, "mr", recorder=rec)
    scaler, unit = (v.value for v in session.get(3, ENERGY, 3).value)
    first = session.read_register(ENERGY)
    assert first.scaler == scaler and first.unit == unit == 30 and first.unit_text == "Wh"
    assert first.value == pytest.approx(first.raw * 10 ** scaler)
    before = len(rec.apdus("tx"))
    session.read_register(ENERGY)
    assert [r[:2] for r in rec.apdus("tx")[before:]] == [b"\xc0\x01"]  # the value only
    md = session.read_register("1.0.1.6.0.255")  # an extended register (class 4)
    assert md.unit_text == "W" and isinstance(md.capture_time, dt.datetime)
    session.close()


def test_object_list_and_logical_devices(meter):
    rec = Recorder()
    session, _ = open_session(meter, "mr", recorder=rec)
    objects = session.object_list()
    by_name = {o.logical_name: o for o in objects}
    block_load = by_name[Obis.parse("1.0.99.1.0.255")]
    assert block_load.class_id == 7 and block_load.class_name == "Profile generic"
    assert block_load.can_read(2) and not block_load.can_write(2)
    assert by_name[Obis.parse(CLOCK)].name == "Clock"
    count = len(rec.apdus("tx"))
    assert session.object_list() == objects  # cached
    assert len(rec.apdus("tx")) == count
    devices = session.logical_devices()
    assert [d.sap for d in devices] == [1, 2]
    sap, name = devices[0]
    assert sap == 1 and name.startswith("MRD")
    session.close()


def test_operations_need_a_ready_session(meter):
    session, _ = open_session(meter, "pc", connect=False)
    with pytest.raises(SessionNotReady, match="connect"):
        session.get(8, CLOCK, 2)
    session.connect()
    with pytest.raises(SessionNotReady):
        session.connect()
    session.close()


# -- link failures --------------------------------------------------------------------------------

def test_hdlc_retransmits_when_an_answer_is_lost(meter):
    session, line = open_session(meter, "mr", "hdlc")
    frames = line.frames_out
    line.drop = lambda n, frame: n == frames  # the next frame the meter sends is lost
    assert session.read_clock() is not None
    assert session.stats.retransmissions == 1
    session.close()


def test_silent_hdlc_meter_gives_meter_not_answering_after_the_retries(meter):
    line = MeterLine(meter, "hdlc")
    line.silent = True
    session = Session(line.transport, settings("pc", "hdlc", response_timeout=0.05, retries=3))
    started = time.monotonic()
    with pytest.raises(MeterNotAnswering) as info:
        session.connect()
    elapsed = time.monotonic() - started
    assert str(info.value).startswith(
        "no answer from the meter within 0.05 s (3 retries) — check cable/probe, baud rate, "
        "server address")
    snrms = [w for w in line.transport.writes if decode_frame(w)[0].frame_type is FrameType.SNRM]
    assert len(snrms) == 4  # the first and three repetitions
    assert 0.15 <= elapsed < 1.0
    assert session.state is SessionState.CLOSED and not line.transport.is_open


def test_meter_stops_answering_in_the_middle(meter):
    session, line = open_session(meter, "mr", "hdlc", response_timeout=0.05, retries=2)
    line.silent = True
    with pytest.raises(MeterNotAnswering, match="2 retries"):
        session.get(3, ENERGY, 2)
    assert session.state is SessionState.CLOSED and not line.transport.is_open
    with pytest.raises(SessionNotReady):
        session.get(3, ENERGY, 2)


def test_silent_wrapper_meter_times_out_once(meter):
    session, line = open_session(meter, "pc", response_timeout=0.05)
    line.silent = True
    with pytest.raises(MeterNotAnswering, match="wPort 1"):
        session.get(8, CLOCK, 2)
    assert session.stats.retransmissions == 0


def _ua_or_dm(frame_type: FrameType):
    def respond(data: bytes) -> bytes:
        sent, _ = decode_frame(data)
        return encode_frame(HdlcFrame(destination=sent.source, source=sent.destination,
                                      frame_type=frame_type, poll_final=True))
    return respond


def test_dm_to_snrm_is_a_connection_failure():
    transport = FakeTransport(responder=_ua_or_dm(FrameType.DM))
    session = Session(transport, settings("pc", "hdlc"))
    with pytest.raises(ConnectionFailed, match="answered the SNRM with DM"):
        session.connect()
    assert not transport.is_open


def test_frames_for_another_address_are_ignored_then_not_answering():
    def respond(data: bytes) -> bytes:  # a UA from server 1/17 to client 16: not our meter
        return encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                      source=HdlcAddress.server(1, 17, size=4),
                                      frame_type=FrameType.UA, poll_final=True))
    transport = FakeTransport(responder=respond)
    session = Session(transport, settings("pc", "hdlc", response_timeout=0.05, retries=1))
    with pytest.raises(MeterNotAnswering, match=r"server address \(1/256"):
        session.connect()


def test_connection_lost_closes_the_session(meter):
    session, line = open_session(meter, "mr")
    line.transport.feed_eof()
    with pytest.raises(ConnectionLost):
        session.get(3, ENERGY, 2)
    assert session.state is SessionState.CLOSED


def test_garbage_from_the_peer_is_a_protocol_error_and_closes(meter):
    from meterreader.dlms.errors import RemoteProtocolError
    session, line = open_session(meter, "pc")
    line.silent = True
    line.transport.feed(b"\x00\x01\x00\x01\x00\x10\x00\x03\xff\xff\xff")  # not an APDU
    with pytest.raises(RemoteProtocolError):
        session.get(8, CLOCK, 2)
    assert session.state is SessionState.CLOSED


# -- cancel ---------------------------------------------------------------------------------------

def test_cancel_during_a_read_raises_quickly_and_leaves_the_session_closable(meter):
    token = CancelToken()
    line = MeterLine(meter, "hdlc")
    session = Session(line.transport, settings("mr", "hdlc", response_timeout=5.0),
                      cancel=token)
    session.connect()
    line.transport.response_delay = 2.0
    timer = threading.Timer(0.1, token.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        session.get(3, ENERGY, 2)
    assert time.monotonic() - started < 0.35
    assert session.state is SessionState.BROKEN
    with pytest.raises(SessionNotReady, match="cancelled"):
        session.get(3, ENERGY, 2)
    line.transport.response_delay = 0.0
    session.close()  # releases although the token is still set
    assert session.state is SessionState.CLOSED and not line.transport.is_open
    assert decode_frame(line.transport.writes[-1])[0].frame_type is FrameType.DISC


def test_cancelled_token_stops_connect_before_any_traffic(meter):
    token = CancelToken()
    token.cancel()
    line = MeterLine(meter)
    session = Session(line.transport, settings("pc"), cancel=token)
    with pytest.raises(Cancelled):
        session.connect()
    assert line.transport.writes == [] and session.state is SessionState.CLOSED


# -- keep-alive and stats -------------------------------------------------------------------------

def test_keep_alive_reads_the_clock_only_when_idle(meter):
    rec = Recorder()
    session, _ = open_session(meter, "pc", recorder=rec, keep_alive_interval=0.05)
    count = len(rec.apdus("tx"))
    assert session.keep_alive() is False
    time.sleep(0.06)
    assert session.keep_alive() is True
    assert len(rec.apdus("tx")) == count + 1
    assert session.stats.last_operation.startswith("GET 0.0.1.0.0.255")
    session.close()
    assert session.keep_alive() is False


def test_context_manager_connects_and_closes(meter):
    line = MeterLine(meter)
    with Session(line.transport, settings("pc")) as session:
        assert session.is_ready
    assert session.state is SessionState.CLOSED and line.transport.close_count == 1


def test_noise_only_peer_runs_into_the_response_timeout():
    """A peer that keeps sending bytes that never form a valid frame is not an answer."""
    import threading
    import time as _time

    from meterreader.client import ConnectionSettings, MeterNotAnswering, Session
    from meterreader.transport import FakeTransport

    transport = FakeTransport()
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            transport.feed(b"\x55\xAA\x13" * 4)
            _time.sleep(0.02)

    threading.Thread(target=babble, daemon=True).start()
    settings = ConnectionSettings.for_association("pc", framing="hdlc", response_timeout=0.3,
                                                  retries=1)
    started = _time.monotonic()
    try:
        with pytest.raises(MeterNotAnswering):
            Session(transport, settings).connect()
    finally:
        stop.set()
    assert _time.monotonic() - started < 5
