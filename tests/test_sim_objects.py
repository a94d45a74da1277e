"""Simulator COSEM objects: attribute encodings, SET/ACTION rules, profile selective access.

Expected bytes are built by hand from the Blue Book attribute types and the A-XDR rules of
IEC 62056-6-2 (tag, then length for strings/containers, big-endian numbers).
"""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag, encode_data
from meterreader.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.xdlms.common import (ActionResult, CaptureObjectDefinition,
                                           DataAccessResult, EntryDescriptor, RangeDescriptor,
                                           SelectiveAccessDescriptor)
from meterreader.simulator import (AccessContext, AccessError, AssociationLN, Clock, DataObject,
                                   DemandRegister, ExtendedRegister, GenericObject,
                                   LogicalDevice, ProfileGeneric, Register, SapAssignment, Script,
                                   ScriptTable, SingleActionSchedule)

IST = dt.timezone(dt.timedelta(minutes=330))
T0 = dt.datetime(2024, 3, 15, 10, 0, 0, tzinfo=dt.timezone.utc)  # 15:30 IST
MR = AccessContext(association_name="MR", client_sap=32)
CLOCK_COL = CaptureObjectDefinition(class_id=8, logical_name=Obis(0, 0, 1, 0, 0, 255),
                                    attribute_index=2)
KWH_COL = CaptureObjectDefinition(class_id=3, logical_name=Obis(1, 0, 1, 8, 0, 255),
                                  attribute_index=2)
V_COL = CaptureObjectDefinition(class_id=3, logical_name=Obis(1, 0, 32, 7, 0, 255),
                                attribute_index=2)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def u32(v: int) -> Data:
    return Data(DataTag.DOUBLE_LONG_UNSIGNED, v)


