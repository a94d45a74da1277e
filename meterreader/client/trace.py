"""Short descriptions of frames and APDUs for the trace pane, and HDLC frame splitting for the
session's counters.

The trace callback of a session receives ``(direction, layer, data, description)``: direction
``"tx"``/``"rx"``, layer ``"hdlc"``, ``"wrapper"`` or ``"apdu"``. Secrets never reach it: the AARQ's
LLS password is masked (``*``) in the APDU and in the frame or packet that carries it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc.frame import FrameType, decode_frame, encode_frame
from meterreader.dlms.hdlc.params import parameters_from_info
from meterreader.dlms.xdlms import (GENERAL_CIPHERED_TAGS, SERVICE_SPECIFIC_CIPHERED_TAGS, ApduTag,
                                    decode_apdu)

__all__ = ["FrameTap", "Trace", "describe_apdu", "describe_frame", "mask", "split_frames"]

#: ``on_trace(direction, layer, data, description)``.
Trace = Callable[[str, str, bytes, str], None]

_FLAG = 0x7E
#: APDUs longer than this are described by their tag only (no second decode of big responses).
_DECODE_LIMIT = 512
_CIPHERED = SERVICE_SPECIFIC_CIPHERED_TAGS | GENERAL_CIPHERED_TAGS


def mask(data: bytes, secret: bytes | None) -> bytes:
    """``data`` with every occurrence of ``secret`` replaced by ``*`` bytes.

    An HDLC frame is masked inside its information field and re-encoded, so that its HCS/FCS
    still verify in the trace pane. A secret cut across segments is masked too: the start of the
    secret at the end of one frame's information and the rest at the start of the next."""
    if not secret:
        return data
    if data[:1] == bytes((_FLAG,)):
        try:
            frame, end = decode_frame(data)
        except DlmsError:
            frame, end = None, 0
        if frame is not None and end == len(data) and frame.info:
            info = _mask_edges(frame.info.replace(secret, b"*" * len(secret)), secret)
            if info != frame.info:
                return encode_frame(replace(frame, info=info))
            return data
    return data.replace(secret, b"*" * len(secret))


def _mask_edges(info: bytes, secret: bytes) -> bytes:
    """Mask a partial secret at either end of a segment: the longest tail of ``info`` that opens
    ``secret`` and the longest head of ``info`` that closes it."""
    for n in range(min(len(secret) - 1, len(info)), 0, -1):
        if info.endswith(secret[:n]):
            info = info[:-n] + b"*" * n
            break
    for n in range(min(len(secret) - 1, len(info)), 0, -1):
        if info.startswith(secret[-n:]):
            info = b"*" * n + info[n:]
            break
    return info


def _frame_end(buf: bytes | bytearray, start: int) -> int | None:
    """Index just after the closing flag of the frame opening at ``start``; None if incomplete."""
    if start + 3 > len(buf):
        return None
    length = ((buf[start + 1] & 0x07) << 8) | buf[start + 2]
    end = start + length + 2
    return end if end <= len(buf) else None


def split_frames(data: bytes) -> list[bytes]:
    """Our own well-formed HDLC output cut into frames (each with both flags)."""
    frames = []
    pos = 0
    while pos < len(data):
        end = _frame_end(data, pos) if data[pos] == _FLAG else None
        if end is None:
            frames.append(data[pos:])
            break
        frames.append(data[pos:end])
        pos = end
    return frames


class FrameTap:
    """Cuts received bytes into HDLC frames by their length field, only to count and trace them
    (the link does the real parsing). Noise before a plausible frame start is skipped; a shared
    closing/opening flag is accepted."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        pos = 0
        while True:
            start = _plausible_start(buf, pos)
            if start < 0:
                pos = len(buf) - 1 if buf and buf[-1] == _FLAG else len(buf)
                break
            end = _frame_end(buf, start)
            if end is None:
                pos = start
                break
            if buf[end - 1] != _FLAG:
                pos = start + 1
                continue
            frames.append(bytes(buf[start:end]))
            pos = end - 1  # the closing flag may open the next frame
        del buf[:pos]
        return frames


def _plausible_start(buf: bytearray, pos: int) -> int:
    while True:
        start = buf.find(_FLAG, pos)
        if start < 0 or start + 1 >= len(buf):
            return start
        if 0xA0 <= buf[start + 1] <= 0xAF:
            return start
        pos = start + 1


def describe_frame(raw: bytes) -> str:
    """E.g. ``"I N(S)=2 N(R)=3 P/F segmented, 2030 bytes"`` or ``"UA P/F 2030/2030 window 7/7"``."""
    try:
        frame, _ = decode_frame(raw)
    except DlmsError as exc:
        return f"bad frame: {getattr(exc, 'message', exc)}"
    kind = frame.frame_type
    parts = [kind.name]
    if kind is FrameType.I:
        parts.append(f"N(S)={frame.n_s} N(R)={frame.n_r}")
    elif kind in (FrameType.RR, FrameType.RNR):
        parts.append(f"N(R)={frame.n_r}")
    if frame.poll_final:
        parts.append("P/F")
    if frame.segmented:
        parts.append("segmented")
    if kind in (FrameType.SNRM, FrameType.UA) and frame.info:
        try:
            p = parameters_from_info(frame.info)
            parts.append(f"info {p.max_info_field_length_transmit}/"
                         f"{p.max_info_field_length_receive} window {p.window_size_transmit}/"
                         f"{p.window_size_receive}")
        except DlmsError:
            parts.append("bad parameters")
    elif frame.info:
        parts.append(f"{len(frame.info)} bytes")
    return " ".join(parts)


def describe_apdu(apdu: bytes) -> str:
    """E.g. ``"GetRequestNormal class 3 1.0.1.8.0.255 attribute 2"``; big APDUs by tag only."""
    if not apdu:
        return "empty APDU"
    try:
        tag = ApduTag(apdu[0])
    except ValueError:
        return f"unknown APDU tag 0x{apdu[0]:02X}, {len(apdu)} bytes"
    name = tag.name.lower().replace("_", "-")
    if len(apdu) > _DECODE_LIMIT:
        return f"{name}, {len(apdu)} bytes"
    if tag in _CIPHERED:
        return f"{name} (ciphered), {len(apdu)} bytes"
    try:
        pdu = decode_apdu(apdu)
    except DlmsError as exc:
        return f"{name} (does not decode: {getattr(exc, 'message', exc)})"
    parts = [type(pdu).__name__]
    attribute = getattr(pdu, "cosem_attribute_descriptor", None)
    method = getattr(pdu, "cosem_method_descriptor", None)
    if attribute is not None:
        parts.append(f"class {attribute.class_id} {attribute.instance_id} "
                     f"attribute {attribute.attribute_id}")
    elif method is not None:
        parts.append(f"class {method.class_id} {method.instance_id} method {method.method_id}")
    block = getattr(pdu, "block_number", None)
    if isinstance(block, int):
        parts.append(f"block {block}")
    result = getattr(pdu, "result", None)
    if hasattr(result, "name") and not hasattr(result, "block_number"):
        parts.append(str(result.name).lower().replace("_", "-"))
    return " ".join(parts)
