"""PDF through the bridge: ``python -m ui.report_pdf`` in a subprocess, checked with pdftotext;
failures (renderer error, timeout, nothing written) raise ReportError and leave no file."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from test_reports_common import sample_reading

from meterreader import reports
from meterreader.reports import pdf_bridge
from meterreader.reports.common import ReportError

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="pdftotext (poppler-utils) missing")


def pdf_text(path):
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


@needs_pdftotext
def test_write_pdf_in_subprocess(tmp_path):
    r = sample_reading()
    path = pdf_bridge.write_pdf(r, tmp_path / "report.pdf")
    assert path == tmp_path / "report.pdf"
    assert path.read_bytes().startswith(b"%PDF")
    text = pdf_text(path)
    assert "X1234567" in text and "ACME Meters" in text
    assert "Instantaneous parameters" in text and "Billing history" in text
    assert "230.12" in text
    assert "Page 1 of" in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]  # no temp files left


@needs_pdftotext
def test_write_reports_pdf_uses_the_bridge(tmp_path):
    paths = reports.write_reports(sample_reading(), tmp_path, "pdf")
    assert [p.name for p in paths] == ["X1234567_20240503-043005.pdf"]
    assert "Page 1 of" in pdf_text(paths[0])


def test_renderer_failure_is_a_clear_error(tmp_path, monkeypatch):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    monkeypatch.setattr(pdf_bridge, "PDF_MODULE", "ui.no_such_renderer")
    with pytest.raises(ReportError, match=r"PDF renderer failed \(exit 1\).*no_such_renderer"):
        pdf_bridge.write_pdf(sample_reading(), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_renderer_that_writes_half_and_crashes_leaves_nothing(tmp_path, monkeypatch):
    script = ("import sys; open(sys.argv[2], 'wb').write(b'%PDF-1.4 half'); "
              "sys.exit('renderer crashed')")
    monkeypatch.setattr(pdf_bridge, "pdf_command",
                        lambda j, p: [sys.executable, "-c", script, str(j), str(p)])
    with pytest.raises(ReportError, match="renderer crashed"):
        pdf_bridge.write_pdf(sample_reading(), tmp_path / "r.pdf")
    assert list(tmp_path.iterdir()) == []


def test_renderer_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_bridge, "pdf_command",
                        lambda j, p: [sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(ReportError, match="did not finish within 0.5 s"):
        pdf_bridge.write_pdf(sample_reading(), tmp_path / "r.pdf", timeout=0.5)
    assert list(tmp_path.iterdir()) == []


def test_renderer_writing_nothing_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_bridge, "pdf_command", lambda j, p: [sys.executable, "-c", "pass"])
    with pytest.raises(ReportError, match="wrote nothing"):
        pdf_bridge.write_pdf(sample_reading(), tmp_path / "r.pdf")
    assert list(tmp_path.iterdir()) == []


def test_renderer_gets_the_reading_and_offscreen(tmp_path, monkeypatch):
    """The subprocess sees the saved reading JSON (loadable) and QT_QPA_PLATFORM=offscreen."""
    script = (
        "import os, sys\n"
        "from meterreader.reading.json_io import load_reading\n"
        "r = load_reading(sys.argv[1])\n"
        "assert os.environ['QT_QPA_PLATFORM'] == 'offscreen'\n"
        "open(sys.argv[2], 'w').write(r.identity.serial + ' ' + str(len(r.tables)))\n")
    monkeypatch.setattr(pdf_bridge, "pdf_command",
                        lambda j, p: [sys.executable, "-c", script, str(j), str(p)])
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    path = pdf_bridge.write_pdf(sample_reading(), tmp_path / "r.pdf")
    assert path.read_text() == "X1234567 6"


def test_command_line():
    cmd = pdf_bridge.pdf_command("a.json", "b.pdf")
    assert cmd == [sys.executable, "-m", "ui.report_pdf", "a.json", "b.pdf"]
