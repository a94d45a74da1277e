"""DlmsConnection: release, misuse and the ERROR state, the transition table (exhaustively, with
Hypothesis), arbitrary received bytes, and secrets that must never show in reprs, errors or logs.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from association_pair import (AK, CLIENT, CLIENT_KEYS, DK, EK, HLS_SECRET, KEYS, PASSWORD,
                              REGISTER, SERVER, VALUE, AssociationPair, SimpleResponder,
                              client_settings, make_pair, make_server, raw_aarq,
                              server_policy)
from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName as M
from meterreader.dlms.connection import DlmsConnection, redact
from meterreader.dlms.connection_state import (SENDERS, TRANSITIONS, AssociationMachine, Effect,
                                               Input, Role, State, TransitionError)
from meterreader.dlms.errors import DlmsError, LocalProtocolError, RemoteProtocolError
from meterreader.dlms.security import CipheringMode, HlsVerificationFailed


# -- release --------------------------------------------------------------------------------------

@pytest.mark.parametrize("rlre", ["6305800100", "6304800100", "6302", "63", "6303800100FF"])
def test_malformed_rlre_is_accepted_as_released_under_the_quirk(rlre: str) -> None:
    pair = make_pair()
    pair.associate()
    pair.client.send(ev.Release())
    events = pair.client.receive_data(bytes.fromhex(rlre))
    assert events == [ev.Released(malformed=True)]
    assert pair.client.our_state is State.IDLE


def test_malformed_rlre_without_the_quirk_is_an_error() -> None:
    pair = make_pair(client={"accept_malformed_rlre": False})
    pair.associate()
    pair.client.send(ev.Release())
    with pytest.raises(RemoteProtocolError):
        pair.client.receive_data(bytes.fromhex("6305800100"))
    assert pair.client.their_state is State.ERROR


def test_late_response_after_release_request_is_ignored() -> None:
    pair = make_pair()
    pair.associate()
    pair.client.send(ev.Get(descriptor=REGISTER))
    pair.client.send(ev.Release())
    late = x.GetResponseNormal(invoke_id_and_priority=x.InvokeIdAndPriority(invoke_id=1),
                               result=VALUE).encode()
    assert pair.client.receive_data(late) == []
    assert pair.client.receive_data(acse.RLRE(
        reason=acse.ReleaseResponseReason.NORMAL).encode())[0] == ev.Released(
        reason=acse.ReleaseResponseReason.NORMAL)


# -- misuse and state -----------------------------------------------------------------------------

def test_services_before_association_are_refused() -> None:
    client = DlmsConnection(Role.CLIENT, client_settings())
    with pytest.raises(LocalProtocolError, match="not associated"):
        client.send(ev.Get(descriptor=REGISTER))
    assert client.our_state is State.ERROR
    server = make_server()
    request = x.GetRequestNormal(cosem_attribute_descriptor=REGISTER).encode()
    refused, = server.receive_data(request)
    assert isinstance(refused, ev.RequestRefused)
    assert server.data_to_send() == [bytes.fromhex("D80101")]  # service-not-allowed
    assert server.our_state is State.IDLE


def test_services_during_hls_are_refused_by_the_server() -> None:
    server = make_server(M.HIGH_MD5)
    server.receive_data(raw_aarq(mechanism_name=M.HIGH_MD5, calling_authentication_value=bytes(16),
                              sender_acse_requirements=acse.ACSE_REQUIREMENTS_AUTHENTICATION))
    server.data_to_send()
    assert server.our_state is State.HLS_PENDING
    events = server.receive_data(x.GetRequestNormal(cosem_attribute_descriptor=REGISTER).encode())
    assert isinstance(events[0], ev.RequestRefused) and server.our_state is State.HLS_PENDING


def test_second_request_while_one_is_outstanding() -> None:
    pair = make_pair()
    pair.associate()
    pair.client.send(ev.Get(descriptor=REGISTER))
    with pytest.raises(LocalProtocolError, match="REQUEST is not allowed in state "
                                                 "REQUEST_PENDING"):
        pair.client.send(ev.Get(descriptor=REGISTER))


def test_calls_after_error_are_refused() -> None:
    pair = make_pair()
    pair.associate()
    with pytest.raises(RemoteProtocolError):
        pair.client.receive_data(b"\xC4\x01\xC1\x00")  # unsolicited (and truncated) response
    assert (pair.client.our_state, pair.client.their_state) == (State.ASSOCIATED, State.ERROR)
    for call in (lambda: pair.client.send(ev.Release()),
                 lambda: pair.client.receive_data(b"\x63\x00")):
        with pytest.raises(LocalProtocolError, match="state ERROR"):
            call()


def test_wrong_direction_apdus() -> None:
    pair = make_pair()
    pair.associate()
    with pytest.raises(RemoteProtocolError, match="a client never sends RESPONSE"):
        pair.server.receive_data(x.GetResponseNormal(result=VALUE).encode())
    with pytest.raises(LocalProtocolError, match="a client cannot send GetResponse"):
        pair.client.send(ev.GetResponse(invoke_id=1, value=VALUE))


def test_server_send_misuse() -> None:
    pair = make_pair()
    pair.associate()
    with pytest.raises(LocalProtocolError, match="no request is waiting"):
        pair.server.send(ev.GetResponse(invoke_id=1, value=VALUE))
    pair = AssociationPair(client_settings(), server_policy(), responder=lambda e: None)
    pair.associate()
    pair.request(ev.Get(descriptor=REGISTER))
    with pytest.raises(LocalProtocolError, match="invoke_id 5 does not match"):
        pair.server.send(ev.GetResponse(invoke_id=5, value=VALUE))


@pytest.mark.parametrize("kwargs", [
    dict(role="client"), dict(role=Role.CLIENT), dict(role=Role.SERVER),
    dict(role=Role.SERVER, policy=server_policy()),
    dict(role=Role.SERVER, policy=server_policy(M.HIGH_MD5), client_sap=16),
])
def test_constructor_misuse(kwargs: dict) -> None:
    with pytest.raises(LocalProtocolError):
        DlmsConnection(**kwargs)


def test_hls_without_rng_is_a_local_error() -> None:
    client = DlmsConnection(Role.CLIENT, client_settings(M.HIGH_SHA1))
    with pytest.raises(LocalProtocolError, match="rng=secrets.token_bytes"):
        client.send(ev.Associate())


# -- the transition table -------------------------------------------------------------------------

def test_table_shape() -> None:
    assert set(SENDERS) == set(Input)
    for (state, machine_input), (effect, next_state) in TRANSITIONS.items():
        assert state is not State.ERROR and next_state is not State.ERROR
        if effect is not None:  # REFUSE / IGNORE never move the state
            assert next_state is state
    for state in State:
        if state is not State.ERROR:
            assert TRANSITIONS[(state, Input.NOTIFICATION)] == (None, state)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(list(Input)), st.sampled_from(list(Role))),
                max_size=12))
def test_every_state_input_pair_transitions_or_errors(steps: list) -> None:
    machine = AssociationMachine()
    for machine_input, sender in steps:
        before = machine.state
        if before is State.ERROR:
            with pytest.raises(TransitionError):
                machine.process(machine_input, sender)
            continue
        expected = TRANSITIONS.get((before, machine_input))
        if expected is None or sender not in SENDERS[machine_input]:
            with pytest.raises(TransitionError):
                machine.process(machine_input, sender)
            machine.fail(sender)
            assert machine.state is State.ERROR
        else:
            assert machine.process(machine_input, sender) is expected[0]
            assert machine.state is expected[1]
            assert machine.states[Role.CLIENT] is machine.states[Role.SERVER]


def test_refuse_effect_is_for_requests_outside_an_association() -> None:
    refused = {key for key, (effect, _) in TRANSITIONS.items() if effect is Effect.REFUSE}
    assert refused == {(s, i) for s in (State.IDLE, State.HLS_PENDING)
                       for i in (Input.REQUEST, Input.REQUEST_NEXT)}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(["idle", "associated", "pending"]),
       st.sampled_from([Role.CLIENT, Role.SERVER]))
def test_any_received_bytes_give_events_or_dlms_errors(data: bytes, where: str,
                                                      role: Role) -> None:
    pair = make_pair(M.LOW)
    if where != "idle":
        pair.associate()
    if where == "pending":
        pair.client.send(ev.Get(descriptor=REGISTER))
    try:
        events = pair.conn(role).receive_data(data)
    except DlmsError:
        return
    assert all(isinstance(e, ev.Event) for e in events)


# -- secrets never show ---------------------------------------------------------------------------

SECRETS = [PASSWORD, HLS_SECRET, EK, AK, DK]


def _leaks(text: str) -> list[bytes]:
    return [s for s in SECRETS if s.hex() in text.lower() or s.hex(" ") in text.lower()
            or repr(s)[2:-1] in text or s.decode("latin-1") in text]


def test_repr_of_settings_events_and_errors_hides_secrets() -> None:
    settings_ = client_settings(M.LOW, ciphering=CipheringMode.DEDICATED)
    hls_settings = client_settings(M.HIGH_SHA256)
    policy = server_policy(M.LOW, ciphered=True)
    texts = [repr(settings_), str(settings_), repr(hls_settings), repr(policy),
             repr(policy.clients[16]), repr(KEYS), repr(CLIENT_KEYS)]
    pair = AssociationPair(settings_, policy,
                           responder=SimpleResponder({(3, REGISTER.instance_id, 2): VALUE}))
    events = pair.associate()
    events[CLIENT] += pair.request(ev.Get(descriptor=REGISTER))
    texts += [repr(e) for e in events[CLIENT] + events[SERVER]]
    texts += [repr(acse.AARQ.decode(pair.trace[0][1]))]
    # errors raised while a password-carrying AARQ is processed
    server = make_server(M.LOW)
    server.receive_data(raw_aarq(mechanism_name=M.LOW, calling_authentication_value=PASSWORD,
                              sender_acse_requirements=acse.ACSE_REQUIREMENTS_AUTHENTICATION))
    with pytest.raises(RemoteProtocolError) as raised:  # an AARQ while associated
        server.receive_data(raw_aarq(mechanism_name=M.LOW, calling_authentication_value=PASSWORD))
    texts += [str(raised.value), repr(raised.value), raised.value.data.hex()]
    assert raised.value.data  # the APDU is still there, password masked
    broken = raw_aarq(mechanism_name=M.LOW, calling_authentication_value=PASSWORD)[:-3]
    with pytest.raises(RemoteProtocolError) as raised:
        make_server(M.LOW).receive_data(broken)
    texts += [str(raised.value), repr(raised.value)]
    texts += [str(HlsVerificationFailed()), repr(redact(broken))]
    for text in texts:
        assert not _leaks(text), text


def test_logger_never_sees_the_password() -> None:
    lines: list[str] = []

    class Logger:
        def debug(self, fmt: str, *args: object) -> None:
            lines.append(fmt % args)

        def trace(self, fmt: str, *args: object) -> None:
            lines.append(fmt % args)
    client = DlmsConnection(Role.CLIENT, client_settings(M.LOW), logger=Logger())
    client.send(ev.Associate())
    assert lines and not any(_leaks(line) for line in lines)

