"""Verbose frame log of the meter simulator (``simulate -v``), secrets masked.

Every frame in and out (HDLC frame, wrapper packet, mode E sign-on line) is logged at DEBUG as hex
and decoded through :func:`meterreader.translator.translate`. An AARQ's calling-authentication-
value (the LLS password) is masked with ``*`` in the hex; the translator masks it in the decoded
APDU, and the raw information field of such a frame is left out of the decoded form. Nothing is
formatted while DEBUG is disabled.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from meterreader.dlms.acse import AARQ, AcseTag
from meterreader.dlms.connection import redact
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import LLC_COMMAND, LLC_RESPONSE, decode_frame
from meterreader.dlms.wrapper import HEADER_LENGTH, WRAPPER_VERSION
from meterreader.translator import TranslationError, translate

__all__ = ["WireLog", "masked"]


def masked(unit: bytes) -> bytes:
    """``unit`` (HDLC frame, wrapper packet, sign-on line) with an AARQ's password masked."""
    apdu, at = b"", 0
    if unit[:1] == b"\x7e":
        try:
            frame, _ = decode_frame(unit)
        except DlmsError:
            return unit
        info = frame.info
        skip = 3 if info[:3] in (LLC_COMMAND, LLC_RESPONSE) else 0
        apdu, at = info[skip:], len(unit) - 3 - len(info) + skip  # info ends before FCS, flag
    elif len(unit) > HEADER_LENGTH and int.from_bytes(unit[:2], "big") == WRAPPER_VERSION:
        apdu, at = unit[HEADER_LENGTH:], HEADER_LENGTH
    if apdu[:1] != bytes((AcseTag.AARQ,)):
        return unit
    try:
        AARQ.decode(apdu)
        clean = redact(apdu)
    except DlmsError:  # a segment or a broken AARQ: hide it all
        clean = b"*" * len(apdu)
    return unit[:at] + clean + unit[at + len(apdu):]


class WireLog:
    """Frames and notes of one client session, prefixed with the peer."""

    def __init__(self, logger: logging.Logger, peer: str) -> None:
        self.logger, self.peer = logger, peer

    def note(self, message: str, *args: Any) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(f"[{self.peer}] {message}", *args)

    def frame(self, direction: str, unit: bytes, note: str = "") -> None:
        """Log one unit; ``direction`` is "rx" or "tx"."""
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        shown = masked(unit)
        if unit[:1] in (b"/", b"\x06"):  # IEC 62056-21 sign-on text
            decoded = repr(shown)
        else:
            try:
                described = translate(unit)
                if shown != unit:  # the translator masks the APDU, not the raw info field
                    for frame in described.get("frames", ()):
                        frame.pop("info", None)
                decoded = json.dumps(described, ensure_ascii=False)
            except (TranslationError, DlmsError) as exc:
                decoded = f"(undecodable: {exc})"
        self.logger.debug("[%s] %s %s %s\n    %s", self.peer, direction,
                          shown.hex(" ").upper(), note, decoded)
