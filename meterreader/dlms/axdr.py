"""A-XDR encoding of COSEM ``Data`` (data types of IEC 62056-6-2, A-XDR rules of IEC 61334-6).

``decode_data(buf, offset=0) -> (Data, new_offset)`` and ``encode_data(data) -> bytes`` cover
every ``DataTag``; ``decode_length``/``encode_length`` handle the A-XDR length (< 0x80 in one byte,
else 0x81..0x84 followed by 1..4 big-endian bytes). Build values with the ``D`` constructors and
view them with ``to_python``/``data_to_json`` (all three live in ``axdr_values`` and are
re-exported here); compact-array internals live in ``axdr_compact``.

Python value held by ``Data(tag, value)``, per tag:
NULL_DATA/DONT_CARE → None; ARRAY/STRUCTURE → tuple[Data, ...]; BOOLEAN → bool;
BIT_STRING → BitString; integer types, ENUM, BCD (raw byte) → int; OCTET_STRING → bytes;
VISIBLE_STRING → str (latin-1, so every byte re-encodes identically); UTF8_STRING → str;
FLOAT32/FLOAT64/FLOATING_POINT → float; DATE_TIME → CosemDateTime; DATE → CosemDate;
TIME → CosemTime; COMPACT_ARRAY → CompactArray.

Decoding is total: any input gives a value or a ``DecodeError`` (TRUNCATED when the bytes end
early, with the offset of the missing field). It accepts bytes, bytearray or memoryview, never
reads past the end, never allocates by a received count, and refuses nesting deeper than
``MAX_DEPTH``. Lenient on input: boolean non-zero reads as True (re-encoded as 01) and
non-minimal lengths (``81 05``) are accepted (re-encoded minimally); all else re-encodes
byte-identically (but a float32 signalling NaN comes back quiet). Encoding validates types and
ranges and raises ``LocalProtocolError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Any, Callable

from meterreader.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

MAX_DEPTH = 64  #: deepest nesting of array/structure/compact-array accepted or produced


@unique
class DataTag(IntEnum):
    """Tags of the ``Data`` CHOICE (IEC 62056-6-2 §4.1.6.1)."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    FLOATING_POINT = 7
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DONT_CARE = 255


#: The standard's spelling of each type ("double-long-unsigned", "null-data", ...).
TYPE_NAMES: dict[int, str] = {t: t.name.lower().replace("_", "-") for t in DataTag}


