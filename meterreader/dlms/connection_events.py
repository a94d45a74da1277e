"""Events of :class:`~meterreader.dlms.connection.DlmsConnection` and its block-transfer error.

Events passed to ``send``: a client sends :class:`Associate`, :class:`Get`, :class:`GetList`,
:class:`Set`, :class:`SetList`, :class:`Action`, :class:`Release`; a server answers the request
events with :class:`GetResponse`, :class:`GetListResponse`, :class:`SetResponse`,
:class:`SetListResponse`, :class:`ActionResponse` or :class:`RefuseRequest`, and sends
:class:`EventNotification` on its own.

Events returned by ``receive_data``: on a client :class:`AssociationAccepted`,
:class:`AssociationRejected`, :class:`BlockReceived`, :class:`GetResult`, :class:`GetListResult`,
:class:`SetResult`, :class:`SetListResult`, :class:`ActionResult`, :class:`ServiceError`,
:class:`Released`; on a server :class:`ClientAssociated`, :class:`ClientRejected`,
:class:`GetRequested`, :class:`GetListRequested`, :class:`SetRequested`,
:class:`SetListRequested`, :class:`ActionRequested`, :class:`RequestRefused`,
:class:`ClientReleased`; on both :class:`NotificationReceived`.

Several names repeat PDU or enum names of :mod:`meterreader.dlms.xdlms` (``GetResponse``,
``ActionResult``, ``ServiceError`` …): these are the connection-level events; import the PDU
module under an alias (``from meterreader.dlms import xdlms as x``) when both are needed.
Don't subclass these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import (AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic,
                                   AssociationResult, MechanismName, ReleaseRequestReason,
                                   ReleaseResponseReason)
from meterreader.dlms.axdr import Data
from meterreader.dlms.errors import LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.initiate import Conformance
from meterreader.dlms.security import CipheringMode

Value = Data | x.DataAccessResult  # a Get-Data-Result


def _check(owner: object, name: str, types: Any, optional: bool = False) -> None:
    value = getattr(owner, name)
    if (value is None and optional) or isinstance(value, types):
        return
    raise LocalProtocolError(f"{type(owner).__name__}.{name}: expected {types}, got {value!r}")


def _check_tuple(owner: object, name: str, types: Any) -> None:
    value = getattr(owner, name)
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, types) for v in value):
        raise LocalProtocolError(f"{type(owner).__name__}.{name}: expected a tuple of {types}")
    object.__setattr__(owner, name, tuple(value))


def _check_invoke_id(owner: object) -> None:
    value = getattr(owner, "invoke_id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
        raise LocalProtocolError(f"{type(owner).__name__}.invoke_id must be 0..15, got {value!r}")


class Event:
    """Base of every connection event."""

    __slots__ = ()


# -- sent by a client -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Associate(Event):
    """Open the association: the connection builds the AARQ from its settings."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Get(Event):
    """GET one attribute (get-request-normal), optionally with selective access."""

    descriptor: x.CosemAttributeDescriptor
    selection: x.SelectiveAccessDescriptor | None = None

    def __post_init__(self) -> None:
        _check(self, "descriptor", x.CosemAttributeDescriptor)
        _check(self, "selection", x.SelectiveAccessDescriptor, optional=True)


