"""XLSX report: opened back with openpyxl; values, cell types, formats, frozen header, widths."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from test_reports_common import IST, sample_reading

from meterreader.india.events import describe_event
from meterreader.reading.model import MeterReading
from meterreader.reports import common
from meterreader.reports.xlsx_report import DATETIME_FORMAT, excel_value, sheet_names, write_xlsx


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "r.xlsx"
    assert write_xlsx(sample_reading(), path) == path
    return openpyxl.load_workbook(path)


def test_sheets_one_per_section_after_meter(book):
    assert book.sheetnames == ["Meter", "Name plate details", "Instantaneous parameters",
                               "Billing history", "Block load survey", "Daily load survey",
                               "Voltage related events"]


def test_section_sheets_header_rows_and_freeze(book):
    r = sample_reading()
    names = sheet_names(r)
    for table in r.tables.values():
        ws = book[names[table.section]]
        header = [c.value for c in ws[1]]
        assert header == common.headings(table)
        assert all(c.font.b for c in ws[1])
        assert ws.freeze_panes == "A2"
        assert ws.max_row == 1 + len(table.rows)
        for i in range(1, len(header) + 1):
            width = ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width
            assert 8 <= width <= 60


def test_block_load_real_dates_and_numbers(book):
    r = sample_reading()
    table = r.tables["block_load"]
    ws = book["Block load survey"]
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == len(table.rows)
    for cells, want in zip(rows, table.rows, strict=True):
        clock, volts, energy = cells
        assert clock.is_date and clock.number_format == DATETIME_FORMAT
        assert clock.value == want[0].replace(tzinfo=None)  # meter local time, +05:30 dropped
        assert clock.value.tzinfo is None
        assert volts.data_type == "n" and volts.value == pytest.approx(want[1], abs=1e-12)
        assert volts.number_format == "0.00"
        assert energy.value == want[2] and energy.number_format == "0.000"
    assert [c.value for c in ws[1]] == ["Clock", "Average voltage (V)",
                                        "Block energy kWh import (kWh)"]
    assert ws.column_dimensions["A"].width >= len("2024-05-01 00:00:00")


def test_instantaneous_cell_types(book):
    ws = book["Instantaneous parameters"]
    cells = list(ws[2])
    values = [c.value for c in cells]
    assert values[0] == dt.datetime(2024, 5, 1, 0, 0)
    assert values[1:5] == [230.12, 1.234, -0.982, 50.01]
    assert cells[1].number_format == "0.00" and cells[2].number_format == "0.000"
    assert values[5] == "123456789012345678" and cells[5].data_type == "s"  # > 15 digits
    assert values[6] == 17 and cells[6].data_type == "n"
    assert values[7] == "01AB"
    assert values[8] == "[1; two; [3.5; ]]"
    assert values[9] is True and cells[9].data_type == "b"
    assert values[10] == dt.datetime(2024, 5, 1) and cells[10].number_format == "yyyy-mm-dd"
    assert values[11] == dt.time(6, 30, 15) and cells[11].is_date
    assert values[12] == 31.5
    assert ws.cell(1, 13).value == "Unit temperature (°C)"


def test_text_never_becomes_a_formula(book):
    ws = book["Name plate details"]
    cells = list(ws[2])
    assert cells[1].value == '=HYPERLINK("http://x")' and cells[1].data_type == "s"
    assert cells[2].value == "v1.2\nbuild 7"  # a cell line break
    assert cells[3].value == "\\x00raw\\x07"  # control characters shown, not dropped
    assert cells[4].value == 2023


def test_events_sheet_has_description(book):
    ws = book["Voltage related events"]
    assert [c.value for c in ws[1]] == ["Clock", "Event code", "Description", "Current L1 (A)"]
    assert [c.value for c in ws[2]] == [dt.datetime(2024, 5, 1), 1, describe_event(1), 5.25]
    assert [c.value for c in ws[4]][1:4] == [49, describe_event(49), None]
    assert [c.value for c in ws[5]] == [None, None, None, 1.5]


def test_empty_and_partial_sections_are_in_the_summary(book):
    ws = book["Meter"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    as_dict = {row[0]: row[1] for row in rows if row and row[0]}
    assert as_dict["Serial number"] == "X1234567"
    assert as_dict["Manufacturer"] == "ACME Meters"
    assert as_dict["Category"] == "C"
    assert as_dict["Year of manufacture"] == "2023"
    assert as_dict["Meter clock at start"] == dt.datetime(2024, 5, 3, 10, 0)
    assert as_dict["Meter UTC offset"] == "UTC+05:30"
    assert as_dict["Started (UTC)"] == dt.datetime(2024, 5, 3, 4, 30, 5)
    assert as_dict["Complete"] is False
    assert as_dict["Association"] == "US"
    start = rows.index(["Section", "Title", "Rows", "Complete", "Error"])
    sections = {row[0]: row[1:] for row in rows[start + 1:start + 7]}
    assert sections["block_load"] == ["Block load survey", 192, False, "read stopped: cancelled"]
    assert sections["daily_load"] == ["Daily load survey", 0, False, "object undefined"]
    assert sections["billing"][1:3] == [6, True]
    flat = [v for row in rows for v in row if v]
    assert "daily_load: object undefined" in flat and "note & <check>" in flat
    assert book["Daily load survey"].max_row == 1


def test_aware_values_converted_to_meter_offset():
    utc = dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.timezone.utc)
    assert excel_value(utc, dt.timedelta(hours=5, minutes=30)) == dt.datetime(2024, 5, 1, 5, 30)
    assert excel_value(utc, None) == dt.datetime(2024, 5, 1, 0, 0)
    assert excel_value(dt.datetime(2024, 5, 1, 1, tzinfo=IST), dt.timedelta(hours=5, minutes=30)) \
        == dt.datetime(2024, 5, 1, 1)
    assert excel_value(dt.time(1, 2, tzinfo=IST)) == dt.time(1, 2)


def test_mixed_offsets_shown_in_meter_time(tmp_path):
    r = sample_reading()
    t = r.tables["events_voltage"]
    moved = type(t)(**{**{f: getattr(t, f) for f in t.__dataclass_fields__},
                       "rows": ((dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.timezone.utc), 1, 1.0),)})
    r2 = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                         "tables": {"events_voltage": moved}})
    path = write_xlsx(r2, tmp_path / "m.xlsx")
    ws = openpyxl.load_workbook(path)["Voltage related events"]
    assert ws["A2"].value == dt.datetime(2024, 5, 1, 5, 30)


def test_sheet_names_are_safe_and_unique():
    r = sample_reading()
    t = r.tables["billing"]
    clash = {
        "billing": t,
        "x1": type(t)(**{**{f: getattr(t, f) for f in t.__dataclass_fields__},
                         "section": "x1", "title": "Billing history"}),
        "x2": type(t)(**{**{f: getattr(t, f) for f in t.__dataclass_fields__},
                         "section": "x2", "title": "Meter"}),
        "x3": type(t)(**{**{f: getattr(t, f) for f in t.__dataclass_fields__},
                         "section": "x3", "title": "a/b:c*d?[e] " + "z" * 40}),
    }
    r2 = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "tables": clash})
    names = sheet_names(r2)
    assert names == {"billing": "Billing history", "x1": "Billing history (2)",
                     "x2": "Meter (2)", "x3": ("a_b_c_d__e_ " + "z" * 40)[:31]}


def test_large_block_load(tmp_path):
    # write time: bench/bench_build.py (no timings in tests)
    r = sample_reading(block_rows=10_000)
    path = write_xlsx(r, tmp_path / "big.xlsx")
    ws = openpyxl.load_workbook(path, read_only=True)["Block load survey"]
    assert sum(1 for _ in ws.iter_rows()) == 10_001
