"""Fast homogeneous-array path (axdr_fast): equal to the general A-XDR decoder on every input.

The reference is ``decode_data`` with the fast hook switched off (``_FAST_MIN_ELEMENTS`` raised),
viewed with ``table_of`` (raw cells) and ``client.values.python_value`` (plain Python rows).
"""

from __future__ import annotations

import datetime as dt
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterreader.client.values import python_value
from meterreader.dlms import axdr, axdr_fast
from meterreader.dlms.axdr import D, Data, DataTag, TypeDescription, decode_data, encode_data
from meterreader.dlms.axdr_fast import (
    decode_array_elements, decode_table, decode_table_rows, rows_of, table_of,
)
from meterreader.dlms.cosem_time import (
    BLUE_BOOK, IS15959_POSITIVE, CosemDate, CosemDateTime, CosemTime,
)
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

IST = dt.timezone(dt.timedelta(minutes=330))


def general(buf: bytes, offset: int = 0):
    """decode_data without the fast path (the per-element loop only)."""
    saved = axdr._FAST_MIN_ELEMENTS
    axdr._FAST_MIN_ELEMENTS = 1 << 62
    try:
        return decode_data(buf, offset)
    finally:
        axdr._FAST_MIN_ELEMENTS = saved


def reference_rows(data: Data, sign: int = BLUE_BOOK, clocks=True):
    out = []
    for element in data.value:
        cells = element.value if element.tag is DataTag.STRUCTURE else (element,)
        out.append(tuple(python_value(c, sign, time_column=clocks is True or (
            clocks is not False and i in clocks)) for i, c in enumerate(cells)))
    return out


def outcome(fn, *args, **kwargs):
    """(result) or ("error", message, offset, reason) so errors can be compared too."""
    try:
        return fn(*args, **kwargs)
    except DecodeError as exc:
        return ("error", exc.message, exc.offset, exc.reason)


def assert_same_everywhere(buf: bytes, sign: int = BLUE_BOOK) -> None:
    expected = outcome(general, buf)
    assert outcome(decode_data, buf) == expected
    if expected[0] == "error":
        assert outcome(decode_table, buf) == expected
        assert outcome(decode_table_rows, buf, deviation_sign=sign) == expected
        return
    data, end = expected
    if data.tag is not DataTag.ARRAY:
        return
    assert decode_table(buf) == (table_of(data), end)
    assert decode_table_rows(buf, deviation_sign=sign) == (reference_rows(data, sign), end)
    assert rows_of(data, deviation_sign=sign) == reference_rows(data, sign)


def clock(when: dt.datetime, **changes) -> bytes:
    fields = CosemDateTime.from_datetime(when)
    raw = bytes(fields)
    if changes:
        import dataclasses
        raw = bytes(dataclasses.replace(fields, **changes))
    return raw


def block_load(rows: int, start: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=IST)) -> Data:
    return D.array(*(D.structure(
        D.octet_string(clock(start + dt.timedelta(minutes=15 * i))),
        D.long_unsigned(23000 + i), D.double_long_unsigned(1500 + 7 * i),
        D.double_long_unsigned(100 + i % 5)) for i in range(rows)))


# ------------------------------------------------------------------------------------------
# Byte-exact vectors
# ------------------------------------------------------------------------------------------

def test_block_load_vector_byte_exact():
    # 2026-01-01 (Thu) 00:00:00.00 and 00:15:00.00, deviation FEB6 (-330), status 00
    stamp0 = bytes.fromhex("07EA01010400000000FEB600")
    stamp1 = bytes.fromhex("07EA010104000F0000FEB600")
    buf = (bytes.fromhex("0104") + b"".join(
        bytes.fromhex("0203") + b"\x09\x0c" + s + bytes.fromhex(f"12{23000 + i:04X}")
        + bytes.fromhex(f"06{100 + i:08X}")
        for i, s in enumerate((stamp0, stamp1, stamp0, stamp1))))
    rows, end = decode_table(buf)
    assert end == len(buf)
    assert rows == [(stamp0, 23000, 100), (stamp1, 23001, 101), (stamp0, 23002, 102),
                    (stamp1, 23003, 103)]
    # deviation 0xFEB6 = -330: Blue Book sign gives UTC+05:30
    pyrows, _ = decode_table_rows(buf)
    assert pyrows[0] == (dt.datetime(2026, 1, 1, 0, 0, tzinfo=IST), 23000, 100)
    assert pyrows[1] == (dt.datetime(2026, 1, 1, 0, 15, tzinfo=IST), 23001, 101)
    assert pyrows[0][0].utcoffset() == dt.timedelta(minutes=330)
    assert_same_everywhere(buf)


