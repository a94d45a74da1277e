"""ACSE APDUs of DLMS/COSEM: AARQ, AARE, RLRQ, RLRE (BER encoded), as pure codecs.

Green Book ed.9 §9.4 / IEC 62056-5-3 (ACSE ASN.1). Each APDU is an [APPLICATION n] IMPLICIT
SEQUENCE of context-tagged components; a table per APDU maps tag number → field name and codec,
so decoding is a dict dispatch and encoding walks the table in tag order.

* Fields the APDU class does not know are kept in ``unknown_fields`` as ``(tag number, whole
  element bytes)`` and re-emitted verbatim, in their order, among the known fields by tag number,
  so a well-ordered input re-encodes byte-identically.
* ``user_information`` is the raw content of the user-information OCTET STRING (the xDLMS APDU,
  plain or ciphered). When it is a plain InitiateRequest/InitiateResponse it is checked while
  decoding; the ``initiate_request``/``initiate_response`` properties decode it.
* Authentication values (password, challenge) print as ``'***'`` in ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, unique
from typing import Any, Callable, ClassVar, Self

from meterreader.dlms import ber
from meterreader.dlms.axdr import BitString
from meterreader.dlms.ber import (
    Buffer, Element, FieldCodec, TagClass, UniversalTag, decode_octets, explicit, fail, implicit,
    to_enum,
)
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason
from meterreader.dlms.initiate import (
    InitiateRequest, InitiateResponse, InitiateTag, decode_initiate_request,
    decode_initiate_response, redacted_repr,
)

# Green Book ed.9 §9.4: DLMS UA object identifiers {joint-iso-ccitt(2) country(16)
# country-name(756) identified-organization(5) DLMS-UA(8) ...}: application-context-name(1) and
# mechanism-name(2).
_APPLICATION_CONTEXT_ARC = (2, 16, 756, 5, 8, 1)
_MECHANISM_NAME_ARC = (2, 16, 756, 5, 8, 2)

# BIT STRING {version1(0)} and ACSE-requirements {authentication(0)}: one bit, set → 07 80.
PROTOCOL_VERSION_1 = BitString(length=1, data=b"\x80")
ACSE_REQUIREMENTS_AUTHENTICATION = BitString(length=1, data=b"\x80")


@unique
class AcseTag(IntEnum):
    """First byte of each ACSE APDU ([APPLICATION n], constructed)."""

    AARQ = 0x60
    AARE = 0x61
    RLRQ = 0x62
    RLRE = 0x63


@unique
class ApplicationContextName(IntEnum):
    """Last arc of the application context name OID 2.16.756.5.8.1.x."""

    LN = 1  # Logical_Name_Referencing_No_Ciphering
    SN = 2  # Short_Name_Referencing_No_Ciphering
    LN_CIPHERING = 3  # Logical_Name_Referencing_With_Ciphering
    SN_CIPHERING = 4  # Short_Name_Referencing_With_Ciphering


@unique
class MechanismName(IntEnum):
    """Last arc of the authentication mechanism name OID 2.16.756.5.8.2.x (the wire value).

    Note: HLS with SHA-256 is mechanism_id(6) on the wire and ECDSA is mechanism_id(7); texts
    that call SHA-256 "mechanism 7" are wrong about the encoding.
    """

    NONE = 0  # lowest level security
    LOW = 1  # LLS: password
    HIGH = 2  # HLS, manufacturer specific
    HIGH_MD5 = 3
    HIGH_SHA1 = 4
    HIGH_GMAC = 5
    HIGH_SHA256 = 6
    HIGH_ECDSA = 7


@unique
class AssociationResult(IntEnum):
    """AARE result [2]."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2

    def describe(self) -> str:
        """Plain words, e.g. ``"rejected (permanent)"``."""
        return _words(self)


