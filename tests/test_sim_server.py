"""The simulator's protocol glue (meterreader.simulator.server): sessions fed bytes directly, and
end to end over the TCP wrapper, HDLC over TCP and a pty with every association and service."""

from __future__ import annotations

import logging
import math

import pytest

from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.hdlc import (FrameReader, FrameType, HdlcAddress, HdlcFrame, HdlcParameters,
                                   encode_frame)
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.wrapper import WrapperFrame, WrapperReader
from meterreader.dlms.xdlms.common import (CaptureObjectDefinition, EntryDescriptor,
                                           RangeDescriptor, SelectiveAccessDescriptor)
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server import Framing, MeterServer, ServerOptions, split_hdlc_frames
from sim_driver import AK, EK, open_client

CLOCK = "0.0.1.0.0.255"
ENERGY = "1.0.1.8.0.255"
BLOCK_LOAD = "1.0.99.1.0.255"
BILLING_COUNT = "0.0.0.1.0.255"
MD_RESET = "0.0.10.0.1.255"
KINDS = ("wrapper", "hdlc", "pty")
ASSOCIATIONS = ("PC", "MR", "US", "CIPHERED")


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter("C", seed=7, ciphered_client=64, encryption_key=EK,
                        authentication_key=AK) as m:
        m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True),
                     "pty": m.serve_pty()}
        yield m


@pytest.fixture
def connect(meter):
    clients = []

    def make(kind, association, **kw):
        client = open_client(kind, meter.targets[kind], association, **kw)
        clients.append(client)
        return client
    yield make
    for client in clients:
        client.close()


def associated(connect, kind, association, **kw):
    client = connect(kind, association, **kw)
    result = client.associate()
    assert isinstance(result, ev.AssociationAccepted), result
    return client


# -- end to end: every medium × every association ------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("association", ASSOCIATIONS)
def test_associate_get_clock_and_release(connect, kind, association):
    client = associated(connect, kind, association)
    clock = client.get(8, CLOCK, 2)
    assert clock.tag is DataTag.OCTET_STRING and len(clock.value) == 12
    assert CosemDateTime.from_bytes(clock.value).year >= 2024
    energy = client.get(3, ENERGY, 2)
    if association == "PC":  # not in the public client's object list
        assert energy is x.DataAccessResult.OBJECT_UNDEFINED
    else:
        assert energy.tag is DataTag.DOUBLE_LONG_UNSIGNED and energy.value > 0
        scaler_unit = client.get(3, ENERGY, 3)
        assert scaler_unit.tag is DataTag.STRUCTURE
        assert scaler_unit.value[1] == Data(DataTag.ENUM, 30)  # Wh
    assert isinstance(client.release(), ev.Released)


@pytest.mark.parametrize("kind", ("wrapper", "hdlc"))
def test_get_with_list_mixes_values_and_results(connect, kind):
    client = associated(connect, kind, "MR")
    result = client.request(ev.GetList(descriptors=(
        x.CosemAttributeDescriptor(class_id=8, instance_id=Obis.parse(CLOCK), attribute_id=2),
        x.CosemAttributeDescriptor(class_id=3, instance_id=Obis.parse(ENERGY), attribute_id=3),
        x.CosemAttributeDescriptor(class_id=3, instance_id=Obis(9, 9, 9, 9, 9, 9),
                                   attribute_id=2),
        x.CosemAttributeDescriptor(class_id=1, instance_id=Obis.parse(ENERGY), attribute_id=2))))
    assert isinstance(result, ev.GetListResult)
    clock, scaler_unit, unknown, wrong_class = result.values
    assert len(clock.value) == 12 and scaler_unit.tag is DataTag.STRUCTURE
    assert unknown is x.DataAccessResult.OBJECT_UNDEFINED
    assert wrong_class is x.DataAccessResult.OBJECT_CLASS_INCONSISTENT


