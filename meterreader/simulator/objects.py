"""Server-side COSEM objects of the meter simulator (DLMS UA Blue Book interface classes).

Each object answers ``get(attr, selection, ctx) -> Data``, ``set(attr, value, ctx)`` and
``action(method, params, ctx) -> Data | None`` and refuses with :class:`AccessError` carrying the
Data-Access-Result (GET/SET) or Action-Result (ACTION). The *association's* access rights are
checked by :class:`~meterreader.simulator.device.LogicalDevice` before an object is called; the
object itself only checks that the attribute/method exists and that values have the right type.

Dispatch is by dict: ``_GETTERS``/``_SETTERS``/``_METHODS`` map an attribute or method index to
the name of the handler. Attribute 1 (logical_name) is answered by the base class.

This module holds the base class and the value classes (Data, Register, Extended register,
Demand register); ``objects_misc`` has Script table, SAP assignment, Single action schedule and a
generic store for other classes; Clock, Association LN and Profile generic have modules of their
own.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Mapping, Union

from meterreader.cosem.interface_classes import Unit, interface_class
from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import CosemDateTime
from meterreader.dlms.xdlms.common import ActionResult, DataAccessResult, SelectiveAccessDescriptor

#: A value held by an object: a fixed ``Data`` or a callable computing it on each read.
Value = Union[Data, Callable[[], Data]]
Result = Union[DataAccessResult, ActionResult]

NULL = Data(DataTag.NULL_DATA)
_INT_TAGS = frozenset({DataTag.DOUBLE_LONG, DataTag.DOUBLE_LONG_UNSIGNED, DataTag.INTEGER,
                       DataTag.LONG, DataTag.UNSIGNED, DataTag.LONG_UNSIGNED, DataTag.LONG64,
                       DataTag.LONG64_UNSIGNED, DataTag.ENUM, DataTag.BCD})
_FLOAT_TAGS = frozenset({DataTag.FLOAT32, DataTag.FLOAT64, DataTag.FLOATING_POINT})


class AccessError(Exception):
    """A GET/SET/ACTION refused with ``result`` (a DataAccessResult or an ActionResult)."""

    def __init__(self, result: Result, message: str = "") -> None:
        self.result = result
        self.message = message or result.describe()
        super().__init__(f"{result.name}: {self.message}")

    def as_action(self) -> AccessError:
        """The same refusal with the ActionResult of the same value (for ACTION services)."""
        if isinstance(self.result, ActionResult):
            return self
        try:
            return AccessError(ActionResult(int(self.result)), self.message)
        except ValueError:
            return AccessError(ActionResult.OTHER_REASON, self.message)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessContext:
    """Who is asking: the association (``"PC"``, ``"MR"``, ``"US"`` …), the client SAP, and
    whether the request was authenticated (HLS passed and/or the APDU authenticated)."""

    association_name: str
    client_sap: int
    authenticated: bool = False


# -- Data helpers -------------------------------------------------------------------------------

def resolve(value: Value) -> Data:
    """The current ``Data`` of a fixed or computed value."""
    return value() if callable(value) else value


def octets(raw: bytes) -> Data:
    return Data(DataTag.OCTET_STRING, bytes(raw))


def obis_data(name: Obis) -> Data:
    return Data(DataTag.OCTET_STRING, bytes(name))


def date_time_data(value: CosemDateTime) -> Data:
    """A date-time attribute as the Blue Book types it: octet-string (12)."""
    return Data(DataTag.OCTET_STRING, bytes(value))


def scaler_unit_data(scaler: int, unit: int) -> Data:
    """scal_unit_type: structure {integer scaler, enum unit}."""
    return Data(DataTag.STRUCTURE, (Data(DataTag.INTEGER, scaler), Data(DataTag.ENUM, int(unit))))


def zero_like(value: Data) -> Data:
    """A zero of the same numeric type (null-data for other types)."""
    if value.tag in _INT_TAGS:
        return Data(value.tag, 0)
    if value.tag in _FLOAT_TAGS:
        return Data(value.tag, 0.0)
    return NULL


def expect(value: Any, *tags: DataTag, result: Result = DataAccessResult.TYPE_UNMATCHED) -> Data:
    """``value`` if it is a ``Data`` with one of ``tags``, else AccessError(TYPE_UNMATCHED)."""
    if not isinstance(value, Data) or value.tag not in tags:
        got = value.tag.name if isinstance(value, Data) else type(value).__name__
        raise AccessError(result, f"expected {' or '.join(t.name for t in tags)}, got {got}")
    return value


def expect_structure(value: Any, *tags: DataTag | None,
                     result: Result = DataAccessResult.TYPE_UNMATCHED) -> tuple[Data, ...]:
    """The elements of a structure with exactly these element tags (None = any)."""
    items = expect(value, DataTag.STRUCTURE, result=result).value
    if len(items) != len(tags) or any(
            t is not None and (not isinstance(i, Data) or i.tag != t) for i, t in zip(items, tags)):
        raise AccessError(result, f"expected a structure of {len(tags)} typed elements")
    return items


def parse_date_time(value: Data, result: Result = DataAccessResult.TYPE_UNMATCHED
                    ) -> CosemDateTime:
    """A date-time sent as ``date-time`` (tag 25) or as a 12-byte octet-string."""
    if isinstance(value, Data) and value.tag == DataTag.DATE_TIME:
        return value.value
    if isinstance(value, Data) and value.tag == DataTag.OCTET_STRING and len(value.value) == 12:
        return CosemDateTime.from_bytes(value.value)
    raise AccessError(result, "expected a date-time (octet-string of 12 bytes)")


# -- base class ---------------------------------------------------------------------------------

class CosemObject:
    """Base of the server objects: logical name, class/version, dispatch of get/set/action.

    ``device`` is set by :meth:`bind` when the object is added to a logical device; objects that
    need other objects (a profile capturing registers, the clock) reach them through it.
    """

    class_id: ClassVar[int] = 0
    version: ClassVar[int] = 0
    _GETTERS: ClassVar[dict[int, str]] = {}
    _SETTERS: ClassVar[dict[int, str]] = {}
    _METHODS: ClassVar[dict[int, str]] = {}
    #: attribute index -> access selectors it supports (listed in the Association LN object_list)
    _SELECTORS: ClassVar[dict[int, tuple[int, ...]]] = {}
    #: attribute index -> ``fn(value, selection) -> value`` applied to every GET answer of that
    #: attribute (none by default; the defect switches of :mod:`.defects` set it per object).
    get_filters: Mapping[int, Callable[[Data, Any], Data]] = MappingProxyType({})

    def __init__(self, logical_name: Obis | str) -> None:
        self.logical_name = Obis.parse(logical_name)
        self.device: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.logical_name)!r})"

    def bind(self, device: Any) -> None:
        """Called by the logical device that hosts this object."""
        self.device = device

    @property
    def attribute_count(self) -> int:
        """Number of attributes of the class at this version (from the Blue Book tables)."""
        ic = interface_class(self.class_id, self.version)
        return len(ic.attributes) if ic is not None else max((1, *self._GETTERS))

    @property
    def method_count(self) -> int:
        ic = interface_class(self.class_id, self.version)
        return len(ic.methods) if ic is not None else max((0, *self._METHODS))

    def access_selectors(self, attr: int) -> tuple[int, ...]:
        """The selective access selectors supported by attribute ``attr`` (empty: none)."""
        return self._SELECTORS.get(attr, ())

    def _missing(self, index: int, count: int, result_type: type) -> AccessError:
        if 1 <= index <= count:
            return AccessError(result_type.OBJECT_UNAVAILABLE,
                               f"{type(self).__name__} does not implement #{index}")
        return AccessError(result_type.OBJECT_UNDEFINED, f"no #{index} in class {self.class_id}")

    def get(self, attr: int, selection: SelectiveAccessDescriptor | None = None,
            ctx: AccessContext | None = None) -> Data:
        """The value of attribute ``attr``; AccessError(DataAccessResult) when refused."""
        if selection is not None and selection.access_selector not in self.access_selectors(attr):
            raise AccessError(DataAccessResult.SCOPE_OF_ACCESS_VIOLATED,
                              f"attribute {attr} has no access selector "
                              f"{selection.access_selector}")
        if attr == 1:
            return obis_data(self.logical_name)
        name = self._GETTERS.get(attr)
        if name is None:
            raise self._missing(attr, self.attribute_count, DataAccessResult)
        value = getattr(self, name)(selection, ctx)
        rework = self.get_filters.get(attr)
        return value if rework is None else rework(value, selection)

    def set(self, attr: int, value: Data, ctx: AccessContext | None = None) -> None:
        """Write attribute ``attr``; AccessError(DataAccessResult) when refused."""
        name = self._SETTERS.get(attr)
        if name is None:
            if 1 <= attr <= self.attribute_count:
                raise AccessError(DataAccessResult.READ_WRITE_DENIED,
                                  f"attribute {attr} of {self} cannot be written")
            raise self._missing(attr, self.attribute_count, DataAccessResult)
        getattr(self, name)(value, ctx)

    def action(self, method: int, params: Data | None = None,
               ctx: AccessContext | None = None) -> Data | None:
        """Invoke ``method``; returns the return parameters (or None). AccessError(ActionResult)."""
        name = self._METHODS.get(method)
        if name is None:
            raise self._missing(method, self.method_count, ActionResult)
        try:
            return getattr(self, name)(params, ctx)
        except AccessError as exc:
            raise exc.as_action() from None

    # -- shared helpers --

    def _clock_now_data(self) -> Data:
        clock = getattr(self.device, "clock", None)
        return date_time_data(clock.cosem_now()) if clock is not None else NULL


def _check_zero_param(params: Data | None) -> None:
    # Blue Book: methods documented with "data ::= integer (0)" take an integer 0 parameter;
    # clients also send null-data, accept both.
    if params is not None and params.tag not in (DataTag.INTEGER, DataTag.NULL_DATA):
        raise AccessError(ActionResult.TYPE_UNMATCHED, "expected integer (0)")


def _same_type_setter(current: Value, value: Data) -> Data:
    """Check ``value`` against a static current value's type (any type if current is null)."""
    if callable(current):
        raise AccessError(DataAccessResult.READ_WRITE_DENIED, "a measured value cannot be set")
    if not isinstance(value, Data):
        raise AccessError(DataAccessResult.TYPE_UNMATCHED, "expected Data")
    if current.tag != DataTag.NULL_DATA and value.tag != current.tag:
        raise AccessError(DataAccessResult.TYPE_UNMATCHED,
                          f"expected {current.tag.name}, got {value.tag.name}")
    return value


