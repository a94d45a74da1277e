"""Short, readable text for COSEM values shown in the attribute panel and exported by the GUI.

Qt-free on purpose (the attribute panel, the export and the tests share it):

* :func:`format_data` — one line for any :class:`~meterreader.dlms.axdr.Data` (octet-strings as
  OBIS, date-time, text or hex; structures in braces; long values cut with an ellipsis).
* :func:`type_text` — the standard's type name, with element counts for containers.
* :func:`format_quantity` — a register value with its scaler and unit applied ("230.5 V").
* :func:`format_scaler_unit` — a scal_unit_type structure ("×10^-2 V").
* :func:`error_text` — the short in-place text for a failed service ("read-write-denied").
"""

from __future__ import annotations

import math
from typing import Any

from meterreader.client.errors import Cancelled, ServiceFailed
from meterreader.client.values import make_quantity, parse_scaler_unit
from meterreader.cosem.interface_classes import unit_symbol
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import TYPE_NAMES, BitString, CompactArray, Data, DataTag
from meterreader.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterreader.dlms.errors import DlmsError

__all__ = ["LIMIT", "error_text", "format_data", "format_quantity", "format_scaler_unit",
           "octets_text", "type_text"]

LIMIT = 160  #: longest text :func:`format_data` returns (longer values end in "…")
_SHOWN_ITEMS = 8  #: elements of an array/structure spelled out before "…"


def type_text(data: Data) -> str:
    """``"long-unsigned"``, ``"array[96]"``, ``"structure{4}"``, ``"octet-string[12]"``."""
    if not isinstance(data, Data):
        return type(data).__name__
    name = TYPE_NAMES.get(data.tag, str(data.tag))
    value = data.value
    if data.tag in (DataTag.ARRAY, DataTag.COMPACT_ARRAY):
        items = value.contents if isinstance(value, CompactArray) else value
        return f"{name}[{len(items)}]"
    if data.tag is DataTag.STRUCTURE:
        return f"{name}{{{len(value)}}}"
    if data.tag in (DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING):
        return f"{name}[{len(value)}]"
    return name


def octets_text(raw: bytes) -> str:
    """An octet-string for people: printable ASCII as quoted text, else spaced upper-case hex."""
    if raw and all(0x20 <= b < 0x7F for b in raw):
        return f'"{raw.decode("ascii")}"'
    return raw.hex(" ").upper() if raw else "(empty)"


def _octets(raw: bytes) -> str:
    if len(raw) == 6 and not all(0x20 <= b < 0x7F for b in raw):
        return f"{Obis.from_bytes(raw)} ({raw.hex(' ').upper()})"
    if len(raw) == 12:
        when = CosemDateTime.try_from_bytes(raw)
        if when is not None:
            return _date_time(when)
    return octets_text(raw)


def _date_time(value: CosemDateTime) -> str:
    text = f"{value.iso_text().replace('T', ' ')}"
    if value.deviation_specified:
        text += f" dev {value.deviation:+d}"
    status = value.status
    if status:
        text += f" [{status.name if status.name else hex(int(status))}]"
    return text


def _number(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.6g}" if abs(value) >= 1e15 or (value and abs(value) < 1e-4) \
            else f"{value:,.6f}".rstrip("0").rstrip(".").replace(",", "")
    return str(value)


def _items_text(items: tuple[Data, ...] | list[Data], open_: str, close: str, depth: int) -> str:
    shown = [_text(item, depth + 1) for item in items[:_SHOWN_ITEMS]]
    if len(items) > _SHOWN_ITEMS:
        shown.append(f"… {len(items) - _SHOWN_ITEMS} more")
    return open_ + ", ".join(shown) + close


def _text(data: Data, depth: int = 0) -> str:
    tag, value = data.tag, data.value
    if tag in (DataTag.NULL_DATA, DataTag.DONT_CARE):
        return "null" if tag is DataTag.NULL_DATA else "don't-care"
    if tag in (DataTag.ARRAY, DataTag.STRUCTURE, DataTag.COMPACT_ARRAY):
        items = value.contents if isinstance(value, CompactArray) else value
        if depth >= 3:
            return "[…]" if tag is not DataTag.STRUCTURE else "{…}"
        return _items_text(items, *("{}" if tag is DataTag.STRUCTURE else "[]"), depth)
    if tag is DataTag.BOOLEAN:
        return "true" if value else "false"
    if tag is DataTag.BIT_STRING and isinstance(value, BitString):
        return value.bits or "(empty)"
    if tag is DataTag.OCTET_STRING:
        return _octets(value)
    if tag in (DataTag.VISIBLE_STRING, DataTag.UTF8_STRING):
        return f'"{value}"'
    if tag is DataTag.DATE_TIME and isinstance(value, CosemDateTime):
        return _date_time(value)
    if isinstance(value, (CosemDate, CosemTime)):
        return str(value)
    return _number(value)


def format_data(data: Data, limit: int = LIMIT) -> str:
    """One line of text for ``data`` (at most ``limit`` characters)."""
    if not isinstance(data, Data):
        return str(data)
    text = _text(data)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_scaler_unit(data: Data) -> str:
    """``"×10^-2 V (unit 35)"``; the raw value's text when it is not a scal_unit_type."""
    try:
        scaler, unit = parse_scaler_unit(data)
    except DlmsError:
        return format_data(data)
    factor = "×1" if scaler == 0 else f"×10^{scaler}"
    return f"{factor} {unit_symbol(unit)} (unit {unit})"


def format_quantity(value: Data, scaler_unit: Data | None) -> str:
    """A register value with its scaler and unit applied, e.g. ``"230.52 V"``; the plain value
    when ``scaler_unit`` is missing or malformed or the value is not a number."""
    if scaler_unit is None:
        return format_data(value)
    try:
        quantity = make_quantity(value, scaler_unit)
    except DlmsError:
        return format_data(value)
    if isinstance(quantity.value, (int, float)) and not isinstance(quantity.value, bool):
        return f"{_number(quantity.value)} {quantity.unit_text}".rstrip()
    return format_data(value)


def error_text(error: BaseException) -> str:
    """The short in-place text of a failed read/write/action: the Data-Access-Result or
    Action-Result in the standard's spelling ("read-write-denied", "object-undefined") for a
    refusal, "cancelled (Stop)" after Stop, else the first line of the exception's message."""
    if isinstance(error, ServiceFailed) and error.result is not None:
        return error.result.name.lower().replace("_", "-")
    if isinstance(error, Cancelled):
        return "cancelled (Stop)"
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text