def _with_selection(owner: object) -> None:
    items = getattr(owner, "descriptors")
    if isinstance(items, (tuple, list)):
        items = tuple(x.CosemAttributeDescriptorWithSelection(cosem_attribute_descriptor=d)
                      if isinstance(d, x.CosemAttributeDescriptor) else d for d in items)
        object.__setattr__(owner, "descriptors", items)
    _check_tuple(owner, "descriptors", x.CosemAttributeDescriptorWithSelection)
    if not items:
        raise LocalProtocolError(f"{type(owner).__name__}.descriptors is empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class GetList(Event):
    """GET several attributes in one request (get-request-with-list). ``descriptors`` may mix
    CosemAttributeDescriptor and CosemAttributeDescriptorWithSelection."""

    descriptors: tuple[x.CosemAttributeDescriptorWithSelection, ...]

    def __post_init__(self) -> None:
        _with_selection(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Set(Event):
    """SET one attribute; split into datablocks when longer than the server accepts."""

    descriptor: x.CosemAttributeDescriptor
    value: Data
    selection: x.SelectiveAccessDescriptor | None = None

    def __post_init__(self) -> None:
        _check(self, "descriptor", x.CosemAttributeDescriptor)
        _check(self, "value", Data)
        _check(self, "selection", x.SelectiveAccessDescriptor, optional=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class SetList(Event):
    """SET several attributes (set-request-with-list); one value per descriptor."""

    descriptors: tuple[x.CosemAttributeDescriptorWithSelection, ...]
    values: tuple[Data, ...]

    def __post_init__(self) -> None:
        _with_selection(self)
        _check_tuple(self, "values", Data)
        if len(self.values) != len(self.descriptors):
            raise LocalProtocolError("SetList needs one value per descriptor")


@dataclass(frozen=True, slots=True, kw_only=True)
class Action(Event):
    """Invoke one method (action-request-normal); parameters go in pblocks when too long."""

    descriptor: x.CosemMethodDescriptor
    parameters: Data | None = None

    def __post_init__(self) -> None:
        _check(self, "descriptor", x.CosemMethodDescriptor)
        _check(self, "parameters", Data, optional=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Release(Event):
    """Release the association (RLRQ)."""

    reason: ReleaseRequestReason = ReleaseRequestReason.NORMAL

    def __post_init__(self) -> None:
        _check(self, "reason", ReleaseRequestReason)


# -- sent by a server -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class GetResponse(Event):
    """Answer a GetRequested: the value or a data-access-result. Split into datablocks when
    longer than the negotiated PDU size."""

    invoke_id: int
    value: Value

    def __post_init__(self) -> None:
        _check_invoke_id(self)
        _check(self, "value", (Data, x.DataAccessResult))


@dataclass(frozen=True, slots=True, kw_only=True)
class GetListResponse(Event):
    """Answer a GetListRequested: one value or data-access-result per descriptor."""

    invoke_id: int
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        _check_invoke_id(self)
        _check_tuple(self, "values", (Data, x.DataAccessResult))


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResponse(Event):
    """Answer a SetRequested."""

    invoke_id: int
    result: x.DataAccessResult

    def __post_init__(self) -> None:
        _check_invoke_id(self)
        _check(self, "result", x.DataAccessResult)


@dataclass(frozen=True, slots=True, kw_only=True)
class SetListResponse(Event):
    """Answer a SetListRequested: one result per descriptor."""

    invoke_id: int
    results: tuple[x.DataAccessResult, ...]

    def __post_init__(self) -> None:
        _check_invoke_id(self)
        _check_tuple(self, "results", x.DataAccessResult)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionListResponse(Event):
    """Answer an ActionListRequested: one (result, return value or None) per method."""

    invoke_id: int
    results: tuple[tuple[x.ActionResult, Value | None], ...]

    def __post_init__(self) -> None:
        _check_invoke_id(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResponse(Event):
    """Answer an ActionRequested; a long ``return_value`` goes in pblocks."""

    invoke_id: int
    result: x.ActionResult = x.ActionResult.SUCCESS
    return_value: Value | None = None

    def __post_init__(self) -> None:
        _check_invoke_id(self)
        _check(self, "result", x.ActionResult)
        _check(self, "return_value", (Data, x.DataAccessResult), optional=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class RefuseRequest(Event):
    """Answer the outstanding request with an ExceptionResponse."""

    invoke_id: int
    state_error: x.StateError = x.StateError.SERVICE_NOT_ALLOWED
    service_error: x.ServiceError = x.ServiceError.OPERATION_NOT_POSSIBLE

    def __post_init__(self) -> None:
        _check_invoke_id(self)
        _check(self, "state_error", x.StateError)
        _check(self, "service_error", x.ServiceError)
        if self.service_error is x.ServiceError.INVOCATION_COUNTER_ERROR:
            raise LocalProtocolError("RefuseRequest cannot send invocation-counter-error")


@dataclass(frozen=True, slots=True, kw_only=True)
class EventNotification(Event):
    """Unsolicited EventNotificationRequest (unconfirmed) from the server inside an open
    association; ciphered as the association is. ``time`` is the optional octet-string time
    (normally a 12-byte COSEM date-time)."""

    descriptor: x.CosemAttributeDescriptor
    value: Data
    time: bytes | None = None

    def __post_init__(self) -> None:
        _check(self, "descriptor", x.CosemAttributeDescriptor)
        _check(self, "value", Data)
        _check(self, "time", bytes, optional=True)


# -- received by a client -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class AssociationAccepted(Event):
    """The association is open (after HLS pass 4 for mechanisms 2..6)."""

    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    vaa_name: int
    server_system_title: bytes | None = None
    mechanism: MechanismName = MechanismName.NONE
    dlms_version: int = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class AssociationRejected(Event):
    """The server refused the association; ``reason_text`` says why in plain words.

    ``diagnostic`` is the AARE's result-source-diagnostic (None when the refusal was not an
    AARE, e.g. an ExceptionResponse or a refused HLS pass 3); ``service_error`` the
    ConfirmedServiceError of the user-information, if any."""

    result: AssociationResult
    diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic | None
    reason_text: str
    service_error: x.ConfirmedServiceError | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockReceived(Event):
    """Progress of a block transfer towards us (GET datablocks, ACTION return pblocks)."""

    invoke_id: int
    block_number: int
    bytes_so_far: int
    last: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GetResult(Event):
    """The answer to a Get. ``partial_raw``: raw-data received before a block transfer was
    aborted by the server (``value`` is then its data-access-result)."""

    invoke_id: int
    value: Value
    partial_raw: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetListResult(Event):
    """The answer to a GetList: one value or data-access-result per descriptor (``values`` is
    empty and ``aborted`` set when a block transfer was aborted; see ``partial_raw``)."""

    invoke_id: int
    values: tuple[Value, ...]
    aborted: x.DataAccessResult | None = None
    partial_raw: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResult(Event):
    invoke_id: int
    result: x.DataAccessResult


@dataclass(frozen=True, slots=True, kw_only=True)
class SetListResult(Event):
    invoke_id: int
    results: tuple[x.DataAccessResult, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResult(Event):
    """The answer to an Action (the connection event; ``result`` is the xDLMS Action-Result)."""

    invoke_id: int
    result: x.ActionResult
    return_value: Value | None = None
    partial_raw: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceError(Event):
    """The server answered the request with an ExceptionResponse or ConfirmedServiceError;
    ``text`` in plain words. ``invoke_id`` is the outstanding request's."""

    invoke_id: int | None
    text: str
    apdu: x.ExceptionResponse | x.ConfirmedServiceError
    partial_raw: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Released(Event):
    """The association is released. ``malformed``: the RLRE did not decode and was accepted
    under the ``accept_malformed_rlre`` quirk."""

    reason: ReleaseResponseReason | None = None
    malformed: bool = False


# -- received by a server -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ClientAssociated(Event):
    """A client is associated (after HLS pass 3 for mechanisms 2..6)."""

    client_sap: int
    mechanism: MechanismName
    negotiated_conformance: Conformance
    client_max_receive_pdu_size: int
    client_system_title: bytes | None = None
    ciphering: CipheringMode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientRejected(Event):
    """We refused a client's association (AARE rejected, or HLS pass 3 wrong)."""

    client_sap: int
    diagnostic: AcseServiceUserDiagnostic | None
    reason_text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRequested(Event):
    invoke_id: int
    descriptor: x.CosemAttributeDescriptor
    selection: x.SelectiveAccessDescriptor | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetListRequested(Event):
    invoke_id: int
    descriptors: tuple[x.CosemAttributeDescriptorWithSelection, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SetRequested(Event):
    """A SET, after all its datablocks arrived."""

    invoke_id: int
    descriptor: x.CosemAttributeDescriptor
    value: Data
    selection: x.SelectiveAccessDescriptor | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetListRequested(Event):
    invoke_id: int
    descriptors: tuple[x.CosemAttributeDescriptorWithSelection, ...]
    values: tuple[Data, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRequested(Event):
    """An ACTION, after all its parameter blocks arrived."""

    invoke_id: int
    descriptor: x.CosemMethodDescriptor
    parameters: Data | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionListRequested(Event):
    """An action-request-with-list: several methods, one parameter (or null-data) each."""

    invoke_id: int
    descriptors: tuple[x.CosemMethodDescriptor, ...]
    parameters: tuple[Data, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRefused(Event):
    """We answered a request on our own with an error (outside an association, service not
    negotiated, bad block number …); ``text`` says why."""

    text: str
    response: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientReleased(Event):
    """The client released the association (RLRE sent)."""


# -- both -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationReceived(Event):
    """An unconfirmed DataNotification or EventNotificationRequest."""

    apdu: x.DataNotification | x.EventNotificationRequest


# -- errors ---------------------------------------------------------------------------------------

class BlockTransferError(RemoteProtocolError):
    """A block transfer failed on the peer's side (block out of sequence, invoke-id mismatch,
    undecodable reassembled data …). ``partial_raw`` holds the raw-data received so far."""

    def __init__(self, message: str, *, data: bytes = b"", offset: int = 0,
                 reason: Reason = Reason.SEQUENCE_ERROR, partial_raw: bytes = b"",
                 block_number: int | None = None) -> None:
        self.partial_raw = bytes(partial_raw)
        self.block_number = block_number
        super().__init__(message, data=data, offset=offset, reason=reason)
