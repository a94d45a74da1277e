"""Serial line emulator: a simulated meter behind a pyserial-like port whose line settings matter.

Linux ptys deliver every byte whatever the baud rate and parity, so a wrong baud, a 7E1/8N1
mismatch or a missed IEC 62056-21 mode E switch can only be seen through an emulated line::

    from meterreader.simulator import SimulatedMeter
    from meterreader.simulator.serial_line import EmulatedSerialMeter
    from meterreader.transport import ModeETransport, SerialTransport

    meter = SimulatedMeter("C", seed=1, serial_baud=19200, address_sizes=(1,))
    line = EmulatedSerialMeter(meter)                    # no thread, nothing to stop
    transport = SerialTransport("EMULATED", baudrate=19200, serial_factory=line.serial_factory)
    # mode E meters: ModeETransport(SerialTransport("EMULATED", serial_factory=line.serial_factory))

``serial_factory(**kwargs)`` takes pyserial ``Serial`` keyword arguments (port, baudrate, bytesize,
parity, stopbits, timeout, …) and returns an open :class:`EmulatedPort` (any port name is
accepted; ``EmulatedSerialMeter(meter, port="COM7")`` makes other names fail like a missing port).

What the meter's UART expects at each moment (:meth:`EmulatedSerialMeter.meter_line`):

* plain meter: ``(meter.serial_baud, *meter.serial_format)``, e.g. 9600 8N1, for the whole session;
* ``mode_e`` / ``mode_e_only`` meter: 300 Bd 7E1 while it waits for the sign-on, then the baud rate
  the client acknowledged (``ACK 2 Z 2``) in ``serial_format``; back to 300 7E1 after DISC, after a
  new sign-on request and after ``inactivity_timeout`` seconds without a byte. A ``mode_e`` meter
  (not ``mode_e_only``) in sign-on state also takes HDLC sent straight away at ``serial_baud`` in
  ``serial_format`` (an auto-bauding meter); a ``mode_e_only`` meter ignores HDLC until the
  sign-on is done.

Every byte crosses the line through a bit-level UART model (:func:`uart_transfer`): the sender's
start/data/parity/stop bits at its baud rate are sampled at mid-bit by the receiver at its own
settings. Matching settings pass bytes unchanged (masked to the data bits); a baud mismatch gives
the realistic junk (fewer or more characters, framing errors read as 0x00 like Linux's default
termios); 8N1 vs 7E1 at the same baud gives the 8th bit replaced by the parity bit (toward the
client) or dropped (toward the meter). The meter acts only on what its UART decoded, so a client
with the wrong settings gets silence (the meter could not decode the request) or garbage (the
meter answered, e.g. the identification at 7E1 read by an 8N1 client).

The meter's line state outlives the port: closing the port without DISC leaves a mode E meter at
the HDLC baud until its ``inactivity_timeout`` (pass a short one, e.g. 1.0 s, for search tests),
like a real meter. Answers are readable at once; ``wire_time=True`` delays them by their time on
the wire at the meter's baud rate (300 Bd: about 33 ms per character). Faults and ``link_baud``
of the meter's :class:`~meterreader.simulator.faults.LineOptions` are not applied here.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import serial

from meterreader.transport.fake import FakeSerial

from .server import Framing
from .server_sign_on import SIGN_ON_BAUD

if TYPE_CHECKING:
    from .facade import SimulatedMeter

__all__ = ["SIGN_ON_LINE", "EmulatedPort", "EmulatedSerialMeter", "LineFormat", "parse_format",
           "uart_transfer"]

Line = tuple[int, int, str, float]
#: IEC 62056-21: the sign-on runs at 300 Bd, 7 data bits, even parity, 1 stop bit.
SIGN_ON_LINE: Line = (SIGN_ON_BAUD, 7, "E", 1)
_HDLC_FLAG = 0x7E


@dataclass(frozen=True, slots=True, kw_only=True)
class LineFormat:
    """Character framing: data bits, parity ("N", "E", "O", "M", "S") and stop bits."""

    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1

    def __str__(self) -> str:
        stop = "1.5" if self.stopbits == 1.5 else str(int(self.stopbits))
        return f"{self.bytesize}{self.parity}{stop}"


def parse_format(text: str) -> LineFormat:
    """``"8N1"``, ``"7E1"``, ``"8E1"`` … → :class:`LineFormat`; ValueError otherwise."""
    text = text.strip().upper()
    if len(text) < 3 or text[0] not in "5678" or text[1] not in "NEOMS" \
            or text[2:] not in ("1", "1.5", "2"):
        raise ValueError(f"serial format must look like 8N1 or 7E1, not {text!r}")
    return LineFormat(bytesize=int(text[0]), parity=text[1], stopbits=float(text[2:])
                      if text[2:] == "1.5" else int(text[2:]))


def _parity_bit(value: int, parity: str) -> int:
    ones = bin(value).count("1")
    return {"E": ones & 1, "O": (ones & 1) ^ 1, "M": 1, "S": 0}[parity]


def _bits(data: bytes, line: Line, unit: int) -> tuple[list[int], list[int]]:
    """The sender's waveform: segment start times and levels (``unit`` ticks per bit)."""
    _, size, parity, stop = line
    starts: list[int] = []
    levels: list[int] = []
    t = 0
    for byte in data:
        value = byte & ((1 << size) - 1)
        char = [0] + [(value >> i) & 1 for i in range(size)]
        if parity != "N":
            char.append(_parity_bit(value, parity))
        for level in char:
            starts.append(t)
            levels.append(level)
            t += unit
        starts.append(t)
        levels.append(1)
        t += int(unit * stop)
    starts.append(t)  # idle (mark) from here on
    levels.append(1)
    return starts, levels


