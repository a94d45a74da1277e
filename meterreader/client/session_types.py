"""Plain types of the session: its state, progress reports, the counters snapshot, and the
mapping of GET results to values or typed errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, unique

from meterreader.client.errors import ServiceFailed, describe_target, refusal
from meterreader.client.framing import Counters
from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.axdr import Data
from meterreader.dlms.errors import Reason, RemoteProtocolError
from meterreader.dlms.hdlc import HdlcParameters
from meterreader.dlms.initiate import Conformance

__all__ = ["Progress", "SessionState", "SessionStats", "snapshot"]


@unique
class SessionState(Enum):
    CLOSED = "closed"
    CONNECTING = "connecting"
    READY = "ready"
    BROKEN = "broken"  # cancelled in the middle of an exchange: only close() is allowed


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Progress of a block transfer: ``blocks`` and ``bytes`` received so far, ``rows``
    decodable so far (profile reads only)."""

    operation: str
    blocks: int
    bytes: int
    rows: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStats:
    """Counters for the status bar (a snapshot, safe to hand to another thread)."""

    frames_sent: int = 0
    frames_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    round_trips: int = 0
    apdus_sent: int = 0
    apdus_received: int = 0
    retransmissions: int = 0
    frames_rejected: int = 0
    last_operation: str = ""
    last_elapsed: float = 0.0
    max_info_field_transmit: int | None = None
    max_info_field_receive: int | None = None
    window_transmit: int | None = None
    window_receive: int | None = None
    server_max_pdu_size: int | None = None
    conformance: Conformance | None = None


def snapshot(c: Counters, last: tuple[str, float], p: HdlcParameters | None,
             a: ev.AssociationAccepted | None) -> SessionStats:
    """The counters, the last operation and the negotiated limits as one frozen record."""
    return SessionStats(
        frames_sent=c.frames_sent, frames_received=c.frames_received,
        bytes_sent=c.bytes_sent, bytes_received=c.bytes_received, round_trips=c.round_trips,
        apdus_sent=c.apdus_sent, apdus_received=c.apdus_received,
        retransmissions=c.retransmissions, frames_rejected=c.frames_rejected,
        last_operation=last[0], last_elapsed=last[1],
        max_info_field_transmit=p.max_info_field_length_transmit if p else None,
        max_info_field_receive=p.max_info_field_length_receive if p else None,
        window_transmit=p.window_size_transmit if p else None,
        window_receive=p.window_size_receive if p else None,
        server_max_pdu_size=a.server_max_receive_pdu_size if a else None,
        conformance=a.negotiated_conformance if a else None)


def attribute_descriptor(class_id: int, obis: Obis | str, attribute: int
                         ) -> x.CosemAttributeDescriptor:
    return x.CosemAttributeDescriptor(class_id=class_id, instance_id=Obis.parse(obis),
                                      attribute_id=attribute)


def value_or_raise(event: ev.Event, d: x.CosemAttributeDescriptor) -> Data:
    target = describe_target(d.class_id, d.instance_id, attribute=d.attribute_id)
    if isinstance(event, ev.ServiceError):
        raise ServiceFailed(f"reading {target}: {event.text}", target=target)
    if not isinstance(event, ev.GetResult):
        raise unexpected(event)
    if isinstance(event.value, x.DataAccessResult):
        raise refusal("reading", target, event.value)
    return event.value


def unexpected(event: ev.Event) -> RemoteProtocolError:
    return RemoteProtocolError(f"unexpected answer from the meter: {type(event).__name__}",
                               reason=Reason.UNEXPECTED)


def not_ready_text(state: SessionState) -> str:
    if state is SessionState.BROKEN:
        return "the session was cancelled in the middle of an exchange: close() and connect again"
    return f"the session is {state.value}: connect() first"
