"""The simulator's defect switches (meterreader.simulator.defects), seen from the client side over
real sockets: each defect's wrong behaviour on a meter with every defect on, and the correct
behaviour of a clean meter. COSEM-level defects through a Session over the wrapper; HDLC ones
with hand-made frames over raw HDLC/TCP."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time

import pytest

from session_meter import START, Recorder

from meterreader.client import AccessDenied, AssociationRejected, ConnectionSettings, Session
from meterreader.client.errors import ObjectUndefined
from meterreader.cosem.interface_classes import AttributeAccessMode
from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.connection import DlmsConnection, Role as DlmsRole
from meterreader.dlms.connection_settings import AssociationSettings
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.hdlc import (FrameReader, FrameType, HdlcAddress, HdlcFrame,
                                   HdlcParameters, crc16, encode_frame, encode_parameters, fcs,
                                   parameters_from_info)
from meterreader.dlms.xdlms.common import (CaptureObjectDefinition, EntryDescriptor,
                                           RangeDescriptor, SelectiveAccessDescriptor)
from meterreader.india.catalogue import MD_RESET_SCRIPT_ID
from meterreader.india.events import CODE_RANGES, EventCompartment
from meterreader.simulator.defects import (DEFECTS, MISSING_OBJECT, REJECTING_PASSWORD,
                                          WRONG_SCALER_REGISTER, WRONG_ZONE_MINUTES)
from meterreader.simulator.facade import SimulatedMeter
from meterreader.transport import TcpTransport

CLOCK = "0.0.1.0.0.255"
BLOCK_LOAD = "1.0.99.1.0.255"
BILLING_COUNT = "0.0.0.1.0.255"
SCALER_INSTANT = "1.0.94.91.3.255"
INVALID = 0x01
LLC = b"\xe6\xe6\x00"
SERVER = HdlcAddress.server(1, 256, size=4)
CLIENT = HdlcAddress.client(16)
SMALL = HdlcParameters()  # 128 bytes, window 1 each way


def _meter(defects=()) -> SimulatedMeter:
    meter = SimulatedMeter(category="C", seed=5, start=START, days_of_block_load=2,
                           defects=defects)
    meter.wrapper = meter.serve_tcp()
    meter.hdlc = meter.serve_tcp(hdlc=True)
    return meter


@pytest.fixture(scope="module")
def clean():
    with _meter() as meter:
        yield meter


#: Defects that break what another defect tests (same attribute or association): each gets a
#: meter of its own below, the rest share the "broken" meter.
SEPARATE = ("reject-correct-secret", "wrong-declared-access", "bad-time-zone")


@pytest.fixture(scope="module")
def broken():
    with _meter(tuple(d for d in DEFECTS if d not in SEPARATE)) as meter:
        yield meter


@pytest.fixture(scope="module")
def separate():
    with _meter(("wrong-declared-access", "bad-time-zone")) as meter:
        yield meter


def _session(meter, association="pc", recorder=None, **overrides) -> Session:
    settings = ConnectionSettings.for_association(association, response_timeout=3.0,
                                                  **overrides)
    return Session(TcpTransport("127.0.0.1", meter.wrapper), settings,
                   on_trace=recorder.on_trace if recorder else None)


# -- switches ------------------------------------------------------------------------------------

def test_unknown_defect_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="no-such-defect.*known: missing-object"):
        SimulatedMeter(defects=("no-such-defect",))


def test_cli_lists_the_defects_and_refuses_unknown_ones():
    run = [sys.executable, "-m", "meterreader.simulator.cli"]
    listed = subprocess.run(run + ["--defect", "list"], capture_output=True, text=True,
                            timeout=30)
    assert listed.returncode == 0
    lines = listed.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(DEFECTS)
    bad = subprocess.run(run + ["--defect", "nope"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "unknown defect 'nope'" in bad.stderr


# -- association ---------------------------------------------------------------------------------

def test_wrong_password(clean, broken):
    with pytest.raises(AssociationRejected):
        _session(clean, "mr", password="wrong!!").connect()
    with _session(broken, "mr", password="wrong!!") as session:
        assert session.get(8, CLOCK, 2).tag == DataTag.OCTET_STRING


def test_unknown_client(clean, broken):
    with pytest.raises(AssociationRejected):
        _session(clean, "pc", client_sap=99).connect()
    with _session(broken, "pc", client_sap=99) as session:
        assert session.get(8, CLOCK, 3).tag in (DataTag.LONG, DataTag.DOUBLE_LONG)


def test_missing_object(clean, broken):
    with _session(clean, "mr") as session:
        assert MISSING_OBJECT in {o.logical_name for o in session.object_list()}
        assert session.get(1, MISSING_OBJECT, 2) == Data(DataTag.LONG_UNSIGNED, 900)
    for association in ("mr", "us"):
        with _session(broken, association) as session:
            assert MISSING_OBJECT not in {o.logical_name for o in session.object_list()}
            with pytest.raises(ObjectUndefined):
                session.get(1, MISSING_OBJECT, 2)


def test_wrong_access(clean, broken):
    with _session(clean, "mr") as session:
        now = session.get(8, CLOCK, 2)
        with pytest.raises(AccessDenied):
            session.set(8, CLOCK, 2, now)
    with _session(broken, "mr") as session:
        clock = next(o for o in session.object_list() if o.logical_name == Obis.parse(CLOCK))
        assert clock.attribute_access[2] == AttributeAccessMode.READ_ONLY  # as declared …
        before = CosemDateTime.from_bytes(session.get(8, CLOCK, 2).value).to_datetime()
        later = CosemDateTime.from_datetime(before.replace(microsecond=0) + dt.timedelta(hours=1))
        session.set(8, CLOCK, 2, Data(DataTag.OCTET_STRING, bytes(later)))  # … yet written
        after = CosemDateTime.from_bytes(session.get(8, CLOCK, 2).value).to_datetime()
    assert 3590 <= (after - before).total_seconds() <= 3700  # and it took effect


def test_reject_correct_secret(clean):
    with _session(clean, "mr") as session:  # the IS 15959 default password
        assert session.get(8, CLOCK, 3) == Data(DataTag.LONG, -330)
    with _meter(("reject-correct-secret",)) as meter:
        with pytest.raises(AssociationRejected):
            _session(meter, "mr").connect()
        with _session(meter, "mr", password=REJECTING_PASSWORD) as session:  # what it holds
            assert session.get(8, CLOCK, 3) == Data(DataTag.LONG, -330)
        with _session(meter, "us") as session:  # the other associations are untouched
            assert session.get(8, CLOCK, 3) == Data(DataTag.LONG, -330)


def test_wrong_declared_access(clean, separate):
    with _session(separate, "mr") as session:
        clock = next(o for o in session.object_list() if o.logical_name == Obis.parse(CLOCK))
        assert clock.attribute_access[2] == AttributeAccessMode.READ_WRITE  # declared …
        now = session.get(8, CLOCK, 2)
        with pytest.raises(AccessDenied):  # … but read-only enforced
            session.set(8, CLOCK, 2, now)
    with _session(clean, "mr") as session:
        clock = next(o for o in session.object_list() if o.logical_name == Obis.parse(CLOCK))
        assert clock.attribute_access[2] == AttributeAccessMode.READ_ONLY


def test_bad_time_zone(separate):
    with _session(separate) as session:
        assert session.get(8, CLOCK, 3) == Data(DataTag.LONG, -WRONG_ZONE_MINUTES)
        when = CosemDateTime.from_bytes(session.get(8, CLOCK, 2).value)
    assert when.deviation == -WRONG_ZONE_MINUTES  # consistent with attribute 3, but not IST


# -- object values -------------------------------------------------------------------------------

def test_wrong_type_and_bad_clock(clean, broken):
    with _session(clean) as session:
        assert session.get(8, CLOCK, 3) == Data(DataTag.LONG, -330)
        assert session.get(8, CLOCK, 4) == Data(DataTag.UNSIGNED, 0)
        assert not session.get(8, CLOCK, 2).value[11] & INVALID
    with _session(broken) as session:
        assert session.get(8, CLOCK, 3) == Data(DataTag.DOUBLE_LONG, -330)
        assert session.get(8, CLOCK, 4).value & INVALID
        assert session.get(8, CLOCK, 2).value[11] & INVALID


def _scalers(session) -> tuple[Data, Data]:
    """(register's scaler_unit, the instantaneous scaler profile's entry for it)."""
    columns = session.get(7, SCALER_INSTANT, 3).value
    index = next(i for i, c in enumerate(columns)
                 if Obis.from_bytes(c.value[1].value) == WRONG_SCALER_REGISTER)
    row = session.get(7, SCALER_INSTANT, 2).value[0]
    return session.get(3, WRONG_SCALER_REGISTER, 3), row.value[index]


def test_wrong_scaler(clean, broken):
    with _session(clean, "mr") as session:
        own, declared = _scalers(session)
        assert own == declared
    with _session(broken, "mr") as session:
        own, declared = _scalers(session)
        assert own.value[0].value == declared.value[0].value + 1
        assert own.value[1] == declared.value[1]


def _times(rows) -> list:
    return [CosemDateTime.from_bytes(r.value[0].value).to_datetime() for r in rows]


def _by_entry_and_range(session, count: int = 5):
    in_use = session.get(7, BLOCK_LOAD, 7).value
    by_entry = session.get(7, BLOCK_LOAD, 2, SelectiveAccessDescriptor.entry(
        EntryDescriptor(from_entry=in_use - count + 1, to_entry=in_use))).value
    cells = [r.value[0] for r in by_entry]
    clock = CaptureObjectDefinition(class_id=8, logical_name=Obis.parse(CLOCK),
                                    attribute_index=2, data_index=0)
    first, last = min(cells, key=lambda c: _times([Data(DataTag.STRUCTURE, (c,))])[0]), \
        max(cells, key=lambda c: _times([Data(DataTag.STRUCTURE, (c,))])[0])
    by_range = session.get(7, BLOCK_LOAD, 2, SelectiveAccessDescriptor.range(
        RangeDescriptor(restricting_object=clock, from_value=first, to_value=last))).value
    return by_entry, by_range


def test_bad_sort_order_and_range_entry_mismatch(clean, broken):
    with _session(clean, "mr") as session:
        by_entry, by_range = _by_entry_and_range(session)
        whole = session.get(7, BLOCK_LOAD, 2).value
    assert _times(by_entry) == sorted(_times(by_entry)) and len(by_entry) == 5
    assert by_range == by_entry
    assert _times(whole) == sorted(_times(whole))
    with _session(broken, "mr") as session:
        by_entry, by_range = _by_entry_and_range(session)
        whole = session.get(7, BLOCK_LOAD, 2).value
    assert _times(by_entry) == sorted(_times(by_entry), reverse=True)  # newest first
    assert _times(whole) == sorted(_times(whole), reverse=True)
    assert len(by_range) == len(by_entry) - 1  # one row dropped
    assert set(by_range) < set(by_entry)


def _foreign_codes(session) -> list[tuple[EventCompartment, int]]:
    found = []
    for compartment in EventCompartment:
        rows = session.get(7, compartment.profile_obis, 2).value
        columns = session.get(7, compartment.profile_obis, 3).value
        column = next(i for i, c in enumerate(columns) if c.value[0].value == 1)
        found += [(compartment, r.value[column].value) for r in rows
                  if r.value[column].value not in CODE_RANGES[compartment]]
    return found


def test_bad_event_code(clean, broken):
    with _session(clean, "mr") as session:
        assert _foreign_codes(session) == []
    with _session(broken, "mr") as session:
        [(compartment, code)] = _foreign_codes(session)
    assert code == CODE_RANGES[EventCompartment((compartment + 1) % 7)].start


def _md_reset(session) -> tuple[int, int]:
    before = session.get(1, BILLING_COUNT, 2).value
    session.action(9, "0.0.10.0.1.255", 1, Data(DataTag.LONG_UNSIGNED, MD_RESET_SCRIPT_ID))
    return before, session.get(1, BILLING_COUNT, 2).value


def test_no_billing_increment(clean, broken):
    with _session(clean, "us") as session:
        before, after = _md_reset(session)
        assert after == before + 1
    with _session(broken, "us") as session:
        before, after = _md_reset(session)  # the ACTION succeeds …
        assert after == before  # … but the count stays


def _block_load_answers(meter) -> list[bytes]:
    recorder = Recorder()
    with _session(meter, "mr", recorder, max_pdu_size=512) as session:
        rows = session.get(7, BLOCK_LOAD, 2).value
        assert len(rows) > 100
    return [data for direction, layer, data, _ in recorder.trace
            if direction == "rx" and layer == "apdu" and data[:1] == b"\xc4"]


def test_no_block_transfer(clean, broken):
    answers = _block_load_answers(clean)
    assert len(answers) > 3 and all(a[1] == 2 and len(a) <= 512 for a in answers)
    [answer] = _block_load_answers(broken)
    assert answer[1] == 1 and len(answer) > 512  # get-response-normal, beyond the PDU size


# -- HDLC ----------------------------------------------------------------------------------------

class RawHdlc:
    """Hand-made HDLC frames over TCP, and the frames that come back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        self.reader = FrameReader()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, wait: float = 1.0) -> list[HdlcFrame]:
        """Frames arriving within ``wait`` seconds (returns at the first batch)."""
        deadline = time.monotonic() + wait
        frames: list[HdlcFrame] = []
        while not frames and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            if not data:
                break
            frames += [f for f in self.reader.feed(data) if isinstance(f, HdlcFrame)]
        return frames

    def connect(self, proposal: HdlcParameters = SMALL) -> HdlcFrame:
        self.send(frame(FrameType.SNRM, poll_final=True, info=encode_parameters(proposal)))
        [ua] = self.receive()
        assert ua.frame_type is FrameType.UA
        return ua


