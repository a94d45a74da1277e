"""Serial transport over pyserial: COM port name or device path, any line settings."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import serial
import serial.tools.list_ports

from meterreader.transport.base import (
    POLL_INTERVAL,
    CancelToken,
    ConnectionFailed,
    ConnectionLost,
    Transport,
)

try:  # pyserial lets termios.error (not an OSError) escape from tcsetattr on POSIX
    from termios import error as _TermiosError
except ImportError:  # Windows
    class _TermiosError(Exception):  # type: ignore[no-redef]
        """Placeholder: never raised."""

# What a pyserial port may raise on open, I/O or settings changes.
_PORT_ERRORS = (serial.SerialException, OSError, ValueError, _TermiosError)

_BYTESIZES = (5, 6, 7, 8)
_PARITIES = ("N", "E", "O", "M", "S")
_STOPBITS = (1, 1.5, 2)


class SerialLike(Protocol):
    """The part of ``serial.Serial`` a :class:`SerialTransport` uses (for injected fakes)."""

    in_waiting: int

    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def flush(self) -> None: ...
    def reset_input_buffer(self) -> None: ...
    def apply_settings(self, d: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


#: Called with pyserial ``Serial`` keyword arguments; returns an *open* port.
SerialFactory = Callable[..., SerialLike]


@dataclass(frozen=True, slots=True, kw_only=True)
class PortInfo:
    """One serial port found on this machine."""

    device: str  # "COM3" or "/dev/ttyUSB0": what SerialTransport(port=…) takes
    description: str  # human text from the driver, e.g. "USB-Serial Controller"
    hwid: str  # e.g. "USB VID:PID=067B:2303 …"


def list_ports() -> list[PortInfo]:
    """The serial ports present now, sorted by device name."""
    found = [PortInfo(device=p.device, description=p.description or "", hwid=p.hwid or "")
             for p in serial.tools.list_ports.comports()]
    return sorted(found, key=lambda info: info.device)


def _line_text(baudrate: int, bytesize: int, parity: str, stopbits: float) -> str:
    stop = "1.5" if stopbits == 1.5 else str(int(stopbits))
    return f"{baudrate} {bytesize}{parity}{stop}"


def _check_line(baudrate: int, bytesize: int, parity: str, stopbits: float) -> None:
    if not isinstance(baudrate, int) or baudrate <= 0:
        raise ValueError(f"invalid baud rate: {baudrate!r}")
    if bytesize not in _BYTESIZES:
        raise ValueError(f"invalid data bits: {bytesize!r} (expected one of {_BYTESIZES})")
    if parity not in _PARITIES:
        raise ValueError(f"invalid parity: {parity!r} (expected one of {_PARITIES})")
    if stopbits not in _STOPBITS:
        raise ValueError(f"invalid stop bits: {stopbits!r} (expected one of {_STOPBITS})")


def _open_reason(exc: BaseException) -> str:
    """Short wording for a failed open, from the errno or (on Windows) the message text."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOENT or "FileNotFoundError" in text or "No such file" in text:
        return "no such port"
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY) or "exclusively lock" in text:
        return "port busy (in use by another program)"
    if code == errno.EACCES or "PermissionError" in text or "Access is denied" in text:
        # On Windows "access denied" means another program holds the port.
        return "permission denied or port in use"
    return text or type(exc).__name__


class SerialTransport(Transport):
    """A serial port via pyserial (opened with ``exclusive=True``).

    ``serial_factory`` replaces ``serial.Serial`` (tests inject a :class:`FakeSerial`); it is
    called with pyserial keyword arguments and must return an open port object.
    """

    def __init__(self, port: str, *, baudrate: int = 9600, bytesize: int = 8, parity: str = "N",
                 stopbits: float = 1, inter_byte_timeout: float | None = None,
                 serial_factory: SerialFactory | None = None) -> None:
        super().__init__()
        if not port:
            raise ValueError("serial port name is empty")
        _check_line(baudrate, bytesize, parity, stopbits)
        self.port = port
        self.baudrate = baudrate
        self.bytesize = bytesize
        self.parity = parity
        self.stopbits = stopbits
        self.inter_byte_timeout = inter_byte_timeout
        self._factory: SerialFactory = serial_factory or serial.Serial
        self._serial: SerialLike | None = None

    @property
    def description(self) -> str:
        line = _line_text(self.baudrate, self.bytesize, self.parity, self.stopbits)
        return f"serial {self.port} {line}"

    @property
    def target(self) -> str:
        """The port without line settings, as used in open errors: ``"serial /dev/ttyUSB0"``."""
        return f"serial {self.port}"

    @property
    def line(self) -> tuple[int, int, str, float]:
        """Current (baudrate, bytesize, parity, stopbits)."""
        return (self.baudrate, self.bytesize, self.parity, self.stopbits)

    def set_line(self, baudrate: int, bytesize: int = 8, parity: str = "N",
                 stopbits: float = 1) -> None:
        """Change the line settings; applied at once if the port is open, else at open.

        Raises ConnectionFailed if the driver refuses them (the port then stays open).
        """
        _check_line(baudrate, bytesize, parity, stopbits)
        if self._serial is not None:
            try:
                self._serial.apply_settings({"baudrate": baudrate, "bytesize": bytesize,
                                             "parity": parity, "stopbits": stopbits})
            except _PORT_ERRORS as exc:
                line = _line_text(baudrate, bytesize, parity, stopbits)
                raise ConnectionFailed(f"{self.target}: cannot set {line} ({exc})") from None
        self.baudrate, self.bytesize, self.parity, self.stopbits = (
            baudrate, bytesize, parity, stopbits)

    def drain(self) -> None:
        """Block until the OS has sent everything written so far (``tcdrain``)."""
        if self._serial is not None:
            try:
                self._serial.flush()
            except _PORT_ERRORS as exc:
                raise ConnectionLost(f"{self.target}: {exc}") from None

    def discard_input(self) -> None:
        """Drop bytes received but not yet read (stale data before a sign-on)."""
        if self._serial is not None:
            try:
                self._serial.reset_input_buffer()
            except _PORT_ERRORS as exc:
                raise ConnectionLost(f"{self.target}: {exc}") from None

    # -- Transport hooks --------------------------------------------------------------------------

    def _open(self, cancel: CancelToken | None) -> None:
        try:
            self._serial = self._factory(
                port=self.port, baudrate=self.baudrate, bytesize=self.bytesize,
                parity=self.parity, stopbits=self.stopbits, timeout=POLL_INTERVAL,
                inter_byte_timeout=self.inter_byte_timeout, exclusive=True)
        except _PORT_ERRORS as exc:
            raise ConnectionFailed(f"{self.target}: {_open_reason(exc)}") from None

    def _close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except _PORT_ERRORS:
                pass

    def _write(self, data: bytes) -> None:
        port = self._live_port()
        try:
            port.write(data)
        except _PORT_ERRORS as exc:
            raise ConnectionLost(f"{self.target}: write failed ({exc})") from None

    def _read_some(self, wait: float) -> bytes:
        # The port's own timeout is POLL_INTERVAL, so read(1) returns within one slice.
        port = self._live_port()
        try:
            waiting = port.in_waiting
            if not waiting and wait <= 0:
                return b""
            data = port.read(waiting or 1)
            if data and not waiting:
                more = port.in_waiting
                if more:
                    data += port.read(more)
        except _PORT_ERRORS as exc:
            raise ConnectionLost(f"{self.target}: device lost ({exc})") from None
        return bytes(data)

    def _live_port(self) -> SerialLike:
        if self._serial is None:
            raise ConnectionLost(f"{self.target}: not open")
        return self._serial
