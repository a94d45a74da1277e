"""Client side, services part: GET/SET/ACTION requests, their responses and block transfers.

Green Book ed.9 (the GET, SET and ACTION services; block transfer). A request longer than the
meter's max receive PDU size is split into SET datablocks / ACTION pblocks (when block transfer
was negotiated) and the machine sends each next block when the meter acknowledges the previous
one; a response in datablocks/pblocks is reassembled, each block answered with the next-block
request, and reported as ``BlockReceived`` progress events before the final result. A failure
in the middle (block out of sequence, invoke-id mismatch, undecodable reassembled data) raises
:class:`BlockTransferError` carrying ``partial_raw``; a transfer aborted by the meter (a
data-access-result in a datablock, an ExceptionResponse) is an event carrying ``partial_raw``.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from typing import Any, Callable

from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import encode_data
from meterreader.dlms.blocks import (Outgoing, Reassembly, decode_results, decode_value,
                                     encode_values, payload_size, protection_overhead, split)
from meterreader.dlms.connection_state import Input, Role
from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.initiate import Conformance

# Keyed by (enumeration, member): members of different IntEnums compare equal by value.
_INITIATE_WORDS = {(type(member), member): words for member, words in (
    (x.Initiate.OTHER, "the meter refused the xDLMS InitiateRequest"),
    (x.Initiate.DLMS_VERSION_TOO_LOW, "DLMS version too low"),
    (x.Initiate.INCOMPATIBLE_CONFORMANCE, "incompatible conformance (no common service)"),
    (x.Initiate.PDU_SIZE_TOO_SHORT, "our max receive PDU size is too short for the meter"),
    (x.Initiate.REFUSED_BY_THE_VDE_HANDLER, "refused by the meter's VDE handler"),
    (x.ApplicationReference.DECIPHERING_ERROR, "the meter could not decipher the "
                                               "InitiateRequest (wrong keys or system title?)"),
)}


def describe_service_error(error: x.ConfirmedServiceError) -> str:
    """Plain words for a ConfirmedServiceError (initiate errors get their own wording)."""
    return _INITIATE_WORDS.get((type(error.error), error.error), error.describe())


class Kind(Enum):
    GET = "GET"
    GET_LIST = "GET-with-list"
    SET = "SET"
    SET_LIST = "SET-with-list"
    ACTION = "ACTION"
    HLS = "HLS pass 3"


class Pending:
    """The outstanding request: its invoke-id and any block transfer in progress."""

    __slots__ = ("kind", "iip", "count", "outgoing", "incoming")

    def __init__(self, kind: Kind, iip: x.InvokeIdAndPriority, count: int = 1,
                 outgoing: Outgoing | None = None) -> None:
        self.kind = kind
        self.iip = iip
        self.count = count
        self.outgoing = outgoing
        self.incoming: Reassembly | None = None

    @property
    def invoke_id(self) -> int:
        return self.iip.invoke_id

    @property
    def partial_raw(self) -> bytes:
        return self.incoming.raw if self.incoming is not None else b""


class ClientServices:
    """Mixin of ClientSide: the service half."""

    def _start(self, pdu: Any, kind: Kind, count: int = 1,
               outgoing: Outgoing | None = None) -> bytes:
        plain = pdu.encode()
        self.conn._advance(Input.REQUEST, Role.CLIENT)
        self.pending = Pending(kind, pdu.invoke_id_and_priority, count, outgoing)
        return self._wrap(plain)

    def _fits(self, plain: bytes) -> bool:
        return len(plain) + protection_overhead(self.settings.ciphering) <= self._server_limit

    def _blocks(self, raw: bytes, empty_first: Any, flag: Conformance, what: str) -> Outgoing:
        if not self._conformance & flag:
            raise LocalProtocolError(f"the {what} does not fit the meter's max PDU size "
                                     f"({self._server_limit}) and block transfer with {what} "
                                     "was not negotiated")
        size = payload_size(self._server_limit, empty_first.encode(), self.settings.ciphering)
        return Outgoing(split(raw, size))

    def _send_get(self, event: ev.Get) -> bytes:
        self.conn._check_send(Input.REQUEST)
        return self._start(x.GetRequestNormal(invoke_id_and_priority=self._iip(),
                                              cosem_attribute_descriptor=event.descriptor,
                                              access_selection=event.selection), Kind.GET)

    def _send_get_list(self, event: ev.GetList) -> bytes:
        self.conn._check_send(Input.REQUEST)
        pdu = x.GetRequestWithList(invoke_id_and_priority=self._iip(),
                                   attribute_descriptor_list=event.descriptors)
        if not self._fits(pdu.encode()):
            raise LocalProtocolError("the GET-with-list request does not fit the meter's max "
                                     "PDU size; ask for fewer attributes")
        return self._start(pdu, Kind.GET_LIST, len(event.descriptors))

    def _send_set(self, event: ev.Set) -> bytes:
        self.conn._check_send(Input.REQUEST)
        iip = self._iip()
        pdu = x.SetRequestNormal(invoke_id_and_priority=iip,
                                 cosem_attribute_descriptor=event.descriptor,
                                 access_selection=event.selection, value=event.value)
        if self._fits(pdu.encode()):
            return self._start(pdu, Kind.SET)
        first = x.SetRequestWithFirstDatablock(
            invoke_id_and_priority=iip, cosem_attribute_descriptor=event.descriptor,
            access_selection=event.selection, datablock=_EMPTY_BLOCK)
        out = self._blocks(encode_data(event.value), first,
                           Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE, "SET")
        return self._start(_replace_block(first, out), Kind.SET, outgoing=out)

    def _send_set_list(self, event: ev.SetList) -> bytes:
        self.conn._check_send(Input.REQUEST)
        iip = self._iip()
        pdu = x.SetRequestWithList(invoke_id_and_priority=iip,
                                   attribute_descriptor_list=event.descriptors,
                                   value_list=event.values)
        if self._fits(pdu.encode()):
            return self._start(pdu, Kind.SET_LIST, len(event.values))
        first = x.SetRequestWithListAndFirstDatablock(
            invoke_id_and_priority=iip, attribute_descriptor_list=event.descriptors,
            datablock=_EMPTY_BLOCK)
        out = self._blocks(encode_values(event.values), first,
                           Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE, "SET")
        return self._start(_replace_block(first, out), Kind.SET_LIST, len(event.values), out)

    def _send_action(self, event: ev.Action) -> bytes:
        self.conn._check_send(Input.REQUEST)
        iip = self._iip()
        pdu = x.ActionRequestNormal(invoke_id_and_priority=iip,
                                    cosem_method_descriptor=event.descriptor,
                                    method_invocation_parameters=event.parameters)
        if self._fits(pdu.encode()) or event.parameters is None:
            return self._start(pdu, Kind.ACTION)
        first = x.ActionRequestWithFirstPblock(invoke_id_and_priority=iip,
                                               cosem_method_descriptor=event.descriptor,
                                               pblock=_EMPTY_BLOCK)
        out = self._blocks(encode_data(event.parameters), first,
                           Conformance.BLOCK_TRANSFER_WITH_ACTION, "ACTION")
        return self._start(_replace_block(first, out), Kind.ACTION, outgoing=out)

    def _error(self, message: str, data: bytes, reason: Reason = Reason.UNEXPECTED
               ) -> RemoteProtocolError:
        p = self.pending
        if p is not None and p.incoming is not None:
            return ev.BlockTransferError(message, data=data, reason=reason,
                                         partial_raw=p.partial_raw,
                                         block_number=p.incoming.last_number)
        return RemoteProtocolError(message, data=data, reason=reason)

    def _on_response(self, pdu: Any, data: bytes, machine_input: Input) -> list[ev.Event]:
        p = self.pending
        if p is None:
            raise RemoteProtocolError("response without an outstanding request", data=data,
                                      reason=Reason.UNEXPECTED)
        if isinstance(pdu, (x.ExceptionResponse, x.ConfirmedServiceError)):
            self.pending = None
            text = (describe_service_error(pdu) if isinstance(pdu, x.ConfirmedServiceError)
                    else pdu.describe())
            return [ev.ServiceError(invoke_id=p.invoke_id, text=text, apdu=pdu,
                                    partial_raw=p.partial_raw)]
        entry = _RESPONSES.get(type(pdu))
        if entry is None or p.kind not in entry[0]:
            raise self._error(f"{type(pdu).__name__} does not answer a {p.kind.value} request",
                              data)
        self._check_invoke_id(pdu, data)
        events = entry[1](self, p, pdu, data)
        if machine_input is Input.RESPONSE:
            self.pending = None
        return events

    def _result(self, p: Pending, value: Any, data: bytes) -> ev.Event:
        if p.kind is Kind.GET:  # partial_raw only when the meter aborted a block transfer
            partial = p.partial_raw if isinstance(value, x.DataAccessResult) else b""
            return ev.GetResult(invoke_id=p.invoke_id, value=value, partial_raw=partial)
        if len(value) != p.count:
            raise self._error(f"{len(value)} results for {p.count} attributes", data,
                              Reason.BAD_VALUE)
        return ev.GetListResult(invoke_id=p.invoke_id, values=tuple(value))

    def _get_normal(self, p: Pending, pdu: Any, data: bytes) -> list[ev.Event]:
        return [self._result(p, pdu.result, data)]

    def _receive_block(self, p: Pending, number: int, raw: bytes, last: bool,
                       data: bytes) -> list[ev.Event]:
        if p.incoming is None:
            p.incoming = Reassembly()
        if not p.incoming.add(number, raw):
            raise self._error(f"block {number} received, expected block "
                              f"{p.incoming.expected}", data, Reason.SEQUENCE_ERROR)
        return [ev.BlockReceived(invoke_id=p.invoke_id, block_number=number,
                                 bytes_so_far=p.incoming.size, last=last)]

    def _decode_raw(self, p: Pending, decoder: Callable[[bytes], Any]) -> Any:
        raw = p.partial_raw
        try:
            return decoder(raw)
        except DecodeError as exc:
            raise ev.BlockTransferError(f"the reassembled data does not decode: {exc.message}",
                                        data=raw, offset=exc.offset, reason=exc.reason,
                                        partial_raw=raw, block_number=p.incoming.last_number
                                        if p.incoming else None) from None

    def _get_block(self, p: Pending, pdu: x.GetResponseWithDatablock,
                   data: bytes) -> list[ev.Event]:
        block = pdu.result
        if isinstance(block.result, x.DataAccessResult):  # the meter aborted the transfer
            if p.kind is Kind.GET:
                return [self._result(p, block.result, data)]
            return [ev.GetListResult(invoke_id=p.invoke_id, values=(), aborted=block.result,
                                     partial_raw=p.partial_raw)]
        events = self._receive_block(p, block.block_number, block.result, block.last_block,
                                     data)
        if not block.last_block:
            self._emit(x.GetRequestNext(invoke_id_and_priority=p.iip,
                                        block_number=block.block_number), Input.REQUEST_NEXT)
            return events
        decoder = decode_value if p.kind is Kind.GET else decode_results
        value = self._decode_raw(p, decoder)
        result = self._result(p, value, data)
        return [*events, result]

    def _set_result(self, p: Pending, pdu: Any, data: bytes) -> list[ev.Event]:
        if isinstance(pdu, (x.SetResponseLastDatablock, x.SetResponseLastDatablockWithList)):
            sent = p.outgoing.sent if p.outgoing is not None else None
            if pdu.block_number != sent:
                raise self._error(f"the meter's last SET acknowledgement names block "
                                  f"{pdu.block_number}, we sent block {sent}", data,
                                  Reason.SEQUENCE_ERROR)
        if p.kind is Kind.SET:
            return [ev.SetResult(invoke_id=p.invoke_id, result=pdu.result)]
        if len(pdu.result) != p.count:
            raise self._error(f"{len(pdu.result)} results for {p.count} attributes", data,
                              Reason.BAD_VALUE)
        return [ev.SetListResult(invoke_id=p.invoke_id, results=pdu.result)]

    def _next_outgoing(self, p: Pending, acknowledged: int, data: bytes) -> x.DataBlockSA:
        out = p.outgoing
        if out is None or out.done or acknowledged != out.sent:
            sent = out.sent if out is not None else 0
            raise self._error(f"the meter acknowledged block {acknowledged}, we sent block "
                              f"{sent} and have {'no more' if out is None or out.done else 'more'}",
                              data, Reason.SEQUENCE_ERROR)
        return out.next_block()

    def _set_ack(self, p: Pending, pdu: x.SetResponseDatablock, data: bytes) -> list[ev.Event]:
        block = self._next_outgoing(p, pdu.block_number, data)
        self._emit(x.SetRequestWithDatablock(invoke_id_and_priority=p.iip, datablock=block),
                   Input.REQUEST_NEXT)
        return []

    def _action_normal(self, p: Pending, pdu: x.ActionResponseNormal,
                       data: bytes) -> list[ev.Event]:
        r = pdu.single_response
        return [ev.ActionResult(invoke_id=p.invoke_id, result=r.result,
                                return_value=r.return_parameters, partial_raw=p.partial_raw)]

    def _action_ack(self, p: Pending, pdu: x.ActionResponseNextPblock,
                    data: bytes) -> list[ev.Event]:
        block = self._next_outgoing(p, pdu.block_number, data)
        self._emit(x.ActionRequestWithPblock(invoke_id_and_priority=p.iip, pblock=block),
                   Input.REQUEST_NEXT)
        return []

    def _action_block(self, p: Pending, pdu: x.ActionResponseWithPblock,
                      data: bytes) -> list[ev.Event]:
        block = pdu.pblock
        events = self._receive_block(p, block.block_number, block.raw_data, block.last_block,
                                     data)
        if not block.last_block:
            self._emit(x.ActionRequestNextPblock(invoke_id_and_priority=p.iip,
                                                 block_number=block.block_number),
                       Input.REQUEST_NEXT)
            return events
        value = self._decode_raw(p, decode_value)
        return [*events, ev.ActionResult(invoke_id=p.invoke_id, result=x.ActionResult.SUCCESS,
                                         return_value=value)]


_EMPTY_BLOCK = x.DataBlockSA(last_block=False, block_number=1, raw_data=b"")


def _replace_block(first: Any, out: Outgoing) -> Any:
    """``first`` (built with an empty block to size the blocks) with the real first block."""
    name = "pblock" if hasattr(first, "pblock") else "datablock"
    return replace(first, **{name: out.next_block()})


_GETS, _SETS = frozenset({Kind.GET, Kind.GET_LIST}), frozenset({Kind.SET, Kind.SET_LIST})
_RESPONSES: dict[type, tuple[frozenset[Kind], Callable[..., list[ev.Event]]]] = {
    x.GetResponseNormal: (frozenset({Kind.GET}), ClientServices._get_normal),
    x.GetResponseWithList: (frozenset({Kind.GET_LIST}), ClientServices._get_normal),
    x.GetResponseWithDatablock: (_GETS, ClientServices._get_block),
    x.SetResponseNormal: (frozenset({Kind.SET}), ClientServices._set_result),
    x.SetResponseWithList: (frozenset({Kind.SET_LIST}), ClientServices._set_result),
    x.SetResponseDatablock: (_SETS, ClientServices._set_ack),
    x.SetResponseLastDatablock: (frozenset({Kind.SET}), ClientServices._set_result),
    x.SetResponseLastDatablockWithList: (frozenset({Kind.SET_LIST}), ClientServices._set_result),
    x.ActionResponseNormal: (frozenset({Kind.ACTION}), ClientServices._action_normal),
    x.ActionResponseNextPblock: (frozenset({Kind.ACTION}), ClientServices._action_ack),
    x.ActionResponseWithPblock: (frozenset({Kind.ACTION}), ClientServices._action_block),
}
