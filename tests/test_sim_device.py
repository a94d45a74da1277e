"""Simulator logical/physical devices: access-checked dispatch, object lists, the built meter.

The built meter is checked against the IS 15959 catalogue (meterreader.india): visibility and
access rights per association, SAP assignment, live clock and energies, MD reset, history data,
determinism by seed and IS 15959 event codes.
"""

import datetime as dt

import pytest

from meterreader.cosem.interface_classes import AttributeAccessMode, MethodAccessMode
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag, encode_data
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.xdlms.common import (ActionResult, CaptureObjectDefinition,
                                           DataAccessResult, EntryDescriptor, RangeDescriptor,
                                           SelectiveAccessDescriptor)
from meterreader.india import catalogue as cat
from meterreader.india.events import CODE_RANGES, EventCompartment, compartment_of
from meterreader.simulator import (AccessContext, AccessError, AssociationLN, Clock,
                                   LogicalDevice, ObjectRights, ProfileGeneric, Register,
                                   build_meter, read_rights)
from meterreader.simulator.datagen import SLOT

IST = dt.timezone(dt.timedelta(minutes=330))
T0 = dt.datetime(2024, 3, 15, 10, 7, 30, tzinfo=dt.timezone.utc)  # 15:37:30 IST
PC = AccessContext(association_name="PC", client_sap=16)
MR = AccessContext(association_name="MR", client_sap=32)
US = AccessContext(association_name="US", client_sap=48, authenticated=True)
CLOCK = Obis(0, 0, 1, 0, 0, 255)
BLOCK_LOAD = Obis.parse(cat.BLOCK_LOAD)
BILLING = Obis.parse(cat.BILLING)
DAILY = Obis.parse(cat.DAILY_LOAD)
ZERO = Data(DataTag.INTEGER, 0)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


class FakeNow:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


def refused(result, call, *args):
    with pytest.raises(AccessError) as info:
        call(*args)
    assert info.value.result == result and type(info.value.result) is type(result), info.value


@pytest.fixture(scope="module")
def meter():
    """A category C meter that the tests only read (no SET/ACTION, clock not moved)."""
    return build_meter("C", seed=7, now=lambda: T0)


def fresh(category="C", seed=7, **kw):
    clock = FakeNow()
    return build_meter(category, seed=seed, now=clock, **kw), clock


# -- dispatch on a hand-built device -----------------------------------------------------------

@pytest.fixture
def small():
    ld = LogicalDevice(1, b"SIM")
    clock = ld.add(Clock(now=FakeNow()))
    reg = ld.add(Register("1.0.1.8.0.255", Data(DataTag.DOUBLE_LONG_UNSIGNED, 5), unit=30))
    secret = ld.add(Register("1.0.9.8.0.255", Data(DataTag.DOUBLE_LONG_UNSIGNED, 6), unit=31))
    ld.grant("MR", clock.logical_name, read_rights(clock))
    ld.grant("MR", reg.logical_name, ObjectRights(attributes={1: AttributeAccessMode.READ_ONLY,
                                                              2: AttributeAccessMode.READ_ONLY}))
    ld.grant("US", clock.logical_name, read_rights(clock, writable=(2,), methods=(6,)))
    ld.grant("US", reg.logical_name, read_rights(reg, writable=(2,), methods=(1,)))
    ld.grant("US", secret.logical_name, ObjectRights(attributes={
        2: AttributeAccessMode.AUTHENTICATED_READ_ONLY}))
    return ld


def test_dispatch_reads_with_rights(small):
    assert small.get(MR, 3, "1.0.1.8.0.255", 2) == Data(DataTag.DOUBLE_LONG_UNSIGNED, 5)
    assert small.get(MR, 8, CLOCK, 1) == Data(DataTag.OCTET_STRING, bytes(CLOCK))


