"""IS 15959 knowledge package: associations, category catalogues, profiles, events, scalers."""

import math
import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterreader.cosem.interface_classes import SortMethod, Unit, interface_class
from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.axdr import D, DataTag, decode_data, encode_data
from meterreader.dlms.errors import LocalProtocolError, RemoteProtocolError
from meterreader.india import (
    ASSOCIATIONS, CODE_RANGES, DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD, EVENT_CODES,
    MANAGEMENT_LOGICAL_DEVICE, MD_RESET_METHOD, MD_RESET_SCRIPT_ID, MD_RESET_SCRIPT_TABLE,
    SERVER_PHYSICAL_ADDRESS, WRAPPER_PORT, EventCompartment, MeterCategory,
    association_by_client_sap, association_by_ln, association_by_name, compartment_of,
    compartment_of_block, describe_event, find_object, get_association, mandatory_objects,
    profile,
)
from meterreader.india.catalogue import catalogue, data_profiles_of, profiles
from meterreader.india.catalogue_types import VALUE_KINDS, object_def
from meterreader.india.events import compartment_by_obis, events_of
from meterreader.india.profiles import (
    apply_scaler, column_title, scaled_row, scalers_from_scaler_profile, titles_for,
)
from shared_data import shared_file

OBIS_IN_TEXT = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){5}(?![\d.])")
CATEGORIES = list(MeterCategory)
SCALED = {3, 4, 5}


def all_profiles():
    return [(c, p) for c in CATEGORIES for p in profiles(c)]


# --- catalogue vs the shared IS 15959 notes -------------------------------------------------------

def test_every_is15959_code_is_in_some_catalogue() -> None:
    codes = set(OBIS_IN_TEXT.findall(shared_file("IS15959.md").read_text(encoding="utf-8")))
    assert len(codes) >= 40
    known = {str(o.obis) for c in CATEGORIES for o in catalogue(c)}
    assert sorted(codes - known) == []


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_event_log_and_event_code_object_is_present(category) -> None:
    for e in range(7):
        assert find_object(category, f"0.0.99.98.{e}.255").class_id == 7
        assert find_object(category, f"0.0.96.11.{e}.255").class_id == 1


@pytest.mark.parametrize("category", CATEGORIES)
def test_logical_names_are_unique(category) -> None:
    objs = catalogue(category)
    assert len({o.obis for o in objs}) == len(objs)
    assert len({p.obis for p in profiles(category)}) == len(profiles(category))


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_object_has_an_interface_class_table(category) -> None:
    for obj in catalogue(category):
        ic = interface_class(obj.class_id, obj.version)
        assert ic is not None, obj
        for assoc, attrs in obj.access.items():
            assert assoc in {"PC", "MR", "US"}
            assert set(attrs) <= set(range(1, len(ic.attributes) + 1)), obj
            assert set(attrs.values()) <= {"-", "r", "w", "rw"}
        for methods in obj.methods.values():
            assert all(ic.method(m) is not None for m in methods), obj


@pytest.mark.parametrize("category", CATEGORIES)
def test_object_fields_are_consistent(category) -> None:
    for obj in catalogue(category):
        assert obj.value_kind in VALUE_KINDS
        assert isinstance(obj.value_type, DataTag)
        if obj.class_id in SCALED:
            assert isinstance(obj.unit, Unit) and isinstance(obj.scaler, int), obj
        else:
            assert obj.unit is None and obj.scaler is None, obj
        assert obj.name and isinstance(obj.obis, Obis)
        hash(obj)  # access tables are left out of the hash


# --- profiles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("category, prof", all_profiles(),
                         ids=lambda x: str(x.obis) if hasattr(x, "obis") else str(x))
def test_capture_objects_exist_in_the_category(category, prof) -> None:
    obj = find_object(category, prof.obis)
    assert obj is not None and obj.class_id == 7
    for col in prof.capture_objects:
        target = find_object(category, col.obis)
        assert target is not None, col
        assert target.class_id == col.class_id, col
        assert interface_class(target.class_id, target.version).attribute(col.attribute), col
        assert col.data_index == 0
        if prof.mandatory:
            assert target.mandatory, col


