"""The blocking DLMS/COSEM client used by the GUI worker thread and the CLI.

* :class:`Session` — connect (HDLC SNRM/UA or wrapper, AARQ/AARE, HLS), ``get``/``get_many``/
  ``set``/``action``, ``object_list``, ``logical_devices``, ``read_register``, ``read_profile``,
  ``keep_alive``, ``close`` (RLRQ + DISC); counters in ``stats``.
* :class:`ConnectionSettings` (with ``for_association("mr", password=...)``), :class:`Framing`,
  :class:`Quirks`.
* Errors: :class:`MeterNotAnswering`, :class:`AssociationRejected`, :class:`ServiceFailed` with
  :class:`AccessDenied` and :class:`ObjectUndefined`; the transport's :class:`ConnectionFailed`,
  :class:`ConnectionLost` and :class:`Cancelled` pass through.
"""

from meterreader.client.errors import (AccessDenied, AssociationRejected, Cancelled,
                                       ConnectionFailed, ConnectionLost, MeterNotAnswering,
                                       ObjectUndefined, ServiceFailed, SessionError,
                                       SessionNotReady)
from meterreader.client.objects import CosemObjectInfo, LogicalDeviceInfo
from meterreader.client.session import Progress, Session, SessionState, SessionStats
from meterreader.client.session_profile import ProfileColumn, ProfileResult
from meterreader.client.settings import (LARGEST_HDLC_PARAMETERS, ConnectionSettings, Framing,
                                         Quirks)
from meterreader.client.values import Quantity

__all__ = [
    "AccessDenied", "AssociationRejected", "Cancelled", "ConnectionFailed", "ConnectionLost",
    "ConnectionSettings", "CosemObjectInfo", "Framing", "LARGEST_HDLC_PARAMETERS",
    "LogicalDeviceInfo", "MeterNotAnswering", "ObjectUndefined", "ProfileColumn",
    "ProfileResult", "Progress", "Quantity", "Quirks", "ServiceFailed", "Session",
    "SessionError", "SessionNotReady", "SessionState", "SessionStats",
]
