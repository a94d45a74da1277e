"""IEC 62056-47 wrapper: packet codec, stream reassembly, addressing."""

import pytest
from hypothesis import given, strategies as st

from meterreader.dlms.errors import DecodeError, Reason
from meterreader.dlms.wrapper import (ApduReceived, PacketIgnored, Role, WrapperFrame, WrapperLink,
                                      WrapperReader)

# Get-Request for the clock from client 16 to the management logical device 1.
GET_CLOCK = bytes.fromhex("C001C1000800000100 00FF0200".replace(" ", ""))
PACKET = bytes.fromhex("0001 0010 0001 000D".replace(" ", "")) + GET_CLOCK


def test_encode_decode_vector():
    frame = WrapperFrame(source_wport=16, destination_wport=1, data=GET_CLOCK)
    assert frame.encode() == PACKET
    assert WrapperFrame.decode(PACKET) == (frame, len(PACKET))


def test_trailing_bytes_left_intact():
    frame, end = WrapperFrame.decode(PACKET + b"\x00\x01")
    assert end == len(PACKET) and frame.data == GET_CLOCK


@pytest.mark.parametrize("cut", range(len(PACKET)))
def test_every_prefix_is_truncated(cut):
    with pytest.raises(DecodeError) as info:
        WrapperFrame.decode(PACKET[:cut])
    assert info.value.reason is Reason.TRUNCATED


def test_reader_split_at_every_boundary():
    stream = PACKET * 3
    for split in range(len(stream) + 1):
        reader = WrapperReader()
        frames = reader.feed(stream[:split]) + reader.feed(stream[split:])
        assert [f.data for f in frames] == [GET_CLOCK] * 3
        assert reader.pending == 0


def test_reader_byte_by_byte_emits_only_on_last_byte():
    reader = WrapperReader()
    for i, byte in enumerate(PACKET):
        out = reader.feed(bytes([byte]))
        assert (out != []) == (i == len(PACKET) - 1)


def test_bad_version_is_refused_and_sticky():
    reader = WrapperReader()
    with pytest.raises(DecodeError) as info:
        reader.feed(b"\x00\x02" + PACKET[2:])
    assert info.value.reason is Reason.WRAPPER_VERSION
    with pytest.raises(DecodeError):
        reader.feed(PACKET)


def test_over_long_packet_refused_before_it_arrives():
    reader = WrapperReader(max_length=100)
    with pytest.raises(DecodeError) as info:
        reader.feed(bytes.fromhex("0001001000010400"))
    assert info.value.reason is Reason.TOO_LONG


def test_link_addressing():
    client = WrapperLink(role=Role.CLIENT, local_wport=16, peer_wport=1)
    server = WrapperLink(role=Role.SERVER, local_wport=1, peer_wport=None)
    assert client.send(GET_CLOCK) == PACKET
    [event] = server.receive_data(PACKET)
    assert event == ApduReceived(data=GET_CLOCK, source_wport=16, destination_wport=1)
    answer = server.send(b"\xC4\x01\xC1\x00\x00", peer_wport=event.source_wport)
    [event] = client.receive_data(answer)
    assert isinstance(event, ApduReceived) and event.data == b"\xC4\x01\xC1\x00\x00"
    # A packet for another logical device is dropped, as a real meter would.
    [ignored] = server.receive_data(WrapperFrame(source_wport=16, destination_wport=2,
                                                 data=b"\x01").encode())
    assert isinstance(ignored, PacketIgnored)


@given(st.binary(max_size=300))
def test_fuzz_reader_raises_only_decode_error(data):
    reader = WrapperReader(max_length=256)
    try:
        reader.feed(data)
    except DecodeError:
        pass


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=600))
def test_round_trip(source, destination, data):
    frame = WrapperFrame(source_wport=source, destination_wport=destination, data=data)
    assert WrapperFrame.decode(frame.encode()) == (frame, len(data) + 8)
