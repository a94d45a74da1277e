"""HDLC frames for DLMS: addresses, control field, frame format type 3 codec (IEC 62056-46).

A frame on the wire::

    7E | A0+S+length (2) | destination (1-4) | source (1-4) | control | [HCS (2) | info] | FCS | 7E

The 11-bit length counts every byte between the flags. The HCS (over format, addresses and
control) is present only when there is an information field; the FCS covers everything between the
flags. Frames are delimited by their length field, never by searching for 0x7E, which may occur
inside a frame.

Addresses are self-delimiting (the last byte has LSB = 1), so the decoder finds both boundaries
itself; which address is the client's and which the server's is a matter of direction, given by the
caller as the sender's :class:`Role`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum, unique
from functools import lru_cache
from typing import TypeAlias

from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.hdlc.crc import crc16, fcs

FLAG = 0x7E
#: IEC 62056-46: the frame length field has 11 bits.
MAX_FRAME_LENGTH = 0x7FF
#: format (2) + destination (1) + source (1) + control (1) + FCS (2).
MIN_FRAME_LENGTH = 7
_FORMAT_TYPE_3 = 0xA0
_SEGMENTATION_BIT = 0x08  # in the first format byte (0x0800 of the 16-bit field)

#: Items yielded by :class:`FrameReader`: a decoded frame or the error that refused one.
FrameError: TypeAlias = RemoteProtocolError


@unique
class Role(Enum):
    """Which end of the link: the client is the HDLC primary station, the server the secondary."""

    CLIENT = "client"
    SERVER = "server"


@unique
class FrameType(IntEnum):
    """Frame kinds by their control-field value with P/F, N(S) and N(R) cleared (IEC 62056-46)."""

    I = 0x00  # noqa: E741 - the standard's name
    RR = 0x01
    RNR = 0x05
    UI = 0x03
    DISC = 0x43
    UA = 0x63
    DM = 0x0F
    FRMR = 0x87
    SNRM = 0x83


_S_FRAMES = {FrameType.RR.value: FrameType.RR, FrameType.RNR.value: FrameType.RNR}
_U_FRAMES = {t.value: t for t in (FrameType.UI, FrameType.DISC, FrameType.UA, FrameType.DM,
                                  FrameType.FRMR, FrameType.SNRM)}
#: Frames that never carry an information field.
_NO_INFO = frozenset({FrameType.RR, FrameType.RNR, FrameType.DISC})
#: Frames whose control field carries N(R).
_WITH_N_R = frozenset({FrameType.I, FrameType.RR, FrameType.RNR})
_POLL_FINAL = 0x10
#: Bytes kept in the error of a frame refused from its header (what an error message shows).
_ERROR_CONTEXT = 64


# -- addresses -------------------------------------------------------------------------------------

_ADDRESS_LIMITS = {1: 0x7F, 2: 0x7F, 4: 0x3FFF}


@dataclass(frozen=True, slots=True, kw_only=True)
class HdlcAddress:
    """An HDLC address: 1 byte (client, or server upper address only), 2 or 4 bytes (server).

    IEC 62056-46: each byte carries 7 address bits shifted left by one; the last byte of the
    field has LSB = 1. With 2 bytes, upper and lower have 7 bits each, with 4 bytes 14 bits each.
    Don't subclass.
    """

    upper: int
    lower: int | None = None
    size: int = 1

    def __post_init__(self) -> None:
        limit = _ADDRESS_LIMITS.get(self.size)
        if limit is None:
            raise LocalProtocolError(f"HDLC address size must be 1, 2 or 4, not {self.size!r}")
        if (self.lower is None) != (self.size == 1):
            raise LocalProtocolError("a lower HDLC address is required with size 2 or 4 only")
        for value in (self.upper, self.lower if self.lower is not None else 0):
            if type(value) is not int or not 0 <= value <= limit:
                raise LocalProtocolError(
                    f"HDLC address {value!r} out of range for size {self.size}")

    @classmethod
    def client(cls, sap: int) -> HdlcAddress:
        """A client address (always one byte), e.g. 16 for the public client."""
        return cls(upper=sap)

    @classmethod
    def server(cls, logical: int, physical: int | None = None, *, size: int | None = None
               ) -> HdlcAddress:
        """A server address; ``size`` defaults to the smallest that holds both parts."""
        if size is None:
            size = 1 if physical is None else 2 if max(logical, physical) <= 0x7F else 4
        return cls(upper=logical, lower=physical, size=size)

    def encode(self) -> bytes:
        """The address field bytes, extension bits included."""
        if self.size == 1:
            return bytes(((self.upper << 1) | 1,))
        lower = self.lower or 0
        if self.size == 2:
            return bytes((self.upper << 1, (lower << 1) | 1))
        return bytes(((self.upper >> 7) << 1, (self.upper & 0x7F) << 1,
                      (lower >> 7) << 1, ((lower & 0x7F) << 1) | 1))

    __bytes__ = encode

    def same_station(self, other: HdlcAddress) -> bool:
        """True when both name the same station, whatever address size each is written in."""
        return self.upper == other.upper and self.lower == other.lower

    def __str__(self) -> str:
        return str(self.upper) if self.lower is None else f"{self.upper}/{self.lower}"


@lru_cache(maxsize=256)  # a link uses two or three addresses; bounded against hostile input
def _address_from_values(values: tuple[int, ...]) -> HdlcAddress:
    if len(values) == 1:
        return HdlcAddress(upper=values[0])
    if len(values) == 2:
        return HdlcAddress(upper=values[0], lower=values[1], size=2)
    return HdlcAddress(upper=(values[0] << 7) | values[1], lower=(values[2] << 7) | values[3],
                       size=4)


# -- control field ---------------------------------------------------------------------------------

def encode_control(frame_type: FrameType, poll_final: bool, n_s: int = 0, n_r: int = 0) -> int:
    """The control byte: I = N(R)<<5 | P/F<<4 | N(S)<<1, S = N(R)<<5 | P/F<<4 | type,
    U = type | P/F<<4."""
    value = int(frame_type) | (_POLL_FINAL if poll_final else 0)
    if frame_type is FrameType.I:
        value |= n_s << 1
    if frame_type in _WITH_N_R:
        value |= n_r << 5
    return value


def decode_control(value: int) -> tuple[FrameType, bool, int, int]:
    """Return ``(frame_type, poll_final, n_s, n_r)``; unknown values raise :class:`DecodeError`."""
    poll_final = bool(value & _POLL_FINAL)
    if not value & 0x01:
        return FrameType.I, poll_final, (value >> 1) & 7, value >> 5
    if not value & 0x02:
        kind, n_r = _S_FRAMES.get(value & 0x0F), value >> 5
    else:
        kind, n_r = _U_FRAMES.get(value & ~_POLL_FINAL & 0xFF), 0
    if kind is None:
        raise DecodeError(f"unsupported HDLC control field 0x{value:02X}", data=bytes((value,)),
                          reason=Reason.BAD_CONTROL)
    return kind, poll_final, 0, n_r


def _control_or_error(value: int) -> tuple[FrameType, bool, int, int] | DecodeError:
    try:
        return decode_control(value)
    except DecodeError as exc:
        return exc


#: decode_control of every byte, computed once (the frame scanner's per-frame lookup).
_CONTROLS: tuple[tuple[FrameType, bool, int, int] | DecodeError, ...] = tuple(
    _control_or_error(v) for v in range(256))


# -- frames ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class HdlcFrame:
    """One HDLC frame. ``n_s`` is used by I-frames only, ``n_r`` by I, RR and RNR.

    Don't subclass.
    """

    destination: HdlcAddress
    source: HdlcAddress
    frame_type: FrameType
    poll_final: bool = False
    n_s: int = 0
    n_r: int = 0
    segmented: bool = False
    info: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.frame_type, FrameType):
            raise LocalProtocolError(f"frame_type must be a FrameType, not {self.frame_type!r}")
        if not isinstance(self.info, bytes):
            if not isinstance(self.info, bytearray | memoryview):
                raise LocalProtocolError("info must be bytes")
            object.__setattr__(self, "info", bytes(self.info))
        for name in ("n_s", "n_r"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= 7:
                raise LocalProtocolError(f"{name} must be 0..7, not {value!r}")
        if self.n_s and self.frame_type is not FrameType.I:
            raise LocalProtocolError("only I-frames carry N(S)")
        if self.n_r and self.frame_type not in _WITH_N_R:
            raise LocalProtocolError("only I, RR and RNR frames carry N(R)")
        if self.info and self.frame_type in _NO_INFO:
            raise LocalProtocolError(f"{self.frame_type.name} frames carry no information field")

    @property
    def control(self) -> int:
        return encode_control(self.frame_type, self.poll_final, self.n_s, self.n_r)


def encode_frame(frame: HdlcFrame) -> bytes:
    """The frame with both flags, HCS (when there is an info field) and FCS."""
    addresses = frame.destination.encode() + frame.source.encode()
    length = 2 + len(addresses) + 1 + 2 + (len(frame.info) + 2 if frame.info else 0)
    if length > MAX_FRAME_LENGTH:
        raise LocalProtocolError(f"HDLC frame of {length} bytes exceeds the 11-bit length field")
    first = _FORMAT_TYPE_3 | (_SEGMENTATION_BIT if frame.segmented else 0) | (length >> 8)
    header = bytes((first, length & 0xFF)) + addresses + bytes((frame.control,))
    if frame.info:
        header += fcs(header) + frame.info
    return b"\x7e" + header + fcs(header) + b"\x7e"


def _scan(buf: bytes | bytearray | memoryview, start: int, max_length: int
          ) -> tuple[HdlcFrame | DecodeError | None, int]:
    """Try to decode the frame whose opening flag is at ``start``.

    Returns ``(None, start)`` when more bytes are needed, ``(frame, index of closing flag)``, or
    ``(error, index to resume scanning at)``. Never raises.
    """
    size = len(buf)
    if size - start < 3:
        return None, start
    if buf[start] != FLAG:
        return _fail(buf, start, size, Reason.BAD_FLAG, "HDLC frame does not start with 0x7E", 0)
    first = buf[start + 1]
    if first & 0xF0 != _FORMAT_TYPE_3:
        return _fail(buf, start, size, Reason.BAD_FORMAT,
                     f"HDLC frame format 0x{first:02X} is not type 3", 1)
    length = ((first & 0x07) << 8) | buf[start + 2]
    frame_end = start + 1 + length

    def fail(reason: Reason, message: str, at: int, resume: int | None = None
             ) -> tuple[DecodeError, int]:
        # Refused from its header, a "frame" may be a false start in noise, and scanning resumes
        # right after its flag: its error keeps the bytes up to the fault plus a little context,
        # never as many as the unverified length field claims (else every 3 bytes of noise
        # could copy 2 KiB).
        end = frame_end + 1 if resume is not None else min(
            frame_end + 1, max(at + 1, start + _ERROR_CONTEXT))
        return _fail(buf, start, end, reason, message, at - start, resume)

    if length > max_length:
        return fail(Reason.TOO_LONG, f"HDLC frame length {length} exceeds {max_length}", start + 1)
    if length < MIN_FRAME_LENGTH:
        return fail(Reason.BAD_LENGTH, f"HDLC frame length {length} is too short", start + 1)
    pos = start + 3
    addresses: list[HdlcAddress] = []
    for _ in range(2):
        values: list[int] = []
        while True:
            if pos >= frame_end - 3:  # leave room for control and FCS
                return fail(Reason.BAD_LENGTH, "HDLC address runs past the frame length", pos)
            if pos >= size:
                return None, start
            byte = buf[pos]
            pos += 1
            values.append(byte >> 1)
            if byte & 1:
                break
            if len(values) == 4:
                return fail(Reason.BAD_ADDRESS, "HDLC address field longer than 4 bytes", pos - 1)
        if len(values) == 3:
            return fail(Reason.BAD_ADDRESS, "HDLC address field of 3 bytes", pos - 1)
        addresses.append(_address_from_values(tuple(values)))
    control_at = pos
    header_end = pos + 1  # first byte after the control field
    info_room = frame_end - 2 - header_end  # bytes between control and FCS
    if info_room:
        # IEC 62056-46: HCS present only with an information field, which is then non-empty.
        if info_room < 3:
            return fail(Reason.BAD_LENGTH, "HDLC frame length leaves no room for HCS and info",
                        header_end)
        if header_end + 2 > size:
            return None, start
        if crc16(buf[start + 1:header_end]) != buf[header_end] | (buf[header_end + 1] << 8):
            return fail(Reason.BAD_HCS, "HDLC header check sequence mismatch", header_end)
    if frame_end >= size:
        return None, start
    if buf[frame_end] != FLAG:
        return fail(Reason.BAD_FLAG, "HDLC frame not closed by 0x7E where its length ends",
                    frame_end)
    if crc16(buf[start + 1:frame_end - 2]) != buf[frame_end - 2] | (buf[frame_end - 1] << 8):
        return fail(Reason.BAD_FCS, "HDLC frame check sequence mismatch", frame_end - 2, frame_end)
    control = _CONTROLS[buf[control_at]]
    if isinstance(control, DecodeError):
        return fail(Reason.BAD_CONTROL, control.message, control_at, frame_end)
    frame_type, poll_final, n_s, n_r = control
    info = bytes(buf[header_end + 2:frame_end - 2]) if info_room else b""
    if info and frame_type in _NO_INFO:
        return fail(Reason.BAD_LENGTH, f"{frame_type.name} frame carries an information field",
                    header_end, frame_end)
    return _decoded_frame(addresses[0], addresses[1], frame_type, poll_final, n_s, n_r,
                          bool(first & _SEGMENTATION_BIT), info), frame_end


_set = object.__setattr__


def _decoded_frame(destination: HdlcAddress, source: HdlcAddress, frame_type: FrameType,
                   poll_final: bool, n_s: int, n_r: int, segmented: bool, info: bytes
                   ) -> HdlcFrame:
    """An HdlcFrame from fields the scanner has already checked (decode_control gives N(S)
    and N(R) only where the type carries them): skips __post_init__, a fifth of the scan."""
    frame = object.__new__(HdlcFrame)
    _set(frame, "destination", destination)
    _set(frame, "source", source)
    _set(frame, "frame_type", frame_type)
    _set(frame, "poll_final", poll_final)
    _set(frame, "n_s", n_s)
    _set(frame, "n_r", n_r)
    _set(frame, "segmented", segmented)
    _set(frame, "info", info)
    return frame


def _fail(buf: bytes | bytearray | memoryview, start: int, end: int, reason: Reason, message: str,
          offset: int, resume: int | None = None) -> tuple[DecodeError, int]:
    """An error over ``buf[start:end]`` and where to resume scanning (default: after the flag)."""
    error = DecodeError(message, data=bytes(buf[start:end]), offset=offset, reason=reason)
    return error, start + 1 if resume is None else resume


def decode_frame(buf: bytes | bytearray | memoryview, offset: int = 0, *,
                 server_address_size: int | None = None, sender: Role | None = None,
                 max_frame_length: int = MAX_FRAME_LENGTH) -> tuple[HdlcFrame, int]:
    """Decode the frame whose opening flag is at ``offset``; return it and the offset after its
    closing flag.

    ``sender`` says who sent it (a client sends to the server address); then the client address
    must be one byte and, when given, the server address ``server_address_size`` bytes. Without
    ``sender``, ``server_address_size`` must match one of the two addresses, the other being one
    byte.
    Raises :class:`DecodeError` (reason ``TRUNCATED`` for an incomplete frame).
    """
    result, end = _scan(buf, offset, max_frame_length)
    if result is None:
        raise DecodeError("HDLC frame is incomplete", data=bytes(buf[offset:]),
                          offset=len(buf) - offset, reason=Reason.TRUNCATED)
    if isinstance(result, DecodeError):
        raise result
    if sender is not None or server_address_size is not None:
        _check_roles(result, buf[offset:end + 1], server_address_size, sender)
    return result, end + 1


def _check_roles(frame: HdlcFrame, data: bytes | bytearray | memoryview,
                 server_address_size: int | None, sender: Role | None) -> None:
    pairs = ((frame.source, frame.destination), (frame.destination, frame.source))
    if sender is not None:
        pairs = (pairs[0] if sender is Role.CLIENT else pairs[1],)
    for client, server in pairs:
        if client.size == 1 and server_address_size in (None, server.size):
            return
    raise DecodeError(f"HDLC addresses {frame.destination}, {frame.source} do not fit the roles",
                      data=bytes(data), offset=3, reason=Reason.BAD_ADDRESS)


class FrameReader:
    """Sans-IO reassembler of HDLC frames from a byte stream: ``feed(bytes) -> list[item]``.

    Each item is an :class:`HdlcFrame` or a :data:`FrameError` (a :class:`RemoteProtocolError`
    with the refused frame's bytes); an empty list means "need more". Noise before a frame is
    skipped up to a plausible start (0x7E followed by 0xA0..0xAF); consecutive frames may share a
    flag or carry two. After a bad frame the reader resynchronises on the next plausible start.
    """

    def __init__(self, *, max_frame_length: int = MAX_FRAME_LENGTH) -> None:
        self._buf = bytearray()
        self._max_frame_length = MAX_FRAME_LENGTH
        self.max_frame_length = max_frame_length

    @property
    def max_frame_length(self) -> int:
        """Longest accepted frame (value of the length field, i.e. the bytes between the flags)."""
        return self._max_frame_length

    @max_frame_length.setter
    def max_frame_length(self, value: int) -> None:
        if type(value) is not int or not MIN_FRAME_LENGTH <= value <= MAX_FRAME_LENGTH:
            raise LocalProtocolError(
                f"max_frame_length must be {MIN_FRAME_LENGTH}..{MAX_FRAME_LENGTH}, not {value!r}")
        self._max_frame_length = value

    @property
    def buffered(self) -> bytes:
        """Bytes received but not yet consumed (a partial frame)."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[HdlcFrame | FrameError]:
        buf = self._buf
        buf += data
        items: list[HdlcFrame | FrameError] = []
        pos = 0
        while True:
            start = _find_start(buf, pos)
            if start < 0:
                pos = len(buf) - 1 if buf and buf[-1] == FLAG else len(buf)
                break
            result, next_pos = _scan(buf, start, self._max_frame_length)
            if result is None:
                pos = start
                break
            items.append(result)
            pos = next_pos
        del buf[:pos]
        return items


def _find_start(buf: bytearray, pos: int) -> int:
    """Index of the next 0x7E followed by a type-3 format byte (or a 0x7E ending the buffer)."""
    while True:
        start = buf.find(FLAG, pos)
        if start < 0 or start + 1 == len(buf) or buf[start + 1] & 0xF0 == _FORMAT_TYPE_3:
            return start
        pos = start + 1