def test_dispatch_refusals(small):
    refused(DataAccessResult.OBJECT_UNDEFINED, small.get, MR, 3, "1.0.99.99.0.255", 2)
    refused(DataAccessResult.OBJECT_UNDEFINED, small.get, MR, 3, "1.0.9.8.0.255", 2)  # not listed
    refused(DataAccessResult.OBJECT_CLASS_INCONSISTENT, small.get, MR, 4, "1.0.1.8.0.255", 2)
    refused(DataAccessResult.READ_WRITE_DENIED, small.get, MR, 3, "1.0.1.8.0.255", 3)
    refused(DataAccessResult.OBJECT_UNDEFINED, small.get, MR, 3, "1.0.1.8.0.255", 4)
    refused(DataAccessResult.READ_WRITE_DENIED, small.set, MR, 3, "1.0.1.8.0.255", 2,
            Data(DataTag.DOUBLE_LONG_UNSIGNED, 1))
    refused(DataAccessResult.READ_WRITE_DENIED, small.set, MR, 8, CLOCK, 2,
            Data(DataTag.OCTET_STRING, bytes(12)))
    refused(ActionResult.READ_WRITE_DENIED, small.action, MR, 3, "1.0.1.8.0.255", 1, ZERO)
    refused(ActionResult.OBJECT_UNDEFINED, small.action, MR, 3, "1.0.1.8.0.255", 2, ZERO)
    refused(ActionResult.OBJECT_UNDEFINED, small.action, MR, 3, "1.0.99.99.0.255", 1, ZERO)
    refused(ActionResult.OBJECT_CLASS_INCONSISTENT, small.action, MR, 4, "1.0.1.8.0.255", 1, ZERO)
    # the object's own checks come after the rights: wrong type
    refused(DataAccessResult.TYPE_UNMATCHED, small.set, US, 3, "1.0.1.8.0.255", 2,
            Data(DataTag.LONG, 1))
    refused(ActionResult.READ_WRITE_DENIED, small.action, US, 8, CLOCK, 1, ZERO)


def test_authenticated_access_modes(small):
    assert small.get(US, 3, "1.0.9.8.0.255", 2).value == 6
    refused(DataAccessResult.READ_WRITE_DENIED, small.get,
            AccessContext(association_name="US", client_sap=48), 3, "1.0.9.8.0.255", 2)


def test_dispatch_set_and_action_with_rights(small):
    small.set(US, 3, "1.0.1.8.0.255", 2, Data(DataTag.DOUBLE_LONG_UNSIGNED, 9))
    assert small.get(MR, 3, "1.0.1.8.0.255", 2).value == 9
    small.action(US, 3, "1.0.1.8.0.255", 1, ZERO)
    assert small.get(MR, 3, "1.0.1.8.0.255", 2).value == 0
    small.action(US, 8, CLOCK, 6, Data(DataTag.LONG, 60))
    assert small.clock.now() == T0.replace(minute=8, second=30)


def test_object_list_element_encoding(small):
    listed = small.object_list("MR")
    assert len(listed.value) == 2
    # {class 3, version 0, LN, {attributes 1..3 (1, 2 read-only, 3 none; no selectors),
    #  methods {1 no access}}}
    assert encode_data(listed.value[1]) == h(
        "02 04 12 0003 11 00 09 06 0100010800FF 02 02"
        "01 03 02 03 0F 01 16 01 00  02 03 0F 02 16 01 00  02 03 0F 03 16 00 00"
        "01 01 02 02 0F 01 16 00")
    profile = small.add(ProfileGeneric("1.0.99.1.0.255", ()), {"MR": read_rights(
        ProfileGeneric("1.0.99.1.0.255", ()))})
    element = small.object_list("MR").value[-1]
    buffer_item = element.value[3].value[0].value[1]
    assert encode_data(buffer_item) == h("02 03 0F 02 16 01 01 02 0F 01 0F 02")
    assert bytes(profile.logical_name) == element.value[2].value
    assert len(small.visible_objects("MR")) == 3


# -- the built meter: object lists and rights --------------------------------------------------

def listed_names(meter_ld, ctx):
    listing = meter_ld.get(ctx, 15, "0.0.40.0.0.255", 2)
    return {Obis.from_bytes(e.value[2].value): e for e in listing.value}


