"""Simulator listeners (meterreader.simulator.media, facade, cli): real sockets on 127.0.0.1, real
ptys, several clients at once, bad input, clean shutdown, mode E, the command line."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from meterreader.dlms import connection_events as ev
from meterreader.dlms.axdr import DataTag
from meterreader.dlms.hdlc import (FrameReader, FrameType, HdlcAddress, HdlcFrame,
                                   HdlcParameters, encode_frame)
from meterreader.simulator import cli
from meterreader.simulator.facade import SimulatedMeter
from sim_driver import (FdLine, LineTimeout, SimClient, SocketLine, attribute, open_client,
                        settings_for)

ROOT = Path(__file__).resolve().parents[1]
CLOCK = "0.0.1.0.0.255"
ENERGY = "1.0.1.8.0.255"


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter("C", seed=11) as m:
        m.targets = {"wrapper": m.serve_tcp(), "hdlc": m.serve_tcp(hdlc=True),
                     "pty": m.serve_pty()}
        yield m


def read_energy(kind, target, association="MR", **kw):
    client = open_client(kind, target, association, **kw)
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        value = client.get(3, ENERGY, 2)
        client.release()
        return value
    finally:
        client.close()


def _recv_until(sock: socket.socket, predicate, timeout: float = 2.0) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while not predicate(data) and time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], deadline - time.monotonic())
        if ready:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.parametrize("kind", ("wrapper", "hdlc"))
def test_several_clients_at_once_each_with_its_own_association(meter, kind):
    associations = ("PC", "MR", "US", "MR", "US", "MR")
    clients = [open_client(kind, meter.targets[kind], a) for a in associations]
    results: dict[int, object] = {}
    try:
        for client in clients:  # all associated at the same time
            assert isinstance(client.associate(), ev.AssociationAccepted)

        def work(index, client):
            try:
                results[index] = [client.get(8, CLOCK, 2) for _ in range(5)]
                results[index].append(client.get(3, ENERGY, 2))
            except Exception as exc:  # pragma: no cover - reported below
                results[index] = exc
        threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    finally:
        for client in clients:
            client.close()
    for index, association in enumerate(associations):
        values = results[index]
        assert isinstance(values, list), values
        assert all(v.tag is DataTag.OCTET_STRING for v in values[:5])
        assert (getattr(values[5], "tag", None) is DataTag.DOUBLE_LONG_UNSIGNED) \
            == (association != "PC")


def _resources():
    return set(threading.enumerate()), set(os.listdir("/proc/self/fd"))


def test_clean_shutdown_leaves_no_threads_or_fds():
    threads_before, fds_before = _resources()
    meter = SimulatedMeter("A", seed=4)
    wrapper, hdlc, pty = meter.serve_tcp(), meter.serve_tcp(hdlc=True), meter.serve_pty()
    idle = SocketLine.connect(wrapper)  # a client still connected at shutdown
    busy = open_client("hdlc", hdlc, "MR")
    assert isinstance(busy.associate(), ev.AssociationAccepted)
    line = FdLine(pty)
    time.sleep(0.1)
    started = _resources()[0] - threads_before
    assert {t.name.split("-")[1] for t in started} == {"accept", "client", "pty"}
    assert len(started) == 5
    meter.stop()
    for client_line in (idle, busy.line, line):
        client_line.close()
    threads_after, fds_after = _resources()
    assert not [t for t in threads_after - threads_before if t.is_alive()]
    assert not fds_after - fds_before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", wrapper), timeout=1).close()


def test_context_manager_stops_listeners():
    before = set(threading.enumerate())
    with SimulatedMeter("C", seed=1) as m:
        port = m.serve_tcp()
        assert read_energy("wrapper", port).value > 0
    assert not set(threading.enumerate()) - before
    assert m.listeners == []


@pytest.mark.parametrize("junk", [
    b"\x00\x01\x00\x10\x00\x01\xff\xff" + b"x" * 20,  # wrapper header announcing 64 kB
    b"GET / HTTP/1.1\r\nHost: meter\r\n\r\n",  # not DLMS at all
    bytes(range(256)) * 4,
    b"\x00\x01\x00\x10\x00\x01\x00\x04\xc0\x01",  # truncated packet, then the client leaves
    b"\x00\x01\x00\x10\x00\x01\x00\x03\xde\xad\x00",  # invalid APDU
    b"\x00\x01\x00\x10\x00\x01\x00\x0d\xc0\x01\xc1\x00\x08\x00\x00\x01\x00\x00\xff\x02\x00",
])
def test_bad_wrapper_input_never_kills_the_server(meter, junk):
    with socket.create_connection(("127.0.0.1", meter.targets["wrapper"]), timeout=2) as sock:
        sock.sendall(junk)
        _recv_until(sock, lambda d: False, timeout=0.2)
    assert read_energy("wrapper", meter.targets["wrapper"]).value > 0


@pytest.mark.parametrize("junk", [
    b"\x7e\xa0\x0a\x00\x02\x04\x01\x41\x93\x00\x00\x7e",  # SNRM with a bad FCS
    b"\x7e\xa0\x47\x00\x02\x04\x01\x41\x10",  # a truncated I-frame
    bytes(range(256)) * 4,
    b"\x7e" * 50,
])
@pytest.mark.parametrize("kind", ("hdlc", "pty"))
def test_bad_hdlc_input_never_kills_the_server(meter, kind, junk):
    if kind == "pty":
        line = FdLine(meter.targets["pty"])
        line.write(junk + b"\x7e")  # a flag lets the reader resynchronise on the shared line
        time.sleep(0.1)
        line.close()
    else:
        with socket.create_connection(("127.0.0.1", meter.targets[kind]), timeout=2) as sock:
            sock.sendall(junk)
            assert _recv_until(sock, lambda d: False, timeout=0.2) == b""
    assert read_energy(kind, meter.targets[kind]).value > 0


def test_invalid_apdu_over_hdlc_is_answered_then_a_new_association_works(meter):
    client = open_client("hdlc", meter.targets["hdlc"], "MR")
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        client._send_apdu(b"\xc0\x01\xc1\x00")  # truncated GET request
        assert client._next_apdu()[0] == 0xD8  # ExceptionResponse
    finally:
        client.close()
    assert read_energy("hdlc", meter.targets["hdlc"]).value > 0


def test_get_before_association_is_refused_over_tcp(meter):
    client = open_client("wrapper", meter.targets["wrapper"], "MR")
    try:
        client._send_apdu(bytes.fromhex("C001C100080000010000FF0200"))
        assert client._next_apdu()[0] == 0xD8
        assert isinstance(client.associate(), ev.AssociationAccepted)
    finally:
        client.close()


@pytest.mark.parametrize("kind", ("hdlc", "pty"))
@pytest.mark.parametrize("size", (1, 4))
def test_server_address_sizes(meter, kind, size):
    physical = None if size == 1 else 256
    assert read_energy(kind, meter.targets[kind], logical=1, physical=physical,
                       address_size=size).value > 0


def test_two_byte_server_address_with_a_7_bit_physical_address():
    with SimulatedMeter("B", seed=2, physical_address=17) as m:
        port = m.serve_tcp(hdlc=True)
        assert read_energy("hdlc", port, physical=17, address_size=2).value > 0


@pytest.mark.parametrize("kind", ("hdlc", "pty"))
def test_frames_to_another_address_get_no_answer(meter, kind):
    for logical, physical in ((1, 255), (5, 256)):
        with pytest.raises(LineTimeout):
            open_client(kind, meter.targets[kind], "PC", logical=logical, physical=physical,
                        timeout=0.15, max_retries=1)
    assert read_energy(kind, meter.targets[kind]).value > 0


def _snrm() -> bytes:
    return encode_frame(HdlcFrame(destination=HdlcAddress.server(1, 256, size=4),
                                  source=HdlcAddress.client(16), frame_type=FrameType.SNRM,
                                  poll_final=True))


def test_mode_e_opening_over_hdlc_tcp():
    with SimulatedMeter("C", seed=1, mode_e=True) as m:
        port = m.serve_tcp(hdlc=True)
        assert "mode E" in m.listeners[0].description
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"/?!\r\n")
            ident = _recv_until(sock, lambda d: d.endswith(b"\r\n"))
            assert ident == b"/MRD5\\2@IS15959SIM\r\n"
            sock.sendall(b"\x06252\r\n")
            client = SimClient(SocketLine(sock), settings_for("MR"), hdlc=True).connect()
            assert isinstance(client.associate(), ev.AssociationAccepted)
            assert client.get(3, ENERGY, 2).value > 0
            client.disconnect()
        # a client that skips the sign-on is served too
        assert read_energy("hdlc", port).value > 0


def test_mode_e_opening_over_a_pty():
    with SimulatedMeter("C", seed=1, mode_e=True) as m:
        line = FdLine(m.serve_pty())
        try:
            line.write(b"/?!\r\n")
            ident, deadline = b"", time.monotonic() + 2
            while not ident.endswith(b"\r\n") and time.monotonic() < deadline:
                ident += line.read(deadline - time.monotonic())
            assert ident == b"/MRD5\\2@IS15959SIM\r\n"
            line.write(b"\x06252\r\n")
            client = SimClient(line, settings_for("PC"), hdlc=True).connect()
            assert isinstance(client.associate(), ev.AssociationAccepted)
            assert client.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
            client.disconnect()
            # after DISC the line expects a new sign-on: HDLC straight away still works
            line.write(_snrm())
            ua, deadline = b"", time.monotonic() + 2
            while len(FrameReader().feed(ua)) < 1 and time.monotonic() < deadline:
                ua += line.read(deadline - time.monotonic())
            assert FrameReader().feed(ua)[0].frame_type is FrameType.UA
        finally:
            line.close()


# -- command line -------------------------------------------------------------------------------

def _python(*args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "meterreader.simulator.cli", *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)


def test_cli_help_documents_defaults_and_addressing():
    process = _python("--help")
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    for text in ("12345678", "1111111111111111", "4059", "256", "--wrapper-port", "--hdlc-port",
                 "--pty", "--serial", "--mode-e", "--link-baud", "--fault", "16", "32", "48",
                 "1, 2 and 4", "or 17", "--inactivity-timeout"):
        assert text in out, text


def test_cli_simulate_prints_listener_lines_and_stops_on_sigterm(tmp_path):
    with open(tmp_path / "stderr.txt", "w+") as errors:  # a file: -v output never blocks
        process = _python("--wrapper-port", "0", "--hdlc-port", "0", "--pty", "--seed", "3",
                          "-v", stderr=errors)
        try:
            lines = [process.stdout.readline().strip() for _ in range(3)]
            assert lines[0].startswith("wrapper TCP listening on 127.0.0.1:")
            assert lines[1].startswith("HDLC TCP listening on 127.0.0.1:")
            assert lines[2].startswith("HDLC pty at /dev/")
            wrapper_port = int(lines[0].rsplit(":", 1)[1])
            hdlc_port = int(lines[1].rsplit(":", 1)[1])
            assert read_energy("wrapper", wrapper_port).value > 0
            assert read_energy("hdlc", hdlc_port, association="US").value > 0
            pty = open_client("pty", lines[2].rsplit(" ", 1)[1], "PC")
            assert isinstance(pty.associate(), ev.AssociationAccepted)
            assert pty.get(8, CLOCK, 2).tag is DataTag.OCTET_STRING
            pty.close()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        errors.seek(0)
        log = errors.read()
    assert "simulator stopped" in log
    assert '"pdu": "AARQ"' in log and '"pdu": "GetResponse' in log  # -v: decoded frames
    assert "31 32 33 34 35 36 37 38" not in log and "3132333435363738" not in log


def test_cli_run_in_process_with_stop_event(capsys):
    args = cli.build_parser().parse_args(["--wrapper-port", "0", "--category", "b",
                                          "--password", "abcdefgh", "--fault", "delay=0"])
    stop = threading.Event()
    code: list[int] = []
    runner = threading.Thread(target=lambda: code.append(cli.run(args, stop)))
    runner.start()
    deadline = time.monotonic() + 10
    out = ""
    while "listening" not in out and time.monotonic() < deadline:
        time.sleep(0.05)
        out += capsys.readouterr().out
    port = int(out.split("127.0.0.1:")[1].split()[0])
    assert read_energy("wrapper", port, password=b"abcdefgh").value > 0
    stop.set()
    runner.join(10)
    assert code == [0]


def test_cli_rejects_bad_options(capsys):
    parser = cli.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--fault", "explode=3"])
    assert "unknown fault" in capsys.readouterr().err
    args = parser.parse_args(["--ciphered-client", "64", "--no-wrapper", "--pty"])
    assert cli.run(args) == cli.EXIT_USAGE


def test_cli_add_parser_registers_simulate():
    import argparse
    parser = argparse.ArgumentParser(prog="meterreader")
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    args = parser.parse_args(["simulate", "--category", "A", "--hdlc-port", "4061", "-v"])
    assert args.func is cli.run and args.category == "A" and args.hdlc_port == 4061
    assert args.wrapper_port == 4059 and args.physical == 256 and args.verbose


class _MasterLine(FdLine):
    """The master side of a pty whose slave a SerialListener opened with pyserial."""

    def __init__(self, fd: int) -> None:
        self.fd = fd


@pytest.mark.parametrize("mode_e", (False, True))
def test_serial_listener_on_a_pty_device(mode_e):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        with SimulatedMeter("C", seed=1, mode_e=mode_e) as m:
            description = m.serve_serial(path)
            assert path in description and ("mode E" in description) == mode_e
            line = _MasterLine(master)
            if mode_e:
                line.write(b"/?!\r\n")
                ident, deadline = b"", time.monotonic() + 2
                while not ident.endswith(b"\r\n") and time.monotonic() < deadline:
                    ident += line.read(deadline - time.monotonic())
                assert ident == b"/MRD5\\2@IS15959SIM\r\n"
                line.write(b"\x06252\r\n")
            client = SimClient(line, settings_for("MR"), hdlc=True).connect()
            assert isinstance(client.associate(), ev.AssociationAccepted)
            assert client.get(3, ENERGY, 2).value > 0
            client.disconnect()
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("kind", ("wrapper", "hdlc", "pty"))
def test_stop_is_prompt_while_a_client_does_not_read(kind):
    before = set(threading.enumerate())
    meter = SimulatedMeter("C", seed=6)
    target = meter.serve_pty() if kind == "pty" else meter.serve_tcp(hdlc=kind == "hdlc")
    client = open_client(kind, target, "MR", parameters=HdlcParameters(
        max_info_field_length_receive=1024, window_size_receive=7))
    try:
        assert isinstance(client.associate(), ev.AssociationAccepted)
        client._send_apdu(client.conn.send(ev.Get(descriptor=attribute(7, "1.0.99.1.0.255", 2))))
        time.sleep(0.2)  # the meter is now blocked writing, or done with its window
        started = time.monotonic()
        meter.stop()
        assert time.monotonic() - started < 2
    finally:
        client.line.close()
        meter.stop()
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
