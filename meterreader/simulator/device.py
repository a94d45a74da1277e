"""Logical and physical devices of the meter simulator, and the access-checking dispatcher.

A :class:`PhysicalDevice` hosts logical devices by address (1 = management LD). Each
:class:`LogicalDevice` holds COSEM objects by logical name and, per association name, the
:class:`ObjectRights` that association has on each object; an object without rights for an
association is not in that association's object_list and does not exist for it.

:meth:`LogicalDevice.get`/``set``/``action`` check, in this order (the Data-Access-Result or
Action-Result of the refusal in brackets):

1. the object is in the association's object list (OBJECT_UNDEFINED);
2. its class is the requested class (OBJECT_CLASS_INCONSISTENT);
3. the attribute/method exists (OBJECT_UNDEFINED);
4. the association's access mode allows the read/write/invoke; the authenticated modes also
   need ``ctx.authenticated`` (READ_WRITE_DENIED);

then call the object, which may refuse further (wrong type, no such selector …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from meterreader.cosem.interface_classes import AttributeAccessMode, MethodAccessMode
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.xdlms.common import (ActionResult, DataAccessResult,
                                           SelectiveAccessDescriptor)

from .objects import NULL, AccessContext, AccessError, CosemObject, obis_data
from .objects_association import AssociationLN
from .objects_clock import Clock

__all__ = ["AccessContext", "AccessError", "LogicalDevice", "ObjectRights", "PhysicalDevice",
           "build_meter", "read_rights", "rights_from_strings"]

_AUTH_ATTRIBUTE = frozenset({AttributeAccessMode.AUTHENTICATED_READ_ONLY,
                             AttributeAccessMode.AUTHENTICATED_WRITE_ONLY,
                             AttributeAccessMode.AUTHENTICATED_READ_WRITE})
_ACCESS_STRINGS = {"-": AttributeAccessMode.NO_ACCESS, "r": AttributeAccessMode.READ_ONLY,
                   "w": AttributeAccessMode.WRITE_ONLY, "rw": AttributeAccessMode.READ_WRITE}


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectRights:
    """One association's rights on one object: attribute index → access mode, method index →
    access mode. Attributes/methods not listed have no access."""

    attributes: Mapping[int, AttributeAccessMode] = field(
        default_factory=lambda: MappingProxyType({}))
    methods: Mapping[int, MethodAccessMode] = field(default_factory=lambda: MappingProxyType({}))

    def attribute(self, index: int) -> AttributeAccessMode:
        return self.attributes.get(index, AttributeAccessMode.NO_ACCESS)

    def method(self, index: int) -> MethodAccessMode:
        return self.methods.get(index, MethodAccessMode.NO_ACCESS)


def read_rights(obj: CosemObject, *, writable: Iterable[int] = (),
                methods: Iterable[int] = ()) -> ObjectRights:
    """Read access to every attribute of ``obj``, read-write to ``writable``, access to
    ``methods``."""
    writable = frozenset(writable)
    return ObjectRights(
        attributes=MappingProxyType({
            i: AttributeAccessMode.READ_WRITE if i in writable else AttributeAccessMode.READ_ONLY
            for i in range(1, obj.attribute_count + 1)}),
        methods=MappingProxyType({i: MethodAccessMode.ACCESS for i in methods}))


def rights_from_strings(attributes: Mapping[int, str], methods: Iterable[int] = ()
                        ) -> ObjectRights:
    """From the catalogue's access strings (``"r"``, ``"w"``, ``"rw"``, ``"-"``)."""
    return ObjectRights(
        attributes=MappingProxyType({i: _ACCESS_STRINGS[m] for i, m in attributes.items()}),
        methods=MappingProxyType({i: MethodAccessMode.ACCESS for i in methods}))


