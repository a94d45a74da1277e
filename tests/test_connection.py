"""DlmsConnection: the association — AARQ/AARE for every mechanism and ciphering mode, HLS pass
3/4, and every kind of rejection. Release, misuse, the table and secrecy are in
test_connection_state.py, services in test_connection_services.py, attacks on ciphering in
test_connection_security.py.

Vectors: /work/shared/vectors/dlms_vectors.json — "apdu"[0] (AARQ, LLS 12345678, conformance
0x007E1F, max PDU 0x04B0) and "apdu"[1] (the matching AARE), "security_suite0"
"hls_gmac_mechanism_5" (HLS-GMAC pass 3/4 values).
"""

from __future__ import annotations

import pytest

from association_pair import (AK, CLIENT, CLIENT_KEYS, CLIENT_TITLE, DK, REGISTER, SERVER,
                              SERVER_TITLE, VALUE, AssociationPair, client_settings, make_pair,
                              make_server, raw_aarq, server_policy)
from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import AcseServiceUserDiagnostic as Diag
from meterreader.dlms.acse import MechanismName as M
from meterreader.dlms.connection import DlmsConnection
from meterreader.dlms.connection_settings import (AssociationSettings, ClientAssociationRule,
                                                  Referencing, ServerAssociationPolicy)
from meterreader.dlms.connection_state import Role, State
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.initiate import Conformance, InitiateRequest
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import CipheringMode, HlsVerificationFailed, SecurityKeys

HLS = [M.HIGH, M.HIGH_MD5, M.HIGH_SHA1, M.HIGH_GMAC, M.HIGH_SHA256]
ALL_MECHANISMS = [M.NONE, M.LOW, *HLS]


def _vector(vectors: dict, prefix: str) -> bytes:
    return bytes.fromhex(next(v["hex"] for v in vectors["apdu"] if v["name"].startswith(prefix)))


# -- the published AARQ/AARE vectors --------------------------------------------------------------

def _vector_settings() -> AssociationSettings:
    return AssociationSettings(mechanism=M.LOW, password=SecretBytes.from_text("12345678"),
                               proposed_conformance=Conformance(0x007E1F),
                               max_receive_pdu_size=0x04B0)


def _vector_policy() -> ServerAssociationPolicy:
    return ServerAssociationPolicy(
        clients={16: ClientAssociationRule(mechanism=M.LOW,
                                           password=SecretBytes.from_text("12345678"))},
        server_conformance=Conformance(0x00501F), server_max_receive_pdu_size=0x01F4)


def test_client_aarq_is_the_published_vector(vectors: dict) -> None:
    client = DlmsConnection(Role.CLIENT, _vector_settings())
    assert client.send(ev.Associate()) == _vector(vectors, "AARQ")
    assert client.our_state is State.ASSOCIATION_PENDING


def test_server_answers_the_vector_aarq_with_the_vector_aare(vectors: dict) -> None:
    server = DlmsConnection(Role.SERVER, policy=_vector_policy(), client_sap=16)
    events = server.receive_data(_vector(vectors, "AARQ"))
    assert server.data_to_send() == [_vector(vectors, "AARE")]
    assert events == [ev.ClientAssociated(client_sap=16, mechanism=M.LOW,
                                          negotiated_conformance=Conformance(0x00501F),
                                          client_max_receive_pdu_size=0x04B0)]
    assert server.our_state is State.ASSOCIATED


def test_client_accepts_the_vector_aare(vectors: dict) -> None:
    client = DlmsConnection(Role.CLIENT, _vector_settings())
    client.send(ev.Associate())
    events = client.receive_data(_vector(vectors, "AARE"))
    assert events == [ev.AssociationAccepted(negotiated_conformance=Conformance(0x00501F),
                                             server_max_receive_pdu_size=0x01F4, vaa_name=7,
                                             mechanism=M.LOW)]
    assert (client.our_state, client.their_state) == (State.ASSOCIATED, State.ASSOCIATED)
    assert client.association == events[0] and client.is_associated


def test_hls_gmac_passes_match_the_published_vector(vectors: dict) -> None:
    v = vectors["security_suite0"]["hls_gmac_mechanism_5"]
    settings = client_settings(M.HIGH_GMAC, client_system_title=bytes.fromhex(
        v["client_system_title"]), challenge_length=8)
    policy = server_policy(M.HIGH_GMAC, server_system_title=bytes.fromhex(
        v["server_system_title"]), challenge_length=8,
        invocation_counter_start=int(v["f_ctos_by_server"]["invocation_counter"], 16) - 1)
    pair = AssociationPair(settings, policy,
                           client_rng=lambda n: v["ctos_challenge_ascii"].encode(),
                           server_rng=lambda n: v["stoc_challenge_ascii"].encode())
    events = pair.associate()
    assert isinstance(events[CLIENT][0], ev.AssociationAccepted)
    pass3 = x.ActionRequest.decode(pair.sent_by(CLIENT, 0xC3)[0])
    pass4 = x.ActionResponse.decode(pair.sent_by(SERVER, 0xC7)[0])
    assert pass3.cosem_method_descriptor == x.CosemMethodDescriptor(
        class_id=15, instance_id=settings.association_ln, method_id=1)
    assert pass3.method_invocation_parameters.value == bytes.fromhex(
        v["f_stoc_by_client"]["result"])
    assert pass4.single_response.return_parameters.value == bytes.fromhex(
        v["f_ctos_by_server"]["result"])