def test_object_lists_follow_the_catalogue(meter):
    ld = meter.management
    for ctx in (PC, MR, US):
        listing = listed_names(ld, ctx)
        expected = {o.obis for o in cat.catalogue("C") if o.visible_in(ctx.association_name)}
        assert set(listing) == expected
        for od in cat.catalogue("C"):
            if od.obis not in listing:
                continue
            element = listing[od.obis].value
            assert (element[0].value, element[1].value) == (od.class_id, od.version)
            for item in element[3].value[0].value:
                attr, mode = item.value[0].value, item.value[1].value
                assert mode == od.attribute_access_mode(ctx.association_name, attr)
            for item in element[3].value[1].value:
                method, mode = item.value[0].value, item.value[1].value
                allowed = od.method_allowed(ctx.association_name, method)
                assert mode == (MethodAccessMode.ACCESS if allowed else MethodAccessMode.NO_ACCESS)
    own = {a: ld.get(ctx, 15, f"0.0.40.0.{i}.255", 2) for i, (a, ctx) in
           enumerate((("PC", PC), ("MR", MR), ("US", US)), 1)}
    assert own["PC"] != own["MR"] != own["US"]
    assert own["MR"] == ld.get(MR, 15, "0.0.40.0.0.255", 2)


def test_public_client_rights(meter):
    ld = meter.management
    od = cat.find_object("C", BLOCK_LOAD)
    if not od.visible_in("PC"):
        refused(DataAccessResult.OBJECT_UNDEFINED, ld.get, PC, 7, BLOCK_LOAD, 2)
    else:
        refused(DataAccessResult.READ_WRITE_DENIED, ld.get, PC, 7, BLOCK_LOAD, 2)
    assert len(ld.get(PC, 8, CLOCK, 2).value) == 12
    refused(DataAccessResult.READ_WRITE_DENIED, ld.set, PC, 8, CLOCK, 2,
            Data(DataTag.OCTET_STRING, bytes(12)))
    refused(DataAccessResult.READ_WRITE_DENIED, ld.set, MR, 8, CLOCK, 2,
            Data(DataTag.OCTET_STRING, bytes(12)))
    refused(DataAccessResult.READ_WRITE_DENIED, ld.get, US, 15, "0.0.40.0.3.255", 7)
    refused(DataAccessResult.OBJECT_UNDEFINED, ld.get, MR, 3, "1.0.99.99.99.255", 2)
    refused(DataAccessResult.OBJECT_CLASS_INCONSISTENT, ld.get, MR, 3, CLOCK, 2)
    refused(ActionResult.READ_WRITE_DENIED, ld.action, MR, 9, cat.MD_RESET_SCRIPT_TABLE, 1,
            Data(DataTag.LONG_UNSIGNED, 1))


@pytest.mark.parametrize("category", ["A", "B", "C"])
def test_every_readable_attribute_encodes(category):
    meter = build_meter(category, seed=3, now=lambda: T0, days_of_block_load=3)
    ld = meter.management
    for ctx in (PC, MR, US):
        for obj in ld.visible_objects(ctx.association_name):
            rights = ld.rights(ctx.association_name, obj.logical_name)
            for attr in range(1, obj.attribute_count + 1):
                if rights.attribute(attr).readable:
                    value = ld.get(ctx, obj.class_id, obj.logical_name, attr)
                    assert isinstance(encode_data(value), bytes)
    # registers' scaler_unit equals the catalogue's scaler and unit
    for od in cat.catalogue(category):
        if od.class_id in (3, 4) and od.unit is not None:
            su = ld.get(MR, od.class_id, od.obis, 3)
            assert su == Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, od.scaler),
                                                  Data(DataTag.ENUM, int(od.unit))))
        if od.value_type is not None and od.class_id in (1, 3, 4) and od.visible_in("MR"):
            assert ld.get(MR, od.class_id, od.obis, 2).tag == od.value_type, od.obis