def frame(frame_type: FrameType, **fields) -> bytes:
    return encode_frame(HdlcFrame(destination=SERVER, source=CLIENT, frame_type=frame_type,
                                  **fields))


def aarq() -> bytes:
    conn = DlmsConnection(DlmsRole.CLIENT, AssociationSettings(client_sap=16,
                                                               mechanism=MechanismName.NONE))
    return conn.send(ev.Associate())


def i_frame(n_s: int = 0, info: bytes | None = None) -> bytes:
    return frame(FrameType.I, n_s=n_s, poll_final=True, info=LLC + aarq() if info is None
                 else info)


def raw_frame(control: int, info: bytes = b"") -> bytes:
    """A frame with any control byte (the codec refuses undefined ones)."""
    addresses = SERVER.encode() + CLIENT.encode()
    length = 2 + len(addresses) + 1 + 2 + (len(info) + 2 if info else 0)
    header = bytes((0xA0 | (length >> 8), length & 0xFF)) + addresses + bytes((control,))
    if info:
        header += fcs(header) + info
    return b"\x7e" + header + fcs(header) + b"\x7e"


@pytest.fixture
def link():
    lines = []

    def open_link(meter) -> RawHdlc:
        line = RawHdlc(meter.hdlc)
        lines.append(line)
        line.connect()
        return line

    yield open_link
    for line in lines:
        line.close()


