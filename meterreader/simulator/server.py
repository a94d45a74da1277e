"""The meter simulator's protocol glue, media-independent: bytes in, frames out, per client.

Theory of operation
-------------------
:class:`MeterServer` wraps one :class:`~meterreader.simulator.device.PhysicalDevice`. For every
client line (a TCP connection, a pty, a serial port) the media layer asks it for a
:class:`ClientSession` and then only calls ``session.receive_data(bytes) -> list[bytes]`` — the
frames to write, one HDLC frame or wrapper packet each, so that :mod:`.faults` can act per frame.

* Framing is chosen by the listener: IEC 62056-47 wrapper (destination wPort = logical device,
  source wPort = client SAP) or HDLC (IEC 62056-46; upper server address = logical device, lower =
  the physical address, 1-, 2- or 4-byte addresses, as :attr:`ServerOptions.address_sizes`
  allows; with 2 bytes the 7-bit lower address is the physical address' low 7 bits or 17,
  common in IEC meters). A frame or packet
  for a logical device or physical address that is not ours gets no answer, like a real meter.
* HDLC: one :class:`~meterreader.dlms.hdlc.HdlcLink` per server address in use, fed the frames
  the session's own reader found for it; one DlmsConnection per link, created when the link
  comes up (SNRM) and dropped when it goes down (DISC).
* Wrapper: one DlmsConnection per (logical device, client SAP).
* Each DlmsConnection gets a :class:`ServerAssociationPolicy` built from the logical device's
  Association LN objects when it is created (PC: no security, MR: LLS password, US: HLS
  mechanism 2 with the object's secret; optionally a ciphered client with HLS-GMAC and suite 0
  global ciphering) — a new connection after every release picks up a changed secret.
* Requests are dispatched to ``LogicalDevice.get/set/action`` with the association's
  :class:`AccessContext` under the server's lock (several clients share one meter); an
  :class:`AccessError` becomes the data-access-result / action-result.
* HDLC frames with a bad FCS or HCS are discarded silently; a sound frame with an undefined
  control field is answered with FRMR (W bit), see :mod:`.server_hdlc`.
* Defect switches (:attr:`ServerOptions.defects`, :mod:`.defects`) break the protocol rules on
  purpose: a few hooks here (policy, AARQ, GET answers, HDLC reader/link/UA) and in server_hdlc.
* Bad input never kills a session: undecodable frames are dropped (a real meter stays silent),
  an APDU the connection refuses is answered with an ExceptionResponse and the association is
  forgotten, a broken wrapper stream ends the session (``closed``).
* Optional IEC 62056-21 mode E opening (HDLC only, :mod:`.server_sign_on`): ``/?!`` CR LF is
  answered with the identification message, the option select ``ACK 2 Z 2`` CR LF switches to
  HDLC at the acknowledged baud rate (:attr:`ClientSession.line_baud`); a client that starts
  with HDLC directly is served too, unless :attr:`ServerOptions.mode_e_only` (then HDLC before
  the sign-on is ignored). Back to the sign-on: after DISC, on a new request line
  between HDLC frames (a client that left without DISC), and after the inactivity time-out.
* Limits (:mod:`.server_options`): max PDU size (also bounds HDLC segmented transfers), max
  concurrent TCP clients and the TCP idle time-out (both enforced by :mod:`.media`), wrapper
  associations per connection, and optionally replay checks across connections.
* Inactivity (HDLC): the media call ``session.idle(seconds)`` while the line is silent; after
  :attr:`ServerOptions.inactivity_timeout` the links are dropped (IEC 62056-46 inactivity
  time-out).

Verbose logging (``logger`` at DEBUG, see :mod:`.server_log`): every frame in and out as hex and
decoded through :func:`meterreader.translator.translate`, with every secret masked (passwords in
AARQs, new secrets in SET/ACTION, and anything equal to a secret the meter knows). The answers
to request events come from :mod:`.server_services`.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any, Callable

from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.connection import DlmsConnection, Role as DlmsRole
from meterreader.dlms.connection_state import State
from meterreader.dlms.connection_settings import (HLS_MECHANISMS, ClientAssociationRule,
                                                  ServerAssociationPolicy)
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.errors import Reason
from meterreader.dlms.hdlc import (FrameReader, FrameType, HdlcAddress, HdlcConfig, HdlcFrame,
                                   encode_frame)
from meterreader.dlms.initiate import Conformance
from meterreader.dlms.security import ReplayGuard, SecurityKeys
from meterreader.dlms.wrapper import WrapperFrame, WrapperReader
from meterreader.india.associations import association_by_client_sap

from .defects import send_unsplit, with_password
from .device import LogicalDevice, PhysicalDevice
from .objects import AccessContext
from .server_hdlc import (ChecksumBlindReader, HdlcChannel, ServerLink, parse_header,
                          split_hdlc_frames)
from .server_log import WireLog, describe_error
from .server_options import (DEFAULT_IDENTIFICATION, DEFAULT_IDLE_TIMEOUT,
                             DEFAULT_INACTIVITY_TIMEOUT, DEFAULT_MAX_CLIENTS, CipheredClient,
                             Framing, ServerOptions)
from .server_services import answer
from .server_sign_on import SignOn

__all__ = ["CipheredClient", "ClientSession", "DEFAULT_IDENTIFICATION", "DEFAULT_IDLE_TIMEOUT",
           "DEFAULT_INACTIVITY_TIMEOUT", "DEFAULT_MAX_CLIENTS", "Framing", "MeterServer",
           "ServerOptions", "TWO_BYTE_PHYSICAL_ADDRESS", "split_hdlc_frames"]

#: Lower HDLC address many IEC meters answer with 2-byte server addresses (IS15959.md), accepted
#: besides the low 7 bits of the physical address.
TWO_BYTE_PHYSICAL_ADDRESS = 17
#: Associations one wrapper connection may hold at once (client SAP × logical device).
MAX_WRAPPER_ASSOCIATIONS = 16
#: What an HDLC segmented transfer may carry beyond max_pdu_size: the LLC header (3 bytes) and
#: the ciphering overhead (tag, length, system title, SC, IC, GMAC tag).
HDLC_REASSEMBLY_SLACK = 64
_NOT_ALLOWED = x.StateError.SERVICE_NOT_ALLOWED


class MeterServer:
    """One simulated meter on the network side; thread-safe: sessions on several threads share
    the device through :attr:`lock`."""

    def __init__(self, device: PhysicalDevice, options: ServerOptions | None = None, *,
                 logger: logging.Logger | None = None,
                 rng: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.device = device
        self.options = options or ServerOptions()
        self.logger = logger or logging.getLogger("meterreader.simulator")
        self.rng = rng
        self.lock = threading.RLock()
        self._invocation_counter = 0  # the server's, carried from one association to the next
        self._secrets: set[bytes] = set()  # every secret the meter has held (for the log)
        self._secrets_lock = threading.Lock()
        self._clients = 0  # TCP connections being served (ServerOptions.max_clients)
        #: The ciphered client's invocation counters per system title, across connections
        #: (ServerOptions.replay_guard), else None.
        self.replay_guards: dict[bytes, ReplayGuard] | None = (
            {} if self.options.replay_guard else None)

    def admit(self) -> bool:
        """Take one of the :attr:`ServerOptions.max_clients` connection slots; False when all
        are taken (the caller closes the connection). Give it back with :meth:`leave`."""
        with self._secrets_lock:
            if self._clients >= self.options.max_clients:
                return False
            self._clients += 1
            return True

    def leave(self) -> None:
        with self._secrets_lock:
            self._clients = max(0, self._clients - 1)

    @property
    def client_count(self) -> int:
        """TCP connections being served now."""
        return self._clients

    def known_secrets(self) -> tuple[bytes, ...]:
        """The secrets the verbose log masks wherever they appear: every LLS password and HLS
        secret of the Association LN objects (now or earlier) and the ciphering keys."""
        found = set()
        for ld in self.device.logical_devices.values():
            for name in ld.association_names:
                obj = ld.association(name)
                if obj is not None and obj.secret:
                    found.add(obj.secret.reveal())
        ciphered = self.options.ciphered
        if ciphered is not None:
            found.update((ciphered.encryption_key.reveal(),
                          ciphered.authentication_key.reveal()))
        with self._secrets_lock:
            self._secrets |= found
            return tuple(self._secrets)

    def session(self, framing: Framing, peer: str = "") -> ClientSession:
        return ClientSession(self, framing, peer)

    # -- addressing --

    def hdlc_target(self, address: HdlcAddress) -> LogicalDevice | None:
        """The logical device an HDLC server address names, None when it is not ours."""
        physical = self.options.physical_address
        if address.size not in self.options.address_sizes:
            return None  # e.g. a 1-byte-addressing-only meter: other sizes get no answer
        if address.size == 2:  # 7-bit lower part: the physical address' low 7 bits, or 17
            ok = address.lower in (physical & 0x7F, TWO_BYTE_PHYSICAL_ADDRESS)
        else:  # size 1 carries the upper address only
            ok = address.size == 1 or address.lower == physical
        return self.device.logical_device(address.upper) if ok else None

    def association_name(self, client_sap: int) -> str | None:
        ciphered = self.options.ciphered
        if ciphered is not None and client_sap == ciphered.client_sap:
            return ciphered.association_name
        found = association_by_client_sap(client_sap)
        if found is None and "accept-unknown-client" in self.options.defects:
            return "PC"  # defect: a stranger gets the public client's rights
        return found.name if found is not None else None

    # -- associations --

    def policy(self, ld: LogicalDevice, client_sap: int | None = None
               ) -> ServerAssociationPolicy:
        """What ``ld`` accepts now, from its Association LN objects (their current secrets);
        ``client_sap`` matters only to the accept-unknown-client defect."""
        clients: dict[int, ClientAssociationRule] = {}
        with self.lock:
            for name in ld.association_names:
                obj = ld.association(name)
                if obj is None or obj.client_sap <= 0:
                    continue
                mechanism = MechanismName(obj.mechanism)
                rule: dict[str, Any] = dict(mechanism=mechanism,
                                            conformance=Conformance(obj.conformance))
                if mechanism is MechanismName.LOW:
                    rule["password"] = obj.secret
                elif mechanism in HLS_MECHANISMS:
                    rule["hls_secret"] = obj.secret
                clients[obj.client_sap] = ClientAssociationRule(**rule)
            counter = self._invocation_counter
        extra: dict[str, Any] = {}
        ciphered = self.options.ciphered
        if ciphered is not None:
            clients[ciphered.client_sap] = ClientAssociationRule(
                mechanism=MechanismName.HIGH_GMAC, ciphered=True)
            extra = dict(server_system_title=ciphered.system_title,
                         replay_guards=self.replay_guards, keys=SecurityKeys(
                encryption_key=ciphered.encryption_key,
                authentication_key=ciphered.authentication_key))
        if (client_sap is not None and client_sap not in clients
                and "accept-unknown-client" in self.options.defects):
            clients[client_sap] = ClientAssociationRule(mechanism=MechanismName.NONE)
        return ServerAssociationPolicy(clients=clients,
                                       server_max_receive_pdu_size=self.options.max_pdu_size,
                                       invocation_counter_start=counter, **extra)

    def connection(self, ld: LogicalDevice, client_sap: int) -> DlmsConnection:
        return DlmsConnection(DlmsRole.SERVER, policy=self.policy(ld, client_sap),
                              client_sap=client_sap, rng=self.rng)

    def retire(self, conn: DlmsConnection) -> None:
        """Remember the invocation counter a finished connection reached."""
        protection = getattr(getattr(conn, "_side", None), "protection", None)
        if protection is not None:
            with self.lock:
                self._invocation_counter = max(self._invocation_counter, protection.counter.value)

    # -- services --

    def answer(self, ld: LogicalDevice, ctx: AccessContext, event: ev.Event) -> ev.Event | None:
        """The response event for a request event (None for events that need none)."""
        return answer(ld, ctx, event, lock=self.lock, logger=self.logger)


class _Association:
    """One DlmsConnection between a client SAP and a logical device, and its access context."""

    def __init__(self, server: MeterServer, ld: LogicalDevice, client_sap: int, log: WireLog
                 ) -> None:
        self.server, self.ld, self.client_sap, self.log = server, ld, client_sap, log
        self.conn = server.connection(ld, client_sap)
        self.ctx: AccessContext | None = None

    def _renew(self) -> None:
        self.server.retire(self.conn)
        self.conn = self.server.connection(self.ld, self.client_sap)
        self.ctx = None

    def close(self) -> None:
        self.server.retire(self.conn)

    def receive(self, apdu: bytes) -> list[bytes]:
        """APDUs answering one received APDU."""
        out: list[bytes] = []
        if "accept-wrong-password" in self.server.options.defects:
            apdu = self._any_password(apdu)
        try:
            events = self.conn.receive_data(apdu)
            out += self.conn.data_to_send()
            for event in events:
                out += self._handle(event)
        except Exception as exc:  # noqa: BLE001 - whatever a client sends, the meter goes on
            if isinstance(exc, DlmsError):
                self.log.note("client %d: APDU refused, association dropped: %s",
                              self.client_sap, describe_error(exc))
            else:
                self.server.logger.exception("client %d: internal error, association dropped",
                                             self.client_sap)
            out += self.conn.data_to_send() or [x.ExceptionResponse(
                state_error=_NOT_ALLOWED, service_error=x.ServiceError.OTHER_REASON).encode()]
            self._renew()
            return out
        if self.conn.state is State.IDLE and self.ctx is None:
            self._renew()  # released or rejected: the next AARQ sees the current secrets
        return out

    def _any_password(self, apdu: bytes) -> bytes:
        """accept-wrong-password: an LLS AARQ gets the right password put in."""
        name = self.server.association_name(self.client_sap)
        obj = self.ld.association(name) if name else None
        if obj is None or obj.secret is None or obj.mechanism != MechanismName.LOW:
            return apdu
        return with_password(apdu, obj.secret.reveal())

    def _handle(self, event: ev.Event) -> list[bytes]:
        handler = _EVENTS.get(type(event))
        if handler is not None:
            handler(self, event)
            return []
        if self.ctx is None:
            return []
        answer = self.server.answer(self.ld, self.ctx, event)
        if answer is None:
            return []
        if isinstance(answer, ev.GetResponse) and "no-block-transfer" in \
                self.server.options.defects:
            return [send_unsplit(self.conn, answer), *self.conn.data_to_send()]
        return [self.conn.send(answer), *self.conn.data_to_send()]

    def _associated(self, event: ev.ClientAssociated) -> None:
        self.ctx = self._context(event)
        self.log.note("client %d associated as %s (%s)", self.client_sap,
                      self.ctx.association_name, event.mechanism.name)

    def _ended(self, event: ev.ClientRejected | ev.ClientReleased) -> None:
        self.log.note("client %d: %s", self.client_sap, type(event).__name__)
        self.ctx = None

    def _refused(self, event: ev.RequestRefused) -> None:
        self.log.note("client %d: request refused: %s", self.client_sap, event.text)

    def _context(self, event: ev.ClientAssociated) -> AccessContext:
        name = self.server.association_name(self.client_sap) or ""
        # "authenticated": HLS passed, or every APDU is authenticated by the ciphering.
        authenticated = event.mechanism in HLS_MECHANISMS or event.ciphering is not None
        return AccessContext(association_name=name, client_sap=self.client_sap,
                             authenticated=authenticated)


_EVENTS: dict[type, Callable[[_Association, Any], None]] = {
    ev.ClientAssociated: _Association._associated, ev.ClientRejected: _Association._ended,
    ev.ClientReleased: _Association._ended, ev.RequestRefused: _Association._refused,
}


class ClientSession:
    """One client line (see the module docstring): ``receive_data(bytes) -> list[frame]``.

    ``closed`` — the stream cannot continue (broken wrapper header): close the connection.
    ``line_baud`` — mode E: the line speed the session expects now (300 during the sign-on, then
    the acknowledged rate), for media that can change it; None without mode E.
    """

    def __init__(self, server: MeterServer, framing: Framing, peer: str = "") -> None:
        self.server = server
        self.framing = framing
        self.peer = peer
        self.log = WireLog(server.logger, peer, server.known_secrets)
        self.closed = False
        self.sign_on = SignOn(server.options.mode_e and framing is Framing.HDLC,
                              server.options.identification, self.log,
                              hdlc_direct=not server.options.mode_e_only)
        self.forget()

    def forget(self) -> None:
        """Drop every link and association (a simulated reboot, or the end of the session)."""
        for item in getattr(self, "_links", {}).values():
            item.close()
        for association in getattr(self, "_associations", {}).values():
            association.close()
        defects = self.server.options.defects
        blind = {"ignore-bad-fcs", "ignore-bad-hcs"} & defects
        self._reader: FrameReader | ChecksumBlindReader = ChecksumBlindReader(
            fcs_blind="ignore-bad-fcs" in blind, hcs_blind="ignore-bad-hcs" in blind
        ) if blind else FrameReader()
        self._links: dict[HdlcAddress, HdlcChannel] = {}
        self._segments: dict[HdlcAddress, int] = {}  # bytes of the segmented transfer so far
        self._wrapper = WrapperReader()
        self._associations: dict[tuple[int, int], _Association] = {}

    def connection_lost(self) -> None:
        self.forget()

    @property
    def line_baud(self) -> int | None:
        return self.sign_on.line_baud

    def receive_data(self, data: bytes) -> list[bytes]:
        if self.closed or not data:
            return []
        out: list[bytes] = []
        sign_on = self.sign_on
        if sign_on.enabled and not sign_on.active:
            data, restart = sign_on.watch(data, self._reader.buffered in (b"", b"\x7e"))
            if restart:  # a client that left without DISC signs on again
                self.forget()
                sign_on.restart()
        if sign_on.active:
            data = sign_on.feed(data, out)
        if data:
            out += (self._receive_hdlc(data) if self.framing is Framing.HDLC
                    else self._receive_wrapper(data))
        for unit in out:
            self.log.frame("tx", unit)
        return out

    def idle(self, seconds: float) -> None:
        """The line has been silent for ``seconds`` (called by the media while nothing arrives).
        After the inactivity time-out an HDLC line drops its links and, with mode E, returns to
        the sign-on at 300 Bd."""
        timeout = self.server.options.inactivity_timeout
        if self.framing is not Framing.HDLC or timeout is None or seconds < timeout:
            return
        if not self._links and not self._reader.buffered and self.sign_on.at_rest:
            return
        self.log.note("no traffic for %.0f s: HDLC links dropped%s", seconds,
                      ", sign-on expected" if self.sign_on.enabled else "")
        self.forget()
        self.sign_on.restart()

    # -- HDLC --

    def _receive_hdlc(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for item in self._reader.feed(data):
            if not isinstance(item, HdlcFrame):
                if item.reason is Reason.BAD_CONTROL:  # checked after the FCS: a sound frame
                    out += self._undefined_control(item.data)
                    continue
                self.log.frame("rx", item.data, f"dropped: {describe_error(item)}")
                continue
            self.log.frame("rx", encode_frame(item))
            ld = self.server.hdlc_target(item.destination)
            if ld is None:
                self.log.note("HDLC frame for %s ignored: not our address", item.destination)
                continue
            if self._too_long(item):
                continue
            answer, down = self._channel(ld, item.destination).receive(item)
            out += split_hdlc_frames(answer)
            if down:
                self.sign_on.restart()
        return out

    def _too_long(self, frame: HdlcFrame) -> bool:
        """Bound the segmented transfer a client may make us collect: past twice max PDU size
        (retransmissions count too) plus :data:`HDLC_REASSEMBLY_SLACK` the link is dropped,
        so its next frame gets DM."""
        address = frame.destination
        if frame.frame_type is not FrameType.I:
            if frame.frame_type in (FrameType.SNRM, FrameType.DISC):
                self._segments.pop(address, None)
            return False
        size = self._segments.pop(address, 0) + len(frame.info)
        if not frame.segmented:
            return False
        if size <= 2 * self.server.options.max_pdu_size + HDLC_REASSEMBLY_SLACK:
            self._segments[address] = size
            return False
        self.log.note("segmented transfer of more than %d bytes refused: HDLC link dropped",
                      size - len(frame.info))
        channel = self._links.pop(address, None)
        if channel is not None:
            channel.close()
        return True

    def _undefined_control(self, frame: bytes) -> list[bytes]:
        """A frame with an undefined control field: FRMR from its link (see server_hdlc)."""
        self.log.frame("rx", frame, "undefined control field")
        header = parse_header(frame)
        if header is None:
            return []
        destination, source, control_at = header
        ld = self.server.hdlc_target(destination)
        if ld is None:
            return []
        return split_hdlc_frames(self._channel(ld, destination).link.undefined_control(
            frame[control_at], source, destination))

    def _channel(self, ld: LogicalDevice, address: HdlcAddress) -> HdlcChannel:
        channel = self._links.get(address)
        if channel is None:
            options = self.server.options
            channel = self._links[address] = HdlcChannel(
                ServerLink(HdlcConfig(server_address=address,
                                      parameters=options.hdlc_parameters), options.defects),
                lambda client_sap: _Association(self.server, ld, client_sap, self.log),
                self.log)
        return channel

    # -- wrapper --

    def _receive_wrapper(self, data: bytes) -> list[bytes]:
        try:
            packets = self._wrapper.feed(data)
        except DlmsError as exc:
            if self.server.options.wrapper_only:  # silence; the next packet starts afresh
                self.log.note("not a wrapper packet, discarded: %s", describe_error(exc))
                self._wrapper = WrapperReader()
                return []
            self.log.note("wrapper stream broken, closing: %s", describe_error(exc))
            self.closed = True
            return []
        out: list[bytes] = []
        for packet in packets:
            self.log.frame("rx", packet.encode())
            ld = self.server.device.logical_device(packet.destination_wport)
            if ld is None:
                self.log.note("wrapper packet for wPort %d ignored", packet.destination_wport)
                continue
            key = (packet.destination_wport, packet.source_wport)
            association = self._associations.get(key)
            if association is None:
                if len(self._associations) >= MAX_WRAPPER_ASSOCIATIONS:  # oldest goes
                    self._associations.pop(next(iter(self._associations))).close()
                association = self._associations[key] = _Association(
                    self.server, ld, packet.source_wport, self.log)
            out += [WrapperFrame(source_wport=packet.destination_wport,
                                 destination_wport=packet.source_wport, data=apdu).encode()
                    for apdu in association.receive(packet.data)]
        return out