@pytest.mark.parametrize("category", CATEGORIES)
def test_scaler_profiles_match_the_register_columns(category) -> None:
    data_profiles = [p for p in profiles(category) if p.scaler_profile is not None]
    assert {str(p.scaler_profile) for p in data_profiles} == {
        "1.0.94.91.3.255", "1.0.94.91.4.255", "1.0.94.91.5.255", "1.0.94.91.6.255",
        "1.0.94.91.7.255"}
    for scaler_obis in {p.scaler_profile for p in data_profiles}:
        scaler = profile(category, scaler_obis)
        assert scaler.is_scaler_profile and scaler.profile_entries == 1
        assert all(c.attribute == 3 for c in scaler.capture_objects)
        pairs = [(c.class_id, c.obis) for c in scaler.capture_objects]
        assert len(pairs) == len(set(pairs))
        columns = set()
        for data in data_profiles_of(category, scaler_obis):
            for col in data.capture_objects:
                if col.obis == Obis(0, 0, 1, 0, 0, 255):
                    assert (col.class_id, col.attribute) == (8, 2)
                    continue
                # a non-clock column is a register (scaled) or a Data value (no scaler at all)
                assert col.class_id in SCALED | {1}, col
                if col.class_id in SCALED:
                    columns.add((col.class_id, col.obis))
        assert set(pairs) == columns


def test_event_logs_share_one_scaler_profile() -> None:
    logs = data_profiles_of("A", "1.0.94.91.7.255")
    assert [str(p.obis) for p in logs] == [f"0.0.99.98.{e}.255" for e in range(7)]
    for log, compartment in zip(logs, EventCompartment):
        assert log.capture_objects[0].obis == Obis(0, 0, 1, 0, 0, 255)
        assert log.capture_objects[1].obis == compartment.event_code_obis


@pytest.mark.parametrize("category", CATEGORIES)
def test_capture_periods_and_depths(category) -> None:
    periods = {str(p.obis): p.capture_period for p in profiles(category)}
    assert periods.pop("1.0.99.1.0.255") == 900
    assert periods.pop("1.0.99.2.0.255") == 86400
    assert set(periods.values()) == {0}
    assert profile(category, "1.0.94.91.0.255").profile_entries == 1
    assert profile(category, "0.0.94.91.10.255").scaler_profile is None
    for p in profiles(category):
        assert p.sort_method is SortMethod.FIFO and p.sort_object is None
        assert p.profile_entries >= 1
    assert profile(category, "1.0.99.1.0.255").profile_entries == 45 * 96


def test_md_columns_carry_the_capture_time() -> None:
    cols = profile("C", "1.0.94.91.0.255").capture_objects
    md = [(c.class_id, str(c.obis), c.attribute) for c in cols if c.class_id == 4]
    assert md == [(4, "1.0.1.6.0.255", 2), (4, "1.0.1.6.0.255", 5),
                  (4, "1.0.9.6.0.255", 2), (4, "1.0.9.6.0.255", 5)]


def test_category_differences() -> None:
    def has(cat, code):
        o = find_object(cat, code)
        return o is not None and o.mandatory

    for cat in ("A", "B"):
        assert has(cat, "1.0.2.8.0.255") and has(cat, "1.0.10.8.0.255")
        assert has(cat, "1.0.2.29.0.255") and has(cat, "1.0.0.4.3.255")
        block = {str(c.obis) for c in profile(cat, "1.0.99.1.0.255").capture_objects}
        assert {"1.0.1.29.0.255", "1.0.2.29.0.255", "1.0.9.29.0.255"} <= block
    assert find_object("A", "1.0.6.8.0.255") is not None
    assert find_object("B", "1.0.6.8.0.255") is None
    # C: TOD registers in the billing profile; export and PT ratio optional
    billing = {str(c.obis) for c in profile("C", "1.0.98.1.0.255").capture_objects}
    for e in range(1, 9):
        assert {f"1.0.1.8.{e}.255", f"1.0.9.8.{e}.255", f"1.0.1.6.{e}.255"} <= billing
        assert has("C", f"1.0.9.6.{e}.255")
    assert not has("C", "1.0.2.8.0.255") and find_object("C", "1.0.2.8.0.255") is not None
    assert not has("C", "1.0.0.4.3.255")
    assert find_object("A", "1.0.1.8.1.255") is None


