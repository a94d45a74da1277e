"""Diagnoses built from constructed byte traces (no meter): each failure the issue lists — silence,
noise, a 7E1 line read as 8N1, an IEC 62056-21 identification, DM, FRMR, an AARE rejection with
its diagnostic, an ExceptionResponse — and the answer classification under them."""

from __future__ import annotations

import pytest

from meterreader.client.errors import AssociationRejected, MeterNotAnswering
from meterreader.dlms.acse import (AARE, AcseServiceUserDiagnostic, ApplicationContextName,
                                   AssociationResult)
from meterreader.dlms.connection_events import AssociationRejected as RejectedEvent
from meterreader.dlms.hdlc import FrameType, HdlcAddress, HdlcFrame, encode_frame
from meterreader.dlms.hdlc.link import LLC_RESPONSE
from meterreader.dlms.wrapper import WrapperFrame
from meterreader.dlms.xdlms import ExceptionResponse, ServiceError, StateError
from meterreader.finder import AnswerKind, Attempt, classify_answer, diagnose, diagnose_attempts
from meterreader.finder.probe import snrm_frame, wrapper_aarq
from meterreader.transport.base import Cancelled, ConnectionFailed, ConnectionLost

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 256, size=4)
# Published vector (shared/vectors): the UA of a 2-byte-addressed meter.
UA = bytes.fromhex("7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E")
IDENT = b"/ABC5\\2MR1234\r\n"


def reply(frame_type: FrameType, info: bytes = b"") -> bytes:
    return encode_frame(HdlcFrame(destination=CLIENT, source=SERVER, frame_type=frame_type,
                                  poll_final=True, info=info))


def i_frame(apdu: bytes) -> bytes:
    return reply(FrameType.I, LLC_RESPONSE + apdu)


def as_7e1_read_8n1(data: bytes) -> bytes:
    """What an 8N1 receiver reads from a 7E1 sender: bit 8 is the even-parity bit."""
    return bytes((b & 0x7F) | ((bin(b & 0x7F).count("1") & 1) << 7) for b in data)


def aare(diagnostic: AcseServiceUserDiagnostic,
         result: AssociationResult = AssociationResult.REJECTED_PERMANENT) -> bytes:
    return AARE(application_context_name=ApplicationContextName.LN, result=result,
                result_source_diagnostic=diagnostic).encode()


def wrapped(apdu: bytes) -> bytes:
    return WrapperFrame(source_wport=1, destination_wport=16, data=apdu).encode()


EXCEPTION = ExceptionResponse(state_error=StateError.SERVICE_NOT_ALLOWED,
                              service_error=ServiceError.SERVICE_NOT_SUPPORTED).encode()


# -- classification ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, kind", [
    (b"", AnswerKind.SILENCE),
    (UA, AnswerKind.UA),
    (b"\x00\x13" + UA + b"\x7e", AnswerKind.UA),  # noise before the frame is skipped
    (reply(FrameType.DM), AnswerKind.DM),
    (reply(FrameType.FRMR, b"\x93\x00\x01"), AnswerKind.FRMR),
    (i_frame(EXCEPTION), AnswerKind.OTHER_FRAME),
    (bytes(range(0x80, 0xA0)), AnswerKind.GARBAGE),
    (UA[:-3] + b"\x00\x00\x7e", AnswerKind.GARBAGE),  # bad FCS: not a frame
    (wrapped(aare(AcseServiceUserDiagnostic.NULL, AssociationResult.ACCEPTED)),
     AnswerKind.WRAPPER),
    (IDENT, AnswerKind.MODE_E_IDENT),
    (as_7e1_read_8n1(IDENT), AnswerKind.MODE_E_IDENT),
])
def test_classify_answer(data, kind):
    assert classify_answer(data) is kind


def test_probes_are_the_standard_bytes():
    # SNRM without information field from client 16 (0x21) to 1/256 4-byte (00 02 02 01).
    frame = snrm_frame(SERVER)
    assert frame[:3] == bytes.fromhex("7EA00A") and frame[-1] == 0x7E
    assert frame[3:8] == bytes.fromhex("0002040121") and frame[8] == 0x93
    # Published vector (shared/vectors): SNRM from 16 to 1/17 (2-byte), no parameters.
    assert snrm_frame(HdlcAddress.server(1, 17, size=2)) == bytes.fromhex("7EA00802232193BD647E")
    packet = wrapper_aarq(1, 16)
    assert packet[:6] == bytes.fromhex("000100100001") and packet[8] == 0x60


