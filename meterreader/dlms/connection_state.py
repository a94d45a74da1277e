"""The xDLMS association state machine: states, inputs, effects, the transition table and the
classification of APDUs into inputs.

Theory of operation
-------------------
One COSEM application association (AA) joins a client and a server (Green Book ed.9, the
application association and the xDLMS services). Both ends see the same APDUs in the same order
— AARQ, AARE, HLS pass 3/4, confirmed service requests and responses, RLRQ, RLRE — so both run
the same machine over the same table; this module does not know which role we play (cf. h11
``_state.py``). :class:`AssociationMachine` keeps one state per role (``states[Role.CLIENT]``,
``states[Role.SERVER]``) and every APDU, sent or received, moves both. They differ only when one
side causes an error: that side's state becomes ERROR (terminal) and the connection refuses all
later calls.

``classify(pdu, state, association_ln)`` maps a decoded, deciphered APDU to an :class:`Input`;
``TRANSITIONS[(state, input)]`` gives ``(effect, next_state)``; ``SENDERS[input]`` says which
role may send it. A missing key or a wrong sender is a protocol error:
:meth:`AssociationMachine.process` raises and the machine ends in ERROR (the connection turns
it into LocalProtocolError when we tried to send, RemoteProtocolError when the peer sent).

States, and who owes the next APDU:

* IDLE — no association; the client may send an AARQ.
* ASSOCIATION_PENDING — AARQ sent; the server owes the AARE.
* HLS_PENDING — AARE "accepted, authentication-required" (HLS, mechanism 2..6); the client owes
  pass 3 (ACTION reply_to_HLS_authentication on the current association with f(StoC)).
* HLS_REPLIED — pass 3 sent; the server owes pass 4 (ACTION response carrying f(CtoS)).
* ASSOCIATED — the client may send a confirmed service request or an RLRQ.
* REQUEST_PENDING — a request (or the next block of one) is out; the server owes a response.
* BLOCK_PENDING — the server sent a non-final block (a GET datablock, a SET/ACTION block
  acknowledgement, an ACTION return-parameter block); the client owes the next request.
* RELEASE_PENDING — RLRQ sent; the server owes the RLRE.
* ERROR — terminal.

Only one confirmed request is outstanding at a time (a second REQUEST in REQUEST_PENDING is a
protocol error); a new REQUEST in BLOCK_PENDING abandons the block transfer.

Effects: ``REFUSE`` — a service request outside an association (IDLE, HLS pending). A client
refuses to send it (LocalProtocolError); a server answers ExceptionResponse
(state-error service-not-allowed) and stays where it is. ``IGNORE`` — a response that arrives
after our RLRQ is dropped.

State-dependent classification (the only place where the state is read outside the table):
an ExceptionResponse/ConfirmedServiceError answering an AARQ is AARE_REJECTED; in HLS_PENDING an
action-request-normal on (class 15, association LN, method 1) is HLS_REPLY; in HLS_REPLIED a
successful action-response-normal is HLS_ACCEPTED and any other final response HLS_REFUSED.
"""

from __future__ import annotations

from enum import Enum, auto, unique
from typing import Any, Callable

from meterreader.cosem.obis import Obis
from meterreader.dlms import acse
from meterreader.dlms import xdlms as x
from meterreader.dlms.errors import DlmsError

#: Class id of the "Association LN" interface class (Blue Book, IC 15).
ASSOCIATION_LN_CLASS_ID = 15
#: Method 1 of Association LN: reply_to_HLS_authentication (HLS pass 3).
REPLY_TO_HLS_AUTHENTICATION = 1


@unique
class Role(Enum):
    CLIENT = "client"
    SERVER = "server"

    @property
    def peer(self) -> "Role":
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT


@unique
class State(Enum):
    IDLE = auto()
    ASSOCIATION_PENDING = auto()
    HLS_PENDING = auto()
    HLS_REPLIED = auto()
    ASSOCIATED = auto()
    REQUEST_PENDING = auto()
    BLOCK_PENDING = auto()
    RELEASE_PENDING = auto()
    ERROR = auto()


#: States in which the association is established (services may flow).
ASSOCIATED_STATES = frozenset({State.ASSOCIATED, State.REQUEST_PENDING, State.BLOCK_PENDING})


@unique
class Input(Enum):
    AARQ = auto()
    AARE_ACCEPTED = auto()
    AARE_AUTHENTICATION_REQUIRED = auto()  # accepted, diagnostic authentication-required (HLS)
    AARE_REJECTED = auto()
    HLS_REPLY = auto()  # pass 3
    HLS_ACCEPTED = auto()  # pass 4, success
    HLS_REFUSED = auto()  # pass 4, any other result
    REQUEST = auto()  # a new confirmed service request
    REQUEST_NEXT = auto()  # the next block of a request, or a request for the next block
    RESPONSE_BLOCK = auto()  # a non-final response block or block acknowledgement
    RESPONSE = auto()  # a final response (incl. ExceptionResponse, ConfirmedServiceError)
    NOTIFICATION = auto()  # unconfirmed: DataNotification, EventNotificationRequest
    RLRQ = auto()
    RLRE = auto()