@unique
class AcseServiceUserDiagnostic(IntEnum):
    """result-source-diagnostic acse-service-user [1] values."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14

    def describe(self) -> str:
        """Plain words, e.g. ``"authentication failure"``."""
        return _words(self)


@unique
class AcseServiceProviderDiagnostic(IntEnum):
    """result-source-diagnostic acse-service-provider [2] values."""

    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_ACSE_VERSION = 2

    def describe(self) -> str:
        """Plain words, e.g. ``"no common ACSE version"``."""
        return _words(self)


@unique
class ReleaseRequestReason(IntEnum):
    """RLRQ reason [0]."""

    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


@unique
class ReleaseResponseReason(IntEnum):
    """RLRE reason [0]."""

    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


_ACRONYMS = {"ap": "AP", "ae": "AE", "acse": "ACSE"}


def _words(member: IntEnum) -> str:
    """Plain words from a member name: CALLING_AP_TITLE_NOT_RECOGNIZED → calling AP title ..."""
    if member.name == "NULL":
        return "no diagnostic"
    text = " ".join(_ACRONYMS.get(w, w) for w in member.name.lower().split("_"))
    return text.replace("rejected permanent", "rejected (permanent)").replace(
        "rejected transient", "rejected (transient)")


# --- field codecs (see ber.FieldCodec) -------------------------------------------------------

def _oid_enum(arc: tuple[int, ...], enum: type[IntEnum]) -> Callable[[Buffer, Element], Any]:
    def decode(buf: Buffer, element: Element) -> Any:
        arcs = ber.decode_oid(buf, element)
        if arcs[:-1] != arc:
            fail(buf, element.content_start, Reason.BAD_VALUE,
                 f"OID {'.'.join(map(str, arcs))} is not under {'.'.join(map(str, arc))}")
        return to_enum(buf, element, enum, arcs[-1])
    return decode


def _integer_enum(enum: type[IntEnum]) -> Callable[[Buffer, Element], Any]:
    return lambda buf, el: to_enum(buf, el, enum, ber.decode_integer(buf, el))


_DIAGNOSTIC_CHOICE: dict[int, type[IntEnum]] = {
    1: AcseServiceUserDiagnostic,
    2: AcseServiceProviderDiagnostic,
}
_DIAGNOSTIC_NUMBER = {enum: number for number, enum in _DIAGNOSTIC_CHOICE.items()}


def _decode_diagnostic(buf: Buffer, element: Element) -> Any:
    # Associate-source-diagnostic ::= CHOICE { acse-service-user [1], acse-service-provider [2] },
    # each an INTEGER, all explicitly tagged: A3 05 A1 03 02 01 xx.
    if not element.constructed:
        fail(buf, element.start, Reason.BAD_VALUE, "explicit tag must be constructed")
    choice, pos = ber.decode_element(buf, element.content_start, element.end)
    enum = _DIAGNOSTIC_CHOICE.get(choice.number) if choice.tag_class is TagClass.CONTEXT else None
    if enum is None:
        fail(buf, choice.start, Reason.UNKNOWN_TAG, "unknown result-source-diagnostic choice")
    if pos != element.end:
        fail(buf, pos, Reason.TRAILING_DATA, "bytes after result-source-diagnostic")
    inner = ber.decode_single_child(buf, choice, TagClass.UNIVERSAL, UniversalTag.INTEGER)
    return to_enum(buf, inner, enum, ber.decode_integer(buf, inner))


def _encode_diagnostic(value: IntEnum) -> tuple[bool, bytes]:
    inner = ber.encode_element(TagClass.UNIVERSAL, False, UniversalTag.INTEGER,
                               ber.encode_integer(value))
    return True, ber.encode_element(TagClass.CONTEXT, True, _DIAGNOSTIC_NUMBER[type(value)], inner)


_BIT_STRING = implicit(ber.decode_bit_string, ber.encode_bit_string, BitString)
_TITLE = explicit(UniversalTag.OCTET_STRING, decode_octets, bytes, bytes)  # AP-title, AE-qualifier


def _user_information(tag: InitiateTag, decoder: Callable[..., Any]) -> FieldCodec:
    """[30] EXPLICIT OCTET STRING holding an xDLMS APDU; a plain initiate PDU is checked here."""
    def decode(buf: Buffer, element: Element) -> bytes:
        inner = ber.decode_single_child(buf, element, TagClass.UNIVERSAL,
                                        UniversalTag.OCTET_STRING)
        if inner.end > inner.content_start and buf[inner.content_start] == tag:
            _, pos = decoder(buf, inner.content_start, inner.end)
            if pos != inner.end:
                fail(buf, pos, Reason.TRAILING_DATA, f"bytes after the {tag.name}")
        return inner.content(buf)
    return FieldCodec(decode=decode, encode=_TITLE.encode, types=bytes)


_INVOCATION_ID = explicit(UniversalTag.INTEGER, ber.decode_integer, ber.encode_integer, int)
_CONTEXT_NAME = explicit(UniversalTag.OBJECT_IDENTIFIER,
                          _oid_enum(_APPLICATION_CONTEXT_ARC, ApplicationContextName),
                          lambda v: ber.encode_oid(_APPLICATION_CONTEXT_ARC + (int(v),)),
                          ApplicationContextName)
_MECHANISM = implicit(_oid_enum(_MECHANISM_NAME_ARC, MechanismName),
                       lambda v: ber.encode_oid(_MECHANISM_NAME_ARC + (int(v),)), MechanismName)
# Authentication-value ::= CHOICE { charstring [0] IMPLICIT GraphicString, ... }: DLMS uses only
# charstring (LLS password or HLS challenge), explicitly tagged: AC 0A 80 08 <8 bytes>.
_AUTH_VALUE = FieldCodec(
    decode=lambda buf, el: decode_octets(
        buf, ber.decode_single_child(buf, el, TagClass.CONTEXT, 0)),
    encode=lambda v: (True, ber.encode_element(TagClass.CONTEXT, False, 0, v)), types=bytes)
_GRAPHIC = implicit(decode_octets, bytes, bytes)  # implementation-information: GraphicString
_RESULT = explicit(UniversalTag.INTEGER, _integer_enum(AssociationResult), ber.encode_integer,
                    AssociationResult)
_DIAGNOSTIC = FieldCodec(decode=_decode_diagnostic, encode=_encode_diagnostic,
                     types=(AcseServiceUserDiagnostic, AcseServiceProviderDiagnostic))
_REQUEST_INFO = _user_information(InitiateTag.INITIATE_REQUEST, decode_initiate_request)
_RESPONSE_INFO = _user_information(InitiateTag.INITIATE_RESPONSE, decode_initiate_response)


def _reason(enum: type[IntEnum]) -> FieldCodec:
    return implicit(_integer_enum(enum), ber.encode_integer, enum)


# --- the APDUs --------------------------------------------------------------------------------

class _AcseApdu:
    """Shared table-driven codec. Subclasses set ``_TAG``, ``_FIELDS`` and ``_REQUIRED``."""

    __slots__ = ()
    _TAG: ClassVar[AcseTag]
    _FIELDS: ClassVar[dict[int, tuple[str, FieldCodec]]]  # tag number → (field name, codec)
    _REQUIRED: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for name, codec in self._FIELDS.values():
            value = getattr(self, name)
            enum = codec.types
            if isinstance(enum, type) and issubclass(enum, IntEnum) and type(value) is int:
                try:
                    value = enum(value)
                except ValueError:
                    raise LocalProtocolError(f"{name}={value} is not a {enum.__name__}") from None
                object.__setattr__(self, name, value)
            if value is None:
                if name in self._REQUIRED:
                    raise LocalProtocolError(f"{type(self).__name__}.{name} is required")
            elif isinstance(value, bool) or not isinstance(value, codec.types) or (
                    codec.types in (bytes, BitString) and type(value) is not codec.types):
                raise LocalProtocolError(f"{type(self).__name__}.{name}={value!r}: expected "
                                         f"{codec.types}")
        unknown = getattr(self, "unknown_fields")
        if not isinstance(unknown, (tuple, list)) or not all(
                isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], int)
                and type(p[1]) is bytes for p in unknown):
            raise LocalProtocolError("unknown_fields must hold (tag number, bytes) pairs")
        object.__setattr__(self, "unknown_fields", tuple(unknown))

    def __repr__(self) -> str:
        return redacted_repr(self)

    def encode(self) -> bytes:
        """BER encoding of the whole APDU, components in tag order."""
        parts = []
        for number, (name, codec) in sorted(self._FIELDS.items()):
            value = getattr(self, name)
            if value is not None:
                constructed, content = codec.encode(value)
                parts.append((number, ber.encode_element(TagClass.CONTEXT, constructed, number,
                                                         content)))
        # Merge the kept unknown elements in their own order, each after the known components
        # with a tag number not above its own (so a well-ordered input comes out unchanged).
        out = []
        for number, raw in getattr(self, "unknown_fields"):
            while parts and parts[0][0] <= number:
                out.append(parts.pop(0)[1])
            out.append(raw)
        body = b"".join(out) + b"".join(raw for _, raw in parts)
        return ber.encode_element(TagClass.APPLICATION, True, self._TAG & 0x1F, body)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode exactly one APDU of this type; anything else raises :class:`DecodeError`."""
        buf = data
        ber.need(buf, 0, 1, len(buf), cls.__name__)
        if buf[0] != cls._TAG:
            fail(buf, 0, Reason.UNKNOWN_TAG, f"expected {cls.__name__} tag {int(cls._TAG):#04x}")
        outer, end = ber.decode_element(buf, 0)
        if end != len(buf):
            fail(buf, end, Reason.TRAILING_DATA, f"bytes after the {cls.__name__}")
        try:
            return cls._decode_components(buf, outer)
        except DecodeError as error:
            if error.reason is not Reason.TRUNCATED:
                raise
            # The APDU's own length was satisfied, so a component that runs out of bytes has an
            # inconsistent length: report it as such, not as "need more data".
            raise DecodeError(error.message, data=error.data, offset=error.offset,
                              reason=Reason.BAD_LENGTH) from None

    @classmethod
    def _decode_components(cls, buf: Buffer, outer: Element) -> Self:
        values: dict[str, Any] = {}
        unknown = []
        for element in ber.decode_children(buf, outer):
            spec = cls._FIELDS.get(element.number) if element.tag_class is TagClass.CONTEXT \
                else None
            if spec is None:
                unknown.append((element.number, element.raw(buf)))
                continue
            name, codec = spec
            if name in values:
                fail(buf, element.start, Reason.BAD_VALUE, f"{name} occurs twice")
            values[name] = codec.decode(buf, element)
        missing = cls._REQUIRED - values.keys()
        if missing:
            fail(buf, 0, Reason.BAD_VALUE, f"{cls.__name__} lacks {', '.join(sorted(missing))}")
        return cls(unknown_fields=tuple(unknown), **values)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class AARQ(_AcseApdu):
    """A-ASSOCIATE request. ``calling_ap_title`` is the client system title when present."""

    _TAG: ClassVar[AcseTag] = AcseTag.AARQ
    _REQUIRED: ClassVar[frozenset[str]] = frozenset({"application_context_name"})

    protocol_version: BitString | None = None
    application_context_name: ApplicationContextName
    called_ap_title: bytes | None = None
    called_ae_qualifier: bytes | None = None
    called_ap_invocation_id: int | None = None
    called_ae_invocation_id: int | None = None
    calling_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    calling_ap_invocation_id: int | None = None
    calling_ae_invocation_id: int | None = None
    sender_acse_requirements: BitString | None = None
    mechanism_name: MechanismName | None = None
    calling_authentication_value: bytes | None = field(default=None, repr=False)
    implementation_information: bytes | None = None
    user_information: bytes | None = None
    unknown_fields: tuple[tuple[int, bytes], ...] = ()

    @property
    def initiate_request(self) -> InitiateRequest | None:
        """The user-information as an InitiateRequest, or None when absent or not plain."""
        return _plain(self.user_information, InitiateRequest)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class AARE(_AcseApdu):
    """A-ASSOCIATE response. ``user_information`` holds an InitiateResponse, a
    ConfirmedServiceError (tag 0x0E) or a ciphered initiate response."""

    _TAG: ClassVar[AcseTag] = AcseTag.AARE
    _REQUIRED: ClassVar[frozenset[str]] = frozenset(
        {"application_context_name", "result", "result_source_diagnostic"})

    protocol_version: BitString | None = None
    application_context_name: ApplicationContextName
    result: AssociationResult
    result_source_diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic
    responding_ap_title: bytes | None = None
    responding_ae_qualifier: bytes | None = None
    responding_ap_invocation_id: int | None = None
    responding_ae_invocation_id: int | None = None
    responder_acse_requirements: BitString | None = None
    mechanism_name: MechanismName | None = None
    responding_authentication_value: bytes | None = field(default=None, repr=False)
    implementation_information: bytes | None = None
    user_information: bytes | None = None
    unknown_fields: tuple[tuple[int, bytes], ...] = ()

    @property
    def initiate_response(self) -> InitiateResponse | None:
        """The user-information as an InitiateResponse, or None when absent or not plain."""
        return _plain(self.user_information, InitiateResponse)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class RLRQ(_AcseApdu):
    """A-RELEASE request."""

    _TAG: ClassVar[AcseTag] = AcseTag.RLRQ

    reason: ReleaseRequestReason | None = None
    user_information: bytes | None = None
    unknown_fields: tuple[tuple[int, bytes], ...] = ()

    @property
    def initiate_request(self) -> InitiateRequest | None:
        """The user-information as an InitiateRequest, or None when absent or not plain."""
        return _plain(self.user_information, InitiateRequest)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class RLRE(_AcseApdu):
    """A-RELEASE response."""

    _TAG: ClassVar[AcseTag] = AcseTag.RLRE

    reason: ReleaseResponseReason | None = None
    user_information: bytes | None = None
    unknown_fields: tuple[tuple[int, bytes], ...] = ()

    @property
    def initiate_response(self) -> InitiateResponse | None:
        """The user-information as an InitiateResponse, or None when absent or not plain."""
        return _plain(self.user_information, InitiateResponse)


