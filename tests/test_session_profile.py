"""Session.read_profile against the in-memory simulator: whole, by entry, by range, columns,
scalers, progress per block, partial results, the range retry quirk, compressed clocks."""

from __future__ import annotations

import datetime as dt

import pytest

from session_meter import START, build_meter, open_session

from meterreader.client import ConnectionLost, MeterNotAnswering, ObjectUndefined, SessionState
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.simulator.objects import AccessError
from meterreader.simulator.objects_profile import ProfileGeneric

BLOCK_LOAD = "1.0.99.1.0.255"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture(scope="module")
def meter():
    return build_meter(max_pdu_size=512)  # small PDUs: the block load comes in many blocks


@pytest.fixture(scope="module")
def whole(meter):
    session, _ = open_session(meter, "mr")
    result = session.read_profile(BLOCK_LOAD)
    session.close()
    return result


def _profile(meter, obis: str = BLOCK_LOAD) -> ProfileGeneric:
    return meter.device.logical_device(1)[obis]


def test_whole_buffer_is_scaled_with_clock_datetimes_and_progress(meter):
    session, _ = open_session(meter, "mr")
    seen = []
    result = session.read_profile(BLOCK_LOAD, progress=seen.append)
    assert result.complete and result.error is None
    assert len(result.rows) == _profile(meter).entries_in_use > 200
    assert result.columns[0].title == "Clock" and result.columns[0].class_id == 8
    assert result.columns[1].title == "Average current L1 (A)"
    assert result.columns[1].unit_text == "A" and result.columns[1].scaler == -3
    times = [row[0] for row in result.rows]
    assert all(isinstance(t, dt.datetime) and t.utcoffset() == IST.utcoffset(None)
               for t in times)
    gaps = [b - a for a, b in zip(times, times[1:])]  # power failures leave holes
    assert all(g > dt.timedelta(0) and g % dt.timedelta(minutes=15) == dt.timedelta(0)
               for g in gaps)
    raw = result.raw_rows[0][1]
    assert raw.tag is not DataTag.NULL_DATA and result.rows[0][1] == pytest.approx(
        raw.value / 1000)
    # one progress report per block, growing; rows decodable so far
    assert len(seen) == result.blocks > 10
    assert [p.blocks for p in seen] == list(range(1, len(seen) + 1))
    assert all(a.bytes < b.bytes and a.rows <= b.rows for a, b in zip(seen, seen[1:]))
    assert seen[-1].rows == len(result.rows) and 0 < seen[0].rows < seen[-1].rows
    assert seen[-1].bytes == result.bytes
    session.close()


def test_by_entry_and_columns(meter, whole):
    session, _ = open_session(meter, "mr")
    first = session.read_profile(BLOCK_LOAD, entries=(1, 5))
    assert first.rows == whole.rows[:5]
    tail = session.read_profile(BLOCK_LOAD, entries=(len(whole.rows) - 1, None))
    assert tail.rows == whole.rows[-2:]
    picked = session.read_profile(BLOCK_LOAD, entries=(2, 3), columns=[0, 4])
    assert [c.index for c in picked.columns] == [0, 4]
    assert picked.rows == tuple((row[0], row[4]) for row in whole.rows[1:3])
    session.close()


def test_by_range_naive_and_aware_bounds_give_the_same_rows(meter, whole):
    session, line = open_session(meter, "mr")
    start, end = whole.rows[10][0], whole.rows[20][0]
    naive = session.read_profile(BLOCK_LOAD, range=(start.replace(tzinfo=None),
                                                    end.replace(tzinfo=None)))
    assert naive.rows == whole.rows[10:21]
    aware = session.read_profile(BLOCK_LOAD, range=(start.astimezone(dt.timezone.utc),
                                                    end.astimezone(dt.timezone.utc)))
    assert aware.rows == naive.rows
    columns = session.read_profile(BLOCK_LOAD, range=(start, end), columns=[0, 2])
    assert columns.rows == tuple((r[0], r[2]) for r in whole.rows[10:21])
    open_end = session.read_profile(BLOCK_LOAD, range=(whole.rows[-3][0], None))
    assert open_end.rows == whole.rows[-3:]
    session.close()


def test_range_bounds_carry_the_meters_deviation(meter, whole):
    session, line = open_session(meter, "mr")
    start = whole.rows[0][0].replace(tzinfo=None)
    session.read_profile(BLOCK_LOAD, range=(start, start))
    zone = session.get(8, "0.0.1.0.0.255", 3).value
    assert zone == -330  # IST in the Blue Book convention
    bound = bytes(CosemDateTime(year=start.year, month=start.month, day=start.day,
                                hour=start.hour, minute=start.minute, second=0, hundredths=0,
                                deviation=-330, clock_status=0))
    assert any(bound in request for request in line.requests)
    session.close()


def test_scaler_modes(meter, whole):
    session, _ = open_session(meter, "mr")
    by_attribute = session.read_profile(BLOCK_LOAD, entries=(1, 3), scalers="attribute3")
    assert by_attribute.rows == whole.rows[:3]
    assert [c.scaler for c in by_attribute.columns] == [c.scaler for c in whole.columns]
    raw = session.read_profile(BLOCK_LOAD, entries=(1, 1), scalers=None)
    assert raw.columns[1].scaler is None and raw.rows[0][1] == raw.raw_rows[0][1].value
    with pytest.raises(Exception, match="no IS 15959 scaler profile"):
        session.read_profile("0.0.94.91.10.255", scalers="scaler_profile")
    session.close()


