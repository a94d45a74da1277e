"""IS 15959 profiles of each meter category: capture objects, scaler profiles, periods, depths.

Column order follows the common IS 15959 tables (clock first). Each data profile names its scaler
profile; a scaler profile's capture objects are (class, logical name, attribute 3) of every
register column (classes 3, 4, 5) of its data profile(s), once each and in column order, and its
single row holds the scaler_unit structures. The event-log scaler profile serves all seven
compartments.

Depths (profile_entries) are common values, not mandated ones: 45 days of 15-minute blocks,
45 days of midnight snapshots, 12 billing periods plus the current one.
"""

from __future__ import annotations

from meterreader.cosem.obis import Obis
from meterreader.india.catalogue_objects import TOD_ZONES
from meterreader.india.catalogue_types import CaptureObjectDef, MeterCategory, ProfileDef, capture
from meterreader.india.events import EventCompartment

CLOCK = "0.0.1.0.0.255"

INSTANTANEOUS = "1.0.94.91.0.255"
BLOCK_LOAD = "1.0.99.1.0.255"
DAILY_LOAD = "1.0.99.2.0.255"
BILLING = "1.0.98.1.0.255"
NAME_PLATE = "0.0.94.91.10.255"
SCALER_INSTANTANEOUS = "1.0.94.91.3.255"
SCALER_BLOCK_LOAD = "1.0.94.91.4.255"
SCALER_DAILY_LOAD = "1.0.94.91.5.255"
SCALER_BILLING = "1.0.94.91.6.255"
SCALER_EVENTS = "1.0.94.91.7.255"

#: Default block load capture period (s); IS 15959 allows 900 or 1800.
BLOCK_LOAD_PERIOD = 900
DAILY_LOAD_PERIOD = 86400
BLOCK_LOAD_ENTRIES = 45 * 96
DAILY_LOAD_ENTRIES = 45
BILLING_ENTRIES = 13
EVENT_ENTRIES = {
    EventCompartment.VOLTAGE: 100, EventCompartment.CURRENT: 100, EventCompartment.POWER: 100,
    EventCompartment.TRANSACTION: 50, EventCompartment.OTHER: 100,
    EventCompartment.NON_ROLLOVER: 1, EventCompartment.CONTROL: 50,
}

_SCALED_CLASSES = frozenset({3, 4, 5})
_PHASE_C = (0, 20, 40)  # L1/L2/L3 offsets of value group C


def _regs(*obis: str) -> list[CaptureObjectDef]:
    return [capture(3, o) for o in obis]


def _md(c: int, e: int = 0) -> list[CaptureObjectDef]:
    """MD value and the date-time it occurred (extended register attributes 2 and 5)."""
    obis = f"1.0.{c}.6.{e}.255"
    return [capture(4, obis, 2), capture(4, obis, 5)]


def _phase_regs(c: int, d: int) -> list[CaptureObjectDef]:
    return _regs(*(f"1.0.{c + off}.{d}.0.255" for off in _PHASE_C))


def _two_way(category: MeterCategory) -> bool:
    return category is not MeterCategory.C


def _instantaneous(category: MeterCategory) -> tuple[CaptureObjectDef, ...]:
    cols = [capture(8, CLOCK)]
    cols += _phase_regs(31, 7) + _phase_regs(32, 7) + _phase_regs(33, 7)
    cols += _regs("1.0.13.7.0.255", "1.0.14.7.0.255", "1.0.9.7.0.255", "1.0.1.7.0.255",
                  "1.0.3.7.0.255")
    cols += [capture(1, "0.0.96.7.0.255"), capture(3, "0.0.94.91.8.255"),
             capture(1, "0.0.94.91.0.255"), capture(1, "0.0.0.1.0.255"),
             capture(1, "0.0.96.2.0.255"), capture(3, "0.0.0.1.2.255")]
    cols += _regs("1.0.1.8.0.255", "1.0.5.8.0.255", "1.0.8.8.0.255", "1.0.9.8.0.255")
    if _two_way(category):
        cols += _regs("1.0.2.8.0.255", "1.0.10.8.0.255")
    cols += _md(1) + _md(9)
    return tuple(cols)


def _block_load(category: MeterCategory) -> tuple[CaptureObjectDef, ...]:
    cols = [capture(8, CLOCK)] + _phase_regs(31, 27) + _phase_regs(32, 27)
    if category is MeterCategory.A:  # energy audit: average PF per phase
        cols += _phase_regs(33, 27)
    elif category is MeterCategory.B:  # ABT: average frequency of the block
        cols += _regs("1.0.14.27.0.255")
    cols += _regs("1.0.1.29.0.255", "1.0.5.29.0.255", "1.0.8.29.0.255", "1.0.9.29.0.255")
    if _two_way(category):
        cols += _regs("1.0.2.29.0.255", "1.0.10.29.0.255")
    if category is MeterCategory.B:  # ABT settles the net energy of each block
        cols += _regs("1.0.16.29.0.255")
    return tuple(cols)


def _daily_load(category: MeterCategory) -> tuple[CaptureObjectDef, ...]:
    cols = [capture(8, CLOCK)]
    cols += _regs("1.0.1.8.0.255", "1.0.5.8.0.255", "1.0.8.8.0.255", "1.0.9.8.0.255")
    if _two_way(category):
        cols += _regs("1.0.2.8.0.255", "1.0.10.8.0.255")
    if category is MeterCategory.B:
        cols += _regs("1.0.16.8.0.255")
    return tuple(cols)