@unique
class Effect(Enum):
    REFUSE = auto()  # a request outside an association: client raises, server answers exception
    IGNORE = auto()  # drop the APDU (a late response after our RLRQ)


S, I, E = State, Input, Effect
_C, _S = frozenset({Role.CLIENT}), frozenset({Role.SERVER})
#: Who may send each input (h11's event-triggered transitions are per role, too): a client never
#: sends a response, a server never sends a request.
SENDERS: dict[Input, frozenset[Role]] = {
    I.AARQ: _C, I.HLS_REPLY: _C, I.REQUEST: _C, I.REQUEST_NEXT: _C, I.RLRQ: _C,
    I.AARE_ACCEPTED: _S, I.AARE_AUTHENTICATION_REQUIRED: _S, I.AARE_REJECTED: _S,
    I.HLS_ACCEPTED: _S, I.HLS_REFUSED: _S, I.RESPONSE_BLOCK: _S, I.RESPONSE: _S, I.RLRE: _S,
    I.NOTIFICATION: _C | _S,
}
Transition = tuple[Effect | None, State]


def _rows(state: State, rows: dict[Input, Transition]) -> dict[tuple[State, Input], Transition]:
    # Unconfirmed notifications may arrive in any state but ERROR and change nothing.
    table: dict[Input, Transition] = {I.NOTIFICATION: (None, state)}
    table.update(rows)
    return {(state, key): value for key, value in table.items()}


TRANSITIONS: dict[tuple[State, Input], Transition] = {
    **_rows(S.IDLE, {
        I.AARQ: (None, S.ASSOCIATION_PENDING),
        I.REQUEST: (E.REFUSE, S.IDLE),
        I.REQUEST_NEXT: (E.REFUSE, S.IDLE),
    }),
    **_rows(S.ASSOCIATION_PENDING, {
        I.AARE_ACCEPTED: (None, S.ASSOCIATED),
        I.AARE_AUTHENTICATION_REQUIRED: (None, S.HLS_PENDING),
        I.AARE_REJECTED: (None, S.IDLE),
    }),
    **_rows(S.HLS_PENDING, {
        I.HLS_REPLY: (None, S.HLS_REPLIED),
        I.REQUEST: (E.REFUSE, S.HLS_PENDING),
        I.REQUEST_NEXT: (E.REFUSE, S.HLS_PENDING),
        I.RLRQ: (None, S.RELEASE_PENDING),
    }),
    **_rows(S.HLS_REPLIED, {
        I.HLS_ACCEPTED: (None, S.ASSOCIATED),
        I.HLS_REFUSED: (None, S.IDLE),
    }),
    **_rows(S.ASSOCIATED, {
        I.REQUEST: (None, S.REQUEST_PENDING),
        # A stray "next block" request: the server answers it with an error result.
        I.REQUEST_NEXT: (None, S.REQUEST_PENDING),
        I.RLRQ: (None, S.RELEASE_PENDING),
    }),
    **_rows(S.REQUEST_PENDING, {
        I.RESPONSE: (None, S.ASSOCIATED),
        I.RESPONSE_BLOCK: (None, S.BLOCK_PENDING),
        I.RLRQ: (None, S.RELEASE_PENDING),
    }),
    **_rows(S.BLOCK_PENDING, {
        I.REQUEST_NEXT: (None, S.REQUEST_PENDING),
        I.REQUEST: (None, S.REQUEST_PENDING),  # abandons the block transfer
        I.RLRQ: (None, S.RELEASE_PENDING),
    }),
    **_rows(S.RELEASE_PENDING, {
        I.RLRE: (None, S.IDLE),
        I.RESPONSE: (E.IGNORE, S.RELEASE_PENDING),
        I.RESPONSE_BLOCK: (E.IGNORE, S.RELEASE_PENDING),
    }),
}


class TransitionError(DlmsError):
    """No transition for (state, input); the connection re-raises it as a Local/Remote error."""

    def __init__(self, state: State, machine_input: Input, sender: Role | None = None) -> None:
        self.state = state
        self.input = machine_input
        if sender is not None and sender not in SENDERS[machine_input]:
            message = f"a {sender.value} never sends {machine_input.name}"
        else:
            message = f"{machine_input.name} is not allowed in state {state.name}"
        super().__init__(message)