def uart_transfer(data: bytes, sender: Line, receiver: Line) -> bytes:
    """What a UART at ``receiver`` settings reads when ``data`` is sent back to back at
    ``sender`` settings (each a (baudrate, bytesize, parity, stopbits) tuple).

    Mid-bit sampling after each falling edge; the parity bit is not checked (pyserial clears
    INPCK); a character whose stop bit reads 0 is a framing error, delivered as 0x00 (termios
    without IGNPAR/PARMRK). Deterministic; same settings: ``data`` masked to the data bits.
    """
    if not data:
        return b""
    if sender == receiver:
        mask = (1 << receiver[1]) - 1
        return bytes(b & mask for b in data)
    tx_baud, rx_baud = sender[0], receiver[0]
    # Time in ticks of 1 / (2 · tx_baud · rx_baud) s: a sender bit is 2·rx_baud ticks, a
    # receiver bit 2·tx_baud ticks and half a receiver bit tx_baud ticks (all integers).
    starts, levels = _bits(data, sender, 2 * rx_baud)
    end = starts[-1]
    rx_bit, half = 2 * tx_baud, tx_baud
    _, size, parity, _ = receiver

    def level(t: int) -> int:
        return 1 if t >= end else levels[bisect.bisect_right(starts, t) - 1]

    def next_low(t: int) -> int | None:
        i = bisect.bisect_right(starts, t) - 1
        if t < end and levels[i] == 0:
            return t
        for j in range(i + 1, len(levels)):
            if levels[j] == 0:
                return starts[j]
        return None

    out = bytearray()
    t = 0
    while True:
        start = next_low(t)
        if start is None:
            break
        if level(start + half):  # a glitch, not a start bit
            t = start + half
            continue
        sample = start + half
        value = 0
        for i in range(size):
            sample += rx_bit
            value |= level(sample) << i
        if parity != "N":
            sample += rx_bit  # the parity bit: not checked
        sample += rx_bit
        out.append(value if level(sample) else 0x00)  # stop bit low: framing error
        t = sample
    return bytes(out)


class EmulatedPort(FakeSerial):
    """One open port on the emulated line: a :class:`FakeSerial` (line changes and writes are
    recorded in ``events``, ``line_changes``, ``writes``) whose writes go to the meter through
    the UART model instead of a script."""

    def __init__(self, line: EmulatedSerialMeter) -> None:
        super().__init__()
        self._emulator = line

    def write(self, data: bytes) -> int:
        self._check_open()
        data = bytes(data)
        self._log("write", data)
        self.writes.append((data, self.line))
        if self._emulator.echo:  # an RS-485 / optical head hears itself: the echo comes first
            self.feed(data)
        reply, delay = self._emulator._deliver(data, self.line)
        self.feed(reply, delay=delay)
        return len(data)

    @property
    def in_waiting(self) -> int:
        self._emulator._tick()
        return super().in_waiting

    def read(self, size: int = 1) -> bytes:
        self._emulator._tick()
        return super().read(size)


