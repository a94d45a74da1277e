"""TcpTransport against local servers on 127.0.0.1, plus the shared Transport contract
(CancelToken, error family, FakeTransport). No traffic ever leaves 127.0.0.0/8 / ::1.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from meterreader.dlms.errors import DlmsError
from meterreader.transport import (
    POLL_INTERVAL,
    Cancelled,
    CancelToken,
    ConnectionFailed,
    ConnectionLost,
    FakeTransport,
    ReadTimeout,
    TcpTransport,
    TransportError,
)

SNRM = bytes.fromhex("7EA00802232193C5E97E")  # an HDLC frame: just bytes to a transport


@contextlib.contextmanager
def serve(handler: Callable[[socket.socket], None], *,
          family: int = socket.AF_INET, host: str = "127.0.0.1") -> Iterator[int]:
    """Run ``handler(conn)`` for one accepted connection on a thread; yield the port."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(1)
    listener.settimeout(5.0)

    def run() -> None:
        with contextlib.suppress(OSError):
            conn, _addr = listener.accept()
            with conn:
                handler(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5.0)


def echo(conn: socket.socket) -> None:
    while data := conn.recv(4096):
        conn.sendall(data)


def silent(stop: threading.Event) -> Callable[[socket.socket], None]:
    def handler(conn: socket.socket) -> None:
        stop.wait(5.0)
    return handler


def read_exactly(transport: TcpTransport, n: int, timeout: float = 2.0) -> bytes:
    data = b""
    while len(data) < n:
        data += transport.read(timeout)
    return data


