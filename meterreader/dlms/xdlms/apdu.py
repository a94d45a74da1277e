"""Decode any COSEM APDU by its tag (Green Book ed.9 ASN.1, xDLMS-APDU and ACSE-APDU CHOICEs).

``decode_apdu(data)`` looks the first byte up in a dict keyed by :class:`ApduTag` and hands the
whole APDU to that type's ``decode``. The ACSE APDUs (AARQ, AARE, RLRQ, RLRE) and the
InitiateRequest/InitiateResponse live in ``meterreader.dlms.acse`` / ``meterreader.dlms.initiate``
and are imported lazily, on first use. Ciphered APDUs come back as :class:`CipheredApdu`,
:class:`GeneralCiphering` or :class:`GeneralSigning`, undeciphered.
"""

from __future__ import annotations

import importlib
from typing import Callable, Protocol

from meterreader.dlms.errors import Reason

from . import _wire as w
from .action import ActionRequest, ActionResponse
from .ciphered import (GENERAL_CIPHERED_TAGS, SERVICE_SPECIFIC_CIPHERED_TAGS, CipheredApdu,
                       GeneralCiphering, GeneralSigning)
from .common import ApduTag
from .errors_pdu import ConfirmedServiceError, ExceptionResponse
from .gbt import GeneralBlockTransfer
from .get import GetRequest, GetResponse
from .notification import DataNotification, EventNotificationRequest
from .set import SetRequest, SetResponse


class Apdu(Protocol):
    """Anything decode_apdu returns: a frozen PDU that can encode itself."""

    def encode(self) -> bytes: ...


def _lazy(module: str, name: str) -> Callable[[bytes], Apdu]:
    """A decoder that imports ``module`` only when first called (it may be written later)."""
    def decode(data: bytes) -> Apdu:
        cls = getattr(importlib.import_module(module), name)
        return cls.decode(data)
    decode.__name__ = f"decode_{name}"
    return decode


_DECODERS: dict[ApduTag, Callable[[bytes], Apdu]] = {
    ApduTag.AARQ: _lazy("meterreader.dlms.acse", "AARQ"),
    ApduTag.AARE: _lazy("meterreader.dlms.acse", "AARE"),
    ApduTag.RLRQ: _lazy("meterreader.dlms.acse", "RLRQ"),
    ApduTag.RLRE: _lazy("meterreader.dlms.acse", "RLRE"),
    ApduTag.INITIATE_REQUEST: _lazy("meterreader.dlms.initiate", "InitiateRequest"),
    ApduTag.INITIATE_RESPONSE: _lazy("meterreader.dlms.initiate", "InitiateResponse"),
    ApduTag.CONFIRMED_SERVICE_ERROR: ConfirmedServiceError.decode,
    ApduTag.DATA_NOTIFICATION: DataNotification.decode,
    ApduTag.GET_REQUEST: GetRequest.decode,
    ApduTag.GET_RESPONSE: GetResponse.decode,
    ApduTag.SET_REQUEST: SetRequest.decode,
    ApduTag.SET_RESPONSE: SetResponse.decode,
    ApduTag.ACTION_REQUEST: ActionRequest.decode,
    ApduTag.ACTION_RESPONSE: ActionResponse.decode,
    ApduTag.EVENT_NOTIFICATION_REQUEST: EventNotificationRequest.decode,
    ApduTag.EXCEPTION_RESPONSE: ExceptionResponse.decode,
    ApduTag.GENERAL_CIPHERING: GeneralCiphering.decode,
    ApduTag.GENERAL_SIGNING: GeneralSigning.decode,
    ApduTag.GENERAL_BLOCK_TRANSFER: GeneralBlockTransfer.decode,
    **{tag: CipheredApdu.decode for tag in SERVICE_SPECIFIC_CIPHERED_TAGS | GENERAL_CIPHERED_TAGS},
}
assert set(_DECODERS) == set(ApduTag), "every ApduTag needs a decoder"

#: Tags decoded by the ACSE/initiate modules rather than by this package.
ACSE_TAGS = frozenset({ApduTag.AARQ, ApduTag.AARE, ApduTag.RLRQ, ApduTag.RLRE,
                       ApduTag.INITIATE_REQUEST, ApduTag.INITIATE_RESPONSE})


def decode_apdu(data: bytes) -> Apdu:
    """Decode one complete APDU. Raises DecodeError (TRUNCATED, UNKNOWN_TAG, TRAILING_DATA …)."""
    buf = bytes(data)
    raw, _ = w.read_u8(buf, 0, "APDU tag")
    try:
        tag = ApduTag(raw)
    except ValueError:
        w.fail(buf, 0, Reason.UNKNOWN_TAG, f"0x{raw:02X} is not an APDU tag")
    return _DECODERS[tag](buf)


def encode_apdu(apdu: Apdu) -> bytes:
    """The bytes of ``apdu`` (same as ``apdu.encode()``)."""
    return apdu.encode()