# -- diagnoses from traces --------------------------------------------------------------------------

def test_nothing_received_is_no_answer_with_cable_steps():
    d = diagnose(MeterNotAnswering("no answer", timeout=1, retries=3))
    assert d.code == "no-answer" and d.evidence == ""
    steps = " ".join(d.next_steps)
    assert "cable" in steps and "probe" in steps and "baud" in steps


def test_noise_is_garbage_baud_or_parity():
    noise = bytes([0x00, 0xF8, 0x80, 0x78, 0x00, 0xE0, 0xFE, 0x00] * 3)
    d = diagnose(MeterNotAnswering("x", timeout=1, retries=3), rx=noise)
    assert d.code == "garbage" and "baud" in d.title
    assert any("mode E" in s for s in d.next_steps)
    assert d.evidence.startswith("00 F8 80 78")


def test_7e1_meter_read_as_8n1_is_a_parity_mismatch():
    d = diagnose(None, rx=as_7e1_read_8n1(UA))
    assert d.code == "garbage" and "parity" in d.title and "7E1" in d.explanation


def test_identification_means_mode_e_needed():
    d = diagnose(MeterNotAnswering("x", timeout=1, retries=3), rx=as_7e1_read_8n1(IDENT))
    assert d.code == "mode-e-needed" and any("--mode-e" in s for s in d.next_steps)


def test_dm_means_address_or_busy():
    d = diagnose(ConnectionFailed("the meter answered the SNRM with DM"), rx=reply(FrameType.DM))
    assert d.code == "dm" and "DM" in d.title
    steps = " ".join(d.next_steps)
    assert "server address" in steps and "another program" in steps


def test_frmr_means_parameters_rejected():
    d = diagnose(None, rx=reply(FrameType.FRMR, b"\x93\x00\x01"))
    assert d.code == "frmr" and any("parameters" in s for s in d.next_steps)


def test_dm_from_the_session_message_alone():
    d = diagnose(ConnectionLost("the meter ended the HDLC link with DM"))
    assert d.code == "dm"


@pytest.mark.parametrize("diagnostic, code, words", [
    (AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE, "wrong-password", "password"),
    (AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED, "wrong-client", "client SAP"),
    (AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, "context-not-supported",
     "ciphering"),
    (AcseServiceUserDiagnostic.NO_REASON_GIVEN, "aare-rejected", "client SAP"),
])
@pytest.mark.parametrize("framing", ["hdlc", "wrapper"])
def test_aare_rejection_from_the_bytes(diagnostic, code, words, framing):
    apdu = aare(diagnostic)
    rx = i_frame(apdu) if framing == "hdlc" else wrapped(apdu)
    d = diagnose(None, rx=rx)
    assert d.code == code
    assert words in " ".join((d.explanation,) + d.next_steps)


def test_aare_rejection_from_the_error_alone():
    event = RejectedEvent(result=AssociationResult.REJECTED_PERMANENT,
                          diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
                          reason_text="authentication failure")
    assert diagnose(AssociationRejected(event)).code == "wrong-password"


def test_exception_response_to_the_aarq():
    d = diagnose(None, rx=i_frame(EXCEPTION))
    assert d.code == "exception-response" and "service" in d.explanation
    event = RejectedEvent(result=AssociationResult.REJECTED_PERMANENT, diagnostic=None,
                          reason_text="the meter answered the AARQ with an error: x")
    assert diagnose(AssociationRejected(event), rx=wrapped(EXCEPTION)).code == \
        "exception-response"


@pytest.mark.parametrize("message, code", [
    ("TCP h:1: connection refused", "refused"),
    ("serial COM9: no such port", "no-port"),
    ("serial COM9: port busy (in use by another program)", "port-busy"),
])
def test_open_failures(message, code):
    assert diagnose(ConnectionFailed(message)).code == code


def test_cancelled_and_timeout_after_answers():
    assert diagnose(Cancelled("x")).code == "cancelled"
    d = diagnose(MeterNotAnswering("x", timeout=1, retries=3), rx=UA)
    assert d.code == "timeout"


def test_evidence_quotes_only_what_the_meter_sent():
    secret = b"S3cretPw"
    tx = wrapped(b"\x60\x36" + secret)
    d = diagnose(MeterNotAnswering("x", timeout=1, retries=0), tx=tx, rx=b"\x01\x02")
    assert "S3cretPw".encode().hex(" ").upper() not in d.text() and "S3cretPw" not in d.text()
    long = diagnose(None, rx=bytes(100)).evidence
    assert long.endswith("(100 bytes)")


