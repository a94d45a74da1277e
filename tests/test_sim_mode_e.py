"""IEC 62056-21 mode E and line inactivity on the simulator: a client that leaves without DISC
can sign on again, the inactivity time-out drops HDLC links, and our own client stack
(Session over ModeETransport over SerialTransport) works against ``simulate --pty --mode-e``."""

from __future__ import annotations

import time

import pytest

from meterreader.client import Session
from meterreader.client.settings import ConnectionSettings, Framing as ClientFraming
from meterreader.dlms import connection_events as ev
from meterreader.dlms.hdlc import FrameReader, FrameType, HdlcAddress, HdlcFrame, encode_frame
from meterreader.simulator import cli
from meterreader.simulator.facade import SimulatedMeter
from meterreader.simulator.server import (DEFAULT_INACTIVITY_TIMEOUT, Framing, MeterServer,
                                          ServerOptions)
from meterreader.transport import ModeETransport, SerialTransport
from sim_driver import FdLine, LinkDown, SimClient, settings_for

IDENTIFICATION = b"/MRD5\\2@IS15959SIM\r\n"
CLOCK = "0.0.1.0.0.255"


def read_line(line: FdLine, timeout: float = 2.0) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while not data.endswith(b"\r\n") and time.monotonic() < deadline:
        data += line.read(deadline - time.monotonic())
    return data


def sign_on(line: FdLine) -> None:
    line.write(b"/?!\r\n")
    assert read_line(line) == IDENTIFICATION
    line.write(b"\x06252\r\n")


def test_a_client_that_left_without_disc_can_sign_on_again():
    with SimulatedMeter("C", seed=21, days_of_block_load=1, mode_e=True) as m:
        line = FdLine(m.serve_pty())
        try:
            sign_on(line)
            first = SimClient(line, settings_for("MR"), hdlc=True).connect()
            assert isinstance(first.associate(), ev.AssociationAccepted)
            # the client goes away: no RLRQ, no DISC. The next one starts with the sign-on.
            sign_on(line)
            second = SimClient(line, settings_for("PC"), hdlc=True).connect()
            assert isinstance(second.associate(), ev.AssociationAccepted)
            assert len(second.get(8, CLOCK, 2).value) == 12
            second.disconnect()
        finally:
            line.close()


def _snrm() -> bytes:
    return encode_frame(HdlcFrame(destination=HdlcAddress.server(1, 256, size=4),
                                  source=HdlcAddress.client(16), frame_type=FrameType.SNRM,
                                  poll_final=True))


def test_sign_on_request_between_frames_restarts_the_sign_on_at_the_session():
    meter = SimulatedMeter("C", seed=21, days_of_block_load=1, mode_e=True)
    session = meter.server.session(Framing.HDLC)
    assert session.receive_data(b"/?!\r\n") == [IDENTIFICATION]
    assert session.receive_data(b"\x06252\r\n") == []
    assert session.line_baud == 9600
    [ua] = FrameReader().feed(b"".join(session.receive_data(_snrm())))
    assert ua.frame_type is FrameType.UA
    # a request line split over two reads, in HDLC state
    assert session.receive_data(b"/?") == []
    assert session.receive_data(b"!\r\n") == [IDENTIFICATION]
    assert session.line_baud == 300
    # text that is not a request is dropped, HDLC goes on
    session.receive_data(b"\x06252\r\n")
    [ua] = FrameReader().feed(b"".join(session.receive_data(_snrm())))
    assert ua.frame_type is FrameType.UA
    assert session.receive_data(b"/hello\r\n") == []
    [ua] = FrameReader().feed(b"".join(session.receive_data(_snrm())))
    assert ua.frame_type is FrameType.UA and session.line_baud == 9600


def test_inactivity_returns_to_the_sign_on_at_300_baud():
    meter = SimulatedMeter("C", seed=21, days_of_block_load=1)
    server = MeterServer(meter.device, ServerOptions(mode_e=True, inactivity_timeout=30))
    session = server.session(Framing.HDLC)
    session.receive_data(b"/?!\r\n\x06252\r\n")
    session.receive_data(_snrm())
    session.idle(29.0)
    assert session.line_baud == 9600
    session.idle(30.0)
    assert session.line_baud == 300
    assert session.receive_data(b"/?!\r\n") == [IDENTIFICATION]
    with pytest.raises(ValueError):
        ServerOptions(inactivity_timeout=0)
    assert ServerOptions().inactivity_timeout == DEFAULT_INACTIVITY_TIMEOUT \
        == cli.DEFAULT_INACTIVITY_TIMEOUT
    args = cli.build_parser().parse_args(["--inactivity-timeout", "0"])
    assert args.inactivity_timeout == 0  # 0 = never (passed on as None)


def test_inactivity_timeout_drops_the_hdlc_link_on_a_pty():
    with SimulatedMeter("C", seed=21, days_of_block_load=1, inactivity_timeout=0.3) as m:
        line = FdLine(m.serve_pty())
        try:
            client = SimClient(line, settings_for("PC"), hdlc=True, timeout=1.0).connect()
            assert isinstance(client.associate(), ev.AssociationAccepted)
            assert len(client.get(8, CLOCK, 2).value) == 12
            time.sleep(0.6)
            with pytest.raises(LinkDown):  # the meter answers DM: the link is gone
                client.get(8, CLOCK, 2)
            again = SimClient(line, settings_for("PC"), hdlc=True).connect()
            assert isinstance(again.associate(), ev.AssociationAccepted)
            again.disconnect()
        finally:
            line.close()


def test_our_client_signs_on_over_a_pty_with_mode_e():
    """Session → ModeETransport → SerialTransport on the simulator's pty: 300 Bd 7E1 sign-on,
    then 9600 Bd 8N1 HDLC (SNRM/UA, association, GET) — the 8N1 switch must not fail on a
    pty (quirk pty-line-settings)."""
    with SimulatedMeter("C", seed=21, days_of_block_load=1, mode_e=True) as m:
        transport = ModeETransport(SerialTransport(m.serve_pty()))
        settings = ConnectionSettings.for_association("pc", framing=ClientFraming.HDLC,
                                                      response_timeout=2.0)
        with Session(transport, settings) as session:  # connects
            assert transport.identification is not None
            assert transport.identification.raw == IDENTIFICATION
            assert transport.serial.line == (9600, 8, "N", 1)
            assert session.read_clock() is not None
