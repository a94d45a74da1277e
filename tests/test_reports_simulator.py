"""Reports of a real read: a category C simulator read over TCP (meterreader.reading.plan),
every format written and opened back (CSV row counts, XLSX values and date cells, XML
cross-checked value by value, PDF text) and the saved JSON giving the same reports."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from test_reports_xml import check_document

from meterreader.client import ConnectionSettings, Session
from meterreader.reading.json_io import load_reading, save_reading
from meterreader.reading.plan import read_meter
from meterreader.reports import REPORT_FORMATS, common, write_reports
from meterreader.reports.xlsx_report import meter_offset, sheet_names
from meterreader.simulator.facade import SimulatedMeter
from meterreader.transport import TcpTransport


@pytest.fixture(scope="module")
def reading():
    meter = SimulatedMeter(category="C", seed=8, start=dt.datetime(2024, 3, 10, 12, 0),
                           days_of_block_load=2)
    port = meter.serve_tcp(port=0)
    settings = ConnectionSettings.for_association("mr", framing="wrapper",
                                                  response_timeout=1.0, close_timeout=0.5)
    session = Session(TcpTransport("127.0.0.1", port), settings).connect()
    try:
        return read_meter(session, "C", days=1, connection="test", association="MR")
    finally:
        session.close()
        meter.stop()


@pytest.fixture(scope="module")
def written(reading, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    formats = REPORT_FORMATS if shutil.which("pdftotext") else ("csv", "xlsx", "xml")
    return out, write_reports(reading, out, formats)


def test_simulator_reading_has_data(reading):
    assert reading.tables["block_load"].rows and reading.tables["billing"].rows
    assert reading.identity.serial


def test_csv_row_counts(reading, written):
    _, paths = written
    csvs = [p for p in paths if p.suffix == ".csv"]
    assert len(csvs) == len(reading.tables)
    for path, table in zip(csvs, common.ordered_tables(reading), strict=True):
        assert path.name.endswith(f"_{table.section}.csv")
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == common.headings(table)
        assert len(rows) == 1 + len(table.rows)


def test_xlsx_values(reading, written):
    _, paths = written
    book = openpyxl.load_workbook(next(p for p in paths if p.suffix == ".xlsx"))
    names = sheet_names(reading)
    offset = meter_offset(reading)
    for table in common.ordered_tables(reading):
        ws = book[names[table.section]]
        assert [c.value for c in ws[1]] == common.headings(table)
        assert ws.freeze_panes == "A2"
        got = list(ws.iter_rows(min_row=2, values_only=True))
        assert len(got) == len(table.rows)
        for cells, (pairs) in zip(got, common.report_rows(table)):
            for value, (want, _) in zip(cells, pairs):
                if isinstance(want, dt.datetime):
                    if want.tzinfo is not None and offset is not None:
                        want = want.astimezone(dt.timezone(offset))
                    assert value == want.replace(tzinfo=None)
                elif isinstance(want, (int, float)) and not isinstance(want, bool) \
                        and abs(want) < 10 ** 15:
                    assert value == pytest.approx(want)
                elif want is None or want == "":
                    assert value in (None, "")
    clock = book[names["block_load"]]["A2"]
    assert clock.is_date and isinstance(clock.value, dt.datetime)


def test_xml_cross_checked(reading, written):
    _, paths = written
    root = ET.parse(next(p for p in paths if p.suffix == ".xml")).getroot()
    check_document(root, reading)


def test_pdf_text(reading, written):
    _, paths = written
    pdfs = [p for p in paths if p.suffix == ".pdf"]
    if not pdfs:
        pytest.skip("pdftotext missing")
    import subprocess

    text = subprocess.run(["pdftotext", "-layout", str(pdfs[0]), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    assert reading.identity.serial in text and "Page 1 of" in text


def test_saved_json_gives_the_same_reports(reading, written, tmp_path):
    out, paths = written
    again = load_reading(save_reading(reading, tmp_path / "r.json"))
    second = write_reports(again, tmp_path / "again", ("csv", "xml"))
    firsts = {p.name: p for p in paths}
    for path in second:
        assert path.read_bytes() == firsts[path.name].read_bytes(), path.name
