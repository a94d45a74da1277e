"""Command-line text ↔ COSEM values: targets (``OBIS[:N]``, ``CLASS/OBIS/N``), typed values for
``write`` and ``action --param``, and the display of values in tables, JSON and CSV."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import TYPE_NAMES, Data, DataTag
from meterreader.dlms.cosem_time import BLUE_BOOK, CosemDate, CosemDateTime, CosemTime
from meterreader.dlms.errors import DlmsError

__all__ = ["Target", "VALUE_TYPES", "cell_text", "display", "iso", "json_safe", "parse_param",
           "parse_target", "parse_value", "type_name"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """An attribute (``read``/``write``) or a method (``action``) of one object; ``class_id``
    None when the command line did not give it."""

    obis: Obis
    index: int
    class_id: int | None = None
    text: str = ""


def _obis(text: str) -> Obis | None:
    try:
        return Obis.parse(text.strip())
    except DlmsError:
        return None


def _index(text: str, what: str, original: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 256:
        raise argparse.ArgumentTypeError(f"bad {what} in {original!r}: expected 1..255")
    return int(text)


def parse_target(text: str, *, what: str = "attribute", default: int | None = 2) -> Target:
    """``OBIS``, ``OBIS:N`` or ``CLASS/OBIS[/N]`` (N = attribute or method; default ``default``).
    Raises ``argparse.ArgumentTypeError`` (exit status 2)."""
    usage = f"expected OBIS[:{what.upper()}] or CLASS/OBIS/{what.upper()}, e.g. 1.0.1.8.0.255:2"
    if "/" in text:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not parts[0].strip().isdigit():
            raise argparse.ArgumentTypeError(f"not a target: {text!r} ({usage})")
        class_id = int(parts[0])
        if not 0 < class_id < 0x10000:
            raise argparse.ArgumentTypeError(f"bad class id in {text!r}")
        obis = _obis(parts[1])
        if obis is None:
            raise argparse.ArgumentTypeError(f"not an OBIS code in {text!r} ({usage})")
        if len(parts) == 3:
            index = _index(parts[2], what, text)
        elif default is None:
            raise argparse.ArgumentTypeError(f"no {what} in {text!r} ({usage})")
        else:
            index = default
        return Target(obis=obis, index=index, class_id=class_id, text=text)
    obis = _obis(text)
    if obis is not None:
        if default is None:
            raise argparse.ArgumentTypeError(f"no {what} in {text!r} ({usage})")
        return Target(obis=obis, index=default, text=text)
    head, sep, tail = text.rpartition(":")
    obis = _obis(head) if sep else None
    if obis is None:
        raise argparse.ArgumentTypeError(f"not a target: {text!r} ({usage})")
    return Target(obis=obis, index=_index(tail, what, text), text=text)


# -- typed values ---------------------------------------------------------------------------------

def _int(tag: DataTag) -> Callable[[str, int], Data]:
    def parse(text: str, sign: int) -> Data:
        try:
            value = int(text.strip(), 0)
        except ValueError:
            raise ValueError(f"not an integer: {text!r}") from None
        return _checked(tag, value)
    return parse


def _float(tag: DataTag) -> Callable[[str, int], Data]:
    def parse(text: str, sign: int) -> Data:
        try:
            return _checked(tag, float(text))
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None
    return parse


def _checked(tag: DataTag, value: Any) -> Data:
    from meterreader.dlms.axdr import encode_data

    data = Data(tag, value)
    encode_data(data)  # range and type checks (LocalProtocolError)
    return data


def _boolean(text: str, sign: int) -> Data:
    words = {"true": True, "1": True, "yes": True, "on": True,
             "false": False, "0": False, "no": False, "off": False}
    if text.strip().lower() not in words:
        raise ValueError(f"not a boolean (true/false): {text!r}")
    return Data(DataTag.BOOLEAN, words[text.strip().lower()])


def _octets(text: str, sign: int) -> Data:
    """``0x…`` hex, else the text's characters (latin-1)."""
    if text.strip()[:2] in ("0x", "0X"):
        digits = text.strip()[2:].replace(" ", "").replace(":", "")
        try:
            return Data(DataTag.OCTET_STRING, bytes.fromhex(digits))
        except ValueError:
            raise ValueError(f"not hex: {text!r}") from None
    try:
        return Data(DataTag.OCTET_STRING, text.encode("latin-1"))
    except UnicodeEncodeError:
        raise ValueError("octet-string text must be latin-1; give it as 0x… hex") from None