def _fill_block_load(meter, rows):
    """Refill the block load profile with ``rows`` entries ending now (test-only helper)."""
    runtime = meter.device.model
    block = runtime.profiles["block"]
    period = block.capture_period
    with meter.server.lock:
        block.profile_entries = rows
        block.reset()
        last = math.floor(runtime.clock.now().timestamp() / period) * period
        times = [last - k * period for k in range(rows - 1, -1, -1)]
        cells = runtime.compile(block)
        block.append_rows((runtime.row(cells, t, (t - period, t)) for t in times), times)
    return block


@pytest.fixture(scope="module")
def big_meter():
    with SimulatedMeter("C", seed=3) as m:
        block = _fill_block_load(m, 10_000)
        m.block = block
        m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True),
                     "pty": m.serve_pty()}
        yield m


@pytest.mark.parametrize("kind", ("hdlc", "pty"))
def test_whole_10k_row_profile_over_hdlc_media(big_meter, kind):
    """All 10 000 rows (not only the tail) through HDLC segmentation and GET datablocks."""
    client = open_client(kind, big_meter.targets[kind], "MR", pdu=4096, parameters=HdlcParameters(
        max_info_field_length_transmit=512, max_info_field_length_receive=2030,
        window_size_transmit=7, window_size_receive=7))
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        buffer = client.get(7, BLOCK_LOAD, 2)
        blocks = [e for e in client.dlms_events if isinstance(e, ev.BlockReceived)]
    finally:
        client.close()
    assert len(buffer.value) == 10_000 and buffer.value == big_meter.block.rows
    assert len(blocks) > 100 and blocks[-1].last


def test_block_transfer_of_a_10k_row_profile(big_meter):
    client = open_client("wrapper", big_meter.targets["wrapper"], "MR", pdu=512)
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        buffer = client.get(7, BLOCK_LOAD, 2)
        blocks = [e for e in client.dlms_events if isinstance(e, ev.BlockReceived)]
    finally:
        client.close()
    assert buffer.tag is DataTag.ARRAY and len(buffer.value) == 10_000
    assert buffer.value == big_meter.block.rows
    assert len(blocks) > 100 and blocks[-1].last


def test_block_transfer_over_hdlc_segments_and_datablocks(big_meter):
    client = open_client("hdlc", big_meter.targets["hdlc"], "MR", pdu=256)
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        selection = SelectiveAccessDescriptor.entry(EntryDescriptor(from_entry=9_801,
                                                                    to_entry=10_000))
        buffer = client.get(7, BLOCK_LOAD, 2, selection)
        blocks = [e for e in client.dlms_events if isinstance(e, ev.BlockReceived)]
    finally:
        client.close()
    assert buffer.value == big_meter.block.rows[9_800:]
    assert len(blocks) > 10


@pytest.mark.parametrize("kind", ("wrapper", "pty"))
def test_selective_access_by_range_and_by_entry(connect, meter, kind):
    client = associated(connect, kind, "MR", pdu=1024)
    rows = meter.device.model.profiles["block"].rows
    clock_column = CaptureObjectDefinition(class_id=8, logical_name=Obis.parse(CLOCK),
                                           attribute_index=2, data_index=0)
    first, last = rows[10].value[0], rows[14].value[0]
    by_range = client.get(7, BLOCK_LOAD, 2, SelectiveAccessDescriptor.range(RangeDescriptor(
        restricting_object=clock_column, from_value=first, to_value=last)))
    assert by_range.value == rows[10:15]
    by_entry = client.get(7, BLOCK_LOAD, 2, SelectiveAccessDescriptor.entry(EntryDescriptor(
        from_entry=3, to_entry=5, from_selected_value=1, to_selected_value=2)))
    assert [r.value for r in by_entry.value] == [r.value[:2] for r in rows[2:5]]


@pytest.mark.parametrize("kind", ("wrapper", "hdlc"))
def test_set_by_utility_settings_persists(connect, kind):
    client = associated(connect, kind, "US")
    value = Data(DataTag.DOUBLE_LONG_UNSIGNED, 1800 if kind == "wrapper" else 900)
    assert client.set(7, BLOCK_LOAD, 4, value) is x.DataAccessResult.SUCCESS
    client.release()
    reader = associated(connect, kind, "MR")
    assert reader.get(7, BLOCK_LOAD, 4) == value


