"""Human names of OBIS codes (IEC 62056-6-1, DLMS UA Blue Book object list, IS 15959).

Look-up order, all table-driven:

1. exact codes (IS 15959 objects and the common abstract objects), also matched with B = 0
   and F = 255 when the code itself is not listed (the difference is then named as a suffix);
2. general-purpose codes valid in every medium, keyed by (C, D, E) and then by (C, D);
3. abstract objects (A = 0) keyed by (C, D), E being the instance;
4. electricity (A = 1): quantity from C (with phase L1/L2/L3 for C = 21..80), processing from D,
   tariff or harmonic from E;
5. manufacturer-specific ranges.

Anything else has no name (None).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from meterreader.cosem.obis import Obis

# Exact codes. IS 15959 names follow the Indian companion specification (R/Y/B = L1/L2/L3).
_EXACT_TEXT: dict[str, str] = {
    # IS 15959 profiles and their scaler profiles
    "1.0.94.91.0.255": "Instantaneous parameters profile",
    "1.0.94.91.3.255": "Scaler profile — instantaneous parameters",
    "1.0.94.91.4.255": "Scaler profile — block load profile",
    "1.0.94.91.5.255": "Scaler profile — daily load profile",
    "1.0.94.91.6.255": "Scaler profile — billing profile",
    "1.0.94.91.7.255": "Scaler profile — event logs",
    "1.0.99.1.0.255": "Block load profile (load survey)",
    "1.0.99.2.0.255": "Daily load profile",
    "1.0.98.1.0.255": "Billing profile (history)",
    "0.0.94.91.10.255": "Name plate profile",
    # IS 15959 event logs (6 compartments + control) and their event-code objects
    "0.0.99.98.0.255": "Event log — voltage related",
    "0.0.99.98.1.255": "Event log — current related",
    "0.0.99.98.2.255": "Event log — power related (power failure)",
    "0.0.99.98.3.255": "Event log — transaction related",
    "0.0.99.98.4.255": "Event log — other events",
    "0.0.99.98.5.255": "Event log — non-rollover events",
    "0.0.99.98.6.255": "Event log — control events",
    "0.0.96.11.0.255": "Event code — voltage related",
    "0.0.96.11.1.255": "Event code — current related",
    "0.0.96.11.2.255": "Event code — power related",
    "0.0.96.11.3.255": "Event code — transaction related",
    "0.0.96.11.4.255": "Event code — other events",
    "0.0.96.11.5.255": "Event code — non-rollover events",
    "0.0.96.11.6.255": "Event code — control events",
    # name plate and counters
    "0.0.96.1.0.255": "Meter serial number",
    "0.0.96.1.1.255": "Manufacturer name",
    "0.0.96.1.4.255": "Meter year of manufacture",
    "1.0.0.2.0.255": "Firmware version (active firmware identifier)",
    "0.0.94.91.9.255": "Meter type",
    "0.0.94.91.11.255": "Meter category",
    "0.0.94.91.12.255": "Current rating",
    "1.0.0.4.2.255": "CT ratio (transformer ratio — current)",
    "1.0.0.4.3.255": "PT ratio (transformer ratio — voltage)",
    "0.0.94.91.0.255": "Cumulative tamper count",
    "0.0.0.1.0.255": "Billing count (billing period counter)",
    "0.0.0.1.2.255": "Billing date (time stamp of the most recent billing period)",
    "0.0.96.2.0.255": "Cumulative programming count",
    "0.0.96.2.1.255": "Date of last programming (configuration change)",
    "0.0.96.7.0.255": "Number of power failures",
    "1.0.0.8.0.255": "Demand integration period",
    "1.0.0.8.4.255": "Profile capture period (block load)",
    # instantaneous values
    "1.0.32.7.0.255": "Voltage L1 (R phase)",
    "1.0.52.7.0.255": "Voltage L2 (Y phase)",
    "1.0.72.7.0.255": "Voltage L3 (B phase)",
    "1.0.31.7.0.255": "Current L1 (R phase)",
    "1.0.51.7.0.255": "Current L2 (Y phase)",
    "1.0.71.7.0.255": "Current L3 (B phase)",
    "1.0.91.7.0.255": "Neutral current",
    "1.0.33.7.0.255": "Power factor L1 (R phase)",
    "1.0.53.7.0.255": "Power factor L2 (Y phase)",
    "1.0.73.7.0.255": "Power factor L3 (B phase)",
    "1.0.13.7.0.255": "Three-phase power factor",
    "1.0.14.7.0.255": "Frequency",
    "1.0.1.7.0.255": "Active power (kW)",
    "1.0.3.7.0.255": "Reactive power (kvar)",
    "1.0.9.7.0.255": "Apparent power (kVA)",
    # cumulative energies and maximum demand
    "1.0.1.8.0.255": "Cumulative energy kWh import",
    "1.0.2.8.0.255": "Cumulative energy kWh export",
    "1.0.5.8.0.255": "Cumulative energy kvarh lag (QI)",
    "1.0.8.8.0.255": "Cumulative energy kvarh lead (QIV)",
    "1.0.9.8.0.255": "Cumulative energy kVAh import",
    "1.0.10.8.0.255": "Cumulative energy kVAh export",
    "1.0.1.6.0.255": "Maximum demand kW",
    "1.0.9.6.0.255": "Maximum demand kVA",
    "1.0.2.6.0.255": "Maximum demand kW export",
    "1.0.10.6.0.255": "Maximum demand kVA export",
    "1.0.13.0.0.255": "Average power factor for billing period",
    # block load (load survey) values
    "1.0.1.29.0.255": "Block energy kWh import",
    "1.0.2.29.0.255": "Block energy kWh export",
    "1.0.5.29.0.255": "Block energy kvarh lag (QI)",
    "1.0.8.29.0.255": "Block energy kvarh lead (QIV)",
    "1.0.9.29.0.255": "Block energy kVAh import",
    "1.0.10.29.0.255": "Block energy kVAh export",
    "1.0.32.27.0.255": "Average voltage L1 (R phase) in block",
    "1.0.52.27.0.255": "Average voltage L2 (Y phase) in block",
    "1.0.72.27.0.255": "Average voltage L3 (B phase) in block",
    "1.0.31.27.0.255": "Average current L1 (R phase) in block",
    "1.0.51.27.0.255": "Average current L2 (Y phase) in block",
    "1.0.71.27.0.255": "Average current L3 (B phase) in block",
    "1.0.12.27.0.255": "Average voltage in block",
    "1.0.11.27.0.255": "Average current in block",
    # abstract objects (Blue Book object list)
    "0.0.1.0.0.255": "Clock",
    "0.0.40.0.0.255": "Current association (Association LN)",
    "0.0.40.0.1.255": "Association LN — public client (PC)",
    "0.0.40.0.2.255": "Association LN — meter reader (MR, LLS)",
    "0.0.40.0.3.255": "Association LN — utility settings (US, HLS)",
    "0.0.41.0.0.255": "SAP assignment",
    "0.0.42.0.0.255": "COSEM logical device name",
    "0.0.13.0.0.255": "Activity calendar",
    "0.0.11.0.0.255": "Special days table",
    "0.0.10.0.0.255": "Script table — global meter reset",
    "0.0.10.0.1.255": "Script table — MDI reset / end of billing period",
    "0.0.10.0.100.255": "Script table — tariffication",
    "0.0.10.0.101.255": "Script table — activate test mode",
    "0.0.10.0.102.255": "Script table — activate normal mode",
    "0.0.10.0.103.255": "Script table — set output signals",
    "0.0.10.0.104.255": "Script table — switch optical test output",
    "0.0.10.0.105.255": "Script table — power quality measurement management",
    "0.0.10.0.106.255": "Script table — disconnect control",
    "0.0.10.0.107.255": "Script table — image activation",
    "0.0.10.0.108.255": "Script table — push",
    "0.0.15.0.0.255": "Single action schedule — MD reset / end of billing period",
    "0.0.15.0.1.255": "Single action schedule — disconnect control",
    "0.0.15.0.2.255": "Single action schedule — image activation",
    "0.0.14.0.0.255": "Register activation",
    "0.0.17.0.0.255": "Limiter (load limit)",
    "0.0.20.0.0.255": "IEC local port setup (optical port)",
    "0.0.22.0.0.255": "IEC HDLC setup",
    "0.0.25.0.0.255": "TCP-UDP setup",
    "0.0.25.1.0.255": "IPv4 setup",
    "0.0.25.9.0.255": "Push setup",
    "0.0.43.0.0.255": "Security setup",
    "0.0.44.0.0.255": "Image transfer",
    "0.0.96.3.10.255": "Disconnect control",
    "0.0.96.14.0.255": "Currently active tariff",
    "0.0.97.97.0.255": "Error register",
}
_EXACT: Mapping[Obis, str] = MappingProxyType(
    {Obis.parse(code): name for code, name in _EXACT_TEXT.items()})

# General-purpose (C = 0) and service codes (C = 94..99) valid in every medium, keyed (C, D, E).
_GENERAL_CDE: dict[tuple[int, int, int], str] = {
    (0, 1, 0): "Billing period counter",
    (0, 1, 1): "Number of available billing periods",
    (0, 1, 2): "Time stamp of the most recent billing period",
    (0, 2, 0): "Active firmware identifier",
    (0, 2, 8): "Active firmware signature",
    (0, 4, 0): "Reading factor for power",
    (0, 4, 1): "Reading factor for energy",
    (0, 4, 2): "Transformer ratio — current (numerator)",
    (0, 4, 3): "Transformer ratio — voltage (numerator)",
    (0, 4, 4): "Overall transformer ratio (numerator)",
    (0, 4, 5): "Transformer ratio — current (denominator)",
    (0, 4, 6): "Transformer ratio — voltage (denominator)",
    (0, 4, 7): "Overall transformer ratio (denominator)",
    (0, 6, 0): "Nominal voltage",
    (0, 6, 1): "Nominal current",
    (0, 6, 2): "Nominal frequency",
    (0, 6, 3): "Maximum current",
    (0, 8, 0): "Measurement period 1 (demand integration period)",
    (0, 8, 1): "Measurement period 2",
    (0, 8, 2): "Measurement period 3",
    (0, 8, 3): "Measurement period 4 (test)",
    (0, 8, 4): "Recording interval 1 (load profile capture period)",
    (0, 8, 5): "Recording interval 2 (load profile capture period)",
    (0, 9, 1): "Local time",
    (0, 9, 2): "Local date",
    (96, 7, 0): "Number of power failures in all phases",
    (96, 7, 1): "Number of power failures in L1",
    (96, 7, 2): "Number of power failures in L2",
    (96, 7, 3): "Number of power failures in L3",
    (96, 7, 21): "Number of power failures in any phase",
}
_GENERAL_C = frozenset({0, 94, 96, 97, 98, 99})

# Families: (C, D) -> template; {e} is value group E, {e1} is E + 1.
_GENERAL_CD: dict[tuple[int, int], str] = {
    (0, 0): "Device ID {e1}",
    (94, 91): "IS 15959 (India) country-specific object #{e}",
    (96, 1): "Device ID {e1}",
    (96, 2): "Configuration change record #{e}",
    (96, 3): "Input/output control signal #{e}",
    (96, 4): "Internal control signal #{e}",
    (96, 5): "Internal operating status #{e}",
    (96, 6): "Battery entry #{e}",
    (96, 7): "Power failure monitoring #{e}",
    (96, 8): "Operating time #{e}",
    (96, 9): "Environment (temperature) #{e}",
    (96, 10): "Status register {e}",
    (96, 11): "Event code #{e}",
    (96, 12): "Communication port log #{e}",
    (96, 13): "Consumer message #{e}",
    (96, 14): "Currently active tariff #{e}",
    (96, 15): "Event counter #{e}",
    (97, 97): "Error register {e}",
    (97, 98): "Alarm register {e}",
    (98, 1): "Data of billing period (scheme 1) #{e}",
    (98, 2): "Data of billing period (scheme 2) #{e}",
    (99, 1): "Load profile with recording interval 1 #{e}",
    (99, 2): "Load profile with recording interval 2 #{e}",
    (99, 97): "Power failure event log #{e}",
    (99, 98): "Event log #{e}",
}
_ABSTRACT_CD: dict[tuple[int, int], str] = {
    (1, 0): "Clock #{e}",
    (2, 0): "Modem configuration #{e}",
    (2, 1): "Auto connect #{e}",
    (2, 2): "Auto answer #{e}",
    (10, 0): "Script table #{e}",
    (11, 0): "Special days table #{e}",
    (12, 0): "Schedule #{e}",
    (13, 0): "Activity calendar #{e}",
    (14, 0): "Register activation #{e}",
    (15, 0): "Single action schedule #{e}",
    (16, 0): "Register monitor #{e}",
    (16, 1): "Alarm monitor #{e}",
    (16, 2): "Parameter monitor #{e}",
    (17, 0): "Limiter #{e}",
    (20, 0): "IEC local port setup #{e}",
    (21, 0): "Standard readout profile #{e}",
    (22, 0): "IEC HDLC setup #{e}",
    (23, 0): "IEC twisted pair setup #{e}",
    (24, 0): "M-Bus port setup #{e}",
    (25, 0): "TCP-UDP setup #{e}",
    (25, 1): "IPv4 setup #{e}",
    (25, 2): "MAC address setup #{e}",
    (25, 3): "PPP setup #{e}",
    (25, 4): "GPRS modem setup #{e}",
    (25, 5): "SMTP setup #{e}",
    (25, 6): "GSM diagnostic #{e}",
    (25, 7): "IPv6 setup #{e}",
    (25, 9): "Push setup #{e}",
    (25, 10): "NTP setup #{e}",
    (40, 0): "Association #{e}",
    (41, 0): "SAP assignment #{e}",
    (42, 0): "COSEM logical device name #{e}",
    (43, 0): "Security setup #{e}",
    (43, 1): "Invocation counter #{e}",
    (44, 0): "Image transfer #{e}",
    (44, 1): "Function control #{e}",
    (44, 2): "Communication port protection #{e}",
}

# Electricity value group C: (name with a power-like D, name with an energy-like D). {ph} is the
# phase (" L1" …) or empty for the sum over all phases.
_QUANTITY: dict[int, tuple[str, str]] = {
    1: ("Active power{ph} import (+P)", "Active energy{ph} import (+A)"),
    2: ("Active power{ph} export (−P)", "Active energy{ph} export (−A)"),
    3: ("Reactive power{ph} import (+Q)", "Reactive energy{ph} import (+R)"),
    4: ("Reactive power{ph} export (−Q)", "Reactive energy{ph} export (−R)"),
    5: ("Reactive power{ph} QI", "Reactive energy{ph} QI (lag)"),
    6: ("Reactive power{ph} QII", "Reactive energy{ph} QII"),
    7: ("Reactive power{ph} QIII", "Reactive energy{ph} QIII"),
    8: ("Reactive power{ph} QIV", "Reactive energy{ph} QIV (lead)"),
    9: ("Apparent power{ph} import (+S)", "Apparent energy{ph} import"),
    10: ("Apparent power{ph} export (−S)", "Apparent energy{ph} export"),
    11: ("Current{ph}", "Ampere-hours{ph}"),
    12: ("Voltage{ph}", "Volt-hours{ph}"),
    13: ("Power factor{ph}", "Power factor{ph}"),
    14: ("Frequency{ph}", "Frequency{ph}"),
    15: ("Active power{ph} |+P|+|−P|", "Active energy{ph} |+A|+|−A|"),
    16: ("Active power{ph} |+P|−|−P| (net)", "Active energy{ph} |+A|−|−A| (net)"),
    17: ("Active power{ph} QI", "Active energy{ph} QI"),
    18: ("Active power{ph} QII", "Active energy{ph} QII"),
    19: ("Active power{ph} QIII", "Active energy{ph} QIII"),
    20: ("Active power{ph} QIV", "Active energy{ph} QIV"),
}
# Sum-level names that differ from the per-phase pattern.
_SUM_OVERRIDE: dict[int, tuple[str, str]] = {
    11: ("Current (any phase)", "Ampere-hours (any phase)"),
    12: ("Voltage (any phase)", "Volt-hours (any phase)"),
    14: ("Supply frequency", "Supply frequency"),
}
_PHASES: dict[int, str] = {0: "", 1: " L1", 2: " L2", 3: " L3"}  # (C - 1) // 20 -> phase
_EXTRA_QUANTITY: dict[int, str] = {
    81: "Phase angle",
    82: "Unitless quantity (pulses)",
    83: "Transformer and line losses",
    88: "Ampere-squared hours",
    89: "Volt-squared hours",
    90: "Current (sum over all phases)",
    91: "Neutral current",
    92: "Neutral voltage",
}

# Electricity value group D: (processing label, energy-like).
_PROCESSING: dict[int, tuple[str, bool]] = {
    0: ("billing period average", False),
    1: ("cumulative minimum 1", False),
    2: ("cumulative maximum 1", False),
    3: ("minimum 1", False),
    4: ("current average 1", False),
    5: ("last average 1", False),
    6: ("maximum 1", False),
    7: ("instantaneous", False),
    8: ("", True),
    9: ("time integral 2", True),
    10: ("time integral 3", True),
    11: ("cumulative minimum 2", False),
    12: ("cumulative maximum 2", False),
    13: ("minimum 2", False),
    14: ("current average 2", False),
    15: ("last average 2", False),
    16: ("maximum 2", False),
    21: ("cumulative minimum 3", False),
    22: ("cumulative maximum 3", False),
    23: ("minimum 3", False),
    24: ("current average 3", False),
    25: ("last average 3", False),
    26: ("maximum 3", False),
    27: ("block average (recording interval 1)", False),
    28: ("average over recording interval 2", False),
    29: ("block energy (recording interval 1)", True),
    30: ("energy over recording interval 2", True),
    31: ("under-limit threshold", False),
    32: ("under-limit occurrence counter", False),
    33: ("under-limit duration", False),
    34: ("under-limit magnitude", False),
    35: ("over-limit threshold", False),
    36: ("over-limit occurrence counter", False),
    37: ("over-limit duration", False),
    38: ("over-limit magnitude", False),
    39: ("missing threshold", False),
    40: ("missing occurrence counter", False),
    41: ("missing duration", False),
    42: ("missing magnitude", False),
    55: ("test average", False),
    58: ("test time integral", True),
}
# Labels used instead for power quantities (C other than current/voltage/PF/frequency).
_DEMAND_LABELS: dict[int, str] = {
    2: "cumulative maximum demand",
    4: "current average (rising demand)",
    5: "last average demand",
    6: "maximum demand",
}
_NOT_POWER_BASE = frozenset({11, 12, 13, 14})
# Value group E: a tariff (1..63) by default, a harmonic (1..120) for instantaneous values, and no
# standard meaning for the power-quality limit codes.
_E_MEANING: dict[str, tuple[range, str]] = {
    "tariff": (range(1, 64), " — tariff {e}"),
    "harmonic": (range(1, 121), " — harmonic {e}"),
    "none": (range(0), ""),
}
_E_MEANING_BY_D: dict[int, str] = {7: "harmonic", **{d: "none" for d in range(31, 43)}}
_E_MEANING_BY_C: dict[int, str] = {81: "none"}  # phase angles: E names the pair of phasors

# Manufacturer-specific ranges: (C range, D range, E range, name); first match wins.
_MANUFACTURER_RANGES: tuple[tuple[range, range, range, str], ...] = (
    (range(96, 97), range(50, 100), range(256), "Manufacturer-specific service entry"),
    (range(128, 200), range(256), range(256), "Manufacturer-specific object"),
    (range(256), range(128, 255), range(256), "Manufacturer-specific object"),
    (range(256), range(256), range(128, 255), "Manufacturer-specific object"),
)


def _electricity(c: int, d: int, e: int) -> str | None:
    """Name an electricity code (A = 1) from its C, D and E, or None."""
    processing = _PROCESSING.get(d)
    if processing is None:
        return None
    label, energy = processing
    if 1 <= c <= 80:
        base = (c - 1) % 20 + 1
        pair = _SUM_OVERRIDE.get(c) or _QUANTITY[base]
        quantity = pair[energy].format(ph=_PHASES[(c - 1) // 20])
        if base not in _NOT_POWER_BASE:
            label = _DEMAND_LABELS.get(d, label)
    elif c in _EXTRA_QUANTITY:
        quantity = _EXTRA_QUANTITY[c]
    else:
        return None
    name = f"{quantity}, {label}" if label else quantity
    if e == 0:
        return name
    meaning = _E_MEANING_BY_C.get(c) or _E_MEANING_BY_D.get(d, "tariff")
    e_range, template = _E_MEANING[meaning]
    return name + template.format(e=e) if e in e_range else f"{name} (E={e})"


def _base_name(o: Obis) -> str | None:
    """Name from the general, abstract, electricity and manufacturer rules, or None."""
    # A specific E first, then the (C, D) family with E as the instance.
    if o.c in _GENERAL_C:
        name, template = _GENERAL_CDE.get((o.c, o.d, o.e)), _GENERAL_CD.get((o.c, o.d))
    elif o.a == 0:
        name, template = None, _ABSTRACT_CD.get((o.c, o.d))
    else:
        name = template = None
    if name is None and template is not None:
        name = template.format(e=o.e, e1=o.e + 1)
    if name is not None:
        return name
    if o.a == 1:
        name = _electricity(o.c, o.d, o.e)
        if name is not None:
            return name
    for c_range, d_range, e_range, name in _MANUFACTURER_RANGES:
        if o.c in c_range and o.d in d_range and o.e in e_range:
            return name
    return None


def _suffix(b: int, f: int) -> str:
    """Suffix naming a non-zero channel B and a historical value F (255 = none)."""
    parts = []
    if b != 0:
        parts.append(f" (channel {b})")
    if f != 255:
        parts.append(f" — billing period {f}" if f <= 99 else f" (F={f})")
    return "".join(parts)


def obis_name(obis: Obis | str | bytes) -> str | None:
    """A human name for an OBIS code, or None if nothing sensible is known.

    Accepts anything :meth:`Obis.parse` accepts (invalid text raises LocalProtocolError).
    Examples: ``1.0.1.8.0.255`` → ``"Cumulative energy kWh import"``; ``1.0.1.8.1.255`` →
    ``"Active energy import (+A) — tariff 1"``.
    """
    o = Obis.parse(obis)
    # Also the same object on another channel (B) or as a historical value (F).
    for b, f in ((o.b, o.f), (0, o.f), (o.b, 255), (0, 255)):
        exact = _EXACT.get(Obis(o.a, b, o.c, o.d, o.e, f))
        if exact is not None:
            return exact + _suffix(0 if b == o.b else o.b, 255 if f == o.f else o.f)
    name = _base_name(o)
    return None if name is None else name + _suffix(o.b, o.f)


def obis_names_catalogue() -> dict[Obis, str]:
    """The exact-code name table (a fresh dict, sorted by code), e.g. for a UI picker."""
    return dict(sorted(_EXACT.items()))