class LogicalDevice:
    """A COSEM logical device: objects by logical name and per-association rights.

    ``before_access`` (if set) runs before every dispatched request: the meter model uses it to
    catch up with the clock (periodic profile captures); ``after_set(ctx, obj, attr)`` after every
    successful SET (the meter logs transaction events). ``clock`` is the Clock object once added.
    """

    def __init__(self, address: int, name: bytes, objects: Iterable[CosemObject] = ()) -> None:
        self.address = address
        self.name = bytes(name)
        self._objects: dict[Obis, CosemObject] = {}
        self._rights: dict[str, dict[Obis, ObjectRights]] = {}
        self._enforced: dict[str, dict[Obis, ObjectRights]] = {}
        self._associations: dict[str, AssociationLN] = {}
        self._object_lists: dict[str, Data] = {}
        self.clock: Clock | None = None
        self.before_access: Callable[[], None] | None = None
        self.after_set: Callable[[AccessContext, CosemObject, int], None] | None = None
        for obj in objects:
            self.add(obj)

    def __repr__(self) -> str:
        return f"LogicalDevice({self.address}, {self.name!r}, {len(self._objects)} objects)"

    # -- building --

    def add(self, obj: CosemObject,
            rights: Mapping[str, ObjectRights] | None = None) -> CosemObject:
        """Host ``obj`` (replacing an object of the same name) and grant ``rights`` per
        association name."""
        self._objects[obj.logical_name] = obj
        obj.bind(self)
        if isinstance(obj, Clock) and (self.clock is None or obj.logical_name.e == 0):
            self.clock = obj
        if isinstance(obj, AssociationLN) and obj.association_name is not None:
            self._associations[obj.association_name] = obj
        for association, r in (rights or {}).items():
            self.grant(association, obj.logical_name, r)
        self._object_lists.clear()
        return obj

    def grant(self, association: str, logical_name: Obis | str, rights: ObjectRights) -> None:
        """Put the object in ``association``'s object list with these rights."""
        self._rights.setdefault(association, {})[Obis.parse(logical_name)] = rights
        self._object_lists.pop(association, None)

    def enforce(self, association: str, logical_name: Obis | str, rights: ObjectRights) -> None:
        """Check ``rights`` instead of the declared ones, which the object_list still shows (a
        defective meter: declared and enforced access differ)."""
        self._enforced.setdefault(association, {})[Obis.parse(logical_name)] = rights

    def revoke(self, association: str, logical_name: Obis | str) -> None:
        self._rights.get(association, {}).pop(Obis.parse(logical_name), None)
        self._object_lists.pop(association, None)

    # -- look-ups --

    @property
    def objects(self) -> tuple[CosemObject, ...]:
        return tuple(self._objects.values())

    def object(self, logical_name: Obis | str) -> CosemObject | None:
        return self._objects.get(Obis.parse(logical_name))

    def __getitem__(self, logical_name: Obis | str) -> CosemObject:
        return self._objects[Obis.parse(logical_name)]

    def find(self, class_id: int, logical_name: Obis | str) -> CosemObject | None:
        """The object with this class and name, or None."""
        obj = self._objects.get(Obis.parse(logical_name))
        return obj if obj is not None and obj.class_id == class_id else None

    def association(self, name: str) -> AssociationLN | None:
        """The Association LN object of association ``name``."""
        return self._associations.get(name)

    @property
    def association_names(self) -> tuple[str, ...]:
        return tuple(self._rights)

    def rights(self, association: str, logical_name: Obis | str) -> ObjectRights | None:
        """``association``'s rights on an object, None when the object is not in its list."""
        return self._rights.get(association, {}).get(Obis.parse(logical_name))

    def visible_objects(self, association: str) -> tuple[CosemObject, ...]:
        """The objects in ``association``'s object list, in the order they were added."""
        rights = self._rights.get(association, {})
        return tuple(o for name, o in self._objects.items() if name in rights)

    def read_internal(self, class_id: int, logical_name: Obis, attr: int) -> Data:
        """An attribute's value without access checks (for profile captures); null-data when the
        object does not exist or refuses."""
        obj = self.find(class_id, logical_name)
        if obj is None:
            return NULL
        try:
            return obj.get(attr)
        except AccessError:
            return NULL

    # -- object_list (Association LN attribute 2) --

    def object_list(self, association: str | None) -> Data:
        """object_list of ``association``: array of object_list_element {long-unsigned class_id,
        unsigned version, octet-string logical_name, access_rights}."""
        key = association or ""
        cached = self._object_lists.get(key)
        if cached is None:
            rights = self._rights.get(key, {})
            cached = Data(DataTag.ARRAY, tuple(
                _object_list_element(obj, rights[name])
                for name, obj in self._objects.items() if name in rights))
            self._object_lists[key] = cached
        return cached

    # -- dispatch --

    def _lookup(self, ctx: AccessContext, class_id: int, logical_name: Obis,
                result_type: Any) -> tuple[CosemObject, ObjectRights]:
        if self.before_access is not None:
            self.before_access()
        obj = self._objects.get(logical_name)
        rights = self._rights.get(ctx.association_name, {}).get(logical_name)
        if obj is None or rights is None:
            raise AccessError(result_type.OBJECT_UNDEFINED,
                              f"{logical_name} is not in the {ctx.association_name} object list")
        if obj.class_id != class_id:
            raise AccessError(result_type.OBJECT_CLASS_INCONSISTENT,
                              f"{logical_name} is class {obj.class_id}, not {class_id}")
        return obj, self._enforced.get(ctx.association_name, {}).get(logical_name, rights)

    def _attribute_mode(self, ctx: AccessContext, obj: CosemObject, rights: ObjectRights,
                        attr: int) -> AttributeAccessMode:
        if not 1 <= attr <= obj.attribute_count:
            raise AccessError(DataAccessResult.OBJECT_UNDEFINED,
                              f"class {obj.class_id} has no attribute {attr}")
        mode = rights.attribute(attr)
        if mode in _AUTH_ATTRIBUTE and not ctx.authenticated:
            return AttributeAccessMode.NO_ACCESS
        return mode

    def get(self, ctx: AccessContext, class_id: int, logical_name: Obis | str, attr: int,
            selection: SelectiveAccessDescriptor | None = None) -> Data:
        """GET one attribute; AccessError(DataAccessResult) when refused."""
        obj, rights = self._lookup(ctx, class_id, Obis.parse(logical_name), DataAccessResult)
        if not self._attribute_mode(ctx, obj, rights, attr).readable:
            raise AccessError(DataAccessResult.READ_WRITE_DENIED,
                              f"{ctx.association_name} may not read attribute {attr}")
        return obj.get(attr, selection, ctx)

    def set(self, ctx: AccessContext, class_id: int, logical_name: Obis | str, attr: int,
            value: Data) -> None:
        """SET one attribute; AccessError(DataAccessResult) when refused."""
        obj, rights = self._lookup(ctx, class_id, Obis.parse(logical_name), DataAccessResult)
        if not self._attribute_mode(ctx, obj, rights, attr).writable:
            raise AccessError(DataAccessResult.READ_WRITE_DENIED,
                              f"{ctx.association_name} may not write attribute {attr}")
        obj.set(attr, value, ctx)
        if self.after_set is not None:
            self.after_set(ctx, obj, attr)

    def action(self, ctx: AccessContext, class_id: int, logical_name: Obis | str, method: int,
               params: Data | None = None) -> Data | None:
        """ACTION on one method; AccessError(ActionResult) when refused."""
        obj, rights = self._lookup(ctx, class_id, Obis.parse(logical_name), ActionResult)
        if not 1 <= method <= obj.method_count:
            raise AccessError(ActionResult.OBJECT_UNDEFINED,
                              f"class {obj.class_id} has no method {method}")
        mode = rights.method(method)
        if mode == MethodAccessMode.NO_ACCESS or (
                mode == MethodAccessMode.AUTHENTICATED_ACCESS and not ctx.authenticated):
            raise AccessError(ActionResult.READ_WRITE_DENIED,
                              f"{ctx.association_name} may not invoke method {method}")
        return obj.action(method, params, ctx)