def test_sap_assignment_lists_both_logical_devices(meter):
    ld = meter.management
    sap = ld.get(PC, 17, "0.0.41.0.0.255", 2)
    entries = [(e.value[0].value, e.value[1].value) for e in sap.value]
    assert [a for a, _ in entries] == [1, 2]
    for address, name in entries:
        device = meter.logical_device(address)
        assert device.name == name
        assert device.get(PC, 1, "0.0.42.0.0.255", 2) == Data(DataTag.OCTET_STRING, name)
    assert entries[0][1] == b"MRD" + meter.serial.encode()
    assert meter.physical_address == 256


def test_second_logical_device(meter):
    ld2 = meter.logical_device(2)
    assert len(ld2.get(PC, 8, CLOCK, 2).value) == 12
    refused(DataAccessResult.OBJECT_UNDEFINED, ld2.get, PC, 3, "1.0.1.8.0.255", 2)
    assert ld2.get(MR, 3, "1.0.1.8.0.255", 2).tag == DataTag.DOUBLE_LONG_UNSIGNED
    partners = ld2.get(US, 15, "0.0.40.0.0.255", 3)
    assert partners == Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, 48),
                                                Data(DataTag.LONG_UNSIGNED, 2)))
    names = {Obis.from_bytes(e.value[2].value) for e in ld2.get(PC, 15, "0.0.40.0.0.255", 2).value}
    assert names == {Obis(0, 0, 42, 0, 0, 255), CLOCK, Obis(0, 0, 40, 0, 0, 255),
                     Obis(0, 0, 40, 0, 1, 255)}
    assert len(ld2.visible_objects("MR")) < len(meter.management.visible_objects("MR"))


def test_association_objects_carry_the_secrets():
    meter, _ = fresh(lls_password=b"abcdefgh", hls_key=b"K" * 16)
    ld = meter.management
    assert ld.association("MR").secret.reveal() == b"abcdefgh"
    assert ld.association("US").secret.reveal() == b"K" * 16
    assert ld.association("PC").secret is None
    assert ld.get(MR, 15, "0.0.40.0.0.255", 6).value[-1] == Data(DataTag.UNSIGNED, 1)
    assert ld.get(US, 15, "0.0.40.0.0.255", 6).value[-1] == Data(DataTag.UNSIGNED, 2)
    ld.set(US, 15, "0.0.40.0.2.255", 7, Data(DataTag.OCTET_STRING, b"newpass1"))
    assert ld.association("MR").secret.reveal() == b"newpass1"
    assert isinstance(ld.association("US"), AssociationLN)


# -- the built meter: live behaviour -----------------------------------------------------------

def read_time(ld, ctx=MR):
    return CosemDateTime.from_bytes(ld.get(ctx, 8, CLOCK, 2).value).to_datetime()


def test_clock_runs_and_set_time_persists():
    meter, clock = fresh()
    ld = meter.management
    assert read_time(ld) == T0.replace(microsecond=0)
    clock.advance(seconds=90)
    assert read_time(ld) == T0 + dt.timedelta(seconds=90)
    programming = ld.get(MR, 1, "0.0.96.2.0.255", 2).value
    target = dt.datetime(2024, 3, 15, 12, 0, tzinfo=IST)
    ld.set(US, 8, CLOCK, 2, Data(DataTag.OCTET_STRING, bytes(CosemDateTime.from_datetime(target))))
    assert read_time(ld) == target
    clock.advance(seconds=30)
    assert read_time(ld) == target + dt.timedelta(seconds=30)
    # the change is logged as event 151 in the transaction compartment
    log = ld.get(MR, 7, EventCompartment.TRANSACTION.profile_obis, 2)
    assert log.value[-1].value[1] == Data(DataTag.LONG_UNSIGNED, 151)
    assert ld.get(MR, 1, "0.0.96.2.0.255", 2).value == programming + 1
    assert ld.get(MR, 1, EventCompartment.TRANSACTION.event_code_obis, 2).value == 151


