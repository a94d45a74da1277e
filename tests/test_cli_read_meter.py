"""``meterreader read-meter`` and ``meterreader report`` run as subprocesses against simulators
in the test process: full reads over the TCP wrapper and raw HDLC over TCP, the files written
(JSON reading + CSV/XLSX/XML/PDF reports, opened back), partial reads (public client, a link
reset mid-transfer) that still write a consistent file set and exit 5, and the offline report
command."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from meterreader.reading.json_io import load_reading, reading_stem
from meterreader.reading.model import SECTION_TITLES
from meterreader.simulator.facade import SimulatedMeter

START = dt.datetime(2024, 3, 10, 12, 0)
PASSWORD = "Pw9-x7Q2"


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(category="C", seed=13, start=START, days_of_block_load=3,
                        password=PASSWORD) as m:
        m.ports = {"wrapper": m.serve_tcp(port=0), "hdlc": m.serve_tcp(port=0, hdlc=True)}
        yield m


def run(*args: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, "-m", "meterreader", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})})
    assert "Traceback" not in proc.stderr and PASSWORD not in proc.stdout + proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def read_meter(port: int, out, *args: str, hdlc: bool = False, association: str = "mr"):
    link = ["--tcp", f"127.0.0.1:{port}"] + (["--hdlc"] if hdlc else [])
    secret = ["--password", PASSWORD] if association == "mr" else []
    return run("read-meter", *link, "--association", association, *secret, "--out", str(out),
               *args)


def _files(directory) -> set[str]:
    return {p.name for p in directory.iterdir()}


def _check_file_set(out, listed: list[str], reading) -> str:
    """The files listed are exactly those in ``out``: the reading and its reports; no temp
    files. Returns the stem."""
    stem = reading_stem(reading)
    assert sorted(listed) == sorted(str(out / name) for name in _files(out))
    expected = {f"{stem}.json", f"{stem}.xlsx", f"{stem}.xml"}
    expected |= {f"{stem}_{name}.csv" for name in reading.tables}
    assert _files(out) == expected
    return stem


def _check_reports(out, stem: str, reading) -> None:
    """Every report opened back: CSV row counts, XLSX sheets, XML parses with every section."""
    for name, table in reading.tables.items():
        with open(out / f"{stem}_{name}.csv", encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        assert len(rows) == len(table.rows) + 1
        assert len(rows[0]) >= len(table.columns)
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(out / f"{stem}.xlsx", read_only=True)
    assert len(book.sheetnames) == len(reading.tables) + 1  # + the meter summary sheet
    book.close()
    root = ET.parse(out / f"{stem}.xml").getroot()
    text = ET.tostring(root, encoding="unicode")
    assert reading.identity.serial in text
    assert all(name in text for name in reading.tables)


# -- full reads ---------------------------------------------------------------------------------

def test_full_read_writes_the_reading_and_reports(meter, tmp_path):
    code, out, err = read_meter(meter.ports["wrapper"], tmp_path, "--category", "C")
    assert code == 0, err
    listed = out.split()
    (json_path,) = [p for p in listed if p.endswith(".json")]
    reading = load_reading(json_path)
    assert reading.complete and list(reading.tables) == list(SECTION_TITLES)
    assert reading.identity.serial == meter.device.serial and reading.category == "C"
    assert reading.association == "MR" and "wrapper" in reading.connection
    assert str(meter.ports["wrapper"]) in reading.connection
    stem = _check_file_set(tmp_path, listed, reading)
    _check_reports(tmp_path, stem, reading)
    # progress: one line per step on standard error
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert len(lines) == len(SECTION_TITLES)
    assert lines[3] == f"[ 4/12] Block load survey: {len(reading.tables['block_load'].rows)} rows"


def test_hdlc_read_with_sections_days_and_json_summary(meter, tmp_path):
    code, out, err = read_meter(meter.ports["hdlc"], tmp_path, "--category", "c",
                                "--days", "1", "--sections", "billing,events",
                                "--format", "csv", "--json", hdlc=True)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["complete"] and summary["errors"] == [] and summary["report_error"] is None
    assert list(summary["tables"]) == ["name_plate", "billing",
                                       *[s for s in SECTION_TITLES if s.startswith("events_")]]
    reading = load_reading(next(p for p in summary["files"] if p.endswith(".json")))
    assert reading.block_load_days == 1 and "hdlc" in reading.connection
    assert {p.rsplit(".", 1)[1] for p in summary["files"]} == {"json", "csv"}
    assert len(summary["files"]) == 1 + len(reading.tables)


@pytest.mark.skipif(importlib.util.find_spec("PySide6") is None, reason="PDF needs PySide6")
def test_pdf_report(meter, tmp_path):
    code, out, err = read_meter(meter.ports["wrapper"], tmp_path, "--category", "C",
                                "--sections", "instantaneous,billing", "--format", "pdf")
    assert code == 0, err
    (pdf,) = [p for p in out.split() if p.endswith(".pdf")]
    with open(pdf, "rb") as f:
        assert f.read(5) == b"%PDF-"


# -- partial reads -------------------------------------------------------------------------------

def test_public_client_partial_read_still_writes_and_exits_5(meter, tmp_path):
    code, out, err = read_meter(meter.ports["wrapper"], tmp_path, "--category", "C",
                                association="pc")
    assert code == 5
    assert "partial reading (11 section(s) missing or incomplete" in err
    assert "use --association mr" in err
    reading = load_reading(next(p for p in out.split() if p.endswith(".json")))
    assert list(reading.tables) == ["name_plate"] and not reading.complete
    assert reading.identity.serial == meter.device.serial
    _check_file_set(tmp_path, out.split(), reading)


def test_link_reset_mid_block_load_keeps_partial_rows_and_a_consistent_file_set(tmp_path):
    with SimulatedMeter(category="A", seed=5, start=START, days_of_block_load=3,
                        password=PASSWORD, max_pdu_size=512, faults=["reset=15000"]) as m:
        code, out, err = read_meter(m.serve_tcp(port=0), tmp_path, "--category", "A",
                                    "--timeout", "1")
        entries = m.device.logical_device(1)["1.0.99.1.0.255"].entries_in_use
    assert code == 5, err
    assert "partial reading" in err and "Block load survey: stopped after" in err
    reading = load_reading(next(p for p in out.split() if p.endswith(".json")))
    block = reading.tables["block_load"]
    assert not block.complete and 0 < len(block.rows) < entries
    assert block.error.startswith("connection lost")
    assert list(reading.tables) == ["name_plate", "instantaneous", "billing", "block_load"]
    assert reading.errors[-1] == "Control events: not read: connection lost"
    stem = _check_file_set(tmp_path, out.split(), reading)
    _check_reports(tmp_path, stem, reading)


# -- the report command and usage errors ----------------------------------------------------------

def test_report_command_rewrites_reports_offline(meter, tmp_path):
    code, out, err = read_meter(meter.ports["wrapper"], tmp_path, "--category", "C",
                                "--format", "json")
    assert code == 0, err
    (json_path,) = out.split()
    reading = load_reading(json_path)
    stem = reading_stem(reading)
    reports = tmp_path / "reports"
    code, out, err = run("report", json_path, "--out", str(reports), "--format", "xml,csv")
    assert code == 0, err
    assert sorted(out.split()) == sorted(str(reports / n) for n in _files(reports))
    assert f"{stem}.xml" in _files(reports) and len(_files(reports)) == 1 + len(reading.tables)
    # default folder: beside the reading
    code, out, err = run("report", json_path, "--format", "xml")
    assert code == 0 and out.split() == [str(tmp_path / f"{stem}.xml")]


def test_report_command_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 9}', encoding="utf-8")
    code, out, err = run("report", str(bad))
    assert code == 1 and "unknown format_version 9" in err and str(bad) in err and out == ""
    code, _, err = run("report", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read" in err
    code, _, err = run("report", str(bad), "--format", "docx")
    assert code == 2 and "unknown report format 'docx'" in err


@pytest.mark.parametrize("args,message", [
    ((), "--category"),
    (("--category", "D"), "invalid choice"),
    (("--category", "C", "--sections", "billing,nope"), "unknown section 'nope'"),
    (("--category", "C", "--days", "0"), "days 1..3660"),
])
def test_read_meter_usage_errors(tmp_path, args, message):
    code, _, err = run("read-meter", "--tcp", "127.0.0.1:1", "--out", str(tmp_path), *args)
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []


def test_connection_failure_writes_nothing(tmp_path):
    code, _, err = run("read-meter", "--tcp", "127.0.0.1:1", "--category", "C", "--out",
                       str(tmp_path / "out"), "--timeout", "1")
    assert code == 3 and "cannot connect" in err
    assert not (tmp_path / "out").exists()


def test_no_secret_in_any_file_written(meter, tmp_path):
    """The MR password never reaches the saved reading or a report (hex or text), PDF text
    included."""
    code, out, err = read_meter(meter.ports["wrapper"], tmp_path, "--category", "C",
                                "--days", "1", "--format", "csv,xlsx,xml,pdf")
    assert code == 0, err
    files = list(tmp_path.iterdir())
    assert {p.suffix for p in files} >= {".json", ".csv", ".xlsx", ".xml", ".pdf"}
    needles = [PASSWORD.encode(), PASSWORD.encode().hex().encode(),
               PASSWORD.encode().hex().upper().encode()]
    for path in files:
        blobs = [path.read_bytes()]
        if path.suffix == ".xlsx":  # zipped: look inside every member
            import zipfile
            with zipfile.ZipFile(path) as z:
                blobs += [z.read(name) for name in z.namelist()]
        if path.suffix == ".pdf":  # compressed streams: look at the text
            blobs.append(subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                        check=True).stdout)
        for blob in blobs:
            assert not any(n in blob for n in needles), f"secret found in {path.name}"
