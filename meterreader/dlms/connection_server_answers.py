"""The server side's answers (mixin of ``connection_server.ServerSide``): the simulator's
``send(GetResponse(...))`` … split into datablocks/pblocks when longer than the client accepts,
and unsolicited :class:`EventNotification`.

Green Book ed.9 (GET/SET/ACTION responses, block transfer, EventNotification service).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data, encode_data
from meterreader.dlms.blocks import (Outgoing, Reassembly, encode_results, payload_size,
                                     protection_overhead, split)
from meterreader.dlms.connection_state import Input, Role
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.initiate import Conformance

if TYPE_CHECKING:
    from meterreader.dlms.connection_server import ServerSide

C = Conformance


class Kind(Enum):
    GET = "GET"
    GET_LIST = "GET-with-list"
    SET = "SET"
    SET_LIST = "SET-with-list"
    ACTION = "ACTION"
    ACTION_LIST = "ACTION-with-list"


class Pending:
    """The request being served: what the client asked and any block transfer."""

    __slots__ = ("kind", "iip", "request", "incoming", "outgoing", "awaiting")

    def __init__(self, kind: Kind, iip: x.InvokeIdAndPriority, request: Any = None) -> None:
        self.kind = kind
        self.iip = iip
        self.request = request  # the first request APDU (descriptors, selection)
        self.incoming: Reassembly | None = None
        self.outgoing: Outgoing | None = None
        self.awaiting = False  # a request event went out; the simulator owes the answer


class ServerAnswers:
    """Mixin of ServerSide: what the simulator sends."""


    def send(self: "ServerSide", event: ev.Event) -> bytes:
        unsolicited = _UNSOLICITED.get(type(event))
        if unsolicited is not None:
            return unsolicited(self, event)
        entry = _SEND.get(type(event))
        if entry is None:
            raise LocalProtocolError(f"a server cannot send {type(event).__name__}")
        p = self.pending
        if p is None or not p.awaiting:
            raise LocalProtocolError(f"no request is waiting for {type(event).__name__}")
        if event.invoke_id != p.iip.invoke_id:
            raise LocalProtocolError(f"invoke_id {event.invoke_id} does not match the "
                                     f"outstanding request's {p.iip.invoke_id}")
        kinds, handler = entry
        if kinds and p.kind not in kinds:
            raise LocalProtocolError(f"{type(event).__name__} does not answer a {p.kind.value}")
        p.awaiting = False
        return handler(self, p, event)

    @property
    def _limit(self: "ServerSide") -> int:
        return self._client_limit

    def _fits(self: "ServerSide", pdu: Any) -> bool:
        return len(pdu.encode()) + protection_overhead(self._reply_mode) <= self._limit

    def _split(self: "ServerSide", p: Pending, raw: bytes, empty: Any) -> None:
        p.outgoing = Outgoing(split(raw, payload_size(self._limit, empty.encode(),
                                                      self._reply_mode)))

    def _next_get_block(self: "ServerSide", p: Pending) -> bytes:
        assert p.outgoing is not None
        block = p.outgoing.next_block()
        pdu = x.GetResponseWithDatablock(invoke_id_and_priority=p.iip, result=x.DataBlockG(
            last_block=block.last_block, block_number=block.block_number, result=block.raw_data))
        return self._answer(pdu, Input.RESPONSE if block.last_block else Input.RESPONSE_BLOCK)

    def _next_action_block(self: "ServerSide", p: Pending) -> bytes:
        assert p.outgoing is not None
        block = p.outgoing.next_block()
        pdu = x.ActionResponseWithPblock(invoke_id_and_priority=p.iip, pblock=block)
        return self._answer(pdu, Input.RESPONSE if block.last_block else Input.RESPONSE_BLOCK)

    def _send_get(self: "ServerSide", p: Pending, event: Any) -> bytes:
        if isinstance(event, ev.GetResponse):
            pdu: Any = x.GetResponseNormal(invoke_id_and_priority=p.iip, result=event.value)
        else:
            if len(event.values) != len(p.request.attribute_descriptor_list):
                raise LocalProtocolError("GetListResponse needs one value per descriptor")
            pdu = x.GetResponseWithList(invoke_id_and_priority=p.iip, result=event.values)
        if self._fits(pdu):
            return self._answer(pdu)
        if not self._conformance & C.BLOCK_TRANSFER_WITH_GET_OR_READ:
            return self._answer(x.GetResponseNormal(invoke_id_and_priority=p.iip,
                                                    result=x.DataAccessResult.OTHER_REASON))
        raw = (encode_data(event.value) if isinstance(event, ev.GetResponse)
               else encode_results(event.values))
        self._split(p, raw, x.GetResponseWithDatablock(
            invoke_id_and_priority=p.iip,
            result=x.DataBlockG(last_block=False, block_number=1, result=b"")))
        return self._next_get_block(p)

    def _send_set(self: "ServerSide", p: Pending, event: Any) -> bytes:
        block = p.incoming.last_number if p.incoming is not None else None
        if isinstance(event, ev.SetResponse):
            pdu: Any = (x.SetResponseNormal(invoke_id_and_priority=p.iip, result=event.result)
                        if block is None else x.SetResponseLastDatablock(
                            invoke_id_and_priority=p.iip, result=event.result,
                            block_number=block))
        else:
            if len(event.results) != len(p.request.attribute_descriptor_list):
                raise LocalProtocolError("SetListResponse needs one result per descriptor")
            pdu = (x.SetResponseWithList(invoke_id_and_priority=p.iip, result=event.results)
                   if block is None else x.SetResponseLastDatablockWithList(
                       invoke_id_and_priority=p.iip, result=event.results, block_number=block))
        return self._answer(pdu)

    def _send_action(self: "ServerSide", p: Pending, event: ev.ActionResponse) -> bytes:
        pdu = x.ActionResponseNormal(
            invoke_id_and_priority=p.iip, single_response=x.ActionResponseWithOptionalData(
                result=event.result, return_parameters=event.return_value))
        value = event.return_value
        if self._fits(pdu) or not isinstance(value, Data) \
                or not self._conformance & C.BLOCK_TRANSFER_WITH_ACTION:
            return self._answer(pdu)
        self._split(p, encode_data(value), x.ActionResponseWithPblock(
            invoke_id_and_priority=p.iip,
            pblock=x.DataBlockSA(last_block=False, block_number=1, raw_data=b"")))
        return self._next_action_block(p)

    def _send_action_list(self: "ServerSide", p: Pending, event: ev.ActionListResponse) -> bytes:
        if len(event.results) != len(p.request.cosem_method_descriptor_list):
            raise LocalProtocolError("ActionListResponse needs one result per method")
        return self._answer(x.ActionResponseWithList(
            invoke_id_and_priority=p.iip, list_of_responses=tuple(
                x.ActionResponseWithOptionalData(result=result, return_parameters=value)
                for result, value in event.results)))

    def _send_refusal(self: "ServerSide", p: Pending, event: ev.RefuseRequest) -> bytes:
        return self._answer(x.ExceptionResponse(state_error=event.state_error,
                                                service_error=event.service_error))

    def _send_notification(self: "ServerSide", event: ev.EventNotification) -> bytes:
        # Green Book ed.9, EventNotification: unconfirmed, server → client, inside an
        # association whose conformance has event-notification; ciphered like the association.
        association = self.association
        if not self.conn.is_associated or association is None:
            raise LocalProtocolError("an EventNotification needs an open association")
        if not self._conformance & C.EVENT_NOTIFICATION:
            raise LocalProtocolError("event-notification was not negotiated with this client")
        plain = x.EventNotificationRequest(time=event.time,
                                           cosem_attribute_descriptor=event.descriptor,
                                           attribute_value=event.value).encode()
        mode = association.ciphering
        if len(plain) + protection_overhead(mode) > self._limit:
            raise LocalProtocolError("the EventNotification does not fit the client's max "
                                     "receive PDU size")
        self.conn._advance(Input.NOTIFICATION, Role.SERVER)
        if mode is None:
            return plain
        assert self.rule is not None
        control = self._reply_sc if self._reply_sc is not None \
            else self.rule.required_security_control
        return self.protection.protect(plain, mode=mode, security_control=control)


_SEND: dict[type, tuple[frozenset[Kind], Callable[[Any, Pending, Any], bytes]]] = {
    ev.GetResponse: (frozenset({Kind.GET}), ServerAnswers._send_get),
    ev.GetListResponse: (frozenset({Kind.GET_LIST}), ServerAnswers._send_get),
    ev.SetResponse: (frozenset({Kind.SET}), ServerAnswers._send_set),
    ev.SetListResponse: (frozenset({Kind.SET_LIST}), ServerAnswers._send_set),
    ev.ActionResponse: (frozenset({Kind.ACTION}), ServerAnswers._send_action),
    ev.ActionListResponse: (frozenset({Kind.ACTION_LIST}), ServerAnswers._send_action_list),
    ev.RefuseRequest: (frozenset(), ServerAnswers._send_refusal),
}
#: Events the server sends on its own, without a request to answer.
_UNSOLICITED: dict[type, Callable[[Any, Any], bytes]] = {
    ev.EventNotification: ServerAnswers._send_notification,
}