# -- association for every mechanism and ciphering mode -------------------------------------------

# mode -> tags of (AARQ user-information, GET request, GET response, HLS pass 3, HLS pass 4)
_CIPHERED_TAGS = {
    CipheringMode.GLOBAL: (0x21, 0xC8, 0xCC, 0xCB, 0xCF),
    CipheringMode.DEDICATED: (0x21, 0xD0, 0xD4, 0xD3, 0xD7),
    CipheringMode.GENERAL_GLOBAL: (0xDB, 0xDB, 0xDB, 0xDB, 0xDB),
    CipheringMode.GENERAL_DEDICATED: (0xDB, 0xDC, 0xDC, 0xDC, 0xDC),
}
NORMAL_RELEASE = ev.Released(reason=acse.ReleaseResponseReason.NORMAL)


@pytest.mark.parametrize("ciphering", [None, *CipheringMode],
                         ids=lambda m: getattr(m, "name", "plain"))
@pytest.mark.parametrize("mechanism", ALL_MECHANISMS, ids=lambda m: m.name)
def test_associate_get_release(mechanism: M, ciphering: CipheringMode | None) -> None:
    pair = make_pair(mechanism, ciphering)
    events = pair.associate()
    accepted, = events[CLIENT]
    associated, = events[SERVER]
    assert isinstance(accepted, ev.AssociationAccepted) and accepted.mechanism is mechanism
    assert isinstance(associated, ev.ClientAssociated) and associated.ciphering is ciphering
    assert accepted.negotiated_conformance == associated.negotiated_conformance
    assert pair.client.states == pair.server.states == {CLIENT: State.ASSOCIATED,
                                                        SERVER: State.ASSOCIATED}
    hls = mechanism in HLS
    # HLS: AARQ, AARE, pass 3 (ACTION), pass 4 (ACTION response); else AARQ, AARE.
    assert len(pair.trace) == (4 if hls else 2)
    aare = acse.AARE.decode(pair.trace[1][1])
    assert aare.result_source_diagnostic is (Diag.AUTHENTICATION_REQUIRED if hls else Diag.NULL)
    if ciphering is not None or mechanism in (M.HIGH_GMAC, M.HIGH_SHA256):
        assert acse.AARQ.decode(pair.trace[0][1]).calling_ap_title == CLIENT_TITLE
        assert accepted.server_system_title == SERVER_TITLE
        assert associated.client_system_title == CLIENT_TITLE
    assert pair.request(ev.Get(descriptor=REGISTER)) == [ev.GetResult(invoke_id=2 if hls else 1,
                                                                      value=VALUE)]
    tags = [apdu[0] for _, apdu in pair.trace]
    if ciphering is not None:
        info, request, response, pass3, pass4 = _CIPHERED_TAGS[ciphering]
        assert acse.AARQ.decode(pair.trace[0][1]).user_information[0] == info
        assert tags[2:] == ([pass3, pass4] if hls else []) + [request, response]
    else:
        assert tags[2:] == ([0xC3, 0xC7] if hls else []) + [0xC0, 0xC4]
    assert pair.send(CLIENT, ev.Release()) == {CLIENT: [NORMAL_RELEASE],
                                               SERVER: [ev.ClientReleased()]}
    assert pair.client.our_state is pair.server.our_state is State.IDLE


@pytest.mark.parametrize("security_control", [0x10, 0x20, 0x30])
@pytest.mark.parametrize("ciphering", [CipheringMode.GLOBAL, CipheringMode.GENERAL_DEDICATED])
def test_security_control_levels(ciphering: CipheringMode, security_control: int) -> None:
    pair = make_pair(M.HIGH_GMAC, ciphering, client={"security_control": security_control},
                 rule={"required_security_control": security_control})
    assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
    pair.request(ev.Get(descriptor=REGISTER))
    for _, apdu in pair.trace[2:]:  # every xDLMS APDU after the AARQ/AARE
        header = 1 + 1 + (9 if apdu[0] in (0xDB, 0xDC) else 0)  # tag, length[, system title]
        assert apdu[header] == security_control


