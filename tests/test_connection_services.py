"""DlmsConnection services: GET/SET/ACTION (normal, with list, block transfer both ways),
error responses, invoke-ids, and failures in the middle of block transfers."""

from __future__ import annotations

import math

import pytest

from association_pair import (BUFFER, CLIENT, METHOD, REGISTER, SERVER, AssociationPair,
                              SimpleResponder, client_settings, server_policy)
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName as M
from meterreader.dlms.axdr import D, Data, encode_data
from meterreader.dlms.blocks import decode_values, encode_results
from meterreader.dlms.connection import DlmsConnection
from meterreader.dlms.connection_state import Role, State
from meterreader.dlms.errors import LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.initiate import Conformance as C
from meterreader.dlms.security import CipheringMode

VALUE = D.double_long_unsigned(42)
BIG = D.octet_string(bytes(range(256)) * 40)  # 10 240 bytes
PROFILE = D.array(*(D.structure(D.double_long_unsigned(i), D.long_unsigned(i % 7))
                    for i in range(900)))  # a profile-like value of ~9 kB


def _echo(parameters: Data | None) -> tuple[x.ActionResult, Data | None]:
    return x.ActionResult.SUCCESS, parameters


def _pair(*, client: dict | None = None, policy: dict | None = None,
          ciphering: CipheringMode | None = None, values: dict | None = None,
          mechanism: M = M.LOW) -> AssociationPair:
    responder = SimpleResponder(
        values if values is not None else {(3, REGISTER.instance_id, 2): VALUE,
                                           (7, BUFFER.instance_id, 2): BIG},
        {(70, METHOD.instance_id, 1): _echo})
    pair = AssociationPair(client_settings(mechanism, ciphering=ciphering, **(client or {})),
                           server_policy(mechanism, ciphered=ciphering is not None,
                                         **(policy or {})), responder=responder)
    assert isinstance(pair.associate()[CLIENT][0], ev.AssociationAccepted)
    pair.trace.clear()
    return pair


def _types(apdus: list[tuple[Role, bytes]]) -> list[str]:
    return [type(x.decode_apdu(a)).__name__ for _, a in apdus]


# -- GET ------------------------------------------------------------------------------------------

def test_get_normal() -> None:
    pair = _pair()
    assert pair.request(ev.Get(descriptor=REGISTER)) == [ev.GetResult(invoke_id=1, value=VALUE)]
    assert _types(pair.trace) == ["GetRequestNormal", "GetResponseNormal"]
    assert pair.client.our_state is pair.server.our_state is State.ASSOCIATED


def test_get_undefined_object_gives_the_data_access_result() -> None:
    missing = x.CosemAttributeDescriptor(class_id=1, instance_id=REGISTER.instance_id,
                                         attribute_id=2)
    assert pair_get(missing) == [ev.GetResult(invoke_id=1,
                                              value=x.DataAccessResult.OBJECT_UNDEFINED)]


def pair_get(descriptor: x.CosemAttributeDescriptor) -> list[ev.Event]:
    return _pair().request(ev.Get(descriptor=descriptor))


def test_get_with_selective_access_reaches_the_server() -> None:
    pair = _pair()
    selection = x.SelectiveAccessDescriptor.entry(x.EntryDescriptor(from_entry=1, to_entry=10))
    pair.request(ev.Get(descriptor=BUFFER, selection=selection))
    assert pair.responder.requests[-1] == ev.GetRequested(invoke_id=1, descriptor=BUFFER,
                                                          selection=selection)


def test_invoke_ids_cycle_0_to_15() -> None:
    pair = _pair(client={"invoke_id_start": 14})
    ids = [pair.request(ev.Get(descriptor=REGISTER))[0].invoke_id for _ in range(20)]
    assert ids == [(14 + i) % 16 for i in range(20)]
    assert [x.GetRequest.decode(a).invoke_id_and_priority.invoke_id
            for a in pair.sent_by(CLIENT)] == ids