def _billing(category: MeterCategory) -> tuple[CaptureObjectDef, ...]:
    tod = category is MeterCategory.C
    cols = _regs("0.0.0.1.2.255", "1.0.13.0.0.255", "1.0.1.8.0.255")
    if tod:
        cols += _regs(*(f"1.0.1.8.{e}.255" for e in TOD_ZONES))
    cols += _regs("1.0.5.8.0.255", "1.0.8.8.0.255", "1.0.9.8.0.255")
    if tod:
        cols += _regs(*(f"1.0.9.8.{e}.255" for e in TOD_ZONES))
    cols += _md(1)
    if tod:
        cols += [c for e in TOD_ZONES for c in _md(1, e)]
    cols += _md(9)
    if tod:
        cols += [c for e in TOD_ZONES for c in _md(9, e)]
    if _two_way(category):
        cols += _regs("1.0.2.8.0.255", "1.0.10.8.0.255")
    if category is MeterCategory.B:
        cols += _regs("1.0.16.8.0.255")
    return tuple(cols)


def _name_plate(category: MeterCategory) -> tuple[CaptureObjectDef, ...]:
    codes = ["0.0.96.1.0.255", "0.0.96.1.1.255", "1.0.0.2.0.255", "0.0.94.91.9.255",
             "0.0.94.91.11.255", "0.0.94.91.12.255", "1.0.0.4.2.255"]
    if _two_way(category):
        codes.append("1.0.0.4.3.255")  # category C: optional (LT CT-operated meters have no PT)
    codes.append("0.0.96.1.4.255")
    return tuple(capture(1, o) for o in codes)


#: Compartments whose rows carry a snapshot of the supply after (clock, event code).
_SNAPSHOT_COMPARTMENTS = frozenset({EventCompartment.VOLTAGE, EventCompartment.CURRENT,
                                    EventCompartment.OTHER, EventCompartment.NON_ROLLOVER})


def _event_log(compartment: EventCompartment) -> tuple[CaptureObjectDef, ...]:
    cols = [capture(8, CLOCK), capture(1, compartment.event_code_obis)]
    if compartment in _SNAPSHOT_COMPARTMENTS:
        cols += _phase_regs(31, 7) + _phase_regs(32, 7) + _phase_regs(33, 7)
        cols += _regs("1.0.1.8.0.255")
    return tuple(cols)


def scaler_columns(*profiles: ProfileDef) -> tuple[CaptureObjectDef, ...]:
    """(class, LN, 3) of every register column of the given profiles, once each, in order."""
    seen: dict[tuple[int, Obis], CaptureObjectDef] = {}
    for p in profiles:
        for c in p.capture_objects:
            if c.class_id in _SCALED_CLASSES and (c.class_id, c.obis) not in seen:
                seen[(c.class_id, c.obis)] = CaptureObjectDef(class_id=c.class_id, obis=c.obis,
                                                              attribute=3)
    return tuple(seen.values())


def _data_profile(obis: str, name: str, cols: tuple[CaptureObjectDef, ...], scaler: str | None,
                  period: int, entries: int) -> ProfileDef:
    return ProfileDef(obis=Obis.parse(obis), name=name, capture_objects=cols,
                      scaler_profile=Obis.parse(scaler) if scaler else None,
                      capture_period=period, profile_entries=entries)


def _scaler_profile(obis: str, name: str, *data: ProfileDef) -> ProfileDef:
    return ProfileDef(obis=Obis.parse(obis), name=name, capture_objects=scaler_columns(*data),
                      scaler_profile=None, capture_period=0, profile_entries=1)


def build_profiles(category: MeterCategory) -> tuple[ProfileDef, ...]:
    """Data profiles of a category followed by their scaler profiles."""
    inst = _data_profile(INSTANTANEOUS, "Instantaneous parameters", _instantaneous(category),
                         SCALER_INSTANTANEOUS, 0, 1)
    block = _data_profile(BLOCK_LOAD, "Block load profile", _block_load(category),
                          SCALER_BLOCK_LOAD, BLOCK_LOAD_PERIOD, BLOCK_LOAD_ENTRIES)
    daily = _data_profile(DAILY_LOAD, "Daily load profile", _daily_load(category),
                          SCALER_DAILY_LOAD, DAILY_LOAD_PERIOD, DAILY_LOAD_ENTRIES)
    billing = _data_profile(BILLING, "Billing profile", _billing(category), SCALER_BILLING, 0,
                            BILLING_ENTRIES)
    plate = _data_profile(NAME_PLATE, "Name plate details", _name_plate(category), None, 0, 1)
    events = tuple(
        _data_profile(str(c.profile_obis), c.title, _event_log(c), SCALER_EVENTS, 0,
                      EVENT_ENTRIES[c])
        for c in EventCompartment)
    scalers = (
        _scaler_profile(SCALER_INSTANTANEOUS, "Scaler profile — instantaneous parameters", inst),
        _scaler_profile(SCALER_BLOCK_LOAD, "Scaler profile — block load profile", block),
        _scaler_profile(SCALER_DAILY_LOAD, "Scaler profile — daily load profile", daily),
        _scaler_profile(SCALER_BILLING, "Scaler profile — billing profile", billing),
        _scaler_profile(SCALER_EVENTS, "Scaler profile — event logs", *events),
    )
    return (inst, block, daily, billing, plate, *events, *scalers)
