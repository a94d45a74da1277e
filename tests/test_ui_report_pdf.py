"""The PDF report (ui/report_pdf.py): content checked with pdftotext, pages counted with
pdfinfo and rendered with pdftoppm (PNG pages under /tmp/shots to look at), atomic writes, and
the ``python -m ui.report_pdf`` entry point used by the CLI.

``sample_reading`` builds a category C MeterReading directly (no meter); test_ui_reading.py
reuses it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meterreader.reading.model import (MeterIdentity, MeterReading, ReadingColumn,
                                       ReadingTable, SECTION_TITLES)

SHOTS = Path("/tmp/shots")
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
CLOCK = "0.0.1.0.0.255"
NEEDS_POPPLER = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="poppler-utils (pdftotext) not installed")


def _col(title, obis, *, class_id=3, unit="", scaler=None, kind="value"):
    return ReadingColumn(title=title, class_id=class_id, obis=obis, unit=unit, scaler=scaler,
                         kind=kind)


def _clock():
    return _col("Clock", CLOCK, class_id=8, kind="datetime")


def _table(section, obis, columns, rows, **kw):
    return ReadingTable(section=section, title=SECTION_TITLES[section], obis=obis,
                        columns=tuple(columns), rows=tuple(tuple(r) for r in rows), **kw)


def sample_reading(*, days: int = 2, complete: bool = True) -> MeterReading:
    """A category C reading as a real read would bring it (shapes of the simulator's tables)."""
    now = dt.datetime(2024, 3, 10, 12, 0, tzinfo=IST)
    name_plate = _table("name_plate", "0.0.94.91.10.255", [
        _col("Meter serial number", "0.0.96.1.0.255", class_id=1),
        _col("Manufacturer name", "0.0.96.1.1.255", class_id=1),
        _col("Firmware version", "1.0.0.2.0.255", class_id=1),
        _col("Meter type", "0.0.94.91.9.255", class_id=1)],
        [[b"43464098", b"MeterReader Simulator", b"SIM-1.0.0", 3]])
    inst_cols = [_clock()]
    inst_row: list = [now]
    for phase in (1, 2, 3):
        inst_cols.append(_col(f"Current L{phase} (A)", f"1.0.{11 + 20 * phase}.7.0.255",
                              unit="A", scaler=-3))
        inst_row.append(12.0 + phase * 0.731)
    for phase in (1, 2, 3):
        inst_cols.append(_col(f"Voltage L{phase} (V)", f"1.0.{12 + 20 * phase}.7.0.255",
                              unit="V", scaler=-2))
        inst_row.append(238.0 + phase * 0.27)
    inst_cols += [_col("Frequency (Hz)", "1.0.14.7.0.255", unit="Hz", scaler=-2),
                  _col("Billing date", "0.0.0.1.2.255", scaler=0),
                  _col("Cumulative energy kWh import (Wh)", "1.0.1.8.0.255", unit="Wh",
                       scaler=0),
                  _col("Maximum demand kW (W)", "1.0.1.6.0.255", class_id=4, unit="W", scaler=0),
                  _col("Maximum demand kW — capture time", "1.0.1.6.0.255", class_id=4,
                       kind="datetime")]
    inst_row += [49.92, bytes.fromhex("07e803010500000000feb600"), 437503808, 24681,
                 dt.datetime(2024, 3, 4, 19, 30, tzinfo=IST)]
    instantaneous = _table("instantaneous", "1.0.94.91.0.255", inst_cols, [inst_row])
    bill_cols = [_col("Billing date", "0.0.0.1.2.255", scaler=0),
                 _col("Average power factor for billing period", "1.0.13.0.0.255", scaler=-3),
                 _col("Cumulative energy kWh import (Wh)", "1.0.1.8.0.255", unit="Wh", scaler=0)]
    bill_cols += [_col(f"Cumulative energy kWh import TZ{z} (Wh)", f"1.0.1.8.{z}.255",
                       unit="Wh", scaler=0) for z in range(1, 9)]
    bill_cols += [_col("Maximum demand kW (W)", "1.0.1.6.0.255", class_id=4, unit="W", scaler=0),
                  _col("Maximum demand kW — capture time", "1.0.1.6.0.255", class_id=4,
                       kind="datetime")]
    bill_rows = []
    for month in range(12):
        year, mon = 2023 + (2 + month) // 12, (2 + month) % 12 + 1
        date = bytes([year >> 8, year & 0xFF, mon, 1, 0xFF, 0, 0, 0, 0, 0xFE, 0xB6, 0])
        energy = 351_096_190 + month * 7_500_000
        bill_rows.append([date, 0.94, energy, *[energy // 8 + z for z in range(8)],
                          24_000 + month * 53, dt.datetime(year, mon, 9, 19, 45, tzinfo=IST)])
    billing = _table("billing", "1.0.98.1.0.255", bill_cols, bill_rows)
    bl_cols = [_clock()]
    bl_cols += [_col(f"Average current L{p} (A)", f"1.0.{11 + 20 * p}.27.0.255", unit="A",
                     scaler=-3) for p in (1, 2, 3)]
    bl_cols += [_col(f"Average voltage L{p} (V)", f"1.0.{12 + 20 * p}.27.0.255", unit="V",
                     scaler=-2) for p in (1, 2, 3)]
    bl_cols += [_col("Block energy kWh import (Wh)", "1.0.1.29.0.255", unit="Wh", scaler=0),
                _col("Block energy kVAh import (VAh)", "1.0.9.29.0.255", unit="VAh", scaler=0)]
    start = now - dt.timedelta(days=days)
    bl_rows = []
    for i in range(days * 96):
        t = start + dt.timedelta(minutes=15 * (i + 1))
        load = 1 + 0.6 * math.sin(i / 96 * 2 * math.pi)
        bl_rows.append([t, *[round(14 * load + p, 3) for p in range(3)],
                        *[round(239 + 2 * math.sin(i / 9 + p), 2) for p in range(3)],
                        int(2500 * load), int(2650 * load)])
    block = _table("block_load", "1.0.99.1.0.255", bl_cols, bl_rows, capture_period=900,
                   complete=complete, error="" if complete else "cancelled by the user")
    daily = _table("daily_load", "1.0.99.2.0.255", [
        _clock(), _col("Cumulative energy kWh import (Wh)", "1.0.1.8.0.255", unit="Wh", scaler=0),
        _col("Cumulative energy kVAh import (VAh)", "1.0.9.8.0.255", unit="VAh", scaler=0)],
        [[dt.datetime(2024, 3, 8 + d, tzinfo=IST), 437_205_717 + d * 203_717,
          465_113_966 + d * 216_947] for d in range(3)], capture_period=86400)
    ev_cols = [_clock(), _col("Event code — voltage related events", "0.0.96.11.0.255",
                              class_id=1, kind="event_code"),
               _col("Voltage L1 (V)", "1.0.32.7.0.255", unit="V", scaler=-2)]
    voltage = _table("events_voltage", "0.0.99.98.0.255", ev_cols, [
        [dt.datetime(2024, 3, 9, 5, 42, 56, tzinfo=IST), 1, 180.12],
        [dt.datetime(2024, 3, 9, 7, 53, 40, tzinfo=IST), 2, 240.35],
        [dt.datetime(2024, 3, 9, 9, 1, 2, tzinfo=IST), 999, 239.0]])
    control = _table("events_control", "0.0.99.98.6.255", [
        _clock(), _col("Event code — control events", "0.0.96.11.6.255", class_id=1,
                       kind="event_code")],
        [[dt.datetime(2024, 3, 9, 1, 38, 33, tzinfo=IST), 301]])
    tables = {t.section: t for t in (name_plate, instantaneous, billing, block, daily, voltage,
                                     control)}
    errors = () if complete else ("Block load survey: partial, cancelled by the user",
                                  "Daily load survey: not read: cancelled")
    return MeterReading(
        category="C",
        identity=MeterIdentity(serial="43464098", manufacturer="MeterReader Simulator",
                               firmware="SIM-1.0.0", meter_type="3", category="C",
                               logical_device_name="MRS0000043464098",
                               extra=(("Current rating", "10-60A"),)),
        tables=tables, started=dt.datetime(2024, 3, 10, 6, 30, tzinfo=dt.timezone.utc),
        finished=dt.datetime(2024, 3, 10, 6, 31, 12, tzinfo=dt.timezone.utc), meter_clock=now,
        connection="TCP 127.0.0.1:4059 wrapper · MR (client 32) → LD 1/256", association="MR",
        block_load_days=days, complete=complete, errors=errors, software="meterreader test")


# -- helpers ---------------------------------------------------------------------------------------

def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines()
                    if line.startswith("Pages:")))


