"""Plain-language diagnosis of a failed connection, from the error and the bytes actually seen.

:func:`diagnose` looks at what the meter sent (``rx``): nothing, noise, an HDLC DM or FRMR, an
IEC 62056-21 identification, an AARE that rejects the association, an ExceptionResponse — and at
the error the session raised — and says what it means and what to try next.
:func:`diagnose_attempts` (:mod:`.diagnose_run`) does the same for a whole finder run. Pure functions; only the bytes
the meter sent are quoted (``evidence``), never what we sent (an AARQ may carry a password).
"""

from __future__ import annotations

from typing import Any

from meterreader.dlms.acse import AARE, AcseServiceUserDiagnostic, AcseTag, AssociationResult
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import FrameType, encode_frame
from meterreader.dlms.hdlc.link import LLC_RESPONSE
from meterreader.dlms.wrapper import WrapperReader
from meterreader.dlms.xdlms import (ActionResponseNormal, ActionResult, ApduTag,
                                    ExceptionResponse)
from meterreader.finder.model import AnswerKind, Diagnosis
from meterreader.finder.probe import classify_answer, decode_frames, strip_echo
from meterreader.transport.mode_e import parse_identification

__all__ = ["ECHO_NOTE", "aare_in", "diagnose", "diagnose_attempts", "evidence_of", "rx_apdus",
           "with_echo_note", "without_echo"]

_EVIDENCE_BYTES = 32

_CABLE_STEPS = (
    "check that the cable is plugged in and that this is the meter's port (another COM port or "
    "/dev/ttyUSB number?)",
    "optical probe: seat the head on the meter's optical port, cable pointing the way the meter's "
    "label shows (usually downwards), and keep it away from strong light",
    "check that the meter is powered (display on)",
    "try the other baud rates and the IEC 62056-21 mode E opening: run 'meterreader detect'",
)
_TCP_SILENT_STEPS = (
    "check the host and port: the meter or converter accepted the TCP connection but did not "
    "answer",
    "a serial-to-Ethernet converter in transparent mode needs raw HDLC (--hdlc), a meter with "
    "a TCP stack the IEC 62056-47 wrapper: try the other framing",
    "check the logical device (wrapper destination port / HDLC server address) and the client "
    "SAP",
    "run 'meterreader detect --tcp HOST:PORT' to probe both framings",
)


# -- bytes → protocol units ------------------------------------------------------------------------

def evidence_of(rx: bytes) -> str:
    """A short hex excerpt of what the meter sent, e.g. ``"7E A0 1F 21 … (33 bytes)"``."""
    if not rx:
        return ""
    shown = rx[:_EVIDENCE_BYTES].hex(" ").upper()
    return shown if len(rx) <= _EVIDENCE_BYTES else f"{shown} … ({len(rx)} bytes)"


def rx_apdus(rx: bytes) -> list[bytes]:
    """The APDUs in ``rx``: the information fields of HDLC I/UI frames (LLC header removed,
    segments joined) or the data of IEC 62056-47 wrapper packets. Raises nothing."""
    frames = decode_frames(rx)
    if frames:
        apdus: list[bytes] = []
        pending = b""
        for frame in frames:
            if frame.frame_type not in (FrameType.I, FrameType.UI) or not frame.info:
                continue
            pending += frame.info
            if not frame.segmented:
                apdus.append(pending.removeprefix(LLC_RESPONSE))
                pending = b""
        if pending:
            apdus.append(pending.removeprefix(LLC_RESPONSE))
        return apdus
    try:
        return [packet.data for packet in WrapperReader().feed(bytes(rx))]
    except DlmsError:
        return []


def aare_in(rx: bytes) -> AARE | None:
    for apdu in rx_apdus(rx):
        if apdu[:1] == bytes((AcseTag.AARE,)):
            try:
                return AARE.decode(apdu)
            except DlmsError:
                continue
    return None


def _exception_in(rx: bytes) -> ExceptionResponse | None:
    for apdu in rx_apdus(rx):
        if apdu[:1] == bytes((ApduTag.EXCEPTION_RESPONSE,)):
            try:
                return ExceptionResponse.decode(apdu)
            except DlmsError:
                continue
    return None


def _seven_bit_view(rx: bytes) -> AnswerKind | None:
    """What ``rx`` would be with the 8th bit of every byte cleared (a 7E1 line read as 8N1)."""
    stripped = bytes(b & 0x7F for b in rx)
    if stripped == rx:
        return None
    kind = classify_answer(stripped)
    return kind if kind.is_answer else None


