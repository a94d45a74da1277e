"""Pieces of the client without a meter: settings, trace helpers, object-list and SAP parsing,
register values, the incremental row decoder, range bounds and error mapping."""

from __future__ import annotations

import datetime as dt

import pytest

from meterreader.client import (AccessDenied, ConnectionSettings, Framing, ObjectUndefined,
                                Quirks, ServiceFailed)
from meterreader.client.errors import describe_target, refusal
from meterreader.client.objects import parse_object_list, parse_sap_list
from meterreader.client.session_profile import RowDecoder, range_bound
from meterreader.client.trace import (FrameTap, describe_apdu, describe_frame, mask,
                                      split_frames)
from meterreader.client.values import (date_time_of, make_quantity, parse_scaler_unit,
                                       python_value)
from meterreader.cosem.interface_classes import AttributeAccessMode, MethodAccessMode
from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import D, Data, DataTag, encode_data
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.errors import LocalProtocolError, RemoteProtocolError
from meterreader.dlms.hdlc import (FrameType, HdlcAddress, HdlcFrame, HdlcParameters,
                                   encode_frame, encode_parameters)
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.xdlms import (ActionResult, CosemAttributeDescriptor, DataAccessResult,
                                    GetRequestNormal)

CLIENT, SERVER = HdlcAddress.client(32), HdlcAddress.server(1, 256, size=4)


# -- settings -------------------------------------------------------------------------------------

def test_defaults_propose_the_largest_link_and_pdu():
    s = ConnectionSettings()
    p = s.hdlc_parameters
    assert (p.max_info_field_length_transmit, p.max_info_field_length_receive,
            p.window_size_transmit, p.window_size_receive) == (2030, 2030, 7, 7)
    assert s.max_pdu_size == 0xFFFF and s.response_timeout == 5.0 and s.retries == 3
    assert s.framing is Framing.WRAPPER and (s.client_sap, s.server_logical_address,
                                             s.server_physical_address) == (16, 1, 256)
    config = s.hdlc_config()
    assert config.max_retries == 3 and config.parameters == p
    assert config.server_address.encode() == bytes.fromhex("00020401")  # IS15959.md
    assert config.client_address.encode() == bytes.fromhex("21")


@pytest.mark.parametrize("name, sap, mechanism, field", [
    ("pc", 16, MechanismName.NONE, None), ("MR", 32, MechanismName.LOW, "password"),
    ("us", 48, MechanismName.HIGH, "hls_secret")])
def test_association_presets(name, sap, mechanism, field):
    s = ConnectionSettings.for_association(name, framing="hdlc")
    assert (s.client_sap, s.mechanism, s.framing) == (sap, mechanism, Framing.HDLC)
    if field:
        assert getattr(s, field) == SecretBytes(b"12345678" if sap == 32 else b"1" * 16)
    assert "12345678" not in repr(s) and "1111111111111111" not in repr(s)


def test_preset_secrets_and_overrides():
    s = ConnectionSettings.for_association("mr", password="abcdefgh", response_timeout=1.5,
                                           quirks=Quirks(max_list_items=4))
    a = s.association_settings()
    assert a.password == SecretBytes(b"abcdefgh") and a.client_sap == 32
    assert s.response_timeout == 1.5 and s.quirks.max_list_items == 4
    us = ConnectionSettings.for_association("us", key=b"K" * 16)
    assert us.hls_secret == SecretBytes(b"K" * 16)


def test_address_forms():
    two = ConnectionSettings(framing="hdlc", address_size=2, server_physical_address=17)
    assert two.server_address.encode() == bytes.fromhex("0223")
    one = ConnectionSettings(framing="hdlc", address_size=1)
    assert one.server_address.encode() == bytes.fromhex("03")
    assert "server address" in ConnectionSettings(framing="hdlc").target


