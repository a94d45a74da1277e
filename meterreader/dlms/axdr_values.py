"""Building A-XDR ``Data`` readably (``D``) and viewing it as plain Python or JSON.

* ``D.long_unsigned(5)``, ``D.octet_string(b"..")``, ``D.structure(a, b)``, ``D.array(...)``,
  ``D.null()`` … — one constructor per type, named as the standard names it.
* ``to_python(data)`` — arrays/structures → lists, compact-array → list of its elements,
  bit-string → text of 0/1, complete date-time/date/time → ``datetime``/``date``/``time``
  (others stay ``CosemDateTime``/``CosemDate``/``CosemTime``), bytes stay bytes.
* ``data_to_json(data)`` — ``{"type": "<standard name>", "value": ...}`` trees that ``json.dumps``
  accepts as strict JSON (non-finite floats become the text "nan"/"inf"/"-inf"). Octet-strings show
  upper-case hex, plus ``"obis"`` (dotted) when 6 bytes long and ``"datetime"`` when 12 bytes
  read as a plausible COSEM date-time.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from meterreader.dlms.axdr import (
    _ENCODERS, TYPE_NAMES, BitString, CompactArray, Data, DataTag, TypeDescription,
)
from meterreader.dlms.cosem_time import BLUE_BOOK, CosemDate, CosemDateTime, CosemTime
from meterreader.dlms.errors import LocalProtocolError


def to_python(data: Data, *, deviation_sign: int = BLUE_BOOK) -> Any:
    """Plain Python for ``data``; ``deviation_sign`` as in ``CosemDateTime.to_datetime``."""
    convert = _PYTHON.get(data.tag)
    return convert(data.value, deviation_sign) if convert else data.value


def _py_list(value: Any, sign: int) -> list[Any]:
    return [to_python(item, deviation_sign=sign) for item in value]


def _py_date_time(value: CosemDateTime, sign: int) -> Any:
    if value.is_complete:
        try:
            return value.to_datetime(deviation_sign=sign)
        except LocalProtocolError:  # deviation beyond ±24 h: keep the raw value
            pass
    return value


_PYTHON: dict[int, Callable[[Any, int], Any]] = {
    DataTag.ARRAY: _py_list,
    DataTag.STRUCTURE: _py_list,
    DataTag.COMPACT_ARRAY: lambda v, s: _py_list(v.contents, s),
    DataTag.BIT_STRING: lambda v, s: v.bits,
    DataTag.DATE_TIME: _py_date_time,
    DataTag.DATE: lambda v, s: v.to_date() if v.is_complete else v,
    DataTag.TIME: lambda v, s: v.to_time() if v.is_complete else v,
}


def data_to_json(data: Data) -> dict[str, Any]:
    """A JSON-serialisable tree for ``data``, e.g. ``{"type": "long-unsigned", "value": 5}``."""
    node: dict[str, Any] = {"type": TYPE_NAMES.get(data.tag, str(data.tag))}
    convert = _JSON.get(data.tag)
    if convert is None:
        node["value"] = data.value
    else:
        convert(data.value, node)
    return node


def type_description_to_json(td: TypeDescription) -> dict[str, Any]:
    """``{"type": "array", "count": 3, "element": {...}}``, ``{"type": "structure",
    "children": [...]}`` or ``{"type": "<simple type>"}``."""
    node: dict[str, Any] = {"type": TYPE_NAMES[td.tag]}
    if td.tag == DataTag.ARRAY:
        node["count"] = td.count
        node["element"] = type_description_to_json(td.children[0])
    elif td.tag == DataTag.STRUCTURE:
        node["children"] = [type_description_to_json(child) for child in td.children]
    return node


def _json_list(value: Any, node: dict[str, Any]) -> None:
    node["value"] = [data_to_json(item) for item in value]


def _json_compact(value: Any, node: dict[str, Any]) -> None:
    node["type_description"] = type_description_to_json(value.type_description)
    node["value"] = [data_to_json(item) for item in value.contents]


def _json_octets(value: bytes, node: dict[str, Any]) -> None:
    node["value"] = value.hex().upper()
    if len(value) == 6:
        node["obis"] = ".".join(str(b) for b in value)
    elif len(value) == 12:
        stamp = CosemDateTime.try_from_bytes(value)
        if stamp is not None:
            node["datetime"] = str(stamp)


def _json_float(value: float, node: dict[str, Any]) -> None:
    node["value"] = value if math.isfinite(value) else str(value)


def _json_date_time(value: CosemDateTime, node: dict[str, Any]) -> None:
    status = value.status
    node["value"] = value.iso_text()
    node["day_of_week"] = value.day_of_week
    node["deviation"] = value.deviation if value.deviation_specified else None
    node["clock_status"] = None if status is None else int(status)
    node["clock_status_flags"] = [] if status is None else [
        flag.name for flag in type(status) if flag in status]
    node["text"] = str(value)
    node["hex"] = bytes(value).hex().upper()


def _json_date(value: Any, node: dict[str, Any]) -> None:
    node["value"] = str(value)
    node["hex"] = bytes(value).hex().upper()


_JSON: dict[int, Callable[[Any, dict[str, Any]], None]] = {
    DataTag.ARRAY: _json_list,
    DataTag.STRUCTURE: _json_list,
    DataTag.COMPACT_ARRAY: _json_compact,
    DataTag.BIT_STRING: lambda v, node: node.__setitem__("value", v.bits),
    DataTag.OCTET_STRING: _json_octets,
    DataTag.FLOATING_POINT: _json_float,
    DataTag.FLOAT32: _json_float,
    DataTag.FLOAT64: _json_float,
    DataTag.DATE_TIME: _json_date_time,
    DataTag.DATE: _json_date,
    DataTag.TIME: _json_date,
}


def _checked(tag: DataTag, value: Any) -> Data:
    _ENCODERS[tag](value, bytearray(), 0)  # same checks (and LocalProtocolError) as encode_data
    return Data(tag, value)


_NULL = Data(DataTag.NULL_DATA)
_DONT_CARE = Data(DataTag.DONT_CARE)


class D:
    """Constructors named after the standard's types, e.g.
    ``D.structure(D.long_unsigned(5), D.octet_string(b"x"))``.

    Scalar constructors check the value at once and raise LocalProtocolError like
    ``encode_data``; containers take their items as arguments.
    """

    @staticmethod
    def null() -> Data:
        return _NULL

    @staticmethod
    def dont_care() -> Data:
        return _DONT_CARE

    @staticmethod
    def array(*items: Data) -> Data:
        return Data(DataTag.ARRAY, items)

    @staticmethod
    def structure(*items: Data) -> Data:
        return Data(DataTag.STRUCTURE, items)

    @staticmethod
    def compact_array(type_description: TypeDescription, *items: Data) -> Data:
        return Data(DataTag.COMPACT_ARRAY,
                    CompactArray(type_description=type_description, contents=items))

    @staticmethod
    def boolean(value: bool) -> Data:
        return _checked(DataTag.BOOLEAN, value)

    @staticmethod
    def bit_string(value: str | BitString) -> Data:
        """From a BitString or text such as ``"1011"``."""
        return _checked(DataTag.BIT_STRING,
                        BitString.from_bits(value) if isinstance(value, str) else value)

    @staticmethod
    def double_long(value: int) -> Data:
        return _checked(DataTag.DOUBLE_LONG, value)

    @staticmethod
    def double_long_unsigned(value: int) -> Data:
        return _checked(DataTag.DOUBLE_LONG_UNSIGNED, value)

    @staticmethod
    def floating_point(value: float) -> Data:
        return _checked(DataTag.FLOATING_POINT, float(value))

    @staticmethod
    def octet_string(value: bytes) -> Data:
        return _checked(DataTag.OCTET_STRING, bytes(value))

    @staticmethod
    def visible_string(value: str) -> Data:
        return _checked(DataTag.VISIBLE_STRING, value)

    @staticmethod
    def utf8_string(value: str) -> Data:
        return _checked(DataTag.UTF8_STRING, value)

    @staticmethod
    def bcd(value: int) -> Data:
        return _checked(DataTag.BCD, value)

    @staticmethod
    def integer(value: int) -> Data:
        return _checked(DataTag.INTEGER, value)

    @staticmethod
    def long(value: int) -> Data:
        return _checked(DataTag.LONG, value)

    @staticmethod
    def unsigned(value: int) -> Data:
        return _checked(DataTag.UNSIGNED, value)

    @staticmethod
    def long_unsigned(value: int) -> Data:
        return _checked(DataTag.LONG_UNSIGNED, value)

    @staticmethod
    def long64(value: int) -> Data:
        return _checked(DataTag.LONG64, value)

    @staticmethod
    def long64_unsigned(value: int) -> Data:
        return _checked(DataTag.LONG64_UNSIGNED, value)

    @staticmethod
    def enum(value: int) -> Data:
        return _checked(DataTag.ENUM, value)

    @staticmethod
    def float32(value: float) -> Data:
        return _checked(DataTag.FLOAT32, float(value))

    @staticmethod
    def float64(value: float) -> Data:
        return _checked(DataTag.FLOAT64, float(value))

    @staticmethod
    def date_time(value: CosemDateTime) -> Data:
        return _checked(DataTag.DATE_TIME, value)

    @staticmethod
    def date(value: CosemDate) -> Data:
        return _checked(DataTag.DATE, value)

    @staticmethod
    def time(value: CosemTime) -> Data:
        return _checked(DataTag.TIME, value)