def closed_port() -> int:
    """A local port with (almost certainly) no listener."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- CancelToken and errors -----------------------------------------------------------------------

def test_cancel_token_lifecycle():
    token = CancelToken()
    assert not token.cancelled
    token.raise_if_cancelled()
    assert token.wait(0.0) is False
    token.cancel()
    assert token.cancelled
    assert token.wait(10.0) is True  # returns at once when already cancelled
    with pytest.raises(Cancelled, match="read cancelled"):
        token.raise_if_cancelled("read")
    token.reset()
    assert not token.cancelled


def test_cancel_token_is_shared_across_threads():
    token = CancelToken()
    threading.Timer(0.05, token.cancel).start()
    start = time.monotonic()
    assert token.wait(5.0) is True
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("cls", [ConnectionFailed, ConnectionLost, ReadTimeout, Cancelled])
def test_errors_are_dlms_errors(cls):
    assert issubclass(cls, TransportError)
    assert issubclass(cls, DlmsError)


def test_poll_interval_allows_200ms_cancel():
    assert POLL_INTERVAL <= 0.1


# -- TCP: data path -------------------------------------------------------------------------------

def test_echo_round_trip_counters_and_traffic_hook():
    traffic: list[tuple[str, bytes]] = []
    with serve(echo) as port:
        transport = TcpTransport("127.0.0.1", port)
        transport.on_traffic = lambda direction, data: traffic.append((direction, data))
        assert transport.description == f"TCP 127.0.0.1:{port}"
        assert not transport.is_open
        transport.open()
        try:
            assert transport.is_open
            sock = transport._sock
            assert sock is not None
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            transport.write(SNRM)
            assert read_exactly(transport, len(SNRM)) == SNRM
            assert transport.bytes_sent == len(SNRM)
            assert transport.bytes_received == len(SNRM)
            assert traffic[0] == ("tx", SNRM)
            assert all(d == "rx" for d, _ in traffic[1:])
            assert b"".join(data for _, data in traffic[1:]) == SNRM
            assert all(type(data) is bytes for _, data in traffic)
        finally:
            transport.close()
    assert not transport.is_open


def test_large_write_is_sent_completely():
    payload = bytes(range(256)) * 1024  # 256 KiB: more than one send() on loopback
    with serve(echo) as port, TcpTransport("127.0.0.1", port) as transport:
        received = bytearray()
        reader = threading.Thread(target=lambda: received.extend(
            read_exactly(transport, len(payload))))
        reader.start()
        transport.write(payload)
        reader.join(5.0)
        assert bytes(received) == payload
        assert transport.bytes_sent == len(payload)


def test_context_manager_opens_and_closes_and_close_is_idempotent():
    with serve(echo) as port:
        with TcpTransport("127.0.0.1", port) as transport:
            assert transport.is_open
        assert not transport.is_open
        transport.close()
        transport.close()
        with pytest.raises(ConnectionLost, match="not open"):
            transport.write(b"\x7e")
        with pytest.raises(ConnectionLost, match="not open"):
            transport.read(0.1)


def test_read_timeout_names_the_target():
    stop = threading.Event()
    with serve(silent(stop)) as port, TcpTransport("127.0.0.1", port) as transport:
        start = time.monotonic()
        with pytest.raises(ReadTimeout) as info:
            transport.read(0.2)
        elapsed = time.monotonic() - start
        stop.set()
    assert str(info.value) == f"no answer within 0.2 s from TCP 127.0.0.1:{port}"
    assert 0.19 <= elapsed < 0.6


def test_data_before_peer_close_is_delivered_then_connection_lost():
    def say_bye(conn: socket.socket) -> None:
        conn.sendall(b"\x7e\xa0")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # wait for the client to go away

    with serve(say_bye) as port, TcpTransport("127.0.0.1", port) as transport:
        assert read_exactly(transport, 2) == b"\x7e\xa0"
        with pytest.raises(ConnectionLost) as info:
            transport.read(2.0)
    assert str(info.value) == f"TCP 127.0.0.1:{port}: peer closed the connection"


def test_peer_reset_is_connection_lost():
    def reset(conn: socket.socket) -> None:
        conn.recv(1)  # reset only once the client is surely connected
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with serve(reset) as port, TcpTransport("127.0.0.1", port) as transport:
        transport.write(b"\x7e")
        with pytest.raises(ConnectionLost, match=f"TCP 127.0.0.1:{port}: "):
            transport.read(2.0)


def test_connection_refused_names_the_target():
    port = closed_port()
    transport = TcpTransport("127.0.0.1", port, connect_timeout=2.0)
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    assert str(info.value) == f"TCP 127.0.0.1:{port}: connection refused"
    assert not transport.is_open


def test_invalid_port_is_rejected():
    with pytest.raises(ValueError):
        TcpTransport("127.0.0.1", 0)
    with pytest.raises(ValueError):
        TcpTransport("127.0.0.1", 70000)


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 not available")
    with serve(echo, family=socket.AF_INET6, host="::1") as port:
        with TcpTransport("::1", port) as transport:
            assert transport.description == f"TCP [::1]:{port}"
            transport.write(b"\x00\x01\x00\x10")
            assert read_exactly(transport, 4) == b"\x00\x01\x00\x10"


# -- TCP: cancellation ----------------------------------------------------------------------------

def test_cancel_during_blocked_read():
    stop = threading.Event()
    token = CancelToken()
    with serve(silent(stop)) as port, TcpTransport("127.0.0.1", port) as transport:
        cancelled_at: list[float] = []

        def cancel() -> None:
            cancelled_at.append(time.monotonic())
            token.cancel()

        threading.Timer(0.1, cancel).start()
        with pytest.raises(Cancelled, match=f"TCP 127.0.0.1:{port}"):
            transport.read(10.0, token)
        latency = time.monotonic() - cancelled_at[0]
        stop.set()
    assert latency < 0.5


def test_token_given_to_open_guards_later_reads():
    stop = threading.Event()
    token = CancelToken()
    with serve(silent(stop)) as port:
        transport = TcpTransport("127.0.0.1", port)
        transport.open(token)
        try:
            threading.Timer(0.05, token.cancel).start()
            start = time.monotonic()
            with pytest.raises(Cancelled):
                transport.read(10.0)
            assert time.monotonic() - start < 0.5
        finally:
            transport.close()
            stop.set()


def test_cancelled_before_open_does_not_connect():
    token = CancelToken()
    token.cancel()
    transport = TcpTransport("127.0.0.1", closed_port())
    with pytest.raises(Cancelled):
        transport.open(token)
    assert not transport.is_open


@pytest.fixture(scope="module")
def saturated_port() -> Iterator[int]:
    """A local listener with backlog 0 whose accept queue is full, so new SYNs go unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    with socket.socket() as probe:
        probe.setblocking(False)
        probe.connect_ex(("127.0.0.1", port))
        _r, writable, _x = select.select([], [probe], [], 0.1)
    if writable:
        listener.close()
        for filler in fillers:
            filler.close()
        pytest.skip("this kernel completes connects beyond the backlog")
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_connect_timeout(saturated_port):
    transport = TcpTransport("127.0.0.1", saturated_port, connect_timeout=0.2)
    start = time.monotonic()
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    assert time.monotonic() - start < 1.0
    assert str(info.value) == f"TCP 127.0.0.1:{saturated_port}: no connection within 0.2 s"