def test_reassociation_after_release_reuses_the_connections() -> None:
    pair = make_pair(M.HIGH_SHA256, CipheringMode.DEDICATED)
    for _ in range(3):
        assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
        assert isinstance(pair.request(ev.Get(descriptor=REGISTER))[0], ev.GetResult)
        pair.send(CLIENT, ev.Release())
    assert pair.client.our_state is State.IDLE


# -- rejections -----------------------------------------------------------------------------------

def _rejected(pair: AssociationPair) -> tuple[ev.AssociationRejected, ev.ClientRejected]:
    events = pair.associate()
    rejected, = events[CLIENT]
    refused, = events[SERVER]
    assert isinstance(rejected, ev.AssociationRejected)
    assert isinstance(refused, ev.ClientRejected)
    assert pair.client.our_state is pair.server.our_state is State.IDLE
    return rejected, refused


def test_wrong_password_is_an_authentication_failure() -> None:
    pair = make_pair(M.LOW, client={"password": SecretBytes(b"wrong-password")})
    rejected, refused = _rejected(pair)
    assert rejected.result is acse.AssociationResult.REJECTED_PERMANENT
    assert rejected.diagnostic is Diag.AUTHENTICATION_FAILURE
    assert rejected.reason_text == "authentication failure"
    assert refused.diagnostic is Diag.AUTHENTICATION_FAILURE
    assert bytes.fromhex("A305A10302010D") in pair.trace[1][1]  # acse-service-user 13


@pytest.mark.parametrize("mechanism", [m for m in HLS if m is not M.HIGH_GMAC],
                         ids=lambda m: m.name)
def test_wrong_hls_secret_on_the_client_fails_pass_3(mechanism: M) -> None:
    pair = make_pair(mechanism, client={"hls_secret": SecretBytes(b"another-secret-!")})
    rejected, refused = _rejected(pair)
    assert rejected.diagnostic is Diag.AUTHENTICATION_FAILURE
    assert rejected.reason_text.startswith("the meter refused our HLS reply: authentication "
                                           "failure")
    assert "wrong HLS secret or key" in rejected.reason_text
    assert refused.reason_text.startswith("the client failed HLS authentication")
    pass4 = x.ActionResponse.decode(pair.sent_by(SERVER, 0xC7)[0])
    assert pass4.single_response.result is x.ActionResult.READ_WRITE_DENIED


def test_wrong_gmac_keys_on_the_client_fail_pass_3() -> None:
    wrong = SecurityKeys(encryption_key=SecretBytes(DK), authentication_key=SecretBytes(AK))
    rejected, _ = _rejected(make_pair(M.HIGH_GMAC, client={"keys": wrong}))
    assert rejected.diagnostic is Diag.AUTHENTICATION_FAILURE


@pytest.mark.parametrize("mechanism", HLS, ids=lambda m: m.name)
def test_wrong_server_answer_in_pass_4_raises_hls_verification_failed(mechanism: M) -> None:
    pair = make_pair(mechanism)

    def forge(sender: Role, apdu: bytes) -> bytes:  # an impostor meter: f(CtoS) is wrong
        return apdu[:-1] + bytes((apdu[-1] ^ 1,)) if apdu[0] == 0xC7 else apdu
    pair.tamper = forge
    with pytest.raises(HlsVerificationFailed):
        pair.associate()
    assert pair.client.their_state is State.ERROR
    with pytest.raises(LocalProtocolError, match="ERROR"):
        pair.client.send(ev.Get(descriptor=REGISTER))


def test_mechanism_mismatch_is_not_recognised() -> None:
    pair = AssociationPair(client_settings(M.HIGH_SHA1), server_policy(M.HIGH_MD5))
    rejected, _ = _rejected(pair)
    assert rejected.diagnostic is Diag.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
    assert rejected.reason_text == "authentication mechanism name not recognised"


def test_missing_mechanism_is_mechanism_required() -> None:
    rejected, _ = _rejected(AssociationPair(client_settings(M.NONE), server_policy(M.LOW)))
    assert rejected.diagnostic is Diag.AUTHENTICATION_MECHANISM_NAME_REQUIRED


@pytest.mark.parametrize("mechanism", [7, M.HIGH_ECDSA, 9])
def test_unsupported_mechanism_is_refused_by_the_settings(mechanism: int) -> None:
    with pytest.raises(LocalProtocolError, match="mechanism"):
        AssociationSettings(mechanism=mechanism)


def test_sn_referencing_is_refused_clearly() -> None:
    with pytest.raises(LocalProtocolError, match="short name .SN. referencing is not supported"):
        AssociationSettings(referencing=Referencing.SN)


@pytest.mark.parametrize("client_ciphering, server_ciphered",
                         [(CipheringMode.GLOBAL, False), (None, True)])
