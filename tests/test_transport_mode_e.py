"""IEC 62056-21 mode E opening, checked against FakeSerial (ptys cannot do 7E1 or change parity)."""

from __future__ import annotations

import threading
import time

import pytest

from meterreader.transport import (
    Cancelled,
    CancelToken,
    ConnectionFailed,
    FakeSerial,
    Identification,
    ModeETransport,
    ScriptStep,
    SerialTransport,
)
from meterreader.transport.mode_e import (
    BAUD_CHARACTERS,
    option_select_message,
    parse_identification,
)

SIGN_ON = b"/?!\r\n"
LINE_7E1_300 = (300, 7, "E", 1)
SNRM = bytes.fromhex("7EA00802232193C5E97E")  # just bytes to the transport
UA = bytes.fromhex("7EA01F2103731E5B7E")


def mode_e(script: list[ScriptStep], **kwargs) -> tuple[ModeETransport, FakeSerial]:
    fake = FakeSerial(script)
    serial_transport = SerialTransport("/dev/ttyUSB0", serial_factory=fake.factory)
    return ModeETransport(serial_transport, **kwargs), fake


# -- pure helpers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("baud", "ack"), [
    (300, "06 32 30 32 0D 0A"), (600, "06 32 31 32 0D 0A"), (1200, "06 32 32 32 0D 0A"),
    (2400, "06 32 33 32 0D 0A"), (4800, "06 32 34 32 0D 0A"), (9600, "06 32 35 32 0D 0A"),
    (19200, "06 32 36 32 0D 0A"),
])
def test_option_select_message(baud, ack):
    assert option_select_message(baud) == bytes.fromhex(ack)


@pytest.mark.parametrize(("line", "expected"), [
    (b"/ABC5\\2METER01\r\n", Identification(
        manufacturer="ABC", baud_character="5", baud=9600, ident="METER01", escapes=("2",),
        raw=b"/ABC5\\2METER01\r\n")),
    (b"/XYz6 MT 880-D2\r\n", Identification(
        manufacturer="XYz", baud_character="6", baud=19200, ident=" MT 880-D2", escapes=(),
        raw=b"/XYz6 MT 880-D2\r\n")),
    (b"\x00\xff/DEF0\\2\\9ID", Identification(  # noise before "/" and no CR LF
        manufacturer="DEF", baud_character="0", baud=300, ident="ID", escapes=("2", "9"),
        raw=b"/DEF0\\2\\9ID\r\n")),
])
def test_parse_identification(line, expected):
    assert parse_identification(line) == expected


@pytest.mark.parametrize("line", [
    b"", b"/?!", b"ABC5ID", b"/AB5ID", b"/ABCEID",  # mode B baud character
    b"/ABC7ID", b"/ABC5ID!", b"/ABC5\x01ID", b"/1BC5ID",
])
def test_parse_identification_rejects(line):
    assert parse_identification(line) is None


def test_identification_fast_reaction_flag():
    assert parse_identification(b"/ABc5X").fast_reaction
    assert not parse_identification(b"/ABC5X").fast_reaction


# -- the opening sequence -------------------------------------------------------------------------

