"""The trace pane (batched table model, decode on select, copy/save/load, pause/clear/filter),
the SVG icons and the light/dark palette helper (pytest-qt, offscreen)."""

import json
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QModelIndex, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from meterreader.translator import translate  # noqa: E402
from session_meter import Recorder, build_meter, open_session  # noqa: E402
from ui import icons  # noqa: E402
from ui.trace_model import (TraceFileError, TraceFilter, TraceRecord,  # noqa: E402
                            TraceTableModel, format_time, hex_dump, load_trace, record_from_json,
                            record_to_json)
from ui.trace_pane import TracePane, decode_record  # noqa: E402

SNRM = bytes.fromhex("7EA00A00020401419322D07E")
T0 = 1_700_000_000.25


def rec(data: bytes = SNRM, direction: str = "tx", layer: str = "hdlc", summary: str = "SNRM",
        t: float = T0) -> TraceRecord:
    return TraceRecord(timestamp=t, direction=direction, layer=layer, data=data, summary=summary)


def numbered(n: int, start: int = 0) -> list[TraceRecord]:
    return [rec(data=i.to_bytes(4, "big"), summary=f"#{i}", t=T0 + i)
            for i in range(start, start + n)]


@pytest.fixture
def pane(qtbot):
    widget = TracePane()
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


class Counter:
    def __init__(self, signal):
        self.calls: list[tuple] = []
        signal.connect(lambda *args: self.calls.append(args))

    def __len__(self) -> int:
        return len(self.calls)


def summaries(pane) -> list[str]:
    return [pane.model.record(r).summary for r in range(pane.model.rowCount())]


def tree_values(model) -> list:
    values, stack = [], [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 1, parent)
            values.append(index.data())
            stack.append(model.index(row, 0, parent))
    return values


# --- batching and the ring cap ------------------------------------------------------------------

def test_100k_records_are_batched_not_reset(qtbot, pane):
    model = pane.model
    inserted, resets = Counter(model.rowsInserted), Counter(model.modelReset)
    records = numbered(100_000)
    started = time.perf_counter()
    for i, record in enumerate(records):
        pane.add(record)
        if i % 20_000 == 0:
            QApplication.processEvents()  # the GUI keeps running while records pour in
    qtbot.waitUntil(lambda: model.rowCount() == 100_000, timeout=5000)
    elapsed = time.perf_counter() - started
    assert model.pending_count == 0
    assert resets.calls == []
    assert 1 <= len(inserted) <= 10  # one insertion per timer tick, not one per record
    assert elapsed < 5.0
    # rows are in arrival order and the view follows the newest
    assert model.record(0).summary == "#0" and model.record(99_999).summary == "#99999"
    bar = pane.table.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()
    assert pane.status_text() == "100,000 frames"


def test_records_arrive_by_timer_within_a_tick(qtbot, pane):
    inserted = Counter(pane.model.rowsInserted)
    for record in numbered(5):
        pane.add(record)
    assert pane.model.rowCount() == 0  # nothing per record …
    qtbot.waitUntil(lambda: pane.model.rowCount() == 5, timeout=1000)  # … one batch later
    assert len(inserted) == 1


def test_ring_cap_drops_the_oldest(qtbot):
    pane = TracePane(capacity=1000)
    qtbot.addWidget(pane)
    removed = Counter(pane.model.rowsRemoved)
    for chunk in range(3):
        pane.model.add_many(numbered(800, start=800 * chunk))
        pane.flush()
    assert pane.model.rowCount() == 1000 and pane.model.total() == 1000
    assert pane.model.record(0).summary == "#1400"
    assert pane.model.record(999).summary == "#2399"
    assert pane.model.dropped == 1400
    assert len(removed) == 2  # one removal per batch that overflowed
    assert "1,400 oldest dropped (limit 1,000)" in pane.status_text()
    pane.model.add_many(numbered(2500, start=5000))  # a batch bigger than the cap
    pane.flush()
    assert summaries(pane)[0] == "#6500" and summaries(pane)[-1] == "#7499"
    assert pane.model.rowCount() == 1000


