"""Line emulation and fault injection (meterreader.simulator.faults): the injector's actions
byte-exact, then every fault kind observed by a client over real sockets."""

from __future__ import annotations

import socket
import time

import pytest

from meterreader.dlms import connection_events as ev
from meterreader.dlms.axdr import DataTag
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import FrameType, HdlcAddress, HdlcFrame, decode_frame, encode_frame
from meterreader.dlms.wrapper import WrapperReader
from meterreader.dlms.xdlms.common import EntryDescriptor, SelectiveAccessDescriptor
from meterreader.simulator.faults import (DEFAULTS, Fault, FaultInjector, FaultKind, LineOptions,
                                          Pause, Reboot, Reset, Stall, Write, corrupt_frame, pace,
                                          wire_time)
from meterreader.simulator.facade import SimulatedMeter
from sim_driver import (LineLost, LineTimeout, LinkDown, SimClient, SocketLine, attribute,
                        open_client, settings_for)

CLOCK = "0.0.1.0.0.255"
ENERGY = "1.0.1.8.0.255"
AARQ_PC = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF")


# -- parsing and the injector -------------------------------------------------------------------

@pytest.mark.parametrize("text,kind,value", [
    ("drop=3", FaultKind.DROP, 3), ("delay=0.25", FaultKind.DELAY, 0.25),
    ("reboot", FaultKind.REBOOT, DEFAULTS[FaultKind.REBOOT]),
    (" Stall = 100 ", FaultKind.STALL, 100),
    ("corrupt=1", FaultKind.CORRUPT, 1), ("duplicate=2", FaultKind.DUPLICATE, 2),
    ("reset=10", FaultKind.RESET, 10)])
def test_fault_parse(text, kind, value):
    assert Fault.parse(text) == Fault(kind=kind, value=value)


@pytest.mark.parametrize("text", ["explode", "drop=0", "drop=1.5", "delay=-1", "stall=abc", ""])
def test_fault_parse_rejects(text):
    with pytest.raises(ValueError):
        Fault.parse(text)


def test_line_options_validate():
    with pytest.raises(ValueError):
        LineOptions(link_baud=0)
    assert LineOptions(faults=[Fault.parse("drop")]).faults == (Fault.parse("drop=5"),)


FRAMES = [bytes([0x7E, i, 0xAA, 0xBB, 0x7E]) for i in range(1, 7)]


def test_no_faults_writes_every_frame():
    assert FaultInjector().outgoing(FRAMES) == [Write(data=f) for f in FRAMES]


def test_drop_corrupt_duplicate_count_frames_over_the_connection():
    injector = FaultInjector([Fault.parse("drop=3"), Fault.parse("corrupt=4"),
                              Fault.parse("duplicate=5")])
    actions = injector.outgoing(FRAMES[:2]) + injector.outgoing(FRAMES[2:])
    f = FRAMES  # frames 3 and 6 dropped, 4 corrupted, 5 sent twice
    assert actions == [Write(data=f[0]), Write(data=f[1]), Write(data=corrupt_frame(f[3])),
                       Write(data=f[4]), Write(data=f[4])]


def test_drop_every_third_frame_exactly():
    actions = FaultInjector([Fault.parse("drop=3")]).outgoing(FRAMES)
    assert actions == [Write(data=FRAMES[i]) for i in (0, 1, 3, 4)]


def test_corrupt_frame_breaks_the_hdlc_fcs_only():
    frame = encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                   source=HdlcAddress.server(1, 256), frame_type=FrameType.I,
                                   poll_final=True, info=b"\xe6\xe7\x00\xc4\x01"))
    bad = corrupt_frame(frame)
    assert len(bad) == len(frame) and bad[:-3] == frame[:-3] and bad[-1] == 0x7E
    assert bytes(a ^ b for a, b in zip(bad[-3:-1], frame[-3:-1])) == b"\xff\xff"
    with pytest.raises(DlmsError):
        decode_frame(bad)
    assert corrupt_frame(b"\x00\x01\x00\x01\x00\x10\x00\x01\xc4") \
        == b"\x00\x01\x00\x01\x00\x10\x00\x01\x3b"


