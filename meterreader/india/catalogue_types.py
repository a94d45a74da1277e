"""Record types of the IS 15959 object catalogue, and the builder that fills in access rights.

Access rights are stored per association name ("PC", "MR", "US") as attribute index → access
string: ``"r"``, ``"w"``, ``"rw"`` or ``"-"`` (listed but no access). An association that is not a
key of ``access`` does not have the object in its object_list at all. Method rights are the method
indices each association may invoke. The builder :func:`object_def` derives them from a default
per class (meter reader and utility settings read every attribute; the public client sees nothing)
plus the few overrides an object needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum, unique
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from meterreader.cosem.interface_classes import (
    AttributeAccessMode, SortMethod, Unit, default_version, interface_class,
)
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import DataTag
from meterreader.dlms.errors import LocalProtocolError


@unique
class MeterCategory(StrEnum):
    """IS 15959 Part 1 meter categories (the seed paper's grouping)."""

    A = "A"
    B = "B"
    C = "C"

    @property
    def description(self) -> str:
        return _CATEGORY_TEXT[self]

    @classmethod
    def parse(cls, text: "str | MeterCategory") -> "MeterCategory":
        """``"a"``, ``"B"``, ``" c "`` → the category; raises LocalProtocolError otherwise."""
        if isinstance(text, MeterCategory):
            return text
        if isinstance(text, str) and text.strip().upper() in cls.__members__:
            return cls[text.strip().upper()]
        raise LocalProtocolError(f"no IS 15959 meter category {text!r}; expected A, B or C")


_CATEGORY_TEXT = {
    MeterCategory.A: ("Sub-station feeders and distribution transformer centres — energy "
                      "accounting and audit"),
    MeterCategory.B: ("Meter banks and network boundaries — import/export, ABT (availability "
                      "based tariff)"),
    MeterCategory.C: ("HT (PT/CT operated) and LT (CT operated) consumers — import/export "
                      "energy"),
}

#: The value kinds an ObjectDef may carry (what the simulator generates for attribute 2).
VALUE_KINDS = frozenset({
    "datetime", "voltage", "current", "frequency", "pf", "power", "energy", "md", "count",
    "duration", "text", "code", "ratio", "year", "event_code", "period", "profile",
    "scaler_profile", "association", "sap", "script", "schedule", "calendar",
})

ACCESS_STRINGS = frozenset({"-", "r", "w", "rw"})
_ACCESS_MODE = {"-": AttributeAccessMode.NO_ACCESS, "r": AttributeAccessMode.READ_ONLY,
                "w": AttributeAccessMode.WRITE_ONLY, "rw": AttributeAccessMode.READ_WRITE}

AccessTable = Mapping[str, Mapping[int, str]]
MethodTable = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectDef:
    """One COSEM object an IS 15959 meter of a category has.

    ``unit``/``scaler`` are the scaler_unit (attribute 3) of registers, None for other classes.
    ``value_type`` is the usual A-XDR type of attribute 2 (the meter's own answer wins).
    ``access``/``methods`` are per association name (see the module docstring); they do not
    take part in hashing.
    """

    class_id: int
    obis: Obis
    version: int
    name: str
    value_kind: str
    unit: Unit | None = None
    scaler: int | None = None
    value_type: DataTag | None = None
    access: AccessTable = field(default_factory=lambda: MappingProxyType({}), hash=False)
    methods: MethodTable = field(default_factory=lambda: MappingProxyType({}), hash=False)
    mandatory: bool = True

    # ``association`` below is a name ("MR", "mr") or anything with a ``name`` (AssociationDef).

    def visible_in(self, association: Any) -> bool:
        """True when the object is in that association's object_list."""
        return _assoc(association) in self.access

    def attribute_access(self, association: Any, attribute: int) -> str:
        """Access string of one attribute for one association ("-" when none)."""
        return self.access.get(_assoc(association), {}).get(attribute, "-")

    def attribute_access_mode(self, association: Any, attribute: int) -> AttributeAccessMode:
        """The same as the object_list's attribute_access_mode enum."""
        return _ACCESS_MODE[self.attribute_access(association, attribute)]

    def method_allowed(self, association: Any, method: int) -> bool:
        """True when the association may invoke that method."""
        return method in self.methods.get(_assoc(association), ())


def _assoc(association: Any) -> str:
    name = getattr(association, "name", association)
    return name.strip().upper() if isinstance(name, str) else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureObjectDef:
    """One capture_object_definition: (class_id, logical name, attribute, data_index)."""

    class_id: int
    obis: Obis
    attribute: int = 2
    data_index: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileDef:
    """A profile generic (class 7) with its capture objects.

    ``capture_period`` is in seconds (0 = captured on an event or on demand); ``sort_object`` None
    means unsorted, i.e. FIFO by capture order. ``scaler_profile`` is the scaler profile that
    holds the scaler_unit of this profile's register columns (None for name plate and for scaler
    profiles themselves).
    """

    obis: Obis
    name: str
    capture_objects: tuple[CaptureObjectDef, ...]
    scaler_profile: Obis | None
    capture_period: int
    profile_entries: int
    sort_method: SortMethod = SortMethod.FIFO
    sort_object: CaptureObjectDef | None = None
    mandatory: bool = True

    @property
    def is_scaler_profile(self) -> bool:
        return bool(self.capture_objects) and all(c.attribute == 3 for c in self.capture_objects)


# --- builder ------------------------------------------------------------------------------------

def _attribute_count(class_id: int, version: int) -> int:
    ic = interface_class(class_id, version)
    if ic is None:
        raise LocalProtocolError(f"no interface class table for class {class_id} v{version}")
    return len(ic.attributes)


def object_def(class_id: int, obis: str | Obis, name: str, value_kind: str, *,
               unit: Unit | None = None, scaler: int | None = None,
               value_type: DataTag | None = None, version: int | None = None,
               pc: Iterable[int] | bool = False, us_write: Iterable[int] = (),
               visible: Iterable[str] | None = None,
               access: Mapping[str, Mapping[int, str]] | None = None,
               methods: Mapping[str, Iterable[int]] | None = None,
               mandatory: bool = True) -> ObjectDef:
    """Build an ObjectDef from the class default plus overrides.

    Default: MR and US read every attribute, PC does not see the object. ``pc=True`` lets PC read
    every attribute, ``pc=(1, 2)`` only those. ``visible=("MR",)`` replaces the default set of
    associations that read every attribute. ``us_write`` makes attributes read-write for US.
    ``access`` entries replace single attributes afterwards (``{"US": {7: "w"}}``); a mapping
    given for an association not yet visible makes it visible with just those attributes.
    """
    if value_kind not in VALUE_KINDS:
        raise LocalProtocolError(f"unknown value kind {value_kind!r}")
    if version is None:
        version = default_version(class_id)
        if version is None:
            raise LocalProtocolError(f"no interface class table for class {class_id}")
    n = _attribute_count(class_id, version)
    read_all = {i: "r" for i in range(1, n + 1)}
    table: dict[str, dict[int, str]] = {
        a: dict(read_all) for a in (("MR", "US") if visible is None else visible)}
    if pc is True:
        table["PC"] = dict(read_all)
    elif pc:
        table["PC"] = {i: "r" for i in pc}
    for i in us_write:
        table.setdefault("US", {})[i] = "rw"
    for assoc, attrs in (access or {}).items():
        table.setdefault(assoc, {}).update(attrs)
    for attrs in table.values():
        bad = [(i, m) for i, m in attrs.items() if m not in ACCESS_STRINGS or not 1 <= i <= n]
        if bad:
            raise LocalProtocolError(f"{obis}: bad access entries {bad}")
    ordered = {a: table[a] for a in ("PC", "MR", "US") if a in table}
    return ObjectDef(
        class_id=class_id, obis=Obis.parse(obis), version=version, name=name,
        value_kind=value_kind, unit=unit, scaler=scaler, value_type=value_type,
        access=MappingProxyType({a: MappingProxyType(dict(sorted(t.items())))
                                 for a, t in ordered.items()}),
        methods=MappingProxyType({a: tuple(sorted(m)) for a, m in (methods or {}).items()}),
        mandatory=mandatory)


def capture(class_id: int, obis: str | Obis, attribute: int = 2,
            data_index: int = 0) -> CaptureObjectDef:
    """Shorthand for a CaptureObjectDef."""
    return CaptureObjectDef(class_id=class_id, obis=Obis.parse(obis), attribute=attribute,
                            data_index=data_index)
