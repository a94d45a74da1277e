"""The server side of :class:`~meterreader.dlms.connection.DlmsConnection` (for the meter
simulator): request events, responses split into blocks, SET/ACTION blocks reassembled.

Answers the machine gives on its own (queued in ``data_to_send``, reported as
:class:`RequestRefused`), Green Book ed.9 (ExceptionResponse, block transfer):

* a request outside an association (IDLE, HLS pending), a ciphered APDU before a ciphered
  association, or a plain request inside one → ExceptionResponse service-not-allowed /
  operation-not-possible, no state change;
* an APDU type the machine does not handle (general-block-transfer …) → ExceptionResponse
  service-unknown / service-not-supported, no state change;
* a request using a service outside the negotiated conformance, or longer than our max receive
  PDU size → ExceptionResponse service-not-allowed / service-not-supported (pdu-too-long);
* a next-block request without a transfer, or with a wrong block number → the service's block
  response carrying no-long-get/set/action-in-progress or data-block-number-invalid;
* an undecipherable or replayed request (a key the client selected that we lack, e.g. a ded-
  APDU in a global association, or encryption-only content that does not decode, included) →
  ExceptionResponse deciphering-error / invocation-counter-error queued, then the security
  error is raised (state ERROR).

The simulator answers ``GetRequested`` … ``ActionRequested`` with ``send(GetResponse(...))`` …
(see ``connection_server_answers``; also ``send(EventNotification(...))`` in an association).

Replays: with ``ServerAssociationPolicy.replay_guards`` the client's invocation counters are
checked against state shared by all connections of the meter (per client system title), so an
AARQ or request captured from an earlier connection is refused in a new one too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from meterreader.dlms import acse
from meterreader.dlms import connection_events as ev
from meterreader.dlms import security as sec
from meterreader.dlms import xdlms as x
from meterreader.dlms.blocks import (MAX_REQUEST_REASSEMBLY, Reassembly, decode_value,
                                   decode_values)
from meterreader.dlms.connection_server_answers import Kind, Pending, ServerAnswers
from meterreader.dlms.connection_server_association import ServerAssociation
from meterreader.dlms.connection_settings import HLS_MECHANISMS, ServerAssociationPolicy
from meterreader.dlms.connection_state import Effect, Input, Role, State, classify
from meterreader.dlms.errors import DecodeError, DlmsError, LocalProtocolError
from meterreader.dlms.initiate import Conformance

if TYPE_CHECKING:
    from meterreader.dlms.connection import DlmsConnection

C = Conformance
NotAllowed = x.StateError.SERVICE_NOT_ALLOWED
_ACSE = (acse.AARQ, acse.AARE, acse.RLRQ, acse.RLRE)
_ACSE_TAGS = frozenset(int(tag) for tag in acse.AcseTag)
_NOT_ASSOCIATED = frozenset({State.IDLE, State.ASSOCIATION_PENDING})


def _required(pdu: Any) -> Conformance:
    """The conformance bits a request needs (Green Book ed.9, conformance block)."""
    need = _NEEDS.get(type(pdu), C(0))
    selections = [getattr(pdu, "access_selection", None)] + [
        d.access_selection for d in getattr(pdu, "attribute_descriptor_list", ())]
    if any(s is not None for s in selections):
        need |= C.SELECTIVE_ACCESS
    return need


_NEEDS = {
    x.GetRequestNormal: C.GET,
    x.GetRequestWithList: C.GET | C.MULTIPLE_REFERENCES,
    x.GetRequestNext: C.GET | C.BLOCK_TRANSFER_WITH_GET_OR_READ,
    x.SetRequestNormal: C.SET,
    x.SetRequestWithList: C.SET | C.MULTIPLE_REFERENCES,
    x.SetRequestWithFirstDatablock: C.SET | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE,
    x.SetRequestWithListAndFirstDatablock: (C.SET | C.MULTIPLE_REFERENCES
                                            | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE),
    x.SetRequestWithDatablock: C.SET | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE,
    x.ActionRequestNormal: C.ACTION,
    x.ActionRequestWithList: C.ACTION | C.MULTIPLE_REFERENCES,
    x.ActionRequestWithFirstPblock: C.ACTION | C.BLOCK_TRANSFER_WITH_ACTION,
    x.ActionRequestWithListAndFirstPblock: (C.ACTION | C.MULTIPLE_REFERENCES
                                            | C.BLOCK_TRANSFER_WITH_ACTION),
    x.ActionRequestWithPblock: C.ACTION | C.BLOCK_TRANSFER_WITH_ACTION,
    x.ActionRequestNextPblock: C.ACTION | C.BLOCK_TRANSFER_WITH_ACTION,
}


class ServerSide(ServerAssociation, ServerAnswers):
    """Server half of a DlmsConnection (see its docstring for the contract)."""

    def __init__(self, conn: "DlmsConnection", policy: ServerAssociationPolicy,
                 client_sap: int) -> None:
        from meterreader.dlms.connection import Protection
        if conn.rng is None and any(r.mechanism in HLS_MECHANISMS
                                    for r in policy.clients.values()):
            raise LocalProtocolError("HLS rules need a random source: DlmsConnection(..., "
                                     "rng=secrets.token_bytes)")
        self.conn = conn
        self.policy = policy
        self.client_sap = client_sap
        self.protection = Protection(own_title=policy.server_system_title, keys=policy.keys,
                                     counter_start=policy.invocation_counter_start,
                                     counter=policy.shared_invocation_counter)
        self.rule: Any = None
        self.association: ev.ClientAssociated | None = None
        self._offer: ev.ClientAssociated | None = None
        self.pending: Pending | None = None
        self._client_title: bytes | None = None
        self._ctos = self._stoc = b""
        self._client_limit = policy.server_max_receive_pdu_size
        self._reply_mode: sec.CipheringMode | None = None
        self._reply_sc: int | None = None
        self._conformance = C(0)
        self._received_size = 0

    @property
    def partial_raw(self) -> bytes:
        p = self.pending
        return p.incoming.raw if p is not None and p.incoming is not None else b""

    # -- output -----------------------------------------------------------------------------------

    def _wrap(self, pdu: Any) -> bytes:
        plain = pdu.encode()
        if isinstance(pdu, _ACSE) or self._reply_mode is None:
            return plain
        return self.protection.protect(plain, mode=self._reply_mode,
                                       security_control=self._reply_sc)

    def _emit(self, pdu: Any, machine_input: Input) -> bytes:
        """Run the transition for our APDU, queue and return its bytes."""
        self.conn._advance(machine_input, Role.SERVER)
        apdu = self._wrap(pdu)
        self.conn._queue(apdu)
        return apdu

    def _answer(self, pdu: Any, machine_input: Input = Input.RESPONSE) -> bytes:
        """Like _emit but returned to the caller of send() instead of queued."""
        self.conn._advance(machine_input, Role.SERVER)
        if machine_input is Input.RESPONSE:
            self.pending = None
        return self._wrap(pdu)

    def _refuse(self, text: str, state_error: x.StateError = NotAllowed,
                service_error: x.ServiceError = x.ServiceError.OPERATION_NOT_POSSIBLE
                ) -> list[ev.Event]:
        """ExceptionResponse without a state change (outside the association's services)."""
        apdu = x.ExceptionResponse(state_error=state_error, service_error=service_error).encode()
        self.conn._queue(apdu)
        return [ev.RequestRefused(text=text, response=apdu)]

    def _respond(self, pdu: Any, text: str) -> list[ev.Event]:
        """A final error answer to the request being served (REQUEST_PENDING → ASSOCIATED)."""
        self.pending = None
        return [ev.RequestRefused(text=text, response=self._emit(pdu, Input.RESPONSE))]

    def _exception(self, text: str, service_error: x.ServiceError) -> list[ev.Event]:
        return self._respond(x.ExceptionResponse(state_error=NotAllowed,
                                                 service_error=service_error), text)

    # -- receiving --------------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[ev.Event]:
        state = self.conn.state
        self._received_size = len(data)
        ciphered_association = self.rule is not None and self.rule.ciphered
        plain, result = data, None
        self.protection.mark()
        if sec.is_ciphered_tag(data[0]):
            if not ciphered_association or state in _NOT_ASSOCIATED:
                return self._refuse("ciphered APDU outside a ciphered association")
            result = self._unprotect(data)
            plain = result.apdu
        elif ciphered_association and state not in _NOT_ASSOCIATED \
                and data[0] not in _ACSE_TAGS:
            return self._refuse("unciphered request in a ciphered association")
        try:
            pdu = self.protection.decode(result, plain, x.decode_apdu)
        except sec.UndecodablePlaintext:
            self._queue_deciphering_error()
            raise
        machine_input = classify(pdu, state, self.policy.association_ln)
        if machine_input is None:
            return self._refuse(f"{type(pdu).__name__} is not supported",
                                x.StateError.SERVICE_UNKNOWN, x.ServiceError.SERVICE_NOT_SUPPORTED)
        effect = self.conn._advance(machine_input, Role.CLIENT)
        if effect is Effect.REFUSE:
            return self._refuse("service requested outside an association")
        return _RECEIVE[machine_input](self, pdu, plain, machine_input)

    def _unprotect(self, data: bytes) -> sec.UnprotectedApdu:
        """Unprotect a request; for any security or framing problem (a key the client selected
        that we lack included) queue the ExceptionResponse before re-raising."""
        try:
            result = self.protection.unprotect(data)
        except sec.ReplayError:
            last = self.protection.guard.last or 0
            self.conn._queue(x.ExceptionResponse(
                state_error=NotAllowed, service_error=x.ServiceError.INVOCATION_COUNTER_ERROR,
                invocation_counter=min(last + 1, 0xFFFFFFFF)).encode())
            raise
        except (sec.SecurityError, DecodeError):
            self._queue_deciphering_error()
            raise
        self._reply_mode, self._reply_sc = result.mode, result.security_control
        return result

    def _queue_deciphering_error(self) -> None:
        self.conn._queue(x.ExceptionResponse(
            state_error=NotAllowed, service_error=x.ServiceError.DECIPHERING_ERROR).encode())

    def _on_notification(self, pdu: Any, data: bytes, machine_input: Input) -> list[ev.Event]:
        return [ev.NotificationReceived(apdu=pdu)]

    def _on_request(self, pdu: Any, data: bytes, machine_input: Input) -> list[ev.Event]:
        if machine_input is Input.REQUEST:
            self.pending = None  # a new request abandons any block transfer
        if self._received_size > self.policy.server_max_receive_pdu_size:
            return self._exception("request longer than our max receive PDU size",
                                   x.ServiceError.PDU_TOO_LONG)
        missing = _required(pdu) & ~self._conformance
        handler = _REQUESTS.get(type(pdu))
        if missing or handler is None:
            return self._exception(f"{type(pdu).__name__}: service not negotiated or not "
                                   "supported", x.ServiceError.SERVICE_NOT_SUPPORTED)
        return handler(self, pdu)

    def _await(self, kind: Kind, pdu: Any, event: ev.Event) -> list[ev.Event]:
        self.pending = Pending(kind, pdu.invoke_id_and_priority, pdu)
        self.pending.awaiting = True
        return [event]

    def _get(self, pdu: x.GetRequestNormal) -> list[ev.Event]:
        return self._await(Kind.GET, pdu, ev.GetRequested(
            invoke_id=pdu.invoke_id_and_priority.invoke_id,
            descriptor=pdu.cosem_attribute_descriptor, selection=pdu.access_selection))

    def _get_list(self, pdu: x.GetRequestWithList) -> list[ev.Event]:
        return self._await(Kind.GET_LIST, pdu, ev.GetListRequested(
            invoke_id=pdu.invoke_id_and_priority.invoke_id,
            descriptors=pdu.attribute_descriptor_list))

    def _get_next(self, pdu: x.GetRequestNext) -> list[ev.Event]:
        p = self.pending
        if p is None or p.outgoing is None or p.kind not in (Kind.GET, Kind.GET_LIST):
            problem = (x.DataAccessResult.NO_LONG_GET_IN_PROGRESS,
                       "GetRequestNext without a GET block transfer")
        elif pdu.block_number != p.outgoing.sent or pdu.invoke_id_and_priority != p.iip:
            problem = (x.DataAccessResult.DATA_BLOCK_NUMBER_INVALID,
                       f"GetRequestNext for block {pdu.block_number}, block "
                       f"{p.outgoing.sent} was sent")
        else:
            self.conn._queue(self._next_get_block(p))
            return []
        return self._respond(x.GetResponseWithDatablock(
            invoke_id_and_priority=pdu.invoke_id_and_priority,
            result=x.DataBlockG(last_block=True, block_number=pdu.block_number,
                                result=problem[0])), problem[1])

    def _set(self, pdu: Any) -> list[ev.Event]:
        iid = pdu.invoke_id_and_priority.invoke_id
        if isinstance(pdu, x.SetRequestNormal):
            return self._await(Kind.SET, pdu, ev.SetRequested(
                invoke_id=iid, descriptor=pdu.cosem_attribute_descriptor, value=pdu.value,
                selection=pdu.access_selection))
        if len(pdu.value_list) != len(pdu.attribute_descriptor_list):
            return self._exception("SET-with-list: not one value per attribute",
                                   x.ServiceError.OTHER_REASON)
        return self._await(Kind.SET_LIST, pdu, ev.SetListRequested(
            invoke_id=iid, descriptors=pdu.attribute_descriptor_list, values=pdu.value_list))

    def _set_first(self, pdu: Any) -> list[ev.Event]:
        kind = Kind.SET if isinstance(pdu, x.SetRequestWithFirstDatablock) else Kind.SET_LIST
        self.pending = Pending(kind, pdu.invoke_id_and_priority, pdu)
        self.pending.incoming = Reassembly(max_size=MAX_REQUEST_REASSEMBLY)
        return self._set_block(self.pending, pdu.datablock)

    def _set_next(self, pdu: x.SetRequestWithDatablock) -> list[ev.Event]:
        p = self.pending
        if p is None or p.incoming is None or p.kind not in (Kind.SET, Kind.SET_LIST) \
                or p.iip != pdu.invoke_id_and_priority:
            return self._respond(x.SetResponseLastDatablock(
                invoke_id_and_priority=pdu.invoke_id_and_priority,
                result=x.DataAccessResult.NO_LONG_SET_IN_PROGRESS,
                block_number=pdu.datablock.block_number), "SET datablock without a transfer")
        return self._set_block(p, pdu.datablock)

    def _set_block(self, p: Pending, block: x.DataBlockSA) -> list[ev.Event]:
        def fail(result: x.DataAccessResult, text: str) -> list[ev.Event]:
            return self._respond(x.SetResponseLastDatablock(
                invoke_id_and_priority=p.iip, result=result,
                block_number=block.block_number), text)
        assert p.incoming is not None
        if not p.incoming.add(block.block_number, block.raw_data):
            return fail(x.DataAccessResult.DATA_BLOCK_NUMBER_INVALID,
                        f"SET block {block.block_number}, expected {p.incoming.expected}")
        if not block.last_block:
            self._emit(x.SetResponseDatablock(invoke_id_and_priority=p.iip,
                                              block_number=block.block_number),
                       Input.RESPONSE_BLOCK)
            return []
        first, iid = p.request, p.iip.invoke_id
        try:
            if p.kind is Kind.SET:
                event: ev.Event = ev.SetRequested(
                    invoke_id=iid, descriptor=first.cosem_attribute_descriptor,
                    value=decode_value(p.incoming.raw), selection=first.access_selection)
            else:
                values = decode_values(p.incoming.raw)
                if len(values) != len(first.attribute_descriptor_list):
                    raise DecodeError("not one value per attribute", data=p.incoming.raw)
                event = ev.SetListRequested(invoke_id=iid,
                                            descriptors=first.attribute_descriptor_list,
                                            values=values)
        except DlmsError:
            return fail(x.DataAccessResult.TYPE_UNMATCHED, "SET blocks do not decode")
        p.awaiting = True
        return [event]

    def _action(self, pdu: x.ActionRequestNormal) -> list[ev.Event]:
        return self._await(Kind.ACTION, pdu, ev.ActionRequested(
            invoke_id=pdu.invoke_id_and_priority.invoke_id,
            descriptor=pdu.cosem_method_descriptor, parameters=pdu.method_invocation_parameters))

    def _action_list(self, pdu: x.ActionRequestWithList) -> list[ev.Event]:
        return self._await(Kind.ACTION_LIST, pdu, ev.ActionListRequested(
            invoke_id=pdu.invoke_id_and_priority.invoke_id,
            descriptors=pdu.cosem_method_descriptor_list,
            parameters=pdu.method_invocation_parameters))

    def _action_fail(self, iip: x.InvokeIdAndPriority, result: x.ActionResult,
                     text: str) -> list[ev.Event]:
        return self._respond(x.ActionResponseNormal(
            invoke_id_and_priority=iip,
            single_response=x.ActionResponseWithOptionalData(result=result)), text)

    def _action_first(self, pdu: x.ActionRequestWithFirstPblock) -> list[ev.Event]:
        self.pending = Pending(Kind.ACTION, pdu.invoke_id_and_priority, pdu)
        self.pending.incoming = Reassembly(max_size=MAX_REQUEST_REASSEMBLY)
        return self._action_block(self.pending, pdu.pblock)

    def _action_next(self, pdu: x.ActionRequestWithPblock) -> list[ev.Event]:
        p = self.pending
        if p is None or p.incoming is None or p.kind is not Kind.ACTION \
                or p.iip != pdu.invoke_id_and_priority:
            return self._action_fail(pdu.invoke_id_and_priority,
                                     x.ActionResult.NO_LONG_ACTION_IN_PROGRESS,
                                     "ACTION pblock without a transfer")
        return self._action_block(p, pdu.pblock)

    def _action_block(self, p: Pending, block: x.DataBlockSA) -> list[ev.Event]:
        assert p.incoming is not None
        if not p.incoming.add(block.block_number, block.raw_data):
            return self._action_fail(p.iip, x.ActionResult.LONG_ACTION_ABORTED,
                                     f"ACTION pblock {block.block_number}, expected "
                                     f"{p.incoming.expected}")
        if not block.last_block:
            self._emit(x.ActionResponseNextPblock(invoke_id_and_priority=p.iip,
                                                  block_number=block.block_number),
                       Input.RESPONSE_BLOCK)
            return []
        try:
            parameters = decode_value(p.incoming.raw)
        except DlmsError:
            return self._action_fail(p.iip, x.ActionResult.TYPE_UNMATCHED,
                                     "ACTION pblocks do not decode")
        p.awaiting = True
        return [ev.ActionRequested(invoke_id=p.iip.invoke_id,
                                   descriptor=p.request.cosem_method_descriptor,
                                   parameters=parameters)]

    def _action_next_pblock(self, pdu: x.ActionRequestNextPblock) -> list[ev.Event]:
        p = self.pending
        if p is None or p.outgoing is None or p.kind is not Kind.ACTION \
                or pdu.block_number != p.outgoing.sent or p.iip != pdu.invoke_id_and_priority:
            return self._action_fail(pdu.invoke_id_and_priority,
                                     x.ActionResult.NO_LONG_ACTION_IN_PROGRESS,
                                     f"ActionRequestNextPblock for block {pdu.block_number} "
                                     "out of a transfer")
        self.conn._queue(self._next_action_block(p))
        return []

_RECEIVE: dict[Input, Callable[[ServerSide, Any, bytes, Input], list[ev.Event]]] = {
    Input.AARQ: ServerSide._on_aarq,
    Input.HLS_REPLY: ServerSide._on_hls_reply,
    Input.REQUEST: ServerSide._on_request,
    Input.REQUEST_NEXT: ServerSide._on_request,
    Input.RLRQ: ServerSide._on_rlrq,
    Input.NOTIFICATION: ServerSide._on_notification,
}
_REQUESTS: dict[type, Callable[[ServerSide, Any], list[ev.Event]]] = {
    x.GetRequestNormal: ServerSide._get,
    x.GetRequestWithList: ServerSide._get_list,
    x.GetRequestNext: ServerSide._get_next,
    x.SetRequestNormal: ServerSide._set,
    x.SetRequestWithList: ServerSide._set,
    x.SetRequestWithFirstDatablock: ServerSide._set_first,
    x.SetRequestWithListAndFirstDatablock: ServerSide._set_first,
    x.SetRequestWithDatablock: ServerSide._set_next,
    x.ActionRequestNormal: ServerSide._action,
    x.ActionRequestWithList: ServerSide._action_list,
    x.ActionRequestWithFirstPblock: ServerSide._action_first,
    x.ActionRequestWithPblock: ServerSide._action_next,
    x.ActionRequestNextPblock: ServerSide._action_next_pblock,
}