def _even_parity_everywhere(rx: bytes) -> bool:
    """True when ``rx`` (8 bytes or more) looks like 7E1 characters read as 8N1: in every byte
    the 8th bit is the even parity of the low seven (chance: 1 in 256 for 8 random bytes)."""
    return len(rx) >= 8 and all((b >> 7) == (bin(b & 0x7F).count("1") & 1) for b in rx)


def _has_identification(rx: bytes) -> bool:
    for candidate in (rx, bytes(b & 0x7F for b in rx)):
        if any(parse_identification(line) is not None for line in candidate.split(b"\r\n")):
            return True
    return False


# -- the diagnoses ---------------------------------------------------------------------------------

def _medium(profile: Any) -> str:
    medium = getattr(profile, "medium", None)
    if medium in ("tcp", "serial"):
        return medium
    framing = getattr(profile, "framing", None)
    return "tcp" if str(getattr(framing, "value", framing)) == "wrapper" else "serial"


def _address_text(profile: Any) -> str:
    if profile is None:
        return ""
    if hasattr(profile, "hdlc_address_preview"):
        size = getattr(profile, "address_size", 4)
        server = (f"{profile.server_logical}" if size == 1
                  else f"{profile.server_logical}/{profile.server_physical}")
        return f" (server {server}, {size}-byte, client {profile.client_sap})"
    server = getattr(profile, "server_address", None)
    client = getattr(profile, "client_sap", None)
    return f" (server {server}, client {client})" if server is not None else ""


def _silence(profile: Any) -> Diagnosis:
    if profile is not None and _medium(profile) == "tcp":
        return Diagnosis(code="no-answer", title="No answer: nothing was received from the meter",
                         explanation="The TCP connection was accepted, but not a single byte "
                                     "came back.",
                         next_steps=_TCP_SILENT_STEPS)
    return Diagnosis(code="no-answer", title="No answer: nothing was received from the meter",
                     explanation="Not a single byte came back: the request did not reach a meter "
                                 "that understood it (cable, port, probe, baud rate or address).",
                     next_steps=_CABLE_STEPS + (
                         "check the server address" + _address_text(profile)
                         + " — try 1-byte 1, 2-byte 1/17 and 4-byte 1/256",))


def _garbage(rx: bytes, profile: Any) -> Diagnosis:
    evidence = evidence_of(rx)
    if _has_identification(rx):
        return Diagnosis(
            code="mode-e-needed", title="The meter answers with an IEC 62056-21 identification",
            explanation="It sent its sign-on identification (\"/XXX…\") instead of HDLC frames: "
                        "it expects the IEC 62056-21 mode E opening before HDLC.",
            next_steps=("enable mode E (--mode-e, or 'Mode E' in the wizard): sign-on at 300 "
                        "baud 7E1, then HDLC at the meter's baud rate",),
            evidence=evidence)
    seven = _seven_bit_view(rx)
    if seven is not None or _even_parity_everywhere(rx):
        what = ("with the 8th bit of every byte cleared the bytes are valid HDLC frames"
                if seven is not None else "the 8th bit of every byte is the even parity of "
                "the other seven")
        return Diagnosis(
            code="garbage", title="Bytes arrive but no valid frame: parity mismatch (7E1 line)",
            explanation=f"The meter answers, but {what}: it talks 7 data bits with even parity "
                        "(7E1) while we read 8N1.",
            next_steps=("use the IEC 62056-21 mode E opening (sign-on at 300 baud 7E1, then "
                        "HDLC at 8N1): --mode-e",
                        "check the converter's or probe's serial settings (8N1 for HDLC)"),
            evidence=evidence)
    if profile is not None and _medium(profile) == "tcp":
        return Diagnosis(
            code="garbage", title="Bytes arrive but no valid frame or packet",
            explanation="The peer answered with bytes that are neither HDLC frames nor IEC "
                        "62056-47 wrapper packets.",
            next_steps=("try the other framing: raw HDLC (--hdlc) for a serial-to-Ethernet "
                        "converter, the wrapper for a meter's own TCP port",
                        "check the converter's serial settings (baud rate, 8N1) towards the meter",
                        "check that this port belongs to a DLMS meter at all"),
            evidence=evidence)
    return Diagnosis(
        code="garbage", title="Bytes arrive but no valid frame: baud rate or parity mismatch",
        explanation="Something answers, but what arrives is not a valid HDLC frame: the line "
                    "speed or character format differs from the meter's, or the meter waits for "
                    "the IEC 62056-21 mode E opening.",
        next_steps=("try the other baud rates (9600, 19200, 38400, 115200) at 8N1",
                    "try the IEC 62056-21 mode E opening (--mode-e)",
                    "run 'meterreader detect' to try them all"),
        evidence=evidence)