def _object_list_element(obj: CosemObject, rights: ObjectRights) -> Data:
    # access_rights: {array of attribute_access_item {integer attribute_id, enum access_mode,
    # access_selectors CHOICE {null-data, array of integer}}, array of method_access_item
    # {integer method_id, enum access_mode}} (Association LN version 1).
    attributes = []
    for i in range(1, obj.attribute_count + 1):
        mode = rights.attribute(i)
        selectors = obj.access_selectors(i) if mode.readable else ()
        attributes.append(Data(DataTag.STRUCTURE, (
            Data(DataTag.INTEGER, i), Data(DataTag.ENUM, int(mode)),
            Data(DataTag.ARRAY, tuple(Data(DataTag.INTEGER, s) for s in selectors))
            if selectors else NULL)))
    methods = tuple(Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, i),
                                             Data(DataTag.ENUM, int(rights.method(i)))))
                    for i in range(1, obj.method_count + 1))
    return Data(DataTag.STRUCTURE, (
        Data(DataTag.LONG_UNSIGNED, obj.class_id), Data(DataTag.UNSIGNED, obj.version),
        obis_data(obj.logical_name),
        Data(DataTag.STRUCTURE, (Data(DataTag.ARRAY, tuple(attributes)),
                                 Data(DataTag.ARRAY, methods)))))


class PhysicalDevice:
    """One meter: logical devices by address (1 = management LD), the HDLC physical address
    and the serial number. ``model`` is the live meter model that feeds the objects (or None).

    Not thread-safe: a server with several clients serialises the requests to one meter (one
    lock around ``get``/``set``/``action``), as the objects and the model keep state."""

    def __init__(self, logical_devices: Mapping[int, LogicalDevice], *, serial: str,
                 physical_address: int = 256, model: Any = None) -> None:
        self.logical_devices = dict(logical_devices)
        self.serial = serial
        self.physical_address = physical_address
        self.model = model

    def __repr__(self) -> str:
        return f"PhysicalDevice(serial={self.serial!r}, LDs={sorted(self.logical_devices)})"

    def logical_device(self, address: int) -> LogicalDevice | None:
        return self.logical_devices.get(address)

    @property
    def management(self) -> LogicalDevice:
        return self.logical_devices[1]


def __getattr__(name: str) -> Any:
    # build_meter lives in builder.py (it imports this module).
    if name == "build_meter":
        from .builder import build_meter
        return build_meter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
