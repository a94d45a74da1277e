"""The desktop translator pane, its JSON tree model and the main window (pytest-qt, offscreen)."""

import json
import logging
import platform

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QModelIndex, Qt, QTimer, qVersion  # noqa: E402
from PySide6.QtGui import QFontDatabase, QGuiApplication, QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QLineEdit  # noqa: E402

from meterreader import __version__  # noqa: E402
from meterreader.cli import DEMO_EXCHANGE  # noqa: E402
from meterreader.translator import translate  # noqa: E402
from ui import app as ui_app  # noqa: E402
from ui.json_tree import (EXPAND_ALL_LIMIT, EXPAND_DEPTH, JSON_PATH_ROLE,  # noqa: E402
                          JSON_VALUE_ROLE, JsonTreeModel, JsonTreeView)
from meterreader.translator import TranslationError  # noqa: E402
from ui.translator_pane import LAYER_CHOICES, TranslatorPane, byte_span, error_span  # noqa: E402

SNRM = "7E A0 0A 00 02 04 01 41 93 22 D0 7E"  # published SNRM (shared/vectors "hdlc")
SNRM_BAD_FCS = "7E A0 0A 00 02 04 01 41 93 22 D1 7E"  # last FCS byte changed


@pytest.fixture
def window(qtbot):
    win = ui_app.build_translator_window()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def pane(window):
    return window.translator


@pytest.fixture
def suite0(vectors):
    return vectors["security_suite0"]


def type_and_decode(qtbot, pane, text):
    pane.hex_edit.clear()
    qtbot.keyClicks(pane.hex_edit, text)
    qtbot.mouseClick(pane.decode_button, Qt.MouseButton.LeftButton)


