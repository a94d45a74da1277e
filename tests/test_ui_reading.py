"""One-click "Read meter (IS 15959)", the reading view, reopening a saved reading, the report
dialog and opening a class 7 object in a profile view, in the main window against the simulator
(pytest-qt, offscreen). Screenshots go to /tmp/shots. Every wait is qtbot.waitUntil.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from meterreader.client.profile import ConnectionProfile  # noqa: E402
from meterreader.reading.json_io import load_reading  # noqa: E402
from meterreader.reading.model import EVENT_SECTIONS, SECTION_TITLES  # noqa: E402
from meterreader.simulator.facade import SimulatedMeter  # noqa: E402
from test_ui_report_pdf import sample_reading  # noqa: E402
from ui import app as ui_app  # noqa: E402
from ui.reading_view import ReadingView, events_with_descriptions  # noqa: E402

START = dt.datetime(2024, 3, 10, 12, 0)
BLOCK_LOAD = "1.0.99.1.0.255"
LONG = 30_000
SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def meter():
    with SimulatedMeter(category="C", seed=11, start=START, days_of_block_load=2) as m:
        m.wrapper_port = m.serve_tcp()
        yield m


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "meterreader.ini"), QSettings.Format.IniFormat)
    settings.setValue("reading/folder", str(tmp_path / "readings"))
    win = ui_app.build_main_window(settings=settings, cache_dir=tmp_path / "cache")
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def connect(qtbot, window, port, association="mr"):
    profile = ConnectionProfile.for_association(association, name="sim", port=port,
                                                response_timeout=3.0)
    window.controller.connect_profile(profile)
    qtbot.waitUntil(lambda: window.worker.is_connected, timeout=LONG)
    qtbot.waitUntil(lambda: window.browser.model.object_count() > 0, timeout=LONG)
    qtbot.waitUntil(lambda: not window.worker.is_busy, timeout=LONG)


def shot(widget, name, qtbot=None):
    SHOTS.mkdir(parents=True, exist_ok=True)
    if qtbot is not None:
        qtbot.wait(150)  # let new tab contents lay out and paint
    assert widget.grab().save(str(SHOTS / name))


def open_read_dialog(qtbot, window):
    assert window.read_meter_action.isEnabled()
    window.read_meter_action.trigger()
    dialog = window.readings.read_dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def wait_reading_view(qtbot, window) -> ReadingView:
    qtbot.waitUntil(lambda: window.current_reading_view() is not None, timeout=LONG)
    return window.current_reading_view()


def test_full_category_c_read_from_the_dialog(qtbot, window, meter, tmp_path):
    connect(qtbot, window, meter.wrapper_port)
    assert [a.text() for a in window.reading_toolbar.actions()] == [
        "Read &meter (IS 15959)…", "Open &profile view", "&Open reading…", "&Conformance…"]
    dialog = open_read_dialog(qtbot, window)
    assert dialog.chosen_category() == "C" and dialog.days.value() == 7
    assert dialog.chosen_sections() == list(SECTION_TITLES)
    dialog.days.setValue(1)
    shot(dialog, "read_meter_dialog.png", qtbot)
    seen = []
    dialog.relay.progressed.connect(seen.append)
    qtbot.mouseClick(dialog.read_button, Qt.MouseButton.LeftButton)
    assert dialog.running and dialog.stop_button.isEnabled()
    assert not window.read_meter_action.isEnabled()  # busy
    view = wait_reading_view(qtbot, window)
    reading = view.reading
    # progress came on the GUI thread, step by step, up to the whole plan
    assert seen and seen[-1].step == seen[-1].steps and seen[-1].fraction == pytest.approx(1.0)
    assert {p.section for p in seen} >= {"name_plate", "block_load", "events_control"}
    assert not dialog.isVisible() and dialog.result() == dialog.DialogCode.Accepted
    assert reading.complete and not reading.errors, reading.errors
    assert reading.category == "C" and reading.identity.serial
    assert reading.association == "MR" and "127.0.0.1" in reading.connection
    assert set(reading.tables) == set(SECTION_TITLES)
    blocks = len(reading.tables["block_load"].rows)
    assert 94 <= blocks <= 96  # one day of 15-minute intervals (less outages) up to the clock
    # saved at once in the readings folder, shown in the status bar
    saved = list((tmp_path / "readings").glob("*.json"))
    assert len(saved) == 1 and saved[0] == view.path
    assert str(saved[0]) in window.status.currentMessage()
    assert load_reading(saved[0]) == reading
    assert window.settings.value("reading/category") == "C"
    # the view: tabs per section, events with descriptions, charts for the surveys
    window.trace_dock.hide()  # more room for the screenshots
    assert view.sections() == [s for s in SECTION_TITLES if s in reading.tables]
    view.show_section("block_load")
    assert view.models["block_load"].rowCount() == blocks and "block_load" in view.charts
    shot(window, "reading_view_block_load.png", qtbot)
    view.show_section("events_voltage")
    model = view.models["events_voltage"]
    assert "Description" in [model.headerData(c, Qt.Orientation.Horizontal)
                             for c in range(model.columnCount())]
    shot(window, "reading_view_events.png", qtbot)
    view.show_section("instantaneous")
    assert view.models["instantaneous"].rowCount() == len(
        reading.tables["instantaneous"].columns)
    shot(window, "reading_view_instantaneous.png", qtbot)
    # Export with a reading shown → the report dialog, not the attribute export
    assert window.export_action.isEnabled()
    window.export_action.trigger()
    report = window.readings.report_dialog
    qtbot.waitUntil(report.isVisible)
    assert report.reading is reading
    report.reject()


def test_stop_keeps_the_partial_reading(qtbot, window):
    with SimulatedMeter(category="C", seed=12, start=START, days_of_block_load=3,
                        link_baud=9600, max_pdu_size=256) as slow:
        port = slow.serve_tcp()
        connect(qtbot, window, port)
        dialog = open_read_dialog(qtbot, window)
        dialog.set_sections(["block_load", "events"])
        assert dialog.chosen_sections() == ["name_plate", "block_load", *EVENT_SECTIONS]
        dialog.days.setValue(3)
        dialog.start()
        qtbot.waitUntil(lambda: dialog.progress.value() > 0
                        and "Block load" in dialog.message.text()
                        and "row" in dialog.message.text(), timeout=LONG)
        shot(dialog, "read_meter_dialog_running.png", qtbot)
        qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
        view = wait_reading_view(qtbot, window)
    window.trace_dock.hide()
    reading = view.reading
    assert not reading.complete
    block = reading.tables["block_load"]
    assert 0 < len(block.rows) < 3 * 96 and not block.complete
    assert any("cancel" in e.lower() or "stop" in e.lower() for e in reading.errors)
    assert reading.identity.serial  # the name plate came before the Stop
    assert load_reading(view.path) == reading  # the partial reading is saved too
    assert "PARTIAL" in window.status.currentMessage()
    assert view.warning.isVisibleTo(view) and "Partial" in view.warning.text()
    shot(window, "reading_view_partial.png", qtbot)


def test_reopen_saved_reading_and_load_errors(qtbot, window, tmp_path):
    from meterreader.reading.json_io import save_reading
    reading = sample_reading()
    path = save_reading(reading, tmp_path / "saved.json")
    assert window.open_reading_action.isEnabled()  # no meter needed
    view = window.readings.open_reading(path)
    assert view is window.current_reading_view() and view.reading == reading
    assert window.documents.count() == 2
    assert "43464098" in window.documents.tabText(1)
    assert path.name in view.header.text() and "category C" in view.header.text()
    assert view.header.toolTip() == str(path)
    view.show_section("billing")
    assert view.models["billing"].rowCount() == 12 and "billing" in view.charts
    view.show_section("events_voltage")
    model = view.models["events_voltage"]
    texts = [model.data(model.index(r, 2)) for r in range(model.rowCount())]
    assert texts[2] == "unknown event code 999" and "occurrence" in texts[0]
    view.show_section("name_plate")
    assert view.models["name_plate"].data(view.models["name_plate"].index(0, 1)) == "43464098"
    # close the tab: the attribute panel stays (it cannot be closed)
    window.close_document(1)
    window.close_document(0)
    assert window.documents.count() == 1 and window.documents.widget(0) is window.panel
    # a damaged file: a message box naming the file, no tab
    bad = tmp_path / "damaged.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["format_version"] = 99
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert window.readings.open_reading(bad) is None
    box = window.readings.message_box
    qtbot.waitUntil(box.isVisible)
    assert "damaged.json" in box.text()
    shot(box, "open_reading_error.png", qtbot)
    box.accept()
    assert window.documents.count() == 1


def test_report_dialog_writes_every_format(qtbot, window, tmp_path, monkeypatch):
    reading = sample_reading(days=1)
    view = window.readings.show_reading(reading)
    window.export_action.trigger()
    dialog = window.readings.report_dialog
    qtbot.waitUntil(dialog.isVisible)
    out = tmp_path / "reports"
    dialog.folder.setText(str(out))
    assert dialog.formats() == ["csv", "xlsx", "pdf", "xml"]
    shot(dialog, "report_dialog.png", qtbot)
    dialog.start()
    assert dialog.running and not dialog.close_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=LONG)
    assert not dialog.errors, dialog.errors
    names = sorted(p.name for p in out.iterdir())
    stem = dialog.stem
    assert f"{stem}.xlsx" in names and f"{stem}.pdf" in names and f"{stem}.xml" in names
    csvs = [n for n in names if n.endswith(".csv")]
    assert len(csvs) == len(reading.tables)
    assert dialog.results.count() == len(names) == len(dialog.written)
    assert sorted(dialog.results.item(i).text() for i in range(len(names))) == names
    assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert dialog.progress.value() == dialog.progress.maximum() == 4
    assert "written" in dialog.message.text()
    shot(dialog, "report_dialog_done.png", qtbot)
    opened = []
    monkeypatch.setattr("ui.report_dialog.QDesktopServices.openUrl",
                        lambda url: opened.append(url.toLocalFile()) or True)
    assert dialog.open_button.isEnabled()
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(out)]
    dialog.accept()
    assert view is window.current_reading_view()


def test_open_a_class_7_object_in_a_profile_view(qtbot, window, meter):
    assert not window.open_profile_action.isEnabled()
    connect(qtbot, window, meter.wrapper_port)
    assert window.browser.select_obis("0.0.1.0.0.255")  # the clock: not a profile
    assert not window.open_profile_action.isEnabled()
    assert window.browser.select_obis(BLOCK_LOAD)
    assert window.open_profile_action.isEnabled()
    window.open_profile_action.trigger()
    view = window.documents.currentWidget()
    assert type(view).__name__ == "ProfileView" and view.obis == BLOCK_LOAD
    assert window.documents.count() == 2
    # the same object again: the open tab comes to the front
    window.documents.setCurrentIndex(0)
    index = window.browser.view.currentIndex()
    window.browser.view.doubleClicked.emit(index)
    assert window.documents.currentWidget() is view and window.documents.count() == 2
    shot(window, "profile_view_tab.png", qtbot)
    window.close_document(1)
    qtbot.wait(50)
    assert window.documents.count() == 1
    job = window.worker.read_clock()  # busy/progress signals after the view is gone
    qtbot.waitUntil(lambda: job.done, timeout=LONG)
    qtbot.wait(50)
    assert job.error is None


def test_events_with_descriptions_inserts_the_words():
    table = sample_reading(days=1).tables["events_control"]
    described = events_with_descriptions(table)
    assert [c.title for c in described.columns][:3] == [
        "Clock", "Event code — control events", "Description"]
    assert described.rows[0][1:3] == (301, "Load switch disconnected")