class AssociationMachine:
    """The joint state of both roles, driven by :data:`TRANSITIONS` (cf. h11 ConnectionState)."""

    def __init__(self) -> None:
        self.states: dict[Role, State] = {Role.CLIENT: State.IDLE, Role.SERVER: State.IDLE}

    @property
    def state(self) -> State:
        """The joint state; ERROR if either side failed."""
        if State.ERROR in self.states.values():
            return State.ERROR
        return self.states[Role.CLIENT]

    def lookup(self, machine_input: Input, sender: Role) -> Transition:
        """The transition for ``machine_input`` sent by ``sender`` in the current state (no state
        change). Raises TransitionError when there is none."""
        state = self.state
        if sender not in SENDERS[machine_input]:
            raise TransitionError(state, machine_input, sender)
        try:
            return TRANSITIONS[(state, machine_input)]
        except KeyError:
            raise TransitionError(state, machine_input) from None

    def process(self, machine_input: Input, sender: Role) -> Effect | None:
        """Apply ``machine_input`` sent by ``sender`` to both roles; return the effect. REFUSE and
        IGNORE leave the state unchanged by construction of the table."""
        effect, next_state = self.lookup(machine_input, sender)
        for role in self.states:
            self.states[role] = next_state
        return effect

    def fail(self, role: Role) -> None:
        """``role`` caused an error: its state becomes ERROR (terminal)."""
        self.states[role] = State.ERROR


# -- classification -------------------------------------------------------------------------------

_BY_TYPE: dict[type, Input | Callable[[Any], Input]] = {
    acse.AARQ: I.AARQ,
    acse.RLRQ: I.RLRQ,
    acse.RLRE: I.RLRE,
    x.GetRequestNormal: I.REQUEST,
    x.GetRequestWithList: I.REQUEST,
    x.GetRequestNext: I.REQUEST_NEXT,
    x.SetRequestNormal: I.REQUEST,
    x.SetRequestWithList: I.REQUEST,
    x.SetRequestWithFirstDatablock: I.REQUEST,
    x.SetRequestWithListAndFirstDatablock: I.REQUEST,
    x.SetRequestWithDatablock: I.REQUEST_NEXT,
    x.ActionRequestNormal: I.REQUEST,
    x.ActionRequestWithList: I.REQUEST,
    x.ActionRequestWithFirstPblock: I.REQUEST,
    x.ActionRequestWithListAndFirstPblock: I.REQUEST,
    x.ActionRequestWithPblock: I.REQUEST_NEXT,
    x.ActionRequestNextPblock: I.REQUEST_NEXT,
    x.GetResponseNormal: I.RESPONSE,
    x.GetResponseWithList: I.RESPONSE,
    # A datablock carrying a data-access-result ends the transfer whatever its last-block flag.
    x.GetResponseWithDatablock: lambda pdu: (
        I.RESPONSE if pdu.result.last_block or isinstance(pdu.result.result, x.DataAccessResult)
        else I.RESPONSE_BLOCK),
    x.SetResponseNormal: I.RESPONSE,
    x.SetResponseWithList: I.RESPONSE,
    x.SetResponseDatablock: I.RESPONSE_BLOCK,
    x.SetResponseLastDatablock: I.RESPONSE,
    x.SetResponseLastDatablockWithList: I.RESPONSE,
    x.ActionResponseNormal: I.RESPONSE,
    x.ActionResponseWithList: I.RESPONSE,
    x.ActionResponseNextPblock: I.RESPONSE_BLOCK,
    x.ActionResponseWithPblock: lambda pdu: (
        I.RESPONSE if pdu.pblock.last_block else I.RESPONSE_BLOCK),
    x.ExceptionResponse: I.RESPONSE,
    x.ConfirmedServiceError: I.RESPONSE,
    x.DataNotification: I.NOTIFICATION,
    x.EventNotificationRequest: I.NOTIFICATION,
}


def _classify_aare(pdu: acse.AARE) -> Input:
    if pdu.result is not acse.AssociationResult.ACCEPTED:
        return I.AARE_REJECTED
    if pdu.result_source_diagnostic is acse.AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED:
        return I.AARE_AUTHENTICATION_REQUIRED
    return I.AARE_ACCEPTED


_BY_TYPE[acse.AARE] = _classify_aare


def is_hls_reply(pdu: object, association_ln: Obis) -> bool:
    """True for action-request-normal on reply_to_HLS_authentication of ``association_ln``."""
    if not isinstance(pdu, x.ActionRequestNormal):
        return False
    method = pdu.cosem_method_descriptor
    return (method.class_id == ASSOCIATION_LN_CLASS_ID and method.instance_id == association_ln
            and method.method_id == REPLY_TO_HLS_AUTHENTICATION)


def classify(pdu: object, state: State, association_ln: Obis) -> Input | None:
    """The machine input for a plain (deciphered) APDU, or None for an APDU type the machine does
    not handle (general-block-transfer, a bare initiate PDU …)."""
    entry = _BY_TYPE.get(type(pdu))
    if entry is None:
        return None
    machine_input = entry if isinstance(entry, Input) else entry(pdu)
    if state is S.ASSOCIATION_PENDING and isinstance(
            pdu, (x.ExceptionResponse, x.ConfirmedServiceError)):
        return I.AARE_REJECTED
    if state is S.HLS_PENDING and is_hls_reply(pdu, association_ln):
        return I.HLS_REPLY
    if state is S.HLS_REPLIED and machine_input is I.RESPONSE:
        success = (isinstance(pdu, x.ActionResponseNormal)
                   and pdu.single_response.result is x.ActionResult.SUCCESS)
        return I.HLS_ACCEPTED if success else I.HLS_REFUSED
    return machine_input