@pytest.mark.parametrize("changes, words", [
    (dict(framing="serial"), "framing"), (dict(address_size=3), "address_size"),
    (dict(response_timeout=0), "response_timeout"), (dict(retries=-1), "retries"),
    (dict(max_pdu_size=10), "max_pdu_size"), (dict(client_sap=200), "client_sap"),
    (dict(mechanism=MechanismName.LOW), "password"), (dict(deviation_sign=2), "deviation_sign"),
    (dict(keep_alive_interval=-5), "keep_alive_interval"),
])
def test_invalid_settings_are_refused(changes, words):
    with pytest.raises(LocalProtocolError, match=words):
        ConnectionSettings(**changes)


def test_quirks_reach_the_association_settings():
    s = ConnectionSettings(quirks=Quirks(ignore_invoke_id_mismatch=True,
                                         accept_malformed_rlre=False))
    a = s.association_settings()
    assert a.ignore_invoke_id_mismatch and not a.accept_malformed_rlre
    with pytest.raises(LocalProtocolError):
        Quirks(max_list_items=0)


# -- trace helpers --------------------------------------------------------------------------------

def _frame(kind: FrameType, **fields) -> bytes:
    return encode_frame(HdlcFrame(destination=SERVER, source=CLIENT, frame_type=kind, **fields))


def test_split_frames_and_the_tap_agree():
    frames = [_frame(FrameType.I, n_s=i, poll_final=i == 2, segmented=i < 2, info=b"\x7e" * 40)
              for i in range(3)]
    data = b"".join(frames)
    assert split_frames(data) == frames
    tap = FrameTap()
    got = []
    noisy = b"\x00\xff\x7e" + data  # noise before the first flag (INTEROP.md)
    for i in range(0, len(noisy), 7):
        got += tap.feed(noisy[i:i + 7])
    assert got == frames


def test_tap_accepts_shared_and_double_flags():
    a, b = _frame(FrameType.RR, n_r=3, poll_final=True), _frame(FrameType.DISC, poll_final=True)
    shared = a + b[1:]  # ...FCS 7E A0... : one flag between the frames
    assert FrameTap().feed(shared) == [a, b]
    assert FrameTap().feed(a + b) == [a, b]  # 7E 7E


def test_describe_frames():
    snrm = _frame(FrameType.SNRM, poll_final=True, info=encode_parameters(HdlcParameters(
        max_info_field_length_transmit=2030, max_info_field_length_receive=2030,
        window_size_transmit=7, window_size_receive=7)))
    assert describe_frame(snrm) == "SNRM P/F info 2030/2030 window 7/7"
    i_frame = _frame(FrameType.I, n_s=2, n_r=5, segmented=True, info=b"x" * 12)
    assert describe_frame(i_frame) == "I N(S)=2 N(R)=5 segmented 12 bytes"
    assert describe_frame(_frame(FrameType.RR, n_r=1, poll_final=True)) == "RR N(R)=1 P/F"
    broken = bytearray(i_frame)
    broken[-2] ^= 0xFF
    assert describe_frame(bytes(broken)).startswith("bad frame:")


def test_describe_apdus_and_mask():
    get = GetRequestNormal(cosem_attribute_descriptor=CosemAttributeDescriptor(
        class_id=3, instance_id=Obis(1, 0, 1, 8, 0, 255), attribute_id=2)).encode()
    assert describe_apdu(get) == "GetRequestNormal class 3 1.0.1.8.0.255 attribute 2"
    assert describe_apdu(b"\xc4" + b"\x00" * 600) == "get-response, 601 bytes"
    assert describe_apdu(b"\x99\x01").startswith("unknown APDU tag 0x99")
    assert describe_apdu(b"") == "empty APDU"
    assert mask(b"ab12345678cd", b"12345678") == b"ab********cd"
    assert mask(b"abc", None) == b"abc"


# -- object list and SAP list ---------------------------------------------------------------------

def _element(class_id, version, obis, attributes, methods):
    return D.structure(D.long_unsigned(class_id), D.unsigned(version),
                       D.octet_string(bytes(Obis.parse(obis))), D.structure(
                           D.array(*attributes), D.array(*methods)))


