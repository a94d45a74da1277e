"""Verbose frame log of the meter simulator (``simulate -v``), secrets masked.

Every frame in and out (HDLC frame, wrapper packet, mode E sign-on line) is logged at DEBUG as hex
and decoded through :func:`meterreader.translator.translate`, from the *masked* bytes. Nothing is
formatted while DEBUG is disabled. Secrets never reach the log:

* structurally, by ``*`` bytes: an AARQ's calling-authentication-value (the LLS password; the
  whole AARQ body when it does not decode, e.g. the first of its HDLC segments); the value of a
  SET of Association LN (class 15) attribute 7 (secret); the parameters of ACTION
  change_HLS_secret (class 15 method 2) and of every Security setup (class 64) method (key
  transfer …) — in every HDLC segment of such an APDU and in every datablock / pblock of such a
  block transfer. When the start of an APDU is too short to tell, it is masked;
* as a backstop, every occurrence of a secret the meter knows (``secrets()``: its LLS passwords,
  HLS keys, EK/AK, and every secret it has held since) is replaced wherever it appears: frames
  that do not decode and the text of notes included.

An HDLC frame whose information field was masked is shown re-encoded (its HCS/FCS recomputed).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Hashable, Iterable

from meterreader.dlms.acse import AARQ, AcseTag
from meterreader.dlms.axdr import decode_data, decode_length
from meterreader.dlms.connection import redact
from meterreader.dlms.errors import DlmsError, RemoteProtocolError
from meterreader.dlms.hdlc import (LLC_COMMAND, LLC_RESPONSE, FrameType, HdlcFrame, decode_frame,
                                   encode_frame)
from meterreader.dlms.wrapper import HEADER_LENGTH, WRAPPER_VERSION
from meterreader.dlms.xdlms import ApduTag
from meterreader.translator import TranslationError, translate

__all__ = ["WireLog", "describe_error", "mask_apdu_start"]

Secrets = Callable[[], Iterable[bytes]]

_AARQ = AcseTag.AARQ
_SET = ApduTag.SET_REQUEST
_ACTION = ApduTag.ACTION_REQUEST
_GENERAL_BLOCK_TRANSFER = ApduTag.GENERAL_BLOCK_TRANSFER  # its block data is masked
#: (class, attribute) whose SET value is a secret: Association LN secret.
SECRET_ATTRIBUTES = frozenset({(15, 7)})
_SECURITY_SETUP = 64
_DESCRIPTOR = 9  # class (2) + logical name (6) + attribute/method (1)
_HEADER = 3  # tag, request type, invoke-id-and-priority
_BLOCK_HEADER = _HEADER + 5  # ... then last-block (1) and block-number (4) of a DataBlock-SA


def _secret_method(class_id: int, method: int) -> bool:
    """change_HLS_secret of Association LN, or any method of Security setup."""
    return (class_id, method) == (15, 2) or class_id == _SECURITY_SETUP


def describe_error(exc: BaseException) -> str:
    """An error for the log without the bytes it carries (they may hold a secret)."""
    if isinstance(exc, RemoteProtocolError):
        return f"{exc.message} ({exc.reason.value}, at byte {exc.offset})"
    return f"{type(exc).__name__}: {exc}"


# -- the structural rules ---------------------------------------------------------------------

def _value_start(a: bytes, at: int) -> int:
    """Where to mask the optional-flag + Data at ``at``: only the contents of a short
    octet-string (so the APDU still decodes), else everything from the flag."""
    if len(a) > at + 2 and a[at] in (0, 1) and a[at + 1] == 0x09 and a[at + 2] < 0x80:
        return at + 3
    return at


def _descriptors(a: bytes, with_selection: bool) -> tuple[list[tuple[int, int]], int] | None:
    """(class, attribute/method) of a with-list request's descriptors and the offset after
    them; None when the bytes end (or break) first."""
    try:
        count, pos = decode_length(a, _HEADER)
        found = []
        for _ in range(count):
            if pos + _DESCRIPTOR + with_selection > len(a):
                return None
            found.append((int.from_bytes(a[pos:pos + 2], "big"), a[pos + 8]))
            pos += _DESCRIPTOR
            if with_selection:
                flag, pos = a[pos], pos + 1
                if flag:
                    _, pos = decode_data(a, pos + 1)  # selector, then its parameters
        return found, pos
    except (DlmsError, IndexError):
        return None


def _set_rule(a: bytes, in_transfer: bool) -> tuple[int | None, bool | None]:
    kind = a[1] if len(a) > 1 else 0
    if kind in (1, 2):  # normal, with first datablock
        if len(a) < _HEADER + _DESCRIPTOR:
            return _HEADER, kind == 2  # cannot tell: masked
        target = (int.from_bytes(a[3:5], "big"), a[11])
        if target not in SECRET_ATTRIBUTES:
            return None, False
        return (_value_start(a, 12) if kind == 1 else 12), kind == 2
    if kind == 3:  # with datablock: part of the transfer opened before
        last = len(a) > _HEADER and a[_HEADER] != 0
        return (_BLOCK_HEADER if in_transfer else None), (False if last else None)
    if kind in (4, 5):  # with list, with list and first datablock
        parsed = _descriptors(a, with_selection=True)
        if parsed is None:
            return _HEADER, kind == 5
        targets, end = parsed
        if not SECRET_ATTRIBUTES.intersection(targets):
            return None, False
        return end, kind == 5
    return _HEADER, None  # unknown request type: masked


def _action_rule(a: bytes, in_transfer: bool) -> tuple[int | None, bool | None]:
    kind = a[1] if len(a) > 1 else 0
    if kind in (1, 4):  # normal, with first pblock
        if len(a) < _HEADER + _DESCRIPTOR:
            return _HEADER, kind == 4
        if not _secret_method(int.from_bytes(a[3:5], "big"), a[11]):
            return None, False
        return (_value_start(a, 12) if kind == 1 else 12), kind == 4
    if kind == 2:  # next pblock (of the response): carries nothing
        return None, None
    if kind in (3, 5):  # with list, with list and first pblock
        parsed = _descriptors(a, with_selection=False)
        if parsed is None:
            return _HEADER, kind == 5
        targets, end = parsed
        if not any(_secret_method(c, m) for c, m in targets):
            return None, False
        return end, kind == 5
    if kind == 6:  # with pblock
        last = len(a) > _HEADER and a[_HEADER] != 0
        return (_BLOCK_HEADER if in_transfer else None), (False if last else None)
    return _HEADER, None


def mask_apdu_start(apdu: bytes, *, complete: bool, in_transfer: bool = False
                    ) -> tuple[bytes, bool, bool | None]:
    """Mask the secrets of a plain APDU, or of the first segment of one (``complete=False``).

    Returns (masked bytes, whether the APDU is sensitive — its later segments must be masked
    entirely —, and the new state of a sensitive SET/ACTION block transfer: True opened, False
    closed, None unchanged)."""
    if not apdu:
        return apdu, False, None
    tag = apdu[0]
    if tag == _AARQ:
        if complete:
            try:
                AARQ.decode(apdu)
                return redact(apdu), True, None
            except DlmsError:
                pass
        return apdu[:1] + b"*" * (len(apdu) - 1), True, None
    if tag == _SET:
        start, transfer = _set_rule(apdu, in_transfer)
    elif tag == _ACTION:
        start, transfer = _action_rule(apdu, in_transfer)
    elif tag == _GENERAL_BLOCK_TRANSFER:
        start, transfer = 6, None  # tag, block-control, block-number, block-number-ack
    else:
        return apdu, False, None
    if start is None:
        return apdu, False, transfer
    start = min(start, len(apdu))
    return apdu[:start] + b"*" * (len(apdu) - start), True, transfer


# -- the log ----------------------------------------------------------------------------------

class WireLog:
    """Frames and notes of one client session, prefixed with the peer (see the module
    docstring). ``secrets()`` returns the byte strings to mask wherever they appear."""

    def __init__(self, logger: logging.Logger, peer: str, secrets: Secrets = tuple) -> None:
        self.logger, self.peer, self.secrets = logger, peer, secrets
        self._segmented: dict[Hashable, bool] = {}  # HDLC LSDU in segments → sensitive
        self._transfers: dict[Hashable, bool] = {}  # sensitive SET/ACTION block transfer open

    def note(self, message: str, *args: Any) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            text = message % args if args else message
            self.logger.debug("[%s] %s", self.peer, self._scrub_text(text))

    def frame(self, direction: str, unit: bytes, note: str = "") -> None:
        """Log one unit; ``direction`` is "rx" or "tx"."""
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        shown = self.masked(direction, unit)
        if unit[:1] in (b"/", b"\x06"):  # IEC 62056-21 sign-on text
            decoded = repr(shown)
        else:
            try:
                decoded = json.dumps(translate(shown), ensure_ascii=False)
            except (TranslationError, DlmsError) as exc:
                decoded = f"(undecodable: {describe_error(exc)})"
        self.logger.debug("[%s] %s %s %s\n    %s", self.peer, direction, shown.hex(" ").upper(),
                          self._scrub_text(note), self._scrub_text(decoded))

    # -- masking --

    def masked(self, direction: str, unit: bytes) -> bytes:
        """``unit`` with its secrets masked (updates the segment / transfer state)."""
        if unit[:1] == b"\x7e":
            try:
                frame, end = decode_frame(unit)
            except DlmsError:
                return self._scrub(unit)
            if end == len(unit):
                return self._masked_frame(direction, frame, unit)
            return self._scrub(unit)
        if len(unit) > HEADER_LENGTH and int.from_bytes(unit[:2], "big") == WRAPPER_VERSION:
            key = (direction, unit[2:6])
            apdu, _, transfer = mask_apdu_start(unit[HEADER_LENGTH:], complete=True,
                                                in_transfer=self._transfers.get(key, False))
            self._track(key, transfer)
            return unit[:HEADER_LENGTH] + self._scrub(apdu)
        return self._scrub(unit)

    def _masked_frame(self, direction: str, frame: HdlcFrame, unit: bytes) -> bytes:
        if frame.frame_type not in (FrameType.I, FrameType.UI) or not frame.info:
            return unit
        key = (direction, frame.destination, frame.source)
        info = frame.info
        if key in self._segmented:  # a later segment
            sensitive = self._segmented.pop(key)
            masked = b"*" * len(info) if sensitive else info
        else:
            skip = 3 if info[:3] in (LLC_COMMAND, LLC_RESPONSE) else 0
            apdu, sensitive, transfer = mask_apdu_start(
                info[skip:], complete=not frame.segmented,
                in_transfer=self._transfers.get(key, False))
            self._track(key, transfer)
            masked = info[:skip] + apdu
        if frame.segmented:
            self._segmented[key] = sensitive
        masked = self._scrub(masked)
        if masked == info:
            return unit
        return encode_frame(HdlcFrame(
            destination=frame.destination, source=frame.source, frame_type=frame.frame_type,
            poll_final=frame.poll_final, n_s=frame.n_s, n_r=frame.n_r,
            segmented=frame.segmented, info=masked))

    def _track(self, key: Hashable, transfer: bool | None) -> None:
        if transfer is not None:
            self._transfers[key] = transfer

    def _known(self) -> list[bytes]:
        return sorted((bytes(s) for s in self.secrets() if s), key=len, reverse=True)

    def _scrub(self, data: bytes) -> bytes:
        """The backstop: every known secret replaced by ``*`` bytes."""
        for secret in self._known():
            if secret in data:
                data = data.replace(secret, b"*" * len(secret))
        return data

    def _scrub_text(self, text: str) -> str:
        for secret in self._known():
            forms = {secret.hex(), secret.hex().upper(), secret.hex(" "), secret.hex(" ").upper()}
            try:
                forms.add(secret.decode("ascii"))
            except UnicodeDecodeError:
                pass
            for form in sorted(forms, key=len, reverse=True):
                if form and form in text:
                    text = text.replace(form, "*" * len(form))
        return text
