"""The TCP finder against the simulator: wrapper or raw HDLC decided by probing both on fresh
connections, 1-byte addressing behind a converter, refusals and silence diagnosed, budget and
cancel respected."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from meterreader.finder import AnswerKind, find_tcp
from meterreader.simulator import SimulatedMeter
from meterreader.transport import CancelToken

FAST = {"probe_timeout": 0.4, "identify_timeout": 2.0, "connect_timeout": 1.0}


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(seed=5) as m:
        m.ports = {"wrapper": m.serve_tcp(port=0), "hdlc": m.serve_tcp(port=0, hdlc=True)}
        yield m


class Silent:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_wrapper_meter_found_with_one_probe(meter):
    result = find_tcp("127.0.0.1", meter.ports["wrapper"], **FAST)
    assert result.ok and result.diagnosis is None
    profile = result.found.profile
    assert (profile.medium, profile.framing, profile.server_logical, profile.client_sap) == \
        ("tcp", "wrapper", 1, 16)
    assert result.attempts[0].answer is AnswerKind.WRAPPER
    assert result.found.serial == meter.device.serial
    assert [sap for sap, _ in result.found.logical_devices] == [1, 2]
    assert result.elapsed < 3


def test_raw_hdlc_converter_found_after_a_silent_wrapper_probe(meter):
    seen = []
    result = find_tcp("127.0.0.1", meter.ports["hdlc"], progress=seen.append, **FAST)
    assert result.ok
    profile = result.found.profile
    assert (profile.framing, profile.address_size, profile.server_physical) == ("hdlc", 4, 256)
    # Both wrapper logical devices (1, then 0) are tried before raw HDLC.
    assert [a.answer for a in seen[:3]] == [AnswerKind.SILENCE, AnswerKind.SILENCE, AnswerKind.UA]
    assert [a.settings["server_logical"] for a in seen[:2]] == [1, 0]
    assert result.found.object_count and result.found.manufacturer


def test_one_byte_addressing_behind_a_converter():
    with SimulatedMeter(address_sizes=(1,)) as m:
        result = find_tcp("127.0.0.1", m.serve_tcp(port=0, hdlc=True), **FAST)
    assert result.ok and result.found.profile.address_size == 1
    assert result.found.profile.server_logical == 1
    sizes = [a.settings.get("address_size") for a in result.attempts
             if a.answer is AnswerKind.SILENCE and a.settings.get("framing") == "hdlc"]
    assert sizes == [4, 2]


def test_wrapper_only_port_found():
    with SimulatedMeter(wrapper_only=True) as m:
        result = find_tcp("127.0.0.1", m.serve_tcp(port=0), **FAST)
    assert result.ok and result.found.profile.framing == "wrapper"


def test_refused_port_is_diagnosed():
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = find_tcp("127.0.0.1", port, **FAST)
    assert not result.ok and result.diagnosis.code == "refused" and result.attempts == ()


def test_silent_peer_gives_no_answer_within_budget():
    peer = Silent()
    try:
        started = time.monotonic()
        result = find_tcp("127.0.0.1", peer.port, budget_s=1.5, **FAST)
        took = time.monotonic() - started
    finally:
        peer.close()
    assert not result.ok and took < 2.0
    assert result.diagnosis.code == "no-answer"
    steps = " ".join(result.diagnosis.next_steps)
    # Finder wording: no "run meterreader detect" or framing advice (both framings were tried).
    assert "--physical" in steps and "--probe-timeout" in steps
    assert "meterreader detect" not in steps and "other framing" not in steps
    assert all(a.answer is AnswerKind.SILENCE for a in result.attempts)


def test_cancel_stops_a_tcp_search():
    peer = Silent()
    token = CancelToken()
    try:
        threading.Timer(0.3, token.cancel).start()
        started = time.monotonic()
        result = find_tcp("127.0.0.1", peer.port, cancel=token, probe_timeout=5.0)
        took = time.monotonic() - started
    finally:
        peer.close()
    assert result.cancelled and not result.ok and took < 0.8


class Rejecting(Silent):
    """Answers every packet with a wrapper AARE: rejected-permanent, authentication-required."""

    def _serve(self) -> None:
        from meterreader.dlms.acse import (AARE, AcseServiceUserDiagnostic,
                                           ApplicationContextName, AssociationResult)
        from meterreader.dlms.wrapper import WrapperFrame

        answer = WrapperFrame(source_wport=1, destination_wport=16, data=AARE(
            application_context_name=ApplicationContextName.LN,
            result=AssociationResult.REJECTED_PERMANENT,
            result_source_diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        ).encode()).encode()
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn = self.sock.accept()[0]
                conn.settimeout(1.0)
                self.conns.append(conn)
                if conn.recv(4096):
                    conn.sendall(answer)
            except OSError:
                pass


def test_wrapper_that_refuses_the_public_client():
    peer = Rejecting()
    try:
        result = find_tcp("127.0.0.1", peer.port, **FAST)
    finally:
        peer.close()
    assert result.ok and result.found.profile.framing == "wrapper"
    assert "refused" in result.found.notes[0] and result.found.serial == ""
    assert result.diagnosis.code == "wrong-client"
    # The wrapper answered: no raw HDLC probes were sent to it.
    assert all(a.settings["framing"] == "wrapper" for a in result.attempts)


# -- a meter cut short by the budget, a peer that closes at once, a slow name service -------------

class UaThenSilent(Silent):
    """A raw HDLC "meter" that answers every SNRM to 1/256 with UA and nothing else."""

    def _serve(self) -> None:
        from meterreader.dlms.hdlc import FrameType, HdlcAddress, HdlcFrame, encode_frame
        from meterreader.finder.probe import first_frame

        ua = encode_frame(HdlcFrame(destination=HdlcAddress.client(16),
                                    source=HdlcAddress.server(1, 256, size=4),
                                    frame_type=FrameType.UA, poll_final=True))
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn = self.sock.accept()[0]
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._answer, args=(conn, ua, first_frame),
                             daemon=True).start()

    def _answer(self, conn, ua, first_frame) -> None:
        conn.settimeout(0.05)
        while not self.stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            frame = first_frame(data)
            if frame is not None and frame.frame_type.name == "SNRM" \
                    and frame.destination.lower == 256:
                conn.sendall(ua)


def test_budget_ending_during_identify_keeps_the_meter_found():
    peer = UaThenSilent()
    try:
        started = time.monotonic()
        result = find_tcp("127.0.0.1", peer.port, budget_s=3.0, probe_timeout=0.3,
                          identify_timeout=10.0)
        took = time.monotonic() - started
    finally:
        peer.close()
    assert result.ok and not result.cancelled
    profile = result.found.profile
    assert (profile.framing, profile.server_physical, profile.address_size) == ("hdlc", 256, 4)
    assert any("cut short by the time budget" in note for note in result.found.notes)
    assert result.attempts[-1].outcome == "cut short"
    # The session's RLRQ/DISC after the cancel does not outlive the budget.
    assert took < 3.5


def test_diagnose_attempts_never_says_no_answer_after_a_ua():
    from meterreader.finder import Attempt, diagnose_attempts
    from meterreader.finder.probe import snrm_frame
    from meterreader.dlms.hdlc import FrameType, HdlcAddress, HdlcFrame, encode_frame

    server = HdlcAddress.server(1, 256, size=4)
    ua = encode_frame(HdlcFrame(destination=HdlcAddress.client(16), source=server,
                                frame_type=FrameType.UA, poll_final=True))
    attempts = [Attempt(description="TCP h:1 wrapper, logical device 1", medium="tcp"),
                Attempt(description="TCP h:1 raw HDLC, server 1/256 (4-byte), client 16: SNRM",
                        medium="tcp", answer=AnswerKind.UA, tx=snrm_frame(server), rx=ua),
                Attempt(description="TCP h:1 raw HDLC, 1/256: associate as public client 16 "
                                    "(failed: no answer)", medium="tcp", outcome="failed")]
    d = diagnose_attempts(attempts)
    assert d.code == "incomplete" and "answered" in d.title
    assert "raw HDLC, server 1/256" in d.explanation


class Closing(Silent):
    """Accepts every connection and closes it at once (a one-client converter that is busy)."""

    def _serve(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stop.is_set():
            try:
                self.sock.accept()[0].close()
            except OSError:
                pass


def test_peer_that_closes_at_once_is_diagnosed_as_closed():
    peer = Closing()
    try:
        result = find_tcp("127.0.0.1", peer.port, **FAST)
    finally:
        peer.close()
    assert not result.ok and result.attempts
    assert all(a.answer is AnswerKind.CLOSED for a in result.attempts)
    # Both wrapper logical devices were tried, then raw HDLC.
    assert [a.settings.get("server_logical") for a in result.attempts[:2]] == [1, 0]
    assert any(a.settings["framing"] == "hdlc" for a in result.attempts)
    d = result.diagnosis
    assert d.code == "closed" and "closed the connection" in d.title
    steps = " ".join(d.next_steps)
    assert "another" in d.explanation and "IP filter" in d.explanation
    assert "close other programs" in steps and "allowed-IP" in steps


def test_slow_name_lookup_is_bounded_and_cancellable(monkeypatch):
    import socket as socket_module

    real = socket_module.getaddrinfo
    release = threading.Event()

    def slow(host, *args, **kw):
        if host == "meter.invalid" and not kw.get("flags", 0) & socket_module.AI_NUMERICHOST:
            release.wait(10)  # a name service that does not answer
        return real(host, *args, **kw)

    monkeypatch.setattr(socket_module, "getaddrinfo", slow)
    try:
        token = CancelToken()
        threading.Timer(0.3, token.cancel).start()
        started = time.monotonic()
        result = find_tcp("meter.invalid", 4059, cancel=token)
        assert result.cancelled and not result.ok and time.monotonic() - started < 0.8
        started = time.monotonic()
        result = find_tcp("meter.invalid", 4059, connect_timeout=0.4)
        assert time.monotonic() - started < 1.0
        assert not result.ok and result.diagnosis.code == "refused"
        assert "cannot be resolved" in result.diagnosis.title
    finally:
        release.set()
