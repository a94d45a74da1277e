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

from .builder import build_meter
from .facade import SimulatedMeter
from .datagen import LoadModel
from .device import LogicalDevice, ObjectRights, PhysicalDevice, read_rights, rights_from_strings
from .live import MeterRuntime
from .objects import (AccessContext, AccessError, CosemObject, DataObject, DemandRegister,
                      ExtendedRegister, Register)
from .objects_association import AssociationLN
from .objects_clock import Clock
from .objects_misc import GenericObject, SapAssignment, Script, ScriptTable, SingleActionSchedule
from .objects_profile import ProfileGeneric

__all__ = [
    "AccessContext", "AccessError", "AssociationLN", "Clock", "CosemObject", "DataObject",
    "DemandRegister", "ExtendedRegister", "GenericObject", "LoadModel", "LogicalDevice",
    "MeterRuntime", "ObjectRights", "PhysicalDevice", "ProfileGeneric", "Register",
    "SapAssignment", "Script", "ScriptTable", "SimulatedMeter", "SingleActionSchedule",
    "build_meter",
    "read_rights", "rights_from_strings",
]
