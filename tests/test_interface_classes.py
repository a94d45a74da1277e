"""Interface-class tables, units and access-right enums (meterreader.cosem.interface_classes)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterreader.cosem.interface_classes import (
    AttributeAccessMode,
    AttributeDef,
    ClockBase,
    InterfaceClass,
    MethodAccessMode,
    SortMethod,
    Unit,
    all_interface_classes,
    attribute_access_text,
    attribute_name,
    class_name,
    default_version,
    interface_class,
    known_versions,
    method_access_text,
    method_name,
    unit_symbol,
)

REQUIRED = (1, 3, 4, 5, 6, 7, 8, 9, 11, 15, 17, 18, 19, 20, 21, 22, 23, 40, 41, 42, 64, 70, 71)


@pytest.mark.parametrize("class_id", REQUIRED)
def test_every_listed_class_present(class_id: int) -> None:
    ic = interface_class(class_id)
    assert isinstance(ic, InterfaceClass)
    assert ic.class_id == class_id and ic.version == default_version(class_id)
    assert ic.name and class_name(class_id) == ic.name


@pytest.mark.parametrize("ic", all_interface_classes(), ids=lambda ic: f"{ic.class_id}v{ic.version}")
def test_indexes_contiguous_from_logical_name(ic: InterfaceClass) -> None:
    assert [a.index for a in ic.attributes] == list(range(1, len(ic.attributes) + 1))
    assert [m.index for m in ic.methods] == list(range(1, len(ic.methods) + 1))
    ln = ic.attributes[0]
    assert (ln.name, ln.access_hint, ln.dynamic) == ("logical_name", AttributeAccessMode.READ_ONLY,
                                                     False)
    names = [a.name for a in ic.attributes]
    assert len(set(names)) == len(names)
    assert all(n.isidentifier() for n in names + [m.name for m in ic.methods])
    assert all(a.type_hint for a in ic.attributes) and all(m.params_hint for m in ic.methods)


def test_definitions_are_frozen() -> None:
    attr = interface_class(3).attributes[1]
    assert isinstance(attr, AttributeDef)
    with pytest.raises(dataclasses.FrozenInstanceError):
        attr.name = "x"  # type: ignore[misc]
    assert isinstance(interface_class(3).attributes, tuple)


@pytest.mark.parametrize("class_id, index, name", [
    (1, 2, "value"),
    (3, 2, "value"), (3, 3, "scaler_unit"),
    (4, 4, "status"), (4, 5, "capture_time"),
    (5, 2, "current_average_value"), (5, 3, "last_average_value"), (5, 4, "scaler_unit"),
    (5, 8, "period"), (5, 9, "number_of_periods"),
    (7, 2, "buffer"), (7, 3, "capture_objects"), (7, 4, "capture_period"), (7, 5, "sort_method"),
    (7, 6, "sort_object"), (7, 7, "entries_in_use"), (7, 8, "profile_entries"),
    (8, 2, "time"), (8, 3, "time_zone"), (8, 4, "status"), (8, 5, "daylight_savings_begin"),
    (8, 9, "clock_base"),
    (15, 2, "object_list"), (15, 3, "associated_partners_id"), (15, 4, "application_context_name"),
    (15, 5, "xDLMS_context_info"), (15, 6, "authentication_mechanism_name"), (15, 7, "secret"),
    (15, 8, "association_status"), (15, 9, "security_setup_reference"),
    (17, 2, "SAP_assignment_list"),
    (18, 2, "image_block_size"), (18, 6, "image_transfer_status"),
    (20, 10, "activate_passive_calendar_time"),
    (22, 2, "executed_script"), (22, 4, "execution_time"),
    (23, 2, "comm_speed"), (23, 9, "device_address"),
    (40, 2, "push_object_list"), (40, 7, "repetition_delay"),
    (41, 2, "TCP_UDP_port"), (64, 2, "security_policy"), (64, 5, "server_system_title"),
    (70, 2, "output_state"), (70, 4, "control_mode"), (71, 11, "actions"),
])
def test_attribute_names(class_id: int, index: int, name: str) -> None:
    assert attribute_name(class_id, index) == name


@pytest.mark.parametrize("class_id, index, name", [
    (3, 1, "reset"), (5, 2, "next_period"), (7, 1, "reset"), (7, 2, "capture"),
    (8, 1, "adjust_to_quarter"), (8, 6, "shift_time"), (9, 1, "execute"),
    (15, 1, "reply_to_HLS_authentication"), (15, 2, "change_HLS_secret"), (15, 3, "add_object"),
    (15, 4, "remove_object"), (17, 1, "connect_logical_device"), (18, 1, "image_transfer_initiate"),
    (18, 4, "image_activate"), (20, 1, "activate_passive_calendar"), (40, 1, "push"),
    (64, 1, "security_activate"), (64, 2, "global_key_transfer"), (70, 1, "remote_disconnect"),
    (70, 2, "remote_reconnect"),
])
def test_method_names(class_id: int, index: int, name: str) -> None:
    assert method_name(class_id, index) == name


def test_versions() -> None:
    assert known_versions(15) == (0, 1, 2)
    assert default_version(7) == 1 and default_version(8) == 0 and default_version(15) == 1
    assert len(interface_class(15, 0).attributes) == 8
    assert len(interface_class(15, 1).attributes) == 9
    v2 = interface_class(15, 2)
    assert (v2.attribute(10).name, v2.attribute(11).name) == ("user_list", "current_user")
    assert (v2.method(5).name, v2.method(6).name) == ("add_user", "remove_user")
    assert len(interface_class(7, 0).methods) == 4 and len(interface_class(7, 1).methods) == 2
    assert len(interface_class(40, 0).attributes) == 7
    assert len(interface_class(40, 1).attributes) == 10
    assert interface_class(40, 2).method(2).name == "reset"
    assert interface_class(64, 1).attribute(6).name == "certificates"
    assert interface_class(64, 1).method(2).name == "key_transfer"
    assert interface_class(15, 9) is None and interface_class(999) is None


def test_fallback_names() -> None:
    assert attribute_name(3, 9) == "attribute 9"
    assert attribute_name(999, 4) == "attribute 4"
    assert attribute_name(999, 1) == "logical_name"
    assert method_name(1, 1) == "method 1"
    assert method_name(999, 3) == "method 3"
    assert class_name(999) == "class 999"
    assert class_name(12) == "Association SN"
    # an unknown newer version borrows the highest known lower one
    assert attribute_name(15, 11, version=3) == "current_user"
    assert attribute_name(15, 9, version=0) == "attribute 9"
    assert method_name(15, 5, version=1) == "method 5"


def test_access_hints_and_dynamic_marks() -> None:
    pg = interface_class(7)
    assert pg.attribute(2).dynamic and pg.attribute(7).dynamic and not pg.attribute(3).dynamic
    assert interface_class(15).attribute(7).access_hint is AttributeAccessMode.WRITE_ONLY
    assert interface_class(8).attribute(2).access_hint is AttributeAccessMode.READ_WRITE
    assert interface_class(3).attribute(0) is None and interface_class(3).method(2) is None


@pytest.mark.parametrize("code, symbol", [
    (1, "a"), (2, "mo"), (3, "wk"), (4, "d"), (5, "h"), (6, "min"), (7, "s"), (8, "°"),
    (9, "°C"), (10, "currency"), (11, "m"), (12, "m/s"), (13, "m³"), (27, "W"), (28, "VA"),
    (29, "var"), (30, "Wh"), (31, "VAh"), (32, "varh"), (33, "A"), (34, "C"), (35, "V"),
    (36, "V/m"), (37, "F"), (38, "Ω"), (44, "Hz"), (45, "1/(Wh)"), (46, "1/(varh)"),
    (47, "1/(VAh)"), (48, "V²h"), (49, "A²h"), (56, "%"), (57, "Ah"), (254, "other"),
    (255, "count"),
])
def test_unit_symbols(code: int, symbol: str) -> None:
    assert unit_symbol(code) == symbol
    assert Unit(code).symbol == symbol


def test_unit_table_shape() -> None:
    assert Unit.WATT == 27 and Unit.VOLT == 35 and Unit.HERTZ == 44 and Unit.COUNT == 255
    assert all(unit_symbol(u) for u in Unit)
    assert unit_symbol(58) == "unit 58" and unit_symbol(0) == "unit 0" and unit_symbol(-1)


def test_access_modes() -> None:
    assert [m.value for m in AttributeAccessMode] == list(range(7))
    assert AttributeAccessMode.READ_WRITE.text == "read-write"
    assert AttributeAccessMode.AUTHENTICATED_READ_ONLY.text == "authenticated read-only"
    assert AttributeAccessMode.READ_ONLY.readable and not AttributeAccessMode.READ_ONLY.writable
    assert AttributeAccessMode.AUTHENTICATED_READ_WRITE.writable
    assert not AttributeAccessMode.NO_ACCESS.readable
    assert [m.value for m in MethodAccessMode] == [0, 1, 2]
    assert MethodAccessMode.AUTHENTICATED_ACCESS.text == "authenticated access"
    assert attribute_access_text(3) == "read-write" and attribute_access_text(9) == "access mode 9"
    assert method_access_text(True) == "access" and method_access_text(False) == "no access"
    assert method_access_text(2) == "authenticated access"
    assert method_access_text(7) == "access mode 7"


def test_small_enums() -> None:
    assert [(m.name, m.value) for m in SortMethod] == [
        ("FIFO", 1), ("LIFO", 2), ("LARGEST", 3), ("SMALLEST", 4), ("NEAREST_TO_ZERO", 5),
        ("FARTHEST_FROM_ZERO", 6)]
    assert ClockBase(2) is ClockBase.MAINS_FREQUENCY_50_HZ and ClockBase.GPS == 4


@given(st.integers(-5, 300), st.integers(-5, 300), st.none() | st.integers(0, 5))
def test_name_lookups_never_fail(class_id: int, index: int, version: int | None) -> None:
    assert attribute_name(class_id, index, version)
    assert method_name(class_id, index, version)
    assert class_name(class_id)
