"""HDLC parameter negotiation: the information field of SNRM and UA (IEC 62056-46).

Layout::

    81 (format identifier) 80 (group identifier: HDLC parameters) <group length>
        05 <len> max_info_field_length_transmit
        06 <len> max_info_field_length_receive
        07 <len> window_size_transmit
        08 <len> window_size_receive

Each value is an unsigned big-endian integer of 1, 2 or 4 bytes. A parameter that is absent (or an
empty information field) takes the standard's default: 128 bytes, window 1. Transmit/receive are
from the point of view of the frame's sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique

from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason

FORMAT_IDENTIFIER = 0x81
GROUP_IDENTIFIER = 0x80
DEFAULT_MAX_INFO_FIELD_LENGTH = 128
DEFAULT_WINDOW_SIZE = 1
#: IEC 62056-46: window sizes are 1..7 (sequence numbers are modulo 8).
MAX_WINDOW_SIZE = 7
_MAX_VALUE_WIDTH = 4


@unique
class ParameterId(IntEnum):
    """Parameter identifiers inside the HDLC parameter group."""

    MAX_INFO_FIELD_LENGTH_TRANSMIT = 0x05
    MAX_INFO_FIELD_LENGTH_RECEIVE = 0x06
    WINDOW_SIZE_TRANSMIT = 0x07
    WINDOW_SIZE_RECEIVE = 0x08


_FIELDS = {
    ParameterId.MAX_INFO_FIELD_LENGTH_TRANSMIT: "max_info_field_length_transmit",
    ParameterId.MAX_INFO_FIELD_LENGTH_RECEIVE: "max_info_field_length_receive",
    ParameterId.WINDOW_SIZE_TRANSMIT: "window_size_transmit",
    ParameterId.WINDOW_SIZE_RECEIVE: "window_size_receive",
}
_WINDOW_IDS = frozenset({ParameterId.WINDOW_SIZE_TRANSMIT, ParameterId.WINDOW_SIZE_RECEIVE})


@dataclass(frozen=True, slots=True, kw_only=True)
class HdlcParameters:
    """Link parameters from one station's point of view. Don't subclass."""

    max_info_field_length_transmit: int = DEFAULT_MAX_INFO_FIELD_LENGTH
    max_info_field_length_receive: int = DEFAULT_MAX_INFO_FIELD_LENGTH
    window_size_transmit: int = DEFAULT_WINDOW_SIZE
    window_size_receive: int = DEFAULT_WINDOW_SIZE

    def __post_init__(self) -> None:
        for pid, name in _FIELDS.items():
            value = getattr(self, name)
            high = MAX_WINDOW_SIZE if pid in _WINDOW_IDS else 0xFFFFFFFF
            if type(value) is not int or not 1 <= value <= high:
                raise LocalProtocolError(f"{name} must be 1..{high}, not {value!r}")

    def mirrored(self) -> HdlcParameters:
        """The same limits seen from the other station (transmit and receive swapped)."""
        return HdlcParameters(
            max_info_field_length_transmit=self.max_info_field_length_receive,
            max_info_field_length_receive=self.max_info_field_length_transmit,
            window_size_transmit=self.window_size_receive,
            window_size_receive=self.window_size_transmit)


def encode_parameters(parameters: HdlcParameters) -> bytes:
    """The SNRM/UA information field carrying all four parameters.

    Information field lengths take the smallest of 1, 2 or 4 bytes; window sizes are written in
    4 bytes, as in the common meter and client traces (and the published UA vector).
    """
    body = bytearray()
    for pid, name in _FIELDS.items():
        value = getattr(parameters, name)
        width = 4 if pid in _WINDOW_IDS else 1 if value <= 0xFF else 2 if value <= 0xFFFF else 4
        body += bytes((pid, width)) + value.to_bytes(width, "big")
    return bytes((FORMAT_IDENTIFIER, GROUP_IDENTIFIER, len(body))) + body


def decode_parameters(buf: bytes | bytearray | memoryview, offset: int = 0
                      ) -> tuple[HdlcParameters, int]:
    """Decode an information field starting at ``offset``; return the parameters and the offset
    after the group. Absent parameters take their defaults; unknown parameter ids are skipped.
    """
    data = bytes(buf)

    def fail(message: str, at: int, reason: Reason) -> DecodeError:
        return DecodeError(message, data=data[offset:], offset=at - offset, reason=reason)

    if len(data) - offset < 3:
        raise fail("HDLC parameter field is truncated", len(data), Reason.TRUNCATED)
    if data[offset] != FORMAT_IDENTIFIER:
        raise fail(f"HDLC parameter format identifier 0x{data[offset]:02X} is not 0x81", offset,
                   Reason.UNKNOWN_TAG)
    if data[offset + 1] != GROUP_IDENTIFIER:
        raise fail(f"HDLC parameter group identifier 0x{data[offset + 1]:02X} is not 0x80",
                   offset + 1, Reason.UNKNOWN_TAG)
    end = offset + 3 + data[offset + 2]
    if end > len(data):
        raise fail("HDLC parameter group is longer than the field", offset + 2, Reason.TRUNCATED)
    values: dict[str, int] = {}
    pos = offset + 3
    while pos < end:
        if pos + 2 > end or pos + 2 + data[pos + 1] > end:
            raise fail("HDLC parameter runs past its group", pos, Reason.BAD_LENGTH)
        pid, width = data[pos], data[pos + 1]
        name = _FIELDS.get(pid)
        if name is not None:
            if not 1 <= width <= _MAX_VALUE_WIDTH:
                raise fail(f"HDLC parameter 0x{pid:02X} has a {width}-byte value", pos + 1,
                           Reason.BAD_LENGTH)
            values[name] = int.from_bytes(data[pos + 2:pos + 2 + width], "big")
        pos += 2 + width
    try:
        return HdlcParameters(**values), end
    except LocalProtocolError as exc:
        raise fail(f"HDLC parameter out of range: {exc}", offset + 3, Reason.BAD_VALUE) from None


def parameters_from_info(info: bytes) -> HdlcParameters:
    """Parameters of a whole SNRM/UA information field: empty means all defaults."""
    if not info:
        return HdlcParameters()
    parameters, end = decode_parameters(info)
    if end != len(info):
        raise DecodeError("bytes after the HDLC parameter group", data=info, offset=end,
                          reason=Reason.TRAILING_DATA)
    return parameters


def negotiate(ours: HdlcParameters, theirs: HdlcParameters) -> HdlcParameters:
    """The parameters in force, from our point of view, given both stations' offers.

    What we transmit is bounded by what they can receive and vice versa. The server answers an
    SNRM with ``negotiate(own limits, proposal)`` in its UA; the client applies
    ``negotiate(proposal, UA)``, which gives the mirror image of the server's values.
    """
    return HdlcParameters(
        max_info_field_length_transmit=min(ours.max_info_field_length_transmit,
                                           theirs.max_info_field_length_receive),
        max_info_field_length_receive=min(ours.max_info_field_length_receive,
                                          theirs.max_info_field_length_transmit),
        window_size_transmit=min(ours.window_size_transmit, theirs.window_size_receive),
        window_size_receive=min(ours.window_size_receive, theirs.window_size_transmit))
