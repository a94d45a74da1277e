"""COSEM interface classes: attribute/method tables, units and access-right enums (Blue Book).

The tables themselves are plain data in :mod:`meterreader.cosem.ic_tables`; this module turns them
into frozen :class:`InterfaceClass` records and offers look-ups that never fail for display:
``attribute_name(3, 9)`` answers ``"attribute 9"`` rather than raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from types import MappingProxyType
from typing import Mapping

from meterreader.cosem import ic_tables


@unique
class AttributeAccessMode(IntEnum):
    """attribute_access_mode of an Association LN object_list entry (versions 1 and 2)."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3
    AUTHENTICATED_READ_ONLY = 4
    AUTHENTICATED_WRITE_ONLY = 5
    AUTHENTICATED_READ_WRITE = 6

    @property
    def text(self) -> str:
        return _ATTRIBUTE_ACCESS_TEXT[self]

    @property
    def readable(self) -> bool:
        return self in _READABLE

    @property
    def writable(self) -> bool:
        return self in _WRITABLE


_ATTRIBUTE_ACCESS_TEXT = {
    AttributeAccessMode.NO_ACCESS: "no access",
    AttributeAccessMode.READ_ONLY: "read-only",
    AttributeAccessMode.WRITE_ONLY: "write-only",
    AttributeAccessMode.READ_WRITE: "read-write",
    AttributeAccessMode.AUTHENTICATED_READ_ONLY: "authenticated read-only",
    AttributeAccessMode.AUTHENTICATED_WRITE_ONLY: "authenticated write-only",
    AttributeAccessMode.AUTHENTICATED_READ_WRITE: "authenticated read-write",
}
_READABLE = frozenset({AttributeAccessMode.READ_ONLY, AttributeAccessMode.READ_WRITE,
                       AttributeAccessMode.AUTHENTICATED_READ_ONLY,
                       AttributeAccessMode.AUTHENTICATED_READ_WRITE})
_WRITABLE = frozenset({AttributeAccessMode.WRITE_ONLY, AttributeAccessMode.READ_WRITE,
                       AttributeAccessMode.AUTHENTICATED_WRITE_ONLY,
                       AttributeAccessMode.AUTHENTICATED_READ_WRITE})
_ACCESS_CODES = {"-": AttributeAccessMode.NO_ACCESS, "r": AttributeAccessMode.READ_ONLY,
                 "w": AttributeAccessMode.WRITE_ONLY, "rw": AttributeAccessMode.READ_WRITE}


@unique
class MethodAccessMode(IntEnum):
    """method_access_mode of an Association LN object_list entry (versions 1 and 2).

    Association LN version 0 sends a boolean instead; :func:`method_access_text` accepts both.
    """

    NO_ACCESS = 0
    ACCESS = 1
    AUTHENTICATED_ACCESS = 2

    @property
    def text(self) -> str:
        return self.name.lower().replace("_", " ")


def attribute_access_text(value: int) -> str:
    """Readable text of an attribute_access_mode value; unknown values are shown as numbers."""
    try:
        return AttributeAccessMode(value).text
    except ValueError:
        return f"access mode {value}"


def method_access_text(value: int | bool) -> str:
    """Readable text of a method_access_mode (int) or of a version-0 boolean."""
    try:
        return MethodAccessMode(int(value)).text
    except (ValueError, TypeError):
        return f"access mode {value}"


@unique
class SortMethod(IntEnum):
    """Profile generic attribute 5 ``sort_method`` (the Blue Book spells 6 ``farest_from_zero``)."""

    FIFO = 1
    LIFO = 2
    LARGEST = 3
    SMALLEST = 4
    NEAREST_TO_ZERO = 5
    FARTHEST_FROM_ZERO = 6


@unique
class ClockBase(IntEnum):
    """Clock attribute 9 ``clock_base``."""

    NOT_DEFINED = 0
    INTERNAL_CRYSTAL = 1
    MAINS_FREQUENCY_50_HZ = 2
    MAINS_FREQUENCY_60_HZ = 3
    GPS = 4
    RADIO_CONTROLLED = 5


