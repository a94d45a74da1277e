"""Fast decoding of homogeneous A-XDR arrays (profile buffers: array of structures of scalars).

A profile buffer (Blue Book, Profile generic ``buffer``) is an ``array`` whose elements usually
share one byte layout: the same tags, the same string lengths, fixed-width numbers. The fast path
derives that layout from the first element, checks every element's tag and length bytes at once
with strided slices (``chunk[offset::row_size]``), and unpacks all elements with one precompiled
``struct.Struct`` (``iter_unpack``). Any element that does not match (null cell, other length,
nested container, bit-string, truncation) goes through the general decoder of ``axdr`` and the
fast path resumes after it (backing off exponentially while its tries keep covering few
elements), so results and errors are exactly those of ``decode_data``.

* ``decode_table(buf, offset=0) -> (rows, end)`` — each element as a tuple of cell values
  (``Data.value`` of each structure field; a non-structure element is a 1-tuple).
* ``decode_table_rows(buf, offset=0, *, datetimes=True, deviation_sign=BLUE_BOOK)`` — cells as
  plain Python like ``meterreader.client.values.python_value`` (12-byte octet-strings that read
  as complete COSEM date-times become ``datetime`` when ``datetimes`` is True, or only in the
  given column indices when it is a collection).
* ``decode_array_elements(buf, pos, end, depth, count)`` — the ``Data`` elements, used by
  ``axdr.decode_data`` for large arrays (identical ``Data`` values to the general decoder).
* ``table_of(data)`` / ``rows_of(data, ...)`` — the same views of an already decoded ``Data``;
  ``columns_of(data, ...)`` — ``rows_of`` as columns (uniform structures only, else None).
"""

from __future__ import annotations

import datetime as _dt
import struct
from functools import lru_cache, partial
from itertools import repeat
from typing import Any, Callable, Collection, Iterable, Iterator

from meterreader.dlms.axdr import (
    _DECODERS, _NUMBERS, MAX_DEPTH, Data, DataTag, _as_buffer, _length, _truncated,
    _unknown_tag, decode_data,
)
from meterreader.dlms.axdr_values import _PYTHON as _TO_PYTHON
from meterreader.dlms.axdr_values import to_python
from meterreader.dlms.cosem_time import (
    _DATE_TIME, BLUE_BOOK, CosemDate, CosemDateTime, CosemTime, _check_sign,
)
from meterreader.dlms.errors import DecodeError, DlmsError, LocalProtocolError, Reason

_MIN_CHUNK = 16  # elements checked at once after a mismatch (doubles while rows match)
_MIN_RUN = 16  # a fast-path try covering fewer elements than this did not pay for itself
_RAW, _PYTHON, _DATA = 0, 1, 2  # what the rows are made of

_STRUCTURE, _ARRAY, _OCTET_STRING = DataTag.STRUCTURE, DataTag.ARRAY, DataTag.OCTET_STRING
_CODES = {tag: fmt[1:] for tag, (fmt, _lo, _hi) in _NUMBERS.items()}
_CODES[DataTag.BOOLEAN] = "?"  # any non-zero byte reads True, as in the general decoder
_NULLS = (DataTag.NULL_DATA, DataTag.DONT_CARE)
_STRINGS = (DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING)
_TIMES = {DataTag.DATE_TIME: CosemDateTime, DataTag.DATE: CosemDate, DataTag.TIME: CosemTime}
_CLOCK_FIELDS = "HBBBBBBBhB"  # a date-time's 12 bytes as fields (year .. clock_status)
_DOW_OK = bytes((*range(1, 8), 0xFF))  # plausible day_of_week bytes (CosemDateTime.try_from_bytes)
# hundredths → microseconds; 100..254 give -1 so ``datetime`` refuses them (not an instant).
_MICROS = tuple(h * 10_000 if h < 100 else (0 if h == 0xFF else -1) for h in range(256))


@lru_cache(maxsize=256)
def _compiled(fmt: str) -> struct.Struct:
    return struct.Struct(fmt)