def _answered(line: RawHdlc, data: bytes) -> list[HdlcFrame]:
    line.send(data)
    return line.receive(0.6)


def test_negotiation(clean, broken, link):
    proposal = HdlcParameters(max_info_field_length_transmit=128,
                              max_info_field_length_receive=200, window_size_transmit=1,
                              window_size_receive=1)
    for meter, fair in ((clean, True), (broken, False)):
        line = RawHdlc(meter.hdlc)
        try:
            offer = parameters_from_info(line.connect(proposal).info)  # the server's view
        finally:
            line.close()
        within = (offer.max_info_field_length_transmit <= 200
                  and offer.max_info_field_length_receive <= 128
                  and offer.window_size_transmit <= 1 and offer.window_size_receive <= 1)
        assert within is fair
    assert (offer.max_info_field_length_transmit, offer.max_info_field_length_receive,
            offer.window_size_transmit, offer.window_size_receive) == (328, 256, 2, 2)


def test_bad_fcs(clean, broken, link):
    bad = bytearray(i_frame())
    bad[-2] ^= 0xFF
    line = link(clean)
    assert _answered(line, bytes(bad)) == []  # discarded silently
    [answer] = _answered(line, i_frame())
    assert answer.frame_type is FrameType.I
    [answer] = _answered(link(broken), bytes(bad))
    assert answer.frame_type is FrameType.I and answer.n_r == 1