def test_categories_a_and_b_differ_in_audit_and_abt_objects() -> None:
    """A (feeder / DT audit): PF per phase in the block load; B (ABT boundary): net energy,
    net block energy and average frequency."""
    block = {cat: [str(c.obis) for c in profile(cat, "1.0.99.1.0.255").capture_objects]
             for cat in ("A", "B")}
    pf = ["1.0.33.27.0.255", "1.0.53.27.0.255", "1.0.73.27.0.255"]
    assert [o for o in block["A"] if o in pf] == pf and not set(pf) & set(block["B"])
    for abt in ("1.0.14.27.0.255", "1.0.16.29.0.255"):
        assert abt in block["B"] and abt not in block["A"]
        assert find_object("B", abt).class_id == 3 and find_object("A", abt) is None
    net = find_object("B", "1.0.16.8.0.255")
    assert net is not None and net.mandatory and net.value_type is DataTag.DOUBLE_LONG
    assert find_object("A", "1.0.16.8.0.255") is None
    for p in ("1.0.99.2.0.255", "1.0.98.1.0.255"):
        assert "1.0.16.8.0.255" in {str(c.obis) for c in profile("B", p).capture_objects}
    assert find_object("A", "1.0.33.27.0.255").scaler == -3
    assert find_object("B", "1.0.14.27.0.255").unit is Unit.HERTZ
    only_a = {o.obis for o in catalogue("A")} - {o.obis for o in catalogue("B")}
    only_b = {o.obis for o in catalogue("B")} - {o.obis for o in catalogue("A")}
    assert len(only_a) >= 5 and len(only_b) >= 3


@pytest.mark.parametrize("category", CATEGORIES)
def test_utility_settings_may_reset_and_capture_the_data_profiles(category) -> None:
    for p in profiles(category):
        obj = find_object(category, p.obis)
        expected = not p.is_scaler_profile
        assert obj.method_allowed("US", 1) is expected and obj.method_allowed("US", 2) is expected
        assert not obj.method_allowed("MR", 2) and not obj.method_allowed("PC", 2)


def test_category_parse_and_description() -> None:
    assert MeterCategory.parse(" b ") is MeterCategory.B
    assert "ABT" in MeterCategory.B.description
    assert "feeder" in MeterCategory.A.description
    assert catalogue("c") == catalogue(MeterCategory.C)
    with pytest.raises(LocalProtocolError):
        MeterCategory.parse("D")


def test_lookups_of_unknown_codes_give_none() -> None:
    assert find_object("A", "9.9.9.9.9.9") is None
    assert find_object("A", "not obis") is None
    assert profile("A", "1.0.32.7.0.255") is None
    assert profile("A", Obis(1, 0, 99, 1, 0, 255)).capture_period == 900


# --- access rights -----------------------------------------------------------------------------

def test_public_client_sees_clock_and_name_plate_only() -> None:
    names = {str(o.obis) for o in mandatory_objects("A", "pc")}
    assert names == {"0.0.1.0.0.255", "0.0.40.0.1.255", "0.0.41.0.0.255", "0.0.42.0.0.255",
                     "0.0.96.1.0.255", "0.0.96.1.1.255", "1.0.0.2.0.255", "0.0.94.91.9.255",
                     "0.0.94.91.11.255", "0.0.94.91.12.255", "0.0.96.1.4.255", "1.0.0.4.2.255",
                     "1.0.0.4.3.255", "0.0.94.91.10.255"}
    clock = find_object("A", "0.0.1.0.0.255")
    assert clock.attribute_access("PC", 2) == "r" and clock.attribute_access("PC", 5) == "-"
    assert find_object("A", "1.0.1.8.0.255").visible_in("PC") is False