def _frame_answer(kind: AnswerKind, rx: bytes, profile: Any) -> Diagnosis:
    evidence = evidence_of(rx)
    if kind is AnswerKind.DM:
        return Diagnosis(
            code="dm", title="The meter refused the link (HDLC DM)",
            explanation="A meter is there and heard us, but answered the connect request (SNRM) "
                        "with Disconnected Mode: it does not accept this address pair, or its "
                        "link is busy with another client" + _address_text(profile) + ".",
            next_steps=("check the server address: logical device, physical address and address "
                        "size (1, 2 or 4 bytes)",
                        "check the client SAP (public client 16, meter reader 32, utility 48)",
                        "if another program or a data concentrator is connected, close it or "
                        "wait for the meter's inactivity timeout (often 2 minutes), then retry"),
            evidence=evidence)
    if kind is AnswerKind.FRMR:
        return Diagnosis(
            code="frmr", title="The meter rejected our frame (HDLC FRMR)",
            explanation="The meter received a frame it will not process: usually the SNRM's "
                        "link parameters (maximum information field length, window size) or the "
                        "address format.",
            next_steps=("use the default HDLC parameters (128 bytes, window 1)",
                        "try another server address size (1, 2 or 4 bytes)",
                        "disconnect other clients and retry after the inactivity timeout"),
            evidence=evidence)
    return Diagnosis(
        code="unknown", title="The meter answered with an unexpected HDLC frame",
        explanation="It sent a valid frame, but not the answer expected at this point (another "
                    "client's session still open, or a meter busy with something else).",
        next_steps=("wait for the meter's inactivity timeout (often 2 minutes) and retry",
                    "disconnect other clients"),
        evidence=evidence)


_AARE_TEXT: dict[AcseServiceUserDiagnostic, tuple[str, str, str, tuple[str, ...]]] = {
    AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE: (
        "wrong-password", "Association rejected: wrong password or key",
        "The meter checked the password (LLS) or the HLS key and refused it.",
        ("check the password or key for this client (meter reader 32: LLS password, utility "
         "settings 48: HLS key)", "check that the key is entered as the meter expects (ASCII "
         "or hex with 0x)", "a meter may lock out after several failures: wait before retrying")),
    AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED: (
        "wrong-client", "Association rejected: this client must authenticate",
        "The meter requires authentication for this client SAP but the request had none.",
        ("use the association that matches the client SAP (32 → LLS password, 48 → HLS key)",
         "or connect as the public client 16 without security")),
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED: (
        "wrong-client", "Association rejected: an authentication mechanism is required",
        "The meter wants an authentication mechanism (LLS or HLS) for this client SAP.",
        ("choose the association that matches the client SAP (32 → LLS, 48 → HLS)",)),
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED: (
        "wrong-client", "Association rejected: authentication mechanism not accepted",
        "The meter does not accept this authentication mechanism for this client SAP.",
        ("choose the mechanism the meter uses for this client (IS 15959: 16 none, 32 LLS, "
         "48 HLS)",)),
    AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED: (
        "context-not-supported", "Association rejected: application context not supported",
        "The meter refuses the application context: with or without ciphering, logical or "
        "short name referencing.",
        ("switch ciphering on or off (the meter may need glo-ciphering, or refuse it)",
         "check the client SAP: some meters allow ciphering for some clients only")),
}


def _hls_refused(rx: bytes) -> bool:
    """True when ``rx`` holds an accepted AARE followed by a refused answer to our HLS reply
    (Green Book ed.9, HLS pass 3/4: an ActionResponse that is not success, or an
    ExceptionResponse): the key was wrong, not the client."""
    accepted = False
    for apdu in rx_apdus(rx):
        tag = apdu[:1]
        if tag == bytes((AcseTag.AARE,)):
            try:
                accepted = AARE.decode(apdu).result is AssociationResult.ACCEPTED
            except DlmsError:
                accepted = False
        elif accepted and tag == bytes((ApduTag.ACTION_RESPONSE,)):
            try:
                response = ActionResponseNormal.decode(apdu)
            except DlmsError:
                continue
            if response.single_response.result is not ActionResult.SUCCESS:
                return True
        elif accepted and tag == bytes((ApduTag.EXCEPTION_RESPONSE,)):
            return True
    return False