def test_diagnose_attempts_prefers_the_most_telling_answer():
    def attempt(rx: bytes, **settings) -> Attempt:
        return Attempt(description="x", medium="serial", settings=settings,
                       answer=classify_answer(rx), rx=rx)

    silent = [attempt(b"") for _ in range(3)]
    assert diagnose_attempts(silent).code == "no-answer"
    assert "3 attempts" in diagnose_attempts(silent).explanation
    assert diagnose_attempts(silent + [attempt(bytes(range(0x80, 0x90)))]).code == "garbage"
    assert diagnose_attempts(silent + [attempt(reply(FrameType.DM)),
                                       attempt(bytes(range(0x80, 0x90)))]).code == "dm"
    rejected = attempt(i_frame(aare(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)))
    assert diagnose_attempts([attempt(reply(FrameType.DM)), rejected]).code == "wrong-password"
    signed_on = attempt(IDENT, mode_e=True)
    d = diagnose_attempts([signed_on] + silent)
    assert d.code == "no-answer" and "mode E" in d.title
    assert diagnose_attempts([]).code == "no-answer"


# -- HLS: an accepted AARE, then a refused pass 3 --------------------------------------------------

def hls_wrong_key_trace():
    """A real US (HLS) association with a wrong key against the simulator: (error, rx)."""
    from meterreader.client.profile import ConnectionProfile
    from meterreader.client.session import Session
    from meterreader.finder.engine import Traffic
    from meterreader.simulator import SimulatedMeter

    with SimulatedMeter() as meter:
        profile = ConnectionProfile.for_association("us", name="us", port=meter.serve_tcp(port=0),
                                                    response_timeout=3.0)
        profile = profile.with_secrets({"hls_key": b"0" * 16})
        transport, traffic = profile.to_transport(), Traffic()
        transport.on_traffic = traffic
        with pytest.raises(AssociationRejected) as caught:
            with Session(transport, profile.to_settings()):
                pass
    return caught.value, traffic.rx, profile


def test_wrong_hls_key_is_a_wrong_key_not_a_client_that_must_authenticate():
    error, rx, profile = hls_wrong_key_trace()
    # The AARE was accepted with "authentication required" (HLS goes on with pass 3).
    accepted = __import__("meterreader.finder.diagnostics", fromlist=["aare_in"]).aare_in(rx)
    assert accepted.result is AssociationResult.ACCEPTED
    assert accepted.result_source_diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
    for d in (diagnose(error, rx=rx, profile=profile), diagnose(None, rx=rx, profile=profile),
              diagnose(error)):
        assert d.code == "wrong-password", d
        assert "must authenticate" not in d.title and "key" in d.title


def test_accepted_aare_with_an_authentication_failure_error_is_a_wrong_key():
    rx = wrapped(aare(AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
                      AssociationResult.ACCEPTED))
    event = RejectedEvent(result=AssociationResult.REJECTED_PERMANENT,
                          diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
                          reason_text="the meter refused our HLS reply")
    assert diagnose(AssociationRejected(event), rx=rx).code == "wrong-password"


# -- echo, a closed connection, finder wording --------------------------------------------------------

def test_leading_echo_is_skipped_and_only_our_frames_count():
    probe = snrm_frame(SERVER)
    ua = reply(FrameType.UA)
    assert classify_answer(probe + ua, probe) is AnswerKind.UA
    assert classify_answer(probe, probe) is AnswerKind.SILENCE  # only the echo
    assert classify_answer(probe[:6], probe) is AnswerKind.SILENCE  # the echo still arriving
    # Without tx the echoed SNRM would pass for an answer.
    assert classify_answer(probe) is AnswerKind.OTHER_FRAME
    # A UA from another server, or to another client, is not the answer to this probe.
    other = encode_frame(HdlcFrame(destination=CLIENT, source=HdlcAddress.server(1, 17, size=2),
                                   frame_type=FrameType.UA, poll_final=True))
    assert classify_answer(other, probe) is AnswerKind.OTHER_FRAME
    assert classify_answer(other + ua, probe) is AnswerKind.UA
    d = diagnose(MeterNotAnswering("x", timeout=1, retries=3), tx=probe, rx=probe)
    assert d.code == "no-answer" and "echoes what we send" in d.explanation