class EmulatedSerialMeter:
    """A :class:`SimulatedMeter` on an emulated serial line (see the module docstring).

    ``port``: the only port name the factory opens (None: any). ``wire_time``: delay answers by
    their duration on the wire. ``sign_on_delay``: the meter's IEC 62056-21 reaction time before
    its identification (the standard allows 200 ms to 1.5 s; default 0). ``reply_delay``: extra
    seconds before every other answer (a slow meter). ``echo``: the adapter echoes every byte
    the client writes (RS-485 and many optical heads), before the meter's answer. Attributes:
    ``ports`` (every port opened), ``received`` (what the meter's UART decoded, per write: list
    of (meter line, bytes)).
    """

    def __init__(self, meter: SimulatedMeter, *, port: str | None = None,
                 wire_time: bool = False, sign_on_delay: float = 0.0, reply_delay: float = 0.0,
                 echo: bool = False) -> None:
        if not (0.0 <= sign_on_delay <= 10.0 and 0.0 <= reply_delay <= 10.0):
            raise ValueError("sign_on_delay and reply_delay must be 0..10 s")
        self.meter = meter
        self.port_name = port
        self.wire_time = wire_time
        self.sign_on_delay = sign_on_delay
        self.reply_delay = reply_delay
        self.echo = echo
        self.ports: list[EmulatedPort] = []
        self.received: list[tuple[Line, bytes]] = []
        self._lock = threading.RLock()
        self._session = meter.server.session(Framing.HDLC, port or "emulated serial line")
        self._hdlc_baud = meter.serial_baud  # the HDLC speed agreed last (mode E)
        self._last_rx = time.monotonic()

    # -- the meter's side --

    @property
    def hdlc_line(self) -> Line:
        """The line of the meter's HDLC phase: baud rate (agreed by mode E, else
        ``serial_baud``) and ``serial_format``."""
        fmt = self.meter.serial_format
        return (self._hdlc_baud, fmt.bytesize, fmt.parity, fmt.stopbits)

    def meter_line(self) -> Line:
        """The settings the meter's UART is at now (300 7E1 during a mode E sign-on)."""
        with self._lock:
            self._tick()
            return SIGN_ON_LINE if self._session.sign_on.active else self.hdlc_line

    def _tick(self) -> None:
        """Let the meter notice silence (inactivity time-out)."""
        with self._lock:
            self._session.idle(time.monotonic() - self._last_rx)
            if self._session.sign_on.active:
                self._hdlc_baud = self.meter.serial_baud

    def _deliver(self, data: bytes, client: Line) -> tuple[bytes, float]:
        """The client wrote ``data`` at ``client`` settings: (bytes the client's UART reads
        back, delay before they are readable)."""
        with self._lock:
            self._tick()
            sign_on = self._session.sign_on
            line = SIGN_ON_LINE if sign_on.active else self.hdlc_line
            if sign_on.active and not self.meter.options.mode_e_only and client != line \
                    and client == self.hdlc_line:
                line = self.hdlc_line  # auto-bauding meter: HDLC straight away
            decoded = uart_transfer(data, client, line)
            if not decoded:
                return b"", 0.0
            self._last_rx = time.monotonic()
            self.received.append((line, decoded))
            was_signing_on = sign_on.active
            frames = self._session.receive_data(decoded)
            if was_signing_on and not sign_on.active:  # option select, or HDLC straight away
                direct = decoded[:1] == bytes((_HDLC_FLAG,))
                self._hdlc_baud = (self.meter.serial_baud if direct or sign_on.line_baud is None
                                   else sign_on.line_baud)
            answer = b"".join(frames)
            if not answer:
                return b"", 0.0
            # IEC 62056-21: the identification follows the request after the reaction time.
            delay = self.sign_on_delay if was_signing_on and answer[:1] == b"/" \
                else self.reply_delay
            if self.wire_time:
                bits = 2 + line[1] + (line[2] != "N") + line[3]
                delay += len(answer) * bits / line[0]
            # The line is busy until the answer has left the meter: the inactivity time-out
            # counts from there (a 1.5 s reaction time must not end a 1 s-timeout sign-on).
            self._last_rx = time.monotonic() + delay
            return uart_transfer(answer, line, client), delay

    # -- the client's side --

    def serial_factory(self, **kwargs: Any) -> EmulatedPort:
        """pyserial-like factory for ``SerialTransport(serial_factory=…)``: an open port."""
        name = kwargs.get("port")
        if self.port_name is not None and name != self.port_name:
            raise serial.SerialException(
                2, f"could not open port {name}: [Errno 2] No such file or directory: {name!r}")
        port = EmulatedPort(self)
        port.factory(**kwargs)
        with self._lock:
            self.ports.append(port)
        return port