def _bad_hcs() -> bytes:
    data = bytearray(i_frame())
    control_at = 3 + SERVER.size + CLIENT.size
    data[control_at + 1] ^= 0x5A  # HCS
    data[-3:-1] = fcs(bytes(data[1:-3]))  # a right FCS over the wrong HCS
    assert crc16(bytes(data[1:-3])) == data[-3] | (data[-2] << 8)
    return bytes(data)


def test_bad_hcs(clean, broken, link):
    line = link(clean)
    assert _answered(line, _bad_hcs()) == []
    [answer] = _answered(line, i_frame())
    assert answer.frame_type is FrameType.I
    [answer] = _answered(link(broken), _bad_hcs())
    assert answer.frame_type is FrameType.I


def test_wrong_ns(clean, broken, link):
    [answer] = _answered(link(clean), i_frame(n_s=3))
    assert answer.frame_type is FrameType.RR and answer.n_r == 0  # discarded, V(R) = 0
    [answer] = _answered(link(broken), i_frame(n_s=3))
    assert answer.frame_type is FrameType.I and answer.n_r == 1  # taken as N(S) = 0


def test_long_frame(clean, broken, link):
    too_long = i_frame(info=LLC + bytes(200))  # 203 > 128 negotiated
    [answer] = _answered(link(clean), too_long)
    assert answer.frame_type is FrameType.FRMR and answer.info[2] & 0x04  # Y: too long
    [answer] = _answered(link(broken), too_long)
    assert answer.frame_type is FrameType.I  # accepted (its garbage APDU gets an answer)


def test_unknown_control(clean, broken, link):
    rej = raw_frame(0x19)  # REJ with P: not implemented by IEC 62056-46
    [answer] = _answered(link(clean), rej)
    assert answer.frame_type is FrameType.FRMR
    assert answer.info == bytes((0x19, 0x00, 0x01))  # rejected control; V(S)=V(R)=0; W
    [answer] = _answered(link(broken), rej)
    assert answer.frame_type is FrameType.RR and answer.poll_final


def test_unknown_control_while_disconnected_gets_dm(clean):
    line = RawHdlc(clean.hdlc)
    try:
        [answer] = _answered(line, raw_frame(0x19))
    finally:
        line.close()
    assert answer.frame_type is FrameType.DM