def test_meter_reader_reads_but_never_writes() -> None:
    mr = mandatory_objects("C", 32)
    assert {str(p.obis) for p in profiles("C")} <= {str(o.obis) for o in mr}
    for obj in mr:
        assert all(mode in ("r", "-") for mode in obj.access["MR"].values()), obj
        assert obj.methods.get("MR", ()) == ()


def test_utility_settings_writes_settings_and_resets_md() -> None:
    clock = find_object("B", "0.0.1.0.0.255")
    assert clock.attribute_access("US", 2) == "rw" and clock.attribute_access("US", 3) == "rw"
    assert clock.attribute_access("US", 4) == "r"  # status is read-only
    assert clock.attribute_access_mode("US", 2).writable
    block = find_object("B", "1.0.99.1.0.255")
    assert block.attribute_access("US", 4) == "rw" and block.attribute_access("MR", 4) == "r"
    script = find_object("B", MD_RESET_SCRIPT_TABLE)
    assert script.class_id == 9 and (MD_RESET_METHOD, MD_RESET_SCRIPT_ID) == (1, 1)
    assert script.method_allowed("US", 1) and not script.method_allowed("MR", 1)
    assert find_object("B", "0.0.15.0.0.255").class_id == 22


def test_association_objects_are_in_their_own_object_list() -> None:
    for assoc in ASSOCIATIONS:
        obj = find_object("A", assoc.association_ln)
        assert obj.class_id == 15 and obj.visible_in(assoc.name)
        assert obj.attribute_access(assoc.name, 7) in ("-", "w")  # the secret is never read
    assert not find_object("A", "0.0.40.0.3.255").visible_in("MR")
    assert find_object("A", "0.0.40.0.3.255").method_allowed("US", 1)
    us = get_association("US")
    assert find_object("A", "0.0.40.0.3.255").method_allowed(us, 2)
    assert find_object("A", "0.0.1.0.0.255").attribute_access(us, 2) == "rw"
    assert find_object("A", "0.0.1.0.0.255").visible_in("pc")
    assert not find_object("A", "0.0.1.0.0.255").visible_in(None)


def test_object_def_builder_overrides() -> None:
    obj = object_def(3, "1.0.1.8.0.255", "x", "energy", unit=Unit.WATT_HOUR, scaler=0,
                     pc=(1,), us_write=(3,), access={"MR": {2: "-"}})
    assert dict(obj.access["PC"]) == {1: "r"}
    assert dict(obj.access["MR"]) == {1: "r", 2: "-", 3: "r"}
    assert dict(obj.access["US"]) == {1: "r", 2: "r", 3: "rw"}
    with pytest.raises(LocalProtocolError):
        object_def(3, "1.0.1.8.0.255", "x", "energy", access={"MR": {4: "r"}})
    with pytest.raises(LocalProtocolError):
        object_def(3, "1.0.1.8.0.255", "x", "no such kind")


# --- associations ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, sap, ln, mechanism, secret", [
    ("PC", 16, "0.0.40.0.1.255", MechanismName.NONE, b""),
    ("MR", 32, "0.0.40.0.2.255", MechanismName.LOW, b"12345678"),
    ("US", 48, "0.0.40.0.3.255", MechanismName.HIGH, b"1111111111111111"),
])
def test_association_table(name, sap, ln, mechanism, secret) -> None:
    a = association_by_name(name.lower())
    assert a is association_by_name(name) is association_by_client_sap(sap)
    assert a is association_by_ln(ln) is get_association(sap) is get_association(f" {name} ")
    assert (a.client_sap, str(a.association_ln), a.mechanism, a.default_secret) == (
        sap, ln, mechanism, secret)