def test_deviation_sign_option():
    meter, _ = fresh(deviation_sign=+1)
    ld = meter.management
    assert ld.get(MR, 8, CLOCK, 3) == Data(DataTag.LONG, 330)
    stamp = CosemDateTime.from_bytes(ld.get(MR, 8, CLOCK, 2).value)
    assert stamp.deviation == 330
    assert stamp.to_datetime(deviation_sign=+1) == T0.replace(microsecond=0)
    row = ld.get(MR, 7, BLOCK_LOAD, 2).value[-1]
    assert CosemDateTime.from_bytes(row.value[0].value).deviation == 330


def test_start_option_sets_the_meter_clock():
    start = dt.datetime(2023, 7, 1, 9, 0)  # naive = meter local time
    meter, clock = fresh(start=start)
    ld = meter.management
    assert read_time(ld) == start.replace(tzinfo=IST)
    last = ld.get(MR, 7, BLOCK_LOAD, 2).value[-1]
    assert CosemDateTime.from_bytes(last.value[0].value).to_datetime() <= start.replace(
        tzinfo=IST)


def test_energy_increases_with_time_and_instantaneous_values_are_plausible():
    meter, clock = fresh()
    ld = meter.management
    first = ld.get(MR, 3, "1.0.1.8.0.255", 2).value
    clock.advance(minutes=1)
    second = ld.get(MR, 3, "1.0.1.8.0.255", 2).value
    power = ld.get(MR, 3, "1.0.1.7.0.255", 2).value  # W
    assert 0 < second - first < 2 * power / 60 + 10
    for c in (32, 52, 72):
        volts = ld.get(MR, 3, f"1.0.{c}.7.0.255", 2).value / 100
        assert 220 <= volts <= 255
    kvah = ld.get(MR, 3, "1.0.9.8.0.255", 2).value
    assert kvah > second
    frequency = ld.get(MR, 3, "1.0.14.7.0.255", 2).value / 100
    assert 49.8 <= frequency <= 50.2
    # the energy registers never run backwards when the clock is set back
    ld.set(US, 8, CLOCK, 2, Data(DataTag.OCTET_STRING, bytes(
        CosemDateTime.from_datetime(dt.datetime(2024, 3, 1, tzinfo=IST)))))
    assert ld.get(MR, 3, "1.0.1.8.0.255", 2).value >= second


def test_block_load_gets_a_row_when_a_capture_period_passes():
    meter, clock = fresh()
    ld = meter.management
    before = ld.get(MR, 7, BLOCK_LOAD, 7).value
    clock.advance(minutes=8)  # 15:37:30 → 15:45:30 IST, past the 15:45 boundary
    assert ld.get(MR, 7, BLOCK_LOAD, 7).value == before + 1
    last = ld.get(MR, 7, BLOCK_LOAD, 2).value[-1].value
    assert CosemDateTime.from_bytes(last[0].value).to_datetime() == dt.datetime(
        2024, 3, 15, 15, 45, tzinfo=IST)
    # the capture method appends a row read from the live objects
    ld[BLOCK_LOAD].action(2, ZERO)
    assert ld.get(MR, 7, BLOCK_LOAD, 7).value == before + 2
    clock.advance(minutes=15)  # 16:00:30: captured at 16:00, then the period becomes 30 min
    ld.set(US, 7, BLOCK_LOAD, 4, Data(DataTag.DOUBLE_LONG_UNSIGNED, 1800))
    clock.advance(minutes=30)  # 16:30:30: the next capture is at 16:30, not 16:15
    rows = ld.get(MR, 7, BLOCK_LOAD, 2).value[-2:]
    assert [CosemDateTime.from_bytes(r.value[0].value).to_datetime().time() for r in rows] == [
        dt.time(16, 0), dt.time(16, 30)]


def test_capture_period_change_is_logged():
    meter, _ = fresh()
    ld = meter.management
    ld.set(US, 7, BLOCK_LOAD, 4, Data(DataTag.DOUBLE_LONG_UNSIGNED, 1800))
    assert ld.get(MR, 7, BLOCK_LOAD, 4).value == 1800
    assert ld.get(MR, 1, "1.0.0.8.4.255", 2) == Data(DataTag.LONG_UNSIGNED, 1800)
    log = ld.get(MR, 7, EventCompartment.TRANSACTION.profile_obis, 2)
    assert log.value[-1].value[1].value == 153
    ld.set(US, 1, "1.0.0.8.4.255", 2, Data(DataTag.LONG_UNSIGNED, 900))
    assert ld.get(MR, 7, BLOCK_LOAD, 4).value == 900


