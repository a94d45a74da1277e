"""The PDU translator behind ``meterreader decode``: hex in, a JSON description of every layer out.

Layer detection (``layer=`` forces one):

* ``7E`` (after any noise) followed by a type-3 format byte → HDLC frame(s) (IEC 62056-46);
  I-frame information fields lose their LLC header and segmented frames are joined before the
  APDU is decoded; extra flags between, before and after frames are accepted (INTEROP.md);
* ``00 01`` and at least 8 bytes → IEC 62056-47 wrapper packet(s);
* a first byte that is an APDU tag → xDLMS/ACSE APDU, else A-XDR ``Data``. Tags that are both
  (0x01 array / InitiateRequest, 0x0F integer / DataNotification …) go to whichever decodes; when
  both fail, the error of the one that got further is reported.

Errors are :class:`TranslationError`: one line naming the layer, the byte offset in the input
(``.offset``) and what was expected.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Callable

from meterreader.describe import to_json
from meterreader.dlms import axdr
from meterreader.dlms.errors import DecodeError, DlmsError
from meterreader.dlms.hdlc.frame import FrameType, HdlcFrame, decode_frame
from meterreader.dlms.hdlc.params import parameters_from_info
from meterreader.dlms.security import (SecurityControl, SecurityError, SecurityKeys,
                                       unprotect_apdu)
from meterreader.dlms.wrapper import HEADER_LENGTH, WRAPPER_VERSION, WrapperFrame
from meterreader.dlms.xdlms.apdu import decode_apdu
from meterreader.dlms.xdlms.ciphered import CipheredApdu
from meterreader.dlms.xdlms.common import ApduTag

LLC_HEADERS = {b"\xE6\xE6\x00": "command (client to server)",
               b"\xE6\xE7\x00": "response (server to client)"}
LAYERS = ("hdlc", "wrapper", "apdu", "data")
FLAG = 0x7E
_SEPARATORS = frozenset(" \t\r\n:,;-_")

#: Maps an offset inside a decoded unit (APDU, value) to the offset in the user's input.
Locator = Callable[[int], int]


class TranslationError(Exception):
    """Input that cannot be translated; ``str()`` is the one-line message for the user."""

    def __init__(self, message: str, offset: int = -1) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True, kw_only=True)
class Decryption:
    """What ``decode`` needs to open ciphered APDUs: keys and the sender's system title
    (service-specific glo-/ded- APDUs do not carry it)."""

    keys: SecurityKeys | None = None
    system_title: bytes | None = None


def parse_hex(text: str) -> bytes:
    """Hex text to bytes. Spaces, newlines, ``:,;-_`` and ``0x`` before any byte are ignored;
    errors name the column (1-based) in ``text``."""
    digits: list[str] = []
    last_column = 0
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _SEPARATORS:
            i += 1
            continue
        if (char == "0" and i + 1 < n and text[i + 1] in "xX"
                and (i == 0 or text[i - 1] in _SEPARATORS)):
            i += 2
            continue
        if char not in string.hexdigits:
            raise TranslationError(f"not hex: {char!r} at column {i + 1} of the input")
        digits.append(char)
        last_column = i + 1
        i += 1
    if not digits:
        raise TranslationError("no bytes to decode")
    if len(digits) % 2:
        raise TranslationError(f"odd number of hex digits ({len(digits)}): the digit at column "
                               f"{last_column} has no partner")
    return bytes.fromhex("".join(digits))


def _error(layer: str, exc: DecodeError, at: int) -> TranslationError:
    return TranslationError(f"{layer}: {exc.message} at byte {at} ({exc.reason.value})", at)


# --- APDUs ------------------------------------------------------------------------------------

def describe_apdu(apdu_bytes: bytes, *, locate: Locator = lambda o: o, where: str = "APDU",
                  decryption: Decryption | None = None) -> dict[str, Any]:
    """JSON description of one APDU; ciphered ones are opened when ``decryption`` allows."""
    try:
        apdu = decode_apdu(apdu_bytes)
    except DecodeError as exc:
        raise _error(where, exc, locate(exc.offset)) from None
    out = to_json(apdu)
    if getattr(apdu, "user_information", None):
        out.update(_describe_user_information(apdu, decryption, locate(0)))
    if isinstance(apdu, CipheredApdu):
        control = SecurityControl.from_byte(apdu.security_control)
        out["security_control"] = to_json(control)
        if not control.encrypted and apdu.tag in _INITIATE_REQUEST_TAGS:
            out["ciphered_text"] = SECRET_MASK  # plaintext that may carry a dedicated key
        out.update(_open_ciphered(apdu_bytes, apdu, decryption or Decryption(), locate(0)))
    return out


SECRET_MASK = "*** (not shown: may carry a dedicated key)"
_INITIATE_REQUEST_TAGS = frozenset({ApduTag.GLO_INITIATE_REQUEST, ApduTag.DED_INITIATE_REQUEST})


def _describe_user_information(apdu: Any, decryption: Decryption | None, at: int
                               ) -> dict[str, Any]:
    """The xDLMS Initiate PDU inside an AARQ/AARE/RLRQ/RLRE: plain, or opened with the keys
    (the system title is the sender's AP title)."""
    out: dict[str, Any] = {}
    for name in ("initiate_request", "initiate_response"):
        inner = getattr(apdu, name, None)
        if inner is not None:
            out[name] = to_json(inner)
            if getattr(inner, "dedicated_key", None):
                out["user_information"] = SECRET_MASK
    raw = apdu.user_information
    if raw[0] in ApduTag._value2member_map_ and isinstance(decode_apdu_safe(raw), CipheredApdu):
        title = getattr(apdu, "calling_ap_title", None) or getattr(apdu, "responding_ap_title", None)
        chosen = Decryption(keys=(decryption or Decryption()).keys,
                            system_title=title or (decryption and decryption.system_title))
        out["user_information"] = describe_apdu(raw, decryption=chosen,
                                                where=f"user-information of byte {at}")
    return out


def decode_apdu_safe(data: bytes) -> Any:
    try:
        return decode_apdu(data)
    except DlmsError:
        return None


def _open_ciphered(apdu_bytes: bytes, apdu: CipheredApdu, decryption: Decryption,
                   at: int) -> dict[str, Any]:
    """Decrypt and describe the inner APDU when keys are given, else say why we cannot."""
    if decryption.keys is None:
        return {"content": "encrypted: give --ek/--ak (and --system-title of the sender for "
                           "glo-/ded- APDUs) to decrypt"}
    if apdu.system_title is None and decryption.system_title is None:
        return {"content": "encrypted: this APDU does not carry the sender's system title; "
                           "give --system-title to decrypt"}
    authenticated = SecurityControl.from_byte(apdu.security_control).authenticated
    try:
        opened = unprotect_apdu(apdu_bytes, keys=decryption.keys,
                                system_title=decryption.system_title)
    except SecurityError as exc:
        raise TranslationError(f"ciphered APDU at byte {at}: {exc}", at) from None
    except DlmsError as exc:
        hint = "" if authenticated else (" — wrong key? encryption-only APDUs carry no "
                                         "authentication tag, so a wrong key shows up only here")
        raise TranslationError(f"ciphered APDU at byte {at}: cannot decrypt: "
                               f"{getattr(exc, 'message', exc)}{hint}", at) from None
    try:
        inner = describe_apdu(opened.apdu, where=f"inner APDU of byte {at}")
    except TranslationError as exc:
        if authenticated:
            raise
        raise TranslationError(f"{exc} — wrong key? encryption-only APDUs carry no "
                               "authentication tag", exc.offset) from None
    content = "decrypted" if authenticated else (
        "decrypted, not authenticated (encryption only: a wrong key cannot be detected)")
    return {"content": content, "decrypted_apdu": inner}


# --- HDLC -------------------------------------------------------------------------------------

def _describe_frame(frame: HdlcFrame, offset: int, length: int) -> dict[str, Any]:
    control: dict[str, Any] = {"frame_type": frame.frame_type.name,
                               "poll_final": frame.poll_final, "byte": f"{frame.control:02X}"}
    if frame.frame_type is FrameType.I:
        control["n_s"] = frame.n_s
    if frame.frame_type in (FrameType.I, FrameType.RR, FrameType.RNR):
        control["n_r"] = frame.n_r
    out: dict[str, Any] = {"offset": offset, "length": length,
                           "destination": to_json(frame.destination),
                           "source": to_json(frame.source), "control": control,
                           "segmented": frame.segmented}
    if frame.info:
        out["info_length"] = len(frame.info)
        if frame.frame_type not in (FrameType.I, FrameType.UI):  # I/UI: see "apdus" (masked)
            out["info"] = frame.info.hex().upper()
    return out


def _is_frame_start(data: bytes, pos: int) -> bool:
    return data[pos] == FLAG and pos + 1 < len(data) and data[pos + 1] & 0xF0 == 0xA0


def _first_frame_start(data: bytes) -> int:
    pos = data.find(FLAG)
    while pos >= 0 and not _is_frame_start(data, pos):
        pos = data.find(FLAG, pos + 1)
    return pos


class _Segments:
    """Information fields of one segmented LSDU, remembering where each came from."""

    def __init__(self) -> None:
        self.data = b""
        self.origins: list[tuple[int, int]] = []  # (offset in LSDU, offset in input)

    def add(self, info: bytes, input_offset: int) -> None:
        self.origins.append((len(self.data), input_offset))
        self.data += info

    def locate(self, lsdu_offset: int) -> int:
        start, origin = max((o for o in self.origins if o[0] <= lsdu_offset), default=(0, 0))
        return origin + lsdu_offset - start


def translate_hdlc(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    frames: list[dict[str, Any]] = []
    apdus: list[dict[str, Any]] = []
    out: dict[str, Any] = {"layer": "hdlc"}
    pos = _first_frame_start(data)
    if pos < 0:
        raise TranslationError("HDLC: no frame start (0x7E followed by A0..AF) in the input", 0)
    if pos:
        out["skipped"] = {"offset": 0, "bytes": data[:pos].hex().upper(),
                          "note": "noise or extra flags before the first frame"}
    segments = _Segments()
    while True:
        try:
            frame, end = decode_frame(data, pos)
        except DecodeError as exc:
            raise _error("HDLC", exc, pos + exc.offset) from None
        entry = _describe_frame(frame, pos, end - pos)
        frames.append(entry)
        info_at = end - 3 - len(frame.info)  # the info field ends before FCS and flag
        if frame.frame_type in (FrameType.SNRM, FrameType.UA) and frame.info:
            try:
                entry["parameters"] = to_json(parameters_from_info(frame.info))
            except DecodeError as exc:
                raise _error("HDLC parameters", exc, info_at + exc.offset) from None
        elif frame.frame_type in (FrameType.I, FrameType.UI) and frame.info:
            segments.add(frame.info, info_at)
            if not frame.segmented:
                apdus.append(_describe_lsdu(segments, decryption))
                segments = _Segments()
        # Consecutive frames may share one flag or carry two; extra flags may trail (INTEROP.md).
        nxt = end
        while nxt < len(data) and data[nxt] == FLAG:
            nxt += 1
        if nxt == len(data):
            break
        if data[nxt] & 0xF0 != 0xA0:
            raise TranslationError(f"HDLC: expected another frame or a 0x7E flag at byte {nxt},"
                                   f" found {data[nxt]:02X}", nxt)
        pos = nxt - 1
    out["frames"] = frames
    if segments.data:
        out["incomplete_apdu"] = {"note": "last frame has the segmentation bit set: "
                                          "more segments expected",
                                  "length": len(segments.data)}
    if apdus:
        out["apdus"] = apdus
    return out


def _describe_lsdu(segments: _Segments, decryption: Decryption | None) -> dict[str, Any]:
    lsdu = segments.data
    llc = LLC_HEADERS.get(lsdu[:3])
    skip = 3 if llc else 0
    return {"llc": llc, "apdu": describe_apdu(lsdu[skip:], decryption=decryption,
                                              locate=lambda o: segments.locate(o + skip))}


# --- wrapper, APDU, data ------------------------------------------------------------------------

def translate_wrapper(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    packets = []
    pos = 0
    while pos < len(data):
        try:
            frame, end = WrapperFrame.decode(data, pos)
        except DecodeError as exc:
            raise _error("wrapper", exc, pos + exc.offset) from None
        base = pos + HEADER_LENGTH
        packets.append({"offset": pos, "version": frame.version,
                        "source_wport": frame.source_wport,
                        "destination_wport": frame.destination_wport,
                        "length": len(frame.data),
                        "apdu": describe_apdu(frame.data, decryption=decryption,
                                              locate=lambda o, b=base: b + o)})
        pos = end
    return {"layer": "wrapper", "packets": packets}


def translate_apdu(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    return {"layer": "apdu", "apdu": describe_apdu(data, decryption=decryption)}


def translate_data(data: bytes, decryption: Decryption | None = None) -> dict[str, Any]:
    try:
        value, end = axdr.decode_data(data)
    except DecodeError as exc:
        raise _error("A-XDR data", exc, exc.offset) from None
    if end != len(data):
        raise TranslationError(f"A-XDR data: a complete value ends at byte {end}, "
                               f"but {len(data) - end} more byte(s) follow", end)
    return {"layer": "data", "data": axdr.data_to_json(value)}


_TRANSLATORS: dict[str, Callable[[bytes, Decryption | None], dict[str, Any]]] = {
    "hdlc": translate_hdlc, "wrapper": translate_wrapper, "apdu": translate_apdu,
    "data": translate_data,
}


def detect_layer(data: bytes) -> str:
    """The layer ``data`` most plausibly belongs to (see the module docstring); ``"apdu|data"``
    for a first byte that is both an APDU tag and an A-XDR tag."""
    if data[0] == FLAG:
        return "hdlc"
    # 8+ bytes opening with 00 01 cannot be A-XDR data (null-data is one byte) nor an APDU.
    if len(data) >= HEADER_LENGTH and int.from_bytes(data[:2], "big") == WRAPPER_VERSION:
        return "wrapper"
    is_apdu = data[0] in ApduTag._value2member_map_
    is_data = data[0] in axdr.DataTag._value2member_map_
    if is_apdu and is_data:
        return "apdu|data"
    return "apdu" if is_apdu else "data"


def translate(text_or_bytes: str | bytes, *, layer: str | None = None,
              decryption: Decryption | None = None) -> dict[str, Any]:
    """Describe ``text_or_bytes`` (hex text or raw bytes); raises TranslationError."""
    data = parse_hex(text_or_bytes) if isinstance(text_or_bytes, str) else bytes(text_or_bytes)
    if not data:
        raise TranslationError("no bytes to decode")
    chosen = layer or detect_layer(data)
    if chosen == "apdu|data":
        return _translate_ambiguous(data, decryption)
    if chosen not in _TRANSLATORS:
        raise TranslationError(f"unknown layer {chosen!r}; choose one of {', '.join(LAYERS)}")
    return _TRANSLATORS[chosen](data, decryption)


def _translate_ambiguous(data: bytes, decryption: Decryption | None) -> dict[str, Any]:
    """Try the APDU reading, then the A-XDR one; report the failure that got further."""
    errors = []
    for attempt in (translate_apdu, translate_data):
        try:
            return attempt(data, decryption)
        except TranslationError as exc:
            errors.append(exc)
    raise max(errors, key=lambda e: e.offset)
