"""Small BER (ITU-T X.690) TLV helpers for the ACSE APDUs.

Only what the DLMS ACSE needs: definite lengths, single- and multi-byte identifiers, INTEGER,
BIT STRING, OBJECT IDENTIFIER. Decoders take ``(buf, offset, end)`` and return
``(value, new_offset)``; they never mutate ``buf`` and raise only :class:`DecodeError`, whose
``data`` is the whole ``buf`` and whose ``offset`` is absolute in it. ``end`` bounds the parse
(the end of the enclosing element): running past ``len(buf)`` is ``TRUNCATED``, running past an
inner ``end`` is ``BAD_LENGTH``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Any, Callable, NoReturn, Union

from meterreader.dlms.axdr import BitString
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

Buffer = Union[bytes, memoryview]

# Longest length field / multi-byte tag we accept: 4 bytes covers any APDU a meter can send.
_MAX_LENGTH_OCTETS = 4
_MAX_TAG_OCTETS = 4


@unique
class TagClass(IntEnum):
    """X.690 §8.1.2.2: the two class bits of an identifier octet."""

    UNIVERSAL = 0
    APPLICATION = 1
    CONTEXT = 2
    PRIVATE = 3


@unique
class UniversalTag(IntEnum):
    """Universal tag numbers used inside the ACSE APDUs (X.680)."""

    INTEGER = 2
    BIT_STRING = 3
    OCTET_STRING = 4
    OBJECT_IDENTIFIER = 6
    GRAPHIC_STRING = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class Element:
    """One decoded TLV, as offsets into the buffer it came from (no copy of the content)."""

    tag_class: TagClass
    constructed: bool
    number: int
    start: int  # offset of the first identifier octet
    content_start: int  # offset of the first content octet
    end: int  # offset just after the last content octet

    def content(self, buf: Buffer) -> bytes:
        """The content octets as ``bytes``."""
        return bytes(buf[self.content_start:self.end])

    def raw(self, buf: Buffer) -> bytes:
        """The whole element (identifier, length and content) as ``bytes``."""
        return bytes(buf[self.start:self.end])

    def is_(self, tag_class: TagClass, number: int, constructed: bool) -> bool:
        """True if the identifier is exactly ``(tag_class, number, constructed)``."""
        return (self.tag_class is tag_class and self.number == number
                and self.constructed == constructed)


def fail(buf: Buffer, offset: int, reason: Reason, message: str) -> NoReturn:
    """Raise a :class:`DecodeError` about ``buf`` at ``offset``."""
    raise DecodeError(message, data=bytes(buf), offset=offset, reason=reason)


def need(buf: Buffer, offset: int, count: int, end: int, what: str) -> None:
    """Raise unless ``count`` bytes from ``offset`` lie before ``end``."""
    if offset + count > end:
        reason = Reason.TRUNCATED if end >= len(buf) else Reason.BAD_LENGTH
        fail(buf, offset, reason, f"{what}: need {count} byte(s), {max(end - offset, 0)} left")


# --- lengths ----------------------------------------------------------------------------------

def decode_length(buf: Buffer, offset: int, end: int | None = None) -> tuple[int, int]:
    """X.690 §8.1.3: a definite length (short or long form) → ``(length, new_offset)``."""
    end = len(buf) if end is None else end
    need(buf, offset, 1, end, "length")
    first = buf[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0:
        # X.690 §8.1.3.6: the indefinite form; DLMS APDUs always use definite lengths.
        fail(buf, offset, Reason.BAD_LENGTH, "indefinite length not allowed")
    if count > _MAX_LENGTH_OCTETS:
        fail(buf, offset, Reason.BAD_LENGTH, f"length of {count} octets not supported")
    need(buf, offset + 1, count, end, "long-form length")
    return int.from_bytes(bytes(buf[offset + 1:offset + 1 + count]), "big"), offset + 1 + count


def encode_length(length: int) -> bytes:
    """X.690 §8.1.3: the shortest definite length encoding of ``length``."""
    if length < 0:
        raise LocalProtocolError(f"negative length {length}")
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > _MAX_LENGTH_OCTETS:
        raise LocalProtocolError(f"length {length} too large")
    return bytes((0x80 | len(body),)) + body


# --- identifiers and elements -----------------------------------------------------------------

def decode_element(buf: Buffer, offset: int = 0, end: int | None = None) -> tuple[Element, int]:
    """Decode one TLV header at ``offset`` and check its content fits before ``end``.

    Returns ``(element, element.end)``.
    """
    end = len(buf) if end is None else end
    need(buf, offset, 1, end, "identifier")
    first = buf[offset]
    pos = offset + 1
    number = first & 0x1F
    if number == 0x1F:
        # X.690 §8.1.2.4: high tag number form, base-128 with continuation bits.
        number = 0
        for index in range(_MAX_TAG_OCTETS + 1):
            need(buf, pos, 1, end, "tag number")
            octet = buf[pos]
            if index == 0 and octet == 0x80:
                fail(buf, pos, Reason.BAD_VALUE, "tag number has a leading zero septet")
            if index == _MAX_TAG_OCTETS:
                fail(buf, pos, Reason.BAD_VALUE, "tag number too long")
            number = (number << 7) | (octet & 0x7F)
            pos += 1
            if not octet & 0x80:
                break
    length, content_start = decode_length(buf, pos, end)
    need(buf, content_start, length, end, "element content")
    element = Element(tag_class=TagClass(first >> 6), constructed=bool(first & 0x20),
                      number=number, start=offset, content_start=content_start,
                      end=content_start + length)
    return element, element.end


def encode_identifier(tag_class: TagClass, constructed: bool, number: int) -> bytes:
    """X.690 §8.1.2: the identifier octets."""
    if number < 0:
        raise LocalProtocolError(f"negative tag number {number}")
    lead = (int(tag_class) << 6) | (0x20 if constructed else 0)
    if number < 0x1F:
        return bytes((lead | number,))
    septets = []
    while True:
        septets.append(number & 0x7F)
        number >>= 7
        if not number:
            break
    septets.reverse()
    return bytes((lead | 0x1F,)) + bytes(s | 0x80 for s in septets[:-1]) + bytes(septets[-1:])


def encode_element(tag_class: TagClass, constructed: bool, number: int, content: bytes) -> bytes:
    """A whole TLV: identifier, definite length, content."""
    return encode_identifier(tag_class, constructed, number) + encode_length(len(content)) + content


def decode_children(buf: Buffer, parent: Element) -> tuple[Element, ...]:
    """All elements directly inside the constructed ``parent``."""
    children = []
    pos = parent.content_start
    while pos < parent.end:
        child, pos = decode_element(buf, pos, parent.end)
        children.append(child)
    return tuple(children)


def decode_single_child(buf: Buffer, parent: Element, tag_class: TagClass, number: int,
                        constructed: bool = False) -> Element:
    """The one element inside an EXPLICIT tag ``parent``, which must carry the given identifier."""
    if not parent.constructed:
        fail(buf, parent.start, Reason.BAD_VALUE, "explicit tag must be constructed")
    child, pos = decode_element(buf, parent.content_start, parent.end)
    if not child.is_(tag_class, number, constructed):
        fail(buf, child.start, Reason.UNKNOWN_TAG,
             f"expected {tag_class.name} {number}, got {child.tag_class.name} {child.number}")
    if pos != parent.end:
        fail(buf, pos, Reason.TRAILING_DATA, "bytes after the tagged value")
    return child


def require_primitive(buf: Buffer, element: Element) -> None:
    """Raise unless ``element`` is primitive (an IMPLICIT tag on a primitive type)."""
    if element.constructed:
        fail(buf, element.start, Reason.BAD_VALUE, "expected a primitive encoding")


# --- primitive values -------------------------------------------------------------------------

def decode_integer(buf: Buffer, element: Element) -> int:
    """X.690 §8.3: a two's complement INTEGER from a primitive element's content."""
    require_primitive(buf, element)
    if element.end == element.content_start:
        fail(buf, element.start, Reason.BAD_LENGTH, "empty INTEGER")
    return int.from_bytes(element.content(buf), "big", signed=True)


def encode_integer(value: int) -> bytes:
    """X.690 §8.3: the minimal two's complement content octets of ``value``."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return value.to_bytes(size, "big", signed=True)


