"""Script table (IC 9), SAP assignment (IC 17), Single action schedule (IC 22) and a generic
attribute store for the other classes a meter lists, for the meter simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from meterreader.cosem.obis import Obis
from meterreader.dlms.axdr import Data, DataTag
from meterreader.dlms.cosem_time import CosemDate, CosemTime
from meterreader.dlms.xdlms.common import ActionResult, DataAccessResult, SelectiveAccessDescriptor

from .objects import (NULL, AccessContext, AccessError, CosemObject, Value, _same_type_setter,
                      expect, expect_structure, obis_data, octets, resolve)


# -- IC 9 Script table ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Script:
    """One script: its action_specifications (as Data structures, shown in attribute 2) and the
    Python callback run on ``execute``."""

    script_id: int
    actions: tuple[Data, ...] = ()
    callback: Callable[[AccessContext | None], None] | None = None


def action_specification(service_id: int, class_id: int, logical_name: Obis | str, index: int,
                         parameter: Data = NULL) -> Data:
    """action_specification: {enum service_id (1 write, 2 execute), long-unsigned class_id,
    octet-string logical_name, integer index, parameter}."""
    return Data(DataTag.STRUCTURE, (
        Data(DataTag.ENUM, service_id), Data(DataTag.LONG_UNSIGNED, class_id),
        obis_data(Obis.parse(logical_name)), Data(DataTag.INTEGER, index), parameter))


class ScriptTable(CosemObject):
    """IC 9 Script table: attribute 2 ``scripts``; method 1 ``execute(long-unsigned id)``."""

    class_id = 9
    version = 0
    _GETTERS = {2: "_get_scripts"}
    _METHODS = {1: "_execute"}

    def __init__(self, logical_name: Obis | str, scripts: Iterable[Script] = ()) -> None:
        super().__init__(logical_name)
        self.scripts = {s.script_id: s for s in scripts}

    def add(self, script: Script) -> None:
        self.scripts[script.script_id] = script

    def _get_scripts(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ARRAY, tuple(
            Data(DataTag.STRUCTURE, (Data(DataTag.LONG_UNSIGNED, s.script_id),
                                     Data(DataTag.ARRAY, s.actions)))
            for s in sorted(self.scripts.values(), key=lambda s: s.script_id)))

    def _execute(self, params: Data | None, ctx: AccessContext | None) -> None:
        script_id = expect(params, DataTag.LONG_UNSIGNED, result=ActionResult.TYPE_UNMATCHED).value
        script = self.scripts.get(script_id)
        if script is None:
            raise AccessError(ActionResult.OBJECT_UNAVAILABLE, f"no script {script_id}")
        if script.callback is not None:
            script.callback(ctx)


# -- IC 17 SAP assignment -----------------------------------------------------------------------

class SapAssignment(CosemObject):
    """IC 17 SAP assignment: attribute 2 SAP_assignment_list = array of
    {long-unsigned SAP, octet-string logical_device_name}."""

    class_id = 17
    version = 0
    _GETTERS = {2: "_get_list"}

    def __init__(self, logical_name: Obis | str = "0.0.41.0.0.255",
                 assignments: Iterable[tuple[int, bytes]] = ()) -> None:
        super().__init__(logical_name)
        self.assignments = tuple((int(sap), bytes(name)) for sap, name in assignments)

    def _get_list(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ARRAY, tuple(
            Data(DataTag.STRUCTURE, (Data(DataTag.LONG_UNSIGNED, sap), octets(name)))
            for sap, name in self.assignments))


# -- IC 22 Single action schedule --------------------------------------------------------------

class SingleActionSchedule(CosemObject):
    """IC 22 Single action schedule: executed_script {octet-string script LN, long-unsigned
    selector}, type (enum 1..5), execution_time = array of {octet-string time, octet-string
    date}. Static: the simulator never fires it by itself."""

    class_id = 22
    version = 0
    _GETTERS = {2: "_get_script", 3: "_get_type", 4: "_get_times"}
    _SETTERS = {2: "_set_script", 4: "_set_times"}

    def __init__(self, logical_name: Obis | str, *, script: Obis | str, selector: int = 1,
                 type_: int = 1, times: Iterable[tuple[CosemTime, CosemDate]] = ()) -> None:
        super().__init__(logical_name)
        self.script = Obis.parse(script)
        self.selector = selector
        self.type = type_
        self.times = tuple(times)

    def _get_script(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.STRUCTURE, (obis_data(self.script),
                                        Data(DataTag.LONG_UNSIGNED, self.selector)))

    def _get_type(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ENUM, self.type)

    def _get_times(self, selection: Any, ctx: Any) -> Data:
        return Data(DataTag.ARRAY, tuple(
            Data(DataTag.STRUCTURE, (octets(bytes(t)), octets(bytes(d)))) for t, d in self.times))

    def _set_script(self, value: Data, ctx: Any) -> None:
        name, selector = expect_structure(value, DataTag.OCTET_STRING, DataTag.LONG_UNSIGNED)
        if len(name.value) != 6:
            raise AccessError(DataAccessResult.TYPE_UNMATCHED, "script name must be 6 bytes")
        self.script, self.selector = Obis(*name.value), selector.value

    def _set_times(self, value: Data, ctx: Any) -> None:
        times = []
        for item in expect(value, DataTag.ARRAY).value:
            t, d = expect_structure(item, DataTag.OCTET_STRING, DataTag.OCTET_STRING)
            if len(t.value) != 4 or len(d.value) != 5:
                raise AccessError(DataAccessResult.TYPE_UNMATCHED,
                                  "execution_time needs a 4-byte time and a 5-byte date")
            times.append((CosemTime.from_bytes(t.value), CosemDate.from_bytes(d.value)))
        self.times = tuple(times)


# -- any other class ----------------------------------------------------------------------------

class GenericObject(CosemObject):
    """An object of a class not modelled here (activity calendar, HDLC setup, …): a store of
    attribute values; attributes in ``writable`` accept a SET of the same type."""

    def __init__(self, class_id: int, version: int, logical_name: Obis | str,
                 attributes: dict[int, Value], writable: Iterable[int] = (),
                 methods: dict[int, Callable[[Data | None], Data | None]] | None = None) -> None:
        super().__init__(logical_name)
        self._class_id, self._version = class_id, version
        self.attributes = dict(attributes)
        self.writable = frozenset(writable)
        self.methods = dict(methods or {})

    @property
    def attribute_count(self) -> int:
        return max(super().attribute_count, *self.attributes, 1)

    @property
    def method_count(self) -> int:
        return max(super().method_count, *self.methods, 0)

    def action(self, method: int, params: Data | None = None,
               ctx: AccessContext | None = None) -> Data | None:
        handler = self.methods.get(method)
        if handler is None:
            raise self._missing(method, self.method_count, ActionResult)
        try:
            return handler(params)
        except AccessError as exc:
            raise exc.as_action() from None

    @property  # type: ignore[override]
    def class_id(self) -> int:
        return self._class_id

    @property  # type: ignore[override]
    def version(self) -> int:
        return self._version

    def get(self, attr: int, selection: SelectiveAccessDescriptor | None = None,
            ctx: AccessContext | None = None) -> Data:
        if selection is not None:
            raise AccessError(DataAccessResult.SCOPE_OF_ACCESS_VIOLATED, "no selective access")
        if attr == 1:
            return obis_data(self.logical_name)
        if attr not in self.attributes:
            raise self._missing(attr, self.attribute_count, DataAccessResult)
        return resolve(self.attributes[attr])

    def set(self, attr: int, value: Data, ctx: AccessContext | None = None) -> None:
        if attr not in self.writable or attr not in self.attributes:
            raise AccessError(DataAccessResult.READ_WRITE_DENIED, f"attribute {attr} is read-only")
        self.attributes[attr] = _same_type_setter(self.attributes[attr], value)
