"""COSEM object models read from the meter: the Association LN ``object_list`` and the SAP
assignment's ``SAP_assignment_list``.

Blue Book, Association LN (class 15) attribute 2: an array of object_list_element {class_id
long-unsigned, version unsigned, logical_name octet-string, access_rights {attribute_access
array of {attribute_id integer, access_mode enum, access_selectors array of integer | null-data},
method_access array of {method_id integer, access_mode enum (boolean in version 0)}}}.
SAP assignment (class 17) attribute 2: an array of {SAP long-unsigned, logical_device_name
octet-string}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

from meterreader.cosem.interface_classes import (AttributeAccessMode, MethodAccessMode,
                                                 class_name)
from meterreader.cosem.obis import Obis
from meterreader.cosem.obis_names import obis_name
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.errors import DlmsError, Reason, RemoteProtocolError

__all__ = ["CosemObjectInfo", "LogicalDeviceInfo", "parse_object_list", "parse_sap_list"]

def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemObjectInfo:
    """One entry of the meter's object list, as the current association sees it.

    ``attribute_access``/``method_access`` map the index to the access mode (the raw int when
    the meter sends a value the Blue Book does not define; a version-0 boolean method access
    becomes ACCESS/NO_ACCESS). ``access_selectors`` lists the selective-access selectors per
    attribute (only attributes that have some). ``name`` is the OBIS name table's (None if
    unknown), ``class_name`` the interface class name.
    """

    class_id: int
    version: int
    logical_name: Obis
    attribute_access: Mapping[int, AttributeAccessMode | int] = field(default_factory=_empty)
    method_access: Mapping[int, MethodAccessMode | int] = field(default_factory=_empty)
    access_selectors: Mapping[int, tuple[int, ...]] = field(default_factory=_empty)
    name: str | None = None
    class_name: str = ""

    def can_read(self, attribute: int) -> bool:
        mode = self.attribute_access.get(attribute, AttributeAccessMode.NO_ACCESS)
        return isinstance(mode, AttributeAccessMode) and mode.readable

    def can_write(self, attribute: int) -> bool:
        mode = self.attribute_access.get(attribute, AttributeAccessMode.NO_ACCESS)
        return isinstance(mode, AttributeAccessMode) and mode.writable

    def can_invoke(self, method: int) -> bool:
        mode = self.method_access.get(method, MethodAccessMode.NO_ACCESS)
        return isinstance(mode, MethodAccessMode) and mode is not MethodAccessMode.NO_ACCESS


class LogicalDeviceInfo(NamedTuple):
    """One logical device of the physical meter: its SAP (server upper address) and name."""

    sap: int
    name: str


def _bad(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, reason=Reason.BAD_VALUE)


def _items(value: Any, tag: DataTag, what: str) -> tuple[Data, ...]:
    if not isinstance(value, Data) or value.tag is not tag or not isinstance(value.value, tuple):
        raise _bad(f"{what} is not a{'n' if tag is DataTag.ARRAY else ''} "
                   f"{tag.name.lower()}: {value!r}")
    return value.value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, Data) or type(value.value) not in (int, bool):
        raise _bad(f"{what} is not an integer: {value!r}")
    return int(value.value)


def _mode(enum: type, value: int) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value


def _access(rights: Data, where: str) -> tuple[dict[int, Any], dict[int, Any],
                                                dict[int, tuple[int, ...]]]:
    parts = _items(rights, DataTag.STRUCTURE, f"{where} access_rights")
    if len(parts) < 2:
        raise _bad(f"{where} access_rights has {len(parts)} elements, expected 2")
    attributes: dict[int, Any] = {}
    selectors: dict[int, tuple[int, ...]] = {}
    for item in _items(parts[0], DataTag.ARRAY, f"{where} attribute_access"):
        fields = _items(item, DataTag.STRUCTURE, f"{where} attribute_access_item")
        if len(fields) < 2:
            raise _bad(f"{where} attribute_access_item is too short")
        index = _int(fields[0], f"{where} attribute_id")
        attributes[index] = _mode(AttributeAccessMode, _int(fields[1], f"{where} access_mode"))
        if len(fields) > 2 and fields[2].tag is DataTag.ARRAY:
            chosen = tuple(_int(s, f"{where} access_selector") for s in fields[2].value)
            if chosen:
                selectors[index] = chosen
    methods: dict[int, Any] = {}
    for item in _items(parts[1], DataTag.ARRAY, f"{where} method_access"):
        fields = _items(item, DataTag.STRUCTURE, f"{where} method_access_item")
        if len(fields) < 2:
            raise _bad(f"{where} method_access_item is too short")
        methods[_int(fields[0], f"{where} method_id")] = _mode(
            MethodAccessMode, _int(fields[1], f"{where} method access_mode"))
    return attributes, methods, selectors


def parse_object_list(value: Data) -> list[CosemObjectInfo]:
    """The object list from Association LN attribute 2 (RemoteProtocolError when malformed)."""
    out = []
    for i, element in enumerate(_items(value, DataTag.ARRAY, "object_list")):
        where = f"object_list element {i}"
        fields = _items(element, DataTag.STRUCTURE, where)
        if len(fields) < 4:
            raise _bad(f"{where} has {len(fields)} elements, expected 4")
        class_id = _int(fields[0], f"{where} class_id")
        version = _int(fields[1], f"{where} version")
        name = fields[2].value
        if fields[2].tag is not DataTag.OCTET_STRING or len(name) != 6:
            raise _bad(f"{where} logical_name is not a 6-byte octet-string: {fields[2]!r}")
        attributes, methods, selectors = _access(fields[3], where)
        obis = Obis.from_bytes(name)
        try:
            title = obis_name(obis)
        except DlmsError:
            title = None
        out.append(CosemObjectInfo(
            class_id=class_id, version=version, logical_name=obis,
            attribute_access=MappingProxyType(attributes), method_access=MappingProxyType(methods),
            access_selectors=MappingProxyType(selectors), name=title,
            class_name=class_name(class_id)))
    return out


def parse_sap_list(value: Data) -> list[LogicalDeviceInfo]:
    """The SAP_assignment_list (SAP assignment attribute 2) as (SAP, name) pairs."""
    out = []
    for i, element in enumerate(_items(value, DataTag.ARRAY, "SAP_assignment_list")):
        fields = _items(element, DataTag.STRUCTURE, f"SAP_assignment_list element {i}")
        if len(fields) != 2:
            raise _bad(f"SAP_assignment_list element {i} has {len(fields)} elements, expected 2")
        sap = _int(fields[0], f"SAP of element {i}")
        raw = fields[1].value
        if not isinstance(raw, (bytes, str)):
            raise _bad(f"logical_device_name of element {i} is not a string: {fields[1]!r}")
        name = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        out.append(LogicalDeviceInfo(sap=sap, name=name))
    return out
