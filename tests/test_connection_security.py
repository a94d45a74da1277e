"""DlmsConnection under attack: tampered, replayed and downgraded ciphered APDUs on both sides,
invocation counters, and the published suite 0 ciphered GET vector on the server side."""

from __future__ import annotations

import pytest

from association_pair import (CLIENT, KEYS, REGISTER, SERVER, SERVER_TITLE, AssociationPair,
                              SimpleResponder, client_settings, server_policy)
from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName as M
from meterreader.dlms.axdr import D, encode_data
from meterreader.dlms.connection_state import Role, State
from meterreader.dlms.errors import LocalProtocolError, RemoteProtocolError
from meterreader.dlms.security import (AuthenticationTagMismatch, CipheringMode, ReplayError,
                                       SecurityPolicyViolation, protect_apdu)

VALUE = D.long_unsigned(230)


def _pair(ciphering: CipheringMode = CipheringMode.GLOBAL, mechanism: M = M.HIGH_GMAC,
          **client) -> AssociationPair:
    pair = AssociationPair(client_settings(mechanism, ciphering=ciphering, **client),
                           server_policy(mechanism, ciphered=True),
                           responder=SimpleResponder({(3, REGISTER.instance_id, 2): VALUE}))
    assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
    return pair


def _flip(apdu: bytes, index: int = -1) -> bytes:
    data = bytearray(apdu)
    data[index] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize("ciphering", list(CipheringMode), ids=lambda m: m.name)
def test_tampered_response_raises_tag_mismatch(ciphering: CipheringMode) -> None:
    pair = _pair(ciphering)
    pair.tamper = lambda sender, apdu: _flip(apdu) if sender is SERVER else apdu
    with pytest.raises(AuthenticationTagMismatch, match="wrong key or tampered APDU"):
        pair.request(ev.Get(descriptor=REGISTER))
    assert (pair.client.our_state, pair.client.their_state) == (State.REQUEST_PENDING,
                                                                State.ERROR)
    with pytest.raises(LocalProtocolError):
        pair.client.send(ev.Release())


def test_replayed_response_raises_replay_error() -> None:
    pair = _pair()
    pair.request(ev.Get(descriptor=REGISTER))
    old_response = pair.trace[-1][1]
    pair.client.send(ev.Get(descriptor=REGISTER))
    with pytest.raises(ReplayError, match="not greater than last accepted"):
        pair.client.receive_data(old_response)  # same bytes, same invocation counter
    assert pair.client.their_state is State.ERROR


def test_tampered_request_is_answered_and_raised_by_the_server() -> None:
    pair = _pair()
    request = pair.client.send(ev.Get(descriptor=REGISTER))
    with pytest.raises(AuthenticationTagMismatch):
        pair.server.receive_data(_flip(request))
    assert pair.server.data_to_send() == [x.ExceptionResponse(
        state_error=x.StateError.SERVICE_NOT_ALLOWED,
        service_error=x.ServiceError.DECIPHERING_ERROR).encode()]
    assert pair.server.their_state is State.ERROR


def test_replayed_request_is_an_invocation_counter_error() -> None:
    pair = _pair()
    pair.request(ev.Get(descriptor=REGISTER))
    old_request = pair.sent_by(CLIENT)[-1]
    counter = int.from_bytes(old_request[3:7], "big")
    with pytest.raises(ReplayError):
        pair.server.receive_data(old_request)
    answer = x.ExceptionResponse.decode(pair.server.data_to_send()[0])
    assert answer.service_error is x.ServiceError.INVOCATION_COUNTER_ERROR
    assert answer.invocation_counter == counter + 1


def test_unciphered_response_in_a_ciphered_association() -> None:
    pair = _pair()
    pair.client.send(ev.Get(descriptor=REGISTER))
    with pytest.raises(RemoteProtocolError, match="unciphered APDU in a ciphered association"):
        pair.client.receive_data(x.GetResponseNormal(result=VALUE).encode())


def test_plain_exception_response_is_accepted_in_a_ciphered_association() -> None:
    pair = _pair()
    pair.client.send(ev.Get(descriptor=REGISTER))
    event, = pair.client.receive_data(bytes.fromhex("D80105"))
    assert isinstance(event, ev.ServiceError) and "could not decipher" in event.text