def _when(text: str) -> dt.datetime:
    if text.strip().lower() == "now":
        return dt.datetime.now().astimezone().replace(microsecond=0)
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r} (e.g. 2024-05-01T10:00:00+05:30 "
                         "or now)") from None


def _date_time(text: str, sign: int) -> Data:
    """Blue Book date-time attributes are octet-string(12); aware text sets the deviation."""
    return Data(DataTag.OCTET_STRING, bytes(CosemDateTime.from_datetime(_when(text),
                                                                       deviation_sign=sign)))


def _date(text: str, sign: int) -> Data:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO date: {text!r} (e.g. 2024-05-01)") from None
    return Data(DataTag.OCTET_STRING, bytes(CosemDate.from_datetime(day)))


def _time(text: str, sign: int) -> Data:
    try:
        when = dt.time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO time: {text!r} (e.g. 10:30:00)") from None
    return Data(DataTag.OCTET_STRING, bytes(CosemTime.from_datetime(when)))


def _obis_value(text: str, sign: int) -> Data:
    obis = _obis(text)
    if obis is None:
        raise ValueError(f"not an OBIS code: {text!r}")
    return Data(DataTag.OCTET_STRING, bytes(obis))


def _encoded(text: str, sign: int) -> Data:
    from meterreader.dlms.axdr import decode_data

    digits = text.strip().removeprefix("0x").replace(" ", "").replace(":", "")
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raise ValueError(f"not hex: {text!r}") from None
    value, end = decode_data(raw, 0)
    if end != len(raw):
        raise ValueError(f"{len(raw) - end} bytes left after the A-XDR value")
    return value


def _text(tag: DataTag, encoding: str) -> Callable[[str, int], Data]:
    def parse(text: str, sign: int) -> Data:
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            raise ValueError(f"{TYPE_NAMES[tag]} must be {encoding} text") from None
        return Data(tag, text)
    return parse


#: ``--type`` names → parser(text, deviation_sign) → Data.
VALUE_TYPES: dict[str, Callable[[str, int], Data]] = {
    "null-data": lambda text, sign: Data(DataTag.NULL_DATA),
    "boolean": _boolean,
    "bit-string": lambda text, sign: _bits(text),
    **{TYPE_NAMES[t]: _int(t) for t in (
        DataTag.INTEGER, DataTag.LONG, DataTag.UNSIGNED, DataTag.LONG_UNSIGNED,
        DataTag.DOUBLE_LONG, DataTag.DOUBLE_LONG_UNSIGNED, DataTag.LONG64,
        DataTag.LONG64_UNSIGNED, DataTag.ENUM, DataTag.BCD)},
    **{TYPE_NAMES[t]: _float(t) for t in (DataTag.FLOAT32, DataTag.FLOAT64,
                                          DataTag.FLOATING_POINT)},
    "octet-string": _octets,
    "visible-string": _text(DataTag.VISIBLE_STRING, "ascii"),
    "utf8-string": _text(DataTag.UTF8_STRING, "utf-8"),
    "date-time": _date_time,
    "date": _date,
    "time": _time,
    "obis": _obis_value,
    "data": _encoded,
}
TYPE_HELP = ("value types: " + ", ".join(VALUE_TYPES) + ". date-time/date/time take ISO 8601 "
             "text (date-time also 'now') and send the Blue Book octet-string form; obis sends "
             "6 bytes; octet-string takes text or 0x… hex; data takes any A-XDR encoded value "
             "in hex (structures, arrays).")