@pytest.mark.parametrize("server_pdu, client_pdu", [(128, 0xFFFF), (0xFFFF, 200), (300, 256)])
def test_get_10kB_in_datablocks(server_pdu: int, client_pdu: int) -> None:
    pair = _pair(client={"max_receive_pdu_size": client_pdu},
                 policy={"server_max_receive_pdu_size": server_pdu})
    events = pair.request(ev.Get(descriptor=BUFFER))
    raw = encode_data(BIG)
    progress = [e for e in events if isinstance(e, ev.BlockReceived)]
    assert events[-1] == ev.GetResult(invoke_id=1, value=BIG)
    limit = min(server_pdu, client_pdu)
    assert all(len(a) <= limit for _, a in pair.trace)
    first = pair.sent_by(SERVER)[0]
    assert len(first) >= limit - 2  # blocks fill the PDU
    blocks = len(progress)
    assert blocks == math.ceil(len(raw) / len(x.GetResponse.decode(first).result.result)) > 1
    assert len(pair.sent_by(CLIENT)) == blocks  # the request + one GetRequestNext per block
    assert len([a for a in pair.sent_by(CLIENT) if a[1] == 2]) == blocks - 1
    assert [p.block_number for p in progress] == list(range(1, blocks + 1))
    assert progress[-1].bytes_so_far == len(raw) and progress[-1].last
    assert [p.last for p in progress].count(True) == 1
    assert pair.client.our_state is pair.server.our_state is State.ASSOCIATED


@pytest.mark.parametrize("ciphering", list(CipheringMode), ids=lambda m: m.name)
def test_get_in_datablocks_ciphered(ciphering: CipheringMode) -> None:
    pair = _pair(ciphering=ciphering, mechanism=M.HIGH_GMAC,
                 policy={"server_max_receive_pdu_size": 256})
    events = pair.request(ev.Get(descriptor=BUFFER))
    assert events[-1].value == BIG
    assert all(len(a) <= 256 for _, a in pair.trace)


def test_get_with_list() -> None:
    pair = _pair()
    unknown = x.CosemAttributeDescriptor(class_id=1, instance_id=BUFFER.instance_id,
                                         attribute_id=2)
    events = pair.request(ev.GetList(descriptors=(REGISTER, unknown, REGISTER)))
    assert events == [ev.GetListResult(invoke_id=1, values=(
        VALUE, x.DataAccessResult.OBJECT_UNDEFINED, VALUE))]
    assert _types(pair.trace) == ["GetRequestWithList", "GetResponseWithList"]


def test_get_with_list_in_datablocks() -> None:
    pair = _pair(values={(7, BUFFER.instance_id, 2): PROFILE, (3, REGISTER.instance_id, 2): VALUE},
                 policy={"server_max_receive_pdu_size": 512})
    events = pair.request(ev.GetList(descriptors=(BUFFER, REGISTER)))
    assert events[-1] == ev.GetListResult(invoke_id=1, values=(PROFILE, VALUE))
    assert len([e for e in events if isinstance(e, ev.BlockReceived)]) > 10


def test_get_too_long_without_block_transfer_is_other_reason() -> None:
    pair = _pair(client={"proposed_conformance": C.GET},
                 policy={"server_max_receive_pdu_size": 128})
    assert pair.request(ev.Get(descriptor=BUFFER)) == [
        ev.GetResult(invoke_id=1, value=x.DataAccessResult.OTHER_REASON)]


# -- failures in the middle of a GET block transfer -----------------------------------------------

def _block_pair() -> AssociationPair:
    return _pair(policy={"server_max_receive_pdu_size": 128})


def _rewrite_block(pair: AssociationPair, number: int, change) -> None:
    def tamper(sender: Role, apdu: bytes) -> bytes:
        if sender is SERVER and apdu[:2] == b"\xC4\x02":
            pdu = x.GetResponse.decode(apdu)
            if pdu.result.block_number == number:
                return change(pdu).encode()
        return apdu
    pair.tamper = tamper


def _block(pdu: x.GetResponseWithDatablock, **fields) -> x.GetResponseWithDatablock:
    values = dict(last_block=pdu.result.last_block, block_number=pdu.result.block_number,
                  result=pdu.result.result)
    values.update(fields)
    return x.GetResponseWithDatablock(invoke_id_and_priority=pdu.invoke_id_and_priority,
                                      result=x.DataBlockG(**values))