def test_unciphered_request_in_a_ciphered_association_is_refused() -> None:
    pair = _pair()
    refused, = pair.server.receive_data(
        x.GetRequestNormal(cosem_attribute_descriptor=REGISTER).encode())
    assert refused.text == "unciphered request in a ciphered association"
    assert pair.server.data_to_send() == [bytes.fromhex("D80101")]
    assert pair.server.our_state is State.ASSOCIATED


def test_ciphered_apdu_to_an_unciphered_client() -> None:
    pair = AssociationPair(client_settings(), server_policy())
    pair.associate()
    pair.client.send(ev.Get(descriptor=REGISTER))
    with pytest.raises(RemoteProtocolError, match="this association is not ciphered"):
        pair.client.receive_data(bytes.fromhex("CC0A3000000001") + bytes(5))


def test_downgraded_response_violates_the_policy() -> None:
    pair = _pair(security_control=0x30)
    pair.client.send(ev.Get(descriptor=REGISTER))
    # The meter (or an attacker) answers encrypted only, without the authentication tag.
    plain = x.GetResponseNormal(result=VALUE).encode()
    weak = protect_apdu(plain, mode=CipheringMode.GLOBAL, security_control=0x20,
                        system_title=SERVER_TITLE, invocation_counter=999, keys=KEYS)
    with pytest.raises(SecurityPolicyViolation):
        pair.client.receive_data(weak)


def test_invocation_counters_never_repeat() -> None:
    pair = _pair(CipheringMode.GENERAL_GLOBAL, invocation_counter_start=41)
    for _ in range(3):
        pair.request(ev.Get(descriptor=REGISTER))
    pair.send(CLIENT, ev.Release())
    pair.associate()
    pair.request(ev.Get(descriptor=REGISTER))
    counters: dict[Role, list[int]] = {CLIENT: [], SERVER: []}
    for sender, apdu in pair.trace:
        if apdu[0] == 0xDB:  # general-glo-ciphering: tag, 08 + title, length, SC, IC
            counters[sender].append(int.from_bytes(apdu[12:16], "big"))
        elif apdu[0] == 0x60:  # the AARQ's user-information is general-glo-ciphered too
            index = apdu.index(b"\xDB\x08")
            counters[sender].append(int.from_bytes(apdu[index + 12:index + 16], "big"))
    assert counters[CLIENT][0] == 42
    for values in counters.values():
        assert values == sorted(set(values)) and len(values) > 5


@pytest.mark.parametrize("key", ["glo_get_request_apdu", "general_glo_ciphering_apdu"])
def test_server_deciphers_the_published_get_vector(vectors: dict, key: str) -> None:
    v = vectors["security_suite0"]["authenticated_encryption_get_request"]
    title = bytes.fromhex(v["system_title"])
    mode = CipheringMode.GLOBAL if key.startswith("glo") else CipheringMode.GENERAL_GLOBAL
    pair = _pair(mode, M.NONE, client_system_title=title)
    events = pair.server.receive_data(bytes.fromhex(v[key]))
    clock = x.CosemAttributeDescriptor(class_id=8, instance_id=Obis(0, 0, 1, 0, 0, 255),
                                       attribute_id=2)
    assert events == [ev.GetRequested(invoke_id=0, descriptor=clock)]
    assert x.decode_apdu(bytes.fromhex(v["plaintext_apdu"])).cosem_attribute_descriptor == clock
    answer = pair.server.send(ev.GetResponse(invoke_id=0, value=VALUE))
    assert answer[0] == (0xCC if mode is CipheringMode.GLOBAL else 0xDB)
    assert int.from_bytes(answer[3:7] if answer[0] == 0xCC else answer[12:16], "big") > 1


def test_partial_raw_survives_a_security_error_in_the_middle_of_a_transfer() -> None:
    big = D.octet_string(bytes(range(200)) * 10)
    pair = AssociationPair(client_settings(M.NONE, ciphering=CipheringMode.GLOBAL),
                           server_policy(ciphered=True, server_max_receive_pdu_size=128),
                           responder=SimpleResponder({(3, REGISTER.instance_id, 2): big}))
    pair.associate()
    responses = {"n": 0}

    def tamper(sender: Role, apdu: bytes) -> bytes:
        if sender is SERVER:
            responses["n"] += 1
            if responses["n"] == 4:  # the 4th datablock of the GET
                return _flip(apdu)
        return apdu
    pair.tamper = tamper
    with pytest.raises(AuthenticationTagMismatch):
        pair.request(ev.Get(descriptor=REGISTER))
    assert len(pair.client.partial_raw) > 200
    assert encode_data(big).startswith(pair.client.partial_raw)
