"""session_profile's column-wise row conversion equals the cell-by-cell one on every profile of
the simulator, and the shared event scaler profile is read once per session."""

from __future__ import annotations

import datetime as dt

import pytest

from session_meter import build_meter, open_session

from meterreader.client import session_profile as sp
from meterreader.client.values import python_value
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.india.catalogue_profiles import (
    BILLING, BLOCK_LOAD, DAILY_LOAD, SCALER_EVENTS,
)
from meterreader.india.events import EventCompartment
from meterreader.india.profiles import apply_scaler

EVENT_LOGS = [f"0.0.99.98.{c.value}.255" for c in EventCompartment]


def reference_result(session, obis, capture, returned, wanted, scalers, rows, state, error):
    """The cell-by-cell conversion session_profile used before (kept as the reference)."""
    columns = sp._columns(capture, wanted, scalers)
    first = rows[0].value if rows and rows[0].tag is DataTag.STRUCTURE else None
    if first is not None and len(first) == len(capture) != len(returned):
        returned = list(range(len(capture)))
    position = {cap: pos for pos, cap in enumerate(returned)}
    picks = [position[i] for i in wanted if i in position]
    sign = session.settings.deviation_sign
    clock = sp._clock_column(capture)
    clock_pos = wanted.index(clock) if clock in wanted else None
    raw_rows, out_rows, previous = [], [], None
    for row in rows:
        cells = row.value if row.tag is DataTag.STRUCTURE else (row,)
        picked = tuple(cells[p] if p < len(cells) else Data(DataTag.NULL_DATA) for p in picks)
        raw_rows.append(picked)
        values = []
        for column, cell in zip(columns, picked):
            c = capture[column.index]
            if column.scaler is not None and cell.tag not in (
                    DataTag.NULL_DATA, DataTag.STRUCTURE, DataTag.ARRAY) and isinstance(
                    cell.value, (int, float)) and not isinstance(cell.value, bool):
                values.append(apply_scaler(cell.value, column.scaler))
            else:
                values.append(python_value(cell, sign, time_column=sp._is_time(c)))
        if clock_pos is not None:
            when = values[clock_pos]
            if picked[clock_pos].tag is DataTag.NULL_DATA and previous is not None:
                period = sp._capture_period(session, obis)
                if period:
                    when = previous + dt.timedelta(seconds=period)
                    values[clock_pos] = when
            previous = when if isinstance(when, dt.datetime) else None
        out_rows.append(tuple(values))
    return sp.ProfileResult(obis=obis, columns=columns, rows=tuple(out_rows),
                            raw_rows=tuple(raw_rows), complete=error is None, error=error,
                            blocks=state["blocks"], bytes=state["bytes"])


@pytest.fixture
def compared(monkeypatch):
    """Every _result is computed both ways and compared (types included)."""
    seen = []
    real = sp._result

    def both(*args):
        new = real(*args)
        old = reference_result(*args)
        assert new == old
        assert [[type(v) for v in r] for r in new.rows] == [[type(v) for v in r]
                                                           for r in old.rows]
        assert all(type(r) is tuple and all(isinstance(c, Data) for c in r)
                   for r in new.raw_rows)
        seen.append(new)
        return new
    monkeypatch.setattr(sp, "_result", both)
    return seen


@pytest.fixture(scope="module")
def meter():
    return build_meter(days_of_block_load=7)


@pytest.mark.parametrize("obis", [BLOCK_LOAD, DAILY_LOAD, BILLING, *EVENT_LOGS])
@pytest.mark.parametrize("scalers", ["auto", "attribute3", None])
def test_profiles_equal_the_cell_by_cell_conversion(meter, compared, obis, scalers):
    session, _ = open_session(meter, "mr")
    result = session.read_profile(obis, scalers=scalers)
    session.close()
    assert compared == [result]
    if obis == BLOCK_LOAD:
        assert len(result.rows) > 600
        assert all(isinstance(r[0], dt.datetime) for r in result.rows)


def test_selected_columns_and_entries(meter, compared):
    session, _ = open_session(meter, "mr")
    session.read_profile(BLOCK_LOAD, entries=(3, 40), columns=[0, 2, 5])
    session.read_profile(BLOCK_LOAD, entries=(1, 9), columns=[4])
    session.close()
    assert [len(r.rows) for r in compared] == [38, 9]
    assert len(compared[0].rows[0]) == 3 and len(compared[1].rows[0]) == 1


def test_compressed_null_clocks_and_odd_rows(compared):
    meter = build_meter(days_of_block_load=1, max_pdu_size=512)
    rows = meter.device.logical_device(1)[BLOCK_LOAD]._rows
    for i in (1, 2, 3, 7):  # null clock: previous + capture period
        rows[i] = Data(DataTag.STRUCTURE, (Data(DataTag.NULL_DATA), *rows[i].value[1:]))
    rows[5] = Data(DataTag.STRUCTURE, rows[5].value[:3])  # a short row: the rest null
    rows[6] = Data(DataTag.STRUCTURE, (rows[6].value[0], Data(DataTag.BOOLEAN, True),
                                       *rows[6].value[2:]))  # a bool is never scaled
    session, _ = open_session(meter, "mr")
    result = session.read_profile(BLOCK_LOAD, entries=(1, 12))
    session.close()
    assert compared == [result]
    times = [r[0] for r in result.rows]
    assert times[1] - times[0] == dt.timedelta(minutes=15) and times[7] - times[6] == (
        dt.timedelta(minutes=15))
    assert result.rows[5][3:] == (None,) * (len(result.rows[5]) - 3)
    assert result.rows[6][1] is True


def test_interrupted_transfer_keeps_rows_decoded_in_bulk(compared):
    # RowDecoder decodes the rows of each new block in one go; same rows as one by one.
    meter = build_meter(days_of_block_load=2, max_pdu_size=256)
    full = meter.device.logical_device(1)[BLOCK_LOAD]
    session, _ = open_session(meter, "mr")
    result = session.read_profile(BLOCK_LOAD)
    session.close()
    assert result.complete and result.blocks > 20
    assert [Data(DataTag.STRUCTURE, r) for r in result.raw_rows] == list(full._rows)
    decoder = sp.RowDecoder()
    from meterreader.dlms.axdr import encode_data
    raw = encode_data(Data(DataTag.ARRAY, tuple(full._rows)))
    for cut in range(3, len(raw) + 1, 97):
        decoder.feed(raw[:cut])
    decoder.feed(raw)
    assert decoder.rows == list(full._rows)


def test_event_scaler_profile_read_once(meter, monkeypatch):
    session, _ = open_session(meter, "mr")
    reads = []
    real = session.get

    def counting(class_id, obis, attribute, *args, **kwargs):
        reads.append((class_id, str(Obis.parse(obis)), attribute))
        return real(class_id, obis, attribute, *args, **kwargs)
    monkeypatch.setattr(session, "get", counting)
    results = [session.read_profile(o) for o in EVENT_LOGS]
    session.close()
    assert reads.count((7, SCALER_EVENTS, 2)) == 1
    assert reads.count((7, SCALER_EVENTS, 3)) == 1
    assert all(r.complete for r in results)
    scaled = [c for r in results for c in r.columns if c.scaler is not None]
    assert scaled  # the shared scalers reached every log's columns
