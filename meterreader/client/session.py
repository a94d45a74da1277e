"""The blocking client session used by the GUI worker thread and the CLI.

Theory of operation
-------------------
A :class:`Session` drives three sans-IO machines over one blocking
:class:`~meterreader.transport.Transport`: the framing (HDLC link or wrapper, ``framing.py``), the
:class:`~meterreader.dlms.connection.DlmsConnection` (association, services, block transfer,
ciphering) and, in ``session_profile.py``, the decoding of profile buffers. Every request is one
loop: write the APDU the connection produced, read until the connection reports the final event,
writing at once every APDU it queued meanwhile (HLS pass 3, GetRequestNext …) — no idle gaps and
no request the meter did not ask for.

States: CLOSED → ``connect()`` → READY → ``close()`` → CLOSED. A fatal error inside an operation
(meter not answering, link lost, a protocol error from the meter) releases what can still be
released, closes the transport and leaves the session CLOSED before the error propagates.
:class:`Cancelled` leaves it BROKEN: no traffic is sent, and only ``close()`` is allowed (which
then releases with a short deadline). Refusals by the meter (:class:`AccessDenied`,
:class:`ObjectUndefined`, :class:`ServiceFailed`) leave it READY.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from meterreader.client import session_profile
from meterreader.client.errors import (AssociationRejected, MeterNotAnswering, ServiceFailed,
                                       SessionNotReady, describe_target, refusal)
from meterreader.client.framing import Counters, Wire, make_wire
from meterreader.client.objects import (CosemObjectInfo, LogicalDeviceInfo, parse_object_list,
                                        parse_sap_list)
from meterreader.client.settings import ConnectionSettings
from meterreader.client.session_types import (Progress, SessionState, SessionStats,
                                              attribute_descriptor as _attribute,
                                              not_ready_text as _not_ready_text, snapshot,
                                              unexpected as _unexpected,
                                              value_or_raise as _value_or_raise)
from meterreader.client.trace import Trace, describe_apdu, mask
from meterreader.client.values import REGISTER_ATTRIBUTES, Quantity, date_time_of, make_quantity
from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import AcseTag
from meterreader.dlms.axdr import Data
from meterreader.dlms.blocks import effective_limit, protection_overhead
from meterreader.dlms.connection import DlmsConnection, redact
from meterreader.dlms.connection_state import Role, State
from meterreader.dlms.errors import DlmsError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.hdlc import HdlcParameters
from meterreader.dlms.initiate import Conformance
from meterreader.transport.base import Cancelled, CancelToken, Transport, TransportError

__all__ = ["Progress", "Session", "SessionState", "SessionStats"]

CLOCK = Obis(0, 0, 1, 0, 0, 255)
CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
SAP_ASSIGNMENT = Obis(0, 0, 41, 0, 0, 255)
_AARQ = bytes((AcseTag.AARQ,))
#: get-request-with-list header: tag, type, invoke-id, item count (up to 3 bytes).
_LIST_HEADER = 6


_NEVER = CancelToken()  # reads during close() must not see the user's cancel


class Session:
    """One connection to one meter (see the module docstring); a context manager.

    ``cancel`` is watched by every blocking step (a cancel raises :class:`Cancelled` within
    200 ms); ``on_trace(direction, layer, data, description)`` sees every frame and APDU (LLS
    password masked); ``on_progress(Progress)`` sees every block of a long GET.
    """

    def __init__(self, transport: Transport, settings: ConnectionSettings, *,
                 cancel: CancelToken | None = None, on_trace: Trace | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 rng: Callable[[int], bytes] = secrets.token_bytes) -> None:
        if not isinstance(settings, ConnectionSettings):
            raise LocalProtocolError("settings must be ConnectionSettings")
        self.transport = transport
        self.settings = settings
        self.cancel = cancel
        self.on_trace = on_trace
        self.on_progress = on_progress
        self._rng = rng
        self.state = SessionState.CLOSED
        self._counters = Counters()
        self._wire: Wire | None = None
        self._conn: DlmsConnection | None = None
        self.association: ev.AssociationAccepted | None = None
        self._negotiated: HdlcParameters | None = None
        self._last = ("", 0.0)
        self._reset_caches()

    def _reset_caches(self) -> None:
        self._object_list: list[CosemObjectInfo] | None = None
        self._scaler_units: dict[tuple[int, Obis], Data] = {}
        self._with_list = True
        self.profile_cache = session_profile.ProfileCache()

    # -- lifecycle --------------------------------------------------------------------------------

    def connect(self) -> Self:
        """Open the transport, bring the link up (SNRM/UA or wrapper) and associate (AARQ/AARE,
        HLS). Raises ConnectionFailed, MeterNotAnswering, AssociationRejected, Cancelled …"""
        if self.state is not SessionState.CLOSED:
            raise SessionNotReady(f"connect() needs a closed session, this one is "
                                  f"{self.state.value}")
        self.state = SessionState.CONNECTING
        self._counters = Counters()
        self._reset_caches()
        self.association = None
        self._negotiated = None
        with self._operation("connect"):
            self._check_cancel("connect")
            self.transport.open(self.cancel)
            self._wire = make_wire(self.transport, self.settings, self._counters,
                                   self.on_trace, self.cancel)
            self._wire.connect()
            self._negotiated = self._wire.negotiated
            self._conn = DlmsConnection(Role.CLIENT, self.settings.association_settings(),
                                        rng=self._rng)
            event = self._exchange(ev.Associate(), "association")
            if isinstance(event, ev.AssociationRejected):
                raise AssociationRejected(event)
            if not isinstance(event, ev.AssociationAccepted):
                raise RemoteProtocolError(f"unexpected answer to the AARQ: {event!r}",
                                          reason=Reason.UNEXPECTED)
            self.association = event
            self.state = SessionState.READY
        return self

    def close(self) -> None:
        """Release the association (RLRQ), disconnect (DISC) within ``close_timeout`` and close
        the transport. Never raises; safe to call in any state, any number of times."""
        if self.state is SessionState.CLOSED:
            return
        try:
            self._shutdown(release=True)
        except Exception:  # noqa: BLE001 - close() never raises (the transport is closed)
            pass

    def __enter__(self) -> Self:
        if self.state is SessionState.CLOSED:
            self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def is_ready(self) -> bool:
        return self.state is SessionState.READY

    @property
    def conformance(self) -> Conformance:
        return self.association.negotiated_conformance if self.association else Conformance(0)

    @property
    def stats(self) -> SessionStats:
        return snapshot(self._counters, self._last, self._negotiated, self.association)

    # -- services ---------------------------------------------------------------------------------

    def get(self, class_id: int, obis: Obis | str, attribute: int,
            selection: x.SelectiveAccessDescriptor | None = None) -> Data:
        """The value of one attribute; AccessDenied / ObjectUndefined / ServiceFailed if refused."""
        d = _attribute(class_id, obis, attribute)
        with self._operation(f"GET {d.instance_id}:{attribute}"):
            event = self.get_event(d, selection)
            return _value_or_raise(event, d)

    def get_many(self, items: Sequence[tuple[int, Obis | str, int]]
                 ) -> list[Data | x.DataAccessResult]:
        """Several attributes: one value or Data-Access-Result each. GET-with-list when the
        meter negotiated multiple references (chunked to its PDU size and
        ``quirks.max_list_items``), else one GET each."""
        descriptors = [_attribute(*item) for item in items]
        with self._operation(f"GET {len(descriptors)} attributes"):
            out: list[Data | x.DataAccessResult] = []
            for chunk in self._chunks(descriptors):
                out.extend(self._get_chunk(chunk))
        return out

    def set(self, class_id: int, obis: Obis | str, attribute: int, value: Data,
            selection: x.SelectiveAccessDescriptor | None = None) -> None:
        """Write one attribute; AccessDenied / ObjectUndefined / ServiceFailed if refused."""
        d = _attribute(class_id, obis, attribute)
        target = describe_target(class_id, d.instance_id, attribute=attribute)
        with self._operation(f"SET {d.instance_id}:{attribute}"):
            event = self._exchange(ev.Set(descriptor=d, value=value, selection=selection),
                                   f"SET {d.instance_id}:{attribute}")
        if isinstance(event, ev.ServiceError):
            raise ServiceFailed(f"writing {target}: {event.text}", target=target)
        if not isinstance(event, ev.SetResult):
            raise _unexpected(event)
        if event.result is not x.DataAccessResult.SUCCESS:
            raise refusal("writing", target, event.result)
        self._scaler_units.pop((class_id, d.instance_id), None)

    def action(self, class_id: int, obis: Obis | str, method: int,
               parameters: Data | None = None) -> Data | None:
        """Invoke one method; its return value (None when it returns nothing)."""
        instance = Obis.parse(obis)
        d = x.CosemMethodDescriptor(class_id=class_id, instance_id=instance, method_id=method)
        target = describe_target(class_id, instance, method=method)
        with self._operation(f"ACTION {instance}:{method}"):
            event = self._exchange(ev.Action(descriptor=d, parameters=parameters),
                                   f"ACTION {instance}:{method}")
        if isinstance(event, ev.ServiceError):
            raise ServiceFailed(f"invoking {target}: {event.text}", target=target)
        if not isinstance(event, ev.ActionResult):
            raise _unexpected(event)
        if event.result is not x.ActionResult.SUCCESS:
            raise refusal("invoking", target, event.result)
        if isinstance(event.return_value, x.DataAccessResult):
            if event.return_value is not x.DataAccessResult.SUCCESS:
                raise refusal("invoking", target, event.return_value)
            return None
        return event.return_value

    # -- object models ----------------------------------------------------------------------------

    def object_list(self) -> list[CosemObjectInfo]:
        """The objects the current association sees (Association LN 0.0.40.0.0.255 attribute
        2), read once per session."""
        if self._object_list is None:
            self._object_list = parse_object_list(self.get(15, CURRENT_ASSOCIATION, 2))
        return list(self._object_list)

    def logical_devices(self) -> list[LogicalDeviceInfo]:
        """(SAP, name) of every logical device (SAP assignment 0.0.41.0.0.255 attribute 2)."""
        return parse_sap_list(self.get(17, SAP_ASSIGNMENT, 2))

    def read_register(self, obis: Obis | str, *, class_id: int | None = None) -> Quantity:
        """A register, extended register or demand register value with its scaler applied.

        ``class_id`` defaults to the object list's (when already read), else the IS 15959
        catalogue's, else 3. scaler_unit is static: it is read once per session."""
        o = Obis.parse(obis)
        cid = class_id if class_id is not None else self._class_of(o)
        attributes = REGISTER_ATTRIBUTES.get(cid)
        if attributes is None:
            raise LocalProtocolError(f"read_register reads classes 3, 4 and 5, not {cid}")
        value_attr, scaler_attr, time_attr = attributes
        wanted = [value_attr] + ([scaler_attr] if (cid, o) not in self._scaler_units else [])
        wanted += [time_attr] if time_attr else []
        results = dict(zip(wanted, self.get_many([(cid, o, a) for a in wanted])))
        for attr in (value_attr, scaler_attr):
            if isinstance(results.get(attr), x.DataAccessResult):
                raise refusal("reading", describe_target(cid, o, attribute=attr), results[attr])
        if scaler_attr in results:
            self._scaler_units[(cid, o)] = results[scaler_attr]  # type: ignore[assignment]
        captured = results.get(time_attr) if time_attr else None
        return make_quantity(
            results[value_attr], self._scaler_units[(cid, o)],  # type: ignore[arg-type]
            captured if isinstance(captured, Data) else None,
            deviation_sign=self.settings.deviation_sign,
            where=f"scaler_unit of {o}")

    def read_clock(self) -> Any:
        """The meter's time (clock 0.0.1.0.0.255 attribute 2) as a ``datetime`` (or the raw
        CosemDateTime when it is not a complete instant)."""
        return date_time_of(self.get(8, CLOCK, 2), self.settings.deviation_sign)

    def read_profile(self, obis: Obis | str, *,
                     range: tuple[Any, Any] | None = None,  # noqa: A002 - the brief's name
                     entries: tuple[int, int | None] | None = None,
                     columns: Sequence[int] | None = None, scalers: str | None = "auto",
                     progress: Callable[[Progress], None] | None = None
                     ) -> session_profile.ProfileResult:
        """A profile generic buffer as rows of Python values, whole, by ``range=(from, to)``
        (datetimes; naive = meter time) or by ``entries=(first, last)``; see
        :func:`meterreader.client.session_profile.read_profile`. A failure after the first
        datablock returns the rows received so far with ``complete=False`` and ``error``."""
        return session_profile.read_profile(self, obis, range=range, entries=entries,
                                            columns=columns, scalers=scalers,
                                            progress=progress)

    def keep_alive(self) -> bool:
        """For a GUI timer: read the clock when the link has been idle longer than
        ``keep_alive_interval`` (keeps the meter's inactivity timers from dropping the link).
        Returns True when a request was sent."""
        interval = self.settings.keep_alive_interval
        if self.state is not SessionState.READY or interval is None or self._wire is None:
            return False
        if time.monotonic() - self._wire.last_activity < interval:
            return False
        try:
            self.get(8, CLOCK, 2)
        except ServiceFailed:
            pass  # the meter answered: the link is alive
        return True

    # -- for session_profile ----------------------------------------------------------------------

    def get_event(self, d: x.CosemAttributeDescriptor,
                  selection: x.SelectiveAccessDescriptor | None = None,
                  on_block: Callable[[ev.BlockReceived], None] | None = None) -> ev.Event:
        """One GET; the connection's final event (GetResult or ServiceError)."""
        operation = f"GET {d.instance_id}:{d.attribute_id}"
        with self._operation(operation):
            return self._exchange(ev.Get(descriptor=d, selection=selection), operation,
                                  on_block)

    @property
    def partial_raw(self) -> bytes:
        """Raw-data of the running (or just failed) block transfer."""
        return self._conn.partial_raw if self._conn is not None else b""

    @contextmanager
    def operation(self, name: str) -> Iterator[None]:
        """Group several requests as one timed, error-handled operation."""
        with self._operation(name):
            yield

    # -- internals --------------------------------------------------------------------------------

    @contextmanager
    def _operation(self, name: str) -> Iterator[None]:
        outer = getattr(self, "_depth", 0)
        if outer == 0 and self.state not in (SessionState.READY, SessionState.CONNECTING):
            raise SessionNotReady(_not_ready_text(self.state))
        started = time.monotonic()
        self._depth = outer + 1
        try:
            if outer == 0:
                self._check_cancel(name)
            yield
        except BaseException as exc:
            # Handled where it happened (innermost), even when an outer caller catches it.
            if not getattr(exc, "_session_handled", False):
                try:
                    exc._session_handled = True  # type: ignore[attr-defined]
                except AttributeError:
                    pass
                self._after_error(exc)
            raise
        finally:
            self._depth = outer
            if outer == 0:
                self._last = (name, time.monotonic() - started)

    def _after_error(self, exc: BaseException) -> None:
        """Decide what an error leaves behind (see the module docstring)."""
        if isinstance(exc, (Cancelled, KeyboardInterrupt)) and self.state is SessionState.READY:
            self.state = SessionState.BROKEN
            return
        conn_ok = self._conn is not None and self._conn.state is not State.ERROR
        refused = isinstance(exc, (ServiceFailed, LocalProtocolError))
        if self.state is SessionState.READY and refused and conn_ok:
            return
        link_dead = isinstance(exc, (TransportError, MeterNotAnswering, KeyboardInterrupt))
        try:
            self._shutdown(release=not link_dead and conn_ok, disconnect=not link_dead)
        except Exception:  # noqa: BLE001 - the original error matters, not this one
            pass

    def _shutdown(self, *, release: bool, disconnect: bool = True) -> None:
        wire, conn = self._wire, self._conn
        deadline = time.monotonic() + self.settings.close_timeout
        self._closing = True
        try:
            if wire is not None and self.transport.is_open:
                wire.cancel = _NEVER
                wire.deadline = deadline
                if release and conn is not None and conn.is_associated:
                    self._release(wire, conn, deadline)
                if disconnect:
                    wire.disconnect(deadline)
        finally:
            self._closing = False
            self.state = SessionState.CLOSED
            self.transport.close()

    def _release(self, wire: Wire, conn: DlmsConnection, deadline: float) -> None:
        try:
            self._send(conn.send(ev.Release()))
            while time.monotonic() < deadline:
                events = self._receive(deadline)
                if any(isinstance(e, ev.Released) for e in events):
                    return
        except (DlmsError, OSError):
            return  # the meter may already be gone; the link is taken down next

    _closing = False

    def _check_cancel(self, what: str) -> None:
        if self.cancel is not None and self.cancel.cancelled and not self._closing:
            raise Cancelled(f"{what} cancelled")

    def _send(self, apdu: bytes) -> None:
        assert self._wire is not None
        self._check_cancel("request")
        secret = None
        if apdu[:1] == _AARQ and self.settings.password is not None:
            secret = self.settings.password.reveal()
        if self.on_trace is not None:
            self.on_trace("tx", "apdu", mask(redact(apdu), secret), describe_apdu(redact(apdu)))
        self._counters.apdus_sent += 1
        self._wire.send_apdu(apdu, secret=secret)

    def _receive(self, deadline: float | None = None) -> list[ev.Event]:
        assert self._wire is not None and self._conn is not None
        data = self._wire.receive_apdu(deadline)
        self._counters.apdus_received += 1
        if self.on_trace is not None:
            self.on_trace("rx", "apdu", data, describe_apdu(data))
        events = self._conn.receive_data(data)
        for apdu in self._conn.data_to_send():
            self._send(apdu)
        return events

    def _exchange(self, event: ev.Event, operation: str,
                  on_block: Callable[[ev.BlockReceived], None] | None = None) -> ev.Event:
        """Send ``event``; return the final event of the exchange."""
        assert self._conn is not None
        self._send(self._conn.send(event))
        while True:
            for got in self._receive():
                if isinstance(got, ev.BlockReceived):
                    if on_block is not None:
                        on_block(got)
                    elif self.on_progress is not None:
                        self.on_progress(Progress(operation=operation, blocks=got.block_number,
                                                  bytes=got.bytes_so_far))
                elif not isinstance(got, ev.NotificationReceived):
                    return got

    def _chunks(self, descriptors: list[x.CosemAttributeDescriptor]
                ) -> Iterator[list[x.CosemAttributeDescriptor]]:
        if not (self._with_list and self.conformance & Conformance.MULTIPLE_REFERENCES):
            yield from ([d] for d in descriptors)
            return
        limit = effective_limit(self.association.server_max_receive_pdu_size  # type: ignore
                                if self.association else 0)
        room = limit - protection_overhead(self.settings.ciphering) - _LIST_HEADER
        chunk: list[x.CosemAttributeDescriptor] = []
        size = 0
        for d in descriptors:
            item = len(d.encode()) + 1
            if chunk and (len(chunk) >= self.settings.quirks.max_list_items
                          or size + item > room):
                yield chunk
                chunk, size = [], 0
            chunk.append(d)
            size += item
        if chunk:
            yield chunk

    def _get_chunk(self, chunk: list[x.CosemAttributeDescriptor]
                   ) -> list[Data | x.DataAccessResult]:
        if len(chunk) == 1:
            event = self.get_event(chunk[0])
            if isinstance(event, ev.GetResult):
                return [event.value]
            return [_value_or_raise(event, chunk[0])]
        event = self._exchange(ev.GetList(descriptors=tuple(chunk)),
                               f"GET {len(chunk)} attributes")
        if isinstance(event, ev.GetListResult) and event.aborted is None:
            return list(event.values)
        if isinstance(event, (ev.ServiceError, ev.GetListResult)):
            # The meter refused the list as a whole: ask one by one from now on.
            self._with_list = False
            return [v for d in chunk for v in self._get_chunk([d])]
        raise _unexpected(event)

    def _class_of(self, obis: Obis) -> int:
        for info in self._object_list or ():
            if info.logical_name == obis:
                return info.class_id
        return session_profile.catalogue_class(obis) or 3