def test_peer_closing_the_connection_is_its_own_diagnosis():
    class Tcp:
        medium = "tcp"

    d = diagnose(ConnectionLost("TCP h:1: peer closed the connection"), profile=Tcp())
    assert d.code == "closed" and "busy" in d.explanation and "IP filter" in d.explanation
    closed = Attempt(description="TCP h:1 wrapper", medium="tcp", answer=AnswerKind.CLOSED)
    assert diagnose_attempts([closed, closed]).code == "closed"


def test_finder_wording_does_not_repeat_what_the_finder_tried():
    silent = [Attempt(description="x", medium="serial") for _ in range(3)]
    text = diagnose_attempts(silent).text()
    assert "meterreader detect" not in text and "try 1-byte 1" not in text
    assert "--physical" in text and "serial number" in text and "--probe-timeout" in text
    noise = Attempt(description="x", medium="serial", answer=AnswerKind.GARBAGE,
                    rx=bytes([0x00, 0xF8, 0x80, 0x78] * 4))
    steps = " ".join(diagnose_attempts(silent + [noise]).next_steps)
    assert "meterreader detect" not in steps and "other baud rates" not in steps


def test_signed_on_wording_and_a_mode_c_identification():
    signed_on = Attempt(description="x", medium="serial", settings={"mode_e": True},
                        answer=AnswerKind.MODE_E_IDENT, rx=IDENT)
    d = diagnose_attempts([signed_on])
    assert "does not acknowledge" in d.explanation and "acknowledged" not in d.explanation
    assert "mode C" not in d.explanation
    mode_c = Attempt(description="x", medium="serial", settings={"mode_e": True},
                     answer=AnswerKind.MODE_E_IDENT, rx=b"/ABC5MR1234\r\n")
    d = diagnose_attempts([mode_c])
    assert "no \\2" in d.explanation and "mode C" in d.explanation


# -- connection lost after a successful association ------------------------------------------------

ACCEPTED = aare(AcseServiceUserDiagnostic.NULL, AssociationResult.ACCEPTED)
# A GET-Response-With-Datablock (first block of a profile buffer), then a frame cut by the reset.
BLOCK = bytes.fromhex("C40281000000000100820100") + bytes(range(40))


@pytest.mark.parametrize("framing", ["hdlc", "wrapper"])
def test_connection_lost_mid_transfer_is_not_a_line_settings_problem(framing):
    if framing == "hdlc":
        rx = UA + i_frame(ACCEPTED) + i_frame(BLOCK) + i_frame(BLOCK)[:17]
    else:
        rx = wrapped(ACCEPTED) + wrapped(BLOCK) + wrapped(BLOCK)[:20]
    error = ConnectionLost("TCP 127.0.0.1:4059: connection reset by peer")
    d = diagnose(error, rx=rx)
    assert (d.code, d.title) == ("link-lost", "Connection lost during the transfer"), d
    assert "Bytes arrive" not in d.title and "baud" not in " ".join(d.next_steps)
    assert any("converter" in step and "cable" in step for step in d.next_steps)
    assert any("--resume" in step for step in d.next_steps)
    assert "connection reset by peer" in d.explanation and d.evidence


def test_connection_lost_with_only_service_answers_in_the_window():
    """Only the end of a long session is in ``rx`` (no AARE): a GET answer still shows the
    association was up."""
    rx = i_frame(BLOCK) + i_frame(BLOCK)[:9]
    d = diagnose(ConnectionLost("serial /dev/ttyUSB0: device disappeared"), rx=rx)
    assert d.title == "Connection lost during the transfer"


def test_connection_lost_before_association_keeps_the_byte_diagnoses():
    rejected = aare(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
    d = diagnose(ConnectionLost("peer closed the connection"), rx=UA + i_frame(rejected))
    assert d.code == "wrong-password"
    d = diagnose(ConnectionLost("peer closed the connection"), rx=bytes(range(1, 60)))
    assert d.code == "garbage"


def test_connection_lost_in_a_wrapper_tail_that_starts_inside_a_packet():
    """The CLI keeps only the last 4 kB received: on a long wrapper transfer that tail starts in
    the middle of a packet and parses as no packet at all — still a lost connection."""
    rx = (wrapped(BLOCK) * 3)[5:] + wrapped(BLOCK)[:30]
    assert classify_answer(rx) is AnswerKind.GARBAGE  # what the bytes alone suggest
    d = diagnose(ConnectionLost("TCP 10.0.0.5:4059: connection reset by peer"), rx=rx)
    assert d.title == "Connection lost during the transfer", d