@lru_cache(maxsize=4)
def _zones(sign: int) -> dict[int, _dt.timezone | None]:
    """deviation → tzinfo for the plausible deviations (-720..840 minutes, or not specified)."""
    zones: dict[int, _dt.timezone | None] = {
        d: _dt.timezone(_dt.timedelta(minutes=sign * d)) for d in range(-720, 841)}
    zones[-0x8000] = None
    return zones


# ---- cell conversions (all equal to the general decoder followed by the documented view) ----

def _clock_from_fields(fields: tuple[int, ...], sign: int) -> Any:
    """A 12-byte octet-string clock cell as ``python_value(..., time_column=True)`` gives it."""
    y, mo, d, dow, h, mi, s, hs, dev, _status = fields
    tz = _zones(sign).get(dev, False)
    if tz is not False and (1 <= dow <= 7 or dow == 0xFF):
        try:
            return _dt.datetime(y, mo, d, h, mi, s, _MICROS[hs], tz)
        except ValueError:
            pass
    raw = _DATE_TIME.pack(*fields)
    cdt = CosemDateTime.try_from_bytes(raw)
    if cdt is None:
        return raw
    return _date_time_value(cdt, sign)


def _date_time_value(cdt: CosemDateTime, sign: int) -> Any:
    if cdt.is_complete:
        try:
            return cdt.to_datetime(deviation_sign=sign)
        except DlmsError:
            pass
    return cdt


def _raw_converter(tag: int, width: int) -> Callable[[Any], Any] | None:
    if tag == DataTag.VISIBLE_STRING:
        return lambda raw: str(raw, "latin-1")
    if tag == DataTag.UTF8_STRING:
        return lambda raw: str(raw, "utf-8")
    cls = _TIMES.get(tag)
    if cls is not None:
        unpack, make = cls._struct.unpack, cls._from_fields
        return lambda raw: make(unpack(raw))
    return None


def _python_converter(tag: int, width: int, clock: bool, sign: int) -> Callable[[Any], Any] | None:
    if tag == _OCTET_STRING and clock and width == 12:
        unpack = _DATE_TIME.unpack
        return lambda raw: _clock_from_fields(unpack(raw), sign)
    if tag == DataTag.DATE_TIME:
        unpack, make = _DATE_TIME.unpack, CosemDateTime._from_fields
        return lambda raw: _date_time_value(make(unpack(raw)), sign)
    if tag == DataTag.DATE:
        unpack, make = CosemDate._struct.unpack, CosemDate._from_fields
        return lambda raw: (lambda v: v.to_date() if v.is_complete else v)(make(unpack(raw)))
    if tag == DataTag.TIME:
        unpack, make = CosemTime._struct.unpack, CosemTime._from_fields
        return lambda raw: (lambda v: v.to_time() if v.is_complete else v)(make(unpack(raw)))
    return _raw_converter(tag, width)


_new_object = object.__new__
_set_tag, _set_value = Data.tag.__set__, Data.value.__set__  # type: ignore[attr-defined]


_NO_MEMO = frozenset({DataTag.FLOAT32, DataTag.FLOAT64, DataTag.FLOATING_POINT, DataTag.STRUCTURE})


def _data_converter(tag: DataTag, convert: Callable[[Any], Any] | None) -> Callable[[Any], Data]:
    """``value → Data(tag, convert(value))`` without the dataclass ``__init__`` overhead; equal
    values of one column share their (frozen) Data, except floats (0.0 == -0.0)."""
    def make(value: Any) -> Data:
        d = _new_object(Data)
        _set_tag(d, tag)
        _set_value(d, value if convert is None else convert(value))
        return d
    if tag in _NO_MEMO:
        return make
    memo: dict[Any, Data] = {}

    def shared(value: Any) -> Data:
        d = memo.get(value)
        if d is None:
            d = memo[value] = make(value)
        return d
    return shared


# ---- layout of one element ----

class _Layout:
    """Byte layout of one element: ``size`` bytes, ``checks`` (offset, byte) for every tag and
    length byte, ``struct`` unpacking the values, and how to turn struct fields into cells."""

    __slots__ = ("size", "checks", "struct", "specs", "structured", "plain", "clock", "dow")

    def __init__(self, size: int, checks: tuple[tuple[int, bytes], ...], fmt: str,
                 specs: list[tuple[int | None, Any]], structured: bool,
                 clock: int | None, dow: int | None) -> None:
        self.size, self.checks, self.struct = size, checks, _compiled(fmt)
        self.specs, self.structured = specs, structured
        self.plain = all(field is not None and convert is None for field, convert in specs)
        self.clock, self.dow = clock, dow  # inline clock: first struct field, day_of_week offset


