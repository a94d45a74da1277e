"""A meter reading: what a one-click IS 15959 read brings home, independent of the meter.

A :class:`MeterReading` is plain data (frozen dataclasses of tables of Python values) so that
reports, the GUI and the JSON file all work from it without a connection. Each profile read
becomes a :class:`ReadingTable` keyed by its section name (:data:`SECTION_TITLES`); the event
compartments are sections ``events_voltage`` … ``events_control``.

Cells are restricted to :data:`CELL_TYPES` (plus lists of them for structured values) so a
reading survives a JSON round trip unchanged; :func:`plain_cell` maps anything a profile read
returns onto them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meterreader.cosem.interface_classes import attribute_name
from meterreader.cosem.obis import Obis
from meterreader.dlms.cosem_time import CosemDateTime

__all__ = [
    "CELL_TYPES", "FORMAT_VERSION", "EVENT_SECTIONS", "MeterIdentity", "MeterReading",
    "ReadingColumn", "ReadingTable", "SECTION_TITLES", "plain_cell", "table_from_profile",
]

#: Version of the saved-reading format (JSON ``format_version``); bump on incompatible change.
FORMAT_VERSION = 1

#: The types a cell may hold (lists of these for structures/arrays).
CELL_TYPES = (type(None), bool, int, float, str, bytes, dt.datetime, dt.date, dt.time)

#: Section name → title, in the order reports list them.
SECTION_TITLES: Mapping[str, str] = {
    "name_plate": "Name plate details",
    "instantaneous": "Instantaneous parameters",
    "billing": "Billing history",
    "block_load": "Block load survey",
    "daily_load": "Daily load survey",
    "events_voltage": "Voltage related events",
    "events_current": "Current related events",
    "events_power": "Power related events",
    "events_transaction": "Transaction related events",
    "events_other": "Other events",
    "events_non_rollover": "Non-rollover events",
    "events_control": "Control events",
}
EVENT_SECTIONS = tuple(name for name in SECTION_TITLES if name.startswith("events_"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingColumn:
    """One column: its capture object, title (with unit), unit symbol and the scaler applied."""

    title: str
    class_id: int
    obis: str  # dotted, e.g. "1.0.32.27.0.255"
    attribute: int = 2
    unit: str = ""  # symbol, e.g. "kWh"; "" when none
    scaler: int | None = None
    kind: str = "value"  # "datetime" for the clock/time columns, "event_code", else "value"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingTable:
    """The rows of one profile (or one object group) of a reading."""

    section: str
    title: str
    obis: str
    columns: tuple[ReadingColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    complete: bool = True
    error: str = ""  # why the rows stop early or the section is missing, in words
    capture_period: int | None = None  # seconds (block load: 900/1800)

    def column_index(self, *, obis: str | None = None, kind: str | None = None) -> int | None:
        """Index of the first column with this OBIS and/or kind, or None."""
        for i, c in enumerate(self.columns):
            if (obis is None or c.obis == obis) and (kind is None or c.kind == kind):
                return i
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterIdentity:
    """Who the meter is (from the name plate and the logical device name)."""

    serial: str = ""
    manufacturer: str = ""
    firmware: str = ""
    meter_type: str = ""
    category: str = ""  # "A", "B" or "C"
    logical_device_name: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # further name plate fields (title, text)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """One IS 15959 meter read: identity, every section read, and how the read went."""

    category: str
    identity: MeterIdentity
    tables: Mapping[str, ReadingTable]  # section name → table, in SECTION_TITLES order
    started: dt.datetime  # aware, UTC
    finished: dt.datetime  # aware, UTC
    meter_clock: dt.datetime | None = None  # the meter's clock at the start of the read
    connection: str = ""  # ConnectionProfile.describe(); never secrets
    association: str = ""  # "PC", "MR" or "US"
    block_load_days: int = 7
    complete: bool = True  # every section read whole
    errors: tuple[str, ...] = ()  # one line per section that failed or stopped
    software: str = ""  # "meterreader 0.x"
    format_version: int = FORMAT_VERSION
    notes: tuple[str, ...] = field(default=())

    def table(self, section: str) -> ReadingTable | None:
        return self.tables.get(section)


def plain_cell(value: Any) -> Any:
    """``value`` restricted to :data:`CELL_TYPES` (lists stay lists; an incomplete COSEM
    date-time becomes its text; enums become ints; anything else its ``str``)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (float, str, bytes, dt.datetime, dt.date, dt.time)):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [plain_cell(v) for v in value]
    if isinstance(value, CosemDateTime):
        return str(value)
    if isinstance(value, Obis):
        return str(value)
    return str(value)


def table_from_profile(section: str, result: Any, *, title: str | None = None,
                       capture_period: int | None = None,
                       event_code_obis: Iterable[str] = ()) -> ReadingTable:
    """A :class:`ReadingTable` from a ``meterreader.client.session_profile.ProfileResult``."""
    codes = set(event_code_obis)
    columns = []
    for c in result.columns:
        obis = str(c.obis)
        time_like = (c.class_id == 8 and c.attribute == 2) or "time" in attribute_name(
            c.class_id, c.attribute)
        kind = "event_code" if obis in codes else "datetime" if time_like else "value"
        columns.append(ReadingColumn(title=c.title, class_id=c.class_id, obis=obis,
                                     attribute=c.attribute, unit=c.unit_text, scaler=c.scaler,
                                     kind=kind))
    error = "" if result.error is None else str(result.error)
    return ReadingTable(section=section, title=title or SECTION_TITLES.get(section, section),
                        obis=str(result.obis), columns=tuple(columns),
                        rows=tuple(tuple(plain_cell(v) for v in row) for row in result.rows),
                        complete=result.complete, error=error, capture_period=capture_period)
