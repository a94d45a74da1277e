"""Probes and their classification: the bytes a finder sends (SNRM, wrapper AARQ, mode E request)
and :func:`classify_answer` for what comes back. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from meterreader.dlms.acse import AARQ, ApplicationContextName
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import (FrameReader, FrameType, HdlcAddress, HdlcFrame, HdlcParameters,
                                   encode_frame, encode_parameters)
from meterreader.dlms.initiate import Conformance, InitiateRequest
from meterreader.dlms.wrapper import HEADER_LENGTH, WRAPPER_VERSION, WrapperFrame
from meterreader.finder.model import AnswerKind
from meterreader.transport.mode_e import parse_identification

__all__ = ["PUBLIC_CLIENT", "SERVER_ADDRESSES", "ServerCandidate", "classify_answer",
           "decode_frames", "disc_frame", "echoes", "first_frame", "public_aarq", "snrm_frame",
           "strip_echo", "wrapper_aarq"]

#: IEC 62056-46 / Green Book: the public client's SAP.
PUBLIC_CLIENT = 16

_KINDS = {FrameType.UA: AnswerKind.UA, FrameType.DM: AnswerKind.DM,
          FrameType.FRMR: AnswerKind.FRMR}


def snrm_frame(server: HdlcAddress, client_sap: int = PUBLIC_CLIENT,
               parameters: HdlcParameters | None = None) -> bytes:
    """An SNRM (poll bit set) from ``client_sap`` to ``server``; with ``parameters`` the
    information field proposes them (IEC 62056-46 SNRM/UA negotiation), else it has none."""
    info = encode_parameters(parameters) if parameters is not None else b""
    return encode_frame(HdlcFrame(destination=server, source=HdlcAddress.client(client_sap),
                                  frame_type=FrameType.SNRM, poll_final=True, info=info))


def disc_frame(server: HdlcAddress, client_sap: int = PUBLIC_CLIENT) -> bytes:
    """A DISC (poll bit set) from ``client_sap`` to ``server``: ends the link a probe opened."""
    return encode_frame(HdlcFrame(destination=server, source=HdlcAddress.client(client_sap),
                                  frame_type=FrameType.DISC, poll_final=True))


def public_aarq() -> bytes:
    """An AARQ for the public client: LN referencing, no security, minimal conformance."""
    conformance = (Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
                   | Conformance.SELECTIVE_ACCESS | Conformance.MULTIPLE_REFERENCES)
    initiate = InitiateRequest(proposed_conformance=conformance, client_max_receive_pdu_size=0xFFFF)
    return AARQ(application_context_name=ApplicationContextName.LN,
                user_information=initiate.encode()).encode()


def wrapper_aarq(server_wport: int = 1, client_wport: int = PUBLIC_CLIENT) -> bytes:
    """A wrapper packet carrying :func:`public_aarq` from ``client_wport`` to ``server_wport``."""
    return WrapperFrame(source_wport=client_wport, destination_wport=server_wport,
                        data=public_aarq()).encode()


def decode_frames(data: bytes) -> list[HdlcFrame]:
    """Every valid HDLC frame in ``data`` (noise and bad frames skipped). Raises nothing."""
    try:
        return [item for item in FrameReader().feed(bytes(data)) if isinstance(item, HdlcFrame)]
    except DlmsError:
        return []


def first_frame(data: bytes) -> HdlcFrame | None:
    """The first valid HDLC frame in ``data``, or None."""
    frames = decode_frames(data)
    return frames[0] if frames else None


def _is_wrapper(data: bytes) -> bool:
    if len(data) < HEADER_LENGTH:
        return False
    try:
        WrapperFrame.decode(data)
    except DlmsError:
        return False
    return int.from_bytes(data[:2], "big") == WRAPPER_VERSION


def strip_echo(data: bytes, tx: bytes) -> tuple[bytes, bool]:
    """``data`` without a leading echo of ``tx`` (RS-485 and optical heads echo what we send),
    and whether there was one. A ``data`` that is only the start of ``tx`` is all echo."""
    data, tx = bytes(data), bytes(tx)
    if not tx or not data:
        return data, False
    if data.startswith(tx):
        return data[len(tx):], True
    if len(data) >= 4 and tx.startswith(data):
        return b"", True
    return data, False


def _ours(frame: HdlcFrame, probe: HdlcFrame | None) -> bool:
    """True when ``frame`` answers ``probe``: addressed to its client from its server."""
    return probe is None or (frame.destination == probe.source
                             and frame.source == probe.destination)


def classify_answer(data: bytes, tx: bytes = b"") -> AnswerKind:
    """What ``data`` (everything received after one probe) is: the first valid HDLC frame's kind
    (UA, DM, FRMR or OTHER_FRAME), a WRAPPER packet, an IEC 62056-21 identification
    (MODE_E_IDENT), GARBAGE (bytes, none of those) or SILENCE (no bytes).

    With ``tx`` (the probe sent) a leading echo of it is dropped first (SILENCE when nothing
    else came), and when ``tx`` is an HDLC frame only frames addressed to its client from its
    server count (an echoed copy of the probe, or another station's traffic, is not an
    answer: OTHER_FRAME when nothing else came). Raises nothing."""
    data, _echo = strip_echo(data, tx)
    if not data:
        return AnswerKind.SILENCE
    probe = first_frame(tx) if tx else None
    frames = decode_frames(data)
    if frames:
        ours = [f for f in frames if _ours(f, probe)]
        if ours:
            return _KINDS.get(ours[0].frame_type, AnswerKind.OTHER_FRAME)
        if not all(probe is not None and f == probe for f in frames):
            return AnswerKind.OTHER_FRAME
        # Only echoed copies of the probe: silence, or noise around them.
        return AnswerKind.GARBAGE if _has_other_bytes(data) else AnswerKind.SILENCE
    if _is_wrapper(data):
        return AnswerKind.WRAPPER
    for line in data.split(b"\r\n")[:-1] or [data]:
        if parse_identification(line) is not None:
            return AnswerKind.MODE_E_IDENT
    # 7-bit identification read as 8N1 on a 7E1 line: strip the parity bits and look again.
    stripped = bytes(b & 0x7F for b in data)
    if stripped != data and any(parse_identification(line) is not None
                                for line in stripped.split(b"\r\n")[:-1]):
        return AnswerKind.MODE_E_IDENT
    return AnswerKind.GARBAGE


def _has_other_bytes(data: bytes) -> bool:
    """True when ``data`` holds bytes beyond its HDLC frames and flags (noise)."""
    frames = decode_frames(data)
    framed = sum(len(encode_frame(f)) for f in frames)
    return len(data.strip(b"\x7e")) > framed


def echoes(attempts_tx_rx: Sequence[tuple[bytes, bytes]]) -> bool:
    """True when any (tx, rx) pair starts with an echo of what was sent."""
    return any(strip_echo(rx, tx)[1] for tx, rx in attempts_tx_rx)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerCandidate:
    """One HDLC server address to try: ``size`` 1 (upper only), 2 or 4 bytes."""

    logical: int
    physical: int | None
    size: int

    @property
    def address(self) -> HdlcAddress:
        return HdlcAddress.server(self.logical, self.physical, size=self.size)

    def label(self) -> str:
        """E.g. ``"server 1/256 (4-byte)"`` or ``"server 1 (1-byte)"``."""
        where = str(self.logical) if self.physical is None else f"{self.logical}/{self.physical}"
        return f"server {where} ({self.size}-byte)"

    def profile_fields(self) -> dict[str, int]:
        """The ConnectionProfile fields for this address (physical 256 when unused)."""
        return {"server_logical": self.logical, "server_physical":
                self.physical if self.physical is not None else 256, "address_size": self.size}


#: The common server addresses, most likely first (IS 15959 meters use 4-byte 1/256): 4-byte
#: 1/256, 2-byte 1/17, 1-byte upper address 1, then upper address 0 (a few meters answer only
#: there).
SERVER_ADDRESSES = (ServerCandidate(logical=1, physical=256, size=4),
                    ServerCandidate(logical=1, physical=17, size=2),
                    ServerCandidate(logical=1, physical=None, size=1),
                    ServerCandidate(logical=0, physical=None, size=1))