def test_block_load_many_rows_equal_general():
    buf = encode_data(block_load(300))
    assert_same_everywhere(buf)
    rows, _ = decode_table_rows(buf)
    assert rows[299][0] == dt.datetime(2026, 1, 1, tzinfo=IST) + dt.timedelta(minutes=15 * 299)


def test_empty_array_and_one_row():
    assert decode_table(b"\x01\x00") == ([], 2)
    assert decode_table_rows(b"\x01\x00") == ([], 2)
    one = encode_data(block_load(1))
    assert_same_everywhere(one)
    assert len(decode_table(one)[0]) == 1


def test_offset_and_trailing_bytes():
    buf = b"\xAA\xBB" + encode_data(block_load(20)) + b"\xCC"
    rows, end = decode_table(buf, 2)
    assert end == len(buf) - 1 and len(rows) == 20
    assert decode_table(memoryview(buf), 2) == (rows, end)
    assert decode_table(bytearray(buf), 2) == (rows, end)


def test_scalar_elements_are_one_tuples():
    buf = encode_data(D.array(*(D.long_unsigned(i) for i in range(10))))
    assert decode_table(buf)[0] == [(i,) for i in range(10)]
    assert_same_everywhere(buf)


def test_null_clock_rows_fall_back_and_resume():
    # "compressed" profile (INTEROP.md): the clock is null-data after the first row
    start = dt.datetime(2026, 3, 1, tzinfo=IST)
    rows = [D.structure(D.octet_string(clock(start)) if i % 7 == 0 else D.null(),
                        D.long_unsigned(i), D.double_long(-i)) for i in range(50)]
    buf = encode_data(D.array(*rows))
    assert_same_everywhere(buf)
    table, _ = decode_table(buf)
    assert table[1] == (None, 1, -1) and table[7][0] == clock(start)


def test_mismatching_rows_nested_and_variable_cells():
    rows = [D.structure(D.long_unsigned(i), D.octet_string(b"x" * (i % 3))) for i in range(40)]
    rows[5] = D.structure(D.long_unsigned(5), D.structure(D.unsigned(1), D.unsigned(2)))
    rows[9] = D.structure(D.long_unsigned(9))
    rows[20] = D.long_unsigned(20)
    rows[30] = D.structure(D.bit_string("101"), D.visible_string("ab"))
    assert_same_everywhere(encode_data(D.array(*rows)))


def test_compact_array_untouched():
    td = TypeDescription.structure(TypeDescription(DataTag.LONG_UNSIGNED),
                                   TypeDescription(DataTag.OCTET_STRING))
    data = D.compact_array(td, *(D.structure(D.long_unsigned(i), D.octet_string(b"ab"))
                                 for i in range(10)))
    buf = encode_data(data)
    assert decode_data(buf) == general(buf) == (data, len(buf))
    assert decode_table(buf) == ([(i, b"ab") for i in range(10)], len(buf))


def test_not_an_array():
    with pytest.raises(DecodeError) as err:
        decode_table(encode_data(D.long_unsigned(5)))
    assert err.value.reason is Reason.UNEXPECTED
    with pytest.raises(LocalProtocolError):
        table_of(D.long_unsigned(5))
    with pytest.raises(LocalProtocolError):
        decode_table_rows(b"\x01\x00", deviation_sign=0)


def test_every_truncation_gives_the_general_error():
    buf = encode_data(block_load(12))
    for cut in range(len(buf)):
        assert_same_everywhere(buf[:cut])


def test_corrupted_tag_bytes_give_the_general_result():
    buf = encode_data(block_load(12))
    for pos in range(0, len(buf), 3):
        for value in (0x00, 0x02, 0x09, 0x12, 0x63, 0xFF):
            assert_same_everywhere(buf[:pos] + bytes((value,)) + buf[pos + 1:])


def test_invalid_utf8_in_a_row_raises_like_general():
    rows = [D.structure(D.long_unsigned(i), D.utf8_string("ab")) for i in range(10)]
    buf = bytearray(encode_data(D.array(*rows)))
    bad = buf.rindex(b"ab")
    buf[bad] = 0xFF
    assert_same_everywhere(bytes(buf))
    with pytest.raises(DecodeError):
        decode_table(bytes(buf))


def test_depth_limit_kept():
    inner = encode_data(block_load(5))
    for levels in (axdr.MAX_DEPTH - 2, axdr.MAX_DEPTH - 1, axdr.MAX_DEPTH):
        buf = b"\x01\x01" * levels + inner
        assert outcome(decode_data, buf) == outcome(general, buf)


