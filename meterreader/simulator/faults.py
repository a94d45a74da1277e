"""Line emulation and fault injection for the meter simulator, applied to the outgoing frames.

The protocol code (:mod:`.server`) stays clean: it returns the frames (HDLC frames or wrapper
packets) it wants to send, and a per-connection :class:`FaultInjector` turns them into a list of
actions for the media thread to carry out — write bytes, pause, reset the TCP connection, stop
answering, forget the association state. This module itself never sleeps nor touches a socket.

Fault kinds (``--fault KIND[=N]``, N defaults to :data:`DEFAULTS`):

* ``delay=S`` — wait S seconds (a float) before each answer;
* ``drop=N`` — drop every Nth outgoing frame (an HDLC client then retransmits);
* ``corrupt=N`` — corrupt the FCS of every Nth frame (the client rejects it); a wrapper packet has
  no FCS, so its last byte is flipped instead;
* ``duplicate=N`` — send every Nth frame twice;
* ``wrong-ns=N`` — send every Nth frame, when it is an HDLC I-frame, with a wrong send sequence
  number N(S) (HCS and FCS recomputed, so only the sequence is wrong): the client discards it
  and, at the poll, asks again from its V(R) (go-back-N); other frames and wrapper packets,
  which carry no sequence number, pass unchanged;
* ``stall=N`` — after N bytes sent on the connection, stop answering (mid-frame if need be);
* ``reset=N`` — after N bytes sent, reset the TCP connection (RST); a serial line or pty has no
  connection to reset, so the meter "hangs up" instead: it forgets the link and association and
  its fault counters start again;
* ``reboot=N`` — after every Nth frame sent, forget the association and the HDLC link state, as
  a meter does when it reboots: the next request finds no association (DM on HDLC, an
  ExceptionResponse on the wrapper).

Line emulation: :func:`pace` cuts a write into chunks with the time each takes on a line of
``baud`` bits per second at 10 bits a byte (start, 8 data, stop).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, unique
from typing import Iterable, Sequence, Union

from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc.frame import FrameType, decode_frame, encode_frame

__all__ = ["Action", "DEFAULTS", "Fault", "FaultInjector", "FaultKind", "LineOptions", "Pause",
           "Reboot", "Reset", "Stall", "Write", "corrupt_frame", "describe_kinds", "pace",
           "renumber_frame", "wire_time"]

#: Bits on the wire per byte: start bit, 8 data bits, stop bit.
BITS_PER_BYTE = 10
#: Longest chunk a paced write sends at once, in seconds of wire time.
PACE_SLICE = 0.02


@unique
class FaultKind(Enum):
    DELAY = "delay"
    DROP = "drop"
    CORRUPT = "corrupt"
    DUPLICATE = "duplicate"
    WRONG_NS = "wrong-ns"
    STALL = "stall"
    RESET = "reset"
    REBOOT = "reboot"


#: The value a fault takes when ``--fault KIND`` gives none.
DEFAULTS: dict[FaultKind, float] = {
    FaultKind.DELAY: 1.0, FaultKind.DROP: 5, FaultKind.CORRUPT: 5, FaultKind.DUPLICATE: 5,
    FaultKind.WRONG_NS: 5,
    FaultKind.STALL: 1000, FaultKind.RESET: 1000, FaultKind.REBOOT: 10,
}
_HELP = {
    FaultKind.DELAY: "seconds before each answer",
    FaultKind.DROP: "drop every Nth frame",
    FaultKind.CORRUPT: "corrupt the FCS of every Nth frame",
    FaultKind.DUPLICATE: "send every Nth frame twice",
    FaultKind.WRONG_NS: "give every Nth HDLC I-frame a wrong N(S)",
    FaultKind.STALL: "stop answering after N bytes",
    FaultKind.RESET: "reset the TCP connection after N bytes",
    FaultKind.REBOOT: "forget the association after every Nth frame",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One fault: its kind and value (seconds for DELAY, a count otherwise)."""

    kind: FaultKind
    value: float

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FaultKind):
            raise ValueError(f"fault kind must be a FaultKind, not {self.kind!r}")
        if self.kind is FaultKind.DELAY:
            if not 0 <= self.value <= 3600:
                raise ValueError(f"delay must be 0..3600 seconds, not {self.value!r}")
        elif int(self.value) != self.value or self.value < 1:
            raise ValueError(f"{self.kind.value} needs a whole number >= 1, not {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``"drop=3"``, ``"delay=0.5"``, ``"reboot"`` (default value); ValueError if bad."""
        name, _, raw = text.strip().partition("=")
        try:
            kind = FaultKind(name.strip().lower())
        except ValueError:
            raise ValueError(f"unknown fault {name!r}; choose one of {describe_kinds()}") from None
        if not raw.strip():
            return cls(kind=kind, value=DEFAULTS[kind])
        try:
            value = float(raw) if kind is FaultKind.DELAY else int(raw)
        except ValueError:
            raise ValueError(f"bad value {raw!r} for fault {kind.value}") from None
        return cls(kind=kind, value=value)

    @property
    def count(self) -> int:
        return int(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineOptions:
    """Line emulation of every client line of a listener: the line speed (bit/s, None = as fast
    as the medium goes) and the faults."""

    link_baud: int | None = None
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        if self.link_baud is not None and (type(self.link_baud) is not int or self.link_baud < 1):
            raise ValueError(f"link_baud must be a positive int, not {self.link_baud!r}")
        object.__setattr__(self, "faults", tuple(self.faults))

    def injector(self) -> FaultInjector:
        return FaultInjector(self.faults)


def describe_kinds() -> str:
    """One line per kind with its default, for ``--help``."""
    return "; ".join(f"{k.value}[={DEFAULTS[k]:g}] ({_HELP[k]})" for k in FaultKind)


# -- actions ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Write:
    """Write these bytes (paced to the line speed, if any)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """Wait before going on."""

    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Reset:
    """Reset the connection (TCP RST) and end the client session."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stall:
    """Stop answering: every later frame is swallowed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reboot:
    """Forget the association and HDLC link state (simulated reboot)."""


Action = Union[Write, Pause, Reset, Stall, Reboot]


def corrupt_frame(frame: bytes) -> bytes:
    """The frame with a corrupted FCS (HDLC: both FCS bytes inverted; otherwise the last byte
    inverted, which breaks a wrapper packet's APDU instead)."""
    if len(frame) >= 4 and frame[0] == 0x7E and frame[-1] == 0x7E:
        return frame[:-3] + bytes(b ^ 0xFF for b in frame[-3:-1]) + frame[-1:]
    if not frame:
        return frame
    return frame[:-1] + bytes((frame[-1] ^ 0xFF,))


def renumber_frame(frame: bytes) -> bytes:
    """An HDLC I-frame with N(S) one ahead of its own (a frame "from the future": the receiver
    sees a gap) and valid HCS/FCS; anything else (S/U frames, wrapper packets, bytes that do not
    decode) unchanged."""
    if len(frame) < 4 or frame[0] != 0x7E or frame[-1] != 0x7E:
        return frame
    try:
        decoded, _ = decode_frame(frame)
    except DlmsError:
        return frame
    if decoded.frame_type is not FrameType.I:
        return frame
    return encode_frame(replace(decoded, n_s=(decoded.n_s + 1) % 8))


class FaultInjector:
    """Applies the faults of one connection to its outgoing frames (see the module docstring).

    ``outgoing(frames) -> list[Action]``. Counters (frames, bytes) run over the whole connection.
    ``stalled`` becomes True after a STALL or RESET threshold was reached.
    """

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self.faults = {f.kind: f for f in faults}
        self.frames = 0
        self.bytes = 0
        self.stalled = False
        limits = [(self.faults[k].count, k) for k in (FaultKind.STALL, FaultKind.RESET)
                  if k in self.faults]
        self._limit = min(limits) if limits else None

    def _every(self, kind: FaultKind) -> bool:
        fault = self.faults.get(kind)
        return fault is not None and self.frames % fault.count == 0

    def outgoing(self, frames: Sequence[bytes]) -> list[Action]:
        if self.stalled or not frames:
            return []
        actions: list[Action] = []
        delay = self.faults.get(FaultKind.DELAY)
        if delay is not None and delay.value > 0:
            actions.append(Pause(seconds=delay.value))
        for frame in frames:
            self.frames += 1
            if self._every(FaultKind.DROP):
                continue
            if self._every(FaultKind.WRONG_NS):
                frame = renumber_frame(frame)
            if self._every(FaultKind.CORRUPT):
                frame = corrupt_frame(frame)
            for _ in range(2 if self._every(FaultKind.DUPLICATE) else 1):
                actions.extend(self._write(frame))
                if self.stalled:
                    return actions
            if self._every(FaultKind.REBOOT):
                actions.append(Reboot())
        return actions

    def _write(self, data: bytes) -> list[Action]:
        if self._limit is None or self.bytes + len(data) < self._limit[0]:
            self.bytes += len(data)
            return [Write(data=data)]
        limit, kind = self._limit
        head = data[:max(0, limit - self.bytes)]
        self.bytes += len(head)
        self.stalled = True
        actions: list[Action] = [Write(data=head)] if head else []
        actions.append(Reset() if kind is FaultKind.RESET else Stall())
        return actions


# -- line speed ---------------------------------------------------------------------------------

def wire_time(nbytes: int, baud: int) -> float:
    """Seconds ``nbytes`` take on a line of ``baud`` bit/s (10 bits a byte)."""
    return nbytes * BITS_PER_BYTE / baud


def pace(data: bytes, baud: int | None) -> list[tuple[bytes, float]]:
    """``data`` cut into chunks of at most :data:`PACE_SLICE` seconds of wire time, each with
    its wire time; one chunk taking no time without a line speed."""
    if not baud:
        return [(data, 0.0)] if data else []
    size = max(1, int(baud / BITS_PER_BYTE * PACE_SLICE))
    return [(data[i:i + size], wire_time(len(data[i:i + size]), baud))
            for i in range(0, len(data), size)]