def decode_bit_string(buf: Buffer, element: Element) -> BitString:
    """X.690 §8.6: a primitive BIT STRING (initial octet = number of unused bits)."""
    require_primitive(buf, element)
    content = element.content(buf)
    if not content:
        fail(buf, element.start, Reason.BAD_LENGTH, "empty BIT STRING")
    unused = content[0]
    if unused > 7 or (unused and len(content) == 1):
        fail(buf, element.content_start, Reason.BAD_VALUE, f"bad unused-bits count {unused}")
    return BitString(length=8 * (len(content) - 1) - unused, data=content[1:])


def encode_bit_string(value: BitString) -> bytes:
    """X.690 §8.6: content octets of a BIT STRING (padding bits are kept as given)."""
    if value.length < 0 or len(value.data) != (value.length + 7) // 8:
        raise LocalProtocolError(f"inconsistent BitString: {value.length} bits in "
                                 f"{len(value.data)} bytes")
    return bytes((8 * len(value.data) - value.length,)) + bytes(value.data)


def decode_oid(buf: Buffer, element: Element) -> tuple[int, ...]:
    """X.690 §8.19: OBJECT IDENTIFIER arcs from a primitive element's content."""
    require_primitive(buf, element)
    if element.end == element.content_start:
        fail(buf, element.start, Reason.BAD_LENGTH, "empty OBJECT IDENTIFIER")
    subids = []
    value = 0
    fresh = True
    for pos in range(element.content_start, element.end):
        octet = buf[pos]
        if fresh and octet == 0x80:
            fail(buf, pos, Reason.BAD_VALUE, "OID subidentifier has a leading zero septet")
        value = (value << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            subids.append(value)
            value = 0
    if not fresh:
        fail(buf, element.end - 1, Reason.BAD_VALUE, "OID ends inside a subidentifier")
    first = subids[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(subids[1:])


def encode_oid(arcs: tuple[int, ...]) -> bytes:
    """X.690 §8.19: content octets of an OBJECT IDENTIFIER."""
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise LocalProtocolError(f"invalid OID {arcs}")
    out = bytearray()
    for subid in (arcs[0] * 40 + arcs[1],) + tuple(arcs[2:]):
        septets = [subid & 0x7F]
        subid >>= 7
        while subid:
            septets.append(0x80 | (subid & 0x7F))
            subid >>= 7
        out += bytes(reversed(septets))
    return bytes(out)


# --- tagged components ------------------------------------------------------------------------
# A FieldCodec turns one context-tagged component of a SEQUENCE into a Python value and back.
# ``encode`` returns ``(constructed, content)``; the caller adds the context tag and length.

Decoder = Callable[[Buffer, Element], Any]


@dataclass(frozen=True, slots=True)
class FieldCodec:
    """Decoder/encoder pair for one tagged component, plus the Python type(s) it holds."""

    decode: Decoder
    encode: Callable[[Any], tuple[bool, bytes]]
    types: type | tuple[type, ...]


def explicit(tag: UniversalTag, decode: Decoder, encode: Callable[[Any], bytes],
             types: type | tuple[type, ...]) -> FieldCodec:
    """X.680 EXPLICIT tagging: the context tag wraps one whole universal primitive element."""
    return FieldCodec(
        decode=lambda buf, el: decode(buf, decode_single_child(buf, el, TagClass.UNIVERSAL, tag)),
        encode=lambda v: (True, encode_element(TagClass.UNIVERSAL, False, tag, encode(v))),
        types=types)


def implicit(decode: Decoder, encode: Callable[[Any], bytes],
             types: type | tuple[type, ...]) -> FieldCodec:
    """X.680 IMPLICIT tagging: the context tag replaces a primitive element's own tag."""
    return FieldCodec(decode=decode, encode=lambda v: (False, encode(v)), types=types)


def decode_octets(buf: Buffer, element: Element) -> bytes:
    """Content of a primitive OCTET STRING / GraphicString element."""
    require_primitive(buf, element)
    return element.content(buf)


def to_enum(buf: Buffer, element: Element, enum: type[IntEnum], value: int) -> Any:
    """``enum(value)``, or a BAD_VALUE :class:`DecodeError` at the element's content."""
    try:
        return enum(value)
    except ValueError:
        fail(buf, element.content_start, Reason.BAD_VALUE, f"{value} is not a {enum.__name__}")
