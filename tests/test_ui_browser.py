"""Object browser: the tree model (checked by Qt's QAbstractItemModelTester), grouping, the
OBIS/name filter, selection, and the per-serial object-list cache (pytest-qt, offscreen)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QModelIndex, Qt  # noqa: E402
from PySide6.QtTest import QAbstractItemModelTester  # noqa: E402

from meterreader.client import CosemObjectInfo  # noqa: E402
from meterreader.cosem.interface_classes import (AttributeAccessMode,  # noqa: E402
                                                 MethodAccessMode, class_name)
from meterreader.cosem.obis import Obis  # noqa: E402
from ui.object_browser import (CLASS_ID_ROLE, COUNT_ROLE, INFO_ROLE, KIND_ROLE,  # noqa: E402
                               LABEL_ROLE, OBIS_ROLE, ItemKind, ObjectBrowser, ObjectFilterProxy,
                               ObjectTreeModel, group_text, obis_matches)
from ui.object_cache import ObjectListCache, objects_from_json, objects_to_json  # noqa: E402

RO, RW = AttributeAccessMode.READ_ONLY, AttributeAccessMode.READ_WRITE
OBJECTS = [  # (class_id, version, OBIS, name)
    (8, 0, "0.0.1.0.0.255", "Clock"),
    (1, 0, "0.0.96.1.0.255", "Meter serial number"),
    (1, 0, "0.0.42.0.0.255", "COSEM logical device name"),
    (3, 0, "1.0.32.7.0.255", "Voltage L1"),
    (3, 0, "1.0.1.8.0.255", "Cumulative energy kWh import"),
    (3, 0, "1.0.31.7.0.255", "Current L1"),
    (4, 0, "1.0.1.6.0.255", "Maximum demand kW"),
    (7, 1, "1.0.99.1.0.255", "Block load profile"),
    (7, 1, "1.0.99.2.0.255", "Daily load profile"),
    (9, 0, "0.0.10.0.1.255", "MD reset script"),
    (15, 1, "0.0.40.0.0.255", "Current association"),
    (99, 0, "0.0.128.0.0.255", None),  # a manufacturer class the tables do not know
]


def info(class_id: int, version: int, obis: str, name: str | None) -> CosemObjectInfo:
    return CosemObjectInfo(
        class_id=class_id, version=version, logical_name=Obis.parse(obis),
        attribute_access={1: RO, 2: RW if class_id == 8 else RO},
        method_access={1: MethodAccessMode.ACCESS} if class_id == 9 else {},
        access_selectors={2: (1, 2)} if class_id == 7 else {},
        name=name, class_name=class_name(class_id))


@pytest.fixture
def objects():
    return [info(*row) for row in OBJECTS]


@pytest.fixture
def model(qtbot, objects):
    m = ObjectTreeModel()
    QAbstractItemModelTester(m, QAbstractItemModelTester.FailureReportingMode.Fatal, m)
    m.set_devices([("Logical device 1 · management", objects),
                   ("Logical device 2", objects[:3])])
    return m


def walk(model, parent=QModelIndex()):
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        yield index
        yield from walk(model, index)


def object_rows(model):
    return [i for i in walk(model) if i.data(KIND_ROLE) == ItemKind.OBJECT]


def test_grouped_device_class_object(model, objects):
    assert model.rowCount() == 2 and model.columnCount() == 4
    device = model.index(0, 0)
    assert device.data() == "Logical device 1 · management — 12 objects"
    assert device.data(LABEL_ROLE) == "Logical device 1 · management"
    assert device.data(KIND_ROLE) == ItemKind.DEVICE and device.data(OBIS_ROLE) is None
    assert device.data(COUNT_ROLE) == 12 and model.index(0, 1).data() == ""
    classes = [model.index(r, 0, device) for r in range(model.rowCount(device))]
    assert [c.data(CLASS_ID_ROLE) for c in classes] == [1, 3, 4, 7, 8, 9, 15, 99]
    assert classes[1].data() == "Register (3) — 3 objects"
    assert classes[0].data(COUNT_ROLE) == 2 and classes[1].data(LABEL_ROLE) == "Register (3)"
    assert classes[-1].data() == "class 99 (99) — 1 object"
    registers = [model.index(r, 0, classes[1]) for r in range(3)]
    # objects sorted by OBIS inside their class
    assert [r.data() for r in registers] == ["1.0.1.8.0.255", "1.0.31.7.0.255", "1.0.32.7.0.255"]
    row = registers[0]
    assert [model.index(0, c, classes[1]).data() for c in range(4)] == [
        "1.0.1.8.0.255", "Cumulative energy kWh import", "Register", "0"]
    assert row.data(OBIS_ROLE) == Obis.parse("1.0.1.8.0.255")
    assert row.data(CLASS_ID_ROLE) == 3 and row.data(INFO_ROLE).name.startswith("Cumulative")
    assert model.parent(row) == classes[1] and model.parent(classes[1]) == device
    assert not model.parent(device).isValid()
    assert model.rowCount(model.index(0, 1)) == 0  # rowCount is 0 for column > 0
    assert model.headerData(0, Qt.Orientation.Horizontal) == "OBIS"
    assert model.data(row, Qt.ItemDataRole.DecorationRole) is None  # unhandled role
    assert len(object_rows(model)) == 15 and model.object_count() == 15
    assert model.objects()[:2] == [objects[2], objects[1]] and len(model.objects()) == 15


def test_index_of_and_rows_are_cached(model):
    clock = model.index_of("0.0.1.0.0.255")
    assert clock.data() == "0.0.1.0.0.255" and clock.data(CLASS_ID_ROLE) == 8
    assert model.index_of("0.0.1.0.0.255", device=1).isValid()
    assert not model.index_of("1.0.1.8.0.255", device=1).isValid()
    assert not model.index_of("9.9.9.9.9.9").isValid()
    for index in walk(model):  # every index's cached row agrees with its parent's list
        parent = model.parent(index)
        assert model.index(index.row(), 0, parent) == index


def test_reset_and_clear_keep_the_model_consistent(model, objects):
    model.set_objects(objects[:4], device="LD 1")
    assert model.rowCount() == 1 and model.object_count() == 4
    model.clear()
    assert model.rowCount() == 0 and model.object_count() == 0
    model.set_devices([("empty", [])])
    assert model.rowCount(model.index(0, 0)) == 0


@pytest.mark.parametrize("text, expected", [
    ("1.8.0", {"1.0.1.8.0.255"}),
    ("1-0:32.7", {"1.0.32.7.0.255"}),
    ("0.0.1.0.0.255", {"0.0.1.0.0.255"}),
    ("  CLOCK ", {"0.0.1.0.0.255"}),
    ("profile", {"1.0.99.1.0.255", "1.0.99.2.0.255"}),
    ("voltage l1", {"1.0.32.7.0.255"}),
    ("zzz", set()),
])
def test_filter_by_obis_or_name(model, text, expected):
    proxy = ObjectFilterProxy()
    QAbstractItemModelTester(proxy, QAbstractItemModelTester.FailureReportingMode.Fatal, proxy)
    proxy.setSourceModel(model)
    proxy.set_pattern(text)
    rows = [i.data() for i in object_rows(proxy)]
    in_device2 = {"0.0.1.0.0.255", "0.0.96.1.0.255", "0.0.42.0.0.255"} & expected
    assert set(rows) == expected and len(rows) == len(expected) + len(in_device2)
    # groups stay only when something in them matches
    for index in walk(proxy):
        if index.data(KIND_ROLE) != ItemKind.OBJECT:
            assert proxy.rowCount(index) > 0
    if "1.8.0" == text:  # group rows count what the filter keeps
        device = proxy.index(0, 0)
        assert device.data() == "Logical device 1 · management — 1 of 12 objects"
        assert proxy.index(0, 0, device).data() == "Register (3) — 1 of 3 objects"
    proxy.set_pattern("")
    assert len(object_rows(proxy)) == 15
    assert proxy.index(0, 0).data() == "Logical device 1 · management — 12 objects"


def test_group_text():
    assert group_text("Clock (8)", 1) == "Clock (8) — 1 object"
    assert group_text("Data (1)", 2, 24) == "Data (1) — 2 of 24 objects"
    assert group_text("Data (1)", 0, 1) == "Data (1) — 0 of 1 object"


def test_obis_matches_ignores_case_and_blanks(objects):
    clock = objects[0]
    assert obis_matches("", clock) and obis_matches("  ", clock)
    assert obis_matches("cLoCk", clock) and obis_matches("0-0:1.0.0*255", clock)
    assert not obis_matches("1.8.0", clock)


def test_browser_widget_filters_selects_and_counts(qtbot, objects):
    browser = ObjectBrowser()
    qtbot.addWidget(browser)
    browser.show()
    seen = []
    browser.object_selected.connect(seen.append)
    browser.set_objects(objects, note="read from the meter")
    assert browser.count_label.text() == "12 objects · read from the meter"
    qtbot.keyClicks(browser.filter_edit, "1.8")
    assert browser.visible_object_count() == 1
    assert browser.count_label.text().startswith("1 of 12 objects")
    assert browser.select_obis("1.0.1.8.0.255")
    assert seen[-1].logical_name == Obis.parse("1.0.1.8.0.255")
    assert browser.selected_object() is seen[-1]
    assert not browser.select_obis("0.0.1.0.0.255")  # filtered out
    browser.set_filter("")
    assert browser.filter_edit.text() == "" and browser.visible_object_count() == 12
    assert browser.select_obis("0.0.1.0.0.255") and seen[-1].class_id == 8
    # group rows span every column; selecting one selects "no object"
    assert browser.view.isFirstColumnSpanned(0, QModelIndex())
    assert browser.view.isFirstColumnSpanned(0, browser.proxy.index(0, 0))
    browser.view.setCurrentIndex(browser.proxy.index(0, 0))
    assert seen[-1] is None
    with qtbot.waitSignal(browser.refresh_requested, timeout=1000):
        browser.refresh_button.click()
    browser.clear("Disconnected")
    assert browser.model.rowCount() == 0 and browser.count_label.text() == "Disconnected"


def test_object_list_json_round_trip(objects):
    odd = CosemObjectInfo(class_id=1, version=0, logical_name=Obis.parse("0.0.96.1.9.255"),
                          attribute_access={1: RO, 2: 9},  # 9: no such access mode
                          class_name="Data")
    items = objects + [odd]
    document = json.loads(json.dumps(objects_to_json(items)))
    back = objects_from_json(document)
    assert back == items
    assert back[-1].attribute_access[2] == 9 and back[0].attribute_access[2] is RW
    with pytest.raises(ValueError):
        objects_from_json([{"class_id": 1}])


def test_cache_memory_and_file(tmp_path, objects):
    cache = ObjectListCache(tmp_path / "objects")
    assert cache.get("123", "MR-1") is None
    cache.put("123", "MR-1", objects)
    path = cache.path("123", "MR-1")
    assert path.is_file() and path.name == "123__MR-1.json"
    assert cache.get("123", "MR-1") == objects
    fresh = ObjectListCache(tmp_path / "objects")  # a later run reads the file
    assert fresh.get("123", "MR-1") == objects
    assert fresh.get("123", "US-1") is None and fresh.get("999", "MR-1") is None
    assert cache.path("../x y", "US").name == "_x_y__US.json"  # no path escape
    path.write_text("{not json")
    assert ObjectListCache(tmp_path / "objects").get("123", "MR-1") is None
    cache.forget("123", "MR-1")
    assert cache.get("123", "MR-1") is None and not path.exists()
    memory = ObjectListCache(None)
    memory.put("1", "PC-1", objects[:1])
    assert memory.get("1", "PC-1") == objects[:1] and memory.path("1", "PC-1") is None