def test_parse_object_list():
    value = D.array(
        _element(7, 1, "1.0.99.1.0.255", [
            D.structure(D.integer(1), D.enum(1), D.null()),
            D.structure(D.integer(2), D.enum(1), D.array(D.integer(1), D.integer(2))),
            D.structure(D.integer(4), D.enum(9), D.null())],  # an undefined mode stays an int
            [D.structure(D.integer(1), D.enum(2))]),
        _element(8, 0, "0.0.1.0.0.255", [D.structure(D.integer(2), D.enum(3), D.null())],
                 [D.structure(D.integer(1), D.boolean(True))]))  # version-0 boolean
    profile, clock = parse_object_list(value)
    assert (profile.class_id, profile.version, profile.logical_name) == (
        7, 1, Obis(1, 0, 99, 1, 0, 255))
    assert profile.attribute_access[2] is AttributeAccessMode.READ_ONLY
    assert profile.attribute_access[4] == 9 and not profile.can_read(4)
    assert profile.access_selectors == {2: (1, 2)}
    assert profile.method_access[1] is MethodAccessMode.AUTHENTICATED_ACCESS
    assert profile.can_invoke(1) and profile.class_name == "Profile generic"
    assert clock.can_write(2) and clock.method_access[1] is MethodAccessMode.ACCESS
    assert clock.name == "Clock"


@pytest.mark.parametrize("bad", [
    D.structure(), D.array(D.long_unsigned(3)),
    D.array(D.structure(D.long_unsigned(3), D.unsigned(0), D.octet_string(b"\x01\x02"),
                        D.structure(D.array(), D.array()))),
    D.array(D.structure(D.long_unsigned(3), D.unsigned(0), D.octet_string(bytes(6)),
                        D.structure(D.array(D.long(5)), D.array()))),
])
def test_malformed_object_lists_are_remote_errors(bad):
    with pytest.raises(RemoteProtocolError):
        parse_object_list(bad)


def test_parse_sap_list():
    value = D.array(D.structure(D.long_unsigned(1), D.octet_string(b"MRD0001")),
                    D.structure(D.long_unsigned(2), D.visible_string("MRD0001-2")))
    assert parse_sap_list(value) == [(1, "MRD0001"), (2, "MRD0001-2")]
    with pytest.raises(RemoteProtocolError):
        parse_sap_list(D.array(D.structure(D.long_unsigned(1))))


# -- register values ------------------------------------------------------------------------------

def test_quantity_with_scaler_and_unit():
    q = make_quantity(D.long_unsigned(23012), D.structure(D.integer(-2), D.enum(35)))
    assert (q.value, q.raw, q.scaler, q.unit, q.unit_text) == (230.12, 23012, -2, 35, "V")
    assert str(q) == "230.12 V"
    count = make_quantity(D.double_long_unsigned(7), D.structure(D.integer(0), D.enum(255)))
    assert count.value == 7 and count.unit_text == "" and str(count) == "7"
    big = make_quantity(D.double_long_unsigned(12), D.structure(D.integer(3), D.enum(30)))
    assert big.value == 12000 and isinstance(big.value, int)
    text = make_quantity(D.visible_string("abc"), D.structure(D.integer(-1), D.enum(30)))
    assert text.value == "abc"
    with pytest.raises(RemoteProtocolError, match="scaler_unit"):
        parse_scaler_unit(D.long(5))


def test_date_times_from_octet_strings():
    ist = CosemDateTime(year=2024, month=3, day=10, day_of_week=7, hour=12, minute=0,
                        second=0, hundredths=0, deviation=-330, clock_status=0)
    when = date_time_of(D.octet_string(bytes(ist)))
    assert when == dt.datetime(2024, 3, 10, 12, tzinfo=dt.timezone(dt.timedelta(minutes=330)))
    assert date_time_of(D.octet_string(bytes(ist)), 1).utcoffset() == dt.timedelta(minutes=-330)
    wildcard = CosemDateTime(year=2024, month=3, day=10)
    assert date_time_of(D.octet_string(bytes(wildcard))) == wildcard
    assert date_time_of(D.null()) is None and date_time_of(D.octet_string(b"x" * 12)) is None
    assert python_value(D.octet_string(bytes(ist)), time_column=True) == when
    assert python_value(D.octet_string(bytes(ist))) == bytes(ist)  # not a time column


