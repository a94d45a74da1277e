"""Errors raised by the client session, each with a message in words.

All are :class:`~meterreader.dlms.errors.DlmsError`. The transport's own errors pass through
unchanged: :class:`ConnectionFailed` (could not open), :class:`ConnectionLost` (the link broke,
also when the meter ends the HDLC link with DM/DISC/FRMR) and :class:`Cancelled`.
"""

from __future__ import annotations

from meterreader.cosem.interface_classes import attribute_name, class_name, method_name
from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic
from meterreader.dlms.connection_events import AssociationRejected as RejectedEvent
from meterreader.dlms.errors import DlmsError, LocalProtocolError
from meterreader.dlms.xdlms import ActionResult, DataAccessResult
from meterreader.transport.base import Cancelled, ConnectionFailed, ConnectionLost

__all__ = ["AccessDenied", "AssociationRejected", "Cancelled", "ConnectionFailed",
           "ConnectionLost", "MeterNotAnswering", "ObjectUndefined", "ServiceFailed",
           "SessionError", "SessionNotReady", "describe_target"]


class SessionError(DlmsError):
    """Base of the errors the session itself raises."""


class SessionNotReady(SessionError, LocalProtocolError):
    """The session is not connected (or must be closed and connected again after an error)."""


class MeterNotAnswering(SessionError):
    """No answer within the response timeout (after the HDLC retransmissions)."""

    def __init__(self, message: str, *, timeout: float, retries: int) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.retries = retries


class AssociationRejected(SessionError):
    """The meter refused the association (AARE rejected or HLS authentication failed)."""

    def __init__(self, event: RejectedEvent) -> None:
        super().__init__(f"the meter rejected the association: {event.reason_text}")
        self.event = event
        self.reason_text = event.reason_text

    @property
    def diagnostic(self) -> AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic | None:
        return self.event.diagnostic

    @property
    def authentication_failed(self) -> bool:
        return self.event.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE


class ServiceFailed(SessionError):
    """The meter refused or failed a GET/SET/ACTION. ``result`` is its Data-Access-Result or
    Action-Result (None for an ExceptionResponse/ConfirmedServiceError); ``target`` names the
    object, e.g. ``"1.0.1.8.0.255 attribute 2 (value) of class 3 (Register)"``."""

    def __init__(self, message: str, *, target: str = "",
                 result: DataAccessResult | ActionResult | None = None) -> None:
        super().__init__(message)
        self.target = target
        self.result = result


class AccessDenied(ServiceFailed):
    """read-write-denied or scope-of-access-violated: this association may not do that."""


class ObjectUndefined(ServiceFailed):
    """The object (or attribute/method) does not exist in the meter, or has another class."""


_DENIED = frozenset({DataAccessResult.READ_WRITE_DENIED, DataAccessResult.SCOPE_OF_ACCESS_VIOLATED,
                     ActionResult.READ_WRITE_DENIED, ActionResult.SCOPE_OF_ACCESS_VIOLATED})
_UNDEFINED = frozenset({DataAccessResult.OBJECT_UNDEFINED,
                        DataAccessResult.OBJECT_CLASS_INCONSISTENT,
                        ActionResult.OBJECT_UNDEFINED, ActionResult.OBJECT_CLASS_INCONSISTENT})


def describe_target(class_id: int, obis: Obis, *, attribute: int | None = None,
                    method: int | None = None) -> str:
    """``"1.0.1.8.0.255 attribute 2 (value) of class 3 (Register)"`` (or ``method n (name)``)."""
    if method is not None:
        member = f"method {method} ({method_name(class_id, method)})"
    else:
        member = f"attribute {attribute} ({attribute_name(class_id, attribute or 0)})"
    return f"{obis} {member} of class {class_id} ({class_name(class_id)})"


def refusal(verb: str, target: str, result: DataAccessResult | ActionResult) -> ServiceFailed:
    """The exception for a refused service: ``verb`` is "reading", "writing" or "invoking"."""
    if result in _DENIED:
        kind: type[ServiceFailed] = AccessDenied
    elif result in _UNDEFINED:
        kind = ObjectUndefined
    else:
        kind = ServiceFailed
    return kind(f"{verb} {target}: {result.describe()} ({result.name.lower().replace('_', '-')})",
                target=target, result=result)
