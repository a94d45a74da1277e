"""IEC 62056-21 mode E: optical-port sign-on at 300 baud 7E1, then HDLC at the agreed baud 8N1.

Sequence (IEC 62056-21, protocol mode E):

1. at 300 baud 7E1 send the request message ``/ ? [device address] ! CR LF``;
2. read the identification message ``/ X X X Z [\\W] ident CR LF`` (XXX manufacturer, Z the
   highest baud-rate character the meter offers, ``\\W`` an optional enhanced-identification escape,
   e.g. ``\\2`` = binary/HDLC mode);
3. after the reaction time send the option select message ``ACK V Z Y CR LF`` with V = '2'
   (HDLC protocol procedure), Z = the chosen baud character and Y = '2' (binary mode);
4. once the acknowledgement has left the wire, switch to the chosen baud rate 8N1; from then on
   bytes pass straight through to the serial transport.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from meterreader.transport.base import (
    CancelToken,
    ConnectionFailed,
    ReadTimeout,
    Transport,
    sleep_cancellable,
)
from meterreader.transport.serial_port import SerialTransport

# IEC 62056-21: baud-rate characters of protocol modes C and E.
BAUD_CHARACTERS: dict[str, int] = {
    "0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200,
}
_CHARACTER_OF_BAUD = {baud: char for char, baud in BAUD_CHARACTERS.items()}

ACK = 0x06
# IEC 62056-21: option select message fields for mode E.
PROTOCOL_CONTROL_HDLC = "2"  # V: HDLC protocol procedure (mode E)
MODE_CONTROL_BINARY = "2"  # Y: binary mode (HDLC)

SIGN_ON_LINE = (300, 7, "E", 1)
_BITS_PER_CHAR_7E1 = 10  # start + 7 data + parity + stop

# IEC 62056-21: reaction time before answering a message is at least 200 ms, or 20 ms when the
# third letter of the manufacturer's identification is lower case.
REACTION_TIME = 0.2
REACTION_TIME_FAST = 0.02

_MAX_IDENTIFICATION_BYTES = 128  # a longer line without CR LF is garbage
_SHOWN_BYTES = 48  # bytes of garbage quoted in an error

# Identification message: "/" XXX Z ("\" W)* ident CR LF; ident is printable, without "/" or "!".
_IDENTIFICATION = re.compile(
    rb"/(?P<manufacturer>[A-Za-z]{3})(?P<baud>[0-9A-Z])(?P<escapes>(?:\\[\x21-\x7e])*)"
    rb"(?P<ident>[\x20-\x7e]*)\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Identification:
    """The meter's identification message, as parsed during sign-on."""

    manufacturer: str  # three letters, e.g. "ABC"
    baud_character: str  # '0'..'6' as sent by the meter
    baud: int  # the highest baud rate the meter offers
    ident: str  # manufacturer-specific identification text
    escapes: tuple[str, ...] = ()  # enhanced identification characters W of "\W", e.g. ("2",)
    raw: bytes = b""  # the whole message including "/" and CR LF

    @property
    def fast_reaction(self) -> bool:
        """True if the meter supports the 20 ms reaction time (lower-case third letter)."""
        return self.manufacturer[2].islower()


def _hex(data: bytes) -> str:
    shown = data[:_SHOWN_BYTES].hex(" ").upper()
    return shown + (" …" if len(data) > _SHOWN_BYTES else "")


def parse_identification(line: bytes) -> Identification | None:
    """Parse one identification line (with or without CR LF); None if it is not one.

    Noise before the opening "/" is ignored. Raises nothing.
    """
    body = line.removesuffix(b"\r\n")
    start = body.find(b"/")
    if start < 0:
        return None
    body = body[start:]
    match = _IDENTIFICATION.match(body)
    if match is None or match["ident"].find(b"/") >= 0 or match["ident"].find(b"!") >= 0:
        return None
    baud = BAUD_CHARACTERS.get(match["baud"].decode("ascii"))
    if baud is None:
        return None
    escapes = match["escapes"].decode("ascii")
    return Identification(
        manufacturer=match["manufacturer"].decode("ascii"),
        baud_character=match["baud"].decode("ascii"),
        baud=baud,
        ident=match["ident"].decode("ascii"),
        escapes=tuple(escapes[i + 1] for i in range(0, len(escapes), 2)),
        raw=body + b"\r\n")