def test_ring_cap_with_a_filter_removes_only_the_dropped_rows(qtbot):
    model = TraceTableModel(capacity=10)
    model.set_filter(TraceFilter(direction="rx"))
    model.add_many([rec(direction="tx" if i % 2 else "rx", summary=f"#{i}") for i in range(10)])
    model.flush()
    assert model.rowCount() == 5
    model.add_many([rec(direction="tx", summary="new") for _ in range(4)])  # drops #0..#3
    model.flush()
    assert [model.record(r).summary for r in range(model.rowCount())] == ["#4", "#6", "#8"]
    model.set_filter(TraceFilter())
    assert model.rowCount() == 10 and model.record(0).summary == "#4"


def test_auto_scroll_stops_when_the_user_scrolls_up(qtbot, pane):
    pane.model.add_many(numbered(2000))
    pane.flush()
    bar = pane.table.verticalScrollBar()
    assert bar.value() == bar.maximum()
    bar.setValue(0)
    pane.model.add_many(numbered(500, start=2000))
    pane.flush()
    assert bar.value() == 0 and bar.maximum() > 0
    bar.setValue(bar.maximum())
    pane.model.add_many(numbered(500, start=2500))
    pane.flush()
    assert bar.value() == bar.maximum()


def test_table_columns(pane):
    pane.add(rec(data=SNRM, direction="rx", layer="apdu", summary="hello", t=T0))
    pane.flush()
    model = pane.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)]
    assert headers == ["Time", "Dir", "Layer", "Length", "Summary"]
    row = [model.index(0, c).data() for c in range(5)]
    assert row == [format_time(T0), "RX ←", "APDU", 12, "hello"]
    assert format_time(T0).endswith(".250") and len(format_time(T0)) == 12
    assert model.index(0, 1).data(Qt.ItemDataRole.ForegroundRole) == QColor("#2e9d5b")


# --- selection shows the decoded tree and the hex dump ------------------------------------------

def test_selecting_hdlc_frames_shows_the_tree_and_dump(pane, vectors):
    frames = [bytes.fromhex(v["hex"]) for v in vectors["hdlc"]]
    pane.add(rec(data=SNRM))
    for i, frame in enumerate(frames):
        pane.add(rec(data=frame, direction="rx" if i % 2 else "tx", summary=f"vector {i}"))
    pane.flush()
    pane.select_row(0)
    value = pane.tree_model.value()
    assert value == translate(SNRM, layer="hdlc")
    assert value["frames"][0]["control"]["frame_type"] == "SNRM"
    assert "SNRM" in tree_values(pane.tree_model)
    assert pane.decode_error() == ""
    assert pane.hex_view.toPlainText() == "000000  7E A0 0A 00 02 04 01 41 93 22 D0 7E" + " " * 12 \
        + "  ~......A.\".~"
    pane.select_row(2)  # the published UA with its parameters
    assert pane.tree_model.value() == translate(frames[1], layer="hdlc")
    assert pane.tree_model.value()["frames"][0]["control"]["frame_type"] == "UA"


def test_selecting_apdus_shows_the_tree(pane, vectors):
    for i, vector in enumerate(vectors["apdu"]):
        pane.add(rec(data=bytes.fromhex(vector["hex"]), direction="rx" if i else "tx",
                     layer="apdu", summary=vector["name"]))
    pane.flush()
    for row, name in ((0, "AARQ"), (1, "AARE")):
        pane.select_row(row)
        value = pane.tree_model.value()
        assert value == translate(bytes.fromhex(vectors["apdu"][row]["hex"]), layer="apdu")
        assert value["apdu"]["pdu"].upper().startswith(name)
        assert pane.tree_model.item_count() > 5 and pane.decode_error() == ""


