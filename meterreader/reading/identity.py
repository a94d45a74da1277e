"""Who the meter is: a :class:`MeterIdentity` from the IS 15959 name plate profile.

The name plate (0.0.94.91.10.255) is one row of Data objects; the columns are matched by OBIS,
not by position, since meters order (and omit) them differently. The identity's own fields take
the serial number, manufacturer, firmware version and meter type; every other column goes into
``extra`` as (title, text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from meterreader.reading.model import MeterIdentity, ReadingTable

__all__ = ["IDENTITY_FIELDS", "LOGICAL_DEVICE_NAME", "cell_text", "identity_from_name_plate"]

#: OBIS of the name plate objects that fill MeterIdentity's own fields.
IDENTITY_FIELDS = {
    "0.0.96.1.0.255": "serial",
    "0.0.96.1.1.255": "manufacturer",
    "1.0.0.2.0.255": "firmware",
    "0.0.94.91.9.255": "meter_type",
}
#: COSEM logical device name (Data, class 1, attribute 2).
LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"


def cell_text(value: Any) -> str:
    """A name plate cell as text: printable octet strings decoded, others in hex."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            return value.hex().upper()
        return text.rstrip("\x00") if text.rstrip("\x00").isprintable() else value.hex().upper()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


def identity_from_name_plate(table: ReadingTable | None, *, category: str = "",
                             logical_device_name: str = "",
                             fallback: Sequence[tuple[str, Any]] = ()) -> MeterIdentity:
    """The identity in the name plate's first row; ``fallback`` (obis, value) pairs fill the
    fields the name plate lacks (e.g. the Data objects read one by one)."""
    fields: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    if table is not None and table.rows:
        row = table.rows[0]
        for column, value in zip(table.columns, row):
            name = IDENTITY_FIELDS.get(column.obis) if column.attribute == 2 else None
            if name is not None and name not in fields:
                fields[name] = cell_text(value)
            else:
                extra.append((column.title, cell_text(value)))
    for obis, value in fallback:
        name = IDENTITY_FIELDS.get(obis)
        if name is not None and not fields.get(name):
            fields[name] = cell_text(value)
    return MeterIdentity(category=category, logical_device_name=logical_device_name,
                         extra=tuple(extra), **fields)
