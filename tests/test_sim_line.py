"""The simulator's hard connection cases, seen from the client side: the serial line emulator
(baud rate, 7E1/8N1, mode E and mode-E-only meters), 1-byte-addressing-only meters and the
wrapper-only TCP port. Right settings connect; wrong ones give silence or garbage, never a hang."""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import given, settings, strategies as st

from meterreader.client import Session
from meterreader.client.errors import MeterNotAnswering
from meterreader.client.settings import ConnectionSettings, Framing as ClientFraming
from meterreader.dlms.hdlc import FrameReader, FrameType, HdlcAddress, HdlcFrame, encode_frame
from meterreader.simulator import cli
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.serial_line import (SIGN_ON_LINE, EmulatedSerialMeter, LineFormat,
                                               parse_format, uart_transfer)
from meterreader.simulator.server import ServerOptions
from meterreader.transport import (ConnectionFailed, ModeETransport, ReadTimeout,
                                   SerialTransport, TcpTransport)

IDENT = b"/MRD5\\2@IS15959SIM\r\n"
L8N1 = (9600, 8, "N", 1)
L7E1 = (9600, 7, "E", 1)


def meter(**options) -> SimulatedMeter:
    return SimulatedMeter("C", seed=3, days_of_block_load=1, **options)


def hdlc_settings(**changes) -> ConnectionSettings:
    return ConnectionSettings.for_association("pc", framing=ClientFraming.HDLC,
                                              response_timeout=0.3, retries=0).replace(**changes)


def snrm(size: int = 4) -> bytes:
    address = (HdlcAddress.server(1, size=1) if size == 1
               else HdlcAddress.server(1, 256 if size == 4 else 17, size=size))
    return encode_frame(HdlcFrame(destination=address, source=HdlcAddress.client(16),
                                  frame_type=FrameType.SNRM, poll_final=True))


def answer(transport, timeout: float = 0.3) -> bytes:
    """Everything the transport reads within ``timeout`` (b"" = silence)."""
    data, deadline = b"", time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            data += transport.read(left)
        except ReadTimeout:
            break
    return data


def serial(line: EmulatedSerialMeter, baud: int = 9600, fmt: str = "8N1") -> SerialTransport:
    f = parse_format(fmt)
    return SerialTransport("EMU", baudrate=baud, bytesize=f.bytesize, parity=f.parity,
                           stopbits=f.stopbits, serial_factory=line.serial_factory)


def with_parity(data: bytes) -> bytes:
    """7E1 characters read by an 8N1 UART: bit 7 is the even parity bit."""
    return bytes(b | (bin(b).count("1") & 1) << 7 for b in data)


# -- the UART model ----------------------------------------------------------------------------

def test_uart_same_settings_pass_bytes_through():
    data = bytes(range(256))
    assert uart_transfer(data, L8N1, L8N1) == data
    assert uart_transfer(data, L7E1, L7E1) == bytes(b & 0x7F for b in data)
    assert uart_transfer(b"", L8N1, (300, 7, "E", 1)) == b""


def test_uart_7e1_and_8n1_at_the_same_baud():
    frame = snrm()
    # toward a 7E1 meter, bit 7 arrives as the (unchecked) parity bit: dropped
    assert uart_transfer(frame, L8N1, L7E1) == bytes(b & 0x7F for b in frame)
    # toward an 8N1 client, bit 7 is the parity bit
    assert uart_transfer(IDENT, L7E1, L8N1) == with_parity(IDENT)
    assert uart_transfer(IDENT, L7E1, L8N1) != IDENT


def test_uart_baud_mismatch_gives_deterministic_junk():
    frame = snrm()
    fast = uart_transfer(frame, L8N1, (19200, 8, "N", 1))
    slow = uart_transfer(frame, L8N1, (4800, 8, "N", 1))
    assert fast != frame and slow != frame
    assert len(slow) < len(frame) < len(fast)
    assert fast == uart_transfer(frame, L8N1, (19200, 8, "N", 1))
    # a 300 Bd identification read at 9600 Bd: long runs of low bits, framing errors as 0x00
    junk = uart_transfer(IDENT, SIGN_ON_LINE, L8N1)
    assert len(junk) > 5 * len(IDENT) and junk.count(0) > len(IDENT)
    # a short 9600 Bd burst is a glitch to a 300 Bd UART: nothing decoded
    assert uart_transfer(b"/?!\r\n", L8N1, SIGN_ON_LINE) == b""


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=40),
       tx=st.tuples(st.sampled_from((300, 2400, 9600, 19200, 115200)), st.sampled_from((7, 8)),
                    st.sampled_from("NEO"), st.sampled_from((1, 1.5, 2))),
       rx=st.tuples(st.sampled_from((300, 2400, 9600, 19200, 115200)), st.sampled_from((7, 8)),
                    st.sampled_from("NEO"), st.sampled_from((1, 2))))