def _derive(buf: Any, pos: int, end: int, mode: int, sign: int,
            clocks: bool | Collection[int], second: bool = False) -> _Layout | None:
    """The layout of the element at ``pos``, or None when it has no fixed layout (or, with
    ``second``, when the next element present does not have its tag and length bytes)."""
    start, tag = pos, buf[pos]
    structured = tag == _STRUCTURE
    try:
        if structured:
            count, pos = _length(buf, pos + 1, end)
            if pos + count > end:  # every cell takes at least its tag byte
                return None
        else:
            count = 1
        checks = [(i - start, buf[i]) for i in range(start, pos)]
        fmt, fields = [">", f"{pos - start}x" if pos > start else ""], 0
        specs: list[tuple[int | None, Any]] = []
        clock = dow = None
        for column in range(count):
            if pos >= end:
                return None
            tag = buf[pos]
            checks.append((pos - start, tag))
            code = _CODES.get(tag)
            if code is not None:
                fmt.append("x" + code)
                pos += 1 + struct.calcsize(">" + code)
                convert = None
            elif tag in _NULLS:
                fmt.append("x")
                pos += 1
                specs.append((None, _data_converter(DataTag(tag), None)(None)
                              if mode == _DATA else None))
                continue
            else:
                if tag in _STRINGS:
                    width, body = _length(buf, pos + 1, end)
                    checks.extend((i - start, buf[i]) for i in range(pos + 1, body))
                elif tag in _TIMES:
                    width, body = _TIMES[tag]._struct.size, pos + 1
                else:
                    return None  # container, bit-string, compact-array: general decoder
                is_clock = (mode == _PYTHON and tag == _OCTET_STRING and width == 12
                            and (clocks is True or (clocks is not False and column in clocks)))
                if is_clock and column == 0:
                    # IS 15959 profiles put the clock first: unpack its fields inline.
                    fmt.append(f"{body - pos}x{_CLOCK_FIELDS}")
                    clock, dow = fields, body - start + 4
                    specs.append((fields, "clock"))
                    fields += len(_CLOCK_FIELDS)
                    pos = body + width
                    if pos > end:
                        return None
                    continue
                fmt.append(f"{body - pos}x{width}s")
                pos = body + width
                convert = (_python_converter(tag, width, is_clock, sign) if mode == _PYTHON
                           else _raw_converter(tag, width))
            if pos > end:
                return None
            if mode == _DATA:
                convert = _data_converter(DataTag(tag), convert)
            specs.append((fields, convert))
            fields += 1
    except DecodeError:
        return None
    if pos > end:
        return None
    size, after = pos - start, pos
    if second and after + size <= end and any(buf[after + off] != b for off, b in checks):
        return None  # a run of one: not worth a Struct
    return _Layout(size, tuple((off, bytes((b,))) for off, b in checks), "".join(fmt),
                   specs, structured, clock, dow)


# ---- rows of a run of elements that share a layout ----

def _matching(chunk: bytes, layout: _Layout, n: int) -> int:
    """How many leading elements of ``chunk`` (``n`` × size bytes) have the layout's tag bytes."""
    size = layout.size
    for offset, byte in layout.checks:
        column = chunk[offset:n * size:size]  # this tag byte in each of the n elements
        rest = len(column.lstrip(byte))
        if rest:
            n -= rest
    return n


