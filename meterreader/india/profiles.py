"""Applying IS 15959 scaler profiles to profile rows, and column titles.

A scaler profile (1.0.94.91.3–7.255) captures (class, logical name, attribute 3) of the registers
of its data profile; its one buffer row holds a scaler_unit structure {integer scaler, enum unit}
per capture object. :func:`scalers_from_scaler_profile` turns that into a (class, logical name) →
(scaler, unit) map that is matched against the data profile's columns.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Iterable, Mapping, Sequence

from meterreader.cosem.interface_classes import attribute_name, unit_symbol
from meterreader.cosem.obis import Obis
from meterreader.cosem.obis_names import obis_name
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import DlmsError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.india.catalogue import MeterCategory, catalogue
from meterreader.india.catalogue_types import CaptureObjectDef

ScalerMap = dict[tuple[int, Obis], tuple[int, int]]

_SCALED_CLASSES = frozenset({3, 4, 5})
_NO_UNIT = frozenset({254, 255})  # "other" and "count": nothing to print after the value
_INTEGER_TAGS = frozenset({DataTag.INTEGER, DataTag.LONG, DataTag.DOUBLE_LONG, DataTag.LONG64,
                           DataTag.UNSIGNED, DataTag.LONG_UNSIGNED, DataTag.DOUBLE_LONG_UNSIGNED,
                           DataTag.LONG64_UNSIGNED})


def _bad(message: str, reason: Reason = Reason.BAD_VALUE) -> RemoteProtocolError:
    return RemoteProtocolError(message, reason=reason)


def _plain(value: Any) -> Any:
    """A Data's Python value (structures as tuples of plain values); other values unchanged."""
    if isinstance(value, Data):
        if value.tag in (DataTag.STRUCTURE, DataTag.ARRAY):
            return tuple(_plain(v) for v in value.value)
        return value.value
    return value


def _capture_key(item: Any, index: int) -> tuple[int, Obis, int]:
    """(class_id, logical name, attribute) of one capture_object_definition."""
    if isinstance(item, CaptureObjectDef):
        return item.class_id, item.obis, item.attribute
    fields = _plain(item)
    if not isinstance(fields, (tuple, list)) or len(fields) < 3:
        raise _bad(f"capture object {index} is not a capture_object_definition: {item!r}")
    class_id, ln, attribute = fields[0], fields[1], fields[2]
    try:
        obis = Obis.parse(ln)
    except DlmsError:
        raise _bad(f"capture object {index} has no valid logical name: {ln!r}") from None
    if not all(type(v) is int for v in (class_id, attribute)):
        raise _bad(f"capture object {index} has a bad class_id or attribute: {item!r}")
    return class_id, obis, attribute


def _scaler_unit(value: Any, index: int) -> tuple[int, int]:
    fields = _plain(value)
    if (not isinstance(fields, (tuple, list)) or len(fields) != 2
            or not all(type(v) is int for v in fields)
            or not -128 <= fields[0] <= 127 or not 0 <= fields[1] <= 255):
        raise _bad(f"column {index} of the scaler profile is not a scaler_unit: {value!r}")
    return fields[0], fields[1]


def scalers_from_scaler_profile(capture_objects: Sequence[Any], row: Sequence[Any]) -> ScalerMap:
    """Map (class_id, logical name) → (scaler, unit code) from a scaler profile's one row.

    ``capture_objects`` are CaptureObjectDefs, (class_id, logical name, attribute[, data_index])
    tuples or the decoded capture_object_definition structures; ``row`` is the buffer row (a
    sequence, or a structure ``Data``) of scaler_unit structures or (scaler, unit) pairs. Capture
    objects whose attribute is not 3 are skipped. A malformed row raises RemoteProtocolError.
    """
    values = _plain(row) if isinstance(row, Data) else row
    if not isinstance(values, (tuple, list)):
        raise _bad(f"scaler profile row is not a structure: {row!r}")
    if len(values) != len(capture_objects):
        raise _bad(f"scaler profile row has {len(values)} values for {len(capture_objects)} "
                   "capture objects", Reason.BAD_LENGTH)
    out: ScalerMap = {}
    for i, (item, value) in enumerate(zip(capture_objects, values)):
        class_id, obis, attribute = _capture_key(item, i)
        if attribute == 3:
            out[(class_id, obis)] = _scaler_unit(value, i)
    return out


def apply_scaler(raw: int | float, scaler: int) -> int | float:
    """``raw × 10**scaler``; stays an int when both are whole (scaler ≥ 0), else a float.

    A negative scaler divides by the power of ten, so ``apply_scaler(23012, -2) == 230.12``
    exactly as printed (no ``230.12000000000001``).
    """
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise LocalProtocolError(f"cannot scale a non-number: {raw!r}")
    if isinstance(scaler, bool) or not isinstance(scaler, int) or not -128 <= scaler <= 127:
        raise LocalProtocolError(f"scaler must be an integer -128..127: {scaler!r}")
    if scaler >= 0:
        return raw * 10 ** scaler
    return raw / 10 ** -scaler


def scaled_row(capture_objects: Sequence[Any], row: Sequence[Any],
               scalers: Mapping[tuple[int, Obis], tuple[int, int]]) -> tuple[Any, ...]:
    """The row with every numeric register value (attribute 2) scaled; other cells unchanged."""
    out = []
    for i, value in enumerate(row):
        if i < len(capture_objects):
            class_id, obis, attribute = _capture_key(capture_objects[i], i)
            found = scalers.get((class_id, obis))
            plain = _plain(value) if isinstance(value, Data) and value.tag in _INTEGER_TAGS \
                else value
            if (found is not None and attribute == 2 and class_id in _SCALED_CLASSES
                    and isinstance(plain, (int, float)) and not isinstance(plain, bool)):
                out.append(apply_scaler(plain, found[0]))
                continue
        out.append(value)
    return tuple(out)


@cache
def _catalogue_names() -> dict[Obis, str]:
    names: dict[Obis, str] = {}
    for category in MeterCategory:
        for obj in catalogue(category):
            names.setdefault(obj.obis, obj.name)
    return names


def object_title(obis: Obis | str | bytes) -> str:
    """Short name of an object: the catalogue's, else the OBIS name table's, else the code."""
    try:
        o = Obis.parse(obis)
    except DlmsError:
        return str(obis)
    return _catalogue_names().get(o) or obis_name(o) or str(o)


def column_title(obis: Obis | str | bytes, unit: int | None = None, *,
                 class_id: int | None = None, attribute: int = 2) -> str:
    """Column heading such as ``"Voltage L1 (V)"``; no unit for None, 254 and 255.

    For another attribute than the value (e.g. an MD's capture time, attribute 5 of class 4)
    its Blue Book name is appended: ``"Maximum demand kW — capture time"``.
    """
    title = object_title(obis)
    if attribute != 2 and class_id is not None:
        return f"{title} — {attribute_name(class_id, attribute).replace('_', ' ')}"
    if unit is None or int(unit) in _NO_UNIT:
        return title
    return f"{title} ({unit_symbol(int(unit))})"


def titles_for(capture_objects: Iterable[Any],
               scalers: Mapping[tuple[int, Obis], tuple[int, int]] | None = None
               ) -> tuple[str, ...]:
    """Column titles of a profile, with units from a scaler map when given."""
    out = []
    for i, item in enumerate(capture_objects):
        class_id, obis, attribute = _capture_key(item, i)
        unit = (scalers or {}).get((class_id, obis), (0, None))[1] if attribute == 2 else None
        out.append(column_title(obis, unit, class_id=class_id, attribute=attribute))
    return tuple(out)