def test_association_misses_and_constants() -> None:
    assert association_by_name("XX") is None and association_by_client_sap(1) is None
    assert association_by_name(16) is None and association_by_ln("garbage") is None
    with pytest.raises(LocalProtocolError, match="PC"):
        get_association("admin")
    with pytest.raises(LocalProtocolError):
        get_association(True)
    assert DEFAULT_LLS_PASSWORD == b"12345678" and len(DEFAULT_HLS_KEY) == 16
    assert type(DEFAULT_HLS_KEY) is bytes
    assert (MANAGEMENT_LOGICAL_DEVICE, SERVER_PHYSICAL_ADDRESS, WRAPPER_PORT) == (1, 256, 4059)
    assert [a.title for a in ASSOCIATIONS] == ["Public client", "Meter reader",
                                               "Utility settings"]


# --- events ------------------------------------------------------------------------------------

EXPECTED_EVENTS = {
    1: ("R-phase PT link missing", True), 2: ("R-phase PT link missing", False),
    3: ("Y-phase PT link missing", True), 4: ("Y-phase PT link missing", False),
    5: ("B-phase PT link missing", True), 6: ("B-phase PT link missing", False),
    7: ("Over voltage", True), 8: ("Over voltage", False),
    9: ("Low voltage", True), 10: ("Low voltage", False),
    11: ("Voltage unbalance", True), 12: ("Voltage unbalance", False),
    51: ("R-phase CT reversal", True), 52: ("R-phase CT reversal", False),
    53: ("Y-phase CT reversal", True), 54: ("Y-phase CT reversal", False),
    55: ("B-phase CT reversal", True), 56: ("B-phase CT reversal", False),
    57: ("R-phase CT open", True), 58: ("R-phase CT open", False),
    59: ("Y-phase CT open", True), 60: ("Y-phase CT open", False),
    61: ("B-phase CT open", True), 62: ("B-phase CT open", False),
    63: ("Current unbalance", True), 64: ("Current unbalance", False),
    65: ("CT bypass", True), 66: ("CT bypass", False),
    67: ("Over current", True), 68: ("Over current", False),
    101: ("Power failure", True), 102: ("Power failure", False),
    151: ("Real time clock", None), 152: ("Demand integration period", None),
    153: ("Profile capture period", None), 154: ("Single-action schedule", None),
    155: ("Activity calendar", None),
    201: ("magnet", True), 202: ("magnet", False),
    203: ("Neutral disturbance", True), 204: ("Neutral disturbance", False),
    205: ("low power factor", True), 206: ("low power factor", False),
    251: ("cover opened", True),
    301: ("disconnected", None), 302: ("connected", None),
}


@pytest.mark.parametrize("code", sorted(EXPECTED_EVENTS))
def test_event_descriptions(code) -> None:
    words, occurrence = EXPECTED_EVENTS[code]
    text = describe_event(code)
    assert words.lower() in text.lower()
    if occurrence is not None:
        assert text.endswith("occurrence" if occurrence else "restoration")
    assert EVENT_CODES[code].occurrence is occurrence
    assert compartment_of(code) is compartment_of_block(code)
    assert code in compartment_of(code).code_range and code in compartment_of(code).code_block


def test_event_table_is_exactly_the_documented_codes() -> None:
    assert sorted(EVENT_CODES) == sorted(EXPECTED_EVENTS)