def test_block_number_out_of_sequence_keeps_partial_raw() -> None:
    pair = _block_pair()
    _rewrite_block(pair, 3, lambda pdu: _block(pdu, block_number=4))
    with pytest.raises(ev.BlockTransferError) as raised:
        pair.request(ev.Get(descriptor=BUFFER))
    error = raised.value
    assert error.reason is Reason.SEQUENCE_ERROR and error.block_number == 2
    assert "block 4 received, expected block 3" in str(error)
    blocks = [x.GetResponse.decode(a).result.result for a in pair.sent_by(SERVER)[:2]]
    assert error.partial_raw == b"".join(blocks) == encode_data(BIG)[:len(error.partial_raw)]
    assert pair.client.their_state is State.ERROR


def test_meter_aborting_a_transfer_is_a_result_with_partial_raw() -> None:
    pair = _block_pair()
    _rewrite_block(pair, 3, lambda pdu: _block(
        pdu, last_block=True, result=x.DataAccessResult.LONG_GET_ABORTED))
    events = pair.request(ev.Get(descriptor=BUFFER))
    result = events[-1]
    assert result.value is x.DataAccessResult.LONG_GET_ABORTED
    assert len(result.partial_raw) == events[-2].bytes_so_far > 0
    assert pair.client.our_state is State.ASSOCIATED


def test_undecodable_reassembled_value() -> None:
    pair = _pair(values={(7, BUFFER.instance_id, 2): D.octet_string(bytes(300))},
                 policy={"server_max_receive_pdu_size": 128})
    _rewrite_block(pair, 3, lambda pdu: _block(pdu, result=pdu.result.result + b"\x00"))
    with pytest.raises(ev.BlockTransferError, match="does not decode") as raised:
        pair.request(ev.Get(descriptor=BUFFER))
    assert raised.value.reason is Reason.TRAILING_DATA
    assert raised.value.partial_raw.endswith(b"\x00\x00")


def test_invoke_id_mismatch() -> None:
    pair = _pair()

    def tamper(sender: Role, apdu: bytes) -> bytes:
        return apdu[:2] + bytes((apdu[2] ^ 0x05,)) + apdu[3:] if sender is SERVER else apdu
    pair.tamper = tamper
    with pytest.raises(RemoteProtocolError, match="invoke-id 4 does not match the request's 1"):
        pair.request(ev.Get(descriptor=REGISTER))


def test_invoke_id_mismatch_tolerated_by_the_quirk() -> None:
    pair = _pair(client={"ignore_invoke_id_mismatch": True})
    pair.tamper = lambda s, a: a[:2] + b"\xC0" + a[3:] if s is SERVER else a
    assert pair.request(ev.Get(descriptor=REGISTER)) == [ev.GetResult(invoke_id=1, value=VALUE)]


def test_response_of_the_wrong_service() -> None:
    pair = _pair()
    pair.client.send(ev.Get(descriptor=REGISTER))
    with pytest.raises(RemoteProtocolError, match="SetResponseNormal does not answer a GET"):
        pair.client.receive_data(x.SetResponseNormal(
            result=x.DataAccessResult.SUCCESS).encode())


# -- SET ------------------------------------------------------------------------------------------

def test_set_normal() -> None:
    pair = _pair()
    new = D.double_long_unsigned(7)
    assert pair.request(ev.Set(descriptor=REGISTER, value=new)) == [
        ev.SetResult(invoke_id=1, result=x.DataAccessResult.SUCCESS)]
    assert pair.request(ev.Get(descriptor=REGISTER))[0].value == new
    assert _types(pair.trace)[:2] == ["SetRequestNormal", "SetResponseNormal"]


