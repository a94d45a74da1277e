"""``build_meter``: an IS 15959 meter of category A, B or C with deterministic history.

The management logical device (address 1) holds every object of the category's catalogue
(:mod:`meterreader.india.catalogue`) with the catalogue's access rights per association, the
profiles filled with ``days_of_block_load`` days of block load, daily snapshots, 12 billing
periods and the event logs; a second, smaller logical device (address 2) has its own name,
clock, a few registers and its own association objects. Both are listed by the SAP assignment
object 0.0.41.0.0.255 of the management device.

The association secrets (LLS password of MR, HLS key of US) live in the Association LN objects:
``ld.association("MR").secret`` is a SecretBytes that a SET of attribute 7 (or method 2) changes,
so the connection layer should read it at each association request.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any, Callable

from meterreader.cosem.interface_classes import AttributeAccessMode, Unit
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import BLUE_BOOK, CosemDate, CosemTime
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.xdlms.common import CaptureObjectDefinition
from meterreader.india.associations import (ASSOCIATIONS, DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD,
                                            SERVER_PHYSICAL_ADDRESS)
from meterreader.india.catalogue import (BILLING, BLOCK_LOAD, DAILY_LOAD, INSTANTANEOUS,
                                         MD_RESET_SCRIPT_ID, MeterCategory, ObjectDef, ProfileDef,
                                         catalogue, profiles)
from meterreader.india.events import EventCompartment, compartment_of, events_of

from .datagen import DAY, LoadModel, generate_events, generate_outages
from .device import LogicalDevice, ObjectRights, PhysicalDevice, read_rights, rights_from_strings
from .live import MeterRuntime
from .objects import (NULL, CosemObject, DataObject, ExtendedRegister, Register, octets, resolve,
                      zero_like)
from .objects_misc import (GenericObject, SapAssignment, Script, ScriptTable,
                           SingleActionSchedule, action_specification)
from .objects_association import AssociationLN
from .objects_clock import IST_MINUTES, Clock
from .objects_profile import ProfileGeneric

__all__ = ["build_meter"]

CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
_LD_NAME = Obis(0, 0, 42, 0, 0, 255)
#: (logical name, attribute) whose SET the meter logs as a transaction event (IS 15959 codes).
_TRANSACTIONS = {(Obis(1, 0, 0, 8, 0, 255), 2): 152, (Obis(1, 0, 0, 8, 4, 255), 2): 153,
                 (Obis.parse(BLOCK_LOAD), 4): 153, (Obis(0, 0, 15, 0, 0, 255), 4): 154,
                 **{(Obis(0, 0, 13, 0, 0, 255), a): 155 for a in range(6, 11)}}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def build_meter(category: MeterCategory | str = "C", *, seed: int = 1,
                start: dt.datetime | None = None, now: Callable[[], dt.datetime] | None = None,
                capture_period: int = 900, deviation_sign: int = BLUE_BOOK,
                days_of_block_load: int = 35,
                lls_password: bytes | SecretBytes = DEFAULT_LLS_PASSWORD,
                hls_key: bytes | SecretBytes = DEFAULT_HLS_KEY, serial: str | None = None,
                utc_offset_minutes: int = IST_MINUTES,
                block_load_entries: int | None = None) -> PhysicalDevice:
    """Build a simulated meter (see the module docstring).

    ``now`` is the real-time source (default: the system clock, UTC); ``start`` sets the meter's
    clock (naive = meter local time), which then runs from there. ``deviation_sign=+1`` makes the
    clock send +330 for IST instead of the Blue Book -330. Same arguments → identical data.
    """
    cat = MeterCategory.parse(category)
    if isinstance(capture_period, bool) or not isinstance(capture_period, int) \
            or not 0 < capture_period <= DAY or days_of_block_load < 0:
        raise LocalProtocolError("capture_period must be 1..86400 s and days_of_block_load >= 0")
    if block_load_entries is not None and not 0 < block_load_entries <= 1_000_000:
        raise LocalProtocolError("block_load_entries must be 1..1000000")
    rng = random.Random(seed)
    serial = serial or f"{rng.randint(1, 99_999_999):08d}"  # drawn first: same seed, same data
    clock = Clock(now=now or _utc_now, start=start, deviation_sign=deviation_sign,
                  utc_offset_minutes=utc_offset_minutes)
    t_now = clock.now().timestamp()
    history_start = t_now - days_of_block_load * DAY
    billing_start = _first_of_month(clock, t_now)
    epoch = min(history_start, billing_start) - DAY
    outages = generate_outages(rng, history_start, t_now)
    base_wh = rng.uniform(4.0e8, 9.0e8)
    model = LoadModel(seed, epoch=epoch, utc_offset=utc_offset_minutes, outages=outages,
                      rated_current=rng.choice((30.0, 40.0, 50.0)),
                      base=(base_wh, base_wh * 0.12, base_wh * 0.01, base_wh / 0.94))
    defs = {o.obis: o for o in catalogue(cat)}
    runtime = MeterRuntime(model=model, clock=clock, defs=defs, billing_start=billing_start)
    runtime.compartment_of = _compartment_index
    name1, name2 = f"MRD{serial}".encode(), f"MRD{serial}-2".encode()

    ld = LogicalDevice(1, name1)
    runtime.device = ld
    ld.add(clock)
    factory = _Factory(cat, runtime, serial, (name1, name2), lls_password, hls_key)
    factory.block_load_entries = block_load_entries
    for od in catalogue(cat):
        if od.class_id == 7 or od.obis == clock.logical_name:
            continue
        ld.add(factory.make(od))
    for p in profiles(cat):
        ld.add(factory.profile(p, capture_period))
    for od in catalogue(cat):
        for association, access in od.access.items():
            ld.grant(association, od.obis, rights_from_strings(
                access, od.methods.get(association, ())))

    _fill_history(ld, runtime, rng, t_now, days_of_block_load)
    runtime.schedule(t_now)
    ld.before_access = runtime.update
    ld.after_set = lambda ctx, obj, attr: _log_transaction(runtime, obj, attr)
    clock.on_time_set = lambda old, new: runtime.log_event(151)

    ld2 = _second_device(name2, serial, runtime, clock, lls_password, hls_key)
    return PhysicalDevice({1: ld, 2: ld2}, serial=serial,
                          physical_address=SERVER_PHYSICAL_ADDRESS, model=runtime)


def _compartment_index(code: int) -> int | None:
    compartment = compartment_of(code)
    return None if compartment is None else int(compartment)


def _first_of_month(clock: Clock, t: float) -> float:
    local = dt.datetime.fromtimestamp(t, tz=clock.tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def _log_transaction(runtime: MeterRuntime, obj: CosemObject, attr: int) -> None:
    code = _TRANSACTIONS.get((obj.logical_name, attr))
    if code is not None:
        runtime.log_event(code)


class _Factory:
    """Makes the server object for each catalogue entry."""

    def __init__(self, category: MeterCategory, runtime: MeterRuntime, serial: str,
                 sap_names: tuple[bytes, bytes], lls_password: bytes | SecretBytes,
                 hls_key: bytes | SecretBytes) -> None:
        self.category, self.runtime, self.serial = category, runtime, serial
        self.sap_names = sap_names
        self.secrets = {"MR": lls_password, "US": hls_key}
        self.block_load_entries: int | None = None
        year = runtime.clock.now().year - 1
        counters = runtime.counters
        self.fixed: dict[Obis, Any] = {
            _LD_NAME: octets(sap_names[0]),
            Obis(0, 0, 96, 1, 0, 255): octets(serial.encode()),
            Obis(0, 0, 96, 1, 1, 255): octets(b"MeterReader Simulator"),
            Obis(1, 0, 0, 2, 0, 255): octets(b"SIM-1.0.0"),
            Obis(0, 0, 94, 91, 9, 255): Data(DataTag.UNSIGNED, 3),  # three-phase four-wire
            Obis(0, 0, 94, 91, 11, 255): octets(f"{category.value}1".encode()),
            Obis(0, 0, 94, 91, 12, 255): octets(b"10-60A" if category is MeterCategory.C
                                                else b"-/5A"),
            Obis(0, 0, 96, 1, 4, 255): Data(DataTag.LONG_UNSIGNED, year),
            Obis(1, 0, 0, 4, 2, 255): Data(DataTag.LONG_UNSIGNED, 1),
            Obis(1, 0, 0, 4, 3, 255): Data(DataTag.LONG_UNSIGNED, 1),
            Obis(1, 0, 0, 8, 0, 255): Data(DataTag.LONG_UNSIGNED, 900),
            Obis(0, 0, 96, 7, 0, 255): lambda: Data(DataTag.LONG_UNSIGNED,
                                                    counters["power_failures"] & 0xFFFF),
            Obis(0, 0, 94, 91, 0, 255): lambda: Data(DataTag.LONG_UNSIGNED,
                                                     counters["tamper"] & 0xFFFF),
            Obis(0, 0, 0, 1, 0, 255): lambda: Data(DataTag.LONG_UNSIGNED,
                                                   counters["billing"] & 0xFFFF),
            Obis(0, 0, 96, 2, 0, 255): lambda: Data(DataTag.LONG_UNSIGNED,
                                                    counters["programming"] & 0xFFFF),
            Obis(0, 0, 0, 1, 1, 255): lambda: Data(DataTag.UNSIGNED, min(
                255, runtime.profiles["billing"].entries_in_use)),
            Obis(0, 0, 94, 91, 8, 255): lambda: Data(DataTag.DOUBLE_LONG_UNSIGNED,
                                                     counters["power_fail_minutes"]),
            Obis(0, 0, 0, 1, 2, 255): lambda: runtime.clock_cell(runtime.billing_start),
            Obis(1, 0, 0, 8, 4, 255): lambda: Data(DataTag.LONG_UNSIGNED,
                                                   runtime.capture_period),
        }
        for c in EventCompartment:
            self.fixed[c.event_code_obis] = (
                lambda c=int(c): Data(DataTag.LONG_UNSIGNED, runtime.last_code.get(c, 0)))
        self._makers = {1: self._data, 3: self._register, 4: self._extended, 9: self._script,
                        15: self._association, 17: self._sap, 20: self._calendar,
                        22: self._schedule}

    def make(self, od: ObjectDef) -> CosemObject:
        maker = self._makers.get(od.class_id)
        if maker is None:  # a class the simulator does not model: attributes of null-data
            obj = GenericObject(od.class_id, od.version, od.obis, {})
            obj.attributes.update({i: NULL for i in range(2, obj.attribute_count + 1)})
            return obj
        return maker(od)

    def _value(self, od: ObjectDef) -> Any:
        fixed = self.fixed.get(od.obis)
        if fixed is not None:
            return fixed
        if od.value_type is not None and self.runtime.quantity(od.obis) is not None:
            return self.runtime.live_value(od)
        tag = od.value_type or DataTag.NULL_DATA  # not modelled: an empty value of its type
        if tag in (DataTag.OCTET_STRING, DataTag.VISIBLE_STRING):
            return Data(tag, b"" if tag == DataTag.OCTET_STRING else "")
        return zero_like(Data(tag, 0))

    def _data(self, od: ObjectDef) -> CosemObject:
        on_set = None
        if od.obis == Obis(1, 0, 0, 8, 4, 255):
            on_set = self._set_capture_period
        return DataObject(od.obis, self._value(od), on_set=on_set)

    def _set_capture_period(self, value: Data) -> None:
        block = self.runtime.profiles.get("block")
        if block is not None and value.value > 0:
            block.capture_period = value.value

    def _register(self, od: ObjectDef) -> CosemObject:
        return Register(od.obis, self._value(od), scaler=od.scaler or 0,
                        unit=od.unit if od.unit is not None else Unit.COUNT)

    def _extended(self, od: ObjectDef) -> CosemObject:
        rt, c, e = self.runtime, od.obis.c, od.obis.e
        return ExtendedRegister(od.obis, self._value(od), scaler=od.scaler or 0,
                                unit=od.unit if od.unit is not None else Unit.COUNT,
                                status=Data(DataTag.UNSIGNED, 0),
                                capture_time=lambda: rt.md_time_cell(c, e),
                                on_reset=lambda: rt._reset_md(rt.now()))

    def _script(self, od: ObjectDef) -> CosemObject:
        # The MD reset: capture the billing profile, reset the maximum demands.
        actions = (action_specification(2, 7, BILLING, 2, Data(DataTag.INTEGER, 0)),
                   action_specification(2, 4, "1.0.1.6.0.255", 1, Data(DataTag.INTEGER, 0)),
                   action_specification(2, 4, "1.0.9.6.0.255", 1, Data(DataTag.INTEGER, 0)))
        return ScriptTable(od.obis, (Script(script_id=MD_RESET_SCRIPT_ID, actions=actions,
                                            callback=self.runtime.md_reset),))

    def _association(self, od: ObjectDef) -> CosemObject:
        if od.obis == CURRENT_ASSOCIATION:
            return AssociationLN(od.obis, association_name=None)
        a = next(a for a in ASSOCIATIONS if a.association_ln == od.obis)
        secret = self.secrets.get(a.name)
        return AssociationLN(od.obis, association_name=a.name, client_sap=a.client_sap,
                             server_sap=1, mechanism=int(a.mechanism), secret=secret)

    def _sap(self, od: ObjectDef) -> CosemObject:
        return SapAssignment(od.obis, ((1, self.sap_names[0]), (2, self.sap_names[1])))

    def _calendar(self, od: ObjectDef) -> CosemObject:
        # Activity calendar (class 20): one season, one week, one day of eight 3-hour zones.
        day = Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (
            Data(DataTag.UNSIGNED, 1), Data(DataTag.ARRAY, tuple(
                Data(DataTag.STRUCTURE, (octets(bytes(CosemTime(hour=3 * z, minute=0, second=0,
                                                                 hundredths=0))),
                                         octets(bytes(Obis(0, 0, 10, 0, 100, 255))),
                                         Data(DataTag.LONG_UNSIGNED, z + 1)))
                for z in range(8))))),))
        week = Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (
            octets(b"W1"), *(Data(DataTag.UNSIGNED, 1) for _ in range(7)))),))
        season = Data(DataTag.ARRAY, (Data(DataTag.STRUCTURE, (
            octets(b"S1"), octets(bytes(12)), octets(b"W1"))),))
        attrs = {2: octets(b"TOD"), 3: season, 4: week, 5: day, 6: octets(b"TOD"), 7: season,
                 8: week, 9: day, 10: octets(bytes(12))}
        obj = GenericObject(20, od.version, od.obis, attrs, writable=range(6, 11))
        obj.methods[1] = lambda params: _activate_calendar(obj)
        return obj

    def _schedule(self, od: ObjectDef) -> CosemObject:
        # Billing date: 00:00 on the first day of every month.
        return SingleActionSchedule(od.obis, script="0.0.10.0.1.255", selector=MD_RESET_SCRIPT_ID,
                                    type_=1, times=((CosemTime(hour=0, minute=0, second=0,
                                                               hundredths=0), CosemDate(day=1)),))

    def profile(self, p: ProfileDef, capture_period: int) -> ProfileGeneric:
        columns = tuple(CaptureObjectDefinition(class_id=c.class_id, logical_name=c.obis,
                                                attribute_index=c.attribute,
                                                data_index=c.data_index)
                        for c in p.capture_objects)
        obis = str(p.obis)
        period = capture_period if obis == BLOCK_LOAD else p.capture_period
        depth = p.profile_entries
        if obis == BLOCK_LOAD and self.block_load_entries is not None:
            depth = self.block_load_entries
        profile = ProfileGeneric(p.obis, columns, capture_period=period,
                                 profile_entries=depth,
                                 capture_on_read=obis == INSTANTANEOUS)
        key = {BLOCK_LOAD: "block", DAILY_LOAD: "daily", BILLING: "billing"}.get(obis)
        if key is not None:
            self.runtime.profiles[key] = profile
        compartment = next((c for c in EventCompartment if c.profile_obis == p.obis), None)
        if compartment is not None:
            self.runtime.event_profiles[int(compartment)] = profile
        return profile


def _activate_calendar(obj: GenericObject) -> None:
    for active in range(2, 6):
        obj.attributes[active] = resolve(obj.attributes[active + 4])


def _fill_history(ld: LogicalDevice, rt: MeterRuntime, rng: random.Random, t_now: float,
                  days: int) -> None:
    """Block load, daily load, billing history and event logs, then the static profiles."""
    start = t_now - days * DAY
    block = rt.profiles.get("block")
    if block is not None:
        cp = block.capture_period
        times = [t for t in (k * cp for k in range(math.floor(start / cp) + 1,
                                                      math.floor(t_now / cp) + 1))
                 if rt.model.is_powered(t)]
        cells = rt.compile(block)
        block.append_rows((rt.row(cells, t, (t - cp, t)) for t in times), times)
    daily = rt.profiles.get("daily")
    if daily is not None:
        times, t = [], rt.next_midnight(t_now - min(days, daily.profile_entries) * DAY)
        while t <= t_now:
            times.append(t)
            t = rt.next_midnight(t)
        cells = rt.compile(daily)
        daily.append_rows((rt.row(cells, t) for t in times), times)
    billing = rt.profiles.get("billing")
    dates = [rt.billing_start]
    for _ in range(12):
        dates.insert(0, _first_of_month(rt.clock, dates[0] - DAY))
    if billing is not None:
        cells = rt.compile(billing)
        for begin, end in zip(dates, dates[1:]):
            overrides = rt.billing_overrides(billing, end, begin, rt.sampled_md(begin, end))
            billing.append_rows((rt.row(cells, end, None, overrides),), (end,))
    rt.counters["billing"] = 12 + rng.randint(0, 48)
    codes = {int(c): [e.code for e in events_of(c)] for c in EventCompartment}
    rt.counters.update(power_failures=rng.randint(10, 60), tamper=rng.randint(0, 20),
                       programming=rng.randint(1, 10))
    rt.counters["power_fail_minutes"] = rng.randint(100, 5000) + sum(
        round((o.on - o.off) / 60) for o in rt.model.outages)
    for event in generate_events(rng, rt.model, start, t_now, codes):
        if event.code == 101:
            rt.counters["power_failures"] += 1
        rt.log_event(event.code, event.time)
    for obj in ld.objects:  # name plate and scaler profiles: one row, captured once
        if isinstance(obj, ProfileGeneric) and obj.capture_period == 0 and obj.entries_in_use == 0 \
                and obj not in rt.event_profiles.values() and obj is not billing:
            obj.capture()


def _second_device(name: bytes, serial: str, rt: MeterRuntime, clock: Clock,
                   lls_password: bytes | SecretBytes, hls_key: bytes | SecretBytes
                   ) -> LogicalDevice:
    """Logical device 2: its own name, clock, a few registers and association objects."""
    ld = LogicalDevice(2, name)
    own_clock = Clock(now=clock.real_now, deviation_sign=clock.deviation_sign,
                      utc_offset_minutes=clock.utc_offset_minutes, start=clock.now())
    objects: list[CosemObject] = [
        DataObject(_LD_NAME, octets(name)), own_clock,
        DataObject("0.0.96.1.0.255", octets(serial.encode())),
    ]
    for obis in ("1.0.1.8.0.255", "1.0.32.7.0.255", "1.0.14.7.0.255"):
        od = rt.defs[Obis.parse(obis)]
        objects.append(Register(od.obis, rt.live_value(od), scaler=od.scaler or 0,
                                unit=od.unit if od.unit is not None else Unit.COUNT))
    secrets = {"MR": lls_password, "US": hls_key}
    objects.append(AssociationLN(CURRENT_ASSOCIATION, association_name=None))
    for a in ASSOCIATIONS:
        objects.append(AssociationLN(a.association_ln, association_name=a.name,
                                     client_sap=a.client_sap, server_sap=2,
                                     mechanism=int(a.mechanism), secret=secrets.get(a.name)))
    for obj in objects:
        ld.add(obj)
    public = {_LD_NAME, own_clock.logical_name, CURRENT_ASSOCIATION}
    for a in ASSOCIATIONS:
        for obj in objects:
            if isinstance(obj, AssociationLN) and obj.association_name not in (None, a.name):
                continue
            if a.name == "PC" and obj.logical_name not in public | {a.association_ln}:
                continue
            writable = (2,) if a.name == "US" and obj is own_clock else ()
            methods: tuple[int, ...] = ()
            if a.name == "US" and isinstance(obj, AssociationLN):  # HLS pass 3/4, new secret
                methods = (1, 2) if obj.association_name == "US" else (1,)
            rights = read_rights(obj, writable=writable, methods=methods)
            if isinstance(obj, AssociationLN):  # the secret is never readable
                rights = ObjectRights(attributes={**rights.attributes,
                                                  7: AttributeAccessMode.NO_ACCESS},
                                      methods=rights.methods)
            ld.grant(a.name, obj.logical_name, rights)
    return ld

