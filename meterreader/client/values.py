"""Typed views of attribute values: register quantities with scaler and unit applied, date-times.

Blue Book: a Register (class 3) and an Extended register (class 4) carry ``value`` (2) and
``scaler_unit`` (3); an Extended register adds ``capture_time`` (5). A Demand register (class 5)
carries ``current_average_value`` (2), ``scaler_unit`` (4) and ``capture_time`` (6).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from meterreader.cosem.interface_classes import unit_symbol
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.axdr_values import to_python
from meterreader.dlms.cosem_time import BLUE_BOOK, CosemDateTime
from meterreader.dlms.errors import DlmsError, Reason, RemoteProtocolError
from meterreader.india.profiles import apply_scaler

__all__ = ["Quantity", "REGISTER_ATTRIBUTES", "date_time_of", "parse_scaler_unit", "python_value"]

#: class_id → (value attribute, scaler_unit attribute, capture_time attribute or None).
REGISTER_ATTRIBUTES: dict[int, tuple[int, int, int | None]] = {
    3: (2, 3, None),
    4: (2, 3, 5),
    5: (2, 4, 6),
}
_NO_UNIT = frozenset({254, 255})  # "other" and "count": no symbol after the value
_NUMBER_TAGS = frozenset({DataTag.INTEGER, DataTag.LONG, DataTag.DOUBLE_LONG, DataTag.LONG64,
                          DataTag.UNSIGNED, DataTag.LONG_UNSIGNED, DataTag.DOUBLE_LONG_UNSIGNED,
                          DataTag.LONG64_UNSIGNED, DataTag.FLOAT32, DataTag.FLOAT64,
                          DataTag.FLOATING_POINT, DataTag.BCD})


@dataclass(frozen=True, slots=True, kw_only=True)
class Quantity:
    """A register reading: ``value`` = ``raw`` × 10^``scaler`` in ``unit`` (Blue Book unit code;
    ``unit_text`` its symbol, "" for count/other). Non-numeric values are passed through
    unscaled. ``capture_time`` for extended and demand registers (None when not set)."""

    value: Any
    raw: Any
    scaler: int = 0
    unit: int | None = None
    unit_text: str = ""
    capture_time: dt.datetime | CosemDateTime | None = None

    def __str__(self) -> str:
        return f"{self.value} {self.unit_text}".rstrip()


def parse_scaler_unit(value: Data, where: str = "scaler_unit") -> tuple[int, int]:
    """(scaler, unit code) from a scal_unit_type structure {integer scaler, enum unit}."""
    items = value.value if isinstance(value, Data) and value.tag is DataTag.STRUCTURE else None
    if (not items or len(items) != 2 or not all(isinstance(i.value, int) for i in items)
            or isinstance(items[0].value, bool)):
        raise RemoteProtocolError(f"{where} is not a structure {{integer scaler, enum unit}}: "
                                  f"{value!r}", reason=Reason.BAD_VALUE)
    return items[0].value, items[1].value


def is_number(value: Data) -> bool:
    return isinstance(value, Data) and value.tag in _NUMBER_TAGS


def scaled(value: Data, scaler: int) -> Any:
    """The physical value of a numeric ``Data`` (else its plain Python value)."""
    if is_number(value) and not isinstance(value.value, bool):
        return apply_scaler(value.value, scaler) if scaler else value.value
    return to_python(value)


def date_time_of(value: Data | None, deviation_sign: int = BLUE_BOOK
                 ) -> dt.datetime | CosemDateTime | None:
    """A date-time sent as ``date-time`` or as a 12-byte octet-string: a ``datetime`` when it
    names a complete instant, else the raw :class:`CosemDateTime`; None for null-data or any
    other value."""
    if not isinstance(value, Data):
        return None
    if value.tag is DataTag.DATE_TIME:
        cdt = value.value
    elif value.tag is DataTag.OCTET_STRING and isinstance(value.value, bytes) \
            and len(value.value) == 12:
        cdt = CosemDateTime.try_from_bytes(value.value)
        if cdt is None:
            return None
    else:
        return None
    if cdt.is_complete:
        try:
            return cdt.to_datetime(deviation_sign=deviation_sign)
        except DlmsError:
            pass
    return cdt


def make_quantity(value: Data, scaler_unit: Data | None, capture_time: Data | None = None, *,
                  deviation_sign: int = BLUE_BOOK, where: str = "scaler_unit") -> Quantity:
    """A :class:`Quantity` from the raw attribute values."""
    scaler, unit = (0, None) if scaler_unit is None else parse_scaler_unit(scaler_unit, where)
    text = "" if unit is None or unit in _NO_UNIT else unit_symbol(unit)
    return Quantity(value=scaled(value, scaler), raw=to_python(value), scaler=scaler, unit=unit,
                    unit_text=text,
                    capture_time=date_time_of(capture_time, deviation_sign))


def python_value(value: Data, deviation_sign: int = BLUE_BOOK, *, time_column: bool = False
                 ) -> Any:
    """Plain Python for a profile cell: a ``date-time`` becomes a ``datetime`` (so does a 12-byte
    octet-string in a ``time_column``); everything else as :func:`to_python`."""
    if value.tag is DataTag.DATE_TIME or (time_column and value.tag is DataTag.OCTET_STRING):
        when = date_time_of(value, deviation_sign)
        if when is not None:
            return when
    return to_python(value, deviation_sign=deviation_sign)