def test_set_5kB_in_datablocks() -> None:
    pair = _pair(policy={"server_max_receive_pdu_size": 256})
    value = D.octet_string(bytes(5000))
    events = pair.request(ev.Set(descriptor=BUFFER, value=value))
    assert events == [ev.SetResult(invoke_id=1, result=x.DataAccessResult.SUCCESS)]
    types = _types(pair.trace)
    first = x.SetRequest.decode(pair.trace[0][1])
    assert 254 <= len(pair.trace[0][1]) <= 256
    blocks = math.ceil(len(encode_data(value)) / len(first.datablock.raw_data))
    assert types[0] == "SetRequestWithFirstDatablock"
    assert types.count("SetRequestWithDatablock") == blocks - 1
    assert types.count("SetResponseDatablock") == blocks - 1
    assert types[-1] == "SetResponseLastDatablock"
    assert all(len(a) <= 256 for _, a in pair.trace)
    assert pair.responder.values[(7, BUFFER.instance_id, 2)] == value
    last = x.SetResponse.decode(pair.trace[-1][1])
    assert last.block_number == blocks


def test_set_in_datablocks_ciphered_dedicated() -> None:
    pair = _pair(ciphering=CipheringMode.DEDICATED, policy={"server_max_receive_pdu_size": 200})
    value = D.octet_string(bytes(range(256)) * 8)
    assert pair.request(ev.Set(descriptor=BUFFER, value=value))[0].result is \
        x.DataAccessResult.SUCCESS
    assert pair.responder.values[(7, BUFFER.instance_id, 2)] == value


def test_set_list_normal_and_in_blocks() -> None:
    pair = _pair(policy={"server_max_receive_pdu_size": 128})
    small = (D.double_long_unsigned(1), D.double_long_unsigned(2))
    assert pair.request(ev.SetList(descriptors=(REGISTER, BUFFER), values=small)) == [
        ev.SetListResult(invoke_id=1, results=(x.DataAccessResult.SUCCESS,) * 2)]
    big = (D.octet_string(bytes(200)), D.octet_string(bytes(300)))
    events = pair.request(ev.SetList(descriptors=(REGISTER, BUFFER), values=big))
    assert events == [ev.SetListResult(invoke_id=2, results=(x.DataAccessResult.SUCCESS,) * 2)]
    assert "SetRequestWithListAndFirstDatablock" in _types(pair.trace)
    assert _types(pair.trace)[-1] == "SetResponseLastDatablockWithList"
    assert pair.responder.values[(7, BUFFER.instance_id, 2)] == big[1]


def test_set_too_long_without_block_transfer() -> None:
    pair = _pair(client={"proposed_conformance": C.GET | C.SET},
                 policy={"server_max_receive_pdu_size": 128})
    with pytest.raises(LocalProtocolError, match="block transfer with SET was not negotiated"):
        pair.client.send(ev.Set(descriptor=BUFFER, value=D.octet_string(bytes(500))))


def test_wrong_set_block_acknowledgement() -> None:
    pair = _pair(policy={"server_max_receive_pdu_size": 128})
    pair.client.send(ev.Set(descriptor=BUFFER, value=D.octet_string(bytes(500))))
    with pytest.raises(RemoteProtocolError, match="acknowledged block 2, we sent block 1"):
        pair.client.receive_data(x.SetResponseDatablock(block_number=2).encode())


def test_server_refuses_set_blocks_out_of_sequence() -> None:
    pair = _pair()
    iip = x.InvokeIdAndPriority(invoke_id=3)
    first = x.SetRequestWithFirstDatablock(
        invoke_id_and_priority=iip, cosem_attribute_descriptor=BUFFER,
        datablock=x.DataBlockSA(last_block=False, block_number=1, raw_data=b"\x09\x82\x01"))
    assert pair.server.receive_data(first.encode()) == []
    assert pair.server.data_to_send() == [x.SetResponseDatablock(
        invoke_id_and_priority=iip, block_number=1).encode()]
    assert pair.server.our_state is State.BLOCK_PENDING
    third = x.SetRequestWithDatablock(invoke_id_and_priority=iip, datablock=x.DataBlockSA(
        last_block=True, block_number=3, raw_data=bytes(300)))
    refused, = pair.server.receive_data(third.encode())
    assert refused.text == "SET block 3, expected 2"
    assert pair.server.data_to_send() == [refused.response] == [x.SetResponseLastDatablock(
        invoke_id_and_priority=iip, result=x.DataAccessResult.DATA_BLOCK_NUMBER_INVALID,
        block_number=3).encode()]
    assert pair.server.our_state is State.ASSOCIATED


