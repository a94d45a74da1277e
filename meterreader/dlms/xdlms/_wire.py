"""A-XDR primitives shared by the xDLMS codecs (A-XDR rules of IEC 61334-6).

Decoders take ``(buf, offset)`` and return ``(value, new_offset)``; they never mutate ``buf`` and
raise only :class:`DecodeError` (``data`` = the whole buffer, so offsets point into the APDU).
Encoders validate ranges and raise :class:`LocalProtocolError` on misuse.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn, TypeVar

from meterreader.dlms.axdr import Data, decode_data, decode_length, encode_data, encode_length
from meterreader.dlms.errors import DecodeError, DlmsError, LocalProtocolError, Reason

E = TypeVar("E", bound=IntEnum)


def fail(buf: bytes, offset: int, reason: Reason, message: str) -> NoReturn:
    """Raise a DecodeError about ``buf`` at ``offset``."""
    raise DecodeError(message, data=bytes(buf), offset=offset, reason=reason)


def need(buf: bytes, offset: int, n: int, what: str) -> None:
    """Refuse (TRUNCATED) unless ``n`` more bytes are present at ``offset``."""
    if len(buf) - offset < n:
        fail(buf, len(buf), Reason.TRUNCATED,
             f"{what}: needs {n} byte(s), {len(buf) - offset} left")


def read_u8(buf: bytes, offset: int, what: str = "Unsigned8") -> tuple[int, int]:
    need(buf, offset, 1, what)
    return buf[offset], offset + 1


def read_i8(buf: bytes, offset: int, what: str = "Integer8") -> tuple[int, int]:
    need(buf, offset, 1, what)
    value = buf[offset]
    return (value - 256 if value > 127 else value), offset + 1


def read_u16(buf: bytes, offset: int, what: str = "Unsigned16") -> tuple[int, int]:
    need(buf, offset, 2, what)
    return int.from_bytes(buf[offset:offset + 2], "big"), offset + 2


def read_u32(buf: bytes, offset: int, what: str = "Unsigned32") -> tuple[int, int]:
    need(buf, offset, 4, what)
    return int.from_bytes(buf[offset:offset + 4], "big"), offset + 4


def read_bool(buf: bytes, offset: int, what: str = "BOOLEAN") -> tuple[bool, int]:
    """A-XDR BOOLEAN: one byte, 0x00 false, anything else true."""
    need(buf, offset, 1, what)
    return buf[offset] != 0, offset + 1


def read_present(buf: bytes, offset: int, what: str) -> tuple[bool, int]:
    """The presence flag of an OPTIONAL component: 0x00 absent, 0x01 present."""
    need(buf, offset, 1, what)
    flag = buf[offset]
    if flag > 1:
        fail(buf, offset, Reason.BAD_VALUE, f"{what}: presence flag must be 0 or 1, got {flag}")
    return flag == 1, offset + 1


def read_length(buf: bytes, offset: int, what: str) -> tuple[int, int]:
    """An A-XDR length/quantity; wraps the axdr codec so only DecodeError escapes."""
    need(buf, offset, 1, what)
    try:
        return decode_length(buf, offset)
    except DlmsError:
        raise
    except Exception as exc:  # defensive: the codec must never leak other exceptions
        fail(buf, offset, Reason.BAD_LENGTH, f"{what}: bad length ({exc})")


def read_octet_string(buf: bytes, offset: int, what: str = "OCTET STRING") -> tuple[bytes, int]:
    """A-XDR OCTET STRING without size constraint: length, then that many bytes."""
    n, offset = read_length(buf, offset, what)
    need(buf, offset, n, what)
    return bytes(buf[offset:offset + n]), offset + n


def read_count(buf: bytes, offset: int, what: str) -> tuple[int, int]:
    """The element count of a SEQUENCE OF. Each element takes at least one byte, so a count
    larger than what is left can only be a truncation (checked before anything is allocated)."""
    n, offset = read_length(buf, offset, what)
    if n > len(buf) - offset:
        fail(buf, len(buf), Reason.TRUNCATED, f"{what}: {n} elements announced, "
             f"only {len(buf) - offset} byte(s) left")
    return n, offset


def read_enum(buf: bytes, offset: int, enum: type[E], what: str,
              reason: Reason = Reason.BAD_VALUE) -> tuple[E, int]:
    """One byte that must be a member of ``enum`` (ENUMERATED or a CHOICE tag)."""
    raw, new_offset = read_u8(buf, offset, what)
    try:
        return enum(raw), new_offset
    except ValueError:
        fail(buf, offset, reason, f"{what}: {raw} is not a defined {enum.__name__}")


def read_choice(buf: bytes, offset: int, enum: type[E], what: str) -> tuple[E, int]:
    """A CHOICE tag byte; an undefined tag is UNKNOWN_TAG."""
    return read_enum(buf, offset, enum, what, Reason.UNKNOWN_TAG)


def read_data(buf: bytes, offset: int) -> tuple[Data, int]:
    """One A-XDR ``Data`` value (delegates to the axdr codec)."""
    need(buf, offset, 1, "Data")
    try:
        return decode_data(buf, offset)
    except DlmsError:
        raise
    except Exception as exc:  # defensive: the codec must never leak other exceptions
        fail(buf, offset, Reason.BAD_VALUE, f"Data: undecodable ({exc})")


def expect_byte(buf: bytes, offset: int, expected: int, what: str,
                reason: Reason = Reason.UNKNOWN_TAG) -> int:
    """Check that the byte at ``offset`` is ``expected``; returns the new offset."""
    raw, new_offset = read_u8(buf, offset, what)
    if raw != expected:
        fail(buf, offset, reason, f"{what}: expected 0x{expected:02X}, got 0x{raw:02X}")
    return new_offset


def expect_end(buf: bytes, offset: int, what: str) -> None:
    """Refuse bytes left over after a complete APDU."""
    if offset != len(buf):
        fail(buf, offset, Reason.TRAILING_DATA,
             f"{what}: {len(buf) - offset} byte(s) after the end of the APDU")


# -- encoders ------------------------------------------------------------------------------------

def _check(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise LocalProtocolError(f"{what} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def u8(value: int, what: str = "Unsigned8") -> bytes:
    return bytes((_check(value, 0, 0xFF, what),))


def i8(value: int, what: str = "Integer8") -> bytes:
    return (_check(value, -128, 127, what) & 0xFF).to_bytes(1, "big")


def u16(value: int, what: str = "Unsigned16") -> bytes:
    return _check(value, 0, 0xFFFF, what).to_bytes(2, "big")


def u32(value: int, what: str = "Unsigned32") -> bytes:
    return _check(value, 0, 0xFFFF_FFFF, what).to_bytes(4, "big")


def boolean(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def octet_string(value: bytes, what: str = "OCTET STRING") -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise LocalProtocolError(f"{what} must be bytes, got {type(value).__name__}")
    return encode_length(len(value)) + bytes(value)


def count(n: int) -> bytes:
    return encode_length(n)


def data(value: Data) -> bytes:
    if not isinstance(value, Data):
        raise LocalProtocolError(f"expected an A-XDR Data value, got {type(value).__name__}")
    return encode_data(value)


def enum_byte(value: IntEnum, enum: type[IntEnum], what: str) -> bytes:
    """Encode an ENUMERATED after checking it is a member of ``enum``."""
    if not isinstance(value, enum):
        try:
            value = enum(value)
        except ValueError:
            raise LocalProtocolError(f"{what}: {value!r} is not a {enum.__name__}") from None
    return bytes((int(value),))
