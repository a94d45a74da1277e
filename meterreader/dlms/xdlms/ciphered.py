"""Framing of the ciphered and signed APDUs (Green Book ed.9 ASN.1) — no cryptography.

* service-specific glo-/ded- APDUs (glo-get-request 0xC8 …): tag, then an OCTET STRING holding
  the security header (security control byte, invocation counter Unsigned32) and the ciphered
  text (ciphertext and/or authentication tag);
* general-glo-ciphering 0xDB / general-ded-ciphering 0xDC: system-title OCTET STRING, then the
  same ciphered content OCTET STRING;
* general-ciphering 0xDD and general-signing 0xDF: their SEQUENCEs of octet strings.

The security layer decrypts ``CipheredApdu.ciphered_text`` and feeds the plaintext back to
``decode_apdu``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, unique
from typing import ClassVar

from meterreader.dlms.errors import LocalProtocolError, Reason

from . import _wire as w
from .common import ApduTag

SECURITY_HEADER_LENGTH = 5  # security control (1) + invocation counter (4)

#: Tags whose body is a single OCTET STRING of security header + ciphered text.
SERVICE_SPECIFIC_CIPHERED_TAGS = frozenset({
    ApduTag.GLO_INITIATE_REQUEST, ApduTag.GLO_INITIATE_RESPONSE,
    ApduTag.GLO_CONFIRMED_SERVICE_ERROR, ApduTag.DED_INITIATE_REQUEST,
    ApduTag.DED_INITIATE_RESPONSE, ApduTag.DED_CONFIRMED_SERVICE_ERROR,
    ApduTag.GLO_GET_REQUEST, ApduTag.GLO_SET_REQUEST, ApduTag.GLO_EVENT_NOTIFICATION_REQUEST,
    ApduTag.GLO_ACTION_REQUEST, ApduTag.GLO_GET_RESPONSE, ApduTag.GLO_SET_RESPONSE,
    ApduTag.GLO_ACTION_RESPONSE, ApduTag.DED_GET_REQUEST, ApduTag.DED_SET_REQUEST,
    ApduTag.DED_EVENT_NOTIFICATION_REQUEST, ApduTag.DED_ACTION_REQUEST, ApduTag.DED_GET_RESPONSE,
    ApduTag.DED_SET_RESPONSE, ApduTag.DED_ACTION_RESPONSE,
})
#: Tags whose body is system-title OCTET STRING + ciphered content OCTET STRING.
GENERAL_CIPHERED_TAGS = frozenset({ApduTag.GENERAL_GLO_CIPHERING,
                                   ApduTag.GENERAL_DED_CIPHERING})


@dataclass(frozen=True, slots=True, kw_only=True)
class CipheredApdu:
    """A glo-/ded- service-specific or general-glo/ded-ciphering APDU, still ciphered.

    ``system_title`` is set for general-glo/ded-ciphering only. ``ciphered_text`` is everything
    after the security header (ciphertext and/or the authentication tag)."""

    tag: ApduTag
    system_title: bytes | None = None
    security_control: int
    invocation_counter: int
    ciphered_text: bytes

    @property
    def security_header(self) -> bytes:
        return w.u8(self.security_control, "security control") + w.u32(
            self.invocation_counter, "invocation counter")

    @property
    def content(self) -> bytes:
        """The ciphered-content octet string: security header + ciphered text."""
        return self.security_header + bytes(self.ciphered_text)

    def encode(self) -> bytes:
        if self.tag in GENERAL_CIPHERED_TAGS:
            if self.system_title is None:
                raise LocalProtocolError(f"{self.tag.name} needs a system_title")
            head = bytes((self.tag,)) + w.octet_string(self.system_title, "system-title")
        elif self.tag in SERVICE_SPECIFIC_CIPHERED_TAGS:
            if self.system_title is not None:
                raise LocalProtocolError(f"{self.tag.name} carries no system title")
            head = bytes((self.tag,))
        else:
            raise LocalProtocolError(f"{self.tag!r} is not a glo/ded ciphered APDU tag")
        return head + w.octet_string(self.content, "ciphered-content")

    @classmethod
    def decode(cls, data: bytes) -> "CipheredApdu":
        buf = bytes(data)
        raw_tag, offset = w.read_u8(buf, 0, "APDU tag")
        if raw_tag not in SERVICE_SPECIFIC_CIPHERED_TAGS | GENERAL_CIPHERED_TAGS:
            w.fail(buf, 0, Reason.UNEXPECTED, f"0x{raw_tag:02X} is not a glo/ded ciphered APDU")
        tag = ApduTag(raw_tag)
        system_title = None
        if tag in GENERAL_CIPHERED_TAGS:
            system_title, offset = w.read_octet_string(buf, offset, "system-title")
        start = offset
        content, offset = w.read_octet_string(buf, offset, "ciphered-content")
        if len(content) < SECURITY_HEADER_LENGTH:
            w.fail(buf, start, Reason.BAD_LENGTH,
                   f"ciphered content of {len(content)} byte(s) cannot hold the 5-byte "
                   "security header")
        w.expect_end(buf, offset, tag.name)
        return cls(tag=tag, system_title=system_title, security_control=content[0],
                   invocation_counter=int.from_bytes(content[1:5], "big"),
                   ciphered_text=content[5:])


# -- general-ciphering key info ---------------------------------------------------------------

@unique
class KeyInfoType(IntEnum):
    """The CHOICE of Key-Info."""

    IDENTIFIED_KEY = 0
    WRAPPED_KEY = 1
    AGREED_KEY = 2


@unique
class KeyId(IntEnum):
    GLOBAL_UNICAST_ENCRYPTION_KEY = 0
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1


@unique
class KekId(IntEnum):
    MASTER_KEY = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentifiedKey:
    """identified-key: the content key is one of the global keys."""

    TYPE: ClassVar[KeyInfoType] = KeyInfoType.IDENTIFIED_KEY
    key_id: KeyId

    def encode_body(self) -> bytes:
        return w.enum_byte(self.key_id, KeyId, "key-id")

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["IdentifiedKey", int]:
        key_id, offset = w.read_enum(buf, offset, KeyId, "key-id")
        return cls(key_id=key_id), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class WrappedKey:
    """wrapped-key: the content key wrapped with the key-encryption key."""

    TYPE: ClassVar[KeyInfoType] = KeyInfoType.WRAPPED_KEY
    kek_id: KekId = KekId.MASTER_KEY
    key_ciphered_data: bytes

    def encode_body(self) -> bytes:
        return (w.enum_byte(self.kek_id, KekId, "kek-id")
                + w.octet_string(self.key_ciphered_data, "key-ciphered-data"))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["WrappedKey", int]:
        kek_id, offset = w.read_enum(buf, offset, KekId, "kek-id")
        data, offset = w.read_octet_string(buf, offset, "key-ciphered-data")
        return cls(kek_id=kek_id, key_ciphered_data=data), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreedKey:
    """agreed-key: the content key comes from a key agreement."""

    TYPE: ClassVar[KeyInfoType] = KeyInfoType.AGREED_KEY
    key_parameters: bytes
    key_ciphered_data: bytes

    def encode_body(self) -> bytes:
        return (w.octet_string(self.key_parameters, "key-parameters")
                + w.octet_string(self.key_ciphered_data, "key-ciphered-data"))

    @classmethod
    def decode_from(cls, buf: bytes, offset: int) -> tuple["AgreedKey", int]:
        params, offset = w.read_octet_string(buf, offset, "key-parameters")
        data, offset = w.read_octet_string(buf, offset, "key-ciphered-data")
        return cls(key_parameters=params, key_ciphered_data=data), offset


KeyInfo = IdentifiedKey | WrappedKey | AgreedKey
_KEY_INFO = {KeyInfoType.IDENTIFIED_KEY: IdentifiedKey, KeyInfoType.WRAPPED_KEY: WrappedKey,
             KeyInfoType.AGREED_KEY: AgreedKey}

_GENERAL_HEADER = ("transaction_id", "originator_system_title", "recipient_system_title",
                   "date_time", "other_information")


def _encode_header(pdu: object) -> bytes:
    return b"".join(w.octet_string(getattr(pdu, name), name.replace("_", "-"))
                    for name in _GENERAL_HEADER)


def _decode_header(buf: bytes, offset: int) -> tuple[dict[str, bytes], int]:
    fields = {}
    for name in _GENERAL_HEADER:
        fields[name], offset = w.read_octet_string(buf, offset, name.replace("_", "-"))
    return fields, offset


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneralCiphering:
    """General-Ciphering (0xDD): transaction-id, originator/recipient system titles, date-time,
    other-information, optional key-info, ciphered-content (kept as received)."""

    TAG: ClassVar[ApduTag] = ApduTag.GENERAL_CIPHERING
    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes = b""
    date_time: bytes = b""
    other_information: bytes = b""
    key_info: KeyInfo | None = None
    ciphered_content: bytes

    def encode(self) -> bytes:
        if self.key_info is None:
            key = b"\x00"
        else:
            key = b"\x01" + bytes((self.key_info.TYPE,)) + self.key_info.encode_body()
        return (bytes((self.TAG,)) + _encode_header(self) + key
                + w.octet_string(self.ciphered_content, "ciphered-content"))

    @classmethod
    def decode(cls, data: bytes) -> "GeneralCiphering":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "General-Ciphering tag", Reason.UNEXPECTED)
        fields, offset = _decode_header(buf, offset)
        present, offset = w.read_present(buf, offset, "key-info")
        key_info = None
        if present:
            kind, offset = w.read_choice(buf, offset, KeyInfoType, "Key-Info")
            key_info, offset = _KEY_INFO[kind].decode_from(buf, offset)
        content, offset = w.read_octet_string(buf, offset, "ciphered-content")
        w.expect_end(buf, offset, "General-Ciphering")
        return cls(**fields, key_info=key_info, ciphered_content=content)


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneralSigning:
    """General-Signing (0xDF): the same header as General-Ciphering, content and signature."""

    TAG: ClassVar[ApduTag] = ApduTag.GENERAL_SIGNING
    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes = b""
    date_time: bytes = b""
    other_information: bytes = b""
    content: bytes
    signature: bytes = b""

    def encode(self) -> bytes:
        return (bytes((self.TAG,)) + _encode_header(self) + w.octet_string(self.content, "content")
                + w.octet_string(self.signature, "signature"))

    @classmethod
    def decode(cls, data: bytes) -> "GeneralSigning":
        buf = bytes(data)
        offset = w.expect_byte(buf, 0, cls.TAG, "General-Signing tag", Reason.UNEXPECTED)
        fields, offset = _decode_header(buf, offset)
        content, offset = w.read_octet_string(buf, offset, "content")
        signature, offset = w.read_octet_string(buf, offset, "signature")
        w.expect_end(buf, offset, "General-Signing")
        return cls(**fields, content=content, signature=signature)