# -- ACTION ---------------------------------------------------------------------------------------

def test_action_without_and_with_return_data() -> None:
    pair = _pair()
    assert pair.request(ev.Action(descriptor=METHOD)) == [
        ev.ActionResult(invoke_id=1, result=x.ActionResult.SUCCESS)]
    param = D.structure(D.unsigned(1), D.long(-2))
    assert pair.request(ev.Action(descriptor=METHOD, parameters=param)) == [
        ev.ActionResult(invoke_id=2, result=x.ActionResult.SUCCESS, return_value=param)]
    unknown = x.CosemMethodDescriptor(class_id=70, instance_id=REGISTER.instance_id, method_id=9)
    assert pair.request(ev.Action(descriptor=unknown))[0].result is \
        x.ActionResult.OBJECT_UNDEFINED


def test_action_parameters_in_pblocks_and_return_in_pblocks() -> None:
    pair = _pair(client={"max_receive_pdu_size": 300},
                 policy={"server_max_receive_pdu_size": 200})
    param = D.octet_string(bytes(range(256)) * 12)
    events = pair.request(ev.Action(descriptor=METHOD, parameters=param))
    assert events[-1] == ev.ActionResult(invoke_id=1, result=x.ActionResult.SUCCESS,
                                         return_value=param)
    types = _types(pair.trace)
    assert types[0] == "ActionRequestWithFirstPblock"
    assert types.count("ActionRequestWithPblock") == types.count("ActionResponseNextPblock") > 5
    returned = types.count("ActionResponseWithPblock")
    assert returned == types.count("ActionRequestNextPblock") + 1 > 5
    assert len([e for e in events if isinstance(e, ev.BlockReceived)]) == returned
    assert pair.responder.requests[-1].parameters == param
    assert pair.client.our_state is pair.server.our_state is State.ASSOCIATED


# -- error responses ------------------------------------------------------------------------------

@pytest.mark.parametrize("service_error", [x.ServiceError.OPERATION_NOT_POSSIBLE,
                                           x.ServiceError.SERVICE_NOT_SUPPORTED,
                                           x.ServiceError.OTHER_REASON])
def test_exception_response_becomes_service_error(service_error: x.ServiceError) -> None:
    def refuse(event: ev.Event) -> ev.Event | None:
        if isinstance(event, ev.GetRequested):
            return ev.RefuseRequest(invoke_id=event.invoke_id, service_error=service_error)
        return None
    pair = AssociationPair(client_settings(), server_policy(), responder=refuse)
    pair.associate()
    error, = pair.request(ev.Get(descriptor=REGISTER))
    expected = x.ExceptionResponse(state_error=x.StateError.SERVICE_NOT_ALLOWED,
                                   service_error=service_error)
    assert error == ev.ServiceError(invoke_id=1, text=expected.describe(), apdu=expected)
    assert error.text.startswith("the service is not allowed in this state")
    assert pair.client.our_state is State.ASSOCIATED


def test_confirmed_service_error_becomes_service_error() -> None:
    pair = _pair()
    pair.client.send(ev.Get(descriptor=REGISTER))
    error = x.ConfirmedServiceError(service=x.ConfirmedService.READ,
                                    error=x.Access.OBJECT_UNAVAILABLE)
    event, = pair.client.receive_data(error.encode())
    assert isinstance(event, ev.ServiceError) and event.apdu == error
    assert event.text == "read failed: access error object-unavailable"


def test_exception_in_the_middle_of_a_transfer_keeps_partial_raw() -> None:
    pair = _block_pair()
    pair.tamper = lambda s, a: (bytes.fromhex("D80103") if s is SERVER and a[:2] == b"\xC4\x02"
                                and x.GetResponse.decode(a).result.block_number == 2 else a)
    events = pair.request(ev.Get(descriptor=BUFFER))
    assert isinstance(events[-1], ev.ServiceError)
    assert events[-1].partial_raw == encode_data(BIG)[:events[0].bytes_so_far]


