"""CSV reports: one file per section, opened back with the csv module and checked."""

from __future__ import annotations

import csv
import datetime as dt

from test_reports_common import sample_reading

from meterreader.india.events import describe_event
from meterreader.reports import common
from meterreader.reports.csv_report import csv_text, write_csv

STEM = "X1234567_20240503-043005"


def read_back(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def parse(text, column_value):
    """Turn CSV text back into the type of ``column_value`` (the original cell)."""
    if column_value is None:
        return None if text == "" else text
    if isinstance(column_value, bool):
        return {"true": True, "false": False}[text]
    if isinstance(column_value, int):
        return int(text)
    if isinstance(column_value, float):
        return float(text)
    if isinstance(column_value, dt.datetime):
        return dt.datetime.fromisoformat(text)
    if isinstance(column_value, dt.date):
        return dt.date.fromisoformat(text)
    if isinstance(column_value, dt.time):
        return dt.time.fromisoformat(text)
    if isinstance(column_value, bytes):
        return bytes.fromhex(text)
    if isinstance(column_value, str):
        return text[1:] if text.startswith("'") and column_value.startswith("=") else text
    return text


def test_one_file_per_section_with_row_counts(tmp_path):
    r = sample_reading()
    paths = write_csv(r, tmp_path, STEM)
    assert [p.name for p in paths] == [f"{STEM}_{s}.csv" for s in r.tables]
    for path, table in zip(paths, r.tables.values(), strict=True):
        rows = read_back(path)
        assert rows[0] == common.headings(table)
        assert len(rows) == 1 + len(table.rows)
        assert all(len(row) == len(rows[0]) for row in rows)


def test_values_round_trip(tmp_path):
    r = sample_reading()
    for path, table in zip(write_csv(r, tmp_path, STEM), r.tables.values(), strict=True):
        if table.section.startswith("events_"):
            continue  # the extra Description column: see below
        rows = read_back(path)[1:]
        for got, want in zip(rows, table.rows, strict=True):
            for text, value in zip(got, want, strict=True):
                if isinstance(value, list):
                    assert text == "[1; two; [3.5; ]]"
                else:
                    assert parse(text, value) == value, (table.section, text, value)


def test_block_load_datetimes_keep_meter_offset(tmp_path):
    r = sample_reading()
    rows = read_back(tmp_path / write_csv(r, tmp_path, STEM)[3].name)
    assert rows[0] == ["Clock", "Average voltage (V)", "Block energy kWh import (kWh)"]
    assert rows[1] == ["2024-05-01T00:00:00+05:30", "230.0", "0.0"]
    assert rows[2] == ["2024-05-01T00:15:00+05:30", "230.01", "0.125"]
    first = dt.datetime.fromisoformat(rows[1][0])
    assert first.utcoffset() == dt.timedelta(hours=5, minutes=30)


def test_naive_datetimes_have_no_offset(tmp_path):
    r = sample_reading(aware=False)
    rows = read_back(write_csv(r, tmp_path, STEM)[3])
    assert rows[1][0] == "2024-05-01T00:00:00"


def test_events_have_description_column(tmp_path):
    r = sample_reading()
    path = write_csv(r, tmp_path, STEM)[-1]
    rows = read_back(path)
    assert rows[0] == ["Clock", "Event code", "Description", "Current L1 (A)"]
    assert rows[1] == ["2024-05-01T00:00:00+05:30", "1", describe_event(1), "5.25"]
    assert rows[2][1:3] == ["2", describe_event(2)]
    assert rows[3][1:4] == ["49", describe_event(49), ""]
    assert rows[4] == ["", "", "", "1.5"]
    assert describe_event(1) != describe_event(2)


def test_odd_text_is_kept_and_formulas_are_guarded(tmp_path):
    r = sample_reading()
    rows = read_back(write_csv(r, tmp_path, STEM)[0])
    assert rows[1] == ["X1234567", "'=HYPERLINK(\"http://x\")", "v1.2\r\nbuild 7",
                       "\x00raw\x07", "2023"]


def test_units_in_headers_and_special_cells(tmp_path):
    r = sample_reading()
    rows = read_back(write_csv(r, tmp_path, STEM)[1])
    assert rows[0][:3] == ["Clock", "Voltage L1 (V)", "Current L1 (A)"]
    assert rows[0][-1] == "Unit temperature (°C)"
    assert rows[1][5] == "123456789012345678"  # big integers keep every digit
    assert rows[1][7] == "01AB"
    assert rows[1][9] == "true"


def test_empty_section_has_header_only(tmp_path):
    r = sample_reading()
    rows = read_back(write_csv(r, tmp_path, STEM)[4])
    assert rows == [["Clock", "Cumulative energy kWh (kWh)"]]


def test_csv_text_matches_file(tmp_path):
    r = sample_reading()
    path = write_csv(r, tmp_path, STEM)[2]
    assert path.read_bytes() == b"\xef\xbb\xbf" + csv_text(r.tables["billing"]).encode()
    assert csv_text(r.tables["billing"]).count("\r\n") == 1 + 6