def test_md_reset_increments_billing_count(connect):
    client = associated(connect, "wrapper", "US")
    before = client.get(1, BILLING_COUNT, 2).value
    result = client.action(9, MD_RESET, 1, Data(DataTag.LONG_UNSIGNED, 1))
    assert isinstance(result, ev.ActionResult) and result.result is x.ActionResult.SUCCESS
    assert client.get(1, BILLING_COUNT, 2).value == before + 1


@pytest.mark.parametrize("kind", ("wrapper", "hdlc"))
def test_public_client_may_not_set_or_act(connect, kind):
    client = associated(connect, kind, "PC")
    clock = client.get(8, CLOCK, 2)
    assert client.set(8, CLOCK, 2, clock) is x.DataAccessResult.READ_WRITE_DENIED
    result = client.action(9, MD_RESET, 1, Data(DataTag.LONG_UNSIGNED, 1))
    assert result.result in (x.ActionResult.READ_WRITE_DENIED, x.ActionResult.OBJECT_UNDEFINED)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("association,secret", [("MR", {"password": b"87654321"}),
                                                ("US", {"hls_key": b"2222222222222222"})])
def test_wrong_secret_is_rejected(connect, kind, association, secret):
    client = connect(kind, association, **secret)
    result = client.associate()
    assert isinstance(result, ev.AssociationRejected)
    good = associated(connect, "wrapper", association)  # the meter is fine afterwards
    assert good.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING


def test_second_logical_device_has_its_own_objects(connect, meter):
    client = open_client("wrapper", meter.targets["wrapper"], "MR", logical=2)
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        name = client.get(1, "0.0.42.0.0.255", 2)
        assert name.value == meter.device.logical_device(2).name
        assert client.get(7, BLOCK_LOAD, 2) is x.DataAccessResult.OBJECT_UNDEFINED
    finally:
        client.close()


# -- sessions fed directly (no sockets) ---------------------------------------------------------

@pytest.fixture(scope="module")
def small_server():
    meter = SimulatedMeter("A", seed=2, physical_address=17)
    return meter.server


def _snrm(destination: HdlcAddress, client: int = 16) -> bytes:
    return encode_frame(HdlcFrame(destination=destination, source=HdlcAddress.client(client),
                                  frame_type=FrameType.SNRM, poll_final=True))


@pytest.mark.parametrize("address", [HdlcAddress.server(1), HdlcAddress.server(1, 17),
                                     HdlcAddress.server(1, 17, size=4),
                                     HdlcAddress.server(2, 17, size=4)])
def test_hdlc_server_address_of_any_size_is_answered(small_server, address):
    session = small_server.session(Framing.HDLC, "test")
    frames = session.receive_data(_snrm(address))
    assert len(frames) == 1
    [ua] = FrameReader().feed(frames[0])
    assert ua.frame_type is FrameType.UA and ua.source == address


@pytest.mark.parametrize("address", [HdlcAddress.server(3, 17), HdlcAddress.server(1, 18),
                                     HdlcAddress.server(1, 256, size=4),
                                     HdlcAddress.server(0x7F, 0x7F)])
def test_frames_to_another_address_get_no_answer(small_server, address):
    session = small_server.session(Framing.HDLC, "test")
    assert session.receive_data(_snrm(address)) == []
    assert session.receive_data(_snrm(HdlcAddress.server(1, 17))) != []


def test_wrapper_packet_to_unknown_logical_device_is_ignored(small_server):
    session = small_server.session(Framing.WRAPPER)
    aarq = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF")
    assert session.receive_data(WrapperFrame(source_wport=16, destination_wport=9,
                                             data=aarq).encode()) == []
    [answer] = session.receive_data(WrapperFrame(source_wport=16, destination_wport=1,
                                                 data=aarq).encode())
    [packet] = WrapperReader().feed(answer)
    assert (packet.source_wport, packet.destination_wport) == (1, 16)
    assert packet.data[0] == 0x61  # AARE