def test_mode_e_sign_on_switches_to_proposed_baud():
    ack = bytes.fromhex("06 32 35 32 0D 0A")
    transport, fake = mode_e([
        ScriptStep(expect=SIGN_ON, reply=b"/ABC5\\2METER01\r\n", line=LINE_7E1_300),
        ScriptStep(expect=ack, line=LINE_7E1_300),
        ScriptStep(expect=SNRM, reply=UA, line=(9600, 8, "N", 1)),
    ])
    traffic: list[tuple[str, bytes]] = []
    transport.on_traffic = lambda d, b: traffic.append((d, b))
    transport.open()
    try:
        assert transport.identification == Identification(
            manufacturer="ABC", baud_character="5", baud=9600, ident="METER01",
            escapes=("2",), raw=b"/ABC5\\2METER01\r\n")
        assert fake.line_changes == [LINE_7E1_300, (9600, 8, "N", 1)]
        assert fake.events == [("open", LINE_7E1_300), ("write", SIGN_ON), ("write", ack),
                               ("flush", None), ("line", (9600, 8, "N", 1))]
        assert [line for _data, line in fake.writes] == [LINE_7E1_300, LINE_7E1_300]
        # IEC 62056-21: 200 ms reaction time (upper-case manufacturer) before the ACK ...
        assert fake.event_times[2] - fake.event_times[1] >= 0.2
        # ... and the 6 ACK characters at 300 baud 7E1 (10 bits each) are on the wire for 200 ms.
        assert fake.event_times[4] - fake.event_times[2] >= 0.19
        assert transport.description == \
            "serial /dev/ttyUSB0 9600 8N1 (IEC 62056-21 mode E)"

        transport.write(SNRM)  # plain transport from here on
        assert transport.read(1.0) == UA
        assert fake.errors == []
        assert transport.bytes_sent == len(SIGN_ON) + len(ack) + len(SNRM)
        assert transport.bytes_received == len(b"/ABC5\\2METER01\r\n") + len(UA)
        assert traffic[:2] == [("tx", SIGN_ON), ("rx", b"/ABC5\\2METER01\r\n")]
        assert traffic[2] == ("tx", ack)
    finally:
        transport.close()
    assert not fake.is_open
    assert not transport.is_open


@pytest.mark.parametrize(("proposal", "ack_baud", "chosen"), [
    ("6", 4800, 4800),  # ack_baud caps the meter's offer
    ("3", 9600, 2400),  # never more than the meter offers
])
def test_ack_baud(proposal, ack_baud, chosen):
    ack = option_select_message(chosen)
    transport, fake = mode_e([
        ScriptStep(expect=SIGN_ON, reply=b"/ABc" + proposal.encode() + b"\\2X\r\n",
                   line=LINE_7E1_300),
        ScriptStep(expect=ack, line=LINE_7E1_300),
    ], ack_baud=ack_baud)
    with transport:
        assert transport.identification.baud == BAUD_CHARACTERS[proposal]
        assert fake.line_changes == [LINE_7E1_300, (chosen, 8, "N", 1)]
        assert fake.writes[-1] == (ack, LINE_7E1_300)
        assert fake.errors == []


def test_ack_baud_must_be_a_mode_e_rate():
    serial_transport = SerialTransport("COM1", serial_factory=FakeSerial().factory)
    with pytest.raises(ValueError):
        ModeETransport(serial_transport, ack_baud=5000)


def test_fast_reaction_meter_and_split_identification():
    """Lower-case third letter: 20 ms reaction time; identification arriving in pieces."""
    fake = FakeSerial([ScriptStep(expect=SIGN_ON, reply=b"/ABc4", line=LINE_7E1_300)])
    transport = ModeETransport(SerialTransport("COM4", serial_factory=fake.factory))
    fake_feed_later = threading.Timer(0.05, lambda: fake.feed(b"\\2ID42\r\n"))
    fake_feed_later.start()
    with transport:
        assert transport.identification.ident == "ID42"
        assert transport.identification.baud == 4800
        ack_written = fake.event_times[[e for e, _ in fake.events].index("write", 2)]
        assert ack_written - fake.event_times[1] < 0.2
        assert fake.line_changes[-1] == (4800, 8, "N", 1)


def test_echoing_probe_and_stale_input_are_tolerated():
    fake = FakeSerial([ScriptStep(expect=b"/?12345678!\r\n",
                                  reply=b"/?12345678!\r\n/ABc5\\2M\r\n", line=LINE_7E1_300)])
    fake_transport = SerialTransport("COM5", serial_factory=fake.factory)
    transport = ModeETransport(fake_transport, device_address="12345678")
    original_factory = fake.factory

    def factory(**kwargs):
        port = original_factory(**kwargs)
        port.feed(b"\x00stale\r\n")  # left in the driver buffer from before: must be discarded
        return port

    fake_transport._factory = factory
    with transport:
        assert transport.identification.manufacturer == "ABc"
        assert fake.writes[0][0] == b"/?12345678!\r\n"
        assert fake.line_changes[-1] == (9600, 8, "N", 1)


