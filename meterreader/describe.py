"""Turn decoded protocol objects into JSON-serialisable descriptions (for ``meterreader decode``,
traces and logs).

Generic over the codec's types: frozen dataclasses become objects with a ``"pdu"`` name, enums
become their standard name, bytes become upper-case hex, OBIS codes dotted text and COSEM ``Data``
the typed form of :func:`meterreader.dlms.axdr.data_to_json`. Fields declared with ``repr=False``
(secrets such as passwords) are shown as ``"***"``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from meterreader.cosem.obis import Obis
from meterreader.dlms import axdr

SECRET = "***"


def _enum(value: enum.Enum) -> Any:
    if isinstance(value, enum.Flag):
        names = [m.name.lower().replace("_", "-") for m in type(value) if m in value and m.name]
        return {"value": int(value), "flags": names}
    name = value.name.lower().replace("_", "-")
    return {"value": value.value, "name": name} if isinstance(value, int) else name


def to_json(obj: Any) -> Any:
    """A JSON-serialisable description of ``obj``."""
    if obj is None or isinstance(obj, (bool, str, float)):
        return obj
    if isinstance(obj, enum.Enum):
        return _enum(obj)
    if isinstance(obj, int):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).hex().upper()
    if isinstance(obj, Obis):
        return str(obj)
    if isinstance(obj, axdr.Data):
        return axdr.data_to_json(obj)
    if isinstance(obj, (list, tuple)):
        return [to_json(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {"pdu": type(obj).__name__}
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            out[field.name] = SECRET if (not field.repr and value) else to_json(value)
        _annotate_cosem_reference(obj, out)
        return out
    return str(obj)


def _annotate_cosem_reference(obj: Any, out: dict[str, Any]) -> None:
    """Add readable names to attribute/method descriptors (class, OBIS, attribute or method)."""
    class_id = getattr(obj, "class_id", None)
    instance = getattr(obj, "instance_id", None)
    if not isinstance(class_id, int) or not isinstance(instance, Obis):
        return
    from meterreader.cosem.interface_classes import attribute_name, class_name, method_name
    out["class_name"] = class_name(class_id)
    name = instance.name
    if name:
        out["object_name"] = name
    if isinstance(getattr(obj, "attribute_id", None), int):
        out["attribute_name"] = attribute_name(class_id, obj.attribute_id)
    if isinstance(getattr(obj, "method_id", None), int):
        out["method_name"] = method_name(class_id, obj.method_id)