def _wrong_key(rx: bytes) -> Diagnosis:
    code, title, explanation, steps = _AARE_TEXT[AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE]
    return Diagnosis(code=code, title=title, explanation=explanation + " The association "
                     "request itself was accepted; the meter refused our answer to its HLS "
                     "challenge.", next_steps=steps, evidence=evidence_of(rx))


def _rejected(aare: AARE | None, error: BaseException | None, rx: bytes) -> Diagnosis:
    if aare is not None and aare.result is AssociationResult.ACCEPTED:
        # Accepted AARE (HLS: "authentication required" = go on with pass 3), then refused:
        # the AARE's diagnostic says nothing about the failure, the error and the bytes do.
        aare = None
        if _hls_refused(rx) or getattr(error, "authentication_failed", False):
            return _wrong_key(rx)
    diagnostic = aare.result_source_diagnostic if aare is not None \
        else getattr(error, "diagnostic", None)
    reason = getattr(error, "reason_text", "") or (diagnostic.describe() if diagnostic else "")
    text = _AARE_TEXT.get(diagnostic) if isinstance(diagnostic, AcseServiceUserDiagnostic) \
        else None
    if text is not None:
        code, title, explanation, steps = text
        return Diagnosis(code=code, title=title, explanation=explanation, next_steps=steps,
                         evidence=evidence_of(rx))
    if aare is None and diagnostic is None and error is not None:
        if "answered the AARQ with an error" in reason or _exception_in(rx) is not None:
            return _exception(_exception_in(rx), reason, rx)
    return Diagnosis(
        code="aare-rejected", title="Association rejected by the meter",
        explanation=f"The meter answered the association request (AARQ) with a rejection"
                    f"{': ' + reason if reason else ''}. With no particular reason given this "
                    "usually means the client SAP is not known to the meter or the requested "
                    "security does not match.",
        next_steps=("check the client SAP (public client 16, meter reader 32, utility settings "
                    "48) and the logical device",
                    "check the authentication (none, LLS password, HLS key) for that client",
                    "check ciphering (on or off) and the keys"),
        evidence=evidence_of(rx))


def _exception(exc: ExceptionResponse | None, reason: str, rx: bytes) -> Diagnosis:
    what = exc.describe() if exc is not None else reason
    return Diagnosis(
        code="exception-response", title="The meter answered with an ExceptionResponse",
        explanation=f"Instead of the expected answer the meter sent an ExceptionResponse"
                    f"{' (' + what + ')' if what else ''}: it does not accept this request in "
                    "its current state.",
        next_steps=("check that the association matches the meter (client SAP, security, "
                    "ciphering)", "reduce the maximum PDU size if the meter says pdu-too-long",
                    "disconnect and connect again (a previous session may still be open)"),
        evidence=evidence_of(rx))


def _from_bytes(rx: bytes, profile: Any) -> Diagnosis | None:
    """A diagnosis from what the meter sent alone, or None when the bytes say nothing."""
    aare = aare_in(rx)
    if aare is not None and aare.result is not AssociationResult.ACCEPTED:
        return _rejected(aare, None, rx)
    if aare is not None and _hls_refused(rx):
        return _wrong_key(rx)
    exception = _exception_in(rx)
    if exception is not None:
        return _exception(exception, "", rx)
    kinds = {f.frame_type for f in decode_frames(rx)}
    for frame_type, kind in ((FrameType.FRMR, AnswerKind.FRMR), (FrameType.DM, AnswerKind.DM)):
        if frame_type in kinds:
            return _frame_answer(kind, rx, profile)
    kind = classify_answer(rx)
    if kind in (AnswerKind.GARBAGE, AnswerKind.MODE_E_IDENT):
        return _garbage(rx, profile)
    return None


def diagnose(error: BaseException | None, *, rx: bytes = b"", tx: bytes = b"",
             profile: Any = None) -> Diagnosis:
    """Explain a failed connect from ``error`` (what the session raised, may be None) and the
    bytes the meter sent (``rx``). ``tx`` (what we sent) is only used to recognise an adapter's
    echo of it in ``rx``; it is never quoted. ``profile`` (a ConnectionProfile or
    ConnectionSettings) tailors the wording (serial or TCP, the addresses)."""
    rx, echoed = without_echo(bytes(rx), bytes(tx))
    found = _diagnose(error, rx, profile)
    return with_echo_note(found) if echoed else found