def test_md_reset_closes_a_billing_period():
    meter, clock = fresh()
    ld = meter.management
    count = ld.get(MR, 1, "0.0.0.1.0.255", 2).value
    rows = ld.get(MR, 7, BILLING, 7).value
    md = ld.get(MR, 4, "1.0.1.6.0.255", 2).value
    assert md > 0
    ld.action(US, 9, cat.MD_RESET_SCRIPT_TABLE, cat.MD_RESET_METHOD,
              Data(DataTag.LONG_UNSIGNED, cat.MD_RESET_SCRIPT_ID))
    assert ld.get(MR, 1, "0.0.0.1.0.255", 2).value == count + 1
    billing = ld.get(MR, 7, BILLING, 2).value
    assert len(billing) == min(rows + 1, ld[BILLING].profile_entries)
    columns = ld[BILLING].capture_objects
    row = dict(zip(((c.logical_name, c.attribute_index) for c in columns), billing[-1].value))
    assert row[(Obis(1, 0, 1, 6, 0, 255), 2)].value == md
    billing_date = CosemDateTime.from_bytes(row[(Obis(0, 0, 0, 1, 2, 255), 2)].value)
    assert billing_date.to_datetime() == T0.replace(microsecond=0)
    assert ld.get(MR, 4, "1.0.1.6.0.255", 2).value == 0
    assert ld.get(MR, 3, "0.0.0.1.2.255", 2) == row[(Obis(0, 0, 0, 1, 2, 255), 2)]
    clock.advance(minutes=31)  # two complete demand periods later the MD is back
    assert ld.get(MR, 4, "1.0.1.6.0.255", 2).value > 0


def test_billing_date_closes_the_period_automatically():
    meter, clock = fresh()
    ld = meter.management
    count = ld.get(MR, 1, "0.0.0.1.0.255", 2).value
    clock.t = dt.datetime(2024, 4, 1, 0, 5, tzinfo=IST)
    assert ld.get(MR, 1, "0.0.0.1.0.255", 2).value == count + 1
    last = ld.get(MR, 7, BILLING, 2).value[-1].value[0]
    assert CosemDateTime.from_bytes(last.value).to_datetime() == dt.datetime(2024, 4, 1,
                                                                           tzinfo=IST)


# -- the built meter: history data -------------------------------------------------------------

def row_times(buffer: Data) -> list[float]:
    return [CosemDateTime.from_bytes(r.value[0].value).to_datetime().timestamp()
            for r in buffer.value]


def test_block_load_history(meter):
    ld = meter.management
    buffer = ld.get(MR, 7, BLOCK_LOAD, 2)
    times = row_times(buffer)
    assert times == sorted(times) and times[-1] <= T0.timestamp()
    assert all(t % 900 == 0 for t in times)
    assert T0.timestamp() - times[0] <= 35 * 86400
    model = meter.model.model
    missing = {t for t in range(int(times[0]), int(times[-1]) + 1, 900)} - set(times)
    assert missing and all(not model.is_powered(t) for t in missing)  # power failures
    columns = [(c.logical_name.c, c.logical_name.d) for c in ld[BLOCK_LOAD].capture_objects]
    for row in buffer.value[:200]:
        values = dict(zip(columns, (v.value for v in row.value)))
        for c in (32, 52, 72):
            assert 22000 <= values[(c, 27)] <= 25500  # 220-255 V at scaler -2
        volts = [values[(c, 27)] / 100 for c in (32, 52, 72)]
        amps = [values[(c, 27)] / 1000 for c in (31, 51, 71)]
        kwh, kvah = values[(1, 29)], values[(9, 29)]
        assert kwh <= kvah <= sum(v * a for v, a in zip(volts, amps)) * 0.25 * 1.01 + 2
        assert kwh >= 0.85 * kvah or values[(8, 29)] > 0  # PF 0.9-0.98