def test_uart_any_settings_give_bytes_of_the_receivers_size(data, tx, rx):
    out = uart_transfer(data, tx, rx)
    assert isinstance(out, bytes) and all(b < 1 << rx[1] for b in out)
    # every character needs at least a start and a stop bit of the receiver
    assert len(out) <= len(data) * (2 + tx[1] + 2) * rx[0] // (2 * tx[0]) + 1


def test_parse_format():
    assert parse_format("7e1") == LineFormat(bytesize=7, parity="E", stopbits=1)
    assert str(parse_format("8N1")) == "8N1" and str(parse_format("8E1.5")) == "8E1.5"
    for bad in ("9N1", "8X1", "8N3", "", "8N"):
        with pytest.raises(ValueError):
            parse_format(bad)


# -- baud rate ---------------------------------------------------------------------------------

def test_meter_at_19200_answers_only_at_19200():
    line = EmulatedSerialMeter(meter(serial_baud=19200))
    for baud in (9600, 38400, 115200):
        with serial(line, baud) as transport:
            transport.write(snrm())
            assert answer(transport) == b""  # the meter decoded junk: silence
        assert line.received[-1][1] != snrm()
    with pytest.raises(MeterNotAnswering):
        Session(serial(line, 9600), hdlc_settings()).connect()
    with Session(serial(line, 19200), hdlc_settings(response_timeout=2.0)) as session:
        assert session.read_clock() is not None
    assert line.meter_line() == (19200, 8, "N", 1)


# -- mode E ------------------------------------------------------------------------------------

def test_mode_e_only_meter_needs_the_sign_on():
    line = EmulatedSerialMeter(meter(mode_e_only=True))
    assert line.meter.options.mode_e and line.meter_line() == SIGN_ON_LINE
    with serial(line, 9600) as transport:  # direct HDLC at the right HDLC speed
        transport.write(snrm())
        assert answer(transport) == b""
    with serial(line, 300, "7E1") as transport:  # even at the sign-on settings
        transport.write(snrm())
        assert answer(transport) == b""
    assert line.meter_line() == SIGN_ON_LINE
    transport = ModeETransport(serial(line))
    with Session(transport, hdlc_settings(response_timeout=2.0)) as session:
        assert transport.identification.raw == IDENT
        assert line.meter_line() == L8N1
        assert session.read_clock() is not None
    assert line.meter_line() == SIGN_ON_LINE  # DISC: back to the sign-on
    assert [port.line_changes for port in line.ports][-1] == [SIGN_ON_LINE, L8N1]


def test_mode_e_meter_also_takes_hdlc_straight_away():
    line = EmulatedSerialMeter(meter(mode_e=True))
    with serial(line, 9600) as transport:
        transport.write(snrm())
        [ua] = FrameReader().feed(answer(transport))
        assert ua.frame_type is FrameType.UA
    with serial(line, 19200) as transport:  # not at the wrong speed
        transport.write(snrm())
        assert answer(transport) == b""


def test_mode_e_sign_on_with_wrong_settings():
    line = EmulatedSerialMeter(meter(mode_e_only=True))
    with serial(line, 300, "8N1") as transport:
        # parity mismatch: the meter reads the request, its 7E1 answer has bit 7 = parity
        transport.write(b"/?!\r\n")
        assert answer(transport) == with_parity(IDENT)
    line = EmulatedSerialMeter(meter(mode_e_only=True))
    with serial(line, 9600, "7E1") as transport:  # wrong baud: silence
        transport.write(b"/?!\r\n")
        assert answer(transport) == b""
    # a meter without mode E stays silent to the sign-on
    plain = EmulatedSerialMeter(meter())
    with pytest.raises(ConnectionFailed, match="no IEC 62056-21 identification .* within"):
        ModeETransport(serial(plain), identification_timeout=0.3).open()