def test_negative_zero_float_not_shared_with_zero():
    values = [0.0, -0.0] * 5
    data, _ = decode_data(encode_data(D.array(*(D.structure(D.float64(v)) for v in values))))
    assert [math.copysign(1, e.value[0].value) for e in data.value] == [1, -1] * 5


def test_decode_array_elements_is_the_hook():
    buf = encode_data(block_load(10))
    items, end = decode_array_elements(buf, 2, len(buf), 1, 10)
    assert (Data(DataTag.ARRAY, items), end) == general(buf)


# ------------------------------------------------------------------------------------------
# Clock conversions
# ------------------------------------------------------------------------------------------

BASE = dt.datetime(2026, 5, 17, 10, 30, 15, 250_000, tzinfo=IST)


@pytest.mark.parametrize("changes", [
    {}, {"hundredths": 0xFF}, {"hundredths": 100}, {"deviation": -0x8000}, {"year": 0xFFFF},
    {"month": 13}, {"day": 31, "month": 2}, {"day_of_week": 0}, {"day_of_week": 0xFF},
    {"deviation": 900}, {"deviation": -721}, {"hour": 24}, {"clock_status": 0x80},
    {"second": 60}, {"month": 0xFE}, {"deviation": 840},
])
@pytest.mark.parametrize("sign", [BLUE_BOOK, IS15959_POSITIVE])
def test_clock_cells_like_python_value(changes, sign):
    stamp = clock(BASE, **changes)
    rows = [D.structure(D.octet_string(stamp if i == 3 else clock(BASE)), D.long_unsigned(i))
            for i in range(8)]
    data = D.array(*rows)
    buf = encode_data(data)
    got, _ = decode_table_rows(buf, deviation_sign=sign)
    assert got == reference_rows(data, sign)
    assert type(got[3][0]) is type(python_value(rows[3].value[0], sign, time_column=True))


def test_datetimes_switch():
    data = block_load(6)
    buf = encode_data(data)
    assert decode_table_rows(buf, datetimes=False)[0] == reference_rows(data, clocks=False)
    assert isinstance(decode_table_rows(buf, datetimes=False)[0][0][0], bytes)
    assert decode_table_rows(buf, datetimes={0})[0] == decode_table_rows(buf)[0]
    assert decode_table_rows(buf, datetimes={1})[0] == reference_rows(data, clocks={1})


def test_date_time_tagged_and_other_types():
    rows = [D.structure(D.date_time(CosemDateTime.from_datetime(BASE)),
                        D.date(CosemDate.from_datetime(BASE.date())),
                        D.time(CosemTime.from_datetime(BASE.time())), D.boolean(bool(i % 2)),
                        D.visible_string("abc"), D.enum(i), D.float32(1.5), D.long64(-i))
            for i in range(10)]
    assert_same_everywhere(encode_data(D.array(*rows)))


# ------------------------------------------------------------------------------------------
# Property: random homogeneous / heterogeneous arrays
# ------------------------------------------------------------------------------------------

def _clock_bytes():
    return st.builds(lambda y, mo, d, w, h, mi, s, hs, dev, cs: struct.pack(
        ">HBBBBBBBhB", y, mo, d, w, h, mi, s, hs, dev, cs),
        st.sampled_from([2026, 1, 9999, 0, 0xFFFF]), st.sampled_from([1, 2, 12, 0, 13, 0xFE]),
        st.sampled_from([1, 28, 29, 31, 0, 0xFF]), st.sampled_from([1, 7, 0, 8, 0xFF]),
        st.sampled_from([0, 23, 24, 0xFF]), st.sampled_from([0, 59, 60]),
        st.sampled_from([0, 59, 60]), st.sampled_from([0, 99, 100, 0xFF]),
        st.sampled_from([-330, 330, 0, 840, -720, 841, -0x8000, 1440]),
        st.sampled_from([0, 0x80, 0xFF]))


