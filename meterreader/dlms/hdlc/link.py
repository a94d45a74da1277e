"""The HDLC link of IEC 62056-46, sans-IO, for the client and the server side.

Theory of operation
-------------------
``HdlcLink`` is h2-style (see STYLE.md §1): ``send(event) -> bytes`` returns the bytes of that
event, ``receive_data(bytes) -> list[event]`` returns every event the bytes completed (an empty
list means "need more"), and ``data_to_send()`` drains what the link emitted by itself while
receiving: UA/DM answers, RR inside a segmented transfer, the next window after an RR,
retransmissions. ``timeout_expired()`` is the only clock input and returns the bytes to repeat.

The link state (DISCONNECTED, CONNECTING, CONNECTED, DISCONNECTING, ERROR) and every allowed
transition live in ``state.py``; this module maps events and frames to its inputs and implements
the actions. Inside CONNECTED it keeps the data-transfer variables of HDLC:

* V(S)/V(R): next N(S) to send and next N(S) expected, modulo 8. An I-frame whose N(S) is not
  V(R) (a duplicate or a gap) is reported as ``FrameRejected`` and discarded; when it carries the
  poll bit the receiver answers with its unacknowledged I-frames or an RR carrying V(R), so the
  sender goes back to N(R) (go-back-N).
* the poll: whoever received the last frame with P/F = 1 may send. The client gets it with the
  UA; each station hands it over by setting P/F on the last frame of a window or of an LSDU.
* segmentation: an LSDU (LLC header included) longer than the negotiated maximum information
  field is cut into I-frames with the segmentation bit set on all but the last; at most
  ``window_size_transmit`` frames are outstanding. The receiver acknowledges a window with RR
  and reports one ``DataReceived`` per complete LSDU.
* retransmission (client only; a secondary speaks only when polled): on timeout the client
  resends its unacknowledged I-frames, or polls with RR when it has none, or resends the SNRM/DISC.
  ``max_retries`` timeouts in a row without progress end in ``RetriesExhausted``.

Frames not addressed to us (wrong destination, or a source other than our peer) are ignored
silently, as a real meter does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from meterreader.dlms.errors import DecodeError, LocalProtocolError, Reason, RemoteProtocolError
from meterreader.dlms.hdlc.config import HdlcConfig
from meterreader.dlms.hdlc.events import (
    ConnectRequest, Connected, DataReceived, DisconnectRequest, Disconnected, DmReceived,
    FrameRejected, FrmrReceived, ReceiveEvent, RetriesExhausted, SendData, SendEvent)
from meterreader.dlms.hdlc.frame import (
    MAX_FRAME_LENGTH, FrameReader, FrameType, HdlcAddress, HdlcFrame, Role, encode_frame)
from meterreader.dlms.hdlc.params import (
    HdlcParameters, encode_parameters, negotiate, parameters_from_info)
from meterreader.dlms.hdlc.state import LinkAction, LinkInput, LinkState, LinkStateMachine

#: IEC 62056-46 LLC header: destination LSAP E6, source LSAP E6 (command) or E7 (response),
#: quality 00.
LLC_COMMAND = b"\xe6\xe6\x00"
LLC_RESPONSE = b"\xe6\xe7\x00"
#: Bytes around the information field: format 2, addresses up to 4 + 4, control 1, HCS 2, FCS 2.
_MAX_OVERHEAD = 15
# ISO/IEC 13239 FRMR information field, third byte: the information field was too long (Y).
_FRMR_INFO_TOO_LONG = 0x04

_SEND_INPUTS: dict[type, LinkInput] = {
    ConnectRequest: LinkInput.SEND_CONNECT,
    SendData: LinkInput.SEND_DATA,
    DisconnectRequest: LinkInput.SEND_DISCONNECT,
}
_SERVER_SENDS = frozenset({SendData})

_COMMON_RECEIVED = {
    FrameType.DISC: LinkInput.RECV_DISC, FrameType.I: LinkInput.RECV_I,
    FrameType.RR: LinkInput.RECV_RR, FrameType.RNR: LinkInput.RECV_RNR,
    FrameType.UI: LinkInput.RECV_UI,
}
# Commands reach the server, responses the client.
_RECEIVED_INPUTS: dict[Role, dict[FrameType, LinkInput]] = {
    Role.CLIENT: {**_COMMON_RECEIVED, FrameType.UA: LinkInput.RECV_UA,
                  FrameType.DM: LinkInput.RECV_DM, FrameType.FRMR: LinkInput.RECV_FRMR},
    Role.SERVER: {**_COMMON_RECEIVED, FrameType.SNRM: LinkInput.RECV_SNRM},
}


class HdlcLink:
    """One end of an HDLC link (h2 style: ``receive_data`` returns a list of events).

    After any exception the link is in ERROR and refuses further calls.
    """

    def __init__(self, role: Role, config: HdlcConfig) -> None:
        if not isinstance(role, Role):
            raise LocalProtocolError(f"role must be a Role, not {role!r}")
        if role is Role.CLIENT and config.client_address is None:
            raise LocalProtocolError("a client link needs config.client_address")
        receivable = config.max_frame_length - _MAX_OVERHEAD
        if config.parameters.max_info_field_length_receive > receivable:
            raise LocalProtocolError("config.max_frame_length cannot hold the proposed "
                                     "max_info_field_length_receive")
        self._role = role
        self._config = config
        self._machine = LinkStateMachine()
        self._reader = FrameReader(max_frame_length=config.max_frame_length)
        client = role is Role.CLIENT
        self._llc_out, self._llc_in = (LLC_COMMAND, LLC_RESPONSE) if client else (LLC_RESPONSE,
                                                                                  LLC_COMMAND)
        local = config.client_address if client else config.server_address
        assert local is not None
        self._local: HdlcAddress = local
        self._peer: HdlcAddress | None = config.server_address if client else config.client_address
        self._outbound = bytearray()  # bytes for data_to_send()
        self._sink = bytearray()  # bytes written by the running action
        self._events: list[ReceiveEvent] = []  # returned by the next receive_data()
        self._parameters: HdlcParameters | None = None
        self._proposal = config.parameters
        self._received_parameters = HdlcParameters()
        self._last_command = b""
        self._retries = 0
        self._reset_transfer()

    def _reset_transfer(self) -> None:
        self._v_s = 0
        self._v_r = 0
        self._unacked: deque[tuple[int, bytes, bool]] = deque()  # (N(S), info, segmented)
        self._pending: deque[tuple[bytes, bool]] = deque()  # (info, segmented) not yet sent
        self._rx_segments: list[bytes] = []
        self._rx_size = 0  # bytes collected for the LSDU being reassembled
        self._rx_overflow = False  # that LSDU passed max_message_size: drop it to its end
        self._rx_in_window = 0
        self._our_turn = False
        self._peer_busy = False

    # -- public API ---------------------------------------------------------------------------

    @property
    def role(self) -> Role:
        return self._role

    @property
    def state(self) -> LinkState:
        return self._machine.state

    @property
    def parameters(self) -> HdlcParameters | None:
        """The negotiated parameters from our point of view, while connected."""
        return self._parameters

    @property
    def peer_address(self) -> HdlcAddress | None:
        """The peer's address (a server learns it from the SNRM when none is configured)."""
        return self._peer

    @property
    def can_send_data(self) -> bool:
        """True when ``SendData`` is allowed now: connected, holding the poll, no transfer
        running."""
        return (self.state is LinkState.CONNECTED and self._our_turn and not self._pending
                and not self._rx_segments)

    def send(self, event: SendEvent) -> bytes:
        """Process a user event and return exactly the bytes to write for it."""
        link_input = _SEND_INPUTS.get(type(event))
        if link_input is None or (self._role is Role.SERVER and type(event) not in _SERVER_SENDS):
            self._machine.state = LinkState.ERROR
            raise LocalProtocolError(f"a {self._role.value} link cannot send {event!r}")
        data = self._run(link_input, event)
        self._config.logger.trace("HDLC send %s", data.hex(" "))
        return data

    def receive_data(self, data: bytes) -> list[ReceiveEvent]:
        """Feed received bytes; return the events they completed (and any left by a timeout)."""
        if self.state is LinkState.ERROR:
            raise LocalProtocolError("the HDLC link is in ERROR")
        if data:
            self._config.logger.trace("HDLC recv %s", bytes(data).hex(" "))
        for item in self._reader.feed(data):
            if isinstance(item, HdlcFrame):
                self._handle_frame(item)
            else:
                self._config.logger.debug("HDLC frame refused: %s", item)
                self._events.append(FrameRejected(error=item))
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        """Drain the bytes the link produced by itself while receiving."""
        data, self._outbound = bytes(self._outbound), bytearray()
        if data:
            self._config.logger.trace("HDLC send %s", data.hex(" "))
        return data

    def timeout_expired(self) -> bytes:
        """The peer did not answer in time: return the bytes to repeat (possibly none).

        When ``max_retries`` is exhausted the link goes to DISCONNECTED and the next
        ``receive_data`` call (``receive_data(b"")`` will do) returns ``RetriesExhausted``.
        """
        if self._reader.buffered.strip(b"\x7e"):
            # IEC 62056-46: a frame left incomplete when the line falls silent is discarded;
            # kept, it would swallow the peer's next frames (e.g. the DM of a meter that
            # hung up mid-frame) as the rest of its announced length.
            self._reader = FrameReader(max_frame_length=self._config.max_frame_length)
        waiting = self.state in (LinkState.CONNECTING, LinkState.DISCONNECTING) or (
            self.state is LinkState.CONNECTED and self._role is Role.CLIENT
            and (not self._our_turn or self._peer_busy))
        exhausted = waiting and self._retries >= self._config.max_retries
        return self._run(LinkInput.RETRY_LIMIT if exhausted else LinkInput.TIMEOUT, None)

    # -- dispatch -----------------------------------------------------------------------------

    def _run(self, link_input: LinkInput, arg: object) -> bytes:
        self._sink = bytearray()
        old_state = self.state
        try:
            action = self._machine.process_input(link_input)
            if action is not None:
                _ACTIONS[action](self, arg)
        except Exception:
            self._machine.state = LinkState.ERROR
            raise
        if self.state is not old_state:
            self._config.logger.debug("HDLC %s: %s -> %s", link_input.name, old_state.name,
                                      self.state.name)
        return bytes(self._sink)

    def _handle_frame(self, frame: HdlcFrame) -> None:
        if not self._addressed_to_us(frame):
            self._config.logger.debug("HDLC frame for %s from %s ignored", frame.destination,
                                      frame.source)
            return
        link_input = _RECEIVED_INPUTS[self._role].get(frame.frame_type)
        if link_input is None:
            self._reject(frame, Reason.UNEXPECTED,
                         f"a {self._role.value} does not accept {frame.frame_type.name} frames")
            return
        if link_input in (LinkInput.RECV_SNRM, LinkInput.RECV_UA):
            try:
                self._received_parameters = parameters_from_info(frame.info)
            except DecodeError as exc:
                self._reject(frame, exc.reason, f"bad {frame.frame_type.name} parameters: {exc}")
                return
        self._outbound += self._run(link_input, frame)

    def _addressed_to_us(self, frame: HdlcFrame) -> bool:
        if self._role is Role.CLIENT:
            return (frame.destination.same_station(self._local)
                    and frame.source.same_station(self._config.server_address))
        if not frame.destination.same_station(self._config.server_address):
            return False
        if self._config.client_address is not None:
            return frame.source.same_station(self._config.client_address)
        # No configured client: any client may connect; while connected, only that one talks.
        return (frame.frame_type is FrameType.SNRM or self.state is LinkState.DISCONNECTED
                or self._peer is None or frame.source.same_station(self._peer))

    # -- helpers ------------------------------------------------------------------------------

    def _emit(self, frame_type: FrameType, *, destination: HdlcAddress | None = None,
              source: HdlcAddress | None = None, **fields: object) -> bytes:
        frame = HdlcFrame(destination=destination or self._peer, source=source or self._local,
                          frame_type=frame_type, **fields)  # type: ignore[arg-type]
        data = encode_frame(frame)
        self._sink += data
        return data

    def _reject(self, frame: HdlcFrame, reason: Reason, message: str) -> None:
        at = 3 + frame.destination.size + frame.source.size  # the control field
        error = RemoteProtocolError(message, data=encode_frame(frame), offset=at, reason=reason)
        self._config.logger.debug("HDLC frame rejected: %s", error)
        self._events.append(FrameRejected(error=error))

    def _acknowledge(self, n_r: int) -> bool:
        """Drop our I-frames acknowledged by N(R); False if N(R) acknowledges unsent frames."""
        oldest = self._unacked[0][0] if self._unacked else self._v_s
        count = (n_r - oldest) % 8
        if count > len(self._unacked):
            return False
        for _ in range(count):
            self._unacked.popleft()
        if count:
            self._retries = 0
        return True

    def _hand_over(self) -> None:
        """We sent a frame with P/F = 1: the peer holds the poll now."""
        self._our_turn = False
        self._rx_in_window = 0

    def _send_i(self, n_s: int, info: bytes, segmented: bool, poll_final: bool) -> None:
        self._emit(FrameType.I, n_s=n_s, n_r=self._v_r, segmented=segmented,
                   poll_final=poll_final, info=info)

    def _send_window(self) -> None:
        assert self._parameters is not None
        burst = min(self._parameters.window_size_transmit - len(self._unacked), len(self._pending))
        if burst <= 0:
            raise LocalProtocolError("HDLC window is full of unacknowledged frames")
        for index in range(burst):
            info, segmented = self._pending.popleft()
            self._unacked.append((self._v_s, info, segmented))
            self._send_i(self._v_s, info, segmented, poll_final=index == burst - 1)
            self._v_s = (self._v_s + 1) % 8
        self._hand_over()

    def _retransmit(self) -> None:
        """Go back N: resend every unacknowledged I-frame with the current N(R)."""
        last = len(self._unacked) - 1
        for index, (n_s, info, segmented) in enumerate(self._unacked):
            self._send_i(n_s, info, segmented, poll_final=index == last)
        self._hand_over()

    def _send_rr(self) -> None:
        self._emit(FrameType.RR, n_r=self._v_r, poll_final=True)
        self._hand_over()

    def _continue_or_rr(self) -> None:
        """We hold the poll after a frame we could not accept or an RR: resume or answer RR."""
        if self._unacked:
            self._retransmit()
        elif self._pending and not self._peer_busy:
            self._send_window()
        else:
            self._send_rr()

    def _deliver(self, lsdu: bytes, *, unnumbered: bool = False) -> None:
        llc_ok = True
        if self._config.llc:
            # IEC 62056-46: the LLC header is E6 E6 00 on commands, E6 E7 00 on responses.
            llc_ok = lsdu[:3] == self._llc_in
            if lsdu[:2] in (LLC_COMMAND[:2], LLC_RESPONSE[:2]):
                lsdu = lsdu[3:]
            if not llc_ok:
                self._config.logger.debug("HDLC LSDU without the expected LLC header")
        self._events.append(DataReceived(lsdu=lsdu, llc_ok=llc_ok, unnumbered=unnumbered))

    def _info_too_long(self, frame: HdlcFrame) -> bool:
        limit = (self._parameters or HdlcParameters()).max_info_field_length_receive
        if len(frame.info) <= limit:
            return False
        self._reject(frame, Reason.TOO_LONG,
                     f"information field of {len(frame.info)} bytes exceeds {limit}")
        return True

    # -- actions (run after the state machine moved) -------------------------------------------

    def _do_send_snrm(self, event: ConnectRequest) -> None:
        proposal = event.parameters or self._config.parameters
        self._proposal = proposal
        self._parameters = None
        self._reset_transfer()
        self._retries = 0
        # IEC 62056-46: absent parameters take their defaults, so a default proposal needs no info.
        info = b"" if proposal == HdlcParameters() else encode_parameters(proposal)
        self._last_command = self._emit(FrameType.SNRM, poll_final=True, info=info)

    def _do_send_disc(self, _event: DisconnectRequest) -> None:
        self._retries = 0
        self._last_command = self._emit(FrameType.DISC, poll_final=True)

    def _do_send_data(self, event: SendData) -> None:
        if not self.can_send_data:
            raise LocalProtocolError("cannot send data now: the peer holds the poll or a "
                                     "segmented transfer is running")
        assert self._parameters is not None
        payload = (self._llc_out if self._config.llc else b"") + event.lsdu
        if not payload:
            raise LocalProtocolError("an empty LSDU cannot be sent without the LLC header")
        overhead = 7 + self._local.size + (self._peer.size if self._peer else 4)
        size = min(self._parameters.max_info_field_length_transmit, MAX_FRAME_LENGTH - overhead)
        chunks = [payload[at:at + size] for at in range(0, len(payload), size)]
        self._pending.extend((chunk, index < len(chunks) - 1) for index, chunk in enumerate(chunks))
        self._send_window()

    def _do_accept_snrm(self, frame: HdlcFrame) -> None:
        parameters = negotiate(self._config.parameters, self._received_parameters)
        self._reset_transfer()
        self._parameters = parameters
        self._peer, self._local = frame.source, frame.destination
        self._emit(FrameType.UA, poll_final=True, info=encode_parameters(parameters))
        self._events.append(Connected(parameters=parameters))

    def _do_accept_ua(self, _frame: HdlcFrame) -> None:
        parameters = negotiate(self._proposal, self._received_parameters)
        self._reset_transfer()
        self._parameters = parameters
        self._our_turn = True
        self._retries = 0
        self._events.append(Connected(parameters=parameters))

    def _do_accept_disc(self, _frame: HdlcFrame) -> None:
        if self._role is Role.SERVER:
            self._emit(FrameType.UA, poll_final=True)
        self._link_down(Disconnected())

    def _do_answer_dm(self, frame: HdlcFrame) -> None:
        if self._role is Role.CLIENT:
            self._reject(frame, Reason.UNEXPECTED, f"{frame.frame_type.name} while disconnected")
        elif frame.poll_final:
            # IEC 62056-46: a secondary in disconnected mode answers a poll with DM.
            self._emit(FrameType.DM, destination=frame.source, source=frame.destination,
                       poll_final=True)

    def _do_dm_refused(self, _frame: HdlcFrame) -> None:
        self._link_down(DmReceived())

    def _do_dm_lost(self, _frame: HdlcFrame) -> None:
        self._link_down(DmReceived(), Disconnected())

    def _do_disc_done(self, _frame: HdlcFrame) -> None:
        self._link_down(Disconnected())

    def _do_frmr(self, frame: HdlcFrame) -> None:
        self._link_down(FrmrReceived(info=frame.info))

    def _link_down(self, *events: ReceiveEvent) -> None:
        self._reset_transfer()
        self._parameters = None
        self._retries = 0
        self._events.extend(events)

    def _do_unexpected(self, frame: HdlcFrame) -> None:
        self._reject(frame, Reason.UNEXPECTED,
                     f"{frame.frame_type.name} frame unexpected in state {self.state.name}")

    def _do_receive_i(self, frame: HdlcFrame) -> None:
        assert self._parameters is not None
        if self._info_too_long(frame):
            if self._role is Role.SERVER:
                frmr = bytes((frame.control, (self._v_s << 1) | (self._v_r << 5),
                              _FRMR_INFO_TOO_LONG))
                self._emit(FrameType.FRMR, poll_final=True, info=frmr)
                self._hand_over()
            return
        if not self._acknowledge(frame.n_r):
            self._reject(frame, Reason.SEQUENCE_ERROR,
                         f"N(R)={frame.n_r} acknowledges frames never sent (V(S)={self._v_s})")
            return
        if frame.n_s != self._v_r:
            # IEC 62056-46: an out-of-sequence I-frame is discarded; the poll is answered with
            # N(R) = V(R) so that the sender retransmits from there.
            self._reject(frame, Reason.SEQUENCE_ERROR,
                         f"N(S)={frame.n_s} out of sequence, expected {self._v_r}")
            if frame.poll_final:
                self._our_turn = True
                self._continue_or_rr()
            return
        self._retries = 0
        self._v_r = (self._v_r + 1) % 8
        self._rx_in_window += 1
        self._rx_size += len(frame.info)
        if self._rx_size > self._config.max_message_size and not self._rx_overflow:
            # A peer that keeps sending segments must not grow our memory without bound: the
            # message is dropped (the link stays up, the upper layer times out or is told).
            self._rx_overflow = True
            self._rx_segments = []
            self._reject(frame, Reason.TOO_LONG,
                         f"segmented HDLC message exceeds {self._config.max_message_size} bytes")
        if not self._rx_overflow:
            self._rx_segments.append(frame.info)
        if not frame.segmented:
            lsdu = b"".join(self._rx_segments)
            overflow = self._rx_overflow
            self._rx_segments, self._rx_size, self._rx_overflow = [], 0, False
            if not overflow:
                self._deliver(lsdu)
        if frame.poll_final:
            self._our_turn = True
            if frame.segmented:
                self._send_rr()
        elif frame.segmented and self._rx_in_window >= self._parameters.window_size_receive:
            self._send_rr()  # the sender filled our window without setting the poll bit

    def _do_receive_rr(self, frame: HdlcFrame) -> None:
        if not self._acknowledge(frame.n_r):
            self._reject(frame, Reason.SEQUENCE_ERROR,
                         f"N(R)={frame.n_r} acknowledges frames never sent (V(S)={self._v_s})")
            return
        self._retries = 0
        self._peer_busy = False
        if not frame.poll_final:
            return
        self._our_turn = True
        if self._unacked or self._pending:
            self._continue_or_rr()
        elif self._role is Role.SERVER:
            self._send_rr()  # a polled secondary must answer, even with nothing to send

    def _do_receive_rnr(self, frame: HdlcFrame) -> None:
        if not self._acknowledge(frame.n_r):
            self._reject(frame, Reason.SEQUENCE_ERROR,
                         f"N(R)={frame.n_r} acknowledges frames never sent (V(S)={self._v_s})")
            return
        self._retries = 0
        self._peer_busy = True
        if frame.poll_final:
            self._our_turn = True
            if self._role is Role.SERVER:
                self._send_rr()

    def _do_receive_ui(self, frame: HdlcFrame) -> None:
        if not self._info_too_long(frame):
            self._deliver(frame.info, unnumbered=True)

    def _do_resend_command(self, _arg: None) -> None:
        self._retries += 1
        self._sink += self._last_command

    def _do_recover(self, _arg: None) -> None:
        if self._role is Role.SERVER or (self._our_turn and not self._peer_busy):
            return  # a secondary never retransmits on its own; an idle primary has nothing to do
        self._retries += 1
        if self._unacked and not self._peer_busy:
            self._retransmit()
        else:
            self._send_rr()

    def _do_give_up(self, _arg: None) -> None:
        retries = self._retries
        self._link_down(RetriesExhausted(retries=retries))



# Dict dispatch from the table's actions to the ``_do_<action>`` methods (all must exist).
_ACTIONS: dict[LinkAction, Callable[[HdlcLink, object], None]] = {
    action: getattr(HdlcLink, f"_do_{action.name.lower()}") for action in LinkAction}
