"""SerialTransport over a real pty pair (os.openpty) and over FakeSerial for what ptys cannot do."""

from __future__ import annotations

import errno
import os
import select
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import serial

from meterreader.transport import (
    POLL_INTERVAL,
    Cancelled,
    CancelToken,
    ConnectionFailed,
    ConnectionLost,
    FakeSerial,
    PortInfo,
    ReadTimeout,
    ScriptStep,
    SerialTransport,
    list_ports,
)
from meterreader.transport import serial_port

UA = bytes.fromhex("7EA01F2103731E5B")  # bytes only: transports never parse


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    """(master fd, slave device path); the slave fd stays open so the device keeps existing."""
    if sys.platform == "win32":
        pytest.skip("ptys are POSIX only")
    master, slave = os.openpty()
    name = os.ttyname(slave)
    yield master, name
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def read_master(master: int, n: int, timeout: float = 2.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < n and time.monotonic() < deadline:
        readable, _w, _x = select.select([master], [], [], 0.05)
        if readable:
            data += os.read(master, 4096)
    return data


# -- real pty -------------------------------------------------------------------------------------

def test_pty_write_and_read(pty):
    master, name = pty
    traffic: list[tuple[str, bytes]] = []
    transport = SerialTransport(name, baudrate=9600)
    transport.on_traffic = lambda d, b: traffic.append((d, b))
    assert transport.description == f"serial {name} 9600 8N1"
    with transport:
        transport.write(b"\x7e\x0a\x0d\x11\x13\x7e")  # raw: no CR/LF or XON/XOFF translation
        assert read_master(master, 6) == b"\x7e\x0a\x0d\x11\x13\x7e"
        os.write(master, UA)
        got = b""
        while len(got) < len(UA):
            got += transport.read(1.0)
        assert got == UA
        assert (transport.bytes_sent, transport.bytes_received) == (6, len(UA))
        assert traffic[0] == ("tx", b"\x7e\x0a\x0d\x11\x13\x7e")
        assert b"".join(b for d, b in traffic if d == "rx") == UA
    assert not transport.is_open


def test_pty_set_line_on_open_port(pty):
    import termios

    master, name = pty
    with SerialTransport(name, baudrate=9600) as transport:
        transport.set_line(19200, 8, "N", 2)
        assert transport.description == f"serial {name} 19200 8N2"
        assert transport.line == (19200, 8, "N", 2)
        fd = os.open(name, os.O_RDWR | os.O_NOCTTY)
        try:
            attrs = termios.tcgetattr(fd)
        finally:
            os.close(fd)
        assert attrs[4] == termios.B19200
        assert attrs[2] & termios.CSTOPB


def test_pty_refused_setting_is_connection_failed_and_keeps_the_old_line(pty):
    master, name = pty
    with SerialTransport(name) as transport:
        try:
            transport.set_line(300, 7, "E", 1)  # Linux ptys refuse parity / 7 data bits
        except ConnectionFailed as exc:
            assert str(exc).startswith(f"serial {name}: cannot set 300 7E1")
            assert transport.line == (9600, 8, "N", 1)
        else:
            assert transport.line == (300, 7, "E", 1)
        assert transport.is_open


def _slave_attrs(name: str) -> list:
    import termios

    fd = os.open(name, os.O_RDWR | os.O_NOCTTY)
    try:
        return termios.tcgetattr(fd)
    finally:
        os.close(fd)


def test_pty_sign_on_line_back_to_8n1_applies(pty):
    """The IEC 62056-21 mode E switch 300 7E1 → 9600 8N1 on a pty (quirk pty-line-settings:
    pyserial's apply_settings fails with EINVAL there, termios does not)."""
    import termios

    master, name = pty
    with SerialTransport(name, baudrate=300, bytesize=7, parity="E") as transport:
        transport.set_line(9600, 8, "N", 1)
        assert transport.line == (9600, 8, "N", 1)
        attrs = _slave_attrs(name)
        assert attrs[4] == termios.B9600 and attrs[2] & termios.CSIZE == termios.CS8
        assert not attrs[2] & termios.PARENB
        transport.write(b"\x7e")
        assert read_master(master, 1) == b"\x7e"


class _EinvalSerial(serial.Serial):
    """A real pyserial port whose apply_settings always fails like on some pty drivers."""

    def apply_settings(self, d):
        import termios

        raise termios.error(errno.EINVAL, "Invalid argument")


def test_pty_einval_falls_back_to_termios(pty, caplog):
    import logging
    import termios

    master, name = pty
    with caplog.at_level(logging.DEBUG, logger="meterreader.transport.serial_port"), \
            SerialTransport(name, serial_factory=_EinvalSerial) as transport:
        transport.set_line(19200, 8, "N", 2)
        assert transport.line == (19200, 8, "N", 2)
    attrs = _slave_attrs(name)
    assert attrs[4] == termios.B19200 and attrs[2] & termios.CSTOPB
    assert serial_port.PTY_LINE_SETTINGS_QUIRK in caplog.text


class _RefusingPort:
    """Not a pty: an EINVAL from the driver stays an error."""

    in_waiting = 0

    def __init__(self, **kwargs) -> None:
        pass

    def apply_settings(self, d) -> None:
        import termios

        raise termios.error(errno.EINVAL, "Invalid argument")

    def read(self, size: int = 1) -> bytes:
        return b""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_einval_on_a_real_port_is_still_connection_failed():
    with SerialTransport("COM9", serial_factory=_RefusingPort) as transport:
        with pytest.raises(ConnectionFailed, match="cannot set 300 7E1"):
            transport.set_line(300, 7, "E", 1)
        assert transport.line == (9600, 8, "N", 1)


def test_pty_read_timeout(pty):
    _master, name = pty
    with SerialTransport(name) as transport:
        start = time.monotonic()
        with pytest.raises(ReadTimeout) as info:
            transport.read(0.2)
        assert 0.19 <= time.monotonic() - start < 0.6
    assert str(info.value) == f"no answer within 0.2 s from serial {name} 9600 8N1"


def test_pty_cancel_during_read(pty):
    _master, name = pty
    token = CancelToken()
    with SerialTransport(name) as transport:
        threading.Timer(0.1, token.cancel).start()
        start = time.monotonic()
        with pytest.raises(Cancelled):
            transport.read(10.0, token)
        assert time.monotonic() - start < 0.6


def test_pty_other_end_gone_is_connection_lost(pty):
    master, name = pty
    with SerialTransport(name) as transport:
        os.close(master)
        with pytest.raises(ConnectionLost, match=f"serial {name}: "):
            transport.read(1.0)


def test_missing_device_is_connection_failed(tmp_path):
    missing = str(tmp_path / "ttyUSB9")
    transport = SerialTransport(missing)
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    assert str(info.value) == f"serial {missing}: no such port"
    assert not transport.is_open


def test_port_busy_when_opened_twice(pty):
    _master, name = pty
    with SerialTransport(name):
        with pytest.raises(ConnectionFailed) as info:
            SerialTransport(name).open()
    assert str(info.value) == f"serial {name}: port busy (in use by another program)"


# -- injected serial object -----------------------------------------------------------------------

def test_factory_receives_pyserial_arguments():
    fake = FakeSerial()
    transport = SerialTransport("COM7", baudrate=2400, bytesize=7, parity="E", stopbits=1,
                                inter_byte_timeout=0.2, serial_factory=fake.factory)
    transport.open()
    assert fake.open_kwargs == {"port": "COM7", "baudrate": 2400, "bytesize": 7, "parity": "E",
                                "stopbits": 1, "timeout": POLL_INTERVAL,
                                "inter_byte_timeout": 0.2, "exclusive": True}
    assert transport.description == "serial COM7 2400 7E1"
    transport.set_line(9600)
    transport.set_line(9600)  # unchanged: nothing recorded
    transport.close()
    transport.close()
    assert fake.line_changes == [(2400, 7, "E", 1), (9600, 8, "N", 1)]
    assert [kind for kind, _ in fake.events] == ["open", "line", "close"]


def test_set_line_before_open_applies_at_open():
    fake = FakeSerial()
    transport = SerialTransport("/dev/ttyUSB0", serial_factory=fake.factory)
    transport.set_line(300, 7, "E", 1)
    transport.open()
    assert fake.line_changes == [(300, 7, "E", 1)]


def test_read_returns_everything_available():
    fake = FakeSerial()
    with SerialTransport("COM1", serial_factory=fake.factory) as transport:
        fake.feed(b"\x7e\xa0")
        fake.feed(b"\x1f\x7e")
        assert transport.read(1.0) == b"\x7e\xa0\x1f\x7e"
        fake.feed(b"\x01", delay=0.1)
        assert transport.read(1.0) == b"\x01"


def test_unplugged_device_is_connection_lost():
    fake = FakeSerial()
    with SerialTransport("COM3", serial_factory=fake.factory) as transport:
        fake.unplug()
        with pytest.raises(ConnectionLost, match="serial COM3: device lost"):
            transport.read(1.0)
        with pytest.raises(ConnectionLost, match="serial COM3: write failed"):
            transport.write(b"\x7e")


@pytest.mark.parametrize(("error", "reason"), [
    (serial.SerialException(errno.ENOENT, "could not open port /dev/ttyUSB0: [Errno 2] No such "
                                          "file or directory: '/dev/ttyUSB0'"), "no such port"),
    (serial.SerialException("could not open port 'COM7': FileNotFoundError(2, 'The system cannot "
                            "find the file specified.', None, 2)"), "no such port"),
    (serial.SerialException("could not open port 'COM7': PermissionError(13, 'Access is "
                            "denied.', None, 5)"), "permission denied or port in use"),
    (serial.SerialException(errno.EAGAIN, "Could not exclusively lock port /dev/ttyUSB0: "
                                          "[Errno 11] Resource temporarily unavailable"),
     "port busy (in use by another program)"),
])
def test_open_errors_are_named(error, reason):
    transport = SerialTransport("COM7", serial_factory=FakeSerial(open_error=error).factory)
    with pytest.raises(ConnectionFailed) as info:
        transport.open()
    assert str(info.value) == f"serial COM7: {reason}"


@pytest.mark.parametrize("kwargs", [
    {"baudrate": 0}, {"bytesize": 9}, {"parity": "X"}, {"stopbits": 3},
])
def test_invalid_line_settings(kwargs):
    with pytest.raises(ValueError):
        SerialTransport("COM1", **kwargs)
    transport = SerialTransport("COM1", serial_factory=FakeSerial().factory)
    line = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1} | kwargs
    with pytest.raises(ValueError):
        transport.set_line(**line)