def test_mode_e_meter_offers_its_serial_baud():
    line = EmulatedSerialMeter(meter(mode_e_only=True, serial_baud=19200))
    transport = ModeETransport(serial(line))
    with Session(transport, hdlc_settings(response_timeout=2.0)) as session:
        assert transport.identification.baud == 19200
        assert transport.serial.line == line.meter_line() == (19200, 8, "N", 1)
        assert session.read_clock() is not None
    with pytest.raises(ValueError, match="300…19200"):
        meter(mode_e=True, serial_baud=115200)


def test_a_client_that_leaves_without_disc_finds_the_meter_at_the_hdlc_speed():
    line = EmulatedSerialMeter(meter(mode_e_only=True, inactivity_timeout=0.4))
    with ModeETransport(serial(line)) as transport:
        transport.write(snrm())
        assert FrameReader().feed(answer(transport))[0].frame_type is FrameType.UA
    assert line.meter_line() == L8N1  # no DISC: the meter stays in HDLC
    with pytest.raises(ConnectionFailed):
        ModeETransport(serial(line), identification_timeout=0.2).open()
    time.sleep(0.5)  # the inactivity time-out brings the sign-on back
    assert line.meter_line() == SIGN_ON_LINE
    with ModeETransport(serial(line)) as transport:
        assert transport.identification.raw == IDENT


# -- 7E1 meters --------------------------------------------------------------------------------

def test_7e1_meter_cannot_carry_hdlc():
    line = EmulatedSerialMeter(meter(serial_format="7E1"))
    assert line.meter_line() == L7E1
    for fmt in ("8N1", "7E1"):
        with serial(line, 9600, fmt) as transport:
            transport.write(snrm())
            assert answer(transport) == b""
        assert line.received[-1][1] == bytes(b & 0x7F for b in snrm())
    # mode E on a 7E1 port: the sign-on works, HDLC afterwards does not
    line = EmulatedSerialMeter(meter(mode_e_only=True, serial_format="7E1"))
    transport = ModeETransport(serial(line))
    with pytest.raises(MeterNotAnswering):
        Session(transport, hdlc_settings()).connect()
    assert transport.identification is not None and line.meter_line() == L7E1


# -- addressing --------------------------------------------------------------------------------

def test_one_byte_addressing_only():
    line = EmulatedSerialMeter(meter(address_sizes=(1,)))
    for size in (2, 4):
        with serial(line) as transport:
            transport.write(snrm(size))
            assert answer(transport) == b""
        with pytest.raises(MeterNotAnswering):
            Session(serial(line), hdlc_settings(address_size=size, server_physical_address=(
                17 if size == 2 else 256))).connect()
    with Session(serial(line), hdlc_settings(address_size=1, response_timeout=2.0)) as session:
        assert session.read_clock() is not None
    with pytest.raises(ValueError):
        ServerOptions(address_sizes=(3,))
    with pytest.raises(ValueError):
        ServerOptions(address_sizes=())


def test_one_byte_addressing_only_over_hdlc_tcp():
    with meter(address_sizes=(1,)) as m:
        port = m.serve_tcp(hdlc=True)
        with pytest.raises(MeterNotAnswering):
            Session(TcpTransport("127.0.0.1", port), hdlc_settings()).connect()
        with Session(TcpTransport("127.0.0.1", port),
                     hdlc_settings(address_size=1, response_timeout=2.0)) as session:
            assert session.read_clock() is not None