def test_block_energies_add_up_to_the_daily_snapshots(meter):
    ld = meter.management
    daily = ld.get(MR, 7, DAILY, 2).value
    block = ld.get(MR, 7, BLOCK_LOAD, 2).value
    block_times = row_times(Data(DataTag.ARRAY, block))
    kwh_column = [c.logical_name for c in ld[BLOCK_LOAD].capture_objects].index(
        Obis(1, 0, 1, 29, 0, 255))
    checked = 0
    for a, b in zip(daily, daily[1:]):
        t0, t1 = row_times(Data(DataTag.ARRAY, (a, b)))
        inside = [r for t, r in zip(block_times, block) if t0 < t <= t1]
        if len(inside) == 96 and t0 >= block_times[0]:
            total = sum(r.value[kwh_column].value for r in inside)
            assert total == b.value[1].value - a.value[1].value
            checked += 1
    assert checked >= 20


def test_daily_and_billing_history(meter):
    ld = meter.management
    daily = ld.get(MR, 7, DAILY, 2).value
    times = row_times(Data(DataTag.ARRAY, daily))
    assert len(daily) == 35
    for t in times:
        local = dt.datetime.fromtimestamp(t, IST)
        assert (local.hour, local.minute) == (0, 0)
    kwh = [r.value[1].value for r in daily]
    assert kwh == sorted(kwh) and kwh[0] < kwh[-1]
    billing = ld.get(MR, 7, BILLING, 2).value
    assert len(billing) == 12
    dates = [dt.datetime.fromtimestamp(t, IST) for t in row_times(Data(DataTag.ARRAY, billing))]
    assert all((d.day, d.hour) == (1, 0) for d in dates)
    assert dates[-1] == dt.datetime(2024, 3, 1, tzinfo=IST)
    assert ld.get(MR, 1, "0.0.0.1.0.255", 2).value >= 12
    columns = [(c.logical_name, c.attribute_index) for c in ld[BILLING].capture_objects]
    total = columns.index((Obis(1, 0, 1, 8, 0, 255), 2))
    zones = [columns.index((Obis(1, 0, 1, 8, e, 255), 2)) for e in range(1, 9)]
    md = columns.index((Obis(1, 0, 1, 6, 0, 255), 2))
    md_zones = [columns.index((Obis(1, 0, 1, 6, e, 255), 2)) for e in range(1, 9)]
    previous = 0
    for row in billing:
        v = [d.value for d in row.value]
        assert v[total] > previous
        previous = v[total]
        assert abs(sum(v[z] for z in zones) - v[total]) <= 8  # zones add up (rounding)
        assert v[md] == max(v[z] for z in md_zones) > 0


def test_event_logs_use_is15959_codes(meter):
    ld = meter.management
    counts = {}
    for compartment in EventCompartment:
        log = ld.get(MR, 7, compartment.profile_obis, 2).value
        counts[compartment] = len(log)
        for row in log:
            code = row.value[1].value
            assert code in CODE_RANGES[compartment] and compartment_of(code) is compartment
        times = row_times(Data(DataTag.ARRAY, log))
        assert times == sorted(times)
    assert counts[EventCompartment.POWER] >= 2 and counts[EventCompartment.NON_ROLLOVER] == 1
    assert counts[EventCompartment.VOLTAGE] >= 2 and counts[EventCompartment.CURRENT] >= 2
    power = ld.get(MR, 7, EventCompartment.POWER.profile_obis, 2).value
    codes = [r.value[1].value for r in power]
    assert codes[:2] == [101, 102]
    # each power failure matches a hole in the block load
    outages = meter.model.model.outages
    assert len(outages) == codes.count(101)


