"""Saved readings (meterreader.reading.json_io): exact round trips of real and synthetic
readings, the file layout, atomic saves, and every load error naming the file and the problem."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_meter import build_meter, open_session

from meterreader.reading.json_io import (ReadingFormatError, decode_cell, encode_cell,
                                         load_reading, reading_file_name, reading_from_json,
                                         reading_stem, reading_to_json, save_reading)
from meterreader.reading.model import (FORMAT_VERSION, MeterIdentity, MeterReading,
                                       ReadingColumn, ReadingTable)
from meterreader.reading.plan import read_meter

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture(scope="module")
def real() -> MeterReading:
    """A full category C read from the in-memory simulator."""
    session, _ = open_session(build_meter(category="C", seed=3), "mr")
    try:
        return read_meter(session, "C", connection="memory", association="MR")
    finally:
        session.close()


def _synthetic(**overrides) -> MeterReading:
    cols = tuple(ReadingColumn(title=f"c{i}", class_id=3, obis=f"1.0.{i}.8.0.255", unit="kWh",
                               scaler=-2 if i else None, kind="datetime" if i == 0 else "value")
                 for i in range(4))
    rows = (
        (dt.datetime(2024, 3, 10, 12, 0, 0, 90000, tzinfo=IST), 1.5, b"\x00\xff", "ünï"),
        (dt.datetime(2024, 3, 10, 12, 15), -(2 ** 70), None, True),
        (dt.date(2024, 2, 29), dt.time(23, 59, 58, 10000), [1, [b"\x01", "x"], None], 0.1),
        ("2024-03-10T12:00", {"$dt": "x"}.__class__.__name__, [], False),
    )
    table = ReadingTable(section="block_load", title="Block load survey", obis="1.0.99.1.0.255",
                         columns=cols, rows=rows, complete=False, error="cancelled",
                         capture_period=900)
    empty = ReadingTable(section="events_power", title="Power related events",
                         obis="0.0.99.98.2.255", columns=(), rows=())
    values = dict(
        category="B", identity=MeterIdentity(serial="X/1 2", manufacturer="M", firmware="F",
                                             meter_type="3", category="B",
                                             logical_device_name="L",
                                             extra=(("CT ratio", "1"), ("Rating", "5A"))),
        tables={"block_load": table, "events_power": empty},
        started=dt.datetime(2024, 3, 10, 6, 30, 1, 5, tzinfo=dt.timezone.utc),
        finished=dt.datetime(2024, 3, 10, 6, 31, tzinfo=dt.timezone.utc),
        meter_clock=None, connection="TCP 1.2.3.4:4059 (wrapper)", association="US",
        block_load_days=3, complete=False, errors=("Block load survey: cancelled",),
        software="meterreader test", notes=("n1", "n2"))
    values.update(overrides)
    return MeterReading(**values)


# -- round trips --------------------------------------------------------------------------------

def test_real_reading_round_trips_exactly(real, tmp_path):
    assert real.complete and len(real.tables) == 12
    path = save_reading(real, tmp_path / reading_file_name(real))
    assert path.name == reading_stem(real) + ".json"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left
    back = load_reading(path)
    assert back == real
    for name, table in real.tables.items():  # the same types, not only equal values
        for row, got in zip(table.rows, back.tables[name].rows):
            assert [type(v) for v in row] == [type(v) for v in got]
            assert all(getattr(v, "tzinfo", None) == getattr(w, "tzinfo", None)
                       for v, w in zip(row, got))
    assert list(back.tables) == list(real.tables)


def test_synthetic_reading_round_trips_every_cell_type(tmp_path):
    reading = _synthetic()
    back = load_reading(save_reading(reading, tmp_path / "r.json"))
    assert back == reading
    row = back.tables["block_load"].rows[0]
    assert row[0].utcoffset() == dt.timedelta(hours=5, minutes=30) and row[2] == b"\x00\xff"
    assert back.tables["block_load"].rows[1][0].tzinfo is None  # naive stays naive
    assert back.tables["block_load"].rows[1][1] == -(2 ** 70)
    assert back.tables["block_load"].rows[2][2] == [1, [b"\x01", "x"], None]
    assert reading_from_json(json.loads(json.dumps(reading_to_json(reading)))) == reading


def test_non_finite_floats_survive():
    for value in (math.inf, -math.inf):
        assert decode_cell(encode_cell(value)) == value
    assert math.isnan(decode_cell(encode_cell(math.nan)))
    assert encode_cell(math.nan) == {"$float": "nan"}


def test_file_layout_is_tagged_json_one_row_per_line(tmp_path):
    path = save_reading(_synthetic(), tmp_path / "r.json")
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["format_version"] == FORMAT_VERSION and doc["software"] == "meterreader test"
    table = doc["tables"][0]
    assert table["section"] == "block_load" and table["capture_period"] == 900
    assert table["rows"][0][:3] == [{"$dt": "2024-03-10T12:00:00.090000+05:30"}, 1.5,
                                    {"$hex": "00FF"}]
    assert table["rows"][2][:2] == [{"$date": "2024-02-29"}, {"$time": "23:59:58.010000"}]
    assert table["columns"][1] == {"title": "c1", "class_id": 3, "obis": "1.0.1.8.0.255",
                                   "attribute": 2, "unit": "kWh", "scaler": -2,
                                   "kind": "value"}
    assert doc["tables"][1]["rows"] == []
    assert '"ünï"' in text  # UTF-8, not escaped
    lines = [line.strip() for line in text.splitlines()]
    assert '[{"$dt": "2024-03-10T12:00:00.090000+05:30"}, 1.5, {"$hex": "00FF"}, "ünï"],' in lines


def test_save_replaces_atomically_and_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "r.json"
    save_reading(_synthetic(), path)
    first = path.read_bytes()
    bad = _synthetic(tables={"x": ReadingTable(section="x", title="X", obis="0.0.0.0.0.0",
                                               columns=(ReadingColumn(title="a", class_id=1,
                                                                      obis="0.0.0.0.0.0"),),
                                               rows=((object(),),))})
    with pytest.raises(TypeError):
        save_reading(bad, path)
    assert path.read_bytes() == first and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_stem_is_file_name_safe_and_utc():
    reading = _synthetic()
    assert reading_stem(reading) == "X_1_2_20240310-063001"
    assert reading_file_name(_synthetic(identity=MeterIdentity())) == \
        "meter_20240310-063001.json"


cells = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False) | st.binary(max_size=20)
    | st.datetimes(timezones=st.none() | st.builds(
        dt.timezone, st.integers(-720, 840).map(lambda m: dt.timedelta(minutes=m))))
    | st.dates() | st.times(),
    lambda inner: st.lists(inner, max_size=4), max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(cells)
def test_any_cell_round_trips(cell):
    back = decode_cell(json.loads(json.dumps(encode_cell(cell))))
    assert back == cell and type(back) is type(cell)


# -- load errors ----------------------------------------------------------------------------------

def _doc() -> dict:
    return reading_to_json(_synthetic())


def _break(path):
    def mutate(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        if last is None:
            return
        if callable(last):
            last(target)
        else:
            del target[last]
    return mutate


BROKEN = [
    (lambda d: d.update(format_version=2), "unknown format_version 2"),
    (lambda d: d.update(format_version="1"), "reading.format_version: expected int"),
    (lambda d: d.pop("tables"), "reading: missing field 'tables'"),
    (lambda d: d.pop("started"), "reading: missing field 'started'"),
    (lambda d: d.update(started="yesterday"), "not an ISO 8601 datetime: 'yesterday'"),
    (lambda d: d["tables"][0]["rows"][1].pop(), "table 'block_load': row 1 has 3 cells for 4 "
                                                "columns"),
    (lambda d: d["tables"][0]["rows"][0].__setitem__(2, {"$hex": "zz"}),
     "table 'block_load' row 0 column 2: not hex"),
    (lambda d: d["tables"][0]["rows"][0].__setitem__(2, {"$what": 1}),
     "table 'block_load' row 0 column 2: not a reading cell"),
    (lambda d: d["tables"][0]["rows"][0].__setitem__(2, {"$dt": 5}),
     "expected an ISO 8601 text"),
    (lambda d: d["tables"][0]["rows"].__setitem__(0, "row"), "row 0 is not a list"),
    (lambda d: d["tables"][0]["columns"][0].pop("obis"),
     "table 'block_load'.columns[0]: missing field 'obis'"),
    (lambda d: d["tables"][0]["columns"][0].update(scaler=1.5),
     "columns[0].scaler: expected int or null"),
    (lambda d: d["tables"].append(copy.deepcopy(d["tables"][0])),
     "table 'block_load' appears twice"),
    (lambda d: d["tables"][0].update(complete="yes"), "complete: expected bool"),
    (lambda d: d["identity"]["extra"].append(["only title"]), "identity.extra[2]"),
    (lambda d: d.update(errors=[1]), "reading.errors: expected a list of texts"),
    (lambda d: d.update(identity=[]), "reading.identity: expected dict"),
    (lambda d: d["tables"].__setitem__(0, 7), "tables[0]: expected an object"),
    (lambda d: d.update(category="D"), "category 'D' is not A, B or C"),
    (lambda d: d["tables"][0]["columns"][1].update(kind="colour"),
     "unknown column kind 'colour'"),
    (lambda d: d["tables"][0]["columns"][1].update(obis="1.2.3"), "'1.2.3' is not an OBIS code"),
    (lambda d: d["tables"][0].update(obis="x"), "table 'block_load': 'x' is not an OBIS code"),
    (lambda d: d["tables"][0].update(section="../etc"), "section name must be letters"),
]


@pytest.mark.parametrize("mutate,message", BROKEN)
def test_load_errors_name_the_file_and_the_problem(tmp_path, mutate, message):
    doc = _doc()
    mutate(doc)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ReadingFormatError) as info:
        load_reading(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


@pytest.mark.parametrize("data,message", [
    (b"{not json", "not JSON: "),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b"[]", "reading: expected an object"),
    (b"", "not JSON: "),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
])
def test_load_errors_for_bad_files(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(ReadingFormatError) as info:
        load_reading(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_accepts_a_bom_and_missing_optional_fields(tmp_path):
    doc = _doc()
    for key in ("connection", "association", "notes", "errors", "software", "meter_clock"):
        doc.pop(key)
    path = tmp_path / "r.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    back = load_reading(path)
    assert back.notes == () and back.connection == "" and back.meter_clock is None
    assert back.tables == _synthetic().tables


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_reading(tmp_path / "nope.json")
