"""The conformance bench tab (ui/conformance_tab.py) and its PDF report (ui/conformance_pdf.py)
against the simulator (pytest-qt, offscreen): a clean meter passes, the wrong-scaler defect
fails exactly its row (filter, evidence viewer, decoded frame), Stop ends a slow run early,
the report exports as PDF/XLSX/JSON that open back, and the main window's Conformance action
opens the tab, releases the main connection for the run and connects again after.
Screenshots and rendered PDF pages go to /tmp/shots. Every wait is qtbot.waitUntil.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from openpyxl import load_workbook  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from meterreader.client.profile import ConnectionProfile  # noqa: E402
from meterreader.conformance.model import ConformanceReport, Verdict  # noqa: E402
from meterreader.simulator import SimulatedMeter  # noqa: E402
from ui.conformance_models import CHECK_ID_ROLE, RUNNING  # noqa: E402
from ui.conformance_pdf import evidence_rows, main as pdf_main, write_pdf  # noqa: E402
from ui.conformance_tab import ConformanceTab  # noqa: E402

SHOTS = Path("/tmp/shots")
LONG = 30_000
NEEDS_POPPLER = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                   reason="poppler-utils (pdftotext) not installed")


def _serve(**kw):
    meter = SimulatedMeter(category="C", **kw)
    port = meter.serve_tcp(port=0)
    return meter, ConnectionProfile.for_association("mr", name="sim", port=port,
                                                    response_timeout=2.0)


@pytest.fixture(scope="module")
def clean():
    meter, profile = _serve()
    yield profile
    meter.stop()


@pytest.fixture(scope="module")
def scaler():
    meter, profile = _serve(defects=("wrong-scaler",))
    yield profile
    meter.stop()


def make_tab(qtbot, profile, **kw) -> ConformanceTab:
    tab = ConformanceTab(profile=profile, **kw)
    qtbot.addWidget(tab)
    tab.resize(1300, 850)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def run_to_end(qtbot, tab) -> ConformanceReport:
    assert tab.run()
    qtbot.waitUntil(lambda: not tab.running, timeout=LONG)
    assert tab.report is not None
    return tab.report


def shot(qtbot, widget, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(100)
    assert widget.grab().save(str(SHOTS / name))


def visible_checks(tab) -> list[str]:
    proxy, out = tab.proxy, []
    for g in range(proxy.rowCount()):
        group = proxy.index(g, 0)
        out += [proxy.index(r, 0, group).data(CHECK_ID_ROLE) for r in range(proxy.rowCount(group))]
    return out


@pytest.fixture(scope="module")
def fail_report(scaler, tmp_path_factory):
    """A report with one FAIL, from a plain run (no GUI) for the PDF tests."""
    from meterreader.conformance.context import ConformanceTarget
    from meterreader.conformance.runner import run_conformance
    return run_conformance(ConformanceTarget.from_profile(scaler), "C")


# -- the tab --------------------------------------------------------------------------------------

def test_clean_meter_passes(qtbot, clean):
    tab = make_tab(qtbot, clean)
    assert tab.run_button.isEnabled() and not tab.stop_button.isEnabled()
    assert not tab.export_button.isEnabled()
    report = run_to_end(qtbot, tab)
    assert report.ok and report.counts()[Verdict.PASS] > 10
    for check_id in tab.model.check_ids():
        assert tab.model.verdict(check_id) in ("pass", "skip"), check_id
    assert tab.model.verdict("billing-increment") == "skip"  # MD reset not allowed
    assert tab.summary_label.text().startswith("PASS — ")
    assert tab.progress.value() == tab.progress.maximum() == len(report.outcomes)
    assert tab.export_button.isEnabled() and tab.run_button.isEnabled()
    shot(qtbot, tab, "conf_clean.png")


def test_unticked_checks_do_not_run(qtbot, clean):
    tab = make_tab(qtbot, clean)
    tab.model.set_checked(["object-list", "clock-zone-status"])
    report = run_to_end(qtbot, tab)
    assert [o.check_id for o in report.outcomes] == ["object-list", "clock-zone-status"]
    assert tab.model.verdict("data-types") == ""
    tab.model.set_checked(())
    assert not tab.run() and "Tick at least one" in tab.summary_label.text()


def test_wrong_scaler_fails_its_row(qtbot, scaler, tmp_path):
    tab = make_tab(qtbot, scaler)
    report = run_to_end(qtbot, tab)
    assert [o.check_id for o in report.failed] == ["scaler-consistency"]
    assert tab.model.verdict("scaler-consistency") == "fail"
    assert tab.summary_label.text().startswith("FAIL — ")
    # filter by result
    tab.filter_combo.setCurrentIndex(tab.filter_combo.findText("Fail"))
    assert visible_checks(tab) == ["scaler-consistency"]
    tab.filter_combo.setCurrentIndex(tab.filter_combo.findText("Error"))
    assert visible_checks(tab) == []
    tab.filter_combo.setCurrentIndex(tab.filter_combo.findText("Pass"))
    assert "scaler-consistency" not in visible_checks(tab) and "object-list" in visible_checks(tab)
    tab.filter_combo.setCurrentIndex(tab.filter_combo.findText("Fail"))
    # evidence viewer: the check's frames, one decoded
    assert tab.select_check("scaler-consistency")
    outcome = report.outcome("scaler-consistency")
    assert tab.evidence.rowCount() == len(outcome.evidence) > 0
    row = next(i for i, e in enumerate(outcome.evidence)
               if e.layer == "apdu" and e.direction == "rx" and "AARE" not in e.summary)
    tab.select_frame(row)
    decoded = tab.decoded()
    assert decoded["layer"] == "apdu" and "Get" in decoded["apdu"]["pdu"]
    assert tab.hex_view.toPlainText().startswith("000000")
    assert "scaler-consistency — FAIL: scalers differ" in tab.finding_label.text()
    shot(qtbot, tab, "conf_fail.png")
    tab.filter_combo.setCurrentIndex(0)
    assert len(visible_checks(tab)) == len(tab.model.check_ids())

    # exports open back
    paths = {fmt: tab.export(fmt, tmp_path / f"r.{fmt}") for fmt in ("json", "xlsx", "pdf")}
    assert all(p is not None and p.stat().st_size > 0 for p in paths.values())
    assert ConformanceReport.load_json(paths["json"]) == report
    sheet = load_workbook(paths["xlsx"], read_only=True)["Checks"]
    rows = {r[1]: r[5] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["scaler-consistency"] == "FAIL" and rows["object-list"] == "PASS"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    other = make_tab(qtbot, None)
    assert other.open_report(paths["json"]) == report
    assert other.model.verdict("scaler-consistency") == "fail"
    assert other.export_button.isEnabled() and not other.run_button.isEnabled()
    assert other.open_report(tmp_path / "missing.json") is None
    assert "Cannot open" in other.summary_label.text()


def test_stop_ends_the_run(qtbot):
    meter, profile = _serve(faults=("delay=0.03",))
    try:
        tab = make_tab(qtbot, profile)
        assert tab.run()
        qtbot.waitUntil(lambda: tab.model.verdict("assoc-accept-pc") == "pass", timeout=LONG)
        assert tab.stop_button.isEnabled() and not tab.run_button.isEnabled()
        assert not tab.category_combo.isEnabled()
        tab.stop()
        qtbot.waitUntil(lambda: not tab.running, timeout=15_000)
        report = tab.report
        assert report is not None and report.options["cancelled"] is True
        skipped = [o for o in report.outcomes if o.finding == "run cancelled"]
        assert skipped and all(o.verdict is Verdict.SKIP for o in skipped)
        assert len(report.outcomes) == len(tab.model.check_ids())
        assert RUNNING not in {tab.model.verdict(i) for i in tab.model.check_ids()}
        assert "stopped" in tab.summary_label.text()
        assert tab.run_button.isEnabled() and tab.export_button.isEnabled()
    finally:
        meter.stop()


def test_no_meter_cannot_run(qtbot):
    tab = make_tab(qtbot, None)
    assert not tab.run_button.isEnabled()
    assert not tab.run() and "Connect to a meter first" in tab.summary_label.text()


# -- the main window ------------------------------------------------------------------------------

def test_main_window_action_opens_the_bench(qtbot, tmp_path, clean):
    from ui import app as ui_app
    settings = QSettings(str(tmp_path / "meterreader.ini"), QSettings.Format.IniFormat)
    win = ui_app.build_main_window(settings=settings, cache_dir=tmp_path / "cache")
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    qtbot.waitExposed(win)
    try:
        assert win.conformance_action.shortcut().toString() == "Ctrl+Shift+B"
        assert win.conformance_action in win.reading_toolbar.actions()
        win.controller.connect_profile(clean)
        qtbot.waitUntil(lambda: win.worker.is_connected, timeout=LONG)
        qtbot.waitUntil(lambda: win.browser.model.object_count() > 0, timeout=LONG)
        qtbot.waitUntil(lambda: not win.worker.is_busy, timeout=LONG)
        win.conformance_action.trigger()
        tab = win.documents.currentWidget()
        assert isinstance(tab, ConformanceTab)
        win.conformance_action.trigger()  # the open tab comes to the front, no second one
        assert sum(isinstance(win.documents.widget(i), ConformanceTab)
                   for i in range(win.documents.count())) == 1
        assert "127.0.0.1" in tab.target_label.text()
        win.trace.clear()
        tab.model.set_checked(["assoc-accept-pc", "object-list", "block-transfer"])
        released = []
        win.worker.disconnected.connect(lambda reason: released.append(reason))
        assert tab.run()
        qtbot.waitUntil(lambda: not tab.running, timeout=LONG)
        assert released, "the main association is released before the bench runs"
        assert tab.report is not None and tab.report.ok
        qtbot.waitUntil(lambda: win.worker.is_connected, timeout=LONG)  # connected again
        win.trace.flush()
        assert win.trace.model.rowCount() > 10  # the bench's frames reach the trace pane
        win.documents.setCurrentWidget(tab)
        tab.select_check("block-transfer")
        shot(qtbot, win, "conf_main_window.png")
        win.close_document(win.documents.indexOf(tab))
        assert win.find_document(lambda d: isinstance(d, ConformanceTab)) is None
    finally:
        win.close()


# -- the PDF --------------------------------------------------------------------------------------

def test_evidence_rows_are_cut_in_the_middle(fail_report):
    outcome = fail_report.outcome("scaler-consistency")
    rows = evidence_rows(outcome, limit=10)
    assert len(rows) == 11 and rows[5][0] == "…"
    assert rows[0][0] == "1" and rows[-1][0] == str(len(outcome.evidence))
    assert all(len(r[4]) < 48 * 3 + 30 for r in rows)  # hex cut after 48 bytes


@NEEDS_POPPLER
def test_pdf_contents_and_pages(qtbot, fail_report, tmp_path):
    path = write_pdf(fail_report, tmp_path / "report.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    for o in fail_report.outcomes:
        assert o.check_id in text
    assert "Page 1 of" in text and "RESULT: FAIL" in text
    assert "Evidence of the failed checks" in text and "18034064" in text
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
        if line.startswith("Pages:")))
    assert f"Page {pages} of {pages}" in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(SHOTS / "conf_pdf")],
                   check=True)
    assert (SHOTS / "conf_pdf-1.png").exists()


def test_pdf_command_line(tmp_path, fail_report):
    source = fail_report.save_json(tmp_path / "r.json")
    out = tmp_path / "r.pdf"
    done = subprocess.run([sys.executable, "-m", "ui.conformance_pdf", str(source), str(out)],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1],
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:5] == b"%PDF-"
    (tmp_path / "bad.json").write_text("{}")
    assert pdf_main([str(tmp_path / "bad.json"), str(tmp_path / "bad.pdf")]) == 1
    assert not (tmp_path / "bad.pdf").exists()
    assert pdf_main([]) == 2


# -- secrets of the MR and US associations --------------------------------------------------------

def test_secret_fields_reach_the_target(qtbot, clean):
    from PySide6.QtWidgets import QLineEdit
    from meterreader.india.associations import DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD
    tab = make_tab(qtbot, clean)
    mr, us = tab.secret_edits["mr"], tab.secret_edits["us"]
    assert mr.echoMode() is QLineEdit.EchoMode.Password and us.echoMode() is mr.echoMode()
    assert mr.text() == DEFAULT_LLS_PASSWORD.decode() and us.text() == DEFAULT_HLS_KEY.decode()
    target = tab.target()
    assert target.mr_password.reveal() == DEFAULT_LLS_PASSWORD
    # A wrong MR password typed in reaches the run: MR is refused (FAIL), and "not available"
    # for US skips its checks.
    messages = []
    tab.status_message.connect(messages.append)
    mr.setText("wrong-pw")
    tab.secret_absent["us"].setChecked(True)
    assert not us.isEnabled()
    assert tab.target().us_key is None and tab.target().mr_password.reveal() == b"wrong-pw"
    tab.model.set_checked(["assoc-accept-mr", "assoc-accept-us"])
    report = run_to_end(qtbot, tab)
    assert report.outcome("assoc-accept-mr").verdict is Verdict.FAIL
    assert report.outcome("assoc-accept-us").verdict is Verdict.SKIP
    assert "no US secret" in report.outcome("assoc-accept-us").finding
    assert not any("wrong-pw" in m for m in messages)  # never shown or logged
    mr.setText("")
    assert not tab.run() and "MR password is empty" in tab.summary_label.text()


def test_secret_fields_default_to_the_profile_of_the_association(qtbot, clean):
    from meterreader.dlms.secret import SecretBytes
    from meterreader.india.associations import DEFAULT_LLS_PASSWORD
    own = clean.replace(password=SecretBytes(b"my-mr-pw"))
    tab = make_tab(qtbot, own)
    assert tab.secret_edits["mr"].text() == "my-mr-pw"
    as_us = clean.replace(association="us", client_sap=48, mechanism=2,
                          hls_key=SecretBytes(b"0123456789ABCDEF"), password=None)
    tab = make_tab(qtbot, as_us)
    assert tab.secret_edits["us"].text() == "0123456789ABCDEF"
    assert tab.secret_edits["mr"].text() == DEFAULT_LLS_PASSWORD.decode()


@NEEDS_POPPLER
def test_pdf_sign_off_fingerprint_and_single_verdicts(qtbot, fail_report, tmp_path):
    path = write_pdf(fail_report, tmp_path / "signed.pdf")
    first = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout
    for label in ("Sign-off", "Tested by:", "Witnessed by:", "Date:", "Signature:"):
        assert label in first
    assert f"report fingerprint {fail_report.fingerprint()}" in first
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert text.count(fail_report.fingerprint()) >= 2  # page 1 text and every footer
    for word in ("PASS", "FAIL", "SKIP", "ERROR"):
        assert f"{word} {word}" not in text and f"{word}{word}" not in text
    # Each check's verdict word is drawn once (the coloured cell), not also by the plain row.
    plain = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                           check=True).stdout
    lines = [line.strip() for line in plain.splitlines()]
    for verdict in Verdict:
        word = verdict.value.upper()
        outcomes = sum(o.verdict is verdict for o in fail_report.outcomes)
        assert lines.count(word) <= outcomes, word  # drawn twice: two lines per check
