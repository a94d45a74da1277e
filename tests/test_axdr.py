"""A-XDR Data codec: published vector, a both-ways vector table, error cases, Hypothesis.

Vector-table bytes are built by hand from the encoding rules (tag, A-XDR length, big-endian
fixed-width values; compact-array = type description + length + tag-less contents), except the
row marked "published", which comes from /work/shared/vectors/dlms_vectors.json.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterreader.dlms.axdr import (
    MAX_DEPTH, TYPE_NAMES, BitString, CompactArray, D, Data, DataTag, TypeDescription,
    data_to_json, decode_data, decode_length, encode_data, encode_length, to_python,
)
from meterreader.dlms.axdr_compact import shape
from meterreader.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

TD = TypeDescription
VECTOR_CLOCK = bytes.fromhex("07E30C1F0217000000FFC400")  # from the published profile buffer


# ------------------------------------------------------------------------------------------
# Published vector
# ------------------------------------------------------------------------------------------

def test_published_profile_buffer(vectors):
    (case,) = vectors["axdr"]
    raw = bytes.fromhex(case["hex"])
    data, end = decode_data(raw)
    assert end == len(raw)
    assert data.tag == DataTag.ARRAY and len(data.value) == 4
    first = data.value[0]
    assert first == D.structure(D.octet_string(VECTOR_CLOCK), D.unsigned(6),
                                D.double_long_unsigned(1517), D.double_long_unsigned(1620))
    clock = CosemDateTime.from_bytes(first.value[0].value)
    assert (clock.year, clock.month, clock.day, clock.day_of_week) == (2019, 12, 31, 2)
    assert (clock.hour, clock.minute, clock.second, clock.hundredths) == (23, 0, 0, 0)
    assert clock.deviation == -60 and clock.clock_status == 0
    for row in data.value[1:]:
        assert row == D.structure(D.null(), D.unsigned(6), D.double_long_unsigned(1517),
                                  D.double_long_unsigned(1620))
    assert encode_data(data) == raw
    assert to_python(data)[1] == [None, 6, 1517, 1620]
    assert data_to_json(first)["value"][0]["datetime"].startswith("2019-12-31 (Tue) 23:00:00.00")


# ------------------------------------------------------------------------------------------
# Vector table, tested both ways (h11 test_io.py style)
# ------------------------------------------------------------------------------------------

def _octets(n: int) -> bytes:
    return bytes(i & 0xFF for i in range(n))


CASES: list[tuple[str, Data, str]] = [
    ("null-data", D.null(), "00"),
    ("boolean true", D.boolean(True), "0301"),
    ("boolean false", D.boolean(False), "0300"),
    ("bit-string 12 bits", D.bit_string("101010111100"), "040CABC0"),
    ("bit-string empty", D.bit_string(""), "0400"),
    ("double-long -1", D.double_long(-1), "05FFFFFFFF"),
    ("double-long min", D.double_long(-2**31), "0580000000"),
    ("double-long-unsigned 1517 (published)", D.double_long_unsigned(1517), "06000005ED"),
    ("floating-point 1.0", D.floating_point(1.0), "073F800000"),
    ("octet-string empty", D.octet_string(b""), "0900"),
    ("octet-string OBIS", D.octet_string(bytes.fromhex("0000010000FF")), "09060000010000FF"),
    ("octet-string date-time (published)", D.octet_string(VECTOR_CLOCK),
     "090C07E30C1F0217000000FFC400"),
    ("octet-string 127", D.octet_string(_octets(127)), "097F" + _octets(127).hex()),
    ("octet-string 128", D.octet_string(_octets(128)), "098180" + _octets(128).hex()),
    ("octet-string 255", D.octet_string(_octets(255)), "0981FF" + _octets(255).hex()),
    ("octet-string 256", D.octet_string(_octets(256)), "09820100" + _octets(256).hex()),
    ("octet-string 65536", D.octet_string(_octets(65536)), "0983010000" + _octets(65536).hex()),
    ("visible-string latin-1", D.visible_string("ABC\xe9"), "0A04414243E9"),
    ("utf8-string", D.utf8_string("é€"), "0C05C3A9E282AC"),
    ("bcd", D.bcd(0x12), "0D12"),
    ("integer -128", D.integer(-128), "0F80"),
    ("integer 127", D.integer(127), "0F7F"),
    ("long -2", D.long(-2), "10FFFE"),
    ("unsigned 6 (published)", D.unsigned(6), "1106"),
    ("long-unsigned 65535", D.long_unsigned(65535), "12FFFF"),
    ("long64 min", D.long64(-2**63), "148000000000000000"),
    ("long64-unsigned max", D.long64_unsigned(2**64 - 1), "15FFFFFFFFFFFFFFFF"),
    ("enum 27 (W)", D.enum(27), "161B"),
    ("float32 1.5", D.float32(1.5), "173FC00000"),
    ("float64 -2.5", D.float64(-2.5), "18C004000000000000"),
    ("date-time", D.date_time(CosemDateTime.from_bytes(VECTOR_CLOCK)),
     "1907E30C1F0217000000FFC400"),
    ("date-time all wildcards", D.date_time(CosemDateTime()), "19FFFFFFFFFFFFFFFFFF8000FF"),
    ("date", D.date(CosemDate(year=2019, month=12, day=31, day_of_week=2)), "1A07E30C1F02"),
    ("time", D.time(CosemTime(hour=23, minute=0, second=0, hundredths=0)), "1B17000000"),
    ("dont-care", D.dont_care(), "FF"),
    ("array empty", D.array(), "0100"),
    ("array of long-unsigned", D.array(D.long_unsigned(1), D.long_unsigned(2)), "0102120001120002"),
    ("array of 128 null-data", D.array(*[D.null()] * 128), "018180" + "00" * 128),
    ("structure scaler_unit", D.structure(D.integer(-1), D.enum(30)), "02020FFF161E"),
    ("structure nested", D.structure(D.array(D.unsigned(1)), D.structure()), "0202010111010200"),
    ("compact-array long-unsigned",
     D.compact_array(TD(DataTag.LONG_UNSIGNED), *map(D.long_unsigned, (1, 2, 3))),
     "131206000100020003"),
    ("compact-array empty", D.compact_array(TD(DataTag.UNSIGNED)), "131100"),
    ("compact-array structure",
     D.compact_array(TD.structure(TD(DataTag.UNSIGNED), TD(DataTag.OCTET_STRING)),
                     D.structure(D.unsigned(5), D.octet_string(b"\xAA\xBB")),
                     D.structure(D.unsigned(7), D.octet_string(b""))),
     "1302021109060502AABB0700"),
    ("compact-array of arrays",
     D.compact_array(TD.array(2, TD(DataTag.LONG_UNSIGNED)),
                     D.array(D.long_unsigned(1), D.long_unsigned(2)),
                     D.array(D.long_unsigned(3), D.long_unsigned(4))),
     "130100021208" + "0001000200030004"),
    ("compact-array date-time",
     D.compact_array(TD(DataTag.DATE_TIME), D.date_time(CosemDateTime.from_bytes(VECTOR_CLOCK))),
     "13190C07E30C1F0217000000FFC400"),
]
CASE_IDS = [name for name, _, _ in CASES]


def _cut_points(n: int) -> list[int]:
    # Every strict prefix of short vectors; for long ones (each failed decode copies the buffer
    # into the DecodeError) the first and last 300 cut points and a stride through the middle.
    if n <= 700:
        return list(range(n))
    return sorted(set(range(300)) | set(range(n - 300, n)) | set(range(0, n, 997)))


@pytest.mark.parametrize(("name", "data", "hexed"), CASES, ids=CASE_IDS)
def test_writer(name, data, hexed):
    assert encode_data(data) == bytes.fromhex(hexed)


@pytest.mark.parametrize(("name", "data", "hexed"), CASES, ids=CASE_IDS)
def test_reader(name, data, hexed):
    raw = bytes.fromhex(hexed)
    assert decode_data(raw) == (data, len(raw))
    for kind in (bytearray, memoryview):
        assert decode_data(kind(raw)) == (data, len(raw))
    # Trailing bytes are left alone; new_offset points at them.
    tail = raw + b"\x12\x34"
    assert decode_data(tail) == (data, len(raw))
    assert tail[len(raw):] == b"\x12\x34"
    # Decoding at an offset.
    assert decode_data(b"\xEE\xEE\xEE" + raw, 3) == (data, 3 + len(raw))
    # Byte-by-byte growth: every strict prefix is TRUNCATED, never anything else.
    view = memoryview(raw)
    for cut in _cut_points(len(raw)):
        with pytest.raises(DecodeError) as info:
            decode_data(view[:cut])
        assert info.value.reason is Reason.TRUNCATED, (cut, info.value)
        assert 0 <= info.value.offset <= cut


def test_decoded_types_are_exact():
    data, _ = decode_data(bytearray.fromhex("0203090201020A01410C0141"))
    octets, visible, utf8 = data.value
    assert type(data.value) is tuple and type(octets.value) is bytes
    assert type(visible.value) is str and type(utf8.value) is str
    assert all(isinstance(item.tag, DataTag) for item in data.value)


# ------------------------------------------------------------------------------------------
# Lengths
# ------------------------------------------------------------------------------------------

LENGTHS = [(0, "00"), (127, "7F"), (128, "8180"), (255, "81FF"), (256, "820100"),
           (65535, "82FFFF"), (65536, "83010000"), (2**24, "8401000000"),
           (2**32 - 1, "84FFFFFFFF")]


@pytest.mark.parametrize(("n", "hexed"), LENGTHS)
def test_length_both_ways(n, hexed):
    raw = bytes.fromhex(hexed)
    assert encode_length(n) == raw
    assert decode_length(raw + b"\x99") == (n, len(raw))
    assert decode_length(b"\x00" + raw, 1) == (n, 1 + len(raw))
    for cut in range(len(raw)):
        with pytest.raises(DecodeError) as info:
            decode_length(raw[:cut])
        assert info.value.reason is Reason.TRUNCATED


@pytest.mark.parametrize("hexed", ["80", "85", "8F00000000000000", "FF"])
def test_length_forms_refused(hexed):
    with pytest.raises(DecodeError) as info:
        decode_length(bytes.fromhex(hexed))
    assert info.value.reason is Reason.BAD_LENGTH and info.value.offset == 0


@pytest.mark.parametrize("n", [-1, 2**32, True, 1.0])
def test_encode_length_refuses(n):
    with pytest.raises(LocalProtocolError):
        encode_length(n)


def test_non_minimal_length_accepted_and_reencoded_minimally():
    data, end = decode_data(bytes.fromhex("098102AABB"))
    assert (data, end) == (D.octet_string(b"\xAA\xBB"), 5)
    assert encode_data(data) == bytes.fromhex("0902AABB")


def test_boolean_nonzero_reads_true():
    assert decode_data(b"\x03\x05") == (D.boolean(True), 2)


# ------------------------------------------------------------------------------------------
# Refused input
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", [8, 11, 14, 28, 0x80, 0xFE])
def test_unknown_tag(tag):
    raw = bytes((0x02, 0x02, 0x11, 0x01, tag, 0x00))
    with pytest.raises(DecodeError) as info:
        decode_data(raw)
    assert info.value.reason is Reason.UNKNOWN_TAG and info.value.offset == 4
    assert info.value.data == raw


def test_depth_limit():
    ok = b"\x01\x01" * MAX_DEPTH + b"\x00"
    data, end = decode_data(ok)
    assert end == len(ok)
    assert encode_data(data) == ok
    with pytest.raises(DecodeError) as info:
        decode_data(b"\x02\x01" * (MAX_DEPTH + 1) + b"\x00")
    assert info.value.reason is Reason.TOO_LONG
    with pytest.raises(LocalProtocolError):
        encode_data(D.array(data))


def test_huge_count_is_not_preallocated():
    # 4 294 967 295 elements announced, 3 present: fails fast on the missing fourth.
    raw = bytes.fromhex("0184FFFFFFFF000000")
    with pytest.raises(DecodeError) as info:
        decode_data(raw)
    assert info.value.reason is Reason.TRUNCATED and info.value.offset == len(raw)


def test_huge_octet_string_length_is_checked_before_slicing():
    with pytest.raises(DecodeError) as info:
        decode_data(bytes.fromhex("0984FFFFFFFF0102"))
    assert info.value.reason is Reason.TRUNCATED and info.value.offset == 6


def test_invalid_utf8():
    with pytest.raises(DecodeError) as info:
        decode_data(bytes.fromhex("0C02C328"))
    assert info.value.reason is Reason.BAD_VALUE


@pytest.mark.parametrize(("hexed", "reason"), [
    ("131300", Reason.UNKNOWN_TAG),  # compact-array cannot describe compact-array
    ("130800", Reason.UNKNOWN_TAG),  # tag 8 is not a type
    ("130002AABB", Reason.BAD_LENGTH),  # null-data elements take no bytes: contents must be empty
    ("130100FF0000", Reason.BAD_VALUE),  # array(255, null-data): values from no bytes
    ("13120300010203", Reason.BAD_LENGTH),  # 3 content bytes end inside the 2nd long-unsigned
    ("13090301AA", Reason.TRUNCATED),  # content length 3, only 2 bytes present
])
def test_compact_array_refused(hexed, reason):
    with pytest.raises(DecodeError) as info:
        decode_data(bytes.fromhex(hexed))
    assert info.value.reason is reason


def test_compact_array_type_description_depth_limit():
    raw = b"\x13" + b"\x02\x01" * (MAX_DEPTH + 1) + b"\x11\x00"
    with pytest.raises(DecodeError) as info:
        decode_data(raw)
    assert info.value.reason is Reason.TOO_LONG


# ------------------------------------------------------------------------------------------
# Encoding validation
# ------------------------------------------------------------------------------------------

INT_RANGES = {
    DataTag.DOUBLE_LONG: (-2**31, 2**31 - 1), DataTag.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1),
    DataTag.BCD: (0, 255), DataTag.INTEGER: (-128, 127), DataTag.LONG: (-2**15, 2**15 - 1),
    DataTag.UNSIGNED: (0, 255), DataTag.LONG_UNSIGNED: (0, 2**16 - 1),
    DataTag.LONG64: (-2**63, 2**63 - 1), DataTag.LONG64_UNSIGNED: (0, 2**64 - 1),
    DataTag.ENUM: (0, 255),
}


@pytest.mark.parametrize("tag", list(INT_RANGES), ids=[TYPE_NAMES[t] for t in INT_RANGES])
def test_int_range_checked(tag):
    lo, hi = INT_RANGES[tag]
    for good in (lo, hi):
        assert decode_data(encode_data(Data(tag, good)))[0] == Data(tag, good)
    for bad in (lo - 1, hi + 1):
        with pytest.raises(LocalProtocolError, match=TYPE_NAMES[tag]):
            encode_data(Data(tag, bad))
    for wrong in (True, 1.0, "1", None):
        with pytest.raises(LocalProtocolError):
            encode_data(Data(tag, wrong))
    with pytest.raises(LocalProtocolError):
        getattr(D, tag.name.lower())(hi + 1)


@pytest.mark.parametrize("data", [
    Data(DataTag.OCTET_STRING, "text"), Data(DataTag.VISIBLE_STRING, "€"),
    Data(DataTag.VISIBLE_STRING, b"x"), Data(DataTag.UTF8_STRING, b"x"),
    Data(DataTag.BOOLEAN, 1), Data(DataTag.NULL_DATA, 0), Data(DataTag.DONT_CARE, b""),
    Data(DataTag.BIT_STRING, BitString(length=9, data=b"\x00")),
    Data(DataTag.BIT_STRING, "101"), Data(DataTag.FLOAT32, 1e39), Data(DataTag.FLOAT64, "1"),
    Data(DataTag.DATE_TIME, VECTOR_CLOCK), Data(DataTag.DATE, CosemTime()),
    Data(DataTag.ARRAY, D.null()), Data(DataTag.STRUCTURE, (1, 2)), Data(8, None),
    Data(DataTag.COMPACT_ARRAY, (D.null(),)),
    D.compact_array(TD(DataTag.UNSIGNED), D.long_unsigned(1)),
    D.compact_array(TD.array(2, TD(DataTag.UNSIGNED)), D.array(D.unsigned(1))),
    D.compact_array(TD.structure(TD(DataTag.UNSIGNED)), D.structure()),
    D.compact_array(TD(DataTag.NULL_DATA), D.null()),
    D.compact_array(TD.array(1000, TD(DataTag.NULL_DATA))),
], ids=repr)
def test_encode_refuses(data):
    with pytest.raises(LocalProtocolError):
        encode_data(data)


@pytest.mark.parametrize("make", [
    lambda: TD(DataTag.COMPACT_ARRAY), lambda: TD(DataTag.ARRAY, (TD(DataTag.UNSIGNED),)),
    lambda: TD(DataTag.ARRAY, (), 2), lambda: TD.array(65536, TD(DataTag.UNSIGNED)),
    lambda: TD(DataTag.UNSIGNED, (TD(DataTag.UNSIGNED),)), lambda: TD(8),
    lambda: TD(DataTag.STRUCTURE, [TD(DataTag.UNSIGNED)]),
])
def test_malformed_type_description(make):
    with pytest.raises(LocalProtocolError):
        make()


def test_nan_round_trips():
    for tag in (DataTag.FLOAT32, DataTag.FLOAT64, DataTag.FLOATING_POINT):
        data, _ = decode_data(encode_data(Data(tag, math.nan)))
        assert math.isnan(data.value)


def test_bit_string_helpers():
    bits = BitString.from_bits("1011001")
    assert bits == BitString(length=7, data=b"\xB2") and bits.bits == "1011001"
    with pytest.raises(LocalProtocolError):
        BitString.from_bits("102")


def test_decode_argument_misuse():
    with pytest.raises(LocalProtocolError):
        decode_data("00")
    with pytest.raises(LocalProtocolError):
        decode_data(b"\x00", -1)


# ------------------------------------------------------------------------------------------
# Plain Python and JSON views
# ------------------------------------------------------------------------------------------

def test_json_views():
    assert data_to_json(D.long_unsigned(5)) == {"type": "long-unsigned", "value": 5}
    assert data_to_json(D.double_long_unsigned(7))["type"] == "double-long-unsigned"
    assert data_to_json(D.structure(D.null(), D.boolean(True))) == {
        "type": "structure",
        "value": [{"type": "null-data", "value": None}, {"type": "boolean", "value": True}]}
    assert data_to_json(D.octet_string(b"\x01\x02\xAB")) == {"type": "octet-string",
                                                             "value": "0102AB"}
    assert data_to_json(D.octet_string(bytes.fromhex("0100010800FF")))["obis"] == "1.0.1.8.0.255"
    assert "datetime" in data_to_json(D.octet_string(VECTOR_CLOCK))
    assert "datetime" not in data_to_json(D.octet_string(b"SERIAL123456"))
    stamp = data_to_json(D.date_time(CosemDateTime.from_bytes(VECTOR_CLOCK)))
    assert stamp["value"] == "2019-12-31T23:00:00.00"
    assert (stamp["deviation"], stamp["clock_status"]) == (-60, 0)
    wild = data_to_json(D.date_time(CosemDateTime(clock_status=0x81)))
    assert wild["value"] == "****-**-**T**:**:**.**" and wild["deviation"] is None
    assert wild["clock_status_flags"] == ["INVALID_VALUE", "DAYLIGHT_SAVING_ACTIVE"]
    compact = data_to_json(CASES[CASE_IDS.index("compact-array of arrays")][1])
    assert compact["type_description"] == {
        "type": "array", "count": 2, "element": {"type": "long-unsigned"}}
    assert data_to_json(D.float64(math.inf))["value"] == "inf"
    for _name, data, _hex in CASES:  # every tag gives strict JSON
        json.dumps(data_to_json(data), allow_nan=False)


def test_to_python():
    import datetime as dt
    row = D.structure(D.date_time(CosemDateTime.from_bytes(VECTOR_CLOCK)), D.bit_string("101"),
                      D.octet_string(b"\x01"), D.array(D.long(-1)),
                      D.date_time(CosemDateTime(year=2020)))
    stamp, bits, octets, array, wild = to_python(row)
    assert stamp == dt.datetime(2019, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert (bits, octets, array) == ("101", b"\x01", [-1])
    assert wild == CosemDateTime(year=2020)
    assert to_python(row, deviation_sign=+1)[0].utcoffset() == dt.timedelta(hours=-1)
    assert to_python(CASES[CASE_IDS.index("compact-array long-unsigned")][1]) == [1, 2, 3]
    assert to_python(D.date(CosemDate(year=2019, month=12, day=31))) == dt.date(2019, 12, 31)


# ------------------------------------------------------------------------------------------
# Hypothesis: round trip of arbitrary Data, fuzzing of arbitrary bytes
# ------------------------------------------------------------------------------------------

def _bit_strings():
    return st.binary(max_size=4).flatmap(lambda b: st.integers(
        max(0, 8 * len(b) - 7), 8 * len(b)).map(lambda n: BitString(length=n, data=b)))


SCALARS: dict[DataTag, st.SearchStrategy] = {
    DataTag.NULL_DATA: st.none(), DataTag.DONT_CARE: st.none(),
    DataTag.BOOLEAN: st.booleans(), DataTag.BIT_STRING: _bit_strings(),
    DataTag.FLOATING_POINT: st.floats(width=32, allow_nan=False),
    DataTag.FLOAT32: st.floats(width=32, allow_nan=False),
    DataTag.FLOAT64: st.floats(allow_nan=False),
    DataTag.OCTET_STRING: st.binary(max_size=20),
    DataTag.VISIBLE_STRING: st.text(st.characters(max_codepoint=255), max_size=10),
    DataTag.UTF8_STRING: st.text(max_size=10),
    DataTag.DATE_TIME: st.binary(min_size=12, max_size=12).map(CosemDateTime.from_bytes),
    DataTag.DATE: st.binary(min_size=5, max_size=5).map(CosemDate.from_bytes),
    DataTag.TIME: st.binary(min_size=4, max_size=4).map(CosemTime.from_bytes),
    **{tag: st.integers(lo, hi) for tag, (lo, hi) in INT_RANGES.items()},
}


def _scalar(tag: DataTag) -> st.SearchStrategy:
    return SCALARS[tag].map(lambda value: Data(tag, value))


def _type_descriptions() -> st.SearchStrategy:
    simple = st.sampled_from(sorted(SCALARS)).map(TD)
    return st.recursive(simple, lambda kids: st.one_of(
        st.tuples(st.integers(0, 3), kids).map(lambda a: TD.array(*a)),
        st.lists(kids, max_size=3).map(lambda c: TD.structure(*c))), max_leaves=6)


def _values_of(td: TypeDescription) -> st.SearchStrategy:
    if td.tag == DataTag.ARRAY:
        return st.lists(_values_of(td.children[0]), min_size=td.count, max_size=td.count).map(
            lambda items: Data(DataTag.ARRAY, tuple(items)))
    if td.tag == DataTag.STRUCTURE:
        return st.tuples(*map(_values_of, td.children)).map(
            lambda items: Data(DataTag.STRUCTURE, items))
    return _scalar(td.tag)


def _compact_arrays() -> st.SearchStrategy:
    def cheap(td):
        width, values = shape(td)
        return values <= 4 * width + 64

    return _type_descriptions().filter(cheap).flatmap(lambda td: st.lists(
        _values_of(td), max_size=4 if shape(td)[0] else 0).map(
        lambda items: Data(DataTag.COMPACT_ARRAY,
                           CompactArray(type_description=td, contents=tuple(items)))))


DATA = st.recursive(
    st.one_of(st.sampled_from(sorted(SCALARS)).flatmap(_scalar), _compact_arrays()),
    lambda kids: st.one_of(
        st.lists(kids, max_size=5).map(lambda items: Data(DataTag.ARRAY, tuple(items))),
        st.lists(kids, max_size=5).map(lambda items: Data(DataTag.STRUCTURE, tuple(items)))),
    max_leaves=25)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(DATA)
def test_round_trip(data):
    raw = encode_data(data)
    assert decode_data(raw) == (data, len(raw))
    assert encode_data(decode_data(memoryview(raw))[0]) == raw


def _decode_or_refuse(raw: bytes) -> None:
    try:
        data, end = decode_data(raw)
    except DecodeError as exc:
        assert exc.data == raw and 0 <= exc.offset <= len(raw)
        return
    assert 0 < end <= len(raw)
    # Decoding looks at nothing beyond what it consumed, and re-encoding is a fixpoint.
    assert encode_data(decode_data(raw[:end])[0]) == encode_data(data)
    again = encode_data(data)
    assert encode_data(decode_data(again)[0]) == again


@FAST
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(raw):
    _decode_or_refuse(raw)


@FAST
@given(DATA, st.data())
def test_fuzz_mutated_encodings(data, draw):
    raw = bytearray(encode_data(data))
    for _ in range(draw.draw(st.integers(1, 3))):
        position = draw.draw(st.integers(0, len(raw) - 1))
        raw[position] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(raw)))
    _decode_or_refuse(bytes(raw[:cut]))
