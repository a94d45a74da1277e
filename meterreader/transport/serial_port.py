"""Serial transport over pyserial: COM port name or device path, any line settings.

Quirk ``pty-line-settings``: on Linux pseudo-terminals pyserial's ``apply_settings`` may fail with
EINVAL when the data bits or parity change (e.g. from the IEC 62056-21 sign-on's 300 Bd 7E1 back
to 9600 8N1), although the same settings applied with plain termios succeed. On a pty (only) the
transport then applies baud rate, data bits, parity and stop bits through termios itself, and if
that fails too keeps going with a logged warning: a pty has no wire, its line settings do not
change what is delivered.
"""

from __future__ import annotations

import errno
import logging
import os
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
    import termios
    from termios import error as _TermiosError
except ImportError:  # Windows
    termios = None  # type: ignore[assignment]

    class _TermiosError(Exception):  # type: ignore[no-redef]
        """Placeholder: never raised."""

_log = logging.getLogger(__name__)
#: Name of the quirk handled by :func:`_pty_line_fallback` (see the module docstring).
PTY_LINE_SETTINGS_QUIRK = "pty-line-settings"

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


def _is_pty(port: Any) -> bool:
    """True when ``port`` (a pyserial port) is open on a pseudo-terminal slave."""
    try:
        fd = port.fileno()
        return os.isatty(fd) and os.ttyname(fd).startswith(("/dev/pts/", "/dev/ttyp"))
    except (AttributeError, OSError, ValueError, TypeError):
        return False


def _errno_of(exc: BaseException) -> int | None:
    code = getattr(exc, "errno", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]  # termios.error carries (errno, text) in args
    return code


def _pty_line_fallback(port: Any, exc: BaseException, baudrate: int, bytesize: int, parity: str,
                       stopbits: float, name: str) -> bool:
    """Quirk ``pty-line-settings``: True when ``exc`` (from apply_settings) is the pty EINVAL and
    the settings were applied through termios, or left as they are with a warning."""
    if termios is None or _errno_of(exc) != errno.EINVAL or not _is_pty(port):
        return False
    line = _line_text(baudrate, bytesize, parity, stopbits)
    try:
        fd = port.fileno()
        attrs = termios.tcgetattr(fd)
        cflag = attrs[2] & ~(termios.CSIZE | termios.PARENB | termios.PARODD | termios.CSTOPB)
        cflag |= {5: termios.CS5, 6: termios.CS6, 7: termios.CS7, 8: termios.CS8}[bytesize]
        if parity in ("E", "O"):
            cflag |= termios.PARENB | (termios.PARODD if parity == "O" else 0)
        elif parity != "N":
            raise ValueError(f"parity {parity} is not set through termios")
        if stopbits != 1:
            cflag |= termios.CSTOPB
        speed = getattr(termios, f"B{baudrate}", None)
        if speed is None:
            raise ValueError(f"no termios speed for {baudrate} Bd")
        attrs[2], attrs[4], attrs[5] = cflag, speed, speed
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except (_TermiosError, OSError, ValueError) as again:
        _log.warning("%s: %s not applied on this pty (quirk %s: %s; termios: %s); the line "
                     "settings of a pty are best-effort", name, line, PTY_LINE_SETTINGS_QUIRK,
                     exc, again)
    else:
        _log.debug("%s: %s applied through termios (quirk %s: pyserial said %s)", name, line,
                   PTY_LINE_SETTINGS_QUIRK, exc)
    return True


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

        Raises ConnectionFailed if the driver refuses them (the port then stays open). On a pty
        an EINVAL from pyserial is handled as quirk ``pty-line-settings`` (module docstring).
        """
        _check_line(baudrate, bytesize, parity, stopbits)
        if self._serial is not None:
            try:
                self._serial.apply_settings({"baudrate": baudrate, "bytesize": bytesize,
                                             "parity": parity, "stopbits": stopbits})
            except _PORT_ERRORS as exc:
                if not _pty_line_fallback(self._serial, exc, baudrate, bytesize, parity,
                                          stopbits, self.target):
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