def render_pages(path: Path, prefix: str) -> list[Path]:
    """pdftoppm -png -r 60 into /tmp/shots (kept to be looked at)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{prefix}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(SHOTS / prefix)],
                   check=True, capture_output=True)
    return sorted(SHOTS.glob(f"{prefix}-*.png"))


# -- tests -----------------------------------------------------------------------------------------

@NEEDS_POPPLER
def test_pdf_content_pages_and_rendering(qapp, tmp_path):
    from ui.report_pdf import write_pdf
    reading = sample_reading()
    generated = dt.datetime(2024, 3, 10, 7, 0, tzinfo=dt.timezone.utc)
    path = write_pdf(reading, tmp_path / "report.pdf", generated=generated)
    assert path.read_bytes().startswith(b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]  # no temp file left
    text = pdf_text(path)
    count = pdf_pages(path)
    assert count >= 2
    for n in range(1, count + 1):
        assert f"Page {n} of {count}" in text
    assert text.count("Generated ") == count
    # identity header
    for expected in ("Meter reading report", "43464098", "MeterReader Simulator", "SIM-1.0.0",
                     "MRS0000043464098", "Current rating", "10-60A", "category C",
                     "UTC+05:30", "Every section was read completely"):
        assert expected in text, expected
    # instantaneous: parameters down the page, values with the scaler's decimals
    assert "Instantaneous parameters" in text
    assert "Voltage L1 (V)" in text and "238.27" in text and "12.731" in text
    assert "49.92" in text and "437503808" in text
    assert "2024-03-04 19:30" in text  # the MD capture time
    # billing: one column per billing period, headed by its billing date (octet string)
    assert "Billing history" in text
    for label in ("2023-03-01", "2023-08-01", "2024-02-01"):
        assert label in text, label
    assert "351096190" in text and "Average power factor for billing period" in text
    # load surveys and daily table
    assert "Block load survey" in text and "192 entries from 2024-03-08 12:15" in text
    assert "every 15 min" in text
    assert "Daily load survey" in text and "437409434" in text
    # events in words (and an undocumented code says so)
    assert "Voltage related events" in text and "Control events" in text
    from meterreader.india.events import describe_event
    assert describe_event(1).split()[0] in text
    assert "unknown event code 999" in text
    assert "2024-03-09 05:42:56" in text
    pages = render_pages(path, "report")
    assert len(pages) == count and all(p.stat().st_size > 2000 for p in pages)


@NEEDS_POPPLER
def test_partial_reading_and_missing_sections(qapp, tmp_path):
    from ui.report_pdf import write_pdf
    reading = sample_reading(days=1, complete=False)
    tables = dict(reading.tables)
    del tables["daily_load"]
    tables["billing"] = ReadingTable(section="billing", title="Billing history",
                                     obis="1.0.98.1.0.255", columns=(), rows=(),
                                     complete=False, error="object undefined")
    from dataclasses import replace
    path = write_pdf(replace(reading, tables=tables), tmp_path / "partial.pdf")
    text = pdf_text(path)
    assert "PARTIAL READING" in text
    assert "Block load survey: partial, cancelled by the user" in text
    assert "Partial: 96 rows read before the read stopped (cancelled by the user)" in text
    assert "object undefined" in text
    assert "Daily load survey" in text and "Not read." in text
    render_pages(path, "partial")


def test_cell_text():
    from ui.report_pdf import cell_text
    col = _col("V", "1.0.32.7.0.255", unit="V", scaler=-2)
    assert cell_text(None) == "" and cell_text(True) == "yes"
    assert cell_text(238.1, col) == "238.10"
    assert cell_text(dt.datetime(2024, 1, 2, 3, 4, tzinfo=IST)) == "2024-01-02 03:04"
    assert cell_text(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05"
    assert cell_text(b"ABC") == "ABC" and cell_text(b"\x01\x02") == "01 02"
    stamp = bytes([0x07, 0xE8, 3, 1, 0xFF, 0, 0, 0, 0, 0xFE, 0xB6, 0])
    assert cell_text(stamp) == "2024-03-01 00:00"
    assert cell_text([1, b"A"]) == "[1, A]"
    assert cell_text(dt.date(2024, 5, 6)) == "2024-05-06"


def test_write_failure_leaves_no_file(qapp, tmp_path, monkeypatch):
    import ui.report_pdf as rp
    target = tmp_path / "broken.pdf"

    def boom(doc):
        raise RuntimeError("layout failed")

    monkeypatch.setattr(rp, "_layout", boom)
    with pytest.raises(RuntimeError, match="layout failed"):
        rp.write_pdf(sample_reading(days=1), target)
    assert list(tmp_path.iterdir()) == []


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "ui.report_pdf", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


@NEEDS_POPPLER
def test_command_line(tmp_path):
    json_io = pytest.importorskip("meterreader.reading.json_io")
    source = json_io.save_reading(sample_reading(days=1), tmp_path / "reading.json")
    out = tmp_path / "out" / "report.pdf"
    done = _run_cli(str(source), str(out))
    assert done.returncode == 0, done.stderr
    assert "43464098" in pdf_text(out)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    failed = _run_cli(str(bad), str(tmp_path / "bad.pdf"))
    assert failed.returncode == 1
    assert "bad.json" in failed.stderr and not (tmp_path / "bad.pdf").exists()
    usage = _run_cli()
    assert usage.returncode == 2 and "usage" in usage.stderr