def _diagnose(error: BaseException | None, rx: bytes, profile: Any) -> Diagnosis:
    from meterreader.client.errors import AssociationRejected, MeterNotAnswering
    from meterreader.transport.base import (Cancelled, ConnectionFailed, ConnectionLost,
                                            ReadTimeout)

    if isinstance(error, Cancelled):
        return Diagnosis(code="cancelled", title="Cancelled before the meter answered",
                         next_steps=("connect again",), evidence=evidence_of(rx))
    if isinstance(error, AssociationRejected):
        return _rejected(aare_in(rx), error, rx)
    # The error type before the bytes: a link lost after the meter accepted the association
    # leaves a half-received block in ``rx`` that is no line-settings problem.
    if isinstance(error, ConnectionLost) and _associated(rx):
        return _lost_mid_transfer(str(error), rx)
    found = _from_bytes(rx, profile)
    if found is not None:
        return found
    text = str(error) if error is not None else ""
    if isinstance(error, ConnectionFailed):
        for words, code, title in (
                ("refused", "refused", "Connection refused: nothing listens on that port"),
                ("no such port", "no-port", "The serial port does not exist"),
                ("busy", "port-busy", "The serial port is in use by another program"),
                ("permission denied", "port-busy", "The serial port cannot be opened"),
                ("resolve", "refused", "The host name cannot be resolved"),
                ("unreachable", "refused", "The host cannot be reached")):
            if words in text:
                return Diagnosis(code=code, title=title, explanation=text,
                                 next_steps=_open_steps(code))
        for words, kind in (("with DM", AnswerKind.DM), ("with FRMR", AnswerKind.FRMR)):
            if words in text:
                return _frame_answer(kind, rx, profile)
        if "identification" in text:
            return Diagnosis(
                code="no-answer", title="No IEC 62056-21 identification: the mode E sign-on "
                                        "got no answer",
                explanation=text, evidence=evidence_of(rx),
                next_steps=_CABLE_STEPS[:3] + ("try direct HDLC without mode E at 9600 8N1",))
        if "no connection within" in text or "timed out" in text:
            return Diagnosis(code="no-answer", title="The TCP connection timed out",
                             explanation=text, next_steps=(
                                 "check the host address and that the meter or converter is "
                                 "powered and on the network", "check firewalls between"))
    if isinstance(error, ConnectionLost):
        if "peer closed" in text and not rx and _medium(profile) == "tcp":
            return _closed()
        if "DM" in text:
            return _frame_answer(AnswerKind.DM, rx, profile)
        if "FRMR" in text:
            return _frame_answer(AnswerKind.FRMR, rx, profile)
        return Diagnosis(code="link-lost", title="The connection broke",
                         explanation=text, evidence=evidence_of(rx),
                         next_steps=("check the cable or network and connect again",
                                     "the meter may end idle sessions: connect again"))
    if isinstance(error, (MeterNotAnswering, ReadTimeout)) or error is None:
        if decode_frames(rx) or classify_answer(rx) is AnswerKind.WRAPPER:
            return Diagnosis(
                code="timeout", title="The meter stopped answering",
                explanation="It answered at first, then did not answer a request within the "
                            "response timeout.", evidence=evidence_of(rx),
                next_steps=("increase the response timeout", "check the cable or network",
                            "reduce the maximum PDU size or window (slow meters)"))
        return _silence(profile)
    return Diagnosis(code="unknown", title=f"Connection failed: {type(error).__name__}",
                     explanation=text, evidence=evidence_of(rx),
                     next_steps=("run 'meterreader detect' to probe the meter",))


#: APDUs only an associated meter sends: the answers to GET, SET and ACTION (plain, ciphered)
#: and general block transfer.
_SERVICE_ANSWERS = frozenset({
    ApduTag.GET_RESPONSE, ApduTag.SET_RESPONSE, ApduTag.ACTION_RESPONSE,
    ApduTag.GLO_GET_RESPONSE, ApduTag.GLO_SET_RESPONSE, ApduTag.GLO_ACTION_RESPONSE,
    ApduTag.DED_GET_RESPONSE, ApduTag.DED_SET_RESPONSE, ApduTag.DED_ACTION_RESPONSE,
    ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING,
    ApduTag.GENERAL_BLOCK_TRANSFER})