def tree_texts(model, column=None):
    """Every Display text in the model, depth first."""
    texts, stack = [], [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(model.rowCount(parent)):
            for col in (range(model.columnCount(parent)) if column is None else (column,)):
                texts.append(model.index(row, col, parent).data())
            stack.append(model.index(row, 0, parent))
    return texts


def leaf_values(model):
    """The Value texts of leaves only (branch summaries such as "SNRM" on control excluded)."""
    texts, stack = [], [QModelIndex()]
    while stack:
        parent = stack.pop()
        for row in range(model.rowCount(parent)):
            index = model.index(row, 0, parent)
            if model.rowCount(index) == 0 and not isinstance(index.data(JSON_VALUE_ROLE),
                                                             (dict, list)):
                texts.append(model.index(row, 1, parent).data())
            stack.append(index)
    return texts


def fill_keys(qtbot, pane, suite):
    if not pane.decryption_group.isExpanded():
        qtbot.mouseClick(pane.decryption_group.toggle_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(pane.ek_edit, suite["encryption_key"])
    qtbot.keyClicks(pane.ak_edit, suite["authentication_key"])


# -- decoding ------------------------------------------------------------------------------------

def test_snrm_typed_and_clicked_shows_the_frame(qtbot, pane):
    type_and_decode(qtbot, pane, SNRM)
    values = leaf_values(pane.model)
    assert "SNRM" in values  # control.frame_type
    assert "256" in values  # destination lower HDLC address
    assert "Field" not in tree_texts(pane.model)
    assert pane.error_text() == "" and pane.error_label.isHidden()
    assert pane.result() == translate(SNRM)
    assert pane.summary_label.text() == "12 bytes as HDLC · 1 frame"
    assert pane.copy_button.isEnabled()
    # Small results open fully: the frame type leaf is visible without clicking.
    frame_type = pane.model.find("SNRM")[0]
    parent = frame_type.parent()
    while parent.isValid():
        assert pane.tree.isExpanded(parent)
        parent = parent.parent()


def test_columns_are_field_and_value(pane):
    headers = [pane.model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)]
    assert headers == ["Field", "Value"]


def test_ctrl_return_decodes(qtbot, window, pane):
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.keyClicks(pane.hex_edit, SNRM)
    pane.hex_edit.setFocus()
    qtbot.keyClick(pane.hex_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert pane.model.find("SNRM")
    assert "\n" not in pane.hex_edit.toPlainText()  # the shortcut did not insert a line break


def test_decoded_signal_and_status_bar(qtbot, window, pane):
    pane.hex_edit.setPlainText(SNRM)
    with qtbot.waitSignal(pane.decoded, timeout=1000) as blocker:
        qtbot.mouseClick(pane.decode_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [translate(SNRM)]
    assert window.statusBar().currentMessage() == "Decoded 12 bytes as HDLC · 1 frame"


def test_bad_fcs_shows_red_error_naming_the_offset_and_clears_the_tree(qtbot, pane):
    type_and_decode(qtbot, pane, SNRM)
    assert pane.model.rowCount() > 0
    with qtbot.waitSignal(pane.failed, timeout=1000) as blocker:
        type_and_decode(qtbot, pane, SNRM_BAD_FCS)
    message = pane.error_text()
    assert message == blocker.args[0]
    assert "at byte 9" in message and "FCS" in message
    assert pane.error_label.isVisible()
    assert "#c62828" in pane.error_label.styleSheet()
    assert pane.error_label.palette().color(pane.error_label.foregroundRole()).red() > 150
    assert pane.model.rowCount() == 0 and pane.result() is None
    assert not pane.copy_button.isEnabled()
    assert pane.summary_label.text() == ""
    # The byte the message names (offset 9, "22") is highlighted in the input.
    (selection,) = pane.hex_edit.extraSelections()
    assert selection.cursor.selectedText() == "22"
    # Editing the input removes the highlight; a good decode hides the error.
    type_and_decode(qtbot, pane, SNRM)
    assert pane.error_label.isHidden() and pane.hex_edit.extraSelections() == []


def test_truncated_frame_and_non_hex_input(qtbot, pane):
    type_and_decode(qtbot, pane, "7E A0 0A 00 02 04 01 41 93 22 D0")
    assert "at byte 11" in pane.error_text()
    assert pane.hex_edit.extraSelections() == []  # byte 11 is missing: nothing to highlight
    type_and_decode(qtbot, pane, "7E A0 zz")
    assert "not hex" in pane.error_text()
    (selection,) = pane.hex_edit.extraSelections()
    assert (selection.cursor.selectionStart(), selection.cursor.selectedText()) == (6, "z")
    type_and_decode(qtbot, pane, "   ")
    assert pane.error_text() == "no bytes to decode"


def test_forced_layer(qtbot, pane):
    assert [pane.layer_combo.itemText(i) for i in range(pane.layer_combo.count())] == \
        ["Auto", "HDLC", "Wrapper", "APDU", "Data"]
    assert [value for _, value, _ in LAYER_CHOICES] == [None, "hdlc", "wrapper", "apdu", "data"]
    pane.set_layer("data")
    type_and_decode(qtbot, pane, "09 03 01 02 03")  # A-XDR octet-string
    assert pane.result()["layer"] == "data"
    pane.set_layer("apdu")
    type_and_decode(qtbot, pane, SNRM)
    assert pane.error_text().startswith("APDU")
    with pytest.raises(ValueError):
        pane.set_layer("tcp")


def test_examples_menu_fills_and_decodes(pane):
    actions = pane.examples_button.menu().actions()
    assert len(actions) == len(DEMO_EXCHANGE)
    actions[2].trigger()  # AARQ
    assert pane.hex_edit.toPlainText() == DEMO_EXCHANGE[2][1]
    assert pane.result() == translate(DEMO_EXCHANGE[2][1])


def test_copy_json(qtbot, pane):
    type_and_decode(qtbot, pane, SNRM)
    qtbot.mouseClick(pane.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert json.loads(copied) == translate(SNRM)
    assert copied == pane.json_text() and "\n  " in copied  # indented


def test_copy_value_of_selected_row(pane):
    pane.set_input(SNRM, decode=True)
    (leaf,) = [i for i in pane.model.find("SNRM") if i.data(JSON_VALUE_ROLE) == "SNRM"]
    pane.tree.setCurrentIndex(leaf)
    pane.copy_value_action.trigger()
    assert QGuiApplication.clipboard().text() == "SNRM"


def test_clear(qtbot, pane):
    type_and_decode(qtbot, pane, SNRM)
    qtbot.mouseClick(pane.clear_button, Qt.MouseButton.LeftButton)
    assert pane.hex_edit.toPlainText() == "" and pane.model.rowCount() == 0
    assert pane.result() is None and pane.json_text() == ""


# -- decryption ----------------------------------------------------------------------------------

def test_key_fields_are_password_masked(pane, suite0):
    for edit in (pane.ek_edit, pane.ak_edit, pane.dk_edit):
        assert edit.echoMode() == QLineEdit.EchoMode.Password
        edit.setText(suite0["encryption_key"])
        assert suite0["encryption_key"] not in edit.displayText()
    assert pane.system_title_edit.echoMode() == QLineEdit.EchoMode.Normal  # not a secret


def test_decryption_group_collapsible(qtbot, pane, suite0):
    group = pane.decryption_group
    assert not group.isExpanded() and group.body.isHidden()
    qtbot.mouseClick(group.toggle_button, Qt.MouseButton.LeftButton)
    assert group.isExpanded() and group.body.isVisible() and pane.ek_edit.isVisible()
    pane.ek_edit.setText(suite0["encryption_key"])
    qtbot.mouseClick(group.toggle_button, Qt.MouseButton.LeftButton)
    assert group.body.isHidden()
    assert group.toggle_button.text() == "Decryption  (EK set)"  # names the field, not the key


def test_published_keys_decrypt_general_glo_ciphering(qtbot, pane, suite0):
    vector = suite0["authenticated_encryption_get_request"]
    fill_keys(qtbot, pane, suite0)
    type_and_decode(qtbot, pane, vector["general_glo_ciphering_apdu"])
    values = leaf_values(pane.model)
    assert "GetRequestNormal" in values and "decrypted" in values
    assert "0.0.1.0.0.255" in values  # the clock's logical name inside the plaintext
    assert pane.error_text() == ""


def test_glo_apdu_needs_and_uses_the_system_title(qtbot, pane, suite0):
    vector = suite0["authenticated_encryption_get_request"]
    fill_keys(qtbot, pane, suite0)
    type_and_decode(qtbot, pane, vector["glo_get_request_apdu"])
    assert "does not carry the sender's system title" in pane.result()["apdu"]["content"]
    qtbot.keyClicks(pane.system_title_edit, vector["system_title"])
    qtbot.mouseClick(pane.decode_button, Qt.MouseButton.LeftButton)
    assert "GetRequestNormal" in leaf_values(pane.model)


def test_without_keys_the_apdu_stays_encrypted(qtbot, pane, suite0):
    vector = suite0["authenticated_encryption_get_request"]
    type_and_decode(qtbot, pane, vector["general_glo_ciphering_apdu"])
    assert pane.result()["apdu"]["content"].startswith("encrypted")
    assert "GetRequestNormal" not in tree_texts(pane.model, column=1)


def test_wrong_key_error_never_shows_a_secret(qtbot, window, pane, suite0, caplog):
    caplog.set_level(logging.DEBUG)
    vector = suite0["authenticated_encryption_get_request"]
    wrong = "FF" * 16
    pane.ek_edit.setText(wrong)
    pane.ak_edit.setText(suite0["authentication_key"])
    type_and_decode(qtbot, pane, vector["general_glo_ciphering_apdu"])
    message = pane.error_text()
    assert message.startswith("ciphered APDU at byte 0")
    shown = " ".join([message, window.statusBar().currentMessage(), caplog.text,
                      pane.decryption_group.toggle_button.text(), pane.summary_label.text()])
    for secret in (wrong, suite0["authentication_key"]):
        assert secret.lower() not in shown.lower()


@pytest.mark.parametrize("field, label", [("ek_edit", "EK"), ("ak_edit", "AK"),
                                          ("dk_edit", "DK")])
def test_malformed_key_names_the_field_not_the_text(qtbot, pane, field, label):
    getattr(pane, field).setText("secretZZ")
    type_and_decode(qtbot, pane, SNRM)
    assert pane.error_text().startswith(f"{label}: ")
    assert "secretZZ" not in pane.error_text()
    assert pane.model.rowCount() == 0
    assert pane.hex_edit.extraSelections() == []  # the input is not to blame


def test_malformed_system_title(qtbot, pane):
    pane.system_title_edit.setText("4D4D4D")
    type_and_decode(qtbot, pane, SNRM)
    assert pane.error_text() == "system title: must be 8 bytes (16 hex digits), got 3"


# -- locating errors in the input ---------------------------------------------------------------

@pytest.mark.parametrize("text, offset, span", [
    ("7EA00A", 1, (2, 4)),
    ("7E A0:0A", 2, (6, 8)),
    ("0x7E 0xA0", 1, (7, 9)),
    ("  7e\n a0", 1, (6, 8)),
    ("7E_A0-0A", 2, (6, 8)),
    ("7E A0", 2, None),  # past the end (truncated input)
    ("7E", -1, None),
])
def test_byte_span(text, offset, span):
    assert byte_span(text, offset) == span


@pytest.mark.parametrize("text", ["7E A0 0A 00 02 04 01 41 93 22 D1 7E", "0x7E,0xA0,0x0A,0x00,0x02,"
                                  "0x04,0x01,0x41,0x93,0x22,0xD1,0x7E"])
def test_error_span_uses_the_translation_error_offset(text):
    with pytest.raises(TranslationError) as info:
        translate(text)
    start, end = error_span(text, info.value)
    assert text[start:end].replace("0x", "") == "22"  # byte 9, named by the FCS error


@pytest.mark.parametrize("text, message, span", [
    ("7E A0 zz", "not hex: 'z' at column 7 of the input", (6, 7)),
    ("7EA", "odd number of hex digits (3): the digit at column 3 has no partner", (2, 3)),
    ("7EA00A", "HDLC: x at byte 1 (y)", (2, 4)),  # an error without .offset
    ("7E", "no bytes to decode", None),
    ("7E", "not hex: at column 9", None),
])
def test_error_span_from_the_message(text, message, span):
    assert error_span(text, TranslationError(message)) == span


# -- JSON tree model -----------------------------------------------------------------------------

def test_json_model_passes_qt_model_tester(qtmodeltester):
    model = JsonTreeModel()
    model.set_value({"a": [1, {"b": None, "c": "x"}], "d": {}, "e": True})
    qtmodeltester.check(model, force_py=True)


def test_json_model_structure():
    model = JsonTreeModel()
    model.set_value({"frames": [{"pdu": "HdlcAddress", "lower": 256}], "flag": False, "n": None})
    assert model.rowCount() == 3 and model.columnCount() == 2
    frames = model.index(0, 0)
    assert frames.data() == "frames" and model.index(0, 1).data() == "[1 item]"
    assert model.rowCount(model.index(0, 1)) == 0  # only column 0 has children
    first = model.index(0, 0, frames)
    assert first.data() == "[0]" and first.siblingAtColumn(1).data() == "HdlcAddress"
    assert model.parent(first) == frames and not model.parent(frames).isValid()
    lower = model.index(1, 1, first)
    assert lower.data() == "256" and lower.data(JSON_VALUE_ROLE) == 256
    assert lower.data(JSON_PATH_ROLE) == "frames[0].lower"
    assert model.index(1, 1).data() == "false" and model.index(2, 1).data() == "null"
    assert model.item_count() == 6  # frames, [0], pdu, lower, flag, n
    assert not model.index(5, 0).isValid() and not model.index(0, 2).isValid()
    model.clear()
    assert model.rowCount() == 0 and model.value() is None


def test_json_model_scalar_and_list_roots():
    model = JsonTreeModel()
    model.set_value(7)
    assert model.index(0, 0).data() == "value" and model.index(0, 1).data() == "7"
    model.set_value(["a", "b"])
    assert [model.index(r, 0).data() for r in range(2)] == ["[0]", "[1]"]


def test_json_view_expands_big_values_only_to_a_depth(qtbot):
    view = JsonTreeView()
    qtbot.addWidget(view)
    model = JsonTreeModel(view)
    view.setModel(model)
    deep = {"a": {"b": {"c": {"d": 1}}}}
    view.show_value(deep)
    leaf_parent = model.index(0, 0, model.index(0, 0, model.index(0, 0)))
    assert view.isExpanded(leaf_parent)  # small: everything open
    big = {"rows": [{"entry": {"inner": {"value": i}}} for i in range(EXPAND_ALL_LIMIT)], **deep}
    view.show_value(big)
    assert model.item_count() > EXPAND_ALL_LIMIT
    depth = [model.index(1, 0)]  # "a"
    while model.rowCount(depth[-1]):
        depth.append(model.index(0, 0, depth[-1]))
    assert [view.isExpanded(i) for i in depth[:-1]] == \
        [level <= EXPAND_DEPTH for level in range(len(depth) - 1)]
    bare = JsonTreeView()  # no model
    qtbot.addWidget(bare)
    with pytest.raises(TypeError):
        bare.show_value({})


# -- main window ---------------------------------------------------------------------------------

def test_build_main_window(window):
    app = QApplication.instance()
    assert window.windowTitle() == "meterreader — protocol translator"
    assert isinstance(window.centralWidget(), TranslatorPane)
    assert window.statusBar() is not None and window.statusBar().isVisible()
    assert (window.width(), window.height()) == (1100, 750)
    assert app.applicationName() == "meterreader" and app.organizationName() == "meterreader"
    assert ui_app.ICON_PATH.is_file()
    assert ui_app.ICON_PATH == ui_app.RESOURCES / "icons" / "meterreader.svg"
    assert not app.windowIcon().isNull()
    assert not app.windowIcon().pixmap(32, 32).toImage().isNull()


def test_about_shows_versions(qtbot, window):
    text = ui_app.about_text()
    assert __version__ in text and qVersion() in text and platform.python_version() in text
    assert window.about_action in window.menuBar().actions()[-1].menu().actions()
    window.about_action.trigger()  # opens window-modally, does not block
    box = window.about_box
    assert box.isVisible() and __version__ in box.text()
    box.close()


def test_fonts_exist():
    assert QFontDatabase.families()
    assert ui_app.check_fonts()


def test_check_fonts_explains_missing_fonts(monkeypatch, capsys):
    monkeypatch.setattr(ui_app.QFontDatabase, "families", staticmethod(lambda *a: []))
    assert not ui_app.check_fonts()
    err = capsys.readouterr().err
    assert "no fonts" in err and "fonts-dejavu-core" in err


def test_main_runs_the_event_loop_and_returns_its_code(tmp_path):
    """Run in a child process: once a QApplication's exec() has returned, Qt treats the process
    as closing down, which would starve the event loop of every later test in this one."""
    import subprocess
    import sys
    script = (
        "import os\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtCore import QTimer\n"
        "import ui.app as ui_app\n"
        "app = ui_app.create_application([])\n"
        "titles = []\n"
        "def close_and_quit():\n"
        "    try:\n"
        "        titles.extend(w.windowTitle() for w in app.topLevelWidgets()\n"
        "                      if isinstance(w, ui_app.MainWindow) and w.isVisible())\n"
        "    finally:\n"
        "        app.exit(3)\n"
        "QTimer.singleShot(200, close_and_quit)\n"
        "code = ui_app.main([])\n"
        "print(code, titles)\n"
    )
    env = {**__import__("os").environ, "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_CACHE_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    code, _, titles = proc.stdout.strip().partition(" ")
    assert code == "3" and "meterreader" in titles


def test_window_grab_is_a_real_picture(qtbot, window, pane, tmp_path):
    pane.set_input(SNRM, decode=True)
    qtbot.wait(10)
    path = tmp_path / "translator.png"
    assert window.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 1000 and image.height() >= 700
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 20  # text, frames and highlights, not a blank canvas