@dataclass(frozen=True, slots=True)
class Data:
    """One typed A-XDR value. ``value``'s Python type depends on ``tag`` (see module docstring)."""

    tag: DataTag
    value: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BitString:
    """A bit-string: ``length`` bits stored most significant bit first in ``data``."""

    length: int
    data: bytes

    @classmethod
    def from_bits(cls, bits: str) -> BitString:
        """From text such as ``"1011"`` (first character = most significant bit)."""
        if bits.strip("01"):
            raise LocalProtocolError(f"bit-string text may hold only 0 and 1: {bits!r}")
        n = len(bits)
        value = int(bits, 2) << (-n % 8) if n else 0
        return cls(length=n, data=value.to_bytes((n + 7) // 8, "big"))

    @property
    def bits(self) -> str:
        """The bits as text, ``"1011"``."""
        text = format(int.from_bytes(self.data, "big"), f"0{8 * len(self.data)}b")
        return text[: self.length]


@dataclass(frozen=True, slots=True)
class TypeDescription:
    """The contents-description of a compact-array (IEC 62056-6-2, TypeDescription CHOICE).

    A simple type (``TypeDescription(DataTag.LONG_UNSIGNED)``), an array of ``count`` elements of
    ``children[0]`` (``TypeDescription.array(4, t)``) or a structure with one child per field
    (``TypeDescription.structure(t1, t2)``).
    """

    tag: DataTag
    children: tuple[TypeDescription, ...] = ()
    count: int | None = None

    def __post_init__(self) -> None:
        if self.tag not in _DECODERS or self.tag == DataTag.COMPACT_ARRAY:
            raise LocalProtocolError(f"no compact-array type description for tag {self.tag!r}")
        object.__setattr__(self, "tag", DataTag(self.tag))
        children, count = self.children, self.count
        if not isinstance(children, tuple) or not all(
                isinstance(c, TypeDescription) for c in children):
            raise LocalProtocolError("TypeDescription.children must be a tuple of TypeDescription")
        if self.tag == DataTag.ARRAY:
            ok = len(children) == 1 and type(count) is int and 0 <= count <= 0xFFFF
        else:
            ok = count is None and (self.tag == DataTag.STRUCTURE or not children)
        if not ok:
            raise LocalProtocolError(f"malformed type description {self!r}: an array needs one "
                                     "child and a count 0..65535, only a structure has children")

    @classmethod
    def array(cls, count: int, element: TypeDescription) -> TypeDescription:
        return cls(DataTag.ARRAY, (element,), count)

    @classmethod
    def structure(cls, *children: TypeDescription) -> TypeDescription:
        return cls(DataTag.STRUCTURE, tuple(children))


@dataclass(frozen=True, slots=True, kw_only=True)
class CompactArray:
    """compact-array (IEC 62056-6-2 §4.1.6.1): a type description and the elements' values.

    ``type_description`` is a ``TypeDescription``; ``contents`` holds the elements as ``Data``.
    """

    type_description: Any
    contents: tuple[Data, ...]


# ---- A-XDR length (IEC 61334-6: like a BER definite length, at most 4 length bytes) ----

def encode_length(n: int) -> bytes:
    """A-XDR length: one byte below 0x80, else 0x80|k and k (1..4) big-endian bytes."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 0xFFFFFFFF:
        raise LocalProtocolError(f"A-XDR length must be an int in 0..0xFFFFFFFF, got {n!r}")
    if n < 0x80:
        return _SHORT_LENGTHS[n]
    k = (n.bit_length() + 7) >> 3
    return bytes((0x80 | k,)) + n.to_bytes(k, "big")


_SHORT_LENGTHS = tuple(bytes((n,)) for n in range(0x80))


def decode_length(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode an A-XDR length at ``offset``; 0x80 (indefinite) and > 4 length bytes are refused."""
    buf = _as_buffer(buf, offset)
    return _length(buf, offset, len(buf))


def _length(buf: Any, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise _truncated(buf, pos, "length")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    k = first - 0x80
    if not 1 <= k <= 4:
        raise DecodeError(f"A-XDR length byte 0x{first:02X} is not 00..7F or 81..84",
                          data=bytes(buf), offset=pos, reason=Reason.BAD_LENGTH)
    stop = pos + 1 + k
    if stop > end:
        raise _truncated(buf, pos, "length")
    return int.from_bytes(buf[pos + 1:stop], "big"), stop


# ---- Decoding: each decoder takes (buf, pos after the tag, end, depth), returns (Data, pos) ----

Decoder = Callable[[Any, int, int, int], tuple[Data, int]]


def decode_data(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[Data, int]:
    """Decode one tagged ``Data`` at ``offset``; returns it and the offset just after it."""
    buf = _as_buffer(buf, offset)
    return _decode_tagged(buf, offset, len(buf), 0)


def _as_buffer(buf: Any, offset: int) -> Any:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise LocalProtocolError(f"offset must be a non-negative int, got {offset!r}")
    if isinstance(buf, (bytes, bytearray)):
        return buf
    if isinstance(buf, memoryview):
        if buf.format == "B" and buf.ndim == 1 and buf.c_contiguous:
            return buf
        return buf.tobytes()
    raise LocalProtocolError(f"expected bytes, bytearray or memoryview, got {type(buf).__name__}")


def _truncated(buf: Any, pos: int, what: object) -> DecodeError:
    if isinstance(what, int):
        what = TYPE_NAMES.get(what, what)
    return DecodeError(f"A-XDR data ends inside {what}", data=bytes(buf), offset=pos,
                       reason=Reason.TRUNCATED)


def _unknown_tag(buf: Any, pos: int) -> DecodeError:
    return DecodeError(f"unknown A-XDR data tag 0x{buf[pos]:02X}", data=bytes(buf), offset=pos,
                       reason=Reason.UNKNOWN_TAG)


def _too_deep(buf: Any, pos: int) -> DecodeError:
    return DecodeError(f"A-XDR data nested deeper than {MAX_DEPTH}", data=bytes(buf), offset=pos,
                       reason=Reason.TOO_LONG)


def _decode_tagged(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
    if pos >= end:
        raise _truncated(buf, pos, "tag")
    decoder = _DECODERS.get(buf[pos])
    if decoder is None:
        raise _unknown_tag(buf, pos)
    return decoder(buf, pos + 1, end, depth)


def _fixed_decoder(tag: DataTag, fmt: str) -> Decoder:
    unpack = struct.Struct(fmt).unpack_from
    size = struct.calcsize(fmt)

    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        stop = pos + size
        if stop > end:
            raise _truncated(buf, pos, tag)
        return Data(tag, unpack(buf, pos)[0]), stop
    return decode


def _const_decoder(value: Data) -> Decoder:
    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        return value, pos
    return decode


def _string_decoder(tag: DataTag, convert: Callable[[Any], Any]) -> Decoder:
    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        n, start = _length(buf, pos, end)
        stop = start + n
        if stop > end:
            raise _truncated(buf, start, tag)
        try:
            return Data(tag, convert(buf[start:stop])), stop
        except UnicodeDecodeError as exc:
            raise DecodeError(f"{TYPE_NAMES[tag]} is not valid UTF-8: {exc.reason}",
                              data=bytes(buf), offset=start, reason=Reason.BAD_VALUE) from None
    return decode


def _decode_boolean(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
    if pos >= end:
        raise _truncated(buf, pos, DataTag.BOOLEAN)
    return (_TRUE if buf[pos] else _FALSE), pos + 1


def _decode_bit_string(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
    # bit-string: length in bits, then ceil(bits / 8) bytes.
    n, start = _length(buf, pos, end)
    stop = start + ((n + 7) >> 3)
    if stop > end:
        raise _truncated(buf, start, DataTag.BIT_STRING)
    return Data(DataTag.BIT_STRING, BitString(length=n, data=bytes(buf[start:stop]))), stop


def _time_decoder(tag: DataTag, cls: Any) -> Decoder:
    # date-time (12 bytes), date (5), time (4): fixed size, no length byte.
    unpack, size, make = cls._struct.unpack_from, cls._struct.size, cls._from_fields

    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        stop = pos + size
        if stop > end:
            raise _truncated(buf, pos, tag)
        return Data(tag, make(unpack(buf, pos))), stop
    return decode


def _container_decoder(tag: DataTag) -> Decoder:
    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        depth += 1
        if depth > MAX_DEPTH:
            raise _too_deep(buf, pos)
        count, pos = _length(buf, pos, end)
        if tag == DataTag.ARRAY and count >= _FAST_MIN_ELEMENTS and pos < end and (
                count >= _FAST_MIN_SCALARS or buf[pos] == DataTag.STRUCTURE):
            # Same Data, faster: elements sharing one byte layout are unpacked in one go.
            from meterreader.dlms.axdr_fast import decode_array_elements
            elements, pos = decode_array_elements(buf, pos, end, depth, count)
            return Data(tag, elements), pos
        items: list[Data] = []  # grown as elements arrive: the count is never trusted
        append = items.append
        decoders = _DECODERS
        for _ in range(count):
            if pos >= end:
                raise _truncated(buf, pos, f"{TYPE_NAMES[tag]} element")
            decoder = decoders.get(buf[pos])
            if decoder is None:
                raise _unknown_tag(buf, pos)
            item, pos = decoder(buf, pos + 1, end, depth)
            append(item)
        return Data(tag, tuple(items)), pos
    return decode


# Shorter arrays go through the per-element loop, which is quicker there than deriving a layout
# (measured with bench/bench_codec.py: structures of 3-10 cells break even at ~8-12 elements,
# scalars at ~64).
_FAST_MIN_ELEMENTS = 16
_FAST_MIN_SCALARS = 64  # arrays whose first element is not a structure


def _decode_compact_array(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
    from meterreader.dlms.axdr_compact import decode_compact_array
    return decode_compact_array(buf, pos, end, depth)


_NULL = Data(DataTag.NULL_DATA)
_DONT_CARE = Data(DataTag.DONT_CARE)
_TRUE = Data(DataTag.BOOLEAN, True)
_FALSE = Data(DataTag.BOOLEAN, False)


# struct formats and ranges of the fixed-width number types.
_NUMBERS: dict[DataTag, tuple[str, int | None, int | None]] = {
    DataTag.DOUBLE_LONG: (">i", -2**31, 2**31 - 1),
    DataTag.DOUBLE_LONG_UNSIGNED: (">I", 0, 2**32 - 1),
    DataTag.FLOATING_POINT: (">f", None, None),
    DataTag.BCD: (">B", 0, 255),  # kept as the raw byte
    DataTag.INTEGER: (">b", -128, 127),
    DataTag.LONG: (">h", -2**15, 2**15 - 1),
    DataTag.UNSIGNED: (">B", 0, 255),
    DataTag.LONG_UNSIGNED: (">H", 0, 2**16 - 1),
    DataTag.LONG64: (">q", -2**63, 2**63 - 1),
    DataTag.LONG64_UNSIGNED: (">Q", 0, 2**64 - 1),
    DataTag.ENUM: (">B", 0, 255),
    DataTag.FLOAT32: (">f", None, None),
    DataTag.FLOAT64: (">d", None, None),
}

_DECODERS: dict[int, Decoder] = {
    DataTag.NULL_DATA: _const_decoder(_NULL),
    DataTag.ARRAY: _container_decoder(DataTag.ARRAY),
    DataTag.STRUCTURE: _container_decoder(DataTag.STRUCTURE),
    DataTag.BOOLEAN: _decode_boolean,
    DataTag.BIT_STRING: _decode_bit_string,
    DataTag.OCTET_STRING: _string_decoder(DataTag.OCTET_STRING, bytes),
    DataTag.VISIBLE_STRING: _string_decoder(DataTag.VISIBLE_STRING, lambda r: str(r, "latin-1")),
    DataTag.UTF8_STRING: _string_decoder(DataTag.UTF8_STRING, lambda r: str(r, "utf-8")),
    DataTag.COMPACT_ARRAY: _decode_compact_array,
    DataTag.DATE_TIME: _time_decoder(DataTag.DATE_TIME, CosemDateTime),
    DataTag.DATE: _time_decoder(DataTag.DATE, CosemDate),
    DataTag.TIME: _time_decoder(DataTag.TIME, CosemTime),
    DataTag.DONT_CARE: _const_decoder(_DONT_CARE),
    **{tag: _fixed_decoder(tag, fmt) for tag, (fmt, _lo, _hi) in _NUMBERS.items()},
}


# ---- Encoding: each encoder takes (value, out, depth) and appends the bytes after the tag ----

Encoder = Callable[[Any, bytearray, int], None]


def encode_data(data: Data) -> bytes:
    """Encode one ``Data`` with its tag. LocalProtocolError on a value that does not fit its tag."""
    out = bytearray()
    _encode_tagged(data, out, 0)
    return bytes(out)


def _encode_tagged(data: Data, out: bytearray, depth: int) -> None:
    if not isinstance(data, Data):
        raise LocalProtocolError(f"expected Data, got {data!r}")
    encoder = _ENCODERS.get(data.tag)
    if encoder is None:
        raise LocalProtocolError(f"unknown A-XDR data tag {data.tag!r}")
    out.append(data.tag)
    encoder(data.value, out, depth)


def _wrong_type(tag: int, value: Any, expected: str) -> LocalProtocolError:
    return LocalProtocolError(f"{TYPE_NAMES[tag]} needs {expected}, got {value!r}")


def _int_encoder(tag: DataTag, fmt: str, lo: int, hi: int) -> Encoder:
    pack = struct.Struct(fmt).pack

    def encode(value: Any, out: bytearray, depth: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(tag, value, "an int")
        if not lo <= value <= hi:
            raise LocalProtocolError(f"{TYPE_NAMES[tag]} value {value} out of range {lo}..{hi}")
        out += pack(value)
    return encode


def _float_encoder(tag: DataTag, fmt: str) -> Encoder:
    pack = struct.Struct(fmt).pack

    def encode(value: Any, out: bytearray, depth: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong_type(tag, value, "a float")
        try:
            out += pack(float(value))
        except (OverflowError, struct.error):
            raise LocalProtocolError(f"{TYPE_NAMES[tag]} cannot hold {value!r}") from None
    return encode


def _const_encoder(tag: DataTag) -> Encoder:
    def encode(value: Any, out: bytearray, depth: int) -> None:
        if value is not None:
            raise _wrong_type(tag, value, "None")
    return encode


def _encode_boolean(value: Any, out: bytearray, depth: int) -> None:
    if not isinstance(value, bool):
        raise _wrong_type(DataTag.BOOLEAN, value, "a bool")
    out.append(1 if value else 0)


def _encode_bit_string(value: Any, out: bytearray, depth: int) -> None:
    if not isinstance(value, BitString) or not isinstance(value.data, bytes):
        raise _wrong_type(DataTag.BIT_STRING, value, "a BitString")
    if len(value.data) != (value.length + 7) >> 3:
        raise LocalProtocolError(f"bit-string of {value.length} bits needs "
                                 f"{(value.length + 7) >> 3} bytes, has {len(value.data)}")
    out += encode_length(value.length)
    out += value.data


def _encode_octet_string(value: Any, out: bytearray, depth: int) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _wrong_type(DataTag.OCTET_STRING, value, "bytes")
    raw = bytes(value)
    out += encode_length(len(raw))
    out += raw


def _text_encoder(tag: DataTag, encoding: str) -> Encoder:
    def encode(value: Any, out: bytearray, depth: int) -> None:
        if not isinstance(value, str):
            raise _wrong_type(tag, value, "a str")
        try:
            raw = value.encode(encoding)
        except UnicodeEncodeError:
            raise LocalProtocolError(f"{TYPE_NAMES[tag]} cannot hold {value!r} "
                                     f"(not {encoding})") from None
        out += encode_length(len(raw))
        out += raw
    return encode


def _object_encoder(tag: DataTag, cls: type) -> Encoder:
    def encode(value: Any, out: bytearray, depth: int) -> None:
        if not isinstance(value, cls):
            raise _wrong_type(tag, value, f"a {cls.__name__}")
        out += bytes(value)
    return encode


def _container_encoder(tag: DataTag) -> Encoder:
    def encode(value: Any, out: bytearray, depth: int) -> None:
        if not isinstance(value, (tuple, list)):
            raise _wrong_type(tag, value, "a tuple of Data")
        depth += 1
        if depth > MAX_DEPTH:
            raise LocalProtocolError(f"Data nested deeper than {MAX_DEPTH}")
        out += encode_length(len(value))
        for item in value:
            _encode_tagged(item, out, depth)
    return encode


def _encode_compact_array(value: Any, out: bytearray, depth: int) -> None:
    from meterreader.dlms.axdr_compact import encode_compact_array
    encode_compact_array(value, out, depth)


_ENCODERS: dict[int, Encoder] = {
    DataTag.NULL_DATA: _const_encoder(DataTag.NULL_DATA),
    DataTag.ARRAY: _container_encoder(DataTag.ARRAY),
    DataTag.STRUCTURE: _container_encoder(DataTag.STRUCTURE),
    DataTag.BOOLEAN: _encode_boolean,
    DataTag.BIT_STRING: _encode_bit_string,
    DataTag.OCTET_STRING: _encode_octet_string,
    DataTag.VISIBLE_STRING: _text_encoder(DataTag.VISIBLE_STRING, "latin-1"),
    DataTag.UTF8_STRING: _text_encoder(DataTag.UTF8_STRING, "utf-8"),
    DataTag.COMPACT_ARRAY: _encode_compact_array,
    DataTag.DATE_TIME: _object_encoder(DataTag.DATE_TIME, CosemDateTime),
    DataTag.DATE: _object_encoder(DataTag.DATE, CosemDate),
    DataTag.TIME: _object_encoder(DataTag.TIME, CosemTime),
    DataTag.DONT_CARE: _const_encoder(DataTag.DONT_CARE),
    **{tag: (_float_encoder(tag, fmt) if lo is None else _int_encoder(tag, fmt, lo, hi))
       for tag, (fmt, lo, hi) in _NUMBERS.items()},
}


def __getattr__(name: str) -> Any:
    # The value builders and views live in axdr_values (which imports this module).
    if name in ("D", "to_python", "data_to_json"):
        from meterreader.dlms import axdr_values
        return getattr(axdr_values, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