def _plain(info: bytes | None, pdu: type) -> Any:
    if not info or info[0] != pdu.TAG:
        return None
    return pdu.decode(info)


AARQ._FIELDS = {
    0: ("protocol_version", _BIT_STRING),
    1: ("application_context_name", _CONTEXT_NAME),
    2: ("called_ap_title", _TITLE),
    3: ("called_ae_qualifier", _TITLE),
    4: ("called_ap_invocation_id", _INVOCATION_ID),
    5: ("called_ae_invocation_id", _INVOCATION_ID),
    6: ("calling_ap_title", _TITLE),
    7: ("calling_ae_qualifier", _TITLE),
    8: ("calling_ap_invocation_id", _INVOCATION_ID),
    9: ("calling_ae_invocation_id", _INVOCATION_ID),
    10: ("sender_acse_requirements", _BIT_STRING),
    11: ("mechanism_name", _MECHANISM),
    12: ("calling_authentication_value", _AUTH_VALUE),
    29: ("implementation_information", _GRAPHIC),
    30: ("user_information", _REQUEST_INFO),
}
AARE._FIELDS = {
    0: ("protocol_version", _BIT_STRING),
    1: ("application_context_name", _CONTEXT_NAME),
    2: ("result", _RESULT),
    3: ("result_source_diagnostic", _DIAGNOSTIC),
    4: ("responding_ap_title", _TITLE),
    5: ("responding_ae_qualifier", _TITLE),
    6: ("responding_ap_invocation_id", _INVOCATION_ID),
    7: ("responding_ae_invocation_id", _INVOCATION_ID),
    8: ("responder_acse_requirements", _BIT_STRING),
    9: ("mechanism_name", _MECHANISM),
    10: ("responding_authentication_value", _AUTH_VALUE),
    29: ("implementation_information", _GRAPHIC),
    30: ("user_information", _RESPONSE_INFO),
}
RLRQ._FIELDS = {0: ("reason", _reason(ReleaseRequestReason)),
                30: ("user_information", _REQUEST_INFO)}
RLRE._FIELDS = {0: ("reason", _reason(ReleaseResponseReason)),
                30: ("user_information", _RESPONSE_INFO)}

AcseApdu = AARQ | AARE | RLRQ | RLRE
_DISPATCH: dict[int, type[_AcseApdu]] = {
    AcseTag.AARQ: AARQ, AcseTag.AARE: AARE, AcseTag.RLRQ: RLRQ, AcseTag.RLRE: RLRE,
}


def decode_acse(data: Buffer) -> AcseApdu:
    """Decode any of the four ACSE APDUs, dispatching on the first byte."""
    ber.need(data, 0, 1, len(data), "ACSE APDU")
    cls = _DISPATCH.get(data[0])
    if cls is None:
        fail(data, 0, Reason.UNKNOWN_TAG, f"{data[0]:#04x} is not an ACSE APDU tag")
    return cls.decode(data)