_CELL_KINDS = {
    "u16": st.integers(0, 0xFFFF).map(D.long_unsigned),
    "u32": st.integers(0, 2**32 - 1).map(D.double_long_unsigned),
    "i32": st.integers(-2**31, 2**31 - 1).map(D.double_long),
    "i8": st.integers(-128, 127).map(D.integer),
    "u64": st.integers(0, 2**64 - 1).map(D.long64_unsigned),
    "f32": st.floats(width=32, allow_nan=False).map(D.float32),
    "f64": st.floats(allow_nan=False).map(D.float64),
    "bool": st.booleans().map(D.boolean),
    "enum": st.integers(0, 255).map(D.enum),
    "bcd": st.integers(0, 255).map(D.bcd),
    "null": st.just(D.null()),
    "clock": _clock_bytes().map(D.octet_string),
    "oct3": st.binary(min_size=3, max_size=3).map(D.octet_string),
    "vis2": st.text(st.characters(max_codepoint=255), min_size=2, max_size=2).map(
        D.visible_string),
    "dt": _clock_bytes().map(lambda b: D.date_time(CosemDateTime.from_bytes(b))),
}
_ODD = st.one_of(st.just(D.null()), st.binary(max_size=4).map(D.octet_string),
                 st.just(D.structure(D.unsigned(1))), st.just(D.bit_string("1")),
                 st.text(max_size=2).map(D.utf8_string), st.just(D.array()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_arrays_equal_general(draw):
    data = draw.draw
    structured = data(st.booleans())
    kinds = data(st.lists(st.sampled_from(sorted(_CELL_KINDS)), min_size=0 if structured else 1,
                          max_size=6))
    if not structured:
        kinds = kinds[:1]
    n = data(st.integers(0, 40))
    rows = []
    for _ in range(n):
        cells = [data(_CELL_KINDS[k]) for k in kinds]
        if cells and data(st.integers(0, 9)) == 0:  # an occasional mismatching row
            cells[data(st.integers(0, len(cells) - 1))] = data(_ODD)
        rows.append(D.structure(*cells) if structured else cells[0])
    buf = encode_data(D.array(*rows))
    assert_same_everywhere(buf, sign=data(st.sampled_from([BLUE_BOOK, IS15959_POSITIVE])))
    if len(buf) > 3:
        cut = data(st.integers(1, len(buf) - 1))
        assert_same_everywhere(buf[:cut])


# ------------------------------------------------------------------------------------------
# Back-off: arrays whose elements differ do not retry the fast path for every element
# ------------------------------------------------------------------------------------------

def _pattern(rows: int, period: int, same: int) -> bytes:
    """``same`` block-load-like rows, then ``period - same`` rows with a null clock, repeated."""
    stamp = clock(BASE)
    return encode_data(D.array(*(D.structure(
        D.octet_string(stamp) if i % period < same else D.null(),
        D.long_unsigned(i % 60_000), D.double_long_unsigned(i)) for i in range(rows))))


@pytest.fixture
def derivations(monkeypatch):
    """Counts the layouts the fast path derives."""
    calls = []
    real = axdr_fast._derive

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)
    monkeypatch.setattr(axdr_fast, "_derive", counting)
    return calls


@pytest.mark.parametrize("period, same", [(2, 1), (4, 2), (6, 5), (10, 9), (17, 16)])
def test_mixed_rows_back_off(derivations, period, same):
    buf = _pattern(2000, period, same)
    assert decode_data(buf) == general(buf)
    # exponential back-off: O(log n) tries, not one per element (2000 rows: 11 doublings)
    assert len(derivations) <= 2 * 12


def test_varying_strings_back_off(derivations):
    buf = encode_data(D.array(*(D.octet_string(b"x" * (i % 7 + 1)) for i in range(5000))))
    assert decode_data(buf) == general(buf)
    assert decode_table(buf)[0] == [(b"x" * (i % 7 + 1),) for i in range(5000)]
    assert len(derivations) <= 2 * 2 * 13  # two decodes, log2(5000) tries each


def test_homogeneous_rows_derive_once(derivations):
    buf = encode_data(block_load(3000))
    assert decode_data(buf) == general(buf)
    assert len(derivations) == 1


def test_long_runs_keep_the_fast_path(derivations):
    # A null-clock row every 100 rows: each run after it is taken by the cached layout or one
    # new derivation, never element by element.
    buf = _pattern(3000, 100, 99)
    assert decode_data(buf) == general(buf)
    assert len(derivations) <= 2 * 30 + 1


def test_compressed_profile_first_row_then_null_clocks(derivations):
    buf = _pattern(1000, 1000, 1)  # clock in the first row only
    assert decode_data(buf) == general(buf)
    assert len(derivations) <= 3


@pytest.mark.parametrize("period, same", [(2, 1), (5, 4), (17, 16), (40, 39)])
@pytest.mark.parametrize("sign", [BLUE_BOOK, IS15959_POSITIVE])
def test_mixed_patterns_equal_general_in_every_view(period, same, sign):
    buf = _pattern(300, period, same)
    assert_same_everywhere(buf, sign=sign)
    assert_same_everywhere(buf[:-7], sign=sign)


def test_small_arrays_use_the_general_loop(derivations):
    nested = encode_data(D.array(*(D.array(*(D.long_unsigned(j) for j in range(8)))
                                   for _ in range(10))))
    assert decode_data(nested) == general(nested)
    assert derivations == []  # 10 array elements, 8 scalars each: below both thresholds
