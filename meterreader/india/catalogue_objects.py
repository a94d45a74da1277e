"""The IS 15959 objects of each meter category (data only; see :mod:`meterreader.india.catalogue`).

Scalers, units and A-XDR types are the common choices of IS 15959 meters (the simulator serves
them); a real meter's attribute 3 and its answers are the truth. Phases L1/L2/L3 are the
specification's R/Y/B.

MD reset: IS 15959 meters reset maximum demand and close the billing period through the script
table 0.0.10.0.1.255 (ACTION method 1 ``execute`` with script identifier 1, utility settings
association only); the billing dates that do the same automatically are the single action
schedule 0.0.15.0.0.255, whose executed_script points at that script.
"""

from __future__ import annotations

from meterreader.cosem.interface_classes import Unit
from meterreader.dlms.axdr import DataTag as T
from meterreader.india.catalogue_types import MeterCategory, ObjectDef, object_def
from meterreader.india.events import EventCompartment

#: Script table of the MD reset / end of billing period, its method and the script to run.
MD_RESET_SCRIPT_TABLE = "0.0.10.0.1.255"
MD_RESET_METHOD = 1
MD_RESET_SCRIPT_ID = 1
#: Single action schedule holding the billing dates (runs the MD reset script).
BILLING_DATES_SCHEDULE = "0.0.15.0.0.255"
#: Time-of-day tariff zones of category C energy and MD registers (E = 1..8).
TOD_ZONES = range(1, 9)

_PHASES = (("L1", 0), ("L2", 20), ("L3", 40))  # C offset: 31/51/71 current, 32/52/72 voltage

# Register presets: (value_kind, unit, scaler, A-XDR type of the value)
_VOLTAGE = ("voltage", Unit.VOLT, -2, T.DOUBLE_LONG_UNSIGNED)
_CURRENT = ("current", Unit.AMPERE, -3, T.DOUBLE_LONG_UNSIGNED)
_PF = ("pf", Unit.COUNT, -3, T.LONG)
_FREQUENCY = ("frequency", Unit.HERTZ, -2, T.LONG_UNSIGNED)
_ACTIVE_POWER = ("power", Unit.WATT, 0, T.DOUBLE_LONG)
_REACTIVE_POWER = ("power", Unit.VAR, 0, T.DOUBLE_LONG)
_APPARENT_POWER = ("power", Unit.VOLT_AMPERE, 0, T.DOUBLE_LONG_UNSIGNED)
_ENERGY_UNITS = {1: Unit.WATT_HOUR, 2: Unit.WATT_HOUR, 5: Unit.VAR_HOUR, 6: Unit.VAR_HOUR,
                 7: Unit.VAR_HOUR, 8: Unit.VAR_HOUR, 9: Unit.VOLT_AMPERE_HOUR,
                 10: Unit.VOLT_AMPERE_HOUR, 16: Unit.WATT_HOUR}
_ENERGY_NAMES = {1: "kWh import", 2: "kWh export", 5: "kvarh lag (QI)", 6: "kvarh (QII)",
                 7: "kvarh (QIII)", 8: "kvarh lead (QIV)", 9: "kVAh import", 10: "kVAh export",
                 16: "kWh net (import − export)"}
_MD_UNITS = {1: Unit.WATT, 2: Unit.WATT, 9: Unit.VOLT_AMPERE, 10: Unit.VOLT_AMPERE}
_MD_NAMES = {1: "kW", 2: "kW export", 9: "kVA", 10: "kVA export"}


def _register(obis: str, name: str, preset: tuple, **kw) -> ObjectDef:
    kind, unit, scaler, vtype = preset
    return object_def(3, obis, name, kind, unit=unit, scaler=scaler, value_type=vtype, **kw)


def _energy(c: int, e: int = 0, *, d: int = 8, signed: bool = False, **kw) -> ObjectDef:
    if d == 29:
        name = f"Block energy {_ENERGY_NAMES[c]}"
    else:
        name = f"Cumulative energy {_ENERGY_NAMES[c]}" + (f" TZ{e}" if e else "")
    return object_def(3, f"1.0.{c}.{d}.{e}.255", name, "energy", unit=_ENERGY_UNITS[c], scaler=0,
                      value_type=T.DOUBLE_LONG if signed else T.DOUBLE_LONG_UNSIGNED, **kw)


def _md(c: int, e: int = 0, **kw) -> ObjectDef:
    """Maximum demand: extended register (class 4) whose capture_time is when the MD occurred."""
    name = f"Maximum demand {_MD_NAMES[c]}" + (f" TZ{e}" if e else "")
    return object_def(4, f"1.0.{c}.6.{e}.255", name, "md", unit=_MD_UNITS[c], scaler=0,
                      value_type=T.DOUBLE_LONG_UNSIGNED, **kw)