def test_mode_e_only_over_hdlc_tcp_ignores_hdlc_first():
    with meter(mode_e_only=True) as m:
        port = m.serve_tcp(hdlc=True)
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(snrm())
            sock.settimeout(0.3)
            with pytest.raises(socket.timeout):
                sock.recv(100)
            sock.settimeout(2)
            sock.sendall(b"/?!\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                data += sock.recv(100)
            assert data == IDENT


# -- wrapper-only port -------------------------------------------------------------------------

@pytest.mark.parametrize("wrapper_only", (False, True))
def test_hdlc_probe_on_a_wrapper_port(wrapper_only):
    with meter(wrapper_only=wrapper_only) as m:
        port = m.serve_tcp()
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(snrm())
            sock.settimeout(0.5)
            if not wrapper_only:  # the meter closes the connection
                assert sock.recv(100) == b""
                return
            with pytest.raises(socket.timeout):  # silence, connection kept
                sock.recv(100)
        # the next client on a wrapper-only meter is served normally
        settings = ConnectionSettings.for_association("pc", response_timeout=2.0)
        with Session(TcpTransport("127.0.0.1", port), settings) as session:
            assert session.read_clock() is not None


def test_wrapper_only_meter_resyncs_on_the_same_connection():
    with meter(wrapper_only=True) as m:
        port = m.serve_tcp()
        transport = TcpTransport("127.0.0.1", port)
        transport.open()
        try:
            transport.write(snrm())
            assert answer(transport, 0.3) == b""
            settings = ConnectionSettings.for_association("pc", response_timeout=2.0)
            with Session(transport, settings) as session:
                assert session.read_clock() is not None
        finally:
            transport.close()


# -- the factory -------------------------------------------------------------------------------

def test_factory_port_name_and_options():
    line = EmulatedSerialMeter(meter(), port="/dev/ttyEMU0")
    with pytest.raises(ConnectionFailed, match="no such port"):
        SerialTransport("/dev/ttyUSB9", serial_factory=line.serial_factory).open()
    with SerialTransport("/dev/ttyEMU0", serial_factory=line.serial_factory) as transport:
        transport.write(snrm())
        assert FrameReader().feed(answer(transport))[0].frame_type is FrameType.UA
    assert line.ports[-1].open_kwargs["port"] == "/dev/ttyEMU0"
    with pytest.raises(ValueError):
        meter(serial_format="9Z1")


def test_wire_time_delays_the_answer():
    line = EmulatedSerialMeter(meter(mode_e_only=True), wire_time=True)
    with serial(line, 300, "7E1") as transport:
        started = time.monotonic()
        transport.write(b"/?!\r\n")
        data = answer(transport, 1.5)
        assert data == IDENT
        # 21 characters of 10 bits at 300 Bd: 0.7 s on the wire
        assert time.monotonic() - started >= 0.65


def test_simulate_command_line_options():
    args = cli.build_parser().parse_args([
        "--mode-e-only", "--serial-baud", "19200", "--serial-format", "7E1",
        "--address-sizes", "1", "--wrapper-only"])
    assert (args.mode_e_only, args.serial_baud, args.serial_format, args.wrapper_only) == (
        True, 19200, "7E1", True)
    assert cli._sizes(args.address_sizes) == (1,) and cli._sizes("1,2,4") == (1, 2, 4)
    with pytest.raises(ValueError):
        cli._sizes("one")


def test_sign_on_delay_is_the_meters_reaction_time():
    # IEC 62056-21: the identification follows the request after the reaction time (≤ 1.5 s).
    line = EmulatedSerialMeter(meter(mode_e_only=True), sign_on_delay=0.5)
    with serial(line, 300, "7E1") as transport:
        started = time.monotonic()
        transport.write(b"/?!\r\n")
        assert answer(transport, 0.3) == b""  # not yet
        first = transport.read(1.0)
        assert 0.45 <= time.monotonic() - started < 1.0
        assert first + answer(transport, 0.1) == IDENT
    # A sign-on that waits less than the reaction time sees nothing; one that waits enough works.
    line = EmulatedSerialMeter(meter(mode_e_only=True), sign_on_delay=0.5)
    short = ModeETransport(serial(line), identification_timeout=0.3)
    with pytest.raises(ConnectionFailed, match="within 0.3 s"):
        short.open()
    line = EmulatedSerialMeter(meter(mode_e_only=True), sign_on_delay=0.5)
    with ModeETransport(serial(line), identification_timeout=1.0) as transport:
        assert transport.identification.manufacturer == "MRD"
    with pytest.raises(ValueError):
        EmulatedSerialMeter(meter(), sign_on_delay=-1)


def test_reply_delay_and_echo():
    line = EmulatedSerialMeter(meter(), reply_delay=0.3, echo=True)
    with serial(line) as transport:
        request = snrm()
        started = time.monotonic()
        transport.write(request)
        assert answer(transport, 0.1) == request  # the adapter's echo at once
        reply = answer(transport, 0.6)
        assert time.monotonic() - started >= 0.28
        frames = [f for f in FrameReader().feed(reply) if isinstance(f, HdlcFrame)]
        assert [f.frame_type for f in frames] == [FrameType.UA]