@unique
class AssociationStatus(IntEnum):
    """Association LN attribute 8 ``association_status``."""

    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


@unique
class ControlState(IntEnum):
    """Disconnect control attribute 3 ``control_state``."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


@unique
class ImageTransferStatus(IntEnum):
    """Image transfer attribute 6 ``image_transfer_status``."""

    IMAGE_TRANSFER_NOT_INITIATED = 0
    IMAGE_TRANSFER_INITIATED = 1
    IMAGE_VERIFICATION_INITIATED = 2
    IMAGE_VERIFICATION_SUCCESSFUL = 3
    IMAGE_VERIFICATION_FAILED = 4
    IMAGE_ACTIVATION_INITIATED = 5
    IMAGE_ACTIVATION_SUCCESSFUL = 6
    IMAGE_ACTIVATION_FAILED = 7


@unique
class Unit(IntEnum):
    """The unit enumeration of scal_unit_type (Blue Book unit table)."""

    YEAR = 1
    MONTH = 2
    WEEK = 3
    DAY = 4
    HOUR = 5
    MINUTE = 6
    SECOND = 7
    DEGREE = 8
    DEGREE_CELSIUS = 9
    CURRENCY = 10
    METRE = 11
    METRE_PER_SECOND = 12
    CUBIC_METRE = 13
    CUBIC_METRE_CORRECTED = 14
    CUBIC_METRE_PER_HOUR = 15
    CUBIC_METRE_PER_HOUR_CORRECTED = 16
    CUBIC_METRE_PER_DAY = 17
    CUBIC_METRE_PER_DAY_CORRECTED = 18
    LITRE = 19
    KILOGRAM = 20
    NEWTON = 21
    NEWTON_METRE = 22
    PASCAL = 23
    BAR = 24
    JOULE = 25
    JOULE_PER_HOUR = 26
    WATT = 27
    VOLT_AMPERE = 28
    VAR = 29
    WATT_HOUR = 30
    VOLT_AMPERE_HOUR = 31
    VAR_HOUR = 32
    AMPERE = 33
    COULOMB = 34
    VOLT = 35
    VOLT_PER_METRE = 36
    FARAD = 37
    OHM = 38
    OHM_SQUARE_METRE_PER_METRE = 39
    WEBER = 40
    TESLA = 41
    AMPERE_PER_METRE = 42
    HENRY = 43
    HERTZ = 44
    ACTIVE_ENERGY_METER_CONSTANT = 45
    REACTIVE_ENERGY_METER_CONSTANT = 46
    APPARENT_ENERGY_METER_CONSTANT = 47
    VOLT_SQUARED_HOUR = 48
    AMPERE_SQUARED_HOUR = 49
    KILOGRAM_PER_SECOND = 50
    SIEMENS = 51
    KELVIN = 52
    VOLT_SQUARED_HOUR_METER_CONSTANT = 53
    AMPERE_SQUARED_HOUR_METER_CONSTANT = 54
    VOLUME_METER_CONSTANT = 55
    PERCENT = 56
    AMPERE_HOUR = 57
    WATT_HOUR_PER_CUBIC_METRE = 60
    JOULE_PER_CUBIC_METRE = 61
    MOLE_PERCENT = 62
    GRAM_PER_CUBIC_METRE = 63
    PASCAL_SECOND = 64
    JOULE_PER_KILOGRAM = 65
    DECIBEL_MILLIWATT = 70
    DECIBEL_MICROVOLT = 71
    DECIBEL = 72
    OTHER = 254
    COUNT = 255

    @property
    def symbol(self) -> str:
        return _UNIT_SYMBOLS[self]


_UNIT_SYMBOLS: dict[Unit, str] = {
    Unit.YEAR: "a", Unit.MONTH: "mo", Unit.WEEK: "wk", Unit.DAY: "d", Unit.HOUR: "h",
    Unit.MINUTE: "min", Unit.SECOND: "s", Unit.DEGREE: "°", Unit.DEGREE_CELSIUS: "°C",
    Unit.CURRENCY: "currency", Unit.METRE: "m", Unit.METRE_PER_SECOND: "m/s",
    Unit.CUBIC_METRE: "m³", Unit.CUBIC_METRE_CORRECTED: "m³", Unit.CUBIC_METRE_PER_HOUR: "m³/h",
    Unit.CUBIC_METRE_PER_HOUR_CORRECTED: "m³/h", Unit.CUBIC_METRE_PER_DAY: "m³/d",
    Unit.CUBIC_METRE_PER_DAY_CORRECTED: "m³/d", Unit.LITRE: "l", Unit.KILOGRAM: "kg",
    Unit.NEWTON: "N", Unit.NEWTON_METRE: "Nm", Unit.PASCAL: "Pa", Unit.BAR: "bar",
    Unit.JOULE: "J", Unit.JOULE_PER_HOUR: "J/h", Unit.WATT: "W", Unit.VOLT_AMPERE: "VA",
    Unit.VAR: "var", Unit.WATT_HOUR: "Wh", Unit.VOLT_AMPERE_HOUR: "VAh", Unit.VAR_HOUR: "varh",
    Unit.AMPERE: "A", Unit.COULOMB: "C", Unit.VOLT: "V", Unit.VOLT_PER_METRE: "V/m",
    Unit.FARAD: "F", Unit.OHM: "Ω", Unit.OHM_SQUARE_METRE_PER_METRE: "Ωm²/m", Unit.WEBER: "Wb",
    Unit.TESLA: "T", Unit.AMPERE_PER_METRE: "A/m", Unit.HENRY: "H", Unit.HERTZ: "Hz",
    Unit.ACTIVE_ENERGY_METER_CONSTANT: "1/(Wh)", Unit.REACTIVE_ENERGY_METER_CONSTANT: "1/(varh)",
    Unit.APPARENT_ENERGY_METER_CONSTANT: "1/(VAh)", Unit.VOLT_SQUARED_HOUR: "V²h",
    Unit.AMPERE_SQUARED_HOUR: "A²h", Unit.KILOGRAM_PER_SECOND: "kg/s", Unit.SIEMENS: "S",
    Unit.KELVIN: "K", Unit.VOLT_SQUARED_HOUR_METER_CONSTANT: "1/(V²h)",
    Unit.AMPERE_SQUARED_HOUR_METER_CONSTANT: "1/(A²h)", Unit.VOLUME_METER_CONSTANT: "1/m³",
    Unit.PERCENT: "%", Unit.AMPERE_HOUR: "Ah", Unit.WATT_HOUR_PER_CUBIC_METRE: "Wh/m³",
    Unit.JOULE_PER_CUBIC_METRE: "J/m³", Unit.MOLE_PERCENT: "Mol %",
    Unit.GRAM_PER_CUBIC_METRE: "g/m³", Unit.PASCAL_SECOND: "Pa s", Unit.JOULE_PER_KILOGRAM: "J/kg",
    Unit.DECIBEL_MILLIWATT: "dBm", Unit.DECIBEL_MICROVOLT: "dBµV", Unit.DECIBEL: "dB",
    Unit.OTHER: "other", Unit.COUNT: "count",
}


def unit_symbol(code: int) -> str:
    """Symbol of a Blue Book unit code (``30`` → ``"Wh"``); unknown codes give ``"unit <n>"``.

    254 is ``"other"`` and 255 ``"count"`` (no unit): callers that print a value next to its unit
    may want to drop the latter.
    """
    try:
        return Unit(code).symbol
    except ValueError:
        return f"unit {code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeDef:
    """One attribute of an interface class.

    ``access_hint`` is the access a reading client usually gets; the meter's Association LN
    object_list is authoritative. ``dynamic`` is the Blue Book's "dyn." mark (else static).
    """

    index: int
    name: str
    type_hint: str
    access_hint: AttributeAccessMode
    dynamic: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodDef:
    """One method of an interface class."""

    index: int
    name: str
    params_hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceClass:
    """An interface class at one version: its attributes (from 1) and methods (from 1)."""

    class_id: int
    version: int
    name: str
    attributes: tuple[AttributeDef, ...]
    methods: tuple[MethodDef, ...]

    def attribute(self, index: int) -> AttributeDef | None:
        """The attribute with this index, or None."""
        return self.attributes[index - 1] if 1 <= index <= len(self.attributes) else None

    def method(self, index: int) -> MethodDef | None:
        """The method with this index, or None."""
        return self.methods[index - 1] if 1 <= index <= len(self.methods) else None


_LOGICAL_NAME: ic_tables.AttrRow = ("logical_name", "octet-string[6] (OBIS)", "r", "s")


def _build(key: tuple[int, int], row: ic_tables.ClassRow) -> InterfaceClass:
    name, attrs, methods = row
    return InterfaceClass(
        class_id=key[0], version=key[1], name=name,
        attributes=tuple(
            AttributeDef(index=i, name=a_name, type_hint=type_hint,
                         access_hint=_ACCESS_CODES[access], dynamic=kind == "d")
            for i, (a_name, type_hint, access, kind) in enumerate((_LOGICAL_NAME, *attrs), 1)),
        methods=tuple(MethodDef(index=i, name=m_name, params_hint=params)
                      for i, (m_name, params) in enumerate(methods, 1)),
    )


_CLASSES: Mapping[tuple[int, int], InterfaceClass] = MappingProxyType(
    {key: _build(key, row) for key, row in ic_tables.CLASSES.items()})
_VERSIONS: dict[int, tuple[int, ...]] = {
    cid: tuple(v for c, v in sorted(_CLASSES) if c == cid) for cid, _ in _CLASSES}


def default_version(class_id: int) -> int | None:
    """The version assumed when none is given (the one IS 15959 meters usually report)."""
    versions = _VERSIONS.get(class_id)
    if versions is None:
        return None
    return ic_tables.DEFAULT_VERSIONS.get(class_id, versions[0])


def known_versions(class_id: int) -> tuple[int, ...]:
    """Versions of ``class_id`` that have a table here (empty if the class is unknown)."""
    return _VERSIONS.get(class_id, ())


def interface_class(class_id: int, version: int | None = None) -> InterfaceClass | None:
    """The table of ``class_id`` at ``version`` (default: :func:`default_version`), or None."""
    if version is None:
        version = default_version(class_id)
    return _CLASSES.get((class_id, version))


def all_interface_classes() -> tuple[InterfaceClass, ...]:
    """Every known (class, version) table, sorted by class_id then version."""
    return tuple(_CLASSES[key] for key in sorted(_CLASSES))


def _closest(class_id: int, version: int | None) -> InterfaceClass | None:
    """Exact version, else the highest known version below it, else the default version.

    Later versions of a class mostly append attributes, so this names the common ones correctly
    for a version we have no table for.
    """
    exact = interface_class(class_id, version)
    if exact is not None or version is None:
        return exact
    lower = [v for v in known_versions(class_id) if v < version]
    return interface_class(class_id, lower[-1] if lower else None)


def attribute_name(class_id: int, index: int, version: int | None = None) -> str:
    """Blue Book name of an attribute, falling back to ``"attribute <index>"``."""
    ic = _closest(class_id, version)
    attr = ic.attribute(index) if ic is not None else None
    if attr is None:
        return "logical_name" if index == 1 else f"attribute {index}"
    return attr.name


def method_name(class_id: int, index: int, version: int | None = None) -> str:
    """Blue Book name of a method, falling back to ``"method <index>"``."""
    ic = _closest(class_id, version)
    method = ic.method(index) if ic is not None else None
    return method.name if method is not None else f"method {index}"


def class_name(class_id: int) -> str:
    """Blue Book name of an interface class, falling back to ``"class <id>"``."""
    ic = interface_class(class_id)
    if ic is not None:
        return ic.name
    return ic_tables.OTHER_CLASS_NAMES.get(class_id, f"class {class_id}")