def test_undecodable_record_shows_an_error_not_an_exception(pane):
    pane.add(rec(data=b"\x7e\xa0\x0a\x00", summary="truncated"))
    pane.add(rec(data=bytes.fromhex("FF00"), layer="apdu", summary="junk"))
    pane.add(rec(data=b"", layer="wrapper", summary="empty"))
    pane.flush()
    for row in range(3):
        pane.select_row(row)  # pytest-qt fails the test on any exception in a slot
        assert pane.decode_error(), row
        assert pane.error_label.isVisibleTo(pane)
        assert pane.tree_model.rowCount() == 0
    pane.select_row(2)
    assert pane.hex_view.toPlainText() == ""
    with pytest.raises(Exception) as info:
        decode_record(rec(data=bytes.fromhex("FF00"), layer="apdu"))
    assert type(info.value).__name__ == "TranslationError"


def test_a_real_session_trace_decodes(qtbot, pane):
    """Every frame and APDU of an HDLC session with the simulator decodes, except the AARQ frame
    whose password bytes the session masked (its FCS no longer matches): an error in place."""
    recorder = Recorder()
    session, _ = open_session(build_meter(), "mr", "hdlc", recorder=recorder)
    session.read_clock()
    for direction, layer, data, summary in recorder.trace:
        pane.add(TraceRecord(timestamp=T0, direction=direction, layer=layer, data=data,
                             summary=summary))
    pane.flush()
    errors = {}
    for row in range(pane.model.rowCount()):
        pane.select_row(row)
        if pane.decode_error():
            errors[pane.model.record(row).summary] = pane.decode_error()
        else:
            assert pane.tree_model.rowCount() > 0
    assert all("FCS" in e for e in errors.values()) and len(errors) <= 1
    assert b"12345678" not in b"".join(r.data for r in pane.model.records())


def test_any_record_shaped_object_and_batches_are_accepted(pane):
    """The pane duck-types its records (TraceRecordLike); add_many takes the worker's batches."""
    from types import SimpleNamespace

    pane.add(SimpleNamespace(timestamp=T0, direction="tx", layer="hdlc", data=SNRM,
                             summary="duck"))
    pane.add_many([rec(summary="batch 1"), rec(summary="batch 2")])
    pane.flush()
    assert summaries(pane) == ["duck", "batch 1", "batch 2"]
    pane.select_row(0)
    assert pane.tree_model.value() == translate(SNRM, layer="hdlc")


# --- copy, save, load ---------------------------------------------------------------------------

def test_ctrl_c_copies_the_hex_of_the_selected_rows(qtbot, pane):
    data = [SNRM, bytes.fromhex("C001C100080000010000FF0200"), b"\x01\x02"]
    for d in data:
        pane.add(rec(data=d))
    pane.flush()
    pane.activateWindow()
    qtbot.waitActive(pane)
    pane.table.setFocus()
    pane.select_row(2)
    qtbot.mouseClick(pane.table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ControlModifier,
                     pane.table.visualRect(pane.model.index(0, 4)).center())
    qtbot.keyClick(pane.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "7EA00A00020401419322D07E\n0102"
    pane.table.selectAll()
    pane.copy_button.click()
    assert QGuiApplication.clipboard().text().splitlines() == [d.hex().upper() for d in data]


def test_save_load_round_trip(pane, tmp_path):
    records = [rec(data=SNRM, t=T0), rec(data=b"\xc4\x01", direction="rx", layer="apdu",
                                         summary="GetResponse «ü»", t=T0 + 0.5)]
    for r in records:
        pane.add(r)
    path = tmp_path / "trace.jsonl"
    assert pane.save_trace(path) == 2  # flushes the pending records first
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"t": T0, "dir": "tx", "layer": "hdlc",
                                    "hex": "7EA00A00020401419322D07E", "summary": "SNRM"}
    pane.clear()
    assert pane.model.rowCount() == 0
    assert pane.load_trace(path) == 2
    assert pane.model.records() == records
    assert load_trace(path) == records