# -- failures -------------------------------------------------------------------------------------

def test_no_answer_is_connection_failed():
    transport, fake = mode_e([ScriptStep(expect=SIGN_ON, line=LINE_7E1_300)],
                             identification_timeout=0.2)
    start = time.monotonic()
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    assert 0.19 <= time.monotonic() - start < 0.7
    assert str(info.value) == ("serial /dev/ttyUSB0: no IEC 62056-21 identification at 300 baud "
                               "7E1 within 0.2 s")
    assert not transport.is_open
    assert not fake.is_open  # the port is released on failure
    assert fake.line_changes == [LINE_7E1_300]


def test_garbage_identification_fails_fast_with_the_bytes():
    transport, fake = mode_e([ScriptStep(expect=SIGN_ON, reply=b"\x7e\xa0\x07\x03\r\n",
                                         line=LINE_7E1_300)], identification_timeout=2.0)
    start = time.monotonic()
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    assert time.monotonic() - start < 1.0  # a complete bad line needs no timeout
    assert str(info.value) == ("serial /dev/ttyUSB0: no IEC 62056-21 identification at 300 baud "
                               "7E1 (received garbage: 7E A0 07 03 0D 0A)")
    assert not fake.is_open
    assert len(fake.writes) == 1  # no ACK after garbage


def test_mode_b_meter_is_refused():
    transport, _fake = mode_e([ScriptStep(expect=SIGN_ON, reply=b"/ABCE2ID\r\n",
                                          line=LINE_7E1_300)])
    with pytest.raises(ConnectionFailed, match="received garbage: 2F 41 42 43 45"):
        transport.open()


def test_endless_garbage_is_truncated():
    transport, _fake = mode_e([ScriptStep(expect=SIGN_ON, reply=b"\x55" * 300,
                                          line=LINE_7E1_300)])
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    message = str(info.value)
    assert message.endswith(" …)")
    assert message.count("55") == 48


def test_incomplete_identification_times_out():
    transport, _fake = mode_e([ScriptStep(expect=SIGN_ON, reply=b"/ABC5ID",
                                          line=LINE_7E1_300)], identification_timeout=0.2)
    with pytest.raises(ConnectionFailed, match=r"incomplete or garbage: 2F 41 42 43 35 49 44\)"):
        transport.open()


def test_cancel_while_waiting_for_identification():
    token = CancelToken()
    transport, fake = mode_e([ScriptStep(expect=SIGN_ON, line=LINE_7E1_300)],
                             identification_timeout=10.0)
    threading.Timer(0.1, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        transport.open(token)
    assert time.monotonic() - start < 0.6
    assert not fake.is_open


def test_port_missing_is_connection_failed():
    fake = FakeSerial(open_error=FileNotFoundError(2, "No such file or directory"))
    transport = ModeETransport(SerialTransport("/dev/ttyUSB0", serial_factory=fake.factory))
    with pytest.raises(ConnectionFailed, match="serial /dev/ttyUSB0: no such port"):
        transport.open()


def test_reopen_signs_on_again_at_300_baud():
    ident = b"/ABc5\\2M\r\n"
    ack = option_select_message(9600)
    transport, fake = mode_e([
        ScriptStep(expect=SIGN_ON, reply=ident, line=LINE_7E1_300),
        ScriptStep(expect=ack, line=LINE_7E1_300),
        ScriptStep(expect=SIGN_ON, reply=ident, line=LINE_7E1_300),
        ScriptStep(expect=ack, line=LINE_7E1_300),
    ])
    with transport:
        pass
    with transport:
        pass
    assert fake.line_changes == [LINE_7E1_300, (9600, 8, "N", 1)] * 2
    assert fake.errors == []