def _data(obis: str, name: str, kind: str, vtype: T, **kw) -> ObjectDef:
    return object_def(1, obis, name, kind, value_type=vtype, **kw)


def _common_objects() -> list[ObjectDef]:
    """Objects every category has."""
    objs = [
        # Clock: PC reads time, time zone and status; US sets the time (2), the time zone (3)
        # and the daylight-saving settings (5-8).
        object_def(8, "0.0.1.0.0.255", "Clock", "datetime", value_type=T.OCTET_STRING,
                   pc=(1, 2, 3, 4), us_write=(2, 3, 5, 6, 7, 8)),
        # Associations (see _association). 0.0.40.0.0.255 answers for whichever association is
        # open; clients commonly invoke reply_to_HLS_authentication on it.
        object_def(15, "0.0.40.0.0.255", "Current association", "association", pc=True,
                   value_type=T.ARRAY, access={"PC": {7: "-"}, "MR": {7: "-"}, "US": {7: "-"}},
                   methods={"US": (1,)}, mandatory=False),
        _association("0.0.40.0.1.255", "PC"),
        _association("0.0.40.0.2.255", "MR"),
        _association("0.0.40.0.3.255", "US"),
        object_def(17, "0.0.41.0.0.255", "SAP assignment", "sap", value_type=T.ARRAY, pc=True),
        _data("0.0.42.0.0.255", "COSEM logical device name", "text", T.OCTET_STRING, pc=True),
        # Name plate details.
        _data("0.0.96.1.0.255", "Meter serial number", "text", T.OCTET_STRING, pc=True),
        _data("0.0.96.1.1.255", "Manufacturer name", "text", T.OCTET_STRING, pc=True),
        _data("1.0.0.2.0.255", "Firmware version", "text", T.OCTET_STRING, pc=True),
        _data("0.0.94.91.9.255", "Meter type", "code", T.UNSIGNED, pc=True),
        _data("0.0.94.91.11.255", "Meter category", "text", T.OCTET_STRING, pc=True),
        _data("0.0.94.91.12.255", "Current rating", "text", T.OCTET_STRING, pc=True),
        _data("0.0.96.1.4.255", "Year of manufacture", "year", T.LONG_UNSIGNED, pc=True),
        _data("1.0.0.4.2.255", "CT ratio", "ratio", T.LONG_UNSIGNED, pc=True),
        # Instantaneous values.
        *(_register(f"1.0.{32 + off}.7.0.255", f"Voltage {ph}", _VOLTAGE) for ph, off in _PHASES),
        *(_register(f"1.0.{31 + off}.7.0.255", f"Current {ph}", _CURRENT) for ph, off in _PHASES),
        *(_register(f"1.0.{33 + off}.7.0.255", f"Signed power factor {ph}", _PF)
          for ph, off in _PHASES),
        _register("1.0.13.7.0.255", "Three-phase power factor", _PF),
        _register("1.0.14.7.0.255", "Frequency", _FREQUENCY),
        _register("1.0.1.7.0.255", "Signed active power", _ACTIVE_POWER),
        _register("1.0.3.7.0.255", "Signed reactive power", _REACTIVE_POWER),
        _register("1.0.9.7.0.255", "Apparent power", _APPARENT_POWER),
        # Cumulative energies and maximum demand (import).
        _energy(1), _energy(5), _energy(8), _energy(9),
        _md(1), _md(9),
        _register("1.0.13.0.0.255", "Average power factor for billing period", _PF),
        # Block load (load survey) values.
        *(_register(f"1.0.{32 + off}.27.0.255", f"Average voltage {ph}", _VOLTAGE)
          for ph, off in _PHASES),
        *(_register(f"1.0.{31 + off}.27.0.255", f"Average current {ph}", _CURRENT)
          for ph, off in _PHASES),
        _energy(1, d=29), _energy(5, d=29), _energy(8, d=29), _energy(9, d=29),
        # Counters and billing.
        _data("0.0.96.7.0.255", "Number of power failures", "count", T.LONG_UNSIGNED),
        object_def(3, "0.0.94.91.8.255", "Cumulative power-failure duration", "duration",
                   unit=Unit.MINUTE, scaler=0, value_type=T.DOUBLE_LONG_UNSIGNED),
        _data("0.0.94.91.0.255", "Cumulative tamper count", "count", T.LONG_UNSIGNED),
        _data("0.0.0.1.0.255", "Cumulative billing count", "count", T.LONG_UNSIGNED),
        _data("0.0.0.1.1.255", "Number of available billing periods", "count", T.UNSIGNED,
              mandatory=False),
        _data("0.0.96.2.0.255", "Cumulative programming count", "count", T.LONG_UNSIGNED),
        # IS 15959 makes the billing date a register (class 3) holding a date-time.
        object_def(3, "0.0.0.1.2.255", "Billing date", "datetime", unit=Unit.COUNT, scaler=0,
                   value_type=T.OCTET_STRING),
        # Programmable periods (changes are logged as events 152 and 153).
        _data("1.0.0.8.0.255", "Demand integration period", "period", T.LONG_UNSIGNED,
              us_write=(2,)),
        _data("1.0.0.8.4.255", "Profile capture period", "period", T.LONG_UNSIGNED,
              us_write=(2,)),
        # MD reset and billing dates.
        object_def(9, MD_RESET_SCRIPT_TABLE, "MD reset / end of billing period script", "script",
                   value_type=T.ARRAY, methods={"US": (MD_RESET_METHOD,)}),
        object_def(22, BILLING_DATES_SCHEDULE, "Billing dates (single action schedule)",
                   "schedule", value_type=T.STRUCTURE, us_write=(4,)),
    ]
    # Event code objects (one per compartment).
    objs += [_data(str(c.event_code_obis), f"Event code — {c.title.lower()}", "event_code",
                   T.LONG_UNSIGNED) for c in EventCompartment]
    return objs


