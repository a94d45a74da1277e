"""HDLC-based data link layer for DLMS/COSEM (IEC 62056-46), sans-IO.

* :mod:`.crc` - the HCS/FCS (CRC-16/X.25)
* :mod:`.frame` - addresses, control field, frame codec and the :class:`FrameReader` stream reader
* :mod:`.params` - SNRM/UA parameter negotiation
* :mod:`.state` / :mod:`.link` - the link state machine :class:`HdlcLink` (client and server side)
"""

from meterreader.dlms.hdlc.config import DummyLogger, HdlcConfig
from meterreader.dlms.hdlc.crc import crc16, fcs
from meterreader.dlms.hdlc.events import (
    ConnectRequest, Connected, DataReceived, DisconnectRequest, Disconnected, DmReceived,
    FrameRejected, FrmrReceived, RetriesExhausted, SendData)
from meterreader.dlms.hdlc.frame import (
    MAX_FRAME_LENGTH, FrameError, FrameReader, FrameType, HdlcAddress, HdlcFrame, Role,
    decode_control, decode_frame, encode_control, encode_frame)
from meterreader.dlms.hdlc.link import LLC_COMMAND, LLC_RESPONSE, HdlcLink
from meterreader.dlms.hdlc.params import (
    HdlcParameters, ParameterId, decode_parameters, encode_parameters, negotiate,
    parameters_from_info)
from meterreader.dlms.hdlc.state import LinkInput, LinkState, LinkStateMachine, TRANSITIONS

__all__ = [
    "ConnectRequest", "Connected", "DataReceived", "DisconnectRequest", "Disconnected",
    "DmReceived", "DummyLogger", "FrameError", "FrameReader", "FrameRejected", "FrameType",
    "FrmrReceived", "HdlcAddress", "HdlcConfig", "HdlcFrame", "HdlcLink", "HdlcParameters",
    "LLC_COMMAND", "LLC_RESPONSE", "LinkInput", "LinkState", "LinkStateMachine", "MAX_FRAME_LENGTH",
    "ParameterId", "RetriesExhausted", "Role", "SendData", "TRANSITIONS", "crc16",
    "decode_control", "decode_frame", "decode_parameters", "encode_control", "encode_frame",
    "encode_parameters", "fcs", "negotiate", "parameters_from_info",
]
