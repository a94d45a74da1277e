"""Built-in IS 15959 meter simulator: the server-side COSEM object model and its data.

* :func:`build_meter` — a category A/B/C meter (:class:`PhysicalDevice`) with a management logical
  device (1) and a second logical device (2), deterministic history from a seed, and a clock
  running from an injected ``now()``;
* :class:`LogicalDevice` — objects plus per-association access rights; ``get``/``set``/``action``
  check the rights and answer ``Data`` or raise :class:`AccessError` with the result code;
* the interface classes (``objects*.py``) and the load/history generator (``datagen.py``).

* :class:`SimulatedMeter` — the whole meter on the network: ``serve_tcp(port=0)`` returns the bound
  port (wrapper or raw HDLC), ``serve_pty()`` a device path; ``stop()`` shuts everything down.
"""

import importlib
from typing import Any

# Exports load on first use (PEP 562) so that `meterreader simulate --help` and other CLI
# commands do not pay for building the whole simulator at start-up.
_EXPORTS = {
    "AccessContext": "objects",
    "AccessError": "objects",
    "AssociationLN": "objects_association",
    "Clock": "objects_clock",
    "CosemObject": "objects",
    "DEFECTS": "defects",
    "DataObject": "objects",
    "DemandRegister": "objects",
    "ExtendedRegister": "objects",
    "GenericObject": "objects_misc",
    "LoadModel": "datagen",
    "LogicalDevice": "device",
    "MeterRuntime": "live",
    "ObjectRights": "device",
    "PhysicalDevice": "device",
    "ProfileGeneric": "objects_profile",
    "Register": "objects",
    "SapAssignment": "objects_misc",
    "Script": "objects_misc",
    "ScriptTable": "objects_misc",
    "SimulatedMeter": "facade",
    "SingleActionSchedule": "objects_misc",
    "build_meter": "builder",
    "read_rights": "device",
    "rights_from_strings": "device",
}

__all__ = [
    "AccessContext", "AccessError", "AssociationLN", "Clock", "CosemObject", "DEFECTS",
    "DataObject", "DemandRegister", "ExtendedRegister", "GenericObject", "LoadModel",
    "LogicalDevice", "MeterRuntime", "ObjectRights", "PhysicalDevice", "ProfileGeneric", "Register",
    "SapAssignment", "Script", "ScriptTable", "SimulatedMeter", "SingleActionSchedule",
    "build_meter",
    "read_rights", "rights_from_strings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