@pytest.mark.parametrize(("bad", "reason"), [
    ("not json", "not JSON"),
    ('["a list"]', "not a JSON object"),
    ('{"t": "x", "dir": "tx", "layer": "hdlc", "hex": "00", "summary": ""}', '"t"'),
    ('{"t": 1, "dir": "up", "layer": "hdlc", "hex": "00", "summary": ""}', '"dir"'),
    ('{"t": 1, "dir": "tx", "layer": "tcp", "hex": "00", "summary": ""}', '"layer"'),
    ('{"t": 1, "dir": "tx", "layer": "hdlc", "hex": "0", "summary": ""}', '"hex"'),
    ('{"t": 1, "dir": "tx", "layer": "hdlc", "hex": "zz", "summary": ""}', '"hex"'),
    ('{"t": 1, "dir": "tx", "layer": "hdlc", "hex": "00", "summary": 5}', '"summary"'),
])
def test_load_reports_the_first_bad_line(pane, tmp_path, bad, reason):
    pane.add(rec(summary="kept"))
    pane.flush()
    path = tmp_path / "bad.jsonl"
    good = record_to_json(rec())
    path.write_text(f"{good}\n\n{good}\n{bad}\n{bad}\n", encoding="utf-8")
    with pytest.raises(TraceFileError) as info:
        pane.load_trace(path)
    assert info.value.line == 4 and reason in str(info.value)
    assert str(info.value).startswith("line 4: ")
    assert summaries(pane) == ["kept"]  # a bad file changes nothing