def _associated(rx: bytes) -> bool:
    """Whether ``rx`` shows an accepted association: an accepted AARE not followed by a refused
    HLS pass, or an answer to a service request. ``rx`` may be the tail of a long session that
    starts inside a frame or packet (HDLC resynchronises on flags; wrapper headers are looked
    for at every offset). Raises nothing."""
    aare = aare_in(rx)
    if aare is not None:
        return aare.result is AssociationResult.ACCEPTED and not _hls_refused(rx)
    if any(apdu[:1] and apdu[0] in _SERVICE_ANSWERS for apdu in rx_apdus(rx)):
        return True
    # IEC 62056-47: a wrapper header (version 1, ports, length) followed by a service answer.
    start = rx.find(b"\x00\x01")
    while 0 <= start <= len(rx) - 9:
        if int.from_bytes(rx[start + 6:start + 8], "big") and rx[start + 8] in _SERVICE_ANSWERS:
            return True
        start = rx.find(b"\x00\x01", start + 1)
    return False


def _lost_mid_transfer(text: str, rx: bytes) -> Diagnosis:
    return Diagnosis(
        code="link-lost", title="Connection lost during the transfer",
        explanation="The meter accepted the association and was answering, then the "
                    f"connection broke{': ' + text if text else ''}. The line settings are "
                    "right; the link itself failed (cable, probe, converter or network), or the "
                    "meter restarted.",
        next_steps=("check the converter, cable or optical probe (seated, powered) and the "
                    "network",
                    "a profile download keeps the rows already read: continue it with "
                    "'meterreader profile ... --resume FILE'",
                    "connect again"),
        evidence=evidence_of(rx))


# -- echo -------------------------------------------------------------------------------------------

ECHO_NOTE = ("the adapter echoes what we send (RS-485 or optical head): our own bytes come back "
             "before the meter's answer")


def without_echo(rx: bytes, tx: bytes) -> tuple[bytes, bool]:
    """``rx`` without the echo of what we sent (each HDLC frame and the other pieces of ``tx``
    removed once where they appear), and whether there was an echo. Raises nothing."""
    rest, echoed = strip_echo(rx, tx)
    if echoed or not tx or not rx:
        return rest, echoed
    pieces = [encode_frame(frame) for frame in decode_frames(tx)]
    for piece in pieces:
        if len(piece) >= 4 and piece in rest:
            rest, echoed = rest.replace(piece, b"", 1), True
    return rest, echoed


def with_echo_note(diagnosis: Diagnosis) -> Diagnosis:
    """``diagnosis`` saying that the adapter echoes what we send (once)."""
    if ECHO_NOTE in diagnosis.explanation:
        return diagnosis
    step = ("an echoing adapter is harmless for the finder (the echo is skipped), but switch "
            "the echo off in the adapter if your software cannot skip it")
    return Diagnosis(code=diagnosis.code, title=diagnosis.title,
                     explanation=f"{diagnosis.explanation} Note: {ECHO_NOTE}.".strip(),
                     next_steps=(*diagnosis.next_steps, step), evidence=diagnosis.evidence)


def _closed() -> Diagnosis:
    return Diagnosis(
        code="closed", title="The meter or converter closed the connection at once",
        explanation="The TCP connection was accepted and then closed by the peer without a "
                    "byte: it is busy with another client (many meters and converters take one "
                    "client at a time), or an IP filter on the device refuses this computer.",
        next_steps=("close other programs or data concentrators connected to this meter or "
                    "converter, or wait for their session to end, then retry",
                    "check the device's allowed-IP list (IP filter / whitelist) for this "
                    "computer's address",
                    "a one-client converter may keep a dead session for a while: power-cycle it "
                    "or wait for its inactivity timeout",
                    "check that this port belongs to the meter (another service may accept and "
                    "close)"))


def _open_steps(code: str) -> tuple[str, ...]:
    return {
        "refused": ("check the host and port (IEC 62056-47 default 4059)",
                    "check that the meter or converter is on and its TCP server enabled"),
        "no-port": ("choose a port that exists (unplugged USB adapter? another COM number?)",),
        "port-busy": ("close the other program using the port (another meter reader, a "
                      "terminal)", "on Linux: add your user to the 'dialout' group"),
    }[code]


from meterreader.finder.diagnose_run import diagnose_attempts  # noqa: E402 (re-export)