def test_empty_port_name_is_rejected():
    with pytest.raises(ValueError):
        SerialTransport("")


def test_list_ports_is_sorted_port_info(monkeypatch):
    class Found:
        def __init__(self, device: str, description: str | None, hwid: str | None) -> None:
            self.device, self.description, self.hwid = device, description, hwid

    monkeypatch.setattr(serial_port.serial.tools.list_ports, "comports", lambda: [
        Found("/dev/ttyUSB1", "FT232R USB UART", "USB VID:PID=0403:6001"),
        Found("/dev/ttyS0", None, None)])
    assert list_ports() == [
        PortInfo(device="/dev/ttyS0", description="", hwid=""),
        PortInfo(device="/dev/ttyUSB1", description="FT232R USB UART",
                 hwid="USB VID:PID=0403:6001")]


def test_fake_serial_rejects_use_after_close():
    fake = FakeSerial()
    transport = SerialTransport("COM1", serial_factory=fake.factory)
    transport.open()
    port = transport._serial
    transport.close()
    with pytest.raises(serial.SerialException):
        port.read(1)


def test_fake_serial_script_checks_line_and_order():
    fake = FakeSerial([ScriptStep(expect=b"/?!\r\n", reply=b"/ABC5X\r\n", line=(300, 7, "E", 1)),
                       ScriptStep(expect=b"\x06", reply=b"ok")])
    with SerialTransport("COM1", serial_factory=fake.factory) as transport:  # still 9600 8N1
        transport.write(b"/?!")
        transport.write(b"\r\n")  # the step completes across two writes
        with pytest.raises(ReadTimeout):
            transport.read(0.05)  # wrong line: the fake meter stays silent
        assert fake.errors == ["b'/?!\\r\\n' written at (9600, 8, 'N', 1), "
                               "expected (300, 7, 'E', 1)"]
        transport.write(b"\x15")
        assert fake.errors[-1] == "unexpected write b'\\x15', expected b'\\x06'"
        transport.write(b"\x06")
        assert transport.read(0.5) == b"ok"