def test_application_context_mismatch(client_ciphering: CipheringMode | None,
                                      server_ciphered: bool) -> None:
    pair = AssociationPair(client_settings(ciphering=client_ciphering,
                                           client_system_title=CLIENT_TITLE, keys=CLIENT_KEYS),
                           server_policy(ciphered=server_ciphered))
    rejected, _ = _rejected(pair)
    assert rejected.diagnostic is Diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    assert rejected.reason_text == "application context name not supported"


def test_unknown_client_sap() -> None:
    rejected, refused = _rejected(AssociationPair(client_settings(), server_policy(sap=48)))
    assert rejected.diagnostic is Diag.NO_REASON_GIVEN
    assert refused.reason_text == "client SAP 16 is not configured"


def test_incompatible_conformance_is_an_initiate_error() -> None:
    pair = make_pair(client={"proposed_conformance": Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET})
    rejected, _ = _rejected(pair)
    assert rejected.service_error == x.ConfirmedServiceError(
        service=x.ConfirmedService.INITIATE_ERROR, error=x.Initiate.INCOMPATIBLE_CONFORMANCE)
    assert rejected.reason_text == "incompatible conformance (no common service)"


def test_wrong_global_key_is_a_deciphering_error() -> None:
    wrong = SecurityKeys(encryption_key=SecretBytes(DK), authentication_key=SecretBytes(AK))
    rejected, refused = _rejected(make_pair(ciphering=CipheringMode.GLOBAL, client={"keys": wrong}))
    assert rejected.service_error.error is x.ApplicationReference.DECIPHERING_ERROR
    assert rejected.reason_text == ("the meter could not decipher the InitiateRequest (wrong "
                                    "keys or system title?)")
    assert refused.reason_text == "the InitiateRequest could not be deciphered"


def test_weaker_security_control_than_required_is_refused() -> None:
    pair = make_pair(ciphering=CipheringMode.GLOBAL, client={"security_control": 0x10},
                 rule={"required_security_control": 0x30})
    rejected, _ = _rejected(pair)
    assert rejected.service_error.error is x.ApplicationReference.DECIPHERING_ERROR


@pytest.mark.parametrize("request_fields, words", [
    (dict(proposed_dlms_version_number=5), x.Initiate.DLMS_VERSION_TOO_LOW),
    (dict(client_max_receive_pdu_size=32), x.Initiate.PDU_SIZE_TOO_SHORT),
    (dict(dedicated_key=DK), x.Initiate.OTHER),
])
def test_server_initiate_errors(request_fields: dict, words: x.Initiate) -> None:
    server = make_server()
    info = InitiateRequest(**{"proposed_conformance": Conformance(0x007E1F),
                              "client_max_receive_pdu_size": 0x400, **request_fields})
    events = server.receive_data(raw_aarq(user_information=info.encode()))
    assert isinstance(events[0], ev.ClientRejected)
    aare = acse.AARE.decode(server.data_to_send()[0])
    assert aare.result_source_diagnostic is Diag.NO_REASON_GIVEN
    assert x.ConfirmedServiceError.decode(aare.user_information).error is words


def test_server_refuses_sn_context_and_missing_title() -> None:
    server = make_server()
    server.receive_data(raw_aarq(application_context_name=acse.ApplicationContextName.SN))
    aare = acse.AARE.decode(server.data_to_send()[0])
    assert aare.result_source_diagnostic is Diag.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    server = make_server(M.HIGH_SHA256)
    server.receive_data(raw_aarq(mechanism_name=M.HIGH_SHA256,
                              sender_acse_requirements=acse.ACSE_REQUIREMENTS_AUTHENTICATION,
                              calling_authentication_value=bytes(16)))
    aare = acse.AARE.decode(server.data_to_send()[0])
    assert aare.result_source_diagnostic is Diag.CALLING_AP_TITLE_NOT_RECOGNIZED


def test_client_maps_initiate_error_and_exception_response() -> None:
    client = DlmsConnection(Role.CLIENT, client_settings())
    client.send(ev.Associate())
    error = x.ConfirmedServiceError(service=x.ConfirmedService.INITIATE_ERROR,
                                    error=x.Initiate.PDU_SIZE_TOO_SHORT)
    aare = acse.AARE(application_context_name=acse.ApplicationContextName.LN,
                     result=acse.AssociationResult.REJECTED_PERMANENT,
                     result_source_diagnostic=Diag.NO_REASON_GIVEN,
                     user_information=error.encode())
    rejected, = client.receive_data(aare.encode())
    assert rejected.reason_text == "our max receive PDU size is too short for the meter"
    assert rejected.service_error == error
    client.send(ev.Associate())
    rejected, = client.receive_data(bytes.fromhex("D80101"))  # some meters answer an AARQ so
    assert rejected.diagnostic is None
    assert "not allowed in this state" in rejected.reason_text
