"""xDLMS InitiateRequest / InitiateResponse (A-XDR) and the conformance block.

Green Book ed.9 §9.4 / IEC 62056-5-3 (xDLMS ASN.1): these travel, A-XDR encoded, inside the
user-information OCTET STRING of the AARQ/AARE (and optionally RLRQ/RLRE). A-XDR marks an
OPTIONAL component with a presence byte (00 absent / 01 present) and a DEFAULT component the same
way (00 = the default).

Known re-encoding difference: a ``response-allowed`` sent explicitly as TRUE (``01 xx``, xx != 0)
decodes to ``True`` and re-encodes as the default (``00``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import IntEnum, IntFlag, unique
from typing import Any, ClassVar

from meterreader.dlms.ber import Buffer, decode_length, encode_length, fail, need
from meterreader.dlms.errors import LocalProtocolError, Reason

# IEC 62056-5-3 (InitiateResponse): vaa-name of the current association (ObjectName; for SN
# referencing the base name of the Association SN object).
VAA_NAME_LN = 0x0007
VAA_NAME_SN = 0xFA00

# Conformance ::= [APPLICATION 31] IMPLICIT BIT STRING (SIZE(24)), BER encoded even inside
# A-XDR: identifier 5F 1F, length 04, 00 unused bits, then 3 bytes.
_CONFORMANCE_HEADER = b"\x5f\x1f\x04\x00"


@unique
class InitiateTag(IntEnum):
    """xDLMS APDU tags of the unciphered initiate PDUs (IEC 62056-5-3 xDLMS ASN.1)."""

    INITIATE_REQUEST = 1
    INITIATE_RESPONSE = 8


def _bit(n: int) -> int:
    # Bit n of the 24-bit BIT STRING is bit (23 - n) of the big-endian integer of its 3 bytes:
    # bit 0 is the most significant bit of the first byte.
    return 1 << (23 - n)


class Conformance(IntFlag):
    """The xDLMS conformance block (IEC 62056-5-3, Conformance ::= BIT STRING (SIZE(24))).

    ``int(c)`` is the 3 bytes read as a big-endian number, so a block written ``0x007E1F`` (as
    usual in the literature) is ``Conformance(0x007E1F)``; ASN.1 bit n has value ``1 << (23 - n)``.
    """

    RESERVED_ZERO = _bit(0)
    GENERAL_PROTECTION = _bit(1)
    GENERAL_BLOCK_TRANSFER = _bit(2)
    READ = _bit(3)
    WRITE = _bit(4)
    UNCONFIRMED_WRITE = _bit(5)
    DELTA_VALUE_ENCODING = _bit(6)  # "reserved-six" in older Green Book editions
    RESERVED_SEVEN = _bit(7)
    ATTRIBUTE0_SUPPORTED_WITH_SET = _bit(8)
    PRIORITY_MGMT_SUPPORTED = _bit(9)
    ATTRIBUTE0_SUPPORTED_WITH_GET = _bit(10)
    BLOCK_TRANSFER_WITH_GET_OR_READ = _bit(11)
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = _bit(12)
    BLOCK_TRANSFER_WITH_ACTION = _bit(13)
    MULTIPLE_REFERENCES = _bit(14)
    INFORMATION_REPORT = _bit(15)
    DATA_NOTIFICATION = _bit(16)
    ACCESS = _bit(17)
    PARAMETERIZED_ACCESS = _bit(18)
    GET = _bit(19)
    SET = _bit(20)
    SELECTIVE_ACCESS = _bit(21)
    EVENT_NOTIFICATION = _bit(22)
    ACTION = _bit(23)


def redacted_repr(obj: Any) -> str:
    """Dataclass-style repr that prints ``'***'`` for fields declared with ``repr=False``.

    Used for secrets (passwords, challenges, keys) until a dedicated secret type exists.
    """
    parts = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        shown = "'***'" if (not f.repr and value is not None) else repr(value)
        parts.append(f"{f.name}={shown}")
    return f"{type(obj).__name__}({', '.join(parts)})"


# --- A-XDR primitives (bounded by ``end``) --------------------------------------------------------

def _u8(buf: Buffer, offset: int, end: int, what: str) -> tuple[int, int]:
    need(buf, offset, 1, end, what)
    return buf[offset], offset + 1


def _u16(buf: Buffer, offset: int, end: int, what: str) -> tuple[int, int]:
    need(buf, offset, 2, end, what)
    return (buf[offset] << 8) | buf[offset + 1], offset + 2


def _presence(buf: Buffer, offset: int, end: int, what: str) -> tuple[bool, int]:
    flag, pos = _u8(buf, offset, end, what)
    if flag > 1:
        fail(buf, offset, Reason.BAD_VALUE, f"{what}: presence flag {flag:#04x} is not 00/01")
    return bool(flag), pos


def _optional_i8(buf: Buffer, offset: int, end: int, what: str) -> tuple[int | None, int]:
    present, pos = _presence(buf, offset, end, what)
    if not present:
        return None, pos
    raw, pos = _u8(buf, pos, end, what)
    return raw - 256 if raw > 127 else raw, pos


def decode_conformance(buf: Buffer, offset: int, end: int | None = None
                       ) -> tuple[Conformance, int]:
    """The BER-encoded conformance block ``5F 1F 04 00 xx xx xx`` → ``(Conformance, offset)``."""
    end = len(buf) if end is None else end
    need(buf, offset, 7, end, "conformance")
    if bytes(buf[offset:offset + 4]) != _CONFORMANCE_HEADER:
        fail(buf, offset, Reason.UNKNOWN_TAG, "conformance must start 5F 1F 04 00")
    return Conformance(int.from_bytes(bytes(buf[offset + 4:offset + 7]), "big")), offset + 7


def encode_conformance(value: Conformance) -> bytes:
    """The 7 bytes ``5F 1F 04 00 xx xx xx`` of a conformance block."""
    if not 0 <= int(value) <= 0xFFFFFF:
        raise LocalProtocolError(f"conformance {int(value):#x} does not fit 24 bits")
    return _CONFORMANCE_HEADER + int(value).to_bytes(3, "big")


def _check_range(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LocalProtocolError(f"{name}={value!r} is not an integer in [{low}, {high}]")


def _encode_optional_i8(value: int | None) -> bytes:
    return b"\x00" if value is None else b"\x01" + (value & 0xFF).to_bytes(1, "big")


def _check_tag(buf: Buffer, offset: int, end: int, tag: InitiateTag) -> int:
    need(buf, offset, 1, end, tag.name)
    if buf[offset] != tag:
        fail(buf, offset, Reason.UNKNOWN_TAG, f"expected {tag.name} tag {int(tag):#04x}")
    return offset + 1


def _whole(buf: Buffer, decoder: Any) -> Any:
    value, pos = decoder(buf, 0, len(buf))
    if pos != len(buf):
        fail(buf, pos, Reason.TRAILING_DATA, "bytes after the APDU")
    return value


# --- PDUs -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class InitiateRequest:
    """xDLMS InitiateRequest (tag 0x01), carried in the AARQ user-information."""

    TAG: ClassVar[InitiateTag] = InitiateTag.INITIATE_REQUEST

    dedicated_key: bytes | None = field(default=None, repr=False)
    response_allowed: bool = True
    proposed_quality_of_service: int | None = None  # Integer8
    proposed_dlms_version_number: int = 6  # Unsigned8
    proposed_conformance: Conformance
    client_max_receive_pdu_size: int  # Unsigned16; 0 = no limit

    def __post_init__(self) -> None:
        if self.dedicated_key is not None and type(self.dedicated_key) is not bytes:
            raise LocalProtocolError("dedicated_key must be bytes")
        if not isinstance(self.response_allowed, bool):
            raise LocalProtocolError("response_allowed must be a bool")
        if self.proposed_quality_of_service is not None:
            _check_range("proposed_quality_of_service", self.proposed_quality_of_service, -128, 127)
        _check_range("proposed_dlms_version_number", self.proposed_dlms_version_number, 0, 255)
        _check_range("proposed_conformance", int(self.proposed_conformance), 0, 0xFFFFFF)
        _check_range("client_max_receive_pdu_size", self.client_max_receive_pdu_size, 0, 0xFFFF)
        object.__setattr__(self, "proposed_conformance", Conformance(self.proposed_conformance))

    def __repr__(self) -> str:
        return redacted_repr(self)

    def encode(self) -> bytes:
        """A-XDR encoding, starting with the tag byte 0x01."""
        key = b"\x00" if self.dedicated_key is None else (
            b"\x01" + encode_length(len(self.dedicated_key)) + self.dedicated_key)
        # A-XDR: a DEFAULT component equal to its default is sent as 00.
        allowed = b"\x00" if self.response_allowed else b"\x01\x00"
        return (bytes((self.TAG,)) + key + allowed
                + _encode_optional_i8(self.proposed_quality_of_service)
                + bytes((self.proposed_dlms_version_number,))
                + encode_conformance(self.proposed_conformance)
                + self.client_max_receive_pdu_size.to_bytes(2, "big"))

    @classmethod
    def decode(cls, data: Buffer) -> InitiateRequest:
        """Decode exactly one InitiateRequest; trailing bytes are an error."""
        return _whole(data, decode_initiate_request)


def decode_initiate_request(buf: Buffer, offset: int = 0, end: int | None = None
                            ) -> tuple[InitiateRequest, int]:
    """Decode an InitiateRequest at ``offset`` (not past ``end``) → ``(pdu, new_offset)``."""
    end = len(buf) if end is None else end
    pos = _check_tag(buf, offset, end, InitiateTag.INITIATE_REQUEST)
    present, pos = _presence(buf, pos, end, "dedicated-key")
    key = None
    if present:
        size, pos = decode_length(buf, pos, end)
        need(buf, pos, size, end, "dedicated-key")
        key, pos = bytes(buf[pos:pos + size]), pos + size
    present, pos = _presence(buf, pos, end, "response-allowed")
    allowed = True
    if present:
        value, pos = _u8(buf, pos, end, "response-allowed")
        allowed = value != 0
    qos, pos = _optional_i8(buf, pos, end, "proposed-quality-of-service")
    version, pos = _u8(buf, pos, end, "proposed-dlms-version-number")
    conformance, pos = decode_conformance(buf, pos, end)
    size, pos = _u16(buf, pos, end, "client-max-receive-pdu-size")
    return InitiateRequest(dedicated_key=key, response_allowed=allowed,
                           proposed_quality_of_service=qos,
                           proposed_dlms_version_number=version,
                           proposed_conformance=conformance,
                           client_max_receive_pdu_size=size), pos


@dataclass(frozen=True, slots=True, kw_only=True)
class InitiateResponse:
    """xDLMS InitiateResponse (tag 0x08), carried in the AARE user-information.

    ``vaa_name`` is the ObjectName as an unsigned 16-bit value: ``VAA_NAME_LN`` (0x0007) for LN
    referencing, ``VAA_NAME_SN`` (0xFA00) for SN referencing.
    """

    TAG: ClassVar[InitiateTag] = InitiateTag.INITIATE_RESPONSE

    negotiated_quality_of_service: int | None = None  # Integer8
    negotiated_dlms_version_number: int = 6  # Unsigned8
    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int  # Unsigned16; 0 = no limit
    vaa_name: int = VAA_NAME_LN

    def __post_init__(self) -> None:
        if self.negotiated_quality_of_service is not None:
            _check_range("negotiated_quality_of_service", self.negotiated_quality_of_service,
                         -128, 127)
        _check_range("negotiated_dlms_version_number", self.negotiated_dlms_version_number, 0, 255)
        _check_range("negotiated_conformance", int(self.negotiated_conformance), 0, 0xFFFFFF)
        _check_range("server_max_receive_pdu_size", self.server_max_receive_pdu_size, 0, 0xFFFF)
        _check_range("vaa_name", self.vaa_name, 0, 0xFFFF)
        object.__setattr__(self, "negotiated_conformance", Conformance(self.negotiated_conformance))

    def encode(self) -> bytes:
        """A-XDR encoding, starting with the tag byte 0x08."""
        return (bytes((self.TAG,))
                + _encode_optional_i8(self.negotiated_quality_of_service)
                + bytes((self.negotiated_dlms_version_number,))
                + encode_conformance(self.negotiated_conformance)
                + self.server_max_receive_pdu_size.to_bytes(2, "big")
                + self.vaa_name.to_bytes(2, "big"))

    @classmethod
    def decode(cls, data: Buffer) -> InitiateResponse:
        """Decode exactly one InitiateResponse; trailing bytes are an error."""
        return _whole(data, decode_initiate_response)


def decode_initiate_response(buf: Buffer, offset: int = 0, end: int | None = None
                             ) -> tuple[InitiateResponse, int]:
    """Decode an InitiateResponse at ``offset`` (not past ``end``) → ``(pdu, new_offset)``."""
    end = len(buf) if end is None else end
    pos = _check_tag(buf, offset, end, InitiateTag.INITIATE_RESPONSE)
    qos, pos = _optional_i8(buf, pos, end, "negotiated-quality-of-service")
    version, pos = _u8(buf, pos, end, "negotiated-dlms-version-number")
    conformance, pos = decode_conformance(buf, pos, end)
    size, pos = _u16(buf, pos, end, "server-max-receive-pdu-size")
    vaa, pos = _u16(buf, pos, end, "vaa-name")
    return InitiateResponse(negotiated_quality_of_service=qos,
                            negotiated_dlms_version_number=version,
                            negotiated_conformance=conformance,
                            server_max_receive_pdu_size=size, vaa_name=vaa), pos
