"""The blocking drivers of the two framings under the session: HDLC (IEC 62056-46) and the
IEC 62056-47 wrapper. Each moves whole APDUs over a :class:`~meterreader.transport.Transport`:
``connect()``, ``send_apdu(apdu)``, ``receive_apdu()`` (blocks until one APDU arrived),
``disconnect(deadline)``.

They own the clock for the sans-IO links: a read that times out is the HDLC link's
``timeout_expired()`` (retransmission, then :class:`MeterNotAnswering`); the wrapper over TCP has
nothing to repeat, so its first timeout is final. Everything the link emits is written at once
(a whole window in one write): no idle gaps. Both count frames, bytes and round trips in a
:class:`Counters` and report every frame to the trace callback.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import time
from collections import deque

from meterreader.client.errors import MeterNotAnswering
from meterreader.client.settings import ConnectionSettings, Framing
from meterreader.client.trace import FrameTap, Trace, describe_frame, mask, split_frames
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.hdlc import (ConnectRequest, Connected, DataReceived, DisconnectRequest,
                                   Disconnected, DmReceived, FrameRejected, FrmrReceived,
                                   HdlcLink, HdlcParameters, RetriesExhausted, Role, SendData)
from meterreader.dlms.hdlc.state import LinkState
from meterreader.dlms.wrapper import ApduReceived, WrapperFrame, WrapperLink
from meterreader.dlms.wrapper import Role as WrapperRole
from meterreader.transport.base import (CancelToken, ConnectionFailed, ConnectionLost,
                                        ReadTimeout, Transport)

__all__ = ["Counters", "HdlcWire", "Wire", "WrapperWire", "make_wire"]


class Counters:
    """Running totals of one session (written by the worker thread only)."""

    __slots__ = ("frames_sent", "frames_received", "bytes_sent", "bytes_received", "round_trips",
                 "apdus_sent", "apdus_received", "retransmissions", "frames_rejected")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)


class Wire(ABC):
    """Common part of the two framings: counted, traced, cancellable transport I/O."""

    layer = ""

    def __init__(self, transport: Transport, settings: ConnectionSettings, counters: Counters,
                 trace: Trace | None, cancel: CancelToken | None) -> None:
        self.transport = transport
        self.settings = settings
        self.counters = counters
        self.trace = trace
        self.cancel = cancel
        self._ready: deque[bytes] = deque()
        self.last_activity = time.monotonic()
        #: When set (while closing), bounds every wait.
        self.deadline: float | None = None

    # -- API ---------------------------------------------------------------------------------

    @property
    def negotiated(self) -> HdlcParameters | None:
        return None

    def connect(self) -> None:
        """Bring the link up (HDLC: SNRM/UA)."""

    @abstractmethod
    def send_apdu(self, apdu: bytes, *, secret: bytes | None = None) -> None:
        """Frame and write one APDU (``secret`` is masked in the trace)."""

    def receive_apdu(self, deadline: float | None = None) -> bytes:
        """The next whole APDU from the meter; ``deadline`` (monotonic) bounds the wait."""
        while not self._ready:
            self._pump(deadline or self.deadline)
        return self._ready.popleft()

    def disconnect(self, deadline: float) -> None:
        """Take the link down, waiting at most until ``deadline``; never raises."""

    # -- helpers ------------------------------------------------------------------------------

    @abstractmethod
    def _pump(self, deadline: float | None) -> None:
        """Read once and turn what arrived into ready APDUs (or raise on timeout/loss)."""

    def _write(self, data: bytes, frames: list[bytes], secret: bytes | None = None) -> None:
        if not data:
            return
        self.transport.write(data)
        self.last_activity = time.monotonic()
        c = self.counters
        c.bytes_sent += len(data)
        c.frames_sent += len(frames)
        c.round_trips += 1
        if self.trace is not None:
            for frame in frames:
                self.trace("tx", self.layer, mask(frame, secret), self._describe(frame))

    def _read(self, deadline: float | None) -> bytes:
        """Whatever arrives within the response timeout (or until ``deadline``)."""
        timeout = self.settings.response_timeout
        if deadline is not None:
            timeout = min(timeout, max(0.0, deadline - time.monotonic()))
        data = self.transport.read(timeout, self.cancel)
        self.last_activity = time.monotonic()
        self.counters.bytes_received += len(data)
        return data

    def _describe(self, frame: bytes) -> str:
        return f"{len(frame)} bytes"

    def _not_answering(self, retries: int) -> MeterNotAnswering:
        s = self.settings
        if s.framing is Framing.HDLC:
            text = (f"no answer from the meter within {s.response_timeout:g} s ({retries} "
                    f"retries) — check cable/probe, baud rate, server address "
                    f"({s.server_address}, client {s.client_sap})")
        else:
            text = (f"no answer from the meter within {s.response_timeout:g} s — check the "
                    f"logical device address (wPort {s.server_logical_address}), the client "
                    f"SAP ({s.client_sap}) and that the meter is reachable")
        return MeterNotAnswering(text, timeout=s.response_timeout, retries=retries)


class WrapperWire(Wire):
    """IEC 62056-47 wrapper over TCP: one packet per APDU."""

    layer = "wrapper"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        s = self.settings
        self.link = WrapperLink(role=WrapperRole.CLIENT, local_wport=s.client_sap,
                                peer_wport=s.server_logical_address)

    def send_apdu(self, apdu: bytes, *, secret: bytes | None = None) -> None:
        packet = self.link.send(apdu)
        self._write(packet, [packet], secret)

    def _pump(self, deadline: float | None) -> None:
        try:
            data = self._read(deadline)
        except ReadTimeout:
            raise self._not_answering(0) from None
        for event in self.link.receive_data(data):
            self.counters.frames_received += 1
            if isinstance(event, ApduReceived):
                self._ready.append(event.data)
                frame = WrapperFrame(source_wport=event.source_wport,
                                     destination_wport=event.destination_wport, data=event.data)
                note = ""
            else:
                frame, note = event.frame, " (not for us: ignored)"
            if self.trace is not None:
                self.trace("rx", self.layer, frame.encode(), f"wPort {frame.source_wport} → "
                           f"{frame.destination_wport}, {len(frame.data)} bytes{note}")

    def _describe(self, frame: bytes) -> str:
        s = self.settings
        return f"wPort {s.client_sap} → {s.server_logical_address}, {len(frame) - 8} bytes"


class HdlcWire(Wire):
    """IEC 62056-46 HDLC: SNRM/UA, I-frames with windows and segmentation, retransmission on
    timeout, DISC."""

    layer = "hdlc"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.link = HdlcLink(Role.CLIENT, self.settings.hdlc_config())
        self._tap = FrameTap()
        self._quiet = 0  # timeouts in a row with nothing to repeat
        self._phase = "idle"  # connecting / connected / disconnecting
        # When we last sent something or received a frame the link accepted: a peer that sends
        # only noise must still run into the response timeout (bytes alone are no answer).
        self._progress_at = time.monotonic()

    @property
    def negotiated(self) -> HdlcParameters | None:
        return self.link.parameters

    def connect(self) -> None:
        self._phase = "connecting"
        self._send(self.link.send(ConnectRequest()))
        while self.link.state is LinkState.CONNECTING:
            self._pump(self.deadline)
        self._phase = "connected"
        if self.link.state is not LinkState.CONNECTED:
            raise ConnectionFailed(f"the HDLC link to {self.settings.server_address} did not "
                                   f"come up (state {self.link.state.name})")

    def send_apdu(self, apdu: bytes, *, secret: bytes | None = None) -> None:
        while not self.link.can_send_data:
            if self.link.state is not LinkState.CONNECTED:
                raise ConnectionLost("the HDLC link is down")
            self._pump(self.deadline)  # the meter still holds the poll: take its frames first
        self._send(self.link.send(SendData(lsdu=apdu)), secret)

    def disconnect(self, deadline: float) -> None:
        try:
            if self.link.state not in (LinkState.CONNECTED, LinkState.CONNECTING):
                return
            self._phase = "disconnecting"
            self._send(self.link.send(DisconnectRequest()))
            while self.link.state is LinkState.DISCONNECTING and time.monotonic() < deadline:
                self._pump(deadline)
        except Exception:  # noqa: BLE001 - best effort: the transport is closed next anyway
            pass

    def _send(self, data: bytes, secret: bytes | None = None) -> None:
        if data:
            self._progress_at = time.monotonic()
        self._write(data, split_frames(data), secret)

    def _pump(self, deadline: float | None) -> None:
        try:
            data = self._read(deadline)
        except ReadTimeout:
            if deadline is not None and time.monotonic() >= deadline:
                raise self._not_answering(0) from None
            self._timeout()
            return
        self._quiet = 0
        frames = self._tap.feed(data)
        self.counters.frames_received += len(frames)
        if self.trace is not None:
            for frame in frames:
                self.trace("rx", self.layer, frame, describe_frame(frame))
        events = self.link.receive_data(data)
        rejected = sum(isinstance(event, FrameRejected) for event in events)
        if len(frames) > rejected:
            self._progress_at = time.monotonic()
        self._send(self.link.data_to_send())
        self._handle(events)
        if time.monotonic() - self._progress_at > self.settings.response_timeout:
            self._progress_at = time.monotonic()
            self._timeout()  # only noise since the last valid exchange: as if nothing came

    def _timeout(self) -> None:
        # IEC 62056-46: the primary station repeats its unacknowledged frames (or polls with RR)
        # when the secondary does not answer within the response timeout.
        repeat = self.link.timeout_expired()
        # The link dropped a half frame on the timeout; so does the trace tap (else the next
        # frame, e.g. a DM after a reset, would be read as its rest and never traced).
        self._tap = FrameTap()
        events = self.link.receive_data(b"")
        if repeat:
            self.counters.retransmissions += 1
            self._send(repeat)
        else:
            self._quiet += 1
            if self._quiet > self.settings.retries:
                raise self._not_answering(self.settings.retries)
        self._handle(events)

    def _handle(self, events: list[object]) -> None:
        for event in events:
            if isinstance(event, DataReceived):
                self._ready.append(event.lsdu)
            elif isinstance(event, FrameRejected):
                self.counters.frames_rejected += 1
            elif isinstance(event, RetriesExhausted):
                if self._phase != "disconnecting":
                    raise self._not_answering(event.retries)
            elif isinstance(event, (DmReceived, FrmrReceived, Disconnected)):
                self._link_down(event)
            elif not isinstance(event, Connected):
                raise LocalProtocolError(f"unexpected HDLC event {event!r}")

    def _link_down(self, event: object) -> None:
        if self._phase == "disconnecting":
            return
        what = {DmReceived: "DM", FrmrReceived: "FRMR (frame rejected)",
                Disconnected: "DISC"}[type(event)]
        if self._phase == "connecting":
            raise ConnectionFailed(
                f"the meter at HDLC address {self.settings.server_address} answered the SNRM "
                f"with {what}: it refuses the link (another client connected, or a client "
                f"address it does not accept?)")
        raise ConnectionLost(f"the meter ended the HDLC link with {what}")

    def _describe(self, frame: bytes) -> str:
        return describe_frame(frame)


def make_wire(transport: Transport, settings: ConnectionSettings, counters: Counters,
              trace: Trace | None, cancel: CancelToken | None) -> Wire:
    """The wire for ``settings.framing``."""
    kind = HdlcWire if settings.framing is Framing.HDLC else WrapperWire
    return kind(transport, settings, counters, trace, cancel)
