"""Report helpers (meterreader.reports.common, write_reports) and the sample reading the other
report tests import (``from test_reports_common import sample_reading``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from meterreader import reports
from meterreader.india.events import describe_event
from meterreader.reading.model import (MeterIdentity, MeterReading, ReadingColumn,
                                       ReadingTable)
from meterreader.reports import common

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
CLOCK = "0.0.1.0.0.255"


def col(title, obis, *, class_id=3, unit="", scaler=None, kind="value", attribute=2):
    return ReadingColumn(title=title, class_id=class_id, obis=obis, attribute=attribute,
                         unit=unit, scaler=scaler, kind=kind)


def clock_col():
    return col("Clock", CLOCK, class_id=8, kind="datetime")


def sample_reading(*, block_rows: int = 96 * 2, aware: bool = True) -> MeterReading:
    """A category C reading touching every cell type, odd strings and a partial section."""
    tz = IST if aware else None
    start = dt.datetime(2024, 5, 1, 0, 0, tzinfo=tz)
    name_plate = ReadingTable(
        section="name_plate", title="Name plate details", obis="0.0.94.91.10.255",
        columns=(col("Meter serial number", "0.0.96.1.0.255", class_id=1),
                 col("Manufacturer name", "0.0.96.1.1.255", class_id=1),
                 col("Firmware version", "1.0.0.2.0.255", class_id=1),
                 col("Meter type", "0.0.94.91.9.255", class_id=1),
                 col("Year of manufacture", "0.0.96.1.4.255", class_id=1)),
        rows=(("X1234567", "=HYPERLINK(\"http://x\")", "v1.2\r\nbuild 7", "\x00raw\x07", 2023),))
    instantaneous = ReadingTable(
        section="instantaneous", title="Instantaneous parameters", obis="1.0.94.91.0.255",
        columns=(clock_col(),
                 col("Voltage L1 (V)", "1.0.32.7.0.255", unit="V", scaler=-2),
                 col("Current L1", "1.0.31.7.0.255", unit="A", scaler=-3),
                 col("Signed power factor", "1.0.13.7.0.255", scaler=-3),
                 col("Frequency", "1.0.14.7.0.255", unit="Hz", scaler=-2),
                 col("Cumulative energy kWh import", "1.0.1.8.0.255", unit="kWh", scaler=0),
                 col("Number of power failures", "0.0.96.7.0.255", class_id=1),
                 col("Status", "0.0.96.5.0.255", class_id=1),
                 col("Tariff flags", "0.0.96.14.0.255", class_id=1),
                 col("Relay connected", "0.0.96.3.10.255", class_id=70),
                 col("Billing date", "0.0.0.1.2.255", class_id=1, kind="datetime"),
                 col("Switch time", "0.0.15.0.0.255", class_id=1),
                 col("Unit temperature", "0.0.96.9.0.255", unit="°C", scaler=-1)),
        rows=((start, 230.12, 1.234, -0.982, 50.01, 123456789012345678, 17, b"\x01\xab",
               [1, "two", [3.5, None]], True, dt.date(2024, 5, 1), dt.time(6, 30, 15), 31.5),))
    billing_rows = tuple(
        (dt.datetime(2024, m, 1, tzinfo=tz), 1000.5 * m, 12.25 * m,
         dt.datetime(2024, m - 1 if m > 1 else 12, 15, 10, 30, tzinfo=tz))
        for m in range(1, 7))
    billing = ReadingTable(
        section="billing", title="Billing history", obis="0.0.98.1.0.255",
        columns=(col("Billing date", CLOCK, class_id=8, kind="datetime"),
                 col("Cumulative energy kWh", "1.0.1.8.0.255", unit="kWh", scaler=-1),
                 col("MD kW", "1.0.1.6.0.255", class_id=4, unit="kW", scaler=-2),
                 col("MD kW — capture time", "1.0.1.6.0.255", class_id=4, attribute=5,
                     kind="datetime")),
        rows=billing_rows)
    block = ReadingTable(
        section="block_load", title="Block load survey", obis="1.0.99.1.0.255",
        columns=(clock_col(), col("Average voltage", "1.0.12.27.0.255", unit="V", scaler=-2),
                 col("Block energy kWh import", "1.0.1.29.0.255", unit="kWh", scaler=-3)),
        rows=tuple((start + dt.timedelta(minutes=15 * i), 230 + (i % 7) / 100, i * 0.125)
                   for i in range(block_rows)),
        complete=False, error="read stopped: cancelled", capture_period=900)
    daily = ReadingTable(
        section="daily_load", title="Daily load survey", obis="1.0.99.2.0.255",
        columns=(clock_col(), col("Cumulative energy kWh", "1.0.1.8.0.255", unit="kWh")),
        rows=(), complete=False, error="object undefined")
    events = ReadingTable(
        section="events_voltage", title="Voltage related events", obis="0.0.99.98.0.255",
        columns=(clock_col(), col("Event code", "0.0.96.11.0.255", class_id=1,
                                  kind="event_code"),
                 col("Current L1", "1.0.31.7.0.255", unit="A", scaler=-2)),
        rows=((start, 1, 5.25), (start + dt.timedelta(hours=1), 2, 0.0),
              (start + dt.timedelta(hours=2), 49, None), (None, None, 1.5)))
    return MeterReading(
        category="C",
        identity=MeterIdentity(serial="X1234567", manufacturer="ACME Meters", firmware="v1.2",
                               meter_type="3P-4W", category="C",
                               logical_device_name="ACM0000X1234567",
                               extra=(("Year of manufacture", "2023"),)),
        tables={t.section: t for t in (name_plate, instantaneous, billing, block, daily, events)},
        started=dt.datetime(2024, 5, 3, 4, 30, 5, tzinfo=dt.timezone.utc),
        finished=dt.datetime(2024, 5, 3, 4, 31, 40, tzinfo=dt.timezone.utc),
        meter_clock=dt.datetime(2024, 5, 3, 10, 0, 0, tzinfo=tz),
        connection="TCP 127.0.0.1:4059 wrapper", association="US", block_load_days=2,
        complete=False, errors=("daily_load: object undefined", "block_load: cancelled"),
        software="meterreader 0.1.0", notes=("note & <check>",))


# -- helpers ------------------------------------------------------------------------------------

def test_default_stem_is_serial_and_utc_start():
    from meterreader.reading.json_io import reading_file_name

    r = sample_reading()
    assert common.default_stem(r) == "X1234567_20240503-043005"
    assert reading_file_name(r) == common.default_stem(r) + ".json"  # reports sit beside it


def test_default_stem_sanitises_serial():
    r = sample_reading()
    odd = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                          "identity": MeterIdentity(serial="../a b:c")})
    assert common.default_stem(odd) == "a_b_c_20240503-043005"
    empty = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                            "identity": MeterIdentity()})
    assert common.default_stem(empty).startswith("meter_")


def test_column_heading_adds_unit_once():
    assert common.column_heading(col("Voltage L1 (V)", "1.0.32.7.0.255", unit="V")) \
        == "Voltage L1 (V)"
    assert common.column_heading(col("Frequency", "1.0.14.7.0.255", unit="Hz")) \
        == "Frequency (Hz)"
    assert common.column_heading(col("", "1.0.14.7.0.255")) == "1.0.14.7.0.255"


def test_event_table_gets_description_after_code():
    table = sample_reading().tables["events_voltage"]
    assert common.headings(table) == ["Clock", "Event code", "Description", "Current L1 (A)"]
    rows = list(common.report_rows(table))
    assert [v for v, _ in rows[0]][1:3] == [1, describe_event(1)]
    assert rows[0][2][1] is None  # description cell has no column
    assert [v for v, _ in rows[3]][1:3] == [None, ""]


def test_short_rows_are_padded():
    table = ReadingTable(section="x", title="X", obis="0.0.0.0.0.255",
                         columns=(col("a", "1.0.1.8.0.255"), col("b", "1.0.2.8.0.255")),
                         rows=((1,),))
    assert [[v for v, _ in r] for r in common.report_rows(table)] == [[1, None]]


@pytest.mark.parametrize("value, text", [
    (None, ""), (True, "true"), (False, "false"), (-5, "-5"), (230.12, "230.12"),
    (b"\x01\xab", "01AB"), (dt.datetime(2024, 5, 1, 1, 2, 3, tzinfo=IST),
                            "2024-05-01T01:02:03+05:30"),
    (dt.datetime(2024, 5, 1, 1, 2, 3), "2024-05-01T01:02:03"), (dt.date(2024, 5, 1), "2024-05-01"),
    (dt.time(6, 30), "06:30:00"), ([1, "a", [None, 2.5]], "[1; a; [; 2.5]]"),
])
def test_cell_text(value, text):
    assert common.cell_text(value) == text


def test_ordered_tables_follow_section_titles():
    r = sample_reading()
    shuffled = MeterReading(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                               "tables": dict(reversed(list(r.tables.items())))})
    assert [t.section for t in common.ordered_tables(shuffled)] == [
        "name_plate", "instantaneous", "billing", "block_load", "daily_load", "events_voltage"]


# -- write_reports ------------------------------------------------------------------------------

def test_parse_formats():
    assert reports.parse_formats("xml, CSV,csv") == ("csv", "xml")
    assert reports.parse_formats(["pdf", "xlsx"]) == ("xlsx", "pdf")
    with pytest.raises(ValueError, match="unknown report format docx"):
        reports.parse_formats("csv,docx")
    with pytest.raises(ValueError, match="no report format"):
        reports.parse_formats(" , ")


def test_write_reports_writes_every_file(tmp_path):
    r = sample_reading()
    seen = []
    pdfs = []

    def fake_pdf(reading, path):
        pdfs.append(reading)
        Path(path).write_bytes(b"%PDF-1.4 fake")

    paths = reports.write_reports(r, tmp_path / "out", "csv,xlsx,xml,pdf", pdf_writer=fake_pdf,
                                  progress=lambda *a: seen.append(a))
    stem = "X1234567_20240503-043005"
    assert [p.name for p in paths] == [f"{stem}_{s}.csv" for s in (
        "name_plate", "instantaneous", "billing", "block_load", "daily_load", "events_voltage")
    ] + [f"{stem}.xlsx", f"{stem}.pdf", f"{stem}.xml"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    assert seen == [("csv", 0, 4), ("xlsx", 1, 4), ("pdf", 2, 4), ("xml", 3, 4)]
    assert pdfs == [r]
    assert reports.report_paths(r, tmp_path / "out", "csv", stem) == paths[:6]


def test_write_reports_custom_stem(tmp_path):
    paths = reports.write_reports(sample_reading(), tmp_path, ["xml"], stem="lab-7")
    assert paths == [tmp_path / "lab-7.xml"]


def test_unknown_format_writes_nothing(tmp_path):
    with pytest.raises(ValueError):
        reports.write_reports(sample_reading(), tmp_path, "csv,html")
    assert list(tmp_path.iterdir()) == []


def test_failing_writer_leaves_no_file_and_others_are_written(tmp_path, monkeypatch):
    """A writer raising mid-way (after it wrote part of its file) leaves nothing under the
    final name, no temp file, and the other formats are still written."""
    from meterreader.reports import xlsx_report

    real_save = xlsx_report.Workbook.save

    def broken_save(self, filename):
        real_save(self, filename)  # the temp file is complete…
        raise OSError("disk full")  # …but the write fails before the rename

    monkeypatch.setattr(xlsx_report.Workbook, "save", broken_save)

    def broken_pdf(reading, path):  # a non-atomic writer: half a PDF, then a crash
        with open(path, "wb") as f:
            f.write(b"%PDF-1.4 half")
        raise RuntimeError("renderer crashed")

    with pytest.raises(reports.ReportError) as info:
        reports.write_reports(sample_reading(), tmp_path, "csv,xlsx,pdf,xml",
                              pdf_writer=broken_pdf)
    err = info.value
    assert set(err.failures) == {"xlsx", "pdf"}
    assert "XLSX: disk full" in str(err) and "PDF: renderer crashed" in str(err)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in err.written)
    assert not any(n.endswith((".xlsx", ".pdf")) or n.startswith(".") for n in names)
    assert sum(n.endswith(".csv") for n in names) == 6 and any(n.endswith(".xml") for n in names)


def test_csv_writer_failing_mid_table_keeps_old_file(tmp_path, monkeypatch):
    """A CSV row that raises half way through a table: the earlier file stays as it was."""
    from meterreader.reports import csv_report

    r = sample_reading()
    target = tmp_path / "X1234567_20240503-043005_block_load.csv"
    target.write_text("old\n")
    calls = {"n": 0}
    real = csv_report._csv_cell

    def flaky(value):
        calls["n"] += 1
        if calls["n"] > 50:
            raise RuntimeError("boom")
        return real(value)

    monkeypatch.setattr(csv_report, "_csv_cell", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        csv_report.write_csv_table(r.tables["block_load"], target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