def _wrapped(apdu: bytes, sap: int = 16) -> bytes:
    return WrapperFrame(source_wport=sap, destination_wport=1, data=apdu).encode()


def _apdus(frames):
    return [p.data for f in frames for p in WrapperReader().feed(f)]


GET_CLOCK = bytes.fromhex("C001C100080000010000FF0200")
AARQ_PC = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF")


def test_get_before_association_is_refused_and_session_survives(small_server):
    session = small_server.session(Framing.WRAPPER)
    [refusal] = _apdus(session.receive_data(_wrapped(GET_CLOCK)))
    assert refusal == x.ExceptionResponse(state_error=x.StateError.SERVICE_NOT_ALLOWED,
                                          service_error=x.ServiceError.OPERATION_NOT_POSSIBLE
                                          ).encode()
    [aare] = _apdus(session.receive_data(_wrapped(AARQ_PC)))
    assert aare[0] == 0x61
    [response] = _apdus(session.receive_data(_wrapped(GET_CLOCK)))
    assert response[:4] == bytes.fromhex("C401C100") and response[4] == 0x09


def test_invalid_apdu_is_answered_and_forgets_the_association(small_server):
    session = small_server.session(Framing.WRAPPER)
    _apdus(session.receive_data(_wrapped(AARQ_PC)))
    [answer] = _apdus(session.receive_data(_wrapped(b"\xc0\x01\xc1\x00")))  # truncated GET
    assert answer[0] == x.ApduTag.EXCEPTION_RESPONSE
    [again] = _apdus(session.receive_data(_wrapped(GET_CLOCK)))
    assert again[0] == x.ApduTag.EXCEPTION_RESPONSE  # no association any more
    assert _apdus(session.receive_data(_wrapped(AARQ_PC)))[0][0] == 0x61


def test_broken_wrapper_stream_closes_the_session(small_server):
    session = small_server.session(Framing.WRAPPER)
    assert session.receive_data(b"\x47\x45\x54 / HTTP/1.1\r\n") == []
    assert session.closed


def test_garbage_and_truncated_hdlc_frames_are_dropped(small_server):
    session = small_server.session(Framing.HDLC)
    snrm = _snrm(HdlcAddress.server(1, 17))
    assert session.receive_data(b"\x00\xffgarbage\x7e\x7e\x7e") == []
    bad_fcs = snrm[:-3] + bytes((snrm[-3] ^ 1,)) + snrm[-2:]
    assert session.receive_data(bad_fcs) == []
    assert session.receive_data(snrm[:6]) == []  # truncated: waits for more, answers nothing
    frames = session.receive_data(b"\x7e" + snrm)
    assert [f.frame_type for f in FrameReader().feed(b"".join(frames))] == [FrameType.UA]


def test_mode_e_sign_on_then_hdlc(small_server):
    server = MeterServer(small_server.device, ServerOptions(physical_address=17, mode_e=True))
    session = server.session(Framing.HDLC)
    assert session.line_baud == 300
    assert session.receive_data(b"/?!\r") == []
    assert session.receive_data(b"\n") == [b"/MRD5\\2@IS15959SIM\r\n"]
    frames = session.receive_data(b"\x06252\r\n" + _snrm(HdlcAddress.server(1, 17)))
    assert session.line_baud == 9600
    assert FrameReader().feed(frames[0])[0].frame_type is FrameType.UA


def test_split_hdlc_frames_cuts_a_window():
    frames = [encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                     source=HdlcAddress.server(1, 17), frame_type=FrameType.I,
                                     n_s=i, poll_final=i == 2, info=bytes([0x7E] * (i + 1))))
              for i in range(3)]
    assert split_hdlc_frames(b"".join(frames)) == frames