def test_stall_cuts_mid_frame_then_swallows_everything():
    injector = FaultInjector([Fault.parse("stall=12")])
    assert injector.outgoing(FRAMES[:2]) == [Write(data=FRAMES[0]), Write(data=FRAMES[1])]
    assert injector.outgoing(FRAMES[2:4]) == [Write(data=FRAMES[2][:2]), Stall()]
    assert injector.stalled and injector.outgoing(FRAMES) == []


def test_reset_after_n_bytes_and_the_smaller_limit_wins():
    assert FaultInjector([Fault.parse("reset=7")]).outgoing(FRAMES) == [
        Write(data=FRAMES[0]), Write(data=FRAMES[1][:2]), Reset()]
    both = FaultInjector([Fault.parse("reset=7"), Fault.parse("stall=5")])
    assert both.outgoing(FRAMES) == [Write(data=FRAMES[0]), Stall()]


def test_delay_and_reboot_actions():
    injector = FaultInjector([Fault.parse("delay=0.5"), Fault.parse("reboot=2")])
    assert injector.outgoing(FRAMES[:3]) == [Pause(seconds=0.5), Write(data=FRAMES[0]),
                                             Write(data=FRAMES[1]), Reboot(),
                                             Write(data=FRAMES[2])]
    assert injector.outgoing([]) == []


def test_pace_slices_by_wire_time():
    assert pace(b"abc", None) == [(b"abc", 0.0)]
    chunks = pace(bytes(100), 9600)  # 960 B/s: 19 bytes per 20 ms slice
    assert b"".join(c for c, _ in chunks) == bytes(100)
    assert {len(c) for c, _ in chunks[:-1]} == {19}
    assert sum(t for _, t in chunks) == pytest.approx(wire_time(100, 9600)) \
        == pytest.approx(100 / 960)


# -- every fault kind, end to end -----------------------------------------------------------------

def _meter(*faults: str, **kw) -> SimulatedMeter:
    return SimulatedMeter("C", seed=5, faults=faults, **kw)


def test_delay_is_seen_by_the_client():
    with _meter("delay=0.3") as m:
        client = open_client("wrapper", m.serve_tcp(), "MR")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            started = time.monotonic()
            assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
            assert time.monotonic() - started >= 0.28
        finally:
            client.close()


def test_dropped_frames_make_the_hdlc_client_retransmit():
    with _meter("drop=3") as m:
        client = open_client("hdlc", m.serve_tcp(hdlc=True), "MR", timeout=0.2)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            values = [client.get(3, ENERGY, 2) for _ in range(3)]
        finally:
            client.close()
    assert all(v.tag is DataTag.DOUBLE_LONG_UNSIGNED for v in values)
    assert client.timeouts >= 2  # each dropped answer cost one timeout and a retransmission


def test_corrupted_fcs_is_rejected_and_recovered_by_retransmission():
    with _meter("corrupt=3") as m:
        client = open_client("hdlc", m.serve_tcp(hdlc=True), "MR", timeout=0.2)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            values = [client.get(3, ENERGY, 2) for _ in range(3)]
        finally:
            client.close()
    assert all(v.tag is DataTag.DOUBLE_LONG_UNSIGNED for v in values)
    assert client.rejected and client.timeouts >= 1
    assert all(r.error.reason.name in ("BAD_FCS", "BAD_HCS") for r in client.rejected)


def test_duplicated_packets_arrive_twice():
    with _meter("duplicate=1") as m, socket.create_connection(
            ("127.0.0.1", m.serve_tcp()), timeout=2) as sock:
        sock.sendall(b"\x00\x01\x00\x10\x00\x01" + len(AARQ_PC).to_bytes(2, "big") + AARQ_PC)
        reader, packets, deadline = WrapperReader(), [], time.monotonic() + 2
        while len(packets) < 2 and time.monotonic() < deadline:
            packets += reader.feed(sock.recv(4096))
    assert len(packets) == 2 and packets[0] == packets[1] and packets[0].data[0] == 0x61