def _bits(text: str) -> Data:
    from meterreader.dlms.axdr import BitString

    return Data(DataTag.BIT_STRING, BitString.from_bits(text.strip()))


def parse_value(type_name_: str, text: str, deviation_sign: int = BLUE_BOOK) -> Data:
    """``Data`` of type ``type_name_`` from ``text``; ValueError/DlmsError when it does not fit."""
    parser = VALUE_TYPES.get(type_name_)
    if parser is None:
        raise ValueError(f"unknown type {type_name_!r}")
    return parser(text, deviation_sign)


def parse_param(text: str) -> tuple[str, str]:
    """argparse type of ``--param TYPE:VALUE``."""
    kind, sep, value = text.partition(":")
    if not sep or kind not in VALUE_TYPES:
        raise argparse.ArgumentTypeError(f"expected TYPE:VALUE with TYPE one of "
                                         f"{', '.join(VALUE_TYPES)}; got {text!r}")
    return kind, value


# -- display --------------------------------------------------------------------------------------

def type_name(data: Data) -> str:
    return TYPE_NAMES.get(data.tag, str(data.tag))


def _printable(raw: bytes) -> bool:
    return bool(raw) and all(32 <= b < 127 for b in raw)


def iso(value: dt.datetime | dt.date | dt.time, sep: str = "T") -> str:
    """ISO 8601; fractions of a second as milliseconds, only when there are any."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep, "milliseconds" if value.microsecond else "seconds")
    if isinstance(value, dt.time):
        return value.isoformat("milliseconds" if value.microsecond else "seconds")
    return value.isoformat()


def json_safe(value: Any, deviation_sign: int = BLUE_BOOK) -> Any:
    """Plain JSON values: datetimes ISO 8601 (COSEM deviations read with ``deviation_sign``),
    printable bytes as text else hex, lists."""
    if isinstance(value, Data):
        from meterreader.dlms.axdr_values import to_python
        return json_safe(to_python(value, deviation_sign=deviation_sign), deviation_sign)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return iso(value)
    if isinstance(value, CosemDateTime):
        return value.iso_text()
    if isinstance(value, (CosemDate, CosemTime)):
        return str(value)
    if isinstance(value, bytes):
        when = CosemDateTime.try_from_bytes(value) if len(value) == 12 else None
        if when is not None and when.is_complete:
            try:
                return iso(when.to_datetime(deviation_sign=deviation_sign))
            except DlmsError:
                pass
        return value.decode("ascii") if _printable(value) else value.hex().upper()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_safe(v, deviation_sign) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def cell_text(value: Any) -> str:
    """One CSV/table cell: "" for None, ISO 8601 date-times, compact JSON for lists."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return json.dumps(json_safe(value), ensure_ascii=False, separators=(",", ":"))
    safe = json_safe(value)
    return safe if isinstance(safe, str) else json.dumps(safe)


def display(data: Data, deviation_sign: int = BLUE_BOOK) -> str:
    """A value for the table: text for printable octet-strings, ISO for date-times, hex else."""
    from meterreader.client.values import date_time_of
    from meterreader.dlms.axdr_values import to_python

    if data.tag in (DataTag.OCTET_STRING, DataTag.DATE_TIME):
        when = date_time_of(data, deviation_sign)
        if isinstance(when, dt.datetime):
            return iso(when)
        if isinstance(when, CosemDateTime):
            return when.iso_text()
    if data.tag is DataTag.OCTET_STRING:
        raw = data.value
        if not raw:
            return '""'
        if _printable(raw):
            return raw.decode("ascii")
        if len(raw) == 6:
            return f"{Obis.from_bytes(raw)} (0x{raw.hex().upper()})"
        return f"0x{raw.hex().upper()}"
    return cell_text(to_python(data, deviation_sign=deviation_sign))
