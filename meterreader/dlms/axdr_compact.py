"""A-XDR compact-array: type description and tag-less contents (IEC 62056-6-2, compact-array).

Wire form after the tag 0x13: ``contents-description`` (a TypeDescription: the type's tag; for
array also a 2-byte number-of-elements and the element's description; for structure an A-XDR
count and one description per field), then ``array-contents`` as an octet-string: an A-XDR length
and the elements encoded one after the other without tags (counts come from the description;
strings keep their own length). Used by ``axdr`` through ``decode_compact_array`` and
``encode_compact_array``.

Cost guard: a description decides how many ``Data`` one element yields, independently of the
bytes it consumes (``array(65535, null-data)`` yields 65 536 values from zero bytes). A
description yielding more than ``4 × min_width + 64`` values per element is refused, so decoding
work stays linear in the input size.
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from meterreader.dlms.axdr import (
    _DECODERS, _ENCODERS, MAX_DEPTH, TYPE_NAMES, CompactArray, Data, DataTag, Decoder,
    TypeDescription, _length, _too_deep, _truncated, encode_length,
)
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

_U16 = struct.Struct(">H")

# Fewest bytes one value of a simple type takes inside array-contents.
_MIN_WIDTH: dict[int, int] = {
    DataTag.NULL_DATA: 0, DataTag.DONT_CARE: 0, DataTag.BOOLEAN: 1, DataTag.BIT_STRING: 1,
    DataTag.DOUBLE_LONG: 4, DataTag.DOUBLE_LONG_UNSIGNED: 4, DataTag.FLOATING_POINT: 4,
    DataTag.OCTET_STRING: 1, DataTag.VISIBLE_STRING: 1, DataTag.UTF8_STRING: 1, DataTag.BCD: 1,
    DataTag.INTEGER: 1, DataTag.LONG: 2, DataTag.UNSIGNED: 1, DataTag.LONG_UNSIGNED: 2,
    DataTag.LONG64: 8, DataTag.LONG64_UNSIGNED: 8, DataTag.ENUM: 1, DataTag.FLOAT32: 4,
    DataTag.FLOAT64: 8, DataTag.DATE_TIME: 12, DataTag.DATE: 5, DataTag.TIME: 4,
}
_SIMPLE = {tag: TypeDescription(DataTag(tag)) for tag in _MIN_WIDTH}


def shape(td: TypeDescription) -> tuple[int, int]:
    """(fewest content bytes, number of Data values) of one element described by ``td``."""
    if td.tag == DataTag.ARRAY:
        width, values = shape(td.children[0])
        return width * td.count, 1 + values * td.count
    if td.tag == DataTag.STRUCTURE:
        parts = [shape(child) for child in td.children]
        return sum(w for w, _ in parts), 1 + sum(v for _, v in parts)
    return _MIN_WIDTH[td.tag], 1


def _too_costly(td: TypeDescription) -> str | None:
    width, values = shape(td)
    if values > 4 * width + 64:
        return f"compact-array type yields {values} values from {width} bytes per element"
    return None


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

def _td_array(buf: Any, pos: int, end: int, depth: int) -> tuple[TypeDescription, int]:
    if pos + 2 > end:
        raise _truncated(buf, pos, "array type description")
    count = _U16.unpack_from(buf, pos)[0]
    element, pos = _decode_td(buf, pos + 2, end, depth)
    return TypeDescription(DataTag.ARRAY, (element,), count), pos


def _td_structure(buf: Any, pos: int, end: int, depth: int) -> tuple[TypeDescription, int]:
    n, pos = _length(buf, pos, end)
    children = []  # grown as descriptions arrive: the count is never trusted
    for _ in range(n):
        child, pos = _decode_td(buf, pos, end, depth)
        children.append(child)
    return TypeDescription(DataTag.STRUCTURE, tuple(children)), pos


_TD_DECODERS = {DataTag.ARRAY: _td_array, DataTag.STRUCTURE: _td_structure}


def _decode_td(buf: Any, pos: int, end: int, depth: int) -> tuple[TypeDescription, int]:
    if pos >= end:
        raise _truncated(buf, pos, "type description")
    tag = buf[pos]
    decoder = _TD_DECODERS.get(tag)
    if decoder is not None:
        depth += 1
        if depth > MAX_DEPTH:
            raise _too_deep(buf, pos)
        return decoder(buf, pos + 1, end, depth)
    simple = _SIMPLE.get(tag)
    if simple is None:
        raise DecodeError(f"tag 0x{tag:02X} cannot describe compact-array contents",
                          data=bytes(buf), offset=pos, reason=Reason.UNKNOWN_TAG)
    return simple, pos + 1


def _compile_array(td: TypeDescription) -> Decoder:
    element, count = compile_decoder(td.children[0]), td.count

    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        items = []
        for _ in range(count):
            item, pos = element(buf, pos, end, depth)
            items.append(item)
        return Data(DataTag.ARRAY, tuple(items)), pos
    return decode


def _compile_structure(td: TypeDescription) -> Decoder:
    fields = tuple(compile_decoder(child) for child in td.children)

    def decode(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
        items = []
        for field in fields:
            item, pos = field(buf, pos, end, depth)
            items.append(item)
        return Data(DataTag.STRUCTURE, tuple(items)), pos
    return decode


_COMPILERS: dict[int, Callable[[TypeDescription], Decoder]] = {
    DataTag.ARRAY: _compile_array, DataTag.STRUCTURE: _compile_structure,
}


def compile_decoder(td: TypeDescription) -> Decoder:
    """A decoder of one tag-less element described by ``td``."""
    compiler = _COMPILERS.get(td.tag)
    return compiler(td) if compiler else _DECODERS[td.tag]


def decode_compact_array(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
    """Decode the part after the compact-array tag; returns (Data, new_pos)."""
    depth += 1
    if depth > MAX_DEPTH:
        raise _too_deep(buf, pos)
    td_pos = pos
    td, pos = _decode_td(buf, pos, end, depth)
    problem = _too_costly(td)
    if problem:
        raise DecodeError(problem, data=bytes(buf), offset=td_pos, reason=Reason.BAD_VALUE)
    n, start = _length(buf, pos, end)
    stop = start + n
    if stop > end:
        raise _truncated(buf, start, DataTag.COMPACT_ARRAY)
    if n and not shape(td)[0]:
        raise DecodeError("compact-array contents are not empty but its elements take no bytes",
                          data=bytes(buf), offset=pos, reason=Reason.BAD_LENGTH)
    element = compile_decoder(td)
    items = []
    try:
        while start < stop:
            item, start = element(buf, start, stop, depth)
            items.append(item)
    except DecodeError as exc:
        if exc.reason is not Reason.TRUNCATED:
            raise
        raise DecodeError("compact-array contents end inside an element", data=exc.data,
                          offset=exc.offset, reason=Reason.BAD_LENGTH) from None
    value = CompactArray(type_description=td, contents=tuple(items))
    return Data(DataTag.COMPACT_ARRAY, value), stop


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------

def encode_type_description(td: TypeDescription, out: bytearray, depth: int = 0) -> None:
    """Append the contents-description of ``td`` to ``out``."""
    out.append(td.tag)
    if td.tag in (DataTag.ARRAY, DataTag.STRUCTURE):
        depth += 1
        if depth > MAX_DEPTH:
            raise LocalProtocolError(f"type description nested deeper than {MAX_DEPTH}")
        if td.tag == DataTag.ARRAY:
            out += _U16.pack(td.count)
        else:
            out += encode_length(len(td.children))
        for child in td.children:
            encode_type_description(child, out, depth)


def _untagged_array(td: TypeDescription, value: Any, out: bytearray) -> None:
    if len(value) != td.count:
        raise LocalProtocolError(f"compact-array element has {len(value)} array items, "
                                 f"its type says {td.count}")
    element = td.children[0]
    for item in value:
        encode_untagged(element, item, out)


def _untagged_structure(td: TypeDescription, value: Any, out: bytearray) -> None:
    if len(value) != len(td.children):
        raise LocalProtocolError(f"compact-array element has {len(value)} structure fields, "
                                 f"its type says {len(td.children)}")
    for child, item in zip(td.children, value):
        encode_untagged(child, item, out)


def _untagged_simple(td: TypeDescription, value: Any, out: bytearray) -> None:
    _ENCODERS[td.tag](value, out, 0)


_UNTAGGED = {DataTag.ARRAY: _untagged_array, DataTag.STRUCTURE: _untagged_structure}


def encode_untagged(td: TypeDescription, data: Data, out: bytearray) -> None:
    """Append ``data`` without tags as an element of type ``td`` (LocalProtocolError if unfit)."""
    if not isinstance(data, Data) or data.tag != td.tag:
        raise LocalProtocolError(f"compact-array element {data!r} is not of type "
                                 f"{TYPE_NAMES[td.tag]}")
    if td.tag in _UNTAGGED and not isinstance(data.value, (tuple, list)):
        raise LocalProtocolError(f"{TYPE_NAMES[td.tag]} needs a tuple of Data, got {data.value!r}")
    _UNTAGGED.get(td.tag, _untagged_simple)(td, data.value, out)


def encode_compact_array(value: Any, out: bytearray, depth: int) -> None:
    """Append the part after the compact-array tag."""
    if not isinstance(value, CompactArray) or not isinstance(value.type_description,
                                                             TypeDescription):
        raise LocalProtocolError(f"compact-array needs a CompactArray with a TypeDescription, "
                                 f"got {value!r}")
    depth += 1
    if depth > MAX_DEPTH:
        raise LocalProtocolError(f"Data nested deeper than {MAX_DEPTH}")
    td, contents = value.type_description, value.contents
    if not isinstance(contents, (tuple, list)):
        raise LocalProtocolError(f"compact-array contents must be a tuple of Data, "
                                 f"got {contents!r}")
    problem = _too_costly(td)
    if problem:
        raise LocalProtocolError(problem)
    if contents and not shape(td)[0]:
        raise LocalProtocolError("compact-array elements of a zero-width type cannot be encoded "
                                 "(a decoder could not count them)")
    encode_type_description(td, out, depth)
    body = bytearray()
    for item in contents:
        encode_untagged(td, item, body)
    out += encode_length(len(body))
    out += body