def test_cancel_during_connect(saturated_port):
    token = CancelToken()
    transport = TcpTransport("127.0.0.1", saturated_port, connect_timeout=10.0)
    threading.Timer(0.1, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(Cancelled, match="connecting to TCP 127.0.0.1"):
        transport.open(token)
    assert time.monotonic() - start < 0.6
    assert not transport.is_open


# -- FakeTransport --------------------------------------------------------------------------------

def test_fake_transport_scripted_chunks_and_writes():
    fake = FakeTransport(description="fake meter")
    traffic: list[tuple[str, bytes]] = []
    fake.on_traffic = lambda d, b: traffic.append((d, b))
    fake.feed(b"\x7e\xa0")
    fake.feed(b"\x21\x7e")
    with fake:
        assert fake.open_count == 1
        fake.write(SNRM)
        assert fake.read(0.1) == b"\x7e\xa0"  # chunks keep their boundaries
        assert fake.read(0.1) == b"\x21\x7e"
        assert fake.writes == [SNRM]
        assert fake.written == SNRM
        assert (fake.bytes_sent, fake.bytes_received) == (len(SNRM), 4)
        assert traffic == [("tx", SNRM), ("rx", b"\x7e\xa0"), ("rx", b"\x21\x7e")]
        with pytest.raises(ReadTimeout, match="from fake meter"):
            fake.read(0.05)
    assert fake.close_count == 1


def test_fake_transport_delay_and_responder():
    fake = FakeTransport(responder=lambda data: data[::-1], response_delay=0.1)
    fake.open()
    fake.write(b"\x01\x02")
    with pytest.raises(ReadTimeout):
        fake.read(0.05)
    start = time.monotonic()
    assert fake.read(1.0) == b"\x02\x01"
    assert time.monotonic() - start < 0.5


def test_fake_transport_feed_from_another_thread_wakes_reader():
    fake = FakeTransport()
    fake.open()
    threading.Timer(0.05, lambda: fake.feed(b"\xaa")).start()
    assert fake.read(2.0) == b"\xaa"


def test_fake_transport_eof_and_open_error():
    fake = FakeTransport()
    fake.open()
    fake.feed(b"\x01")
    fake.feed_eof()
    assert fake.read(0.1) == b"\x01"
    with pytest.raises(ConnectionLost, match="peer closed"):
        fake.read(0.1)
    with pytest.raises(ConnectionLost):
        fake.write(b"\x02")
    failing = FakeTransport(open_error=ConnectionFailed("fake: connection refused"))
    with pytest.raises(ConnectionFailed):
        failing.open()
    assert not failing.is_open


def test_fake_transport_cancel():
    fake = FakeTransport()
    token = CancelToken()
    fake.open()
    threading.Timer(0.05, token.cancel).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        fake.read(5.0, token)
    assert time.monotonic() - start < 0.5
