"""HDLC frame codec, stream reader and SNRM/UA parameters (IEC 62056-46)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.hdlc import (
    MAX_FRAME_LENGTH, FrameReader, FrameType, HdlcAddress, HdlcFrame, HdlcParameters,
    ParameterId, Role, crc16, decode_control, decode_frame, decode_parameters, encode_control,
    encode_frame, encode_parameters, fcs, negotiate, parameters_from_info)

A = HdlcAddress
C16, C32, C48 = A.client(16), A.client(32), A.client(48)
S1 = A.server(1)
S2 = A.server(1, 17)
S4 = A.server(1, 256, size=4)
S4_MAX = A(upper=0x3FFF, lower=0x3FFF, size=4)
GET = bytes.fromhex("E6E600C001C100080000010000FF0200")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frame(destination: HdlcAddress, source: HdlcAddress, frame_type: FrameType, **kw) -> HdlcFrame:
    return HdlcFrame(destination=destination, source=source, frame_type=frame_type, **kw)


# -- CRC -------------------------------------------------------------------------------------------

def test_crc16_x25_check_value():
    # CRC-16/X.25 catalogue check value of "123456789".
    assert crc16(b"123456789") == 0x906E
    assert fcs(b"123456789") == b"\x6e\x90"  # low byte first on the wire
    assert crc16(b"") == 0x0000


@given(st.binary(max_size=600))
def test_crc16_fast_path_equals_the_table_reference(data):
    from meterreader.dlms.hdlc.crc import crc16_table

    assert crc16(data) == crc16_table(data)
    assert crc16(memoryview(data)) == crc16(bytearray(data)) == crc16(list(data)) == crc16(data)


# -- published vectors -----------------------------------------------------------------------------

def test_vector_snrm(vectors):
    vector = vectors["hdlc"][0]
    data = h(vector["hex"])
    decoded, end = decode_frame(data, sender=Role.CLIENT, server_address_size=2)
    assert end == len(data)
    assert decoded == frame(S2, C16, FrameType.SNRM, poll_final=True)
    assert decoded.control == 0x93
    assert data[-3:-1] == fcs(data[1:-3])  # no info field: the only check sequence is the FCS
    assert encode_frame(decoded) == data


def test_vector_ua_with_parameters(vectors):
    vector = vectors["hdlc"][1]
    data = h(vector["hex"])
    decoded, end = decode_frame(data, sender=Role.SERVER)
    assert end == len(data)
    assert (decoded.destination, decoded.source) == (C16, S2)
    assert (decoded.frame_type, decoded.poll_final, decoded.control) == (FrameType.UA, True, 0x73)
    assert data[7:9] == fcs(data[1:7])  # HCS over format, addresses, control
    assert data[-3:-1] == fcs(data[1:-3])
    assert parameters_from_info(decoded.info) == HdlcParameters(
        max_info_field_length_transmit=154, max_info_field_length_receive=154,
        window_size_transmit=1, window_size_receive=1)
    assert encode_parameters(parameters_from_info(decoded.info)) == decoded.info
    assert encode_frame(decoded) == data


def test_is15959_snrm_4_byte_server_address():
    # /work/shared/IS15959.md: SNRM client 32 -> server 1/256.
    data = h("7E A0 0A 00 02 04 01 41 93 22 D0 7E")
    decoded, end = decode_frame(data, sender=Role.CLIENT, server_address_size=4)
    assert end == len(data)
    assert decoded == frame(S4, C32, FrameType.SNRM, poll_final=True)
    assert encode_frame(decoded) == data


# -- one table, both ways --------------------------------------------------------------------------
# Header bytes checked by hand against IEC 62056-46 (format, address extension bits, control);
# HCS/FCS computed by the CRC validated above.

CASES = [
    pytest.param(frame(S2, C16, FrameType.I, n_s=2, n_r=3, poll_final=True, segmented=True,
                       info=GET),
                 "7E A8 1A 02 23 21 74 9C 74 E6 E6 00 C0 01 C1 00 08 00 00 01 00 00 FF 02 00"
                 " 60 1A 7E",
                 id="I segmented"),
    pytest.param(frame(C16, S2, FrameType.RR, n_r=5, poll_final=True),
                 "7E A0 08 21 02 23 B1 64 A6 7E", id="RR"),
    pytest.param(frame(S1, C16, FrameType.RNR), "7E A0 07 03 21 05 B0 F0 7E", id="RNR 1-byte"),
    pytest.param(frame(S4, C32, FrameType.DISC, poll_final=True),
                 "7E A0 0A 00 02 04 01 41 53 2E 16 7E", id="DISC 4-byte"),
    pytest.param(frame(C16, S2, FrameType.DM, poll_final=True), "7E A0 08 21 02 23 1F 10 EA 7E",
                 id="DM"),
    pytest.param(frame(C16, S2, FrameType.FRMR, poll_final=True, info=h("540004")),
                 "7E A0 0D 21 02 23 97 04 C4 54 00 04 D1 69 7E", id="FRMR"),
    pytest.param(frame(C48, S4, FrameType.UI, info=h("E6E7000F00000001")),
                 "7E A0 14 61 00 02 04 01 03 10 D6 E6 E7 00 0F 00 00 00 01 DF F8 7E", id="UI"),
    pytest.param(frame(S4_MAX, C16, FrameType.I, n_s=7, n_r=7, info=h("7EA07E")),
                 "7E A0 0F FE FE FE FF 21 EE 8B CB 7E A0 7E B2 6A 7E", id="7E inside info"),
    pytest.param(frame(C16, S2, FrameType.I, n_s=1, n_r=1, poll_final=True, info=h("E6E700B4")),
                 "7E A0 0E 21 02 23 32 6F 2B E6 E7 00 B4 94 7E 7E", id="7E in FCS"),
    pytest.param(frame(C16, S2, FrameType.I, n_s=1, n_r=2, info=h("01")),
                 "7E A0 0B 21 02 23 42 BC 7E 01 45 D7 7E", id="7E in HCS"),
    pytest.param(frame(C16, S2, FrameType.UA, poll_final=True), "7E A0 08 21 02 23 73 7A 43 7E",
                 id="UA without info"),
]


@pytest.mark.parametrize(("decoded", "wire"), CASES)
def test_encode(decoded, wire):
    assert encode_frame(decoded) == h(wire)


@pytest.mark.parametrize(("decoded", "wire"), CASES)
def test_decode_whole_prefixes_and_trailing(decoded, wire):
    data = h(wire)
    assert decode_frame(data) == (decoded, len(data))
    # Trailing bytes are left alone; the offset is honoured.
    assert decode_frame(b"xx" + data + b"\x7e\xa0", 2) == (decoded, len(data) + 2)
    for cut in range(len(data)):
        with pytest.raises(DecodeError) as info:
            decode_frame(data[:cut])
        assert info.value.reason is Reason.TRUNCATED
        assert FrameReader().feed(data[:cut]) == []
    # Growing byte by byte: nothing before the last byte, then exactly the frame.
    reader = FrameReader()
    items = [reader.feed(data[i:i + 1]) for i in range(len(data))]
    assert items[:-1] == [[]] * (len(data) - 1)
    assert items[-1] == [decoded]


def test_control_field_codec_is_exhaustive():
    known = 0
    for value in range(256):
        try:
            kind, poll_final, n_s, n_r = decode_control(value)
        except DecodeError as exc:
            assert exc.reason is Reason.BAD_CONTROL
            continue
        known += 1
        assert encode_control(kind, poll_final, n_s, n_r) == value
    # 128 I-frame values, 2 x 16 for RR/RNR (P/F, N(R)), 2 x 6 for the U-frames.
    assert known == 128 + 32 + 12
    assert decode_control(0x93) == (FrameType.SNRM, True, 0, 0)
    assert decode_control(0xB1) == (FrameType.RR, True, 0, 5)
    assert decode_control(0x74) == (FrameType.I, True, 2, 3)


@pytest.mark.parametrize("value", [0x09, 0x0D, 0x2F, 0x3F])  # REJ, SREJ, SABM, SABME
def test_control_fields_outside_dlms_are_refused(value):
    with pytest.raises(DecodeError) as info:
        decode_control(value)
    assert info.value.reason is Reason.BAD_CONTROL


# -- addresses -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "wire"), [
    (A.client(16), "21"), (A.server(1), "03"), (A.server(1, 17), "0223"),
    (A.server(1, 256), "00020401"), (A.server(0x7F, 0x7F), "FEFF"),
    (A.server(0x3FFF, 0x3FFF), "FEFEFEFF"), (A.server(1, 17, size=4), "00020023"),
])
def test_address_encoding(address, wire):
    assert bytes(address) == h(wire)


@pytest.mark.parametrize("kwargs", [
    {"upper": 0x80}, {"upper": 1, "lower": 2}, {"upper": 1, "size": 2},
    {"upper": 1, "lower": 0x80, "size": 2}, {"upper": 0x4000, "lower": 0, "size": 4},
    {"upper": 1, "lower": 1, "size": 3}, {"upper": -1}, {"upper": "1"},
])
def test_address_validation(kwargs):
    with pytest.raises(LocalProtocolError):
        HdlcAddress(**kwargs)


def test_same_station_ignores_size():
    assert A.server(1, 17).same_station(A.server(1, 17, size=4))
    assert not A.server(1, 17).same_station(A.server(1, 16))
    assert str(A.server(1, 256)) == "1/256" and str(C16) == "16"


def _raw(body: bytes) -> bytes:
    """Wrap format..control (+ HCS/info) with a correct FCS and flags."""
    return b"\x7e" + body + fcs(body) + b"\x7e"


@pytest.mark.parametrize(("data", "reason"), [
    (_raw(h("A009 00 02 05 21 93")), Reason.BAD_ADDRESS),  # 3-byte address
    (_raw(h("A00B 00 02 04 06 08 21 93")), Reason.BAD_ADDRESS),  # 5-byte address
    (_raw(h("A007 02 23 21")), Reason.BAD_LENGTH),  # address runs into the FCS
    (h("7EA00402237E"), Reason.BAD_LENGTH),  # shorter than any frame
    (_raw(h("B008 0223 21 93")), Reason.BAD_FORMAT),
    (_raw(h("A008 0223 21 09")), Reason.BAD_CONTROL),  # REJ
    (_raw(h("A009 0223 21 93")), Reason.BAD_LENGTH),  # a single byte between control and FCS
    (_raw(h("A00A 0223 21 93") + fcs(h("A00A022321 93"))), Reason.BAD_LENGTH),  # HCS, no info
    (_raw(h("A00B 21 0223 B1") + fcs(h("A00B210223B1")) + b"\x01"), Reason.BAD_LENGTH),  # RR + info
    (h("7EA00802232193BD6400"), Reason.BAD_FLAG),
    (h("7EA00802232193BD657E"), Reason.BAD_FCS),
    (h("7EA01F21022373E6C881801205019A06019A070400000001080400000001CCA27E"), Reason.BAD_HCS),
    (h("00A00802232193BD647E"), Reason.BAD_FLAG),
])
def test_decode_errors(data, reason):
    with pytest.raises(DecodeError) as info:
        decode_frame(data)
    assert info.value.reason is reason
    assert info.value.data  # the refused bytes travel with the error


def test_decode_roles():
    snrm = h("7EA00802232193BD647E")
    assert decode_frame(snrm, sender=Role.CLIENT)[0].destination == S2
    for kwargs in ({"sender": Role.SERVER}, {"sender": Role.CLIENT, "server_address_size": 4},
                   {"server_address_size": 4}):
        with pytest.raises(DecodeError) as info:
            decode_frame(snrm, **kwargs)
        assert info.value.reason is Reason.BAD_ADDRESS
    assert decode_frame(snrm, server_address_size=2)[1] == len(snrm)


def test_too_long_refused():
    data = encode_frame(frame(S2, C16, FrameType.I, info=bytes(100)))
    with pytest.raises(DecodeError) as info:
        decode_frame(data, max_frame_length=50)
    assert info.value.reason is Reason.TOO_LONG


def test_frame_validation():
    with pytest.raises(LocalProtocolError):
        frame(S2, C16, FrameType.RR, n_s=1)
    with pytest.raises(LocalProtocolError):
        frame(S2, C16, FrameType.UA, n_r=1)
    with pytest.raises(LocalProtocolError):
        frame(S2, C16, FrameType.DISC, info=b"x")
    with pytest.raises(LocalProtocolError):
        frame(S2, C16, FrameType.I, n_s=8)
    with pytest.raises(LocalProtocolError):
        encode_frame(frame(S2, C16, FrameType.I, info=bytes(MAX_FRAME_LENGTH)))
    assert type(frame(S2, C16, FrameType.I, info=bytearray(b"ab")).info) is bytes


# -- FrameReader -----------------------------------------------------------------------------------

FRAMES = [c.values[0] for c in CASES]
WIRES = [h(c.values[1]) for c in CASES]


def test_reader_leading_garbage():
    reader = FrameReader()
    noise = h("00 FF 7E 7E 12 7E 00 A0 7E")
    assert reader.feed(noise + WIRES[1]) == [FRAMES[1]]
    assert reader.buffered == b"\x7e"  # the closing flag may open the next frame


def test_reader_shared_and_double_flags():
    assert FrameReader().feed(WIRES[0] + WIRES[1][1:] + WIRES[2][1:]) == FRAMES[:3]  # shared
    assert FrameReader().feed(WIRES[0] + WIRES[1] + WIRES[2]) == FRAMES[:3]  # two flags
    assert FrameReader().feed(WIRES[0] + b"\x7e\x7e" + WIRES[1]) == FRAMES[:2]  # idle flags


def test_reader_split_at_every_boundary():
    stream = b"\x00\x13" + b"".join(WIRES[i] if i % 2 else WIRES[i][:-1] for i in range(len(WIRES)))
    stream += b"\x7e"
    for cut in range(len(stream) + 1):
        reader = FrameReader()
        assert reader.feed(stream[:cut]) + reader.feed(stream[cut:]) == FRAMES


@pytest.mark.parametrize(("index", "position", "reason"), [
    (0, -3, Reason.BAD_FCS), (0, 7, Reason.BAD_HCS), (1, -2, Reason.BAD_FCS),
    (0, 12, Reason.BAD_FCS), (7, 9, Reason.BAD_HCS),
])
def test_reader_corruption_then_resync(index, position, reason):
    bad = bytearray(WIRES[index])
    bad[position] ^= 0x01
    for stream in (bytes(bad) + WIRES[1], bytes(bad) + WIRES[1][1:]):
        items = FrameReader().feed(stream)
        # A bad HCS leaves the frame's end unknown: a 7E A0 inside it may cost one more error.
        assert len(items) == (3 if index == 7 and reason is Reason.BAD_HCS else 2)
        assert all(isinstance(item, RemoteProtocolError) for item in items[:-1])
        assert items[0].reason is reason and items[0].data == bytes(bad)
        assert items[-1] == FRAMES[1]


def test_reader_corrupt_length_does_not_hang():
    bad = bytearray(WIRES[0])
    bad[2] = 0xFF  # claims 0x0FF bytes; the HCS refuses the header long before they arrive
    items = FrameReader().feed(bytes(bad) + WIRES[1])
    assert [type(i) for i in items] == [DecodeError, HdlcFrame]
    assert items[0].reason is Reason.BAD_HCS and items[1] == FRAMES[1]


def test_reader_refuses_over_long_frames():
    reader = FrameReader(max_frame_length=20)
    assert reader.max_frame_length == 20
    items = reader.feed(WIRES[0] + WIRES[1])
    assert items[0].reason is Reason.TOO_LONG and items[1] == FRAMES[1]
    with pytest.raises(LocalProtocolError):
        reader.max_frame_length = MAX_FRAME_LENGTH + 1


# -- hypothesis ------------------------------------------------------------------------------------

addresses = st.one_of(
    st.builds(A.client, st.integers(0, 0x7F)),
    st.builds(lambda u, lo: A(upper=u, lower=lo, size=2), st.integers(0, 0x7F),
              st.integers(0, 0x7F)),
    st.builds(lambda u, lo: A(upper=u, lower=lo, size=4), st.integers(0, 0x3FFF),
              st.integers(0, 0x3FFF)))


@st.composite
def frames(draw: st.DrawFn) -> HdlcFrame:
    kind = draw(st.sampled_from(FrameType))
    info = b"" if kind in (FrameType.RR, FrameType.RNR, FrameType.DISC) else draw(
        st.binary(max_size=300))
    return HdlcFrame(destination=draw(addresses), source=draw(addresses), frame_type=kind,
                     poll_final=draw(st.booleans()),
                     n_s=draw(st.integers(0, 7)) if kind is FrameType.I else 0,
                     n_r=draw(st.integers(0, 7)) if kind in (FrameType.I, FrameType.RR,
                                                             FrameType.RNR) else 0,
                     segmented=draw(st.booleans()), info=info)


@given(frames())
def test_frame_round_trip(value):
    data = encode_frame(value)
    assert decode_frame(data) == (value, len(data))


@given(st.lists(frames(), min_size=1, max_size=5), st.lists(st.booleans(), min_size=5, max_size=5),
       st.lists(st.integers(0, 2000), max_size=6))
def test_reader_reassembles_any_split(values, share_flags, cuts):
    stream = b""
    for value, share in zip(values, share_flags, strict=False):
        data = encode_frame(value)
        stream += data[1:] if share and stream else data
    reader = FrameReader()
    items = []
    last = 0
    for cut in sorted(c % (len(stream) + 1) for c in cuts) + [len(stream)]:
        items += reader.feed(stream[last:cut])
        last = cut
    assert items == values


@settings(max_examples=300)
@given(st.lists(st.one_of(st.binary(max_size=40), frames().map(encode_frame),
                          st.sampled_from(WIRES).map(lambda w: w[:-2])), max_size=8),
       st.integers(1, 50))
def test_reader_fuzz_only_typed_items(parts, chunk):
    stream = b"".join(parts)
    reader = FrameReader(max_frame_length=400)
    for at in range(0, len(stream), chunk):
        for item in reader.feed(stream[at:at + chunk]):
            assert isinstance(item, HdlcFrame | RemoteProtocolError)
            if isinstance(item, RemoteProtocolError):
                assert isinstance(item.reason, Reason) and item.data[:1] == b"\x7e"


@given(st.binary(max_size=64))
def test_decode_frame_fuzz(data):
    try:
        decode_frame(b"\x7e\xa0" + data)
    except DecodeError:
        pass


# -- SNRM/UA parameters ----------------------------------------------------------------------------

def test_parameters_defaults_and_encoding():
    assert parameters_from_info(b"") == HdlcParameters(
        max_info_field_length_transmit=128, max_info_field_length_receive=128,
        window_size_transmit=1, window_size_receive=1)
    assert parameters_from_info(h("818000")) == HdlcParameters()
    # Green Book style SNRM proposal: 2-byte info lengths, 4-byte windows.
    two_byte = HdlcParameters(max_info_field_length_transmit=0x200,
                              max_info_field_length_receive=0x200, window_size_transmit=7,
                              window_size_receive=7)
    assert encode_parameters(two_byte) == h(
        "818014 05020200 06020200 070400000007 080400000007")
    assert parameters_from_info(h("818007 050200F8 0601F8")) == HdlcParameters(
        max_info_field_length_transmit=248, max_info_field_length_receive=248)
    # unknown parameter ids are skipped
    assert parameters_from_info(h("818006 0901FF 070102")).window_size_transmit == 2
    assert list(ParameterId) == [5, 6, 7, 8]


@pytest.mark.parametrize(("info", "reason"), [
    (h("8180"), Reason.TRUNCATED), (h("828000"), Reason.UNKNOWN_TAG),
    (h("818100"), Reason.UNKNOWN_TAG), (h("818005 050180"), Reason.TRUNCATED),
    (h("818002 0502"), Reason.BAD_LENGTH), (h("818004 05030000"), Reason.BAD_LENGTH),
    (h("818007 0505 0000000080"), Reason.BAD_LENGTH), (h("818003 070100"), Reason.BAD_VALUE),
    (h("818003 070108"), Reason.BAD_VALUE), (h("818003 050100"), Reason.BAD_VALUE),
    (h("818000 00"), Reason.TRAILING_DATA),
])
def test_parameters_errors(info, reason):
    with pytest.raises(DecodeError) as exc:
        parameters_from_info(info)
    assert exc.value.reason is reason


def test_parameters_validation():
    with pytest.raises(LocalProtocolError):
        HdlcParameters(window_size_transmit=8)
    with pytest.raises(LocalProtocolError):
        HdlcParameters(max_info_field_length_receive=0)


def test_negotiation_pairs_transmit_with_receive():
    client = HdlcParameters(max_info_field_length_transmit=512, max_info_field_length_receive=1024,
                            window_size_transmit=7, window_size_receive=3)
    server = HdlcParameters(max_info_field_length_transmit=256, max_info_field_length_receive=2000,
                            window_size_transmit=1, window_size_receive=7)
    ua = negotiate(server, client)
    assert ua == HdlcParameters(max_info_field_length_transmit=256,
                                max_info_field_length_receive=512,
                                window_size_transmit=1, window_size_receive=7)
    in_force = negotiate(client, ua)
    assert in_force == ua.mirrored()


@given(st.builds(HdlcParameters, max_info_field_length_transmit=st.integers(1, 0xFFFFFFFF),
                 max_info_field_length_receive=st.integers(1, 0xFFFFFFFF),
                 window_size_transmit=st.integers(1, 7), window_size_receive=st.integers(1, 7)))
def test_parameters_round_trip(value):
    info = encode_parameters(value)
    assert decode_parameters(b"\x00" + info, 1) == (value, len(info) + 1)


def _address(size: int) -> st.SearchStrategy[bytes]:
    """An HDLC address field of ``size`` bytes: extension bit 0 on all but the last byte."""
    return st.lists(st.integers(0, 127), min_size=size, max_size=size).map(
        lambda parts: bytes(p << 1 | (i == size - 1) for i, p in enumerate(parts)))


# IEC 62056-46: RR, RNR (any N(R), P/F), DISC, UA, SNRM, DM, FRMR: frames without information
_NO_INFO_CONTROLS = st.one_of(st.integers(0, 7).map(lambda nr: nr << 5 | 0x11),
                              st.integers(0, 7).map(lambda nr: nr << 5 | 0x15),
                              st.sampled_from([0x53, 0x73, 0x93, 0x1F, 0x97]))


@given(st.sampled_from([1, 2, 4]).flatmap(_address), st.sampled_from([1, 2, 4]).flatmap(_address),
       st.one_of(_NO_INFO_CONTROLS, st.integers(0, 255)), st.binary(min_size=0, max_size=40),
       st.booleans())
def test_scanned_frames_satisfy_every_frame_invariant(destination, source, control, info,
                                                      segmented):
    """The scanner builds frames without __post_init__: whatever it accepts must be a frame the
    checked constructor accepts too (rebuilding it raises nothing and compares equal). Frames
    with and without information field (no HCS then), 1-, 2- and 4-byte addresses."""
    import dataclasses

    from meterreader.dlms.hdlc import FrameReader

    # a well-formed envelope around random addresses/control/info, FCS and HCS made valid
    addresses = destination + source
    length = 2 + len(addresses) + 1 + 2 + (len(info) + 2 if info else 0)
    header = bytes((0xA0 | (segmented << 3) | (length >> 8), length & 0xFF)) + addresses + bytes(
        (control,))
    raw = header + (fcs(header) + info if info else b"")
    raw = b"\x7e" + raw + fcs(raw) + b"\x7e"
    items = FrameReader().feed(raw)
    for item in items:
        if isinstance(item, HdlcFrame):
            fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(HdlcFrame)}
            assert HdlcFrame(**fields) == item
            assert item.info == info