def option_select_message(baud: int) -> bytes:
    """``ACK V Z Y CR LF`` for HDLC mode E at ``baud``, e.g. 9600 → ``06 32 35 32 0D 0A``."""
    return bytes([ACK]) + (PROTOCOL_CONTROL_HDLC + _CHARACTER_OF_BAUD[baud]
                           + MODE_CONTROL_BINARY + "\r\n").encode("ascii")


class ModeETransport(Transport):
    """Mode E opening on a :class:`SerialTransport`, then a plain byte pipe at the agreed speed.

    ``ack_baud`` caps the baud rate acknowledged (must be one of :data:`BAUD_CHARACTERS`'
    values); by default the meter's proposal is taken. ``device_address`` goes into the request
    message for multi-drop buses (empty = any meter). Sign-on traffic is counted and reported to
    ``on_traffic`` like any other. After :meth:`open`, :attr:`identification` holds the meter's
    identification message.
    """

    def __init__(self, serial_transport: SerialTransport, *, ack_baud: int | None = None,
                 identification_timeout: float = 2.0, device_address: str = "") -> None:
        super().__init__()
        if ack_baud is not None and ack_baud not in _CHARACTER_OF_BAUD:
            raise ValueError(f"ack_baud {ack_baud} is not a mode E baud rate "
                             f"({', '.join(map(str, BAUD_CHARACTERS.values()))})")
        if any(c in device_address for c in "/!\r\n"):
            raise ValueError(f"invalid device address: {device_address!r}")
        self.serial = serial_transport
        self.ack_baud = ack_baud
        self.identification_timeout = identification_timeout
        self.device_address = device_address
        self.identification: Identification | None = None

    @property
    def description(self) -> str:
        return f"{self.serial.description} (IEC 62056-21 mode E)"

    def _open(self, cancel: CancelToken | None) -> None:
        self.identification = None
        inner = self.serial
        inner.set_line(*SIGN_ON_LINE)
        inner.open(cancel)
        self._is_open = True  # let read()/write() run the sign-on through the hooks and counters
        try:
            self._sign_on(cancel)
        except BaseException:
            self._is_open = False
            inner.close()
            raise

    def _sign_on(self, cancel: CancelToken | None) -> None:
        inner = self.serial
        inner.discard_input()
        self.write(b"/?" + self.device_address.encode("ascii") + b"!\r\n")
        ident = self._read_identification(cancel)
        self.identification = ident
        baud = ident.baud if self.ack_baud is None else min(ident.baud, self.ack_baud)
        reaction = REACTION_TIME_FAST if ident.fast_reaction else REACTION_TIME
        sleep_cancellable(reaction, cancel, f"sign-on on {inner.target}")
        ack = option_select_message(baud)
        started = time.monotonic()
        self.write(ack)
        inner.drain()
        # tcdrain may return while the UART FIFO still shifts bits out: wait the wire time too.
        on_wire = len(ack) * _BITS_PER_CHAR_7E1 / SIGN_ON_LINE[0]
        sleep_cancellable(started + on_wire - time.monotonic(), cancel,
                          f"sign-on on {inner.target}")
        inner.set_line(baud, 8, "N", 1)

    def _read_identification(self, cancel: CancelToken | None) -> Identification:
        target = self.serial.target
        deadline = time.monotonic() + self.identification_timeout
        seen = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                seen += self.read(remaining, cancel)
            except ReadTimeout:
                break
            *lines, partial = seen.split(b"\r\n")
            for line in lines:
                ident = parse_identification(line)
                if ident is not None:
                    return ident
                if line.endswith(b"/?" + self.device_address.encode("ascii") + b"!"):
                    continue  # IEC 62056-21: optical probes may echo our request; skip it
                raise ConnectionFailed(f"{target}: no IEC 62056-21 identification at 300 baud 7E1 "
                                       f"(received garbage: {_hex(seen)})")
            if len(partial) > _MAX_IDENTIFICATION_BYTES:
                raise ConnectionFailed(f"{target}: no IEC 62056-21 identification at 300 baud 7E1 "
                                       f"(received garbage: {_hex(seen)})")
        if not seen:
            raise ConnectionFailed(f"{target}: no IEC 62056-21 identification at 300 baud 7E1 "
                                   f"within {self.identification_timeout:.1f} s")
        raise ConnectionFailed(f"{target}: no IEC 62056-21 identification at 300 baud 7E1 "
                               f"(incomplete or garbage: {_hex(seen)})")

    def _close(self) -> None:
        self.serial.close()

    def _write(self, data: bytes) -> None:
        self.serial._write(data)

    def _read_some(self, wait: float) -> bytes:
        return self.serial._read_some(wait)