# -- profile rows and range bounds ----------------------------------------------------------------

def test_row_decoder_decodes_complete_rows_as_bytes_arrive():
    rows = [D.structure(D.octet_string(bytes(12)), D.long_unsigned(i), D.visible_string("x" * i))
            for i in range(20)]
    raw = encode_data(D.array(*rows))
    decoder = RowDecoder()
    counts = []
    for end in range(0, len(raw) + 1, 9):
        counts.append(decoder.feed(raw[:end]))
    counts.append(decoder.feed(raw))
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 20
    assert decoder.rows == rows
    half = len(raw) // 2
    ends = [len(encode_data(D.array(*rows))) - sum(len(encode_data(r)) for r in rows[k:])
            for k in range(1, 21)]  # where row k-1 ends in raw
    assert RowDecoder().feed(raw[:half]) == sum(1 for end in ends if end <= half)
    garbage = RowDecoder()
    assert garbage.feed(encode_data(D.array(*rows))[:30] + b"\xee" * 40) >= 0
    assert garbage.feed(b"") == len(garbage.rows)  # stays put after garbage


def test_range_bounds():
    naive = range_bound(dt.datetime(2024, 3, 10, 12, 15, 30), -330, -1)
    assert naive.tag is DataTag.OCTET_STRING
    assert CosemDateTime.from_bytes(naive.value) == CosemDateTime(
        year=2024, month=3, day=10, day_of_week=0xFF, hour=12, minute=15, second=30,
        hundredths=0, deviation=-330, clock_status=0)
    utc = range_bound(dt.datetime(2024, 3, 10, 6, 45, 30, tzinfo=dt.timezone.utc), -330, -1)
    assert utc == naive  # converted to the meter's zone (IST)
    plus = range_bound(dt.datetime(2024, 3, 10, 6, 45, 30, tzinfo=dt.timezone.utc), 330, 1)
    assert CosemDateTime.from_bytes(plus.value).hour == 12  # a meter that sends +330
    unspecified = CosemDateTime.from_bytes(range_bound(dt.datetime(2024, 3, 10), None, -1).value)
    assert unspecified.deviation == -0x8000 and unspecified.clock_status == 0xFF
    assert range_bound(dt.date(2024, 3, 10), None, -1) == range_bound(
        dt.datetime(2024, 3, 10), None, -1)
    assert range_bound(None, -330, -1) == Data(DataTag.NULL_DATA)


# -- errors ---------------------------------------------------------------------------------------

def test_refusals_map_to_typed_errors_with_words():
    target = describe_target(3, Obis(1, 0, 1, 8, 0, 255), attribute=2)
    assert target == "1.0.1.8.0.255 attribute 2 (value) of class 3 (Register)"
    denied = refusal("reading", target, DataAccessResult.READ_WRITE_DENIED)
    assert isinstance(denied, AccessDenied) and denied.result is DataAccessResult.READ_WRITE_DENIED
    assert str(denied) == ("reading 1.0.1.8.0.255 attribute 2 (value) of class 3 (Register): "
                           "access denied for this association (read/write right) "
                           "(read-write-denied)")
    assert isinstance(refusal("reading", target, DataAccessResult.SCOPE_OF_ACCESS_VIOLATED),
                      AccessDenied)
    assert isinstance(refusal("reading", target, DataAccessResult.OBJECT_UNDEFINED),
                      ObjectUndefined)
    other = refusal("reading", target, DataAccessResult.TEMPORARY_FAILURE)
    assert type(other) is ServiceFailed and "temporary failure" in str(other)
    method = describe_target(9, Obis(0, 0, 10, 0, 1, 255), method=1)
    assert method == "0.0.10.0.1.255 method 1 (execute) of class 9 (Script table)"
    assert isinstance(refusal("invoking", method, ActionResult.READ_WRITE_DENIED), AccessDenied)
