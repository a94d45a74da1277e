"""Client-side byte transports: TCP, serial (pyserial), IEC 62056-21 mode E and fakes for tests.

Transports move bytes only and never parse DLMS. Every blocking call honours a
:class:`CancelToken` within 200 ms.
"""

from meterreader.transport.base import (
    POLL_INTERVAL,
    Cancelled,
    CancelToken,
    ConnectionFailed,
    ConnectionLost,
    ReadTimeout,
    Transport,
    TransportError,
)
from meterreader.transport.fake import FakeSerial, FakeTransport, ScriptStep
from meterreader.transport.mode_e import Identification, ModeETransport
from meterreader.transport.serial_port import PortInfo, SerialTransport, list_ports
from meterreader.transport.tcp import TcpTransport

__all__ = [
    "POLL_INTERVAL",
    "CancelToken",
    "Cancelled",
    "ConnectionFailed",
    "ConnectionLost",
    "FakeSerial",
    "FakeTransport",
    "Identification",
    "ModeETransport",
    "PortInfo",
    "ReadTimeout",
    "ScriptStep",
    "SerialTransport",
    "TcpTransport",
    "Transport",
    "TransportError",
    "list_ports",
]