def test_load_button_shows_the_bad_line_in_place(pane, tmp_path, monkeypatch):
    path = tmp_path / "bad.jsonl"
    path.write_text(record_to_json(rec()) + "\n{oops\n", encoding="utf-8")
    monkeypatch.setattr("ui.trace_pane.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(path), ""))
    pane.load_button.click()
    assert "line 2: not JSON" in pane.message() and pane.message_label.isVisibleTo(pane)
    assert pane.model.rowCount() == 0


def test_record_json_round_trip():
    record = rec(data=bytes(range(256)), summary="all bytes")
    assert record_from_json(record_to_json(record)) == record
    assert record_from_json('{"t": 5, "dir": "rx", "layer": "wrapper", "hex": "0001"}') \
        == TraceRecord(timestamp=5.0, direction="rx", layer="wrapper", data=b"\x00\x01",
                       summary="")


def test_hex_dump_layout():
    dump = hex_dump(b"ABC\x00" * 5).splitlines()
    assert dump[0] == "000000  41 42 43 00 41 42 43 00 41 42 43 00 41 42 43 00  ABC.ABC.ABC.ABC."
    assert dump[1] == "000010  41 42 43 00" + " " * 36 + "  ABC."
    assert hex_dump(b"") == ""


# --- pause, clear, filter -------------------------------------------------------------------------

def test_pause_freezes_the_view_but_keeps_capturing(qtbot, pane, tmp_path):
    pane.add(rec(summary="before"))
    pane.pause_button.click()
    assert pane.is_paused() and pane.pause_button.text() == "Resume"
    assert summaries(pane) == ["before"]  # pausing shows what came before
    for _ in range(3):
        pane.add(rec(summary="during"))
    qtbot.waitUntil(lambda: "paused, 3 new frames held" in pane.status_label.text(),
                    timeout=1000)
    pane.flush()
    assert summaries(pane) == ["before"]  # the view stays still
    saved = tmp_path / "paused.jsonl"
    assert pane.save_trace(saved) == 4  # saving while paused loses nothing
    pane.pause_button.click()
    assert not pane.is_paused() and pane.model.not_shown == 0
    pane.add(rec(summary="after"))
    pane.flush()
    assert summaries(pane) == ["before", "during", "during", "during", "after"]
    assert pane.status_label.text() == "5 frames"


def test_clear_forgets_everything(pane):
    pane.model.add_many(numbered(10))
    pane.flush()
    pane.select_row(3)
    pane.add(rec(summary="pending"))
    pane.clear_button.click()
    pane.flush()
    assert pane.model.rowCount() == 0 and pane.model.records() == []
    assert pane.tree_model.rowCount() == 0 and pane.hex_view.toPlainText() == ""
    assert pane.status_label.text() == "0 frames"


def test_filter_by_direction_layer_and_text(qtbot, pane):
    pane.add(rec(direction="tx", layer="hdlc", summary="SNRM P/F"))
    pane.add(rec(data=b"\xc0\x01\xc1", direction="tx", layer="apdu", summary="GetRequestNormal"))
    pane.add(rec(data=b"\xc4\x01\xc1", direction="rx", layer="apdu", summary="GetResponseNormal"))
    pane.add(rec(direction="rx", layer="hdlc", summary="UA P/F"))
    pane.flush()
    pane.direction_combo.setCurrentIndex(pane.direction_combo.findData("rx"))
    assert summaries(pane) == ["GetResponseNormal", "UA P/F"]
    pane.layer_combo.setCurrentIndex(pane.layer_combo.findData("apdu"))
    assert summaries(pane) == ["GetResponseNormal"]
    assert pane.status_text() == "1 of 4 frames"
    pane.direction_combo.setCurrentIndex(0)
    pane.layer_combo.setCurrentIndex(0)
    qtbot.keyClicks(pane.filter_edit, "getre")  # case-insensitive, applied after typing stops
    qtbot.waitUntil(lambda: summaries(pane) == ["GetRequestNormal", "GetResponseNormal"],
                    timeout=2000)
    pane.filter_edit.setText("C4 01")  # hex bytes match the data
    pane.apply_filter()
    assert summaries(pane) == ["GetResponseNormal"]
    pane.add(rec(data=b"\xc4\x01\x02", direction="rx", layer="apdu", summary="late"))
    pane.add(rec(data=b"\xc0", layer="apdu", summary="late, filtered out"))
    pane.flush()  # new batches are filtered as they arrive
    assert summaries(pane) == ["GetResponseNormal", "late"]
    pane.filter_edit.clear()
    pane.apply_filter()
    assert pane.model.rowCount() == 6


# --- icons and palette ----------------------------------------------------------------------------

def _opaque_pixels(qicon: QIcon, size: int = 24) -> int:
    image = qicon.pixmap(size).toImage()
    assert image.width() == size
    return sum(1 for y in range(image.height()) for x in range(image.width())
               if image.pixelColor(x, y).alpha() > 0)


@pytest.mark.parametrize("name", icons.ICON_NAMES)
def test_every_icon_loads_and_renders(qapp, name):
    qicon = icons.icon(name)
    assert not qicon.isNull()
    assert icons.icon(name) is qicon  # cached
    assert 40 < _opaque_pixels(qicon) < 24 * 24
    assert icons.icon_path(name).read_text().count("currentColor") == 0


def test_every_svg_file_is_a_known_icon():
    files = {p.stem for p in icons.ICON_DIR.glob("*.svg")}
    assert files == set(icons.ICON_NAMES)


def test_stop_icon_is_red(qapp):
    image = icons.icon("stop").pixmap(24).toImage()
    color = image.pixelColor(12, 12)
    assert color.red() > 180 and color.green() < 100 and color.alpha() == 255


def test_unknown_icon_is_a_clear_error():
    with pytest.raises(icons.UnknownIconError, match="unknown icon 'conect'.*connect"):
        icons.icon("conect")
    with pytest.raises(KeyError):
        icons.icon("../meterreader")


def test_palette_helper(qapp, monkeypatch):
    original_style, original_palette = qapp.style().name(), qapp.palette()
    try:
        assert icons.apply_palette(qapp, dark=True, follow=False) is True
        assert qapp.style().name().lower() == "fusion"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        monkeypatch.setattr(icons, "system_prefers_dark", lambda app: None)
        assert icons.is_dark_palette(qapp)  # OS unknown: the palette decides
        assert icons.apply_palette(qapp, dark=False, follow=False) is False
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 128
        assert not icons.is_dark_palette(qapp)
        monkeypatch.setattr(icons, "system_prefers_dark", lambda app: True)
        assert icons.is_dark_palette(qapp)  # the OS setting wins
        assert icons.apply_palette(qapp, follow=False) is True
    finally:
        qapp.setStyle(original_style)
        qapp.setPalette(original_palette)


def test_system_scheme_is_read_from_style_hints(qapp):
    scheme = qapp.styleHints().colorScheme()
    expected = {Qt.ColorScheme.Dark: True, Qt.ColorScheme.Light: False}.get(scheme)
    assert icons.system_prefers_dark(qapp) is expected
