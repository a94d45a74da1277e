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
    assert [a.answer for a in seen[:2]] == [AnswerKind.SILENCE, AnswerKind.UA]
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
    assert "wrapper" in " ".join(result.diagnosis.next_steps)
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
