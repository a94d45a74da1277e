"""COSEM date-time/date/time: byte-identical round trips, wildcards, deviation sign, status."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterreader.dlms.cosem_time import (
    BLUE_BOOK, DEVIATION_NOT_SPECIFIED, IS15959_POSITIVE, ClockStatus, CosemDate, CosemDateTime,
    CosemTime,
)
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

VECTOR_CLOCK = bytes.fromhex("07E30C1F0217000000FFC400")  # dlms_vectors.json profile buffer
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def test_published_clock_fields():
    stamp = CosemDateTime.from_bytes(VECTOR_CLOCK)
    assert stamp == CosemDateTime(year=2019, month=12, day=31, day_of_week=2, hour=23, minute=0,
                                  second=0, hundredths=0, deviation=-60, clock_status=0)
    assert bytes(stamp) == VECTOR_CLOCK
    assert stamp.is_complete and stamp.status == ClockStatus(0)
    # Blue Book: deviation -60 = local time is 60 min *ahead* of UTC (UTC+01:00).
    assert stamp.to_datetime() == dt.datetime(2019, 12, 31, 22, 0, tzinfo=dt.timezone.utc)
    assert stamp.to_datetime().utcoffset() == dt.timedelta(hours=1)
    assert str(stamp) == "2019-12-31 (Tue) 23:00:00.00, deviation -60, status 0x00"
    assert stamp.iso_text() == "2019-12-31T23:00:00.00"


@pytest.mark.parametrize(("hexed", "text"), [
    ("FFFFFFFFFFFFFFFFFF8000FF", "****-**-** (*) **:**:**.**, deviation *, status *"),
    ("07E4FEFE0702000000800080", "2020-DST-begin-last (Sun) 02:00:00.00, deviation *, status 0x80"),
    ("FFFFFDFDFF03FFFFFF000001", "****-DST-end-2nd-last (*) 03:**:**.**, deviation 0, status 0x01"),
    ("07E40101FF000000FFFEB600", "2020-01-01 (*) 00:00:00.**, deviation -330, status 0x00"),
    ("07E40D20090000000000000F", "2020-13-32 (9?) 00:00:00.00, deviation 0, status 0x0F"),
])
def test_wildcards_and_special_values_round_trip(hexed, text):
    raw = bytes.fromhex(hexed)
    stamp = CosemDateTime.from_bytes(raw)
    assert bytes(stamp) == raw
    assert str(stamp) == text


def test_defaults_are_not_specified():
    stamp = CosemDateTime()
    assert bytes(stamp) == bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")
    assert stamp.deviation == DEVIATION_NOT_SPECIFIED and not stamp.deviation_specified
    assert stamp.status is None and not stamp.is_complete
    assert bytes(CosemDate()) == b"\xFF" * 5 and bytes(CosemTime()) == b"\xFF" * 4


def test_ist_deviation_interpretation():
    # 2024-01-21 (Sun) 18:30:00.00 IST, deviation -330 (Blue Book) and +330 (IS 15959 meters).
    blue_book = CosemDateTime.from_bytes(bytes.fromhex("07E8011507121E0000FEB600"))
    positive = CosemDateTime.from_bytes(bytes.fromhex("07E8011507121E0000014A00"))
    assert (blue_book.deviation, positive.deviation) == (-330, 330)
    expected = dt.datetime(2024, 1, 21, 18, 30, tzinfo=IST)
    assert blue_book.to_datetime() == expected
    assert blue_book.to_datetime().utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert positive.to_datetime(deviation_sign=IS15959_POSITIVE) == expected
    assert positive.utc_offset(deviation_sign=+1) == dt.timedelta(hours=5, minutes=30)
    # Read with the Blue Book convention, +330 means UTC-05:30: eleven hours late.
    wrong = positive.to_datetime(deviation_sign=BLUE_BOOK)
    assert wrong.utcoffset() == -dt.timedelta(hours=5, minutes=30)
    assert wrong - expected == dt.timedelta(hours=11)
    assert (wrong.hour, wrong.minute) == (18, 30)  # local fields are kept either way


def test_from_datetime_deviation_sign():
    moment = dt.datetime(2024, 1, 21, 18, 45, 7, 120_000, tzinfo=IST)
    blue_book = CosemDateTime.from_datetime(moment)
    positive = CosemDateTime.from_datetime(moment, deviation_sign=IS15959_POSITIVE)
    assert (blue_book.deviation, positive.deviation) == (-330, 330)
    assert bytes(blue_book)[-3:] == bytes.fromhex("FEB600")
    assert bytes(positive)[-3:] == bytes.fromhex("014A00")
    assert (blue_book.day_of_week, blue_book.hundredths) == (7, 12)  # a Sunday
    assert blue_book.to_datetime() == moment
    assert positive.to_datetime(deviation_sign=+1) == moment
    with pytest.raises(LocalProtocolError):
        CosemDateTime.from_datetime(moment, deviation_sign=2)


def test_naive_datetime_has_no_deviation():
    naive = dt.datetime(2024, 2, 29, 12, 0, 59, 990_000)
    stamp = CosemDateTime.from_datetime(naive)
    assert not stamp.deviation_specified and stamp.clock_status == 0
    assert bytes(stamp)[-3:] == bytes.fromhex("800000")
    assert stamp.to_datetime() == naive and stamp.to_datetime().tzinfo is None


class _Summer(dt.tzinfo):
    def utcoffset(self, when):
        return dt.timedelta(hours=2)

    def dst(self, when):
        return dt.timedelta(hours=1)


def test_dst_sets_status_bit():
    stamp = CosemDateTime.from_datetime(dt.datetime(2024, 7, 1, 12, tzinfo=_Summer()))
    assert stamp.status == ClockStatus.DAYLIGHT_SAVING_ACTIVE and stamp.deviation == -120
    explicit = CosemDateTime.from_datetime(dt.datetime(2024, 7, 1, 12), clock_status=0x02)
    assert explicit.status == ClockStatus.DOUBTFUL_VALUE


def test_clock_status_flags():
    stamp = CosemDateTime.from_bytes(VECTOR_CLOCK[:-1] + b"\x8D")
    assert stamp.status == (ClockStatus.INVALID_VALUE | ClockStatus.DIFFERENT_CLOCK_BASE
                            | ClockStatus.INVALID_CLOCK_STATUS | ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    assert ClockStatus.DOUBTFUL_VALUE not in stamp.status
    assert CosemDateTime.from_bytes(VECTOR_CLOCK[:-1] + b"\xFF").status is None


@pytest.mark.parametrize("hexed", [
    "FFFF0C1F0217000000FFC400",  # year wildcard
    "07E3FE1F0217000000FFC400",  # DST begin month
    "07E30CFE0217000000FFC400",  # last day of month
    "07E30C1F02FF000000FFC400",  # hour wildcard
    "07E3021E0217000000FFC400",  # 30 February
])
def test_incomplete_cannot_convert(hexed):
    stamp = CosemDateTime.from_bytes(bytes.fromhex(hexed))
    assert not stamp.is_complete
    with pytest.raises(LocalProtocolError):
        stamp.to_datetime()


def test_hundredths_wildcard_reads_as_zero():
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07E30C1F02170000FF8000FF"))
    assert stamp.is_complete
    assert stamp.to_datetime() == dt.datetime(2019, 12, 31, 23, 0)


@pytest.mark.parametrize("size", [0, 11, 13])
def test_wrong_length_is_decode_error(size):
    with pytest.raises(DecodeError) as info:
        CosemDateTime.from_bytes(bytes(size))
    assert info.value.reason is Reason.BAD_LENGTH
    with pytest.raises(DecodeError):
        CosemDate.from_bytes(bytes(size % 5 + 6))
    with pytest.raises(DecodeError):
        CosemTime.from_bytes(bytes(size % 4 + 5))


@pytest.mark.parametrize(("field", "value"), [
    ("month", 256), ("year", -1), ("year", 0x10000), ("deviation", 0x8000),
    ("deviation", -0x8001), ("clock_status", 300), ("hour", True), ("second", 1.0),
])
def test_constructor_validates(field, value):
    with pytest.raises(LocalProtocolError):
        CosemDateTime(**{field: value})


def test_try_from_bytes():
    assert CosemDateTime.try_from_bytes(VECTOR_CLOCK) == CosemDateTime.from_bytes(VECTOR_CLOCK)
    assert CosemDateTime.try_from_bytes(b"\xFF" * 9 + b"\x80\x00\xFF") == CosemDateTime()
    assert CosemDateTime.try_from_bytes(VECTOR_CLOCK[:11]) is None
    assert CosemDateTime.try_from_bytes(b"SERIAL123456") is None  # month 0x52
    for position, bad in [(2, 13), (3, 0), (4, 8), (5, 24), (6, 60), (7, 60), (8, 100)]:
        raw = bytearray(VECTOR_CLOCK)
        raw[position] = bad
        assert CosemDateTime.try_from_bytes(bytes(raw)) is None, position
    assert CosemDateTime.try_from_bytes(VECTOR_CLOCK[:9] + b"\x03\x84\x00") is None  # +900 min


def test_date_and_time():
    day = CosemDate.from_bytes(bytes.fromhex("07E30C1F02"))
    assert day.to_date() == dt.date(2019, 12, 31) and str(day) == "2019-12-31 (Tue)"
    assert CosemDate.from_datetime(dt.date(2019, 12, 31)) == day
    assert bytes(CosemDate(year=2024, month=0xFE, day=0xFD)) == bytes.fromhex("07E8FEFDFF")
    assert not CosemDate(month=3).is_complete
    with pytest.raises(LocalProtocolError):
        CosemDate(month=3).to_date()
    clock = CosemTime.from_bytes(bytes.fromhex("173B3B63"))
    assert clock.to_time() == dt.time(23, 59, 59, 990_000) and str(clock) == "23:59:59.99"
    assert CosemTime.from_datetime(dt.time(23, 59, 59, 999_999)) == clock
    assert str(CosemTime(hour=6)) == "06:**:**.**"
    with pytest.raises(LocalProtocolError):
        CosemTime(hour=6).to_time()
    stamp = CosemDateTime.from_bytes(VECTOR_CLOCK)
    assert stamp.date == CosemDate(year=2019, month=12, day=31, day_of_week=2)
    assert stamp.time == CosemTime(hour=23, minute=0, second=0, hundredths=0)


@given(st.binary(min_size=12, max_size=12))
def test_any_twelve_bytes_round_trip(raw):
    stamp = CosemDateTime.from_bytes(raw)
    assert bytes(stamp) == raw
    assert CosemDateTime.from_bytes(bytearray(raw)) == stamp
    str(stamp)  # never raises
    if stamp.is_complete and -1440 < stamp.deviation < 1440:
        stamp.to_datetime()


@given(st.binary(min_size=5, max_size=5), st.binary(min_size=4, max_size=4))
def test_any_date_and_time_bytes_round_trip(date_raw, time_raw):
    assert bytes(CosemDate.from_bytes(date_raw)) == date_raw
    assert bytes(CosemTime.from_bytes(time_raw)) == time_raw


@settings(max_examples=200)
@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
       st.integers(-720, 840), st.sampled_from([-1, 1]))
def test_datetime_round_trip(moment, offset_minutes, sign):
    moment = moment.replace(microsecond=moment.microsecond // 10_000 * 10_000,
                            tzinfo=dt.timezone(dt.timedelta(minutes=offset_minutes)))
    stamp = CosemDateTime.from_datetime(moment, deviation_sign=sign)
    assert stamp.deviation == sign * offset_minutes
    assert CosemDateTime.from_bytes(bytes(stamp)) == stamp
    back = stamp.to_datetime(deviation_sign=sign)
    assert back == moment and back.utcoffset() == moment.utcoffset()