def test_server_refuses_services_not_negotiated() -> None:
    pair = _pair(client={"proposed_conformance": C.GET | C.SET})
    error, = pair.request(ev.GetList(descriptors=(REGISTER, BUFFER)))
    assert error.apdu.service_error is x.ServiceError.SERVICE_NOT_SUPPORTED
    selection = x.SelectiveAccessDescriptor.entry(x.EntryDescriptor(from_entry=1))
    error, = pair.request(ev.Get(descriptor=BUFFER, selection=selection))
    assert isinstance(error, ev.ServiceError)


def test_server_answers_stray_next_requests() -> None:
    pair = _pair()
    events = pair.server.receive_data(x.GetRequestNext(block_number=1).encode())
    assert isinstance(events[0], ev.RequestRefused)
    answer = x.GetResponse.decode(pair.server.data_to_send()[0])
    assert answer.result.result is x.DataAccessResult.NO_LONG_GET_IN_PROGRESS
    events = pair.server.receive_data(x.ActionRequestNextPblock(block_number=1).encode())
    answer = x.ActionResponse.decode(pair.server.data_to_send()[0])
    assert answer.single_response.result is x.ActionResult.NO_LONG_ACTION_IN_PROGRESS
    assert pair.server.our_state is State.ASSOCIATED


def test_server_refuses_requests_longer_than_its_pdu() -> None:
    pair = _pair(policy={"server_max_receive_pdu_size": 64})
    request = x.SetRequestNormal(cosem_attribute_descriptor=REGISTER,
                                 value=D.octet_string(bytes(100))).encode()
    refused, = pair.server.receive_data(request)
    assert "longer than our max receive PDU size" in refused.text
    assert x.ExceptionResponse.decode(refused.response).service_error is \
        x.ServiceError.PDU_TOO_LONG


def test_notifications_are_reported() -> None:
    pair = _pair()
    note = x.DataNotification(long_invoke_id_and_priority=x.LongInvokeIdAndPriority(),
                              date_time=b"", notification_body=VALUE)
    assert pair.client.receive_data(note.encode()) == [ev.NotificationReceived(apdu=note)]


def test_block_helpers_round_trip() -> None:
    values = (VALUE, D.octet_string(b"ab"))
    assert decode_values(bytes([2]) + b"".join(encode_data(v) for v in values)) == values
    assert encode_results((VALUE, x.DataAccessResult.OBJECT_UNDEFINED)) == \
        b"\x02\x00" + encode_data(VALUE) + b"\x01\x04"


def test_scripted_driver_loop() -> None:
    """The driver loop of the module docstring, written out: AARQ → AARE → HLS pass 3/4 → GET in
    datablocks → RLRQ, with the server answering through the same kind of loop."""
    settings = client_settings(M.HIGH_MD5, max_receive_pdu_size=128)
    client = DlmsConnection(Role.CLIENT, settings, rng=lambda n: b"C" * n)
    server = DlmsConnection(Role.SERVER, policy=server_policy(M.HIGH_MD5), client_sap=16,
                            rng=lambda n: b"S" * n)
    to_server: list[bytes] = []
    received: list[ev.Event] = []

    def run(first: bytes) -> None:
        to_server.append(first)
        while to_server:
            for event in server.receive_data(to_server.pop(0)):
                if isinstance(event, ev.GetRequested):
                    to_client = [server.send(ev.GetResponse(invoke_id=event.invoke_id,
                                                            value=BIG))]
                    break
            else:
                to_client = []
            to_client += server.data_to_send()
            for apdu in to_client:
                received.extend(client.receive_data(apdu))
                to_server.extend(client.data_to_send())

    run(client.send(ev.Associate()))
    assert isinstance(received[-1], ev.AssociationAccepted)
    run(client.send(ev.Get(descriptor=BUFFER)))
    assert received[-1] == ev.GetResult(invoke_id=2, value=BIG)
    run(client.send(ev.Release()))
    assert isinstance(received[-1], ev.Released)
    assert client.our_state is server.our_state is State.IDLE