def test_selective_access_on_the_built_meter(meter):
    ld = meter.management
    clock_column = CaptureObjectDefinition(class_id=8, logical_name=CLOCK, attribute_index=2)
    start = dt.datetime(2024, 3, 14, 0, 0, tzinfo=IST)
    end = dt.datetime(2024, 3, 14, 23, 59, 59, tzinfo=IST)
    descriptor = RangeDescriptor(
        restricting_object=clock_column,
        from_value=Data(DataTag.OCTET_STRING, bytes(CosemDateTime.from_datetime(start))),
        to_value=Data(DataTag.OCTET_STRING, bytes(CosemDateTime.from_datetime(end))))
    day = ld.get(MR, 7, BLOCK_LOAD, 2, SelectiveAccessDescriptor.range(descriptor))
    times = row_times(day)
    assert times and start.timestamp() <= times[0] and times[-1] <= end.timestamp()
    everything = ld.get(MR, 7, BLOCK_LOAD, 2).value
    first = everything.index(day.value[0]) + 1
    by_entry = ld.get(MR, 7, BLOCK_LOAD, 2, SelectiveAccessDescriptor.entry(
        EntryDescriptor(from_entry=first, to_entry=first + len(day.value) - 1)))
    assert by_entry == day
    last = ld.get(MR, 7, EventCompartment.POWER.profile_obis, 2, SelectiveAccessDescriptor.entry(
        EntryDescriptor(from_entry=1, to_entry=1, from_selected_value=2, to_selected_value=2)))
    assert last == Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (
        Data(DataTag.LONG_UNSIGNED, 101),)),))


def test_scaler_profiles_match_the_registers(meter):
    ld = meter.management
    for p in cat.profiles("C"):
        if not p.is_scaler_profile:
            continue
        row = ld.get(MR, 7, p.obis, 2).value
        assert len(row) == 1
        for c, su in zip(p.capture_objects, row[0].value):
            assert su == ld.get(MR, c.class_id, c.obis, 3)


def test_name_plate_profile(meter):
    ld = meter.management
    row = ld.get(PC, 7, cat.NAME_PLATE, 2).value[0].value
    assert row[0] == Data(DataTag.OCTET_STRING, meter.serial.encode())


# -- determinism and speed ---------------------------------------------------------------------

def all_profile_bytes(meter) -> bytes:
    ld = meter.management
    return b"".join(encode_data(o.get(2)) for o in ld.objects if isinstance(o, ProfileGeneric)
                    and not o.capture_on_read)


def test_same_seed_same_bytes_different_seed_different_data():
    a = all_profile_bytes(build_meter("C", seed=11, now=lambda: T0))
    b = all_profile_bytes(build_meter("C", seed=11, now=lambda: T0))
    c = all_profile_bytes(build_meter("C", seed=12, now=lambda: T0))
    assert a == b
    assert a != c
    assert build_meter("B", seed=11, now=lambda: T0).serial == build_meter(
        "B", seed=11, now=lambda: T0).serial


def test_instantaneous_values_are_deterministic_for_an_instant():
    a, _ = fresh(seed=5)
    b, _ = fresh(seed=5)
    inst = Obis.parse(cat.INSTANTANEOUS)
    assert a.management.get(MR, 7, inst, 2) == b.management.get(MR, 7, inst, 2)


def test_category_c_with_35_days_builds():
    # build time: bench/bench_build.py (no timings in tests)
    meter = build_meter("C", seed=99, now=lambda: T0, days_of_block_load=35)
    assert meter.management[BLOCK_LOAD].entries_in_use > 35 * 96 - 200


def test_thirty_minute_capture_period():
    meter, clock = fresh(capture_period=1800, days_of_block_load=2)
    ld = meter.management
    times = row_times(ld.get(MR, 7, BLOCK_LOAD, 2))
    assert all(t % 1800 == 0 for t in times) and ld.get(MR, 7, BLOCK_LOAD, 4).value == 1800
    assert SLOT == 900


def test_block_load_depth_option_keeps_more_rows():
    deep = build_meter("C", seed=3, now=lambda: T0, capture_period=60, days_of_block_load=8,
                       block_load_entries=12000)
    block = deep.logical_devices[1].object(cat.BLOCK_LOAD)
    assert block.profile_entries == 12000
    assert 10_000 < block.entries_in_use <= 12000  # 8 days of minutes, less the outages
    with pytest.raises(LocalProtocolError):
        build_meter("C", block_load_entries=0)