def _association(obis: str, name: str) -> ObjectDef:
    """Association LN object of one association, listed in that association's object_list.

    Its secret (attribute 7) is never readable; US may write the MR password and the US secret
    and invokes reply_to_HLS_authentication (1) and change_HLS_secret (2) on its own object.
    """
    titles = {"PC": "public client (PC)", "MR": "meter reader (MR, LLS)",
              "US": "utility settings (US, HLS)"}
    visible = (name,) if name != "MR" else ("MR", "US")
    overrides = {a: {7: "w" if a == "US" else "-"} for a in visible}
    methods = {"US": (1, 2)} if name == "US" else {}
    return object_def(15, obis, f"Association LN — {titles[name]}", "association",
                      value_type=T.ARRAY, visible=visible, access=overrides, methods=methods)


def _category_objects(category: MeterCategory) -> list[ObjectDef]:
    """Objects that differ between categories."""
    if category is MeterCategory.C:
        # HT and LT consumers: import energies billed per time-of-day zone, MD per zone. LT
        # CT-operated meters have no PT, so the PT ratio is optional; export is for net metering.
        return [
            _data("1.0.0.4.3.255", "PT ratio", "ratio", T.LONG_UNSIGNED, pc=True, mandatory=False),
            *(_energy(1, e) for e in TOD_ZONES),
            *(_energy(9, e) for e in TOD_ZONES),
            *(_md(1, e) for e in TOD_ZONES),
            *(_md(9, e) for e in TOD_ZONES),
            object_def(20, "0.0.13.0.0.255", "Activity calendar (TOD zones)", "calendar",
                       value_type=T.OCTET_STRING, us_write=(6, 7, 8, 9, 10),
                       methods={"US": (1,)}),
            _energy(2, mandatory=False), _energy(10, mandatory=False),
        ]
    # Categories A and B: PT/CT operated, energy flows both ways.
    objs = [
        _data("1.0.0.4.3.255", "PT ratio", "ratio", T.LONG_UNSIGNED, pc=True),
        _energy(2), _energy(10),
        _energy(2, d=29), _energy(10, d=29),
        _md(2, mandatory=False), _md(10, mandatory=False),
        object_def(20, "0.0.13.0.0.255", "Activity calendar (TOD zones)", "calendar",
                   value_type=T.OCTET_STRING, us_write=(6, 7, 8, 9, 10), methods={"US": (1,)},
                   mandatory=False),
    ]
    if category is MeterCategory.A:
        # Feeder / DT audit: reactive energy of all four quadrants, average PF per phase of each
        # block (losses and power quality of the feeder).
        objs += [_energy(6, mandatory=False), _energy(7, mandatory=False)]
        objs += [_register(f"1.0.{33 + off}.27.0.255", f"Average power factor {ph}", _PF)
                 for ph, off in _PHASES]
    else:
        # Boundary / ABT: settlement on net energy per 15-minute block and on grid frequency.
        objs += [_energy(16, signed=True), _energy(16, d=29, signed=True),
                 _register("1.0.14.27.0.255", "Average frequency", _FREQUENCY)]
    return objs


def register_objects(category: MeterCategory) -> tuple[ObjectDef, ...]:
    """Every non-profile object of a category (profiles are added by the catalogue)."""
    return tuple(_common_objects() + _category_objects(category))