def test_duplicated_hdlc_frames_are_rejected_as_out_of_sequence():
    with _meter("duplicate=3") as m:
        client = open_client("hdlc", m.serve_tcp(hdlc=True), "MR", timeout=0.2)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            values = [client.get(8, CLOCK, 2)]
            time.sleep(0.05)  # let the duplicate of the answer arrive
            values += [client.get(8, CLOCK, 2), client.get(3, ENERGY, 2)]
        finally:
            client.close()
    assert [v.tag for v in values] == [DataTag.OCTET_STRING] * 2 + [DataTag.DOUBLE_LONG_UNSIGNED]
    assert any(r.error.reason.name == "SEQUENCE_ERROR" for r in client.rejected)


def test_stall_makes_the_client_time_out():
    with _meter("stall=80") as m:
        port = m.serve_tcp()
        client = open_client("wrapper", port, "MR", timeout=0.3)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)  # 51 bytes
            with pytest.raises(LineTimeout):
                client.get(7, "1.0.99.1.0.255", 2)
        finally:
            client.close()


def test_reset_loses_the_connection_mid_transfer():
    with _meter("reset=300") as m:
        client = open_client("wrapper", m.serve_tcp(), "MR")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            with pytest.raises(LineLost):
                client.get(7, "1.0.99.1.0.255", 2)
        finally:
            client.close()


def test_reboot_loses_the_association_on_the_wrapper():
    with _meter("reboot=2") as m:
        client = open_client("wrapper", m.serve_tcp(), "MR")
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)  # frame 1
            assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING  # frame 2, then reboot
            refused = client.request(ev.Get(descriptor=_clock()))
        finally:
            client.close()
    assert isinstance(refused, ev.ServiceError)  # ExceptionResponse: no association


def test_reboot_drops_the_hdlc_link():
    with _meter("reboot=3") as m:
        client = open_client("hdlc", m.serve_tcp(hdlc=True), "MR", timeout=0.3)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)  # UA 1, AARE 2
            assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING  # 3, then reboot
            with pytest.raises(LinkDown, match="DmReceived"):
                client.get(8, CLOCK, 2)
        finally:
            client.line.close()


def _clock():
    return attribute(8, CLOCK, 2)


class _CountingLine(SocketLine):
    received = 0

    def read(self, timeout: float) -> bytes:
        data = super().read(timeout)
        self.received += len(data)
        return data


def test_link_baud_paces_the_output():
    baud = 100_000  # 10 000 bytes/s
    with _meter(link_baud=baud) as m:
        port = m.serve_tcp()
        line = _CountingLine(socket.create_connection(("127.0.0.1", port), timeout=2))
        client = SimClient(line, settings_for("MR", pdu=1024), timeout=5)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            line.received = 0
            started = time.monotonic()
            rows = client.get(7, "1.0.99.1.0.255", 2, SelectiveAccessDescriptor.entry(
                EntryDescriptor(from_entry=1, to_entry=60)))
            elapsed = time.monotonic() - started
        finally:
            client.close()
    assert len(rows.value) == 60
    expected = wire_time(line.received, baud)
    assert expected > 0.3
    assert expected * 0.8 <= elapsed <= expected * 3 + 1


def test_reset_on_a_pty_hangs_up_and_the_next_client_is_served():
    with _meter("reset=300") as m:
        path = m.serve_pty()
        client = open_client("pty", path, "MR", timeout=0.3, max_retries=1)
        try:
            assert isinstance(client.associate(), ev.AssociationAccepted)
            with pytest.raises((LineTimeout, LinkDown)):
                client.get(7, "1.0.99.1.0.255", 2)
        finally:
            client.line.close()
        fresh = open_client("pty", path, "PC")
        try:
            assert isinstance(fresh.associate(), ev.AssociationAccepted)
            assert fresh.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
        finally:
            fresh.line.close()