def test_connection_drop_mid_transfer_keeps_the_complete_rows(meter, whole):
    session, line = open_session(meter, "mr")
    session.read_profile(BLOCK_LOAD, entries=(1, 1))  # capture objects and scalers cached
    line.cut_after = line.bytes_out + 4000  # about eight 512-byte blocks, then the line dies
    result = session.read_profile(BLOCK_LOAD)
    assert not result.complete and isinstance(result.error, ConnectionLost)
    assert 10 < len(result.rows) < len(whole.rows)
    assert result.rows == whole.rows[:len(result.rows)]
    assert result.blocks >= 7 and session.state is SessionState.CLOSED


def test_hdlc_meter_going_silent_mid_transfer_keeps_the_rows(meter, whole):
    session, line = open_session(meter, "mr", "hdlc", response_timeout=0.05, retries=1)
    session.read_profile(BLOCK_LOAD, entries=(1, 1))
    frames = line.frames_out
    line.drop = lambda n, frame: n >= frames + 12
    result = session.read_profile(BLOCK_LOAD)
    assert isinstance(result.error, MeterNotAnswering) and not result.complete
    assert 0 < len(result.rows) < len(whole.rows)
    assert result.rows == whole.rows[:len(result.rows)]


def test_refusal_before_any_data_raises(meter):
    session, _ = open_session(meter, "pc")
    with pytest.raises(ObjectUndefined, match="1.0.99.1.0.255"):
        session.read_profile(BLOCK_LOAD)
    assert session.is_ready
    session.close()


def test_range_rejected_with_deviation_is_retried_without(meter, whole, monkeypatch):
    original = ProfileGeneric._time_bound

    def picky(self, value, upper):  # a meter that refuses bounds carrying a deviation
        if value.tag is DataTag.OCTET_STRING and CosemDateTime.from_bytes(
                value.value).deviation_specified:
            from meterreader.dlms.xdlms import DataAccessResult
            raise AccessError(DataAccessResult.OTHER_REASON, "deviation not supported")
        return original(self, value, upper)
    monkeypatch.setattr(ProfileGeneric, "_time_bound", picky)
    session, line = open_session(meter, "mr")
    start, end = whole.rows[5][0], whole.rows[8][0]
    result = session.read_profile(BLOCK_LOAD, range=(start, end))
    assert result.rows == whole.rows[5:9]
    unspecified = bytes(CosemDateTime(year=start.year, month=start.month, day=start.day,
                                      hour=start.hour, minute=start.minute, second=0,
                                      hundredths=0))
    assert any(unspecified in r for r in line.requests)
    session.close()


def test_compressed_profile_rebuilds_null_clock_cells():
    meter = build_meter(days_of_block_load=1)
    profile = _profile(meter)
    rows = profile._rows
    for i in (1, 2, 3):  # the meter leaves the time out: previous + capture period
        rows[i] = Data(DataTag.STRUCTURE, (Data(DataTag.NULL_DATA), *rows[i].value[1:]))
    session, _ = open_session(meter, "mr")
    result = session.read_profile(BLOCK_LOAD, entries=(1, 5))
    times = [row[0] for row in result.rows]
    assert all(b - a == dt.timedelta(seconds=profile.capture_period)
               for a, b in zip(times, times[1:]))
    assert [r[0].tag for r in result.raw_rows[1:4]] == [DataTag.NULL_DATA] * 3
    assert session.stats.last_operation == f"profile {Obis.parse(BLOCK_LOAD)}"
    session.close()


def test_bad_arguments_are_local_errors(meter):
    from meterreader.dlms.errors import LocalProtocolError
    session, _ = open_session(meter, "mr")
    with pytest.raises(LocalProtocolError, match="not both"):
        session.read_profile(BLOCK_LOAD, range=(START, START), entries=(1, 2))
    with pytest.raises(LocalProtocolError, match="columns"):
        session.read_profile(BLOCK_LOAD, columns=[99])
    with pytest.raises(LocalProtocolError, match="entries"):
        session.read_profile(BLOCK_LOAD, entries=(0, 2))
    with pytest.raises(LocalProtocolError, match="scalers"):
        session.read_profile(BLOCK_LOAD, scalers="bogus")
    assert session.is_ready
    session.close()


def test_meter_ignoring_the_column_selection_still_gives_the_asked_columns(
        meter, whole, monkeypatch):
    monkeypatch.setattr(ProfileGeneric, "_columns_of", lambda self, selected: None)
    session, _ = open_session(meter, "mr")
    start, end = whole.rows[3][0], whole.rows[4][0]
    result = session.read_profile(BLOCK_LOAD, range=(start, end), columns=[0, 2])
    assert result.rows == tuple((r[0], r[2]) for r in whole.rows[3:5])
    assert len(result.raw_rows[0]) == 2
    session.close()


def test_cancel_in_the_middle_of_a_profile_keeps_the_rows_and_allows_close(meter, whole):
    from meterreader.client import Cancelled, Session
    from meterreader.transport import CancelToken
    from session_meter import MeterLine, settings
    token = CancelToken()
    line = MeterLine(meter)
    session = Session(line.transport, settings("mr"), cancel=token).connect()

    def progress(p):
        if p.blocks == 3:
            token.cancel()
    result = session.read_profile(BLOCK_LOAD, progress=progress)
    assert isinstance(result.error, Cancelled) and not result.complete
    assert 0 < len(result.rows) < len(whole.rows)
    assert result.rows == whole.rows[:len(result.rows)]
    assert session.state is SessionState.BROKEN
    session.close()
    assert session.state is SessionState.CLOSED and not line.transport.is_open