def test_policy_follows_the_association_objects(small_server):
    ld = small_server.device.management
    policy = small_server.policy(ld)
    assert {sap: rule.mechanism for sap, rule in policy.clients.items()} == {
        16: MechanismName.NONE, 32: MechanismName.LOW, 48: MechanismName.HIGH}
    assert policy.clients[32].password == SecretBytes(b"12345678")
    assert policy.clients[48].hls_secret == SecretBytes(b"1111111111111111")


def test_verbose_log_decodes_frames_and_masks_the_password(small_server, caplog):
    aarq_mr = bytes.fromhex("6036A1090607608574050801018A0207808B0760857405080201AC0A8008"
                            "3132333435363738BE10040E01000000065F1F0400007E1F04B0")
    session = small_server.session(Framing.WRAPPER, "peer-1")
    with caplog.at_level(logging.DEBUG, logger="meterreader.simulator"):
        [aare] = _apdus(session.receive_data(_wrapped(aarq_mr, sap=32)))
    assert aare[0] == 0x61
    text = caplog.text
    assert "AARQ" in text and "AARE" in text and "peer-1" in text
    assert "31 32 33 34 35 36 37 38" not in text and "3132333435363738" not in text
    assert "12345678" not in text


def test_changed_hls_secret_applies_to_the_next_association():
    with SimulatedMeter("B", seed=5) as meter:
        port = meter.serve_tcp()
        client = open_client("wrapper", port, "US")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            new_key = Data(DataTag.OCTET_STRING, b"ABCDEFGHIJKLMNOP")
            assert client.set(15, "0.0.40.0.3.255", 7, new_key) is x.DataAccessResult.SUCCESS
            assert isinstance(client.release(), ev.Released)
            old = _wrapper_client(port, "US")
            assert isinstance(old.associate(), ev.AssociationRejected)
            old.close()
            new = _wrapper_client(port, "US", hls_key=b"ABCDEFGHIJKLMNOP")
            assert isinstance(new.associate(), ev.AssociationAccepted)
            new.close()
        finally:
            client.close()


def _wrapper_client(port, association, **kw):
    return open_client("wrapper", port, association, **kw)


class _WriteCounter:
    """Counts the writes (one per APDU on the wrapper) of a client line."""

    def __init__(self, line):
        self.line, self.writes = line, 0

    def write(self, data):
        self.writes += 1
        self.line.write(data)

    def __getattr__(self, name):
        return getattr(self.line, name)


def test_set_in_datablocks_when_the_meter_accepts_small_pdus():
    calendar = "0.0.13.0.0.255"
    with SimulatedMeter("C", seed=5, max_pdu_size=128) as meter:
        client = open_client("wrapper", meter.serve_tcp(), "US")
        client.line = counter = _WriteCounter(client.line)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            days = client.get(20, calendar, 9)  # day_profile_table_passive, 160 bytes
            changed = Data(DataTag.ARRAY, tuple(Data(DataTag.STRUCTURE, (day.value[0], Data(
                DataTag.ARRAY, tuple(Data(DataTag.STRUCTURE, (*action.value[:2], Data(
                    DataTag.LONG_UNSIGNED, action.value[2].value + 10)))
                    for action in day.value[1].value)))) for day in days.value))
            before = counter.writes
            assert client.set(20, calendar, 9, changed) is x.DataAccessResult.SUCCESS
            assert counter.writes - before >= 2  # the SET went out in datablocks
            assert client.get(20, calendar, 9) == changed
        finally:
            client.close()


def test_set_with_the_wrong_type_is_refused(connect):
    client = associated(connect, "wrapper", "US")
    result = client.set(7, BLOCK_LOAD, 4, Data(DataTag.VISIBLE_STRING, "900"))
    assert result is x.DataAccessResult.TYPE_UNMATCHED
    assert client.set(3, ENERGY, 2, Data(DataTag.DOUBLE_LONG_UNSIGNED, 0)) \
        is x.DataAccessResult.READ_WRITE_DENIED