class FakeNow:
    """An injectable real-time source that tests move by hand."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


def refused(result, call, *args):
    with pytest.raises(AccessError) as info:
        call(*args)
    assert info.value.result == result, info.value
    assert type(info.value.result) is type(result)
    return info.value


# -- base class, Data, registers ---------------------------------------------------------------

def test_logical_name_is_attribute_1_of_every_object():
    for obj in (DataObject("0.0.96.1.0.255", Data(DataTag.OCTET_STRING, b"x")),
                Register("1.0.1.8.0.255", u32(5)), Clock(now=FakeNow()),
                ProfileGeneric("1.0.99.1.0.255", (CLOCK_COL,))):
        assert encode_data(obj.get(1)) == b"\x09\x06" + bytes(obj.logical_name)


def test_data_object_set_keeps_the_type_and_calls_on_set():
    seen = []
    obj = DataObject("1.0.0.8.0.255", Data(DataTag.LONG_UNSIGNED, 900), on_set=seen.append)
    assert encode_data(obj.get(2)) == h("12 0384")
    obj.set(2, Data(DataTag.LONG_UNSIGNED, 1800))
    assert obj.get(2) == Data(DataTag.LONG_UNSIGNED, 1800) and seen == [obj.get(2)]
    refused(DataAccessResult.TYPE_UNMATCHED, obj.set, 2, u32(1800))
    refused(DataAccessResult.READ_WRITE_DENIED, obj.set, 1, Data(DataTag.OCTET_STRING, bytes(6)))


def test_computed_data_refuses_set_without_a_store():
    obj = DataObject("0.0.96.7.0.255", lambda: Data(DataTag.LONG_UNSIGNED, 7))
    assert obj.get(2) == Data(DataTag.LONG_UNSIGNED, 7)
    refused(DataAccessResult.READ_WRITE_DENIED, obj.set, 2, Data(DataTag.LONG_UNSIGNED, 1))


def test_unknown_and_unimplemented_attributes():
    obj = Register("1.0.1.8.0.255", u32(5))
    refused(DataAccessResult.OBJECT_UNDEFINED, obj.get, 9)
    refused(ActionResult.OBJECT_UNDEFINED, obj.action, 2)
    clock = Clock(now=FakeNow())
    # adjust_to_measuring_period (2) exists in the class but is not modelled.
    refused(ActionResult.OBJECT_UNAVAILABLE, clock.action, 2, Data(DataTag.INTEGER, 0))


def test_register_attributes_encode_with_blue_book_types():
    reg = Register("1.0.32.7.0.255", u32(23456), scaler=-2, unit=35)
    assert encode_data(reg.get(2)) == h("06 00005BA0")
    # scal_unit_type: structure {integer scaler, enum unit}
    assert encode_data(reg.get(3)) == h("02 02 0F FE 16 23")
    assert reg.attribute_count == 3 and reg.method_count == 1


def test_register_reset_and_set():
    reg = Register("1.0.1.8.0.255", u32(1234), scaler=0, unit=30)
    reg.set(2, u32(99))
    assert reg.get(2) == u32(99)
    refused(DataAccessResult.TYPE_UNMATCHED, reg.set, 2, Data(DataTag.LONG, 1))
    assert reg.action(1, Data(DataTag.INTEGER, 0)) is None
    assert reg.get(2) == u32(0)
    refused(ActionResult.TYPE_UNMATCHED, reg.action, 1, Data(DataTag.OCTET_STRING, b""))
    live = Register("1.0.1.7.0.255", lambda: Data(DataTag.DOUBLE_LONG, -5))
    assert live.get(2) == Data(DataTag.DOUBLE_LONG, -5)
    refused(ActionResult.OBJECT_UNAVAILABLE, live.action, 1, Data(DataTag.INTEGER, 0))
    refused(DataAccessResult.READ_WRITE_DENIED, live.set, 2, Data(DataTag.DOUBLE_LONG, 1))
    resets = []
    hooked = Register("1.0.1.6.0.255", lambda: u32(1), on_reset=lambda: resets.append(1))
    hooked.action(1, Data(DataTag.INTEGER, 0))
    assert resets == [1]


def test_extended_register_reset_stamps_the_device_clock():
    now = FakeNow()
    ld = LogicalDevice(1, b"X")
    ld.add(Clock(now=now))
    reg = ld.add(ExtendedRegister("1.0.1.6.0.255", u32(500), scaler=0, unit=27,
                                  status=Data(DataTag.UNSIGNED, 0)))
    assert reg.get(4) == Data(DataTag.UNSIGNED, 0)
    assert reg.get(5) == Data(DataTag.NULL_DATA)
    reg.action(1, None)
    assert reg.get(2) == u32(0)
    stamp = CosemDateTime.from_bytes(reg.get(5).value)
    assert stamp.to_datetime() == T0 and stamp.deviation == -330


def test_demand_register_attributes_and_next_period():
    reg = DemandRegister("1.0.1.4.0.255", u32(10), u32(7), scaler=0, unit=27, period=900,
                         number_of_periods=1)
    types = [reg.get(i).tag for i in range(2, 10)]
    assert types == [DataTag.DOUBLE_LONG_UNSIGNED, DataTag.DOUBLE_LONG_UNSIGNED,
                     DataTag.STRUCTURE, DataTag.NULL_DATA, DataTag.NULL_DATA, DataTag.NULL_DATA,
                     DataTag.DOUBLE_LONG_UNSIGNED, DataTag.LONG_UNSIGNED]
    reg.action(2, Data(DataTag.INTEGER, 0))
    assert (reg.get(2), reg.get(3)) == (u32(0), u32(10))
    reg.set(8, u32(1800))
    assert reg.get(8) == u32(1800)
    refused(DataAccessResult.READ_WRITE_DENIED, reg.set, 2, u32(1))


# -- clock ---------------------------------------------------------------------------------------

def test_clock_time_runs_from_the_injected_source():
    now = FakeNow()
    clock = Clock(now=now)
    raw = clock.get(2)
    # octet-string(12): 2024-03-15 Fri 15:30:00.00, deviation -330 (FEB6), status 00
    assert encode_data(raw) == h("09 0C 07E8 03 0F 05 0F 1E 00 00 FEB6 00")
    now.advance(seconds=61)
    assert CosemDateTime.from_bytes(clock.get(2).value).time == CosemTime(
        hour=15, minute=31, second=1, hundredths=0)
    assert encode_data(clock.get(3)) == h("10 FEB6")  # time_zone: long -330
    assert clock.get(4) == Data(DataTag.UNSIGNED, 0)
    assert clock.get(9) == Data(DataTag.ENUM, 1)  # internal crystal
    assert clock.get(8) == Data(DataTag.BOOLEAN, False)
    assert clock.get(7) == Data(DataTag.INTEGER, 0)
    assert len(clock.get(5).value) == 12


def test_clock_positive_deviation_quirk():
    clock = Clock(now=FakeNow(), deviation_sign=+1)
    assert clock.get(3) == Data(DataTag.LONG, 330)
    assert CosemDateTime.from_bytes(clock.get(2).value).deviation == 330
    assert clock.now() == T0


def test_naive_now_is_utc_and_start_sets_the_meter_time():
    clock = Clock(now=lambda: dt.datetime(2024, 3, 15, 10, 0), start=dt.datetime(2020, 1, 1))
    assert clock.now() == dt.datetime(2020, 1, 1, tzinfo=IST)


def test_set_time_persists_as_an_offset_and_is_reported():
    now, changes = FakeNow(), []
    clock = Clock(now=now, on_time_set=lambda old, new: changes.append((old, new)))
    target = CosemDateTime.from_datetime(dt.datetime(2024, 1, 1, 0, 0, tzinfo=IST))
    clock.set(2, Data(DataTag.OCTET_STRING, bytes(target)))
    assert clock.now() == dt.datetime(2024, 1, 1, tzinfo=IST)
    now.advance(minutes=5)
    assert clock.now() == dt.datetime(2024, 1, 1, 0, 5, tzinfo=IST)
    assert changes == [(T0, dt.datetime(2024, 1, 1, tzinfo=IST))]
    # date-time tag 25 is accepted too, and an unspecified deviation is meter local time.
    local = CosemDateTime(year=2024, month=2, day=2, hour=8, minute=0, second=0, hundredths=0)
    clock.set(2, Data(DataTag.DATE_TIME, local))
    assert clock.now() == dt.datetime(2024, 2, 2, 8, 0, tzinfo=IST)
    refused(DataAccessResult.OTHER_REASON, clock.set, 2, Data(DataTag.OCTET_STRING,
                                                              bytes(CosemDateTime())))
    refused(DataAccessResult.TYPE_UNMATCHED, clock.set, 2, Data(DataTag.OCTET_STRING, b"\x00"))


def test_time_zone_set_and_its_range():
    clock = Clock(now=FakeNow())
    clock.set(3, Data(DataTag.LONG, -60))
    assert clock.now().utcoffset() == dt.timedelta(hours=1)
    refused(DataAccessResult.OTHER_REASON, clock.set, 3, Data(DataTag.LONG, 2000))
    refused(DataAccessResult.TYPE_UNMATCHED, clock.set, 3, Data(DataTag.INTEGER, 1))


def test_clock_methods():
    now = FakeNow(T0 + dt.timedelta(minutes=8))  # 15:38 IST
    clock = Clock(now=now)
    clock.action(1, Data(DataTag.INTEGER, 0))  # adjust_to_quarter
    assert clock.now().time() == dt.time(15, 45)
    clock.action(6, Data(DataTag.LONG, -900))  # shift_time
    assert clock.now().time() == dt.time(15, 30)
    refused(ActionResult.OTHER_REASON, clock.action, 6, Data(DataTag.LONG, 901))
    refused(ActionResult.TYPE_UNMATCHED, clock.action, 6, Data(DataTag.INTEGER, 1))
    now.advance(seconds=29)
    clock.action(3, None)  # adjust_to_minute
    assert clock.now().time() == dt.time(15, 30)
    preset = [CosemDateTime.from_datetime(dt.datetime(2024, 3, 15, h, m, tzinfo=IST))
              for h, m in ((16, 0), (15, 0), (16, 30))]
    refused(ActionResult.OTHER_REASON, clock.action, 4, None)
    clock.action(5, Data(DataTag.STRUCTURE, tuple(Data(DataTag.OCTET_STRING, bytes(p))
                                                 for p in preset)))
    clock.action(4, None)  # adjust_to_preset_time
    assert clock.now() == dt.datetime(2024, 3, 15, 16, 0, tzinfo=IST)


# -- association, SAP, scripts, schedule --------------------------------------------------------

def test_association_ln_attributes():
    changed = []
    assoc = AssociationLN("0.0.40.0.2.255", association_name="MR", client_sap=32, server_sap=1,
                          mechanism=1, secret=b"12345678",
                          on_secret_changed=lambda name, s: changed.append((name, s)))
    assert encode_data(assoc.get(3)) == h("02 02 0F 20 12 0001")
    # {2, 16, 756, 5, 8, 1, 1} and {2, 16, 756, 5, 8, 2, 1}
    assert encode_data(assoc.get(4)) == h("02 07 11 02 11 10 12 02F4 11 05 11 08 11 01 11 01")
    assert encode_data(assoc.get(6)) == h("02 07 11 02 11 10 12 02F4 11 05 11 08 11 02 11 01")
    # conformance 0x005E1D: priority mgmt, block transfer with GET/SET/ACTION, multiple refs,
    # GET, SET, selective access, ACTION
    assert encode_data(assoc.get(5)) == h("02 06 04 18 005E1D 12 FFFF 12 FFFF 11 06 0F 00 09 00")
    refused(DataAccessResult.READ_WRITE_DENIED, assoc.get, 7)
    assert assoc.get(8, None, MR) == Data(DataTag.ENUM, 2)
    assert assoc.get(8, None, AccessContext(association_name="PC", client_sap=16)) == Data(
        DataTag.ENUM, 0)
    assert encode_data(assoc.get(9)) == h("09 06 000000000000")
    assoc.set(7, Data(DataTag.OCTET_STRING, b"87654321"))
    assert assoc.secret == SecretBytes(b"87654321") and changed == [("MR", assoc.secret)]
    refused(DataAccessResult.OTHER_REASON, assoc.set, 7, Data(DataTag.OCTET_STRING, b""))
    refused(ActionResult.OBJECT_UNAVAILABLE, assoc.action, 1, Data(DataTag.OCTET_STRING, b"x"))
    assoc.action(2, Data(DataTag.OCTET_STRING, b"abcdefgh"))
    assert assoc.secret == SecretBytes(b"abcdefgh")


def test_current_association_answers_for_the_association_in_use():
    ld = LogicalDevice(1, b"X")
    current = ld.add(AssociationLN("0.0.40.0.0.255", association_name=None))
    ld.add(AssociationLN("0.0.40.0.2.255", association_name="MR", client_sap=32, mechanism=1))
    ld.add(AssociationLN("0.0.40.0.3.255", association_name="US", client_sap=48, mechanism=2,
                         hls_reply=lambda challenge, ctx: challenge[::-1]))
    us = AccessContext(association_name="US", client_sap=48)
    assert current.get(1) == Data(DataTag.OCTET_STRING, bytes(Obis(0, 0, 40, 0, 0, 255)))
    assert current.get(3, None, MR).value[0] == Data(DataTag.INTEGER, 32)
    assert current.get(3, None, us).value[0] == Data(DataTag.INTEGER, 48)
    assert current.get(8, None, us) == Data(DataTag.ENUM, 2)
    assert current.action(1, Data(DataTag.OCTET_STRING, b"abc"), us) == Data(
        DataTag.OCTET_STRING, b"cba")
    nobody = AccessContext(association_name="XX", client_sap=1)
    refused(DataAccessResult.OBJECT_UNAVAILABLE, current.get, 2, None, nobody)
    refused(ActionResult.OBJECT_UNAVAILABLE, current.action, 1, None, nobody)


def test_sap_assignment_list():
    sap = SapAssignment(assignments=((1, b"MRD00000001"), (2, b"MRD00000001-2")))
    assert encode_data(sap.get(2)) == (
        h("01 02 02 02 12 0001 09 0B") + b"MRD00000001" + h("02 02 12 0002 09 0D")
        + b"MRD00000001-2")


def test_script_table_executes_the_registered_callback():
    runs = []
    table = ScriptTable("0.0.10.0.1.255", (Script(script_id=1, callback=runs.append),))
    assert encode_data(table.get(2)) == h("01 01 02 02 12 0001 01 00")
    table.action(1, Data(DataTag.LONG_UNSIGNED, 1), MR)
    assert runs == [MR]
    refused(ActionResult.OBJECT_UNAVAILABLE, table.action, 1, Data(DataTag.LONG_UNSIGNED, 2))
    refused(ActionResult.TYPE_UNMATCHED, table.action, 1, Data(DataTag.UNSIGNED, 1))
    refused(ActionResult.TYPE_UNMATCHED, table.action, 1, None)


def test_single_action_schedule_get_and_set():
    sched = SingleActionSchedule("0.0.15.0.0.255", script="0.0.10.0.1.255", selector=1,
                                 times=((CosemTime(hour=0, minute=0, second=0, hundredths=0),
                                         CosemDate(day=1)),))
    assert encode_data(sched.get(2)) == h("02 02 09 06 00000A0001FF 12 0001")
    assert sched.get(3) == Data(DataTag.ENUM, 1)
    assert encode_data(sched.get(4)) == h("01 01 02 02 09 04 00000000 09 05 FFFF FF 01 FF")
    new = Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (
        Data(DataTag.OCTET_STRING, h("06000000")), Data(DataTag.OCTET_STRING, h("FFFFFF0FFF")))),))
    sched.set(4, new)
    assert sched.get(4) == new
    refused(DataAccessResult.TYPE_UNMATCHED, sched.set, 4, Data(DataTag.ARRAY, (u32(1),)))
    refused(DataAccessResult.READ_WRITE_DENIED, sched.set, 3, Data(DataTag.ENUM, 2))


def test_generic_object_store():
    obj = GenericObject(20, 0, "0.0.13.0.0.255", {2: Data(DataTag.OCTET_STRING, b"A"),
                                                  6: Data(DataTag.OCTET_STRING, b"B")},
                        writable=(6,), methods={1: lambda params: None})
    assert obj.class_id == 20 and obj.attribute_count == 10
    obj.set(6, Data(DataTag.OCTET_STRING, b"C"))
    assert obj.get(6) == Data(DataTag.OCTET_STRING, b"C")
    refused(DataAccessResult.READ_WRITE_DENIED, obj.set, 2, Data(DataTag.OCTET_STRING, b"x"))
    refused(DataAccessResult.OBJECT_UNAVAILABLE, obj.get, 3)
    assert obj.action(1) is None
    refused(ActionResult.OBJECT_UNDEFINED, obj.action, 9)


# -- profile generic ---------------------------------------------------------------------------

def stamp(t: dt.datetime, **fields) -> bytes:
    return bytes(CosemDateTime.from_datetime(t.astimezone(IST), **fields))


def make_profile(rows: int = 10, entries: int = 100, period: int = 900):
    """A device with a clock and a profile of ``rows`` 15-min rows ending at T0 (kWh = i)."""
    now = FakeNow()
    ld = LogicalDevice(1, b"X")
    ld.add(Clock(now=now))
    ld.add(Register("1.0.1.8.0.255", u32(4242), unit=30))
    ld.add(Register("1.0.32.7.0.255", Data(DataTag.DOUBLE_LONG_UNSIGNED, 23000), scaler=-2,
                    unit=35))
    profile = ld.add(ProfileGeneric("1.0.99.1.0.255", (CLOCK_COL, KWH_COL, V_COL),
                                    capture_period=period, profile_entries=entries))
    times = [T0 - dt.timedelta(seconds=period * (rows - 1 - i)) for i in range(rows)]
    profile.append_rows((Data(DataTag.OCTET_STRING, stamp(t, clock_status=0)), u32(i),
                         u32(23000 + i)) for i, t in enumerate(times))
    return ld, profile, times, now


def by_range(profile, lo, hi, columns=()):
    descriptor = RangeDescriptor(restricting_object=CLOCK_COL, from_value=lo, to_value=hi,
                                 selected_values=tuple(columns))
    return profile.get(2, SelectiveAccessDescriptor.range(descriptor))


def by_entry(profile, from_entry, to_entry, from_column, to_column):
    descriptor = EntryDescriptor(from_entry=from_entry, to_entry=to_entry,
                                 from_selected_value=from_column, to_selected_value=to_column)
    return profile.get(2, SelectiveAccessDescriptor.entry(descriptor))


def kwh_of(buffer: Data) -> list[int]:
    return [row.value[1].value for row in buffer.value]


def octets_at(t: dt.datetime, **fields) -> Data:
    return Data(DataTag.OCTET_STRING, stamp(t, **fields))


def test_profile_attributes_encode():
    ld, profile, times, _ = make_profile(rows=2)
    assert encode_data(profile.get(3)) == h(
        "01 03"
        "02 04 12 0008 09 06 0000010000FF 0F 02 12 0000"
        "02 04 12 0003 09 06 0100010800FF 0F 02 12 0000"
        "02 04 12 0003 09 06 0100200700FF 0F 02 12 0000")
    assert encode_data(profile.get(4)) == h("06 00000384")
    assert encode_data(profile.get(5)) == h("16 01")  # FIFO
    assert encode_data(profile.get(6)) == h("02 04 12 0000 09 06 000000000000 0F 00 12 0000")
    assert encode_data(profile.get(7)) == h("06 00000002")
    assert encode_data(profile.get(8)) == h("06 00000064")
    assert encode_data(profile.get(2)) == (
        h("01 02 02 03 09 0C") + stamp(times[0], clock_status=0) + h("06 00000000 06 000059D8")
        + h("02 03 09 0C") + stamp(times[1], clock_status=0) + h("06 00000001 06 000059D9"))
    assert profile.access_selectors(2) == (1, 2) and profile.access_selectors(3) == ()


def test_range_selection_is_inclusive_and_by_real_time():
    _, profile, times, _ = make_profile()
    assert kwh_of(by_range(profile, octets_at(times[2]), octets_at(times[5]))) == [2, 3, 4, 5]
    # The same instants written in UTC (deviation 0) and with date-time tag 25.
    utc = [Data(DataTag.DATE_TIME, CosemDateTime.from_datetime(times[i])) for i in (2, 5)]
    assert utc[0].value.deviation == 0
    assert kwh_of(by_range(profile, *utc)) == [2, 3, 4, 5]
    # Bounds between entries.
    assert kwh_of(by_range(profile, octets_at(times[2] + dt.timedelta(seconds=1)),
                           octets_at(times[5] - dt.timedelta(seconds=1)))) == [3, 4]


def test_range_selection_edge_cases():
    _, profile, times, _ = make_profile()
    null = Data(DataTag.NULL_DATA)
    # empty: the range lies between two entries, after the last one, or is reversed
    mid = times[3] + dt.timedelta(minutes=5)
    assert by_range(profile, octets_at(mid), octets_at(mid)) == Data(DataTag.ARRAY, ())
    assert by_range(profile, octets_at(T0 + dt.timedelta(days=1)), null).value == ()
    assert by_range(profile, octets_at(times[5]), octets_at(times[2])).value == ()
    # open ends
    assert kwh_of(by_range(profile, null, octets_at(times[1]))) == [0, 1]
    assert kwh_of(by_range(profile, octets_at(times[8]), null)) == [8, 9]
    # deviation "not specified" = meter local time; wildcarded date = open end
    local = CosemDateTime(year=2024, month=3, day=15, hour=15, minute=0, second=0)
    assert kwh_of(by_range(profile, Data(DataTag.OCTET_STRING, bytes(local)), null)) == [
        7, 8, 9]
    assert kwh_of(by_range(profile, Data(DataTag.OCTET_STRING, bytes(CosemDateTime())),
                           octets_at(times[0]))) == [0]
    # wildcarded seconds: from fills 0, to fills 59
    to = CosemDateTime(year=2024, month=3, day=15, hour=15, minute=0, deviation=-330)
    fr = CosemDateTime(year=2024, month=3, day=15, hour=14, minute=45, deviation=-330)
    assert kwh_of(by_range(profile, Data(DataTag.OCTET_STRING, bytes(fr)),
                           Data(DataTag.OCTET_STRING, bytes(to)))) == [6, 7]


def test_range_selected_values_and_errors():
    _, profile, times, _ = make_profile()
    rows = by_range(profile, octets_at(times[0]), octets_at(times[1]), (V_COL, CLOCK_COL))
    assert rows == Data(DataTag.ARRAY, tuple(Data(DataTag.STRUCTURE, (
        u32(23000 + i), octets_at(times[i], clock_status=0))) for i in (0, 1)))
    other = CaptureObjectDefinition(class_id=3, logical_name=Obis(1, 0, 9, 8, 0, 255),
                                    attribute_index=2)
    refused(DataAccessResult.OTHER_REASON, by_range, profile, octets_at(times[0]),
            octets_at(times[1]), (other,))
    bad = RangeDescriptor(restricting_object=other, from_value=octets_at(times[0]),
                          to_value=octets_at(times[1]))
    refused(DataAccessResult.OTHER_REASON, profile.get, 2, SelectiveAccessDescriptor.range(bad))
    refused(DataAccessResult.OTHER_REASON, by_range, profile, u32(1), u32(2))
    malformed = SelectiveAccessDescriptor(access_selector=1, access_parameters=u32(1))
    refused(DataAccessResult.OTHER_REASON, profile.get, 2, malformed)
    refused(DataAccessResult.SCOPE_OF_ACCESS_VIOLATED, profile.get, 2,
            SelectiveAccessDescriptor(access_selector=3, access_parameters=u32(1)))
    refused(DataAccessResult.SCOPE_OF_ACCESS_VIOLATED, profile.get, 3,
            SelectiveAccessDescriptor.entry(EntryDescriptor(from_entry=1)))


def test_range_on_a_numeric_column():
    _, profile, _, _ = make_profile()
    descriptor = RangeDescriptor(restricting_object=KWH_COL, from_value=u32(3), to_value=u32(4))
    assert kwh_of(profile.get(2, SelectiveAccessDescriptor.range(descriptor))) == [3, 4]


def test_entry_selection():
    _, profile, _, _ = make_profile()
    assert kwh_of(by_entry(profile, 1, 3, 1, 0)) == [0, 1, 2]
    assert kwh_of(by_entry(profile, 8, 0, 1, 0)) == [7, 8, 9]  # to_entry 0 = the last
    assert kwh_of(by_entry(profile, 9, 500, 1, 0)) == [8, 9]
    assert by_entry(profile, 11, 0, 1, 0) == Data(DataTag.ARRAY, ())  # beyond entries_in_use
    assert by_entry(profile, 5, 4, 1, 0).value == ()
    columns = by_entry(profile, 2, 2, 2, 3)
    assert columns == Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (u32(1), u32(23001))),))
    assert by_entry(profile, 2, 2, 3, 0).value[0].value == (u32(23001),)  # 0 = the last column
    assert kwh_of(by_entry(profile, 0, 1, 0, 0)) == [0]  # 0 read as 1


def test_range_and_entry_agree():
    _, profile, times, _ = make_profile(rows=50)
    assert by_range(profile, octets_at(times[10]), octets_at(times[19])) == by_entry(
        profile, 11, 20, 1, 0)


def test_capture_reset_and_fifo_overflow():
    ld, profile, times, now = make_profile(rows=3, entries=4)
    profile.action(2, Data(DataTag.INTEGER, 0))  # capture
    assert profile.entries_in_use == 4
    last = profile.rows[-1].value
    assert last[1:] == (u32(4242), u32(23000))
    assert CosemDateTime.from_bytes(last[0].value).to_datetime() == T0
    now.advance(minutes=15)
    profile.action(2, None)
    assert profile.entries_in_use == 4 and kwh_of(profile.get(2))[:2] == [1, 2]  # oldest dropped
    # the capture's key makes it selectable by range
    assert by_range(profile, octets_at(T0 + dt.timedelta(minutes=15)),
                    Data(DataTag.NULL_DATA)).value == (profile.rows[-1],)
    profile.set(8, u32(2))
    assert profile.get(7) == u32(2)
    profile.action(1, Data(DataTag.INTEGER, 0))  # reset
    assert profile.get(2) == Data(DataTag.ARRAY, ()) and profile.get(7) == u32(0)
    refused(DataAccessResult.OTHER_REASON, profile.set, 8, u32(0))


def test_set_capture_objects_and_period():
    seen = []
    ld, profile, _, _ = make_profile(rows=3)
    profile.on_capture_period_set = lambda old, new: seen.append((old, new))
    profile.set(4, u32(1800))
    assert profile.get(4) == u32(1800) and seen == [(900, 1800)]
    profile.set(3, Data(DataTag.ARRAY, (CLOCK_COL.to_data(), KWH_COL.to_data())))
    assert profile.entries_in_use == 0 and len(profile.capture_objects) == 2
    refused(DataAccessResult.TYPE_UNMATCHED, profile.set, 3, Data(DataTag.ARRAY, (u32(1),)))


def test_capture_on_read_shows_the_present_row():
    ld, _, _, now = make_profile(rows=0)
    inst = ld.add(ProfileGeneric("1.0.94.91.0.255", (CLOCK_COL, V_COL), capture_on_read=True))
    first = inst.get(2)
    now.advance(seconds=10)
    second = inst.get(2)
    assert len(first.value) == len(second.value) == 1 and first != second


def test_compressed_clock_column_keys_follow_the_capture_period():
    ld, profile, times, _ = make_profile(rows=2)
    profile.append_rows(((Data(DataTag.NULL_DATA), u32(2), u32(1)),))
    assert kwh_of(by_range(profile, octets_at(times[1] + dt.timedelta(minutes=15)),
                           Data(DataTag.NULL_DATA))) == [2]


def test_large_profile_selection():
    # selection time: bench/bench_build.py (no timings in tests)
    _, profile, times, _ = make_profile(rows=10_000, entries=10_000)
    part = by_range(profile, octets_at(times[5000]), octets_at(times[5099]))
    everything = profile.get(2)
    raw = encode_data(everything)
    assert len(part.value) == 100 and len(everything.value) == 10_000
    assert len(raw) == 4 + 10_000 * 26  # 01 82 2710, then 26 bytes a row
    assert kwh_of(part) == kwh_of(everything)[5000:5100]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12), st.integers(0, 12), st.integers(0, 4), st.integers(0, 4))
def test_entry_selection_matches_list_slicing(from_entry, to_entry, col_from, col_to):
    _, profile, _, _ = make_profile(rows=8)
    rows = [list(r.value) for r in profile.rows]
    first = max(from_entry, 1) - 1
    stop = 8 if to_entry == 0 else min(to_entry, 8)
    c0 = max(col_from, 1) - 1
    c1 = 3 if col_to == 0 else min(col_to, 3)
    expected = [r[c0:c1] for r in rows[first:stop]] if first < stop else []
    got = by_entry(profile, from_entry, to_entry, col_from, col_to)
    assert [list(r.value) for r in got.value] == expected
