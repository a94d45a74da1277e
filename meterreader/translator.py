"""The PDU translator behind ``meterreader decode``: hex in, a JSON description of every layer out.

Layer detection (first match wins, ``layer=`` forces one):

* ``7E`` followed by a type-3 format byte → HDLC frame(s) (IEC 62056-46); I-frame information
  fields lose their LLC header and segmented frames are joined before the APDU is decoded;
* ``00 01`` with a length that matches → IEC 62056-47 wrapper packet(s);
* a first byte that is an APDU tag and decodes completely → xDLMS/ACSE APDU;
* otherwise → A-XDR ``Data``.

Errors are :class:`TranslationError` with one line naming the layer, the absolute byte offset in
the input and what was expected.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Callable

from meterreader.describe import to_json
from meterreader.dlms import axdr
from meterreader.dlms.errors import DecodeError, DlmsError
from meterreader.dlms.hdlc.frame import FrameType, HdlcFrame, decode_frame
from meterreader.dlms.security import (SecurityControl, SecurityError, SecurityKeys,
                                       unprotect_apdu)
from meterreader.dlms.hdlc.params import parameters_from_info
from meterreader.dlms.wrapper import HEADER_LENGTH, WRAPPER_VERSION, WrapperFrame
from meterreader.dlms.xdlms.apdu import decode_apdu
from meterreader.dlms.xdlms.ciphered import CipheredApdu
from meterreader.dlms.xdlms.common import ApduTag

LLC_HEADERS = {b"\xE6\xE6\x00": "command (client to server)",
               b"\xE6\xE7\x00": "response (server to client)"}
LAYERS = ("hdlc", "wrapper", "apdu", "data")
_SEPARATORS = re.compile(r"[\s:,;\-]+")


class TranslationError(Exception):
    """Input that cannot be translated; ``str()`` is the one-line message for the user."""


def parse_hex(text: str) -> bytes:
    """Hex text to bytes; spaces, colons, commas, dashes and a ``0x`` prefix are allowed."""
    cleaned = _SEPARATORS.sub("", text.strip())
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    for index, char in enumerate(cleaned):
        if char not in string.hexdigits:
            raise TranslationError(f"not hex: {char!r} at character {index} of the cleaned input")
    if len(cleaned) % 2:
        raise TranslationError(f"odd number of hex digits ({len(cleaned)}): a byte is incomplete")
    if not cleaned:
        raise TranslationError("no bytes to decode")
    return bytes.fromhex(cleaned)


def _error(layer: str, exc: DecodeError, base: int) -> TranslationError:
    return TranslationError(f"{layer}: {exc.message} at byte {base + exc.offset} "
                            f"({exc.reason.value})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Decryption:
    """What ``decode`` needs to open ciphered APDUs: keys and the sender's system title
    (service-specific glo-/ded- APDUs do not carry it)."""

    keys: SecurityKeys | None = None
    system_title: bytes | None = None


def describe_apdu(apdu_bytes: bytes, *, base: int = 0, where: str = "APDU",
                  decryption: Decryption | None = None) -> dict[str, Any]:
    try:
        apdu = decode_apdu(apdu_bytes)
    except DecodeError as exc:
        raise _error(where, exc, base) from None
    out = to_json(apdu)
    if isinstance(apdu, CipheredApdu):
        out["security_control"] = to_json(SecurityControl.from_byte(apdu.security_control))
        out.update(_open_ciphered(apdu_bytes, apdu, decryption or Decryption(), base))
    return out


def _open_ciphered(apdu_bytes: bytes, apdu: CipheredApdu, decryption: Decryption,
                   base: int) -> dict[str, Any]:
    """Decrypt and describe the inner APDU when keys are given, else say why we cannot."""
    if decryption.keys is None:
        return {"content": "encrypted: give --ek/--ak (and --system-title of the sender for "
                           "glo-/ded- APDUs) to decrypt"}
    if apdu.system_title is None and decryption.system_title is None:
        return {"content": "encrypted: this APDU does not carry the sender's system title; "
                           "give --system-title to decrypt"}
    try:
        opened = unprotect_apdu(apdu_bytes, keys=decryption.keys,
                                system_title=decryption.system_title)
    except SecurityError as exc:
        raise TranslationError(f"ciphered APDU at byte {base}: {exc}") from None
    except DlmsError as exc:
        raise TranslationError(f"ciphered APDU at byte {base}: cannot decrypt: "
                               f"{getattr(exc, 'message', exc)}") from None
    return {"content": "decrypted", "decrypted_apdu": describe_apdu(opened.apdu, where="inner APDU")}


def _describe_frame(frame: HdlcFrame, offset: int, length: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "offset": offset,
        "length": length,
        "destination": to_json(frame.destination),
        "source": to_json(frame.source),
        "control": {"frame_type": frame.frame_type.name, "poll_final": frame.poll_final,
                    "byte": f"{frame.control:02X}"},
        "segmented": frame.segmented,
    }
    if frame.frame_type is FrameType.I:
        out["control"]["n_s"] = frame.n_s
    if frame.frame_type in (FrameType.I, FrameType.RR, FrameType.RNR):
        out["control"]["n_r"] = frame.n_r
    if frame.info:
        out["info"] = frame.info.hex().upper()
    return out


def translate_hdlc(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    frames: list[dict[str, Any]] = []
    apdus: list[dict[str, Any]] = []
    pending = b""  # information of segments awaiting their last frame
    pending_at = 0
    pos = 0
    while pos < len(data):
        try:
            frame, end = decode_frame(data, pos)
        except DecodeError as exc:
            raise _error("HDLC", exc, pos) from None
        entry = _describe_frame(frame, pos, end - pos)
        frames.append(entry)
        if frame.frame_type in (FrameType.SNRM, FrameType.UA) and frame.info:
            try:
                entry["parameters"] = to_json(parameters_from_info(frame.info))
            except DecodeError as exc:
                raise _error("HDLC parameters", exc, end - 3 - len(frame.info)) from None
        elif frame.frame_type in (FrameType.I, FrameType.UI) and frame.info:
            if not pending:
                pending_at = end - 3 - len(frame.info)
            pending += frame.info
            if not frame.segmented:
                apdus.append(_describe_lsdu(pending, pending_at, decryption))
                pending = b""
        # Consecutive frames may share one flag or carry two (INTEROP.md).
        if end < len(data) and data[end] == 0x7E:
            pos = end
        elif end < len(data) and data[end] & 0xF0 == 0xA0:
            pos = end - 1
        else:
            pos = end
            if pos < len(data):
                raise TranslationError(f"HDLC: expected a 0x7E flag or another frame at byte {pos},"
                                       f" found {data[pos]:02X}")
    out: dict[str, Any] = {"layer": "hdlc", "frames": frames}
    if pending:
        out["incomplete_apdu"] = {"note": "last frame has the segmentation bit set: "
                                          "more segments expected", "bytes": pending.hex().upper()}
    if apdus:
        out["apdus"] = apdus
    return out


def _describe_lsdu(lsdu: bytes, base: int, decryption: Decryption | None) -> dict[str, Any]:
    llc = LLC_HEADERS.get(lsdu[:3])
    if llc is None:
        return {"llc": None, "apdu": describe_apdu(lsdu, base=base, decryption=decryption)}
    return {"llc": llc, "apdu": describe_apdu(lsdu[3:], base=base + 3, decryption=decryption)}


def translate_wrapper(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    packets = []
    pos = 0
    while pos < len(data):
        try:
            frame, end = WrapperFrame.decode(data, pos)
        except DecodeError as exc:
            raise _error("wrapper", exc, pos) from None
        packets.append({"offset": pos, "version": frame.version,
                        "source_wport": frame.source_wport,
                        "destination_wport": frame.destination_wport,
                        "length": len(frame.data),
                        "apdu": describe_apdu(frame.data, base=pos + HEADER_LENGTH,
                                             decryption=decryption)})
        pos = end
    return {"layer": "wrapper", "packets": packets}


def translate_apdu(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    return {"layer": "apdu", "apdu": describe_apdu(data, decryption=decryption)}


def translate_data(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    try:
        value, end = axdr.decode_data(data)
    except DecodeError as exc:
        raise _error("A-XDR data", exc, 0) from None
    if end != len(data):
        raise TranslationError(f"A-XDR data: a complete value ends at byte {end}, "
                               f"but {len(data) - end} more byte(s) follow")
    return {"layer": "data", "data": axdr.data_to_json(value)}


_TRANSLATORS: dict[str, Callable[[bytes, Decryption | None], dict[str, Any]]] = {
    "hdlc": translate_hdlc, "wrapper": translate_wrapper, "apdu": translate_apdu,
    "data": translate_data,
}


def detect_layer(data: bytes) -> str:
    """The layer ``data`` most plausibly belongs to (see the module docstring)."""
    if len(data) >= 2 and data[0] == 0x7E and data[1] & 0xF0 == 0xA0:
        return "hdlc"
    # 8+ bytes opening with 00 01 cannot be A-XDR data (null-data is one byte) nor an APDU.
    if len(data) >= HEADER_LENGTH and int.from_bytes(data[:2], "big") == WRAPPER_VERSION:
        return "wrapper"
    if data[0] in ApduTag._value2member_map_:
        try:
            decode_apdu(data)
            return "apdu"
        except DlmsError:
            pass
        try:
            value, end = axdr.decode_data(data)
            if end == len(data):
                return "data"
        except DlmsError:
            pass
        return "apdu"
    return "data"


def translate(text_or_bytes: str | bytes, *, layer: str | None = None,
              decryption: Decryption | None = None) -> dict[str, Any]:
    """Describe ``text_or_bytes`` (hex text or raw bytes); raises TranslationError."""
    data = parse_hex(text_or_bytes) if isinstance(text_or_bytes, str) else bytes(text_or_bytes)
    if not data:
        raise TranslationError("no bytes to decode")
    chosen = layer or detect_layer(data)
    if chosen not in _TRANSLATORS:
        raise TranslationError(f"unknown layer {chosen!r}; choose one of {', '.join(LAYERS)}")
    return _TRANSLATORS[chosen](data, decryption)