def _build(unpack: Callable[[], Iterator[tuple[Any, ...]]], n: int, layout: _Layout, mode: int, sign: int,
           careful: bool) -> Iterable[Any]:
    """Rows (or Data elements) of ``n`` elements; ``unpack()`` iterates their struct fields."""
    if layout.clock is not None and mode == _PYTHON:
        return _with_clock(unpack, layout, sign, careful)
    if layout.plain and mode != _DATA:
        return unpack()
    columns = list(zip(*unpack()))
    cells = []
    for field, convert in layout.specs:
        if field is None:
            cells.append(repeat(convert, n))  # null cell: None, or its Data in _DATA mode
        elif convert is None:
            cells.append(columns[field])
        else:
            cells.append(map(convert, columns[field]))
    if mode != _DATA:
        return list(zip(*cells)) if cells else [()] * n
    if not layout.structured:
        return list(cells[0])
    rows = list(zip(*cells)) if cells else [()] * n
    return list(map(_data_converter(_STRUCTURE, None), rows))


def _with_clock(unpack: Callable[[], Iterator[tuple[Any, ...]]], layout: _Layout, sign: int,
                careful: bool) -> list[Any]:
    """Rows whose first cell is an inline clock (its 10 struct fields first); ``careful`` when
    some day_of_week byte is implausible."""
    if careful or not all(f is not None and c is None for f, c in layout.specs[1:]):
        specs = layout.specs
        return [tuple(_clock_from_fields(f[:10], sign) if c == "clock" else
                      c if field is None else f[field] if c is None else c(f[field])
                      for field, c in specs) for f in unpack()]
    zones, micros, datetime = _zones(sign), _MICROS, _dt.datetime
    try:
        return [(datetime(y, mo, d, h, mi, s, micros[hs], zones[dev]),) + f[10:]
                for f in unpack() for y, mo, d, _w, h, mi, s, hs, dev, _st in (f[:10],)]
    except (ValueError, KeyError):  # some clock is not a complete instant: row by row
        return [(_clock_from_fields(f[:10], sign),) + f[10:] for f in unpack()]


# ---- element loop ----

def _general_element(buf: Any, pos: int, end: int, depth: int) -> tuple[Data, int]:
    # Exactly the general array loop's step (same errors and offsets).
    if pos >= end:
        raise _truncated(buf, pos, "array element")
    decoder = _DECODERS.get(buf[pos])
    if decoder is None:
        raise _unknown_tag(buf, pos)
    return decoder(buf, pos + 1, end, depth)


def _general_run(buf: Any, pos: int, end: int, depth: int, k: int, out: list[Any], mode: int,
                 sign: int, clocks: bool | Collection[int]) -> int:
    """Append ``k`` elements decoded by the general decoder (its array loop's errors)."""
    append, decoders = out.append, _DECODERS
    for _ in range(k):
        if pos >= end:
            raise _truncated(buf, pos, "array element")
        decoder = decoders.get(buf[pos])
        if decoder is None:
            raise _unknown_tag(buf, pos)
        element, pos = decoder(buf, pos + 1, end, depth)
        append(element if mode == _DATA else _view(element, mode, sign, clocks))
    return pos


def _elements(buf: Any, pos: int, end: int, depth: int, count: int, mode: int, sign: int = -1,
              clocks: bool | Collection[int] = False) -> tuple[list[Any], int]:
    """Decode ``count`` elements at ``pos`` (inside an array at ``depth``) as rows or Data.

    Elements go through the fast path in runs that share one layout: the last layout that
    paid off is tried first, else one is derived from the element at ``pos``. A try that
    covers fewer than ``_MIN_RUN`` elements is a miss; after a miss the next ``skip``
    elements go through the general decoder, and ``skip`` doubles with every further miss
    (1, 2, 4, ...), so arrays whose elements differ cost O(log n) tries, not one per element."""
    out: list[Any] = []
    chunk_rows = count
    fast = depth < MAX_DEPTH  # a structure element sits one level deeper
    known: _Layout | None = None  # the last layout that covered a run of _MIN_RUN or more
    skip, backoff = 0, 1
    while count > 0:
        if skip or not fast or pos >= end:
            k = min(skip, count) if fast and pos < end else count
            pos = _general_run(buf, pos, end, depth, k, out, mode, sign, clocks)
            count -= k
            skip = 0
            continue
        good, layout = 0, known
        if layout is not None:
            good, n, chunk = _try(buf, pos, layout, count, chunk_rows, end)
        if good == 0:
            layout = _derive(buf, pos, end, mode, sign, clocks, count > 1)
            if layout is not None:
                good, n, chunk = _try(buf, pos, layout, count, chunk_rows, end)
        if good:
            size = layout.size  # type: ignore[union-attr]
            careful = layout.dow is not None and bool(  # type: ignore[union-attr]
                chunk[layout.dow:good * size:size].translate(None, _DOW_OK))  # type: ignore
            # one struct for the whole run: no per-element Python work but the row tuple
            run = chunk if good == n else chunk[:good * size]
            try:
                out.extend(_build(partial(layout.struct.iter_unpack, run), good,  # type: ignore
                                  layout, mode, sign, careful))
            except UnicodeDecodeError:  # invalid UTF-8: the general decoder raises DecodeError
                good = 0
        if good == 0:
            element, pos = _general_element(buf, pos, end, depth)
            out.append(element if mode == _DATA else _view(element, mode, sign, clocks))
            count -= 1
            chunk_rows = _MIN_CHUNK
        else:
            pos += good * size
            count -= good
            chunk_rows = chunk_rows * 2 if good == n else max(_MIN_CHUNK, 2 * good)
        if good >= _MIN_RUN or count == 0:
            known, backoff = layout, 1
        else:  # the try cost more than the general decoder would have: back off
            skip, backoff = backoff, backoff * 2
    return out, pos


