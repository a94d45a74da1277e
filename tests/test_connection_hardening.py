"""DlmsConnection hardening (review of issue 4): HLS skipped or switched by the server, invocation
counters across sessions and replays into a new connection, the dedicated key never in clear,
keys the peer selects that we lack, encryption-only APDUs under a wrong key, and the logger."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest

from association_pair import (AK, CLIENT, CLIENT_KEYS, CLIENT_TITLE, DK, EK, KEYS, PASSWORD,
                              REGISTER, SERVER, SERVER_TITLE, VALUE, AssociationPair,
                              client_settings, counting_rng, make_pair, raw_aarq, server_policy)
from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import AcseServiceUserDiagnostic as Diag
from meterreader.dlms.acse import MechanismName as M
from meterreader.dlms.axdr import D
from meterreader.dlms.connection import TRACE_LEVEL, DlmsConnection
from meterreader.dlms.connection_settings import AssociationSettings, ClientAssociationRule
from meterreader.dlms.connection_state import Role, State
from meterreader.dlms.errors import DecodeError, LocalProtocolError, RemoteProtocolError
from meterreader.dlms.initiate import Conformance, InitiateRequest
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import (AuthenticationDowngrade, CipheringMode,
                                       HlsVerificationFailed, KeyNotAvailable, ReplayError,
                                       ReplayGuard, SecurityError, SecurityKeys,
                                       UndecodablePlaintext, decode_plaintext,
                                       gmac_response_counter, hls_response, protect_apdu,
                                       unprotect_apdu)
from meterreader.dlms.xdlms import decode_apdu

HLS = [M.HIGH, M.HIGH_MD5, M.HIGH_SHA1, M.HIGH_GMAC, M.HIGH_SHA256]
DEDICATED = [CipheringMode.DEDICATED, CipheringMode.GENERAL_DEDICATED]
GET_PLAIN = x.GetRequestNormal(cosem_attribute_descriptor=REGISTER).encode()


def _rewrite_aare(**fields: object):
    """A man in the middle that rewrites fields of the AARE."""
    def tamper(sender: Role, apdu: bytes) -> bytes:
        if sender is SERVER and apdu[0] == acse.AcseTag.AARE:
            return dataclasses.replace(acse.AARE.decode(apdu), **fields).encode()
        return apdu
    return tamper


# -- 1. the server must not skip or switch HLS ----------------------------------------------------

@pytest.mark.parametrize("mechanism", HLS, ids=lambda m: m.name)
def test_hls_accepted_without_authentication_required_is_a_downgrade(mechanism: M) -> None:
    pair = make_pair(mechanism)
    pair.tamper = _rewrite_aare(result_source_diagnostic=Diag.NULL, mechanism_name=None,
                                responder_acse_requirements=None,
                                responding_authentication_value=None)
    with pytest.raises(AuthenticationDowngrade, match="without HLS authentication") as raised:
        pair.associate()
    assert isinstance(raised.value, HlsVerificationFailed)
    assert f"mechanism {mechanism.value}" in str(raised.value)
    assert pair.client.their_state is State.ERROR and not pair.client.is_associated
    assert pair.client.association is None
    assert len(pair.sent_by(CLIENT)) == 1  # no pass 3, and nothing else, went out
    with pytest.raises(LocalProtocolError, match="ERROR"):
        pair.client.send(ev.Get(descriptor=REGISTER))


def test_aare_naming_another_hls_mechanism_is_a_downgrade() -> None:
    pair = make_pair(M.HIGH_SHA256)
    pair.tamper = _rewrite_aare(mechanism_name=M.HIGH_MD5)
    with pytest.raises(AuthenticationDowngrade, match="mechanism 3, we proposed 6"):
        pair.associate()
    assert pair.client.their_state is State.ERROR


def test_aare_naming_another_mechanism_than_lls_is_a_protocol_error() -> None:
    pair = make_pair(M.LOW)
    pair.tamper = _rewrite_aare(mechanism_name=M.HIGH)
    with pytest.raises(RemoteProtocolError, match="mechanism 2, we proposed 1"):
        pair.associate()


def test_aare_echoing_our_mechanism_is_fine() -> None:
    pair = make_pair(M.LOW)
    pair.tamper = _rewrite_aare(mechanism_name=M.LOW)
    assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)


# -- 2. invocation counters across sessions, replays into a new connection ------------------------

def _glo_counter(apdu: bytes) -> int:
    return int.from_bytes(apdu[3:7], "big")  # glo-xxx: tag, length, SC, IC


def test_invocation_counter_is_the_last_value_used_and_read_only() -> None:
    pair = make_pair(M.NONE, CipheringMode.GLOBAL, client={"invocation_counter_start": 41},
                     policy={"invocation_counter_start": 7})
    assert pair.client.invocation_counter == 41 and pair.server.invocation_counter == 7
    pair.associate()
    pair.request(ev.Get(descriptor=REGISTER))
    assert pair.client.invocation_counter == _glo_counter(pair.sent_by(CLIENT, 0xC8)[-1]) == 43
    assert pair.server.invocation_counter == _glo_counter(pair.sent_by(SERVER, 0xCC)[-1]) == 9
    with pytest.raises(AttributeError):
        pair.client.invocation_counter = 0  # type: ignore[misc]
    # The next session continues from the persisted value: no IV is ever used twice.
    again = make_pair(M.NONE, CipheringMode.GLOBAL,
                      client={"invocation_counter_start": pair.client.invocation_counter})
    again.associate()
    assert _glo_counter(acse.AARQ.decode(again.trace[0][1]).user_information) == 44


def _captured_session(guards: dict | None) -> tuple[bytes, bytes, object]:
    pair = make_pair(M.NONE, CipheringMode.GLOBAL, policy={"replay_guards": guards})
    pair.associate()
    assert pair.request(ev.Get(descriptor=REGISTER)) == [ev.GetResult(invoke_id=1, value=VALUE)]
    aarq, get = pair.sent_by(CLIENT)
    return aarq, get, pair.server._side.policy


def _new_server(policy: object) -> DlmsConnection:
    return DlmsConnection(Role.SERVER, policy=policy, client_sap=16, rng=counting_rng(7))


def test_aarq_and_get_replayed_into_a_new_connection_are_refused_with_shared_guards() -> None:
    guards: dict[bytes, ReplayGuard] = {}
    aarq, get, policy = _captured_session(guards)
    assert guards[CLIENT_TITLE].last == _glo_counter(get)
    server = _new_server(policy)
    rejected, = server.receive_data(aarq)
    assert isinstance(rejected, ev.ClientRejected)
    assert rejected.reason_text.startswith("replayed InitiateRequest: invocation counter 1 not "
                                           "greater than last accepted 2")
    aare = acse.AARE.decode(server.data_to_send()[0])
    assert aare.result is acse.AssociationResult.REJECTED_PERMANENT
    assert x.ConfirmedServiceError.decode(aare.user_information).error \
        is x.ApplicationReference.DECIPHERING_ERROR
    refused, = server.receive_data(get)  # the captured GET: no association, no GetRequested
    assert isinstance(refused, ev.RequestRefused)
    assert x.ExceptionResponse.decode(server.data_to_send()[0]).state_error \
        is x.StateError.SERVICE_NOT_ALLOWED
    assert server.our_state is State.IDLE


def test_without_shared_guards_a_new_connection_behaves_as_before() -> None:
    aarq, get, policy = _captured_session(None)
    server = _new_server(policy)
    assert isinstance(server.receive_data(aarq)[0], ev.ClientAssociated)
    assert server.receive_data(get) == [ev.GetRequested(invoke_id=1, descriptor=REGISTER)]


def test_replayed_get_into_a_legitimate_new_session_is_an_invocation_counter_error() -> None:
    guards: dict[bytes, ReplayGuard] = {}
    _, old_get, policy = _captured_session(guards)
    # The real client comes back with its persisted counter: accepted.
    client = DlmsConnection(Role.CLIENT, client_settings(
        ciphering=CipheringMode.GLOBAL, invocation_counter_start=_glo_counter(old_get)))
    server = _new_server(policy)
    assert isinstance(server.receive_data(client.send(ev.Associate()))[0], ev.ClientAssociated)
    client.receive_data(server.data_to_send()[0])
    with pytest.raises(ReplayError):
        server.receive_data(old_get)
    answer = x.ExceptionResponse.decode(server.data_to_send()[0])
    assert answer.service_error is x.ServiceError.INVOCATION_COUNTER_ERROR


def test_hls_gmac_pass_3_counter_feeds_the_shared_guard() -> None:
    guards: dict[bytes, ReplayGuard] = {}
    pair = make_pair(M.HIGH_GMAC, policy={"replay_guards": guards})
    assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
    pass3 = x.ActionRequest.decode(pair.sent_by(CLIENT, 0xC3)[0])
    counter = int.from_bytes(pass3.method_invocation_parameters.value[1:5], "big")
    assert guards[CLIENT_TITLE].last == counter == 1


def _gmac_client_after_aare() -> tuple[DlmsConnection, bytes]:
    """A ciphered HLS-GMAC client that got the real AARE (InitiateResponse IC 11); its CtoS."""
    client = DlmsConnection(Role.CLIENT, client_settings(M.HIGH_GMAC,
                                                         ciphering=CipheringMode.GLOBAL),
                            rng=counting_rng(1))
    server = DlmsConnection(Role.SERVER, policy=server_policy(
        M.HIGH_GMAC, ciphered=True, invocation_counter_start=10), client_sap=16,
        rng=counting_rng(100))
    aarq = client.send(ev.Associate())
    server.receive_data(aarq)
    assert client.receive_data(server.data_to_send()[0]) == []
    assert client.data_to_send()  # pass 3 queued
    return client, acse.AARQ.decode(aarq).calling_authentication_value


@pytest.mark.parametrize("hls_counter, accepted", [(5, False), (11, False), (12, True)])
def test_hls_gmac_pass_4_counter_is_replay_checked(hls_counter: int, accepted: bool) -> None:
    client, ctos = _gmac_client_after_aare()
    answer = hls_response(M.HIGH_GMAC, challenge=ctos, own_system_title=SERVER_TITLE,
                          invocation_counter=hls_counter, keys=KEYS)
    pass4 = x.ActionResponseNormal(single_response=x.ActionResponseWithOptionalData(
        result=x.ActionResult.SUCCESS, return_parameters=D.octet_string(answer))).encode()
    wire = protect_apdu(pass4, mode=CipheringMode.GLOBAL, security_control=0x30,
                        system_title=SERVER_TITLE, invocation_counter=50, keys=KEYS)
    if accepted:
        assert isinstance(client.receive_data(wire)[0], ev.AssociationAccepted)
    else:
        with pytest.raises(ReplayError, match="not greater than last accepted 11"):
            client.receive_data(wire)


@pytest.mark.parametrize("hls_counter, accepted", [(21, False), (22, True)])
def test_hls_gmac_pass_3_counter_is_replay_checked(hls_counter: int, accepted: bool) -> None:
    settings = client_settings(M.HIGH_GMAC, ciphering=CipheringMode.GLOBAL,
                               invocation_counter_start=20)
    server = DlmsConnection(Role.SERVER, policy=server_policy(M.HIGH_GMAC, ciphered=True),
                            client_sap=16, rng=counting_rng(100))
    server.receive_data(DlmsConnection(Role.CLIENT, settings, rng=counting_rng(1))
                        .send(ev.Associate()))  # InitiateRequest IC 21
    stoc = acse.AARE.decode(server.data_to_send()[0]).responding_authentication_value
    answer = hls_response(M.HIGH_GMAC, challenge=stoc, own_system_title=CLIENT_TITLE,
                          invocation_counter=hls_counter, keys=KEYS)
    pass3 = x.ActionRequestNormal(
        cosem_method_descriptor=x.CosemMethodDescriptor(
            class_id=15, instance_id=settings.association_ln, method_id=1),
        method_invocation_parameters=D.octet_string(answer)).encode()
    events = server.receive_data(protect_apdu(
        pass3, mode=CipheringMode.GLOBAL, security_control=0x30, system_title=CLIENT_TITLE,
        invocation_counter=30, keys=KEYS))
    if accepted:
        assert isinstance(events[0], ev.ClientAssociated)
    else:
        assert isinstance(events[0], ev.ClientRejected)
        assert events[0].reason_text.startswith("the client's HLS-GMAC answer is replayed")
        assert server.our_state is State.IDLE


# -- 3. the dedicated key never travels in clear --------------------------------------------------

@pytest.mark.parametrize("control", [0x10, 0x20, 0x30])
@pytest.mark.parametrize("ciphering", DEDICATED, ids=lambda m: m.name)
def test_dedicated_key_never_appears_in_the_aarq(ciphering: CipheringMode, control: int) -> None:
    pair = make_pair(M.NONE, ciphering, client={"security_control": control},
                     rule={"required_security_control": control})
    assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
    aarq = pair.trace[0][1]
    assert DK not in aarq and DK.hex() not in aarq.hex()
    info = acse.AARQ.decode(aarq).user_information
    header = 2 + (9 if info[0] == 0xDB else 0)  # tag, length[, system title]
    assert info[header] == 0x30  # authenticated and encrypted, whatever the services use
    assert pair.request(ev.Get(descriptor=REGISTER)) == [ev.GetResult(invoke_id=1, value=VALUE)]
    request = pair.sent_by(CLIENT)[-1]
    assert request[1 + 1 + (9 if request[0] in (0xDB, 0xDC) else 0)] == control


def test_server_refuses_a_dedicated_key_without_encryption() -> None:
    info = InitiateRequest(dedicated_key=DK, proposed_conformance=Conformance(0x007E1F),
                           client_max_receive_pdu_size=0x400).encode()
    wire = protect_apdu(info, mode=CipheringMode.GLOBAL, security_control=0x10,
                        system_title=CLIENT_TITLE, invocation_counter=1, keys=KEYS)
    server = DlmsConnection(Role.SERVER, policy=server_policy(
        ciphered=True, rule={"required_security_control": 0x10}), client_sap=16)
    refused, = server.receive_data(raw_aarq(
        application_context_name=acse.ApplicationContextName.LN_CIPHERING,
        calling_ap_title=CLIENT_TITLE, user_information=wire))
    assert isinstance(refused, ev.ClientRejected)
    assert refused.reason_text.startswith("a dedicated key must travel encrypted")
    aare = acse.AARE.decode(server.data_to_send()[0])
    assert aare.result is acse.AssociationResult.REJECTED_PERMANENT
    assert x.ConfirmedServiceError.decode(aare.user_information).error is x.Initiate.OTHER


def test_dedicated_ciphering_needs_the_authentication_key() -> None:
    with pytest.raises(LocalProtocolError, match="dedicated ciphering needs "
                                                 "keys.authentication_key"):
        AssociationSettings(ciphering=CipheringMode.DEDICATED, security_control=0x20,
                            client_system_title=CLIENT_TITLE,
                            keys=SecurityKeys(encryption_key=EK, dedicated_key=DK))


# -- 4. a key the peer selected that we lack ------------------------------------------------------

def test_ded_request_in_a_global_association_is_answered_not_a_local_error() -> None:
    pair = make_pair(M.NONE, CipheringMode.GLOBAL)
    pair.associate()
    ded = protect_apdu(GET_PLAIN, mode=CipheringMode.DEDICATED, security_control=0x30,
                       system_title=CLIENT_TITLE, invocation_counter=1000, keys=CLIENT_KEYS)
    with pytest.raises(KeyNotAvailable, match="DED_GET_REQUEST .* needs the dedicated key") \
            as raised:
        pair.server.receive_data(ded)
    assert isinstance(raised.value, RemoteProtocolError)
    assert pair.server.data_to_send() == [x.ExceptionResponse(
        state_error=x.StateError.SERVICE_NOT_ALLOWED,
        service_error=x.ServiceError.DECIPHERING_ERROR).encode()]
    assert pair.server.their_state is State.ERROR


def test_glo_apdu_before_the_aare_is_remote() -> None:
    client = DlmsConnection(Role.CLIENT, client_settings(ciphering=CipheringMode.GLOBAL))
    client.send(ev.Associate())
    answer = protect_apdu(x.GetResponseNormal(result=VALUE).encode(), mode=CipheringMode.GLOBAL,
                          security_control=0x30, system_title=SERVER_TITLE,
                          invocation_counter=1, keys=KEYS)
    with pytest.raises(RemoteProtocolError, match="before the peer's system title is known"):
        client.receive_data(answer)


# -- 5. encryption only under a wrong key ---------------------------------------------------------

WRONG = SecurityKeys(encryption_key=DK, authentication_key=KEYS.authentication_key)


@pytest.mark.parametrize("ciphering", [CipheringMode.GLOBAL, CipheringMode.GENERAL_GLOBAL],
                         ids=lambda m: m.name)
def test_encryption_only_response_under_a_wrong_key(ciphering: CipheringMode) -> None:
    pair = make_pair(M.NONE, ciphering, client={"security_control": 0x20},
                     rule={"required_security_control": 0x20})
    pair.associate()
    pair.client.send(ev.Get(descriptor=REGISTER))
    garbage = protect_apdu(x.GetResponseNormal(result=VALUE).encode(), mode=ciphering,
                           security_control=0x20, system_title=SERVER_TITLE,
                           invocation_counter=77, keys=WRONG)
    with pytest.raises(UndecodablePlaintext, match=r"cannot decode the decrypted APDU: wrong "
                                                   r"key\? \(encryption-only APDUs carry no "
                                                   r"authentication tag\)"):
        pair.client.receive_data(garbage)
    assert pair.client.their_state is State.ERROR


@pytest.mark.parametrize("ciphering", [CipheringMode.GLOBAL, CipheringMode.GENERAL_GLOBAL],
                         ids=lambda m: m.name)
def test_encryption_only_request_under_a_wrong_key(ciphering: CipheringMode) -> None:
    pair = make_pair(M.NONE, ciphering, client={"security_control": 0x20},
                     rule={"required_security_control": 0x20})
    pair.associate()
    garbage = protect_apdu(GET_PLAIN, mode=ciphering, security_control=0x20,
                           system_title=CLIENT_TITLE, invocation_counter=77, keys=WRONG)
    with pytest.raises(UndecodablePlaintext, match="wrong key"):
        pair.server.receive_data(garbage)
    assert x.ExceptionResponse.decode(pair.server.data_to_send()[0]).service_error \
        is x.ServiceError.DECIPHERING_ERROR


def test_encryption_only_aarq_under_a_wrong_key_is_a_deciphering_error() -> None:
    pair = make_pair(M.NONE, CipheringMode.GENERAL_GLOBAL,
                     client={"security_control": 0x20, "keys": WRONG},
                     rule={"required_security_control": 0x20})
    events = pair.associate()
    rejected, = events[CLIENT]
    refused, = events[SERVER]
    assert rejected.service_error.error is x.ApplicationReference.DECIPHERING_ERROR
    assert refused.reason_text.startswith("cannot decode the decrypted APDU: wrong key?")


# -- the security layer underneath ----------------------------------------------------------------

ALL_KEYS = SecurityKeys(encryption_key=EK, authentication_key=AK, dedicated_key=DK,
                        broadcast_key=bytes(range(0x60, 0x70)))


@pytest.mark.parametrize("sc, keys, missing", [
    (0x70, SecurityKeys(encryption_key=EK, authentication_key=AK), "global broadcast key"),
    (0x30, SecurityKeys(encryption_key=EK), "authentication key (AK)"),
    (0x20, SecurityKeys(authentication_key=AK), "global unicast encryption key (EK)"),
])
def test_a_key_the_sender_selected_but_we_lack_is_remote(sc: int, keys: SecurityKeys,
                                                        missing: str) -> None:
    wire = protect_apdu(GET_PLAIN, mode=CipheringMode.GLOBAL, security_control=sc,
                        system_title=CLIENT_TITLE, invocation_counter=5, keys=ALL_KEYS)
    with pytest.raises(KeyNotAvailable, match=re.escape(f"needs the {missing}")):
        unprotect_apdu(wire, keys=keys, system_title=CLIENT_TITLE)


def test_unprotect_encryption_only_under_a_wrong_key_says_so() -> None:
    wire = protect_apdu(GET_PLAIN, mode=CipheringMode.GLOBAL, security_control=0x20,
                        system_title=CLIENT_TITLE, invocation_counter=9, keys=ALL_KEYS)
    wrong = SecurityKeys(encryption_key=DK, authentication_key=AK)
    with pytest.raises(UndecodablePlaintext, match=r"^cannot decode the decrypted APDU: wrong "
                                                   r"key\? \(encryption-only APDUs carry no "
                                                   r"authentication tag\)") as info:
        unprotect_apdu(wire, keys=wrong, system_title=CLIENT_TITLE)
    assert isinstance(info.value, DecodeError) and isinstance(info.value, SecurityError)
    # general-glo carries any APDU: the caller decodes, through decode_plaintext
    general = protect_apdu(GET_PLAIN, mode=CipheringMode.GENERAL_GLOBAL,
                           security_control=0x20, system_title=CLIENT_TITLE,
                           invocation_counter=9, keys=ALL_KEYS)
    garbage = unprotect_apdu(general, keys=wrong, system_title=None)
    with pytest.raises(UndecodablePlaintext):
        decode_plaintext(garbage, decode_apdu)
    good = unprotect_apdu(general, keys=ALL_KEYS, system_title=None)
    assert decode_plaintext(good, decode_apdu) == decode_apdu(GET_PLAIN)
    authenticated = unprotect_apdu(protect_apdu(
        GET_PLAIN, mode=CipheringMode.GENERAL_GLOBAL, security_control=0x10,
        system_title=CLIENT_TITLE, invocation_counter=9, keys=ALL_KEYS), keys=ALL_KEYS,
        system_title=None)
    with pytest.raises(DecodeError) as info:  # authenticated: a real protocol error, no hint
        decode_plaintext(authenticated, lambda b: decode_apdu(b[:-1]))
    assert not isinstance(info.value, UndecodablePlaintext)


def test_replay_guard_nested_counter() -> None:
    guard = ReplayGuard(last=10)
    guard.check(20)  # the APDU around the HLS-GMAC answer
    guard.check_nested(15, before=10)  # the answer inside, numbered before it
    assert guard.last == 20
    with pytest.raises(ReplayError):
        guard.check_nested(10, before=10)
    guard.check_nested(25, before=10)
    assert guard.last == 25
    fresh = ReplayGuard()
    fresh.check_nested(3, before=None)
    assert fresh.last == 3


def test_gmac_response_counter() -> None:
    answer = hls_response(5, challenge=bytes(range(16)), own_system_title=CLIENT_TITLE,
                          invocation_counter=0x01020304, keys=ALL_KEYS)
    assert gmac_response_counter(answer) == 0x01020304
    with pytest.raises(HlsVerificationFailed):
        gmac_response_counter(answer[:-1])


# -- 7. logger, addresses, mechanism 7 ------------------------------------------------------------

class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("level, dumps", [(1, True), (logging.DEBUG, False)])
def test_a_stdlib_logger_is_enough(level: int, dumps: bool) -> None:
    logger = logging.getLogger(f"test.connection.{level}")
    logger.propagate = False
    handler = _Records()
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        pair = AssociationPair(client_settings(M.LOW), server_policy(M.LOW))
        pair.client = DlmsConnection(Role.CLIENT, client_settings(M.LOW), logger=logger)
        assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
    finally:
        logger.removeHandler(handler)
    lines = [(r.levelno, r.getMessage()) for r in handler.records]
    assert (logging.DEBUG, "AARQ by client: IDLE -> ASSOCIATION_PENDING") in lines
    traces = [text for levelno, text in lines if levelno == TRACE_LEVEL]
    assert bool(traces) is dumps
    if dumps:
        assert traces[0].startswith("send 60") and traces[1].startswith("receive 61")
    assert not any(PASSWORD.hex() in text or PASSWORD.decode() in text for _, text in lines)


def test_server_physical_address_is_informational() -> None:
    assert AssociationSettings().server_physical_address == 256
    assert AssociationSettings(server_physical_address=0x3FFF).server_physical_address == 0x3FFF
    with pytest.raises(LocalProtocolError, match="server_physical_address"):
        AssociationSettings(server_physical_address=0x4000)


def test_mechanism_7_is_ecdsa_not_sha256() -> None:
    text = r"mechanism 7 \(HLS ECDSA\) is not supported; HLS SHA-256 is mechanism 6"
    with pytest.raises(LocalProtocolError, match=text):
        AssociationSettings(mechanism=7)
    with pytest.raises(LocalProtocolError, match=text):
        ClientAssociationRule(mechanism=M.HIGH_ECDSA, hls_secret=SecretBytes(b"x" * 16))