def test_compartments() -> None:
    assert {c: (r.start, r.stop - 1) for c, r in CODE_RANGES.items()} == {
        EventCompartment.VOLTAGE: (1, 12), EventCompartment.CURRENT: (51, 68),
        EventCompartment.POWER: (101, 102), EventCompartment.TRANSACTION: (151, 155),
        EventCompartment.OTHER: (201, 206), EventCompartment.NON_ROLLOVER: (251, 251),
        EventCompartment.CONTROL: (301, 302)}
    for c in EventCompartment:
        assert str(c.profile_obis) == f"0.0.99.98.{int(c)}.255"
        assert str(c.event_code_obis) == f"0.0.96.11.{int(c)}.255"
        assert compartment_by_obis(c.profile_obis) is c is compartment_by_obis(c.event_code_obis)
        assert all(e.compartment is c for e in events_of(c)) and events_of(c)
    assert compartment_by_obis("1.0.1.8.0.255") is None and compartment_by_obis("x") is None


@pytest.mark.parametrize("code", [0, 13, 50, 69, 150, 207, 252, 303, 351, 65535, -1])
def test_unknown_event_codes(code) -> None:
    assert describe_event(code) == f"unknown event code {code}"
    assert compartment_of(code) is None


def test_compartment_blocks_for_vendor_codes() -> None:
    assert compartment_of_block(13) is EventCompartment.VOLTAGE
    assert compartment_of_block(69) is EventCompartment.CURRENT
    assert compartment_of_block(350) is EventCompartment.CONTROL
    assert compartment_of_block(351) is None and compartment_of_block(0) is None
    assert compartment_of_block(True) is None


# --- scalers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, scaler, expected", [
    (23012, -2, 230.12), (5, 3, 5000), (7, 0, 7), (-1234, -3, -1.234), (0, -5, 0.0),
    (999, -1, 99.9), (2.5, 2, 250.0), (50, -2, 0.5), (-3, 1, -30),
])
def test_apply_scaler(raw, scaler, expected) -> None:
    value = apply_scaler(raw, scaler)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("raw, scaler", [(True, 0), (None, 0), ("1", 0), (1, 1.0), (1, 128),
                                         (1, False)])
def test_apply_scaler_refuses_non_numbers(raw, scaler) -> None:
    with pytest.raises(LocalProtocolError):
        apply_scaler(raw, scaler)


@given(st.integers(-(2 ** 63), 2 ** 64), st.integers(-9, 9))
def test_apply_scaler_matches_exact_arithmetic(raw, scaler) -> None:
    value = apply_scaler(raw, scaler)
    exact = Fraction(raw) * Fraction(10) ** scaler
    if scaler >= 0:
        assert type(value) is int and value == exact
    else:
        assert type(value) is float and math.isclose(value, float(exact), rel_tol=1e-15)


def _scaler_row(category, scaler_obis):
    """The scaler profile row a meter with the catalogue's scalers would send, as bytes."""
    cols = profile(category, scaler_obis).capture_objects
    row = D.structure(*(D.structure(D.integer(find_object(category, c.obis).scaler),
                                    D.enum(int(find_object(category, c.obis).unit)))
                        for c in cols))
    return cols, encode_data(row)


@pytest.mark.parametrize("scaler_obis", ["1.0.94.91.3.255", "1.0.94.91.4.255", "1.0.94.91.7.255"])
def test_scalers_from_decoded_scaler_profile(scaler_obis) -> None:
    cols, raw = _scaler_row("A", scaler_obis)
    row, end = decode_data(raw)
    assert end == len(raw)
    # capture objects as the meter sends them (attribute 3 of the scaler profile)
    wire_cols = D.array(*(D.structure(D.long_unsigned(c.class_id), D.octet_string(bytes(c.obis)),
                                      D.integer(c.attribute), D.long_unsigned(0)) for c in cols))
    for objects in (cols, decode_data(encode_data(wire_cols))[0].value):
        scalers = scalers_from_scaler_profile(objects, row)
        assert scalers == {(c.class_id, c.obis): (find_object("A", c.obis).scaler,
                                                  int(find_object("A", c.obis).unit))
                           for c in cols}


