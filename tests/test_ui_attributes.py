"""Attribute panel with fake data: rows from the IC tables and the association's rights, value
formatting (scaler/unit), errors in place, typed editors that validate before anything is sent,
and the Write / Action flows against a fake worker (pytest-qt, offscreen)."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Qt, QTimer, Signal  # noqa: E402

from meterreader.client import AccessDenied, CosemObjectInfo, ObjectUndefined  # noqa: E402
from meterreader.cosem.interface_classes import (AttributeAccessMode,  # noqa: E402
                                                 MethodAccessMode, class_name)
from meterreader.cosem.obis import Obis  # noqa: E402
from meterreader.dlms.axdr import D, Data, DataTag  # noqa: E402
from meterreader.dlms.cosem_time import CosemDateTime  # noqa: E402
from meterreader.dlms.xdlms import ActionResult, DataAccessResult  # noqa: E402
from ui.attribute_panel import AttributePanel  # noqa: E402
from ui.parameter_editor import ParameterEditor, tag_from_hint  # noqa: E402
from ui.value_editor import (DateTimeEditor, IntegerEditor, OctetStringEditor,  # noqa: E402
                             RawEditor, StringEditor, editor_for)
from ui.value_format import (error_text, format_data, format_quantity,  # noqa: E402
                             format_scaler_unit, type_text)

RO, RW, NA = (AttributeAccessMode.READ_ONLY, AttributeAccessMode.READ_WRITE,
              AttributeAccessMode.NO_ACCESS)
VOLTAGE = Obis.parse("1.0.32.7.0.255")
CLOCK = Obis.parse("0.0.1.0.0.255")
SCRIPT = Obis.parse("0.0.10.0.1.255")


def make(class_id, obis, name, attributes, methods=None, version=0):
    return CosemObjectInfo(class_id=class_id, version=version, logical_name=obis,
                           attribute_access=attributes, method_access=methods or {},
                           name=name, class_name=class_name(class_id))


REGISTER = make(3, VOLTAGE, "Voltage L1", {1: RO, 2: RO, 3: RO}, {1: MethodAccessMode.NO_ACCESS})
CLOCK_INFO = make(8, CLOCK, "Clock", {1: RO, 2: RW, 3: RW, 4: RO, 5: RO, 6: RO, 7: RO, 8: RO,
                                      9: NA})
SCRIPT_INFO = make(9, SCRIPT, "MD reset script", {1: RO, 2: RO}, {1: MethodAccessMode.ACCESS})


class FakeJob(QObject):
    finished = Signal(object)
    failed = Signal(object)


class FakeWorker(QObject):
    """Answers from ``values`` (Data, a DataAccessResult, or an exception to fail with)."""

    def __init__(self, values):
        super().__init__()
        self.values = dict(values)
        self.calls = []
        self.jobs = []  # strong references until settled (Qt holds none on Python callables)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._settle)

    def _later(self, outcome):
        job = FakeJob(self)
        self.jobs.append((job, outcome))
        self._timer.start()
        return job

    def _settle(self):
        pending, self.jobs = self.jobs, []
        self._timer.stop()
        for job, outcome in pending:
            if isinstance(outcome, BaseException):
                job.failed.emit(outcome)
            else:
                job.finished.emit(outcome)

    def get(self, class_id, obis, attr, selection=None):
        self.calls.append(("get", obis, attr))
        return self._later(self.values.get((obis, attr), ObjectUndefined("no such attribute",
                           result=DataAccessResult.OBJECT_UNDEFINED)))

    def get_many(self, targets):
        self.calls.append(("get_many", tuple(a for _c, _o, a in targets)))
        out = []
        for _c, obis, attr in targets:
            value = self.values.get((obis, attr), DataAccessResult.OBJECT_UNDEFINED)
            out.append(DataAccessResult.READ_WRITE_DENIED if isinstance(value, BaseException)
                       else value)
        return self._later(out)

    def set(self, class_id, obis, attr, value):
        self.calls.append(("set", obis, attr, value))
        outcome = self.values.get(("set", obis, attr))
        if outcome is None:
            self.values[(obis, attr)] = value
        return self._later(outcome)

    def action(self, class_id, obis, method, params=None):
        self.calls.append(("action", obis, method, params))
        return self._later(self.values.get(("action", obis, method)))


@pytest.fixture
def worker():
    return FakeWorker({
        (VOLTAGE, 1): D.octet_string(bytes(VOLTAGE)),
        (VOLTAGE, 2): D.long_unsigned(23052),
        (VOLTAGE, 3): D.structure(D.integer(-2), D.enum(35)),
        (CLOCK, 2): D.octet_string(bytes(CosemDateTime(year=2024, month=3, day=10, day_of_week=7,
                                                       hour=12, minute=0, second=5, hundredths=0,
                                                       deviation=-330, clock_status=0))),
        (CLOCK, 3): D.long(-330),
        (CLOCK, 4): AccessDenied("denied", result=DataAccessResult.READ_WRITE_DENIED),
        ("set", CLOCK, 4): AccessDenied("writing: read-write-denied",
                                        result=DataAccessResult.READ_WRITE_DENIED),
    })


@pytest.fixture
def panel(qtbot, worker):
    p = AttributePanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    p.set_worker(worker)
    p.set_connected(True)
    return p


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel._jobs, timeout=3000)


# -- formatting ------------------------------------------------------------------------------------

def test_format_values_and_types():
    assert format_quantity(D.long_unsigned(23052), D.structure(D.integer(-2), D.enum(35))) \
        == "230.52 V"
    assert format_quantity(D.double_long_unsigned(1234), D.structure(D.integer(3), D.enum(30))) \
        == "1234000 Wh"
    assert format_quantity(D.long_unsigned(7), D.structure(D.integer(0), D.enum(255))) == "7"
    assert format_quantity(D.long_unsigned(7), None) == "7"
    assert format_quantity(D.visible_string("x"), D.structure(D.integer(1), D.enum(35))) == '"x"'
    assert format_scaler_unit(D.structure(D.integer(-2), D.enum(35))) == "×10^-2 V (unit 35)"
    assert format_scaler_unit(D.long(1)) == "1"
    assert format_data(D.octet_string(bytes(CLOCK))) == "0.0.1.0.0.255 (00 00 01 00 00 FF)"
    assert format_data(D.octet_string(b"SIM0001")) == '"SIM0001"'
    when = CosemDateTime(year=2024, month=3, day=10, hour=12, minute=0, second=5,
                         deviation=-330, clock_status=0)
    assert format_data(D.octet_string(bytes(when))) == "2024-03-10 12:00:05.** dev -330"
    assert format_data(D.date_time(CosemDateTime(year=2024))) == "2024-**-** **:**:**.**"
    assert format_data(D.structure(D.boolean(True), D.null(), D.float32(1.5))) \
        == "{true, null, 1.5}"
    big = D.array(*[D.unsigned(i) for i in range(20)])
    assert format_data(big) == "[0, 1, 2, 3, 4, 5, 6, 7, … 12 more]"
    assert len(format_data(D.octet_string(bytes(300)), limit=50)) == 50
    assert type_text(big) == "array[20]" and type_text(D.structure(D.null())) == "structure{1}"
    assert type_text(D.octet_string(b"abc")) == "octet-string[3]"
    assert type_text(D.long_unsigned(1)) == "long-unsigned"


def test_error_text_is_the_standard_result_name():
    assert error_text(AccessDenied("reading x: denied",
                                   result=DataAccessResult.READ_WRITE_DENIED)) \
        == "read-write-denied"
    assert error_text(ObjectUndefined("x", result=ActionResult.OBJECT_UNDEFINED)) \
        == "object-undefined"
    assert error_text(ConnectionError("link down\nmore")) == "link down"
    assert error_text(RuntimeError("")) == "RuntimeError"


# -- editors ---------------------------------------------------------------------------------------

def test_integer_editor_ranges(qtbot):
    editor = editor_for(D.long_unsigned(900))
    qtbot.addWidget(editor)
    assert isinstance(editor, IntegerEditor) and editor.edit.text() == "900"
    for text, ok in (("65535", True), ("65536", False), ("-1", False), ("0x10", True),
                     ("12a", False), ("", False)):
        editor.edit.setText(text)
        assert editor.validate() is ok, text
        assert (editor.error == "") is ok
        assert bool(editor.edit.property("invalid")) is not ok
    editor.edit.setText("65536")
    assert not editor.validate() and "out of range for long-unsigned (0 … 65535)" in editor.error
    editor.edit.setText("0x10")
    assert editor.validate() and editor.data() == D.long_unsigned(16)
    signed = editor_for(tag=DataTag.INTEGER)
    qtbot.addWidget(signed)
    signed.edit.setText("-128")
    assert signed.data() == D.integer(-128)
    signed.edit.setText("128")
    assert not signed.validate()


def test_octet_string_and_string_editors(qtbot):
    octets = editor_for(D.octet_string(b"\x01\x02"))
    qtbot.addWidget(octets)
    assert isinstance(octets, OctetStringEditor) and octets.edit.text() == "01 02"
    octets.edit.setText("0A:0b-FF")
    assert octets.data() == D.octet_string(b"\x0a\x0b\xff")
    octets.edit.setText('"ABC"')
    assert octets.data() == D.octet_string(b"ABC")
    octets.edit.setText("ABC")
    assert not octets.validate() and "odd number of hex digits" in octets.error
    octets.edit.setText("GG")
    assert not octets.validate() and "hex digits only" in octets.error
    text = editor_for(D.visible_string("abc"))
    qtbot.addWidget(text)
    assert isinstance(text, StringEditor)
    text.edit.setText("é")
    assert not text.validate() and "printable ASCII" in text.error
    text.edit.setText("ok 1")
    assert text.data() == D.visible_string("ok 1")


def test_date_time_editor_with_wildcards(qtbot):
    raw = D.octet_string(bytes(CosemDateTime(year=2024, month=3, day=10, day_of_week=7, hour=1,
                                             minute=2, second=3, hundredths=0, deviation=-330,
                                             clock_status=0)))
    editor = editor_for(raw)
    qtbot.addWidget(editor)
    assert isinstance(editor, DateTimeEditor) and editor.as_octets
    assert editor.data() == raw  # round trip through the fields
    for name in ("year", "day_of_week", "hundredths", "deviation", "clock_status"):
        editor.edits[name].setText("*")
    value = CosemDateTime.from_bytes(editor.data().value)
    assert value.year == 0xFFFF and value.day_of_week == 0xFF and not value.deviation_specified
    assert value.clock_status == 0xFF and value.hour == 1
    editor.edits["month"].setText("13")
    assert not editor.validate() and editor.error == "Month must be 1 … 12 or *"
    editor.edits["month"].setText("254")  # DST begin is a legal special value
    assert editor.validate()
    editor.edits["minute"].setText("x")
    assert not editor.validate() and "Min" in editor.error
    editor.set_now()
    now = CosemDateTime.from_bytes(editor.data().value)
    assert abs(now.year - dt.datetime.now().year) <= 1 and now.deviation_specified
    typed = editor_for(tag=DataTag.DATE_TIME)
    qtbot.addWidget(typed)
    assert typed.data().tag is DataTag.DATE_TIME


def test_raw_editor_and_fallback(qtbot):
    editor = editor_for(D.structure(D.integer(-2), D.enum(35)))
    qtbot.addWidget(editor)
    assert isinstance(editor, RawEditor) and editor.edit.text() == "02 02 0F FE 16 23"
    assert editor.data() == D.structure(D.integer(-2), D.enum(35))
    assert editor.preview.text() == "structure{2}: {-2, 35}"
    editor.edit.setText("02 02 0F")
    assert not editor.validate() and "not a valid A-XDR value" in editor.error
    editor.edit.setText("12 00 05 00")
    assert not editor.validate() and "1 byte(s) after the end" in editor.error


def test_parameter_editor_types_and_hints(qtbot):
    assert tag_from_hint("long-unsigned (script_identifier)") == (DataTag.LONG_UNSIGNED, "")
    assert tag_from_hint("integer (0)") == (DataTag.INTEGER, "0")
    assert tag_from_hint("structure {x}") == (None, "")
    assert tag_from_hint("octet-string[6] (OBIS)") == (DataTag.OCTET_STRING, "")
    assert tag_from_hint("array of structure") == (None, "")
    editor = ParameterEditor()
    qtbot.addWidget(editor)
    assert editor.data() == Data(DataTag.NULL_DATA)
    editor.set_hint("long-unsigned (script_identifier)")
    assert editor.type_combo.currentText() == "long-unsigned"
    editor.editor.edit.setText("1")
    assert editor.data() == D.long_unsigned(1)
    editor.editor.edit.setText("70000")
    assert not editor.validate() and "out of range" in editor.error
    editor.set_type(None)
    assert isinstance(editor.editor, RawEditor)
    editor.set_hint("integer (0)")
    assert editor.data() == D.integer(0)


# -- the panel -------------------------------------------------------------------------------------

def texts(view, column):
    model = view.model()
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_rows_from_ic_table_and_rights(panel):
    panel.set_object(CLOCK_INFO)
    assert texts(panel.attribute_view, 1)[:3] == ["logical_name", "time", "time_zone"]
    assert len(texts(panel.attribute_view, 0)) == 9
    assert texts(panel.attribute_view, 2)[:3] == ["read-only", "read-write", "read-write"]
    assert texts(panel.attribute_view, 2)[8] == "no access"
    assert texts(panel.method_view, 1)[:2] == ["adjust_to_quarter", "adjust_to_measuring_period"]
    assert texts(panel.method_view, 2)[0] == "not listed"
    assert "CLOCK" not in panel.title.text() and "0.0.1.0.0.255" in panel.title.text()
    assert panel.selected_attribute() == 2  # the first value attribute is preselected
    panel.set_object(SCRIPT_INFO)
    assert texts(panel.method_view, 2) == ["access"]
    panel.set_object(None)
    assert panel.attributes.rowCount() == 0 and panel.methods.rowCount() == 0


def test_read_all_applies_scaler_and_unit(qtbot, panel, worker):
    panel.set_object(REGISTER)
    assert panel.read_all()
    assert panel.attribute_text(2) == "reading…"
    settle(qtbot, panel)
    assert worker.calls[-1] == ("get_many", (1, 2, 3))
    assert panel.attribute_text(2) == "230.52 V"
    assert panel.attribute_text(3) == "×10^-2 V (unit 35)"
    assert panel.attribute_text(1).startswith("1.0.32.7.0.255")
    assert texts(panel.attribute_view, 4) == ["octet-string[6]", "long-unsigned", "structure{2}"]
    rows = panel.export_rows()
    assert rows[1]["value"] == "230.52 V" and rows[1]["data"] == {"type": "long-unsigned",
                                                                  "value": 23052}
    # going away and back keeps what was read
    panel.set_object(CLOCK_INFO)
    panel.set_object(REGISTER)
    assert panel.attribute_text(2) == "230.52 V"


def test_errors_are_shown_in_place(qtbot, panel):
    panel.set_object(CLOCK_INFO)
    panel.read_all()  # attribute 4 is refused: the others still show
    settle(qtbot, panel)
    assert panel.attribute_text(4) == "read-write-denied"
    assert panel.attribute_text(3) == "-330"
    assert panel.attribute_text(5) == "object-undefined"
    model = panel.attributes
    row = model.row_of(4)
    assert model.index(row, 3).data(Qt.ItemDataRole.ForegroundRole).color().name() == "#d32f2f"
    panel.read_attribute(4)
    settle(qtbot, panel)
    assert panel.attribute_text(4) == "read-write-denied"
    assert "denied" in model.index(row, 3).data(Qt.ItemDataRole.ToolTipRole)
    panel.read_attribute(9)  # no access, still asked: the meter has the last word
    settle(qtbot, panel)
    assert panel.attribute_text(9) == "object-undefined"


def test_write_validates_then_sends_and_reads_back(qtbot, panel, worker):
    panel.set_object(CLOCK_INFO)
    panel.read_all()
    settle(qtbot, panel)
    panel.select_attribute(3)
    assert panel.begin_write()
    editor = panel.editor
    assert isinstance(editor, IntegerEditor) and editor.tag is DataTag.LONG
    assert editor.edit.text() == "-330" and panel.edit_box.isVisible()
    calls = len(worker.calls)
    editor.edit.setText("40000")  # out of range for long: flagged, nothing sent
    assert not panel.commit_edit()
    assert len(worker.calls) == calls and "out of range" in editor.error
    assert "nothing was sent" in panel.edit_message.text()
    editor.edit.setText("-300")
    qtbot.keyClick(editor.edit, Qt.Key.Key_Return)  # Enter sends
    settle(qtbot, panel)
    assert ("set", CLOCK, 3, D.long(-300)) in worker.calls
    assert worker.calls[-1] == ("get", CLOCK, 3)
    assert panel.attribute_text(3) == "-300  (written)"
    assert panel.edit_message.text() == "Written; reading it back."
    panel.cancel_edit()
    assert panel.editor is None and not panel.edit_box.isVisible()


def test_write_refused_and_unread_attribute_uses_the_hint(qtbot, panel, worker):
    panel.set_object(CLOCK_INFO)
    assert panel.begin_write(4)  # never read: typed from the IC hint "unsigned (…)"
    assert isinstance(panel.editor, IntegerEditor) and panel.editor.tag is DataTag.UNSIGNED
    panel.begin_write(5)  # "octet-string (date-time)"
    assert isinstance(panel.editor, DateTimeEditor) and panel.editor.as_octets
    panel.begin_write(9)  # "enum (ClockBase)": a list of the Blue Book names
    assert panel.editor.combo.itemText(0) == "0 not defined"
    panel.begin_write(1)  # "octet-string[6] (OBIS)"
    assert isinstance(panel.editor, OctetStringEditor)
    panel.cancel_edit()
    panel.store.cell("a", CLOCK, 4).value = D.unsigned(0)
    panel.begin_write(4)
    panel.editor.edit.setText("1")
    assert panel.commit_edit()
    settle(qtbot, panel)
    assert panel.attribute_text(4) == "read-write-denied"
    assert panel.edit_message.text().startswith("Not written:")


def test_action_with_parameter(qtbot, panel, worker):
    panel.set_object(SCRIPT_INFO)
    panel.select_method(1)
    assert panel.begin_action()
    editor = panel.editor
    assert isinstance(editor, ParameterEditor)
    assert editor.type_combo.currentText() == "long-unsigned"
    editor.editor.edit.setText("1")
    assert panel.commit_edit()
    settle(qtbot, panel)
    assert worker.calls[-1] == ("action", SCRIPT, 1, D.long_unsigned(1))
    assert panel.method_text(1) == "success"
    worker.values[("action", SCRIPT, 1)] = AccessDenied(
        "invoking: read-write-denied", result=ActionResult.READ_WRITE_DENIED)
    panel.begin_action(1)
    panel.editor.set_type(DataTag.NULL_DATA)
    panel.commit_edit()
    settle(qtbot, panel)
    assert worker.calls[-1] == ("action", SCRIPT, 1, None)  # null-data = no parameter
    assert panel.method_text(1) == "read-write-denied"


def test_nothing_is_sent_while_disconnected(panel, worker):
    panel.set_object(REGISTER)
    panel.set_connected(False)
    assert not panel.read_all() and not panel.read_selected() and not panel.begin_write()
    assert not panel.begin_action(1) and worker.calls == []


def test_enum_attributes_are_named_and_edited_from_a_list(qtbot, panel, worker):
    worker.values[(CLOCK, 9)] = D.enum(1)
    info = make(8, CLOCK, "Clock", {9: RW})
    panel.set_object(info)
    panel.read_attribute(9)
    settle(qtbot, panel)
    assert panel.attribute_text(9) == "1 (internal crystal)"
    panel.begin_write(9)
    editor = panel.editor
    assert editor.combo is not None and editor.combo.currentText() == "1 internal crystal"
    editor.combo.setCurrentIndex(editor.combo.findData(2))
    assert editor.data() == D.enum(2)
    editor.combo.setEditText("300")
    assert not editor.validate() and "out of range for enum" in editor.error