# -- IC 1 Data ---------------------------------------------------------------------------------

class DataObject(CosemObject):
    """IC 1 Data: attribute 2 ``value`` (fixed or computed). SET keeps the type; ``on_set`` is
    called with the new value."""

    class_id = 1
    version = 0
    _GETTERS = {2: "_get_value"}
    _SETTERS = {2: "_set_value"}

    def __init__(self, logical_name: Obis | str, value: Value = NULL, *,
                 on_set: Callable[[Data], None] | None = None) -> None:
        super().__init__(logical_name)
        self.value = value
        self.on_set = on_set

    def _get_value(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.value)

    def _set_value(self, value: Data, ctx: Any) -> None:
        if callable(self.value):
            # A computed value accepts a SET only when on_set stores it somewhere.
            if self.on_set is None:
                raise AccessError(DataAccessResult.READ_WRITE_DENIED, "a measured value")
            _same_type_setter(resolve(self.value), value)
        else:
            self.value = _same_type_setter(self.value, value)
        if self.on_set is not None:
            self.on_set(value)


# -- IC 3/4/5 registers -------------------------------------------------------------------------

class Register(CosemObject):
    """IC 3 Register: ``value`` (fixed or computed) and ``scaler_unit``; method 1 reset.

    A computed value cannot be SET; its reset calls ``on_reset`` (OBJECT_UNAVAILABLE without)."""

    class_id = 3
    version = 0
    _GETTERS = {2: "_get_value", 3: "_get_scaler_unit"}
    _SETTERS = {2: "_set_value"}
    _METHODS = {1: "_reset"}

    def __init__(self, logical_name: Obis | str, value: Value, *, scaler: int = 0,
                 unit: int = Unit.COUNT, on_reset: Callable[[], None] | None = None) -> None:
        super().__init__(logical_name)
        self.value = value
        self.scaler = scaler
        self.unit = int(unit)
        self.on_reset = on_reset

    def _get_value(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.value)

    def _get_scaler_unit(self, selection: Any, ctx: Any) -> Data:
        return scaler_unit_data(self.scaler, self.unit)

    def _set_value(self, value: Data, ctx: Any) -> None:
        self.value = _same_type_setter(self.value, value)

    def _reset(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        if self.on_reset is not None:
            self.on_reset()
        elif callable(self.value):
            raise AccessError(ActionResult.OBJECT_UNAVAILABLE, "this register cannot be reset")
        else:
            self.value = zero_like(self.value)


class ExtendedRegister(Register):
    """IC 4 Extended register: Register + ``status`` (4) and ``capture_time`` (5)."""

    class_id = 4
    _GETTERS = {**Register._GETTERS, 4: "_get_status", 5: "_get_capture_time"}

    def __init__(self, logical_name: Obis | str, value: Value, *, scaler: int = 0,
                 unit: int = Unit.COUNT, status: Value = NULL, capture_time: Value = NULL,
                 on_reset: Callable[[], None] | None = None) -> None:
        super().__init__(logical_name, value, scaler=scaler, unit=unit, on_reset=on_reset)
        self.status = status
        self.capture_time = capture_time

    def _get_status(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.status)

    def _get_capture_time(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.capture_time)

    def _reset(self, params: Data | None, ctx: Any) -> None:
        super()._reset(params, ctx)
        if not callable(self.capture_time):
            self.capture_time = self._clock_now_data()


class DemandRegister(CosemObject):
    """IC 5 Demand register (kept simple: values are fixed or computed, no own integration)."""

    class_id = 5
    version = 0
    _GETTERS = {2: "_get_current", 3: "_get_last", 4: "_get_scaler_unit", 5: "_get_status",
                6: "_get_capture_time", 7: "_get_start_time", 8: "_get_period",
                9: "_get_number_of_periods"}
    _SETTERS = {8: "_set_period", 9: "_set_number_of_periods"}
    _METHODS = {1: "_reset", 2: "_next_period"}

    def __init__(self, logical_name: Obis | str, current: Value, last: Value, *, scaler: int = 0,
                 unit: int = Unit.COUNT, status: Value = NULL, capture_time: Value = NULL,
                 start_time_current: Value = NULL, period: int = 900,
                 number_of_periods: int = 1) -> None:
        super().__init__(logical_name)
        self.current, self.last = current, last
        self.scaler, self.unit = scaler, int(unit)
        self.status, self.capture_time, self.start_time_current = (
            status, capture_time, start_time_current)
        self.period, self.number_of_periods = period, number_of_periods

    def _get_current(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.current)

    def _get_last(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.last)

    def _get_scaler_unit(self, selection: Any, ctx: Any) -> Data:
        return scaler_unit_data(self.scaler, self.unit)

    def _get_status(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.status)

    def _get_capture_time(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.capture_time)

    def _get_start_time(self, selection: Any, ctx: Any) -> Data:
        return resolve(self.start_time_current)

    def _get_period(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.DOUBLE_LONG_UNSIGNED, self.period)

    def _get_number_of_periods(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.LONG_UNSIGNED, self.number_of_periods)

    def _set_period(self, value: Data, ctx: Any) -> None:
        self.period = expect(value, DataTag.DOUBLE_LONG_UNSIGNED).value

    def _set_number_of_periods(self, value: Data, ctx: Any) -> None:
        self.number_of_periods = expect(value, DataTag.LONG_UNSIGNED).value

    def _reset(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        for name in ("current", "last"):
            value = getattr(self, name)
            if not callable(value):
                setattr(self, name, zero_like(value))
        if not callable(self.capture_time):
            self.capture_time = self._clock_now_data()

    def _next_period(self, params: Data | None, ctx: Any) -> None:
        _check_zero_param(params)
        if not callable(self.last) and not callable(self.current):
            self.last, self.current = self.current, zero_like(self.current)
        if not callable(self.start_time_current):
            self.start_time_current = self._clock_now_data()