def test_scalers_from_plain_tuples_and_skipped_attributes() -> None:
    cols = [(3, "1.0.32.7.0.255", 3), (3, bytes(Obis(1, 0, 31, 7, 0, 255)), 3, 0),
            (8, "0.0.1.0.0.255", 2)]
    scalers = scalers_from_scaler_profile(cols, [(-2, 35), D.structure(D.integer(-3),
                                                                       D.enum(33)), None])
    assert scalers == {(3, Obis(1, 0, 32, 7, 0, 255)): (-2, 35),
                       (3, Obis(1, 0, 31, 7, 0, 255)): (-3, 33)}


@pytest.mark.parametrize("cols, row", [
    ([(3, "1.0.32.7.0.255", 3)], []),  # too few values
    ([(3, "1.0.32.7.0.255", 3)], [(-2, 35), (0, 30)]),  # too many
    ([(3, "1.0.32.7.0.255", 3)], [(-2,)]),  # not a pair
    ([(3, "1.0.32.7.0.255", 3)], [(-200, 35)]),  # scaler out of range
    ([(3, "1.0.32.7.0.255", 3)], [D.structure(D.octet_string(b"x"), D.enum(35))]),
    ([(3, b"\x01\x00", 3)], [(-2, 35)]),  # logical name not 6 bytes
    ([("3", "1.0.32.7.0.255", 3)], [(-2, 35)]),  # class_id not an int
    ([(3, "1.0.32.7.0.255")], [(-2, 35)]),  # capture object too short
    ([(3, "1.0.32.7.0.255", 3)], D.integer(5)),  # row not a structure
])
def test_malformed_scaler_profiles_raise_remote_errors(cols, row) -> None:
    with pytest.raises(RemoteProtocolError):
        scalers_from_scaler_profile(cols, row)


def test_scaled_row_and_titles() -> None:
    inst = profile("C", "1.0.94.91.0.255")
    cols, raw = _scaler_row("C", "1.0.94.91.3.255")
    scalers = scalers_from_scaler_profile(cols, decode_data(raw)[0])
    row = [None] * len(inst.capture_objects)
    row[1] = 5123  # current L1, scaler -3
    row[4] = D.double_long_unsigned(23012)  # voltage L1, scaler -2
    row[15] = 7  # number of power failures: Data, never scaled
    out = scaled_row(inst.capture_objects, row, scalers)
    assert out[1] == 5.123 and out[4] == 230.12 and out[15] == 7 and out[0] is None
    titles = titles_for(inst.capture_objects, scalers)
    assert titles[:2] == ("Clock", "Current L1 (A)")
    assert titles[4] == "Voltage L1 (V)" and titles[15] == "Number of power failures"
    assert "Maximum demand kW — capture time" in titles
    assert "Signed power factor L1" in titles  # unit 255: no unit printed


@pytest.mark.parametrize("obis, unit, title", [
    ("1.0.32.7.0.255", 35, "Voltage L1 (V)"),
    (Obis(1, 0, 1, 8, 0, 255), Unit.WATT_HOUR, "Cumulative energy kWh import (Wh)"),
    ("1.0.14.7.0.255", None, "Frequency"),
    ("1.0.13.7.0.255", 255, "Three-phase power factor"),
    ("0.0.94.91.8.255", Unit.MINUTE, "Cumulative power-failure duration (min)"),
    ("9.9.9.9.9.9", 30, "9.9.9.9.9.9 (Wh)"),  # no name anywhere: the code itself
    (b"\x09\x09\x09\x09\x09\x09", 254, "9.9.9.9.9.9"),
])
def test_column_title(obis, unit, title) -> None:
    assert column_title(obis, unit) == title


def test_column_title_falls_back_to_the_obis_name_table() -> None:
    # not in any IS 15959 catalogue, but named by meterreader.cosem.obis_names
    assert column_title("1.0.21.7.0.255", 27) == "Active power L1 import (+P), instantaneous (W)"


def test_column_title_for_capture_time() -> None:
    assert column_title("1.0.9.6.0.255", 28, class_id=4, attribute=5) == \
        "Maximum demand kVA — capture time"