def _try(buf: Any, pos: int, layout: _Layout, count: int, chunk_rows: int,
         end: int) -> tuple[int, int, bytes]:
    """(matching elements, elements checked, their bytes) of ``layout`` at ``pos``."""
    size = layout.size
    n = min(count, chunk_rows, (end - pos) // size)
    chunk = bytes(buf[pos:pos + n * size])
    return (_matching(chunk, layout, n) if n else 0), n, chunk


def decode_array_elements(buf: Any, pos: int, end: int, depth: int,
                          count: int) -> tuple[tuple[Data, ...], int]:
    """The ``count`` elements of an array whose length ended at ``pos`` (array at ``depth``),
    equal to what the general decoder returns; used by ``axdr`` for large arrays."""
    items, pos = _elements(buf, pos, end, depth, count, _DATA)
    return tuple(items), pos


# ---- public table API ----

def decode_table(buf: bytes | bytearray | memoryview, offset: int = 0
                 ) -> tuple[list[tuple[Any, ...]], int]:
    """Decode the array (or compact-array) at ``offset`` as rows of raw cell values.

    Row = ``tuple(cell.value for cell in element.value)`` for a structure element, else
    ``(element.value,)``; equal to ``table_of(decode_data(buf, offset)[0])``."""
    return _table(buf, offset, _RAW, BLUE_BOOK, False)


def decode_table_rows(buf: bytes | bytearray | memoryview, offset: int = 0, *,
                      datetimes: bool | Collection[int] = True,
                      deviation_sign: int = BLUE_BOOK) -> tuple[list[tuple[Any, ...]], int]:
    """Decode the array at ``offset`` as rows of plain Python cells (see ``rows_of``)."""
    _check_sign(deviation_sign)
    clocks = datetimes if isinstance(datetimes, bool) else frozenset(datetimes)
    return _table(buf, offset, _PYTHON, deviation_sign, clocks)


def _table(buf: Any, offset: int, mode: int, sign: int,
           clocks: bool | Collection[int]) -> tuple[list[tuple[Any, ...]], int]:
    buf = _as_buffer(buf, offset)
    end = len(buf)
    if offset < end and buf[offset] == _ARRAY:
        count, pos = _length(buf, offset + 1, end)
        return _elements(buf, pos, end, 1, count, mode, sign, clocks)
    data, pos = decode_data(buf, offset)
    if data.tag is not DataTag.COMPACT_ARRAY:
        raise DecodeError(f"expected an array of rows, got {data.tag.name.lower()}",
                          data=bytes(buf), offset=offset, reason=Reason.UNEXPECTED)
    return [_view(e, mode, sign, clocks) for e in data.value.contents], pos


def _view(element: Data, mode: int, sign: int, clocks: bool | Collection[int]) -> tuple[Any, ...]:
    cells = element.value if element.tag is _STRUCTURE else (element,)
    if mode == _RAW:
        return tuple(cell.value for cell in cells)
    return tuple(_python_cell(cell, sign, clocks is True or (
        clocks is not False and column in clocks)) for column, cell in enumerate(cells))


def _python_cell(cell: Data, sign: int, clock: bool) -> Any:
    # meterreader.client.values.python_value(cell, sign, time_column=clock), for this layer.
    if cell.tag is DataTag.DATE_TIME:
        return _date_time_value(cell.value, sign)
    if clock and cell.tag is _OCTET_STRING and len(cell.value) == 12:
        return _clock_from_fields(_DATE_TIME.unpack(cell.value), sign)
    return to_python(cell, deviation_sign=sign)


def table_of(data: Data) -> list[tuple[Any, ...]]:
    """Rows of raw cell values of a decoded array or compact-array (as ``decode_table``)."""
    return [_view(e, _RAW, BLUE_BOOK, False) for e in _elements_of(data)]


def rows_of(data: Data, *, datetimes: bool | Collection[int] = True,
            deviation_sign: int = BLUE_BOOK) -> list[tuple[Any, ...]]:
    """Rows of plain Python cells of a decoded array (as ``decode_table_rows``): each cell as
    ``python_value(cell, deviation_sign, time_column=...)`` of ``meterreader.client.values``."""
    columns = columns_of(data, datetimes=datetimes, deviation_sign=deviation_sign)
    if columns is not None:
        return list(zip(*columns)) if columns else [()] * len(_elements_of(data))
    clocks = datetimes if isinstance(datetimes, bool) else frozenset(datetimes)
    return [_view(e, _PYTHON, deviation_sign, clocks) for e in _elements_of(data)]


def columns_of(data: Data, *, datetimes: bool | Collection[int] = True,
               deviation_sign: int = BLUE_BOOK) -> list[list[Any]] | None:
    """The columns of ``rows_of(data, ...)`` when every element is a structure with the same
    number of cells (converted column by column, C-level maps where a column has one tag);
    None for other arrays (and for an empty one)."""
    _check_sign(deviation_sign)
    clocks = datetimes if isinstance(datetimes, bool) else frozenset(datetimes)
    elements = _elements_of(data)
    if not elements or any(e.tag is not _STRUCTURE for e in elements):
        return None
    cells = [e.value for e in elements]
    width = len(cells[0])
    if any(len(c) != width for c in cells):
        return None
    return [_python_column(column, deviation_sign, clocks is True or (
        clocks is not False and i in clocks)) for i, column in enumerate(zip(*cells))]


_tag_of, _value_of = Data.tag.__get__, Data.value.__get__  # type: ignore[attr-defined]
_AS_IS = frozenset(DataTag) - set(_TO_PYTHON)  # tags whose to_python is the value itself


def _python_column(column: tuple[Data, ...], sign: int, clock: bool) -> list[Any] | tuple[Any, ...]:
    """``_python_cell`` of every cell of one column, in bulk where the column has one tag."""
    tags = set(map(_tag_of, column))
    if len(tags) == 1:
        tag = tags.pop()
        values = list(map(_value_of, column))
        if tag in _AS_IS and not (clock and tag is _OCTET_STRING):
            return values  # to_python gives the value itself
        if tag is _OCTET_STRING and all(len(v) == 12 for v in values):
            joined = b"".join(values)  # one clock per 12 bytes, unpacked in one go
            if not joined[4::12].translate(None, _DOW_OK):
                zones, micros, datetime = _zones(sign), _MICROS, _dt.datetime
                try:
                    return [datetime(y, mo, d, h, mi, s, micros[hs], zones[dev])
                            for y, mo, d, _w, h, mi, s, hs, dev, _st
                            in _DATE_TIME.iter_unpack(joined)]
                except (ValueError, KeyError):  # some clock is not a complete instant
                    pass
            return [_clock_from_fields(f, sign) for f in _DATE_TIME.iter_unpack(joined)]
    return [_python_cell(cell, sign, clock) for cell in column]


def _elements_of(data: Data) -> tuple[Data, ...]:
    if data.tag is DataTag.COMPACT_ARRAY:
        return data.value.contents
    if data.tag is not _ARRAY:
        raise LocalProtocolError(f"expected an array of rows, got {data.tag.name.lower()}")
    return data.value
