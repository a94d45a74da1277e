"""HDLC link state machine (IEC 62056-46): a client and a server link paired in memory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterreader.dlms.errors import LocalProtocolError, Reason
from meterreader.dlms.hdlc import (
    TRANSITIONS, ConnectRequest, Connected, DataReceived, DisconnectRequest, Disconnected,
    DmReceived, FrameRejected, FrameType, FrmrReceived, HdlcAddress, HdlcConfig, HdlcFrame,
    HdlcLink, HdlcParameters, LinkInput, LinkState, LinkStateMachine, RetriesExhausted, Role,
    SendData, decode_frame, encode_frame, parameters_from_info)

C16 = HdlcAddress.client(16)
S2 = HdlcAddress.server(1, 17)
PEER = {Role.CLIENT: Role.SERVER, Role.SERVER: Role.CLIENT}


def params(tx: int = 128, rx: int = 128, wtx: int = 1, wrx: int = 1) -> HdlcParameters:
    return HdlcParameters(max_info_field_length_transmit=tx, max_info_field_length_receive=rx,
                          window_size_transmit=wtx, window_size_receive=wrx)


def split_frames(data: bytes) -> list[tuple[HdlcFrame, bytes]]:
    """The frames in a buffer returned by send()/data_to_send() (always whole frames)."""
    frames, offset = [], 0
    while offset < len(data):
        frame, end = decode_frame(data, offset)
        frames.append((frame, data[offset:end]))
        offset = end
    return frames


class HdlcPair:
    """A client and a server HdlcLink joined by an in-memory wire (cf. h11 ``ConnectionPair``).

    Every frame on the wire is logged as ``(sender, frame)``. ``drop(sender, index, frame)`` may
    discard the frame with that running index; ``byte_by_byte`` feeds the receiver one byte per
    ``receive_data`` call.
    """

    def __init__(self, *, client: HdlcParameters | None = None,
                 server: HdlcParameters | None = None,
                 byte_by_byte: bool = False, llc: bool = True,
                 server_client_address: HdlcAddress | None = C16, max_retries: int = 3,
                 chunker: Callable[[bytes], list[bytes]] | None = None) -> None:
        self.links = {
            Role.CLIENT: HdlcLink(Role.CLIENT, HdlcConfig(
                client_address=C16, server_address=S2, parameters=client, llc=llc,
                max_retries=max_retries)),
            Role.SERVER: HdlcLink(Role.SERVER, HdlcConfig(
                client_address=server_client_address, server_address=S2, parameters=server,
                llc=llc)),
        }
        self.events: dict[Role, list] = {Role.CLIENT: [], Role.SERVER: []}
        self.wire: list[tuple[Role, HdlcFrame]] = []
        self.drop: Callable[[Role, int, HdlcFrame], bool] = lambda sender, index, frame: False
        self.byte_by_byte = byte_by_byte
        # With a chunker, a whole burst (several frames) is delivered as the chunker cuts it,
        # so one receive_data call can hold the end of one frame and the start of the next.
        self.chunker = chunker

    @property
    def client(self) -> HdlcLink:
        return self.links[Role.CLIENT]

    @property
    def server(self) -> HdlcLink:
        return self.links[Role.SERVER]

    def pump(self, sender: Role, data: bytes) -> None:
        """Deliver ``data`` and every answer the links produce on their own until quiet."""
        queue = [(sender, data)]
        while queue:
            sender, data = queue.pop(0)
            receiver = PEER[sender]
            if self.chunker is not None:
                self.wire += [(sender, frame) for frame, _ in split_frames(data)]
                for chunk in self.chunker(data):
                    self.events[receiver] += self.links[receiver].receive_data(chunk)
                answer = self.links[receiver].data_to_send()
                if answer:
                    queue.append((receiver, answer))
                continue
            for frame, wire in split_frames(data):
                index = len(self.wire)
                self.wire.append((sender, frame))
                if self.drop(sender, index, frame):
                    continue
                chunks = [wire[i:i + 1] for i in range(len(wire))] if self.byte_by_byte else [wire]
                for chunk in chunks:
                    self.events[receiver] += self.links[receiver].receive_data(chunk)
            answer = self.links[receiver].data_to_send()
            if answer:
                queue.append((receiver, answer))

    def send(self, role: Role, event: object) -> None:
        self.pump(role, self.links[role].send(event))

    def timeout(self) -> None:
        data = self.client.timeout_expired()
        self.events[Role.CLIENT] += self.client.receive_data(b"")
        if data:
            self.pump(Role.CLIENT, data)

    def connect(self) -> None:
        self.send(Role.CLIENT, ConnectRequest())
        assert self.client.state is self.server.state is LinkState.CONNECTED

    def received(self, role: Role, kind: type = DataReceived) -> list:
        return [event for event in self.events[role] if isinstance(event, kind)]

    def frames(self, sender: Role, kind: FrameType) -> list[HdlcFrame]:
        return [frame for who, frame in self.wire if who is sender and frame.frame_type is kind]


def exchange(pair: HdlcPair, request: bytes, response: bytes, max_timeouts: int = 20) -> None:
    """Client sends ``request``, the server answers ``response`` as soon as it has the request;
    timeouts are expired on the client until the response has arrived."""
    requests, responses = len(pair.received(Role.SERVER)), len(pair.received(Role.CLIENT))
    pair.send(Role.CLIENT, SendData(lsdu=request))
    answered = False
    for attempt in range(max_timeouts + 1):
        if not answered and len(pair.received(Role.SERVER)) > requests \
                and pair.server.can_send_data:
            answered = True
            pair.send(Role.SERVER, SendData(lsdu=response))
        if len(pair.received(Role.CLIENT)) > responses:
            return
        if attempt < max_timeouts:
            pair.timeout()
    raise AssertionError("exchange did not complete")


# -- connection set-up and negotiation -------------------------------------------------------------

def test_snrm_with_default_parameters_is_the_published_vector(vectors):
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=C16, server_address=S2))
    snrm, ua = (bytes.fromhex(v["hex"]) for v in vectors["hdlc"])
    assert client.send(ConnectRequest()) == snrm
    assert client.state is LinkState.CONNECTING
    # The meter offers 154/154; a client that proposed the defaults keeps 128 (its own limit).
    assert client.receive_data(ua) == [Connected(parameters=params())]
    assert client.state is LinkState.CONNECTED
    assert client.data_to_send() == b""


def test_negotiation_server_grants_less():
    pair = HdlcPair(client=params(512, 1024, 7, 7), server=params(256, 300, 3, 2))
    pair.connect()
    snrm = pair.frames(Role.CLIENT, FrameType.SNRM)[0]
    ua = pair.frames(Role.SERVER, FrameType.UA)[0]
    assert parameters_from_info(snrm.info) == params(512, 1024, 7, 7)
    server_view = params(256, 300, 3, 2)  # min(256, 1024), min(300, 512), min(3, 7), min(2, 7)
    assert parameters_from_info(ua.info) == server_view
    assert pair.events[Role.SERVER] == [Connected(parameters=server_view)]
    assert pair.events[Role.CLIENT] == [Connected(parameters=server_view.mirrored())]
    assert pair.client.parameters == server_view.mirrored()
    assert pair.server.parameters == server_view
    # The negotiated values are used: client segments of 300 bytes, windows of 2 frames.
    exchange(pair, bytes(2000), bytes(2000))
    client_i = pair.frames(Role.CLIENT, FrameType.I)
    server_i = pair.frames(Role.SERVER, FrameType.I)
    assert max(len(f.info) for f in client_i) == 300
    assert max(len(f.info) for f in server_i) == 256
    assert [f.poll_final for f in client_i[:3]] == [False, True, False]
    assert [f.poll_final for f in server_i[:4]] == [False, False, True, False]


# -- segmented transfer ----------------------------------------------------------------------------

@pytest.mark.parametrize("window", [1, 7])
def test_10k_lsdu_each_way_byte_by_byte(window):
    pair = HdlcPair(client=params(wtx=window, wrx=window), server=params(wtx=window, wrx=window),
                    byte_by_byte=True)
    pair.connect()
    request = bytes(range(256)) * 40
    response = bytes(reversed(request))
    exchange(pair, request, response, max_timeouts=0)
    assert pair.received(Role.SERVER) == [DataReceived(lsdu=request)]
    assert pair.received(Role.CLIENT) == [DataReceived(lsdu=response)]
    assert not pair.received(Role.SERVER, FrameRejected) and not pair.received(Role.CLIENT,
                                                                              FrameRejected)
    segments = -(-(len(request) + 3) // 128)  # LLC header included
    windows = -(-segments // window)
    for sender in Role:
        i_frames = pair.frames(sender, FrameType.I)
        assert len(i_frames) == segments
        assert [f.segmented for f in i_frames] == [True] * (segments - 1) + [False]
        assert [f.n_s for f in i_frames] == [n % 8 for n in range(segments)]
        polls = [n for n, f in enumerate(i_frames) if f.poll_final]
        assert polls == sorted({min(n + window - 1, segments - 1)
                                for n in range(0, segments, window)})
        # The receiver acknowledges each full window that is not the end of the LSDU.
        assert len(pair.frames(PEER[sender], FrameType.RR)) == windows - 1


def test_many_exchanges_wrap_sequence_numbers():
    pair = HdlcPair(client=params(wtx=3, wrx=3), server=params(wtx=3, wrx=3))
    pair.connect()
    for n in range(1, 25):
        exchange(pair, bytes([n]) * (n * 20), bytes([n]) * (n * 15), max_timeouts=0)
        assert pair.events[Role.SERVER][-1] == DataReceived(lsdu=bytes([n]) * (n * 20))
        assert pair.events[Role.CLIENT][-1] == DataReceived(lsdu=bytes([n]) * (n * 15))
        pair.events = {Role.CLIENT: [], Role.SERVER: []}
    assert not any(isinstance(e, FrameRejected) for events in pair.events.values() for e in events)
    assert pair.client.can_send_data


def test_llc_header_added_checked_and_stripped():
    pair = HdlcPair()
    pair.connect()
    exchange(pair, b"\xc0\x01", b"\xc4\x01")
    assert pair.frames(Role.CLIENT, FrameType.I)[0].info == b"\xe6\xe6\x00\xc0\x01"
    assert pair.frames(Role.SERVER, FrameType.I)[0].info == b"\xe6\xe7\x00\xc4\x01"
    assert pair.received(Role.CLIENT) == [DataReceived(lsdu=b"\xc4\x01")]


def test_llc_disabled_and_missing():
    pair = HdlcPair(llc=False)
    pair.connect()
    exchange(pair, b"\xc0\x01", b"\xc4\x01")
    assert pair.frames(Role.CLIENT, FrameType.I)[0].info == b"\xc0\x01"
    assert pair.received(Role.SERVER) == [DataReceived(lsdu=b"\xc0\x01")]
    # An LLC-enabled client facing a meter that omits the header gets the LSDU whole, flagged.
    pair = HdlcPair()
    pair.links[Role.SERVER] = HdlcLink(Role.SERVER, HdlcConfig(client_address=C16,
                                                               server_address=S2, llc=False))
    pair.connect()
    exchange(pair, b"\xc0\x01", b"\x63\x00")
    assert pair.received(Role.CLIENT) == [DataReceived(lsdu=b"\x63\x00", llc_ok=False)]
    assert pair.received(Role.SERVER) == [DataReceived(lsdu=b"\xe6\xe6\x00\xc0\x01")]


# -- sequence errors -------------------------------------------------------------------------------

def i_frame(n_s: int, n_r: int = 0, *, poll: bool = True, segmented: bool = False,
            info: bytes = b"\xe6\xe6\x00\x01") -> bytes:
    return encode_frame(HdlcFrame(destination=S2, source=C16, frame_type=FrameType.I, n_s=n_s,
                                  n_r=n_r, poll_final=poll, segmented=segmented, info=info))


def rr(n_r: int, destination: HdlcAddress = S2, source: HdlcAddress = C16,
       kind: FrameType = FrameType.RR) -> bytes:
    return encode_frame(HdlcFrame(destination=destination, source=source, frame_type=kind,
                                  n_r=n_r, poll_final=True))


def test_duplicate_and_out_of_order_i_frames_answered_with_rr():
    pair = HdlcPair()
    pair.connect()
    server = pair.server
    assert server.receive_data(i_frame(0)) == [DataReceived(lsdu=b"\x01")]
    # Duplicate: discarded, reported, and the poll answered with N(R) = V(R) = 1.
    events = server.receive_data(i_frame(0))
    assert [type(e) for e in events] == [FrameRejected]
    assert events[0].error.reason is Reason.SEQUENCE_ERROR
    assert events[0].error.data == i_frame(0)
    assert server.data_to_send() == rr(1, C16, S2)
    # A gap without the poll bit: reported, nothing sent until polled.
    events = server.receive_data(i_frame(3, poll=False, segmented=True))
    assert events[0].error.reason is Reason.SEQUENCE_ERROR and server.data_to_send() == b""
    events = server.receive_data(i_frame(4))
    assert events[0].error.reason is Reason.SEQUENCE_ERROR
    assert server.data_to_send() == rr(1, C16, S2)
    assert server.receive_data(i_frame(1)) == [DataReceived(lsdu=b"\x01")]
    assert server.state is LinkState.CONNECTED


def test_duplicate_request_makes_server_repeat_its_response():
    pair = HdlcPair()
    pair.connect()
    server = pair.server
    server.receive_data(i_frame(0))
    response = server.send(SendData(lsdu=b"\x02"))
    # The response was lost: the client repeats its request (N(R) still 0); the server resends.
    events = server.receive_data(i_frame(0))
    assert [e.error.reason for e in events] == [Reason.SEQUENCE_ERROR]
    assert server.data_to_send() == response


def test_lost_segment_inside_a_window_is_recovered_with_rr():
    pair = HdlcPair(client=params(wtx=7, wrx=7), server=params(wtx=7, wrx=7))
    pair.connect()
    dropped = []

    def drop(sender: Role, index: int, frame: HdlcFrame) -> bool:
        if sender is Role.SERVER and frame.frame_type is FrameType.I and frame.n_s == 2 \
                and not dropped:
            dropped.append(index)
            return True
        return False

    pair.drop = drop
    response = bytes(range(200)) * 5
    exchange(pair, b"\xc0", response, max_timeouts=0)  # recovered without a timeout
    assert dropped
    assert pair.received(Role.CLIENT) == [DataReceived(lsdu=response)]
    rejected = pair.received(Role.CLIENT, FrameRejected)
    assert rejected and all(e.error.reason is Reason.SEQUENCE_ERROR for e in rejected)


# -- timeouts --------------------------------------------------------------------------------------

def _frames_in_clean_run(window: int) -> int:
    pair = HdlcPair(client=params(wtx=window, wrx=window), server=params(wtx=window, wrx=window))
    pair.connect()
    exchange(pair, bytes(1000), bytes(700))
    pair.send(Role.CLIENT, DisconnectRequest())
    return len(pair.wire)


@pytest.mark.parametrize("window", [1, 7])
def test_any_single_lost_frame_is_recovered_by_timeout(window):
    request, response = bytes(range(250)) * 4, bytes(range(100)) * 7
    for lost in range(_frames_in_clean_run(window)):
        pair = HdlcPair(client=params(wtx=window, wrx=window),
                        server=params(wtx=window, wrx=window))
        pair.drop = lambda sender, index, frame, lost=lost: index == lost
        pair.send(Role.CLIENT, ConnectRequest())
        if pair.client.state is LinkState.CONNECTING:
            pair.timeout()
        exchange(pair, request, response)
        pair.send(Role.CLIENT, DisconnectRequest())
        if pair.client.state is LinkState.DISCONNECTING:
            pair.timeout()
        assert pair.received(Role.SERVER) == [DataReceived(lsdu=request)], lost
        assert pair.received(Role.CLIENT) == [DataReceived(lsdu=response)], lost
        assert pair.client.state is pair.server.state is LinkState.DISCONNECTED, lost
        assert pair.received(Role.CLIENT, Disconnected) == [Disconnected()], lost


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 7), st.sets(st.integers(0, 120), max_size=10), st.integers(1, 900),
       st.integers(1, 900))
def test_random_losses_still_deliver_exactly_once(window, lost, request_size, response_size):
    pair = HdlcPair(client=params(64, 64, window, window), server=params(64, 64, window, window),
                    max_retries=20)
    pair.drop = lambda sender, index, frame: index in lost
    request, response = bytes([1]) * request_size, bytes([2]) * response_size
    pair.send(Role.CLIENT, ConnectRequest())
    while pair.client.state is LinkState.CONNECTING:
        pair.timeout()
    exchange(pair, request, response, max_timeouts=40)
    exchange(pair, response, request, max_timeouts=40)
    assert pair.received(Role.SERVER) == [DataReceived(lsdu=request), DataReceived(lsdu=response)]
    assert pair.received(Role.CLIENT) == [DataReceived(lsdu=response), DataReceived(lsdu=request)]


def test_retries_exhausted_when_the_meter_never_answers():
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=C16, server_address=S2,
                                              max_retries=2))
    snrm = client.send(ConnectRequest())
    assert client.timeout_expired() == snrm
    assert client.timeout_expired() == snrm
    assert client.timeout_expired() == b""
    assert client.state is LinkState.DISCONNECTED
    assert client.receive_data(b"") == [RetriesExhausted(retries=2)]
    assert client.timeout_expired() == b""  # nothing outstanding any more


def test_timeout_when_idle_sends_nothing():
    pair = HdlcPair()
    pair.connect()
    assert pair.client.timeout_expired() == b""
    assert pair.server.timeout_expired() == b""  # a secondary never speaks unpolled


def test_rnr_then_poll_then_resume():
    pair = HdlcPair()
    pair.connect()
    client = pair.client
    first = client.send(SendData(lsdu=bytes(300)))  # 3 segments, window 1
    assert split_frames(first)[0][0].n_s == 0
    assert client.receive_data(rr(1, C16, S2, FrameType.RNR)) == []
    assert client.data_to_send() == b""
    assert client.timeout_expired() == rr(0, S2, C16)  # poll the busy server
    client.receive_data(rr(1, C16, S2))
    (frame, _), = split_frames(client.data_to_send())
    assert (frame.frame_type, frame.n_s, frame.segmented) == (FrameType.I, 1, True)


# -- addressing, DISC, DM, FRMR, UI ----------------------------------------------------------------

def test_frames_for_another_address_are_ignored():
    pair = HdlcPair()
    snrm = encode_frame(HdlcFrame(destination=HdlcAddress.server(1, 18), source=C16,
                                  frame_type=FrameType.SNRM, poll_final=True))
    assert pair.server.receive_data(snrm) == [] and pair.server.data_to_send() == b""
    other_client = encode_frame(HdlcFrame(destination=S2, source=HdlcAddress.client(32),
                                          frame_type=FrameType.SNRM, poll_final=True))
    assert pair.server.receive_data(other_client) == [] and pair.server.data_to_send() == b""
    assert pair.server.state is LinkState.DISCONNECTED
    pair.connect()
    ua_for_other = encode_frame(HdlcFrame(destination=HdlcAddress.client(48), source=S2,
                                          frame_type=FrameType.DM, poll_final=True))
    assert pair.client.receive_data(ua_for_other) == []
    assert pair.client.state is LinkState.CONNECTED


def test_server_without_configured_client_binds_to_the_caller():
    pair = HdlcPair(server_client_address=None)
    pair.connect()
    assert pair.server.peer_address == C16
    intruder = encode_frame(HdlcFrame(destination=S2, source=HdlcAddress.client(32),
                                      frame_type=FrameType.I, poll_final=True,
                                      info=b"\xe6\xe6\x00"))
    assert pair.server.receive_data(intruder) == [] and pair.server.data_to_send() == b""
    exchange(pair, b"\x01", b"\x02")
    assert pair.received(Role.CLIENT) == [DataReceived(lsdu=b"\x02")]


def test_disc_ua_then_disc_dm():
    pair = HdlcPair()
    pair.connect()
    pair.send(Role.CLIENT, DisconnectRequest())
    assert pair.events[Role.SERVER][-1] == Disconnected()
    assert pair.events[Role.CLIENT][-1] == Disconnected()
    assert pair.frames(Role.SERVER, FrameType.UA)[-1].info == b""
    assert pair.client.state is pair.server.state is LinkState.DISCONNECTED
    # DISC while disconnected: the meter answers DM, which also ends the client's DISCONNECTING.
    pair.send(Role.CLIENT, DisconnectRequest())
    assert pair.frames(Role.SERVER, FrameType.DM)
    assert pair.events[Role.CLIENT][-1] == Disconnected()
    assert pair.client.state is LinkState.DISCONNECTED


def test_dm_when_the_meter_lost_the_link():
    pair = HdlcPair()
    pair.connect()
    pair.links[Role.SERVER] = HdlcLink(Role.SERVER, HdlcConfig(client_address=C16,
                                                               server_address=S2))  # rebooted
    pair.send(Role.CLIENT, SendData(lsdu=b"\x01"))
    assert pair.events[Role.CLIENT][-2:] == [DmReceived(), Disconnected()]
    assert pair.client.state is LinkState.DISCONNECTED


def test_dm_refuses_snrm():
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=C16, server_address=S2))
    client.send(ConnectRequest())
    dm = encode_frame(HdlcFrame(destination=C16, source=S2, frame_type=FrameType.DM,
                                poll_final=True))
    assert client.receive_data(dm) == [DmReceived()]
    assert client.state is LinkState.DISCONNECTED


def test_oversize_information_field_gets_frmr():
    pair = HdlcPair()
    pair.connect()
    too_long = i_frame(0, info=b"\xe6\xe6\x00" + bytes(200))
    events = pair.server.receive_data(too_long)
    assert [e.error.reason for e in events] == [Reason.TOO_LONG]
    frmr = pair.server.data_to_send()
    (frame, _), = split_frames(frmr)
    assert frame.frame_type is FrameType.FRMR and frame.info == bytes((0x10, 0, 0x04))
    assert pair.client.receive_data(frmr) == [FrmrReceived(info=frame.info)]
    assert pair.client.state is LinkState.DISCONNECTED


def test_ui_frames_are_delivered_unnumbered():
    pair = HdlcPair()
    ui = encode_frame(HdlcFrame(destination=C16, source=S2, frame_type=FrameType.UI,
                                info=b"\xe6\xe7\x00\x0f\x01"))
    assert pair.client.receive_data(ui) == [DataReceived(lsdu=b"\x0f\x01", unnumbered=True)]


def test_unexpected_frames_are_reported_not_fatal():
    pair = HdlcPair()
    pair.connect()
    ua = encode_frame(HdlcFrame(destination=C16, source=S2, frame_type=FrameType.UA,
                                poll_final=True))
    events = pair.client.receive_data(ua)
    assert [e.error.reason for e in events] == [Reason.UNEXPECTED]
    snrm_to_client = encode_frame(HdlcFrame(destination=C16, source=S2,
                                            frame_type=FrameType.SNRM, poll_final=True))
    assert [e.error.reason for e in pair.client.receive_data(snrm_to_client)] == [Reason.UNEXPECTED]
    bad_fcs = bytearray(ua)
    bad_fcs[-2] ^= 0xFF
    assert [e.error.reason for e in pair.client.receive_data(bytes(bad_fcs))] == [Reason.BAD_FCS]
    assert pair.client.state is LinkState.CONNECTED


# -- illegal inputs --------------------------------------------------------------------------------

@given(st.sampled_from(LinkState), st.sampled_from(LinkInput))
def test_every_state_input_pair_transitions_or_errors(state, link_input):
    machine = LinkStateMachine()
    machine.state = state
    if (state, link_input) in TRANSITIONS:
        action, next_state = TRANSITIONS[(state, link_input)]
        assert machine.process_input(link_input) is action
        assert machine.state is next_state
    else:
        with pytest.raises(LocalProtocolError):
            machine.process_input(link_input)
        assert machine.state is LinkState.ERROR


def test_every_received_frame_is_handled_in_every_live_state():
    received = [i for i in LinkInput if i.name.startswith("RECV_")]
    for state in LinkState:
        for link_input in received:
            assert ((state, link_input) in TRANSITIONS) is (state is not LinkState.ERROR)


@pytest.mark.parametrize(("role", "event"), [
    (Role.CLIENT, SendData(lsdu=b"x")),  # not connected
    (Role.SERVER, ConnectRequest()),  # a secondary never sends SNRM
    (Role.SERVER, DisconnectRequest()),
    (Role.CLIENT, "not an event"),
])
def test_illegal_send_raises_and_enters_error(role, event):
    link = HdlcLink(role, HdlcConfig(client_address=C16, server_address=S2))
    with pytest.raises(LocalProtocolError):
        link.send(event)
    assert link.state is LinkState.ERROR
    with pytest.raises(LocalProtocolError):
        link.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        link.timeout_expired()


def test_send_while_the_peer_holds_the_poll_is_an_error():
    pair = HdlcPair()
    pair.connect()
    pair.client.send(SendData(lsdu=b"\x01"))  # not delivered: the server now holds the poll
    assert not pair.client.can_send_data
    with pytest.raises(LocalProtocolError):
        pair.client.send(SendData(lsdu=b"\x02"))
    assert pair.client.state is LinkState.ERROR


def test_config_validation():
    with pytest.raises(LocalProtocolError):
        HdlcConfig(server_address=S2, client_address=S2)  # client addresses are one byte
    with pytest.raises(LocalProtocolError):
        HdlcConfig(server_address=S2, max_frame_length=5)
    with pytest.raises(LocalProtocolError):
        HdlcConfig(server_address=S2, logger=object())
    config = HdlcConfig(server_address=S2)
    with pytest.raises(LocalProtocolError):
        config.llc = "yes"
    with pytest.raises(LocalProtocolError):
        HdlcLink(Role.CLIENT, config)  # a client needs its own address
    with pytest.raises(LocalProtocolError):
        HdlcLink(Role.SERVER, HdlcConfig(server_address=S2, max_frame_length=100))


# -- fuzz: any operation sequence raises nothing but LocalProtocolError ----------------------------

_FUZZ_FRAMES = st.builds(
    lambda kind, pf, n_s, n_r, seg, info, to_server: HdlcFrame(
        destination=S2 if to_server else C16, source=C16 if to_server else S2, frame_type=kind,
        poll_final=pf, n_s=n_s if kind is FrameType.I else 0,
        n_r=n_r if kind in (FrameType.I, FrameType.RR, FrameType.RNR) else 0, segmented=seg,
        info=b"" if kind in (FrameType.RR, FrameType.RNR, FrameType.DISC) else info),
    st.sampled_from(FrameType), st.booleans(), st.integers(0, 7), st.integers(0, 7),
    st.booleans(), st.binary(max_size=140), st.booleans())

_OPERATIONS = st.one_of(
    st.tuples(st.just("send"), st.sampled_from([ConnectRequest(), DisconnectRequest(),
                                                SendData(lsdu=bytes(300))])),
    st.tuples(st.just("frame"), _FUZZ_FRAMES),
    st.tuples(st.just("bytes"), st.binary(max_size=30)),
    st.tuples(st.just("timeout"), st.none()))


@settings(max_examples=300)
@given(st.sampled_from(Role), st.lists(_OPERATIONS, max_size=25))
def test_fuzz_link_operations(role, operations):
    link = HdlcLink(role, HdlcConfig(client_address=C16, server_address=S2))
    for kind, value in operations:
        try:
            if kind == "send":
                link.send(value)
            elif kind == "frame":
                link.receive_data(encode_frame(value))
            elif kind == "bytes":
                link.receive_data(value)
            else:
                link.timeout_expired()
            link.data_to_send()
        except LocalProtocolError:
            assert link.state is LinkState.ERROR
            return


def _every(k: int) -> Callable[[bytes], list[bytes]]:
    return lambda data: [data[i:i + k] for i in range(0, len(data), k)]


@pytest.mark.parametrize("window", [1, 7])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 7, 64, 131, 1000, 100_000])
def test_10k_lsdu_with_bursts_cut_across_frame_boundaries(window, k):
    """Whole window bursts delivered in k-byte chunks that straddle frame boundaries."""
    pair = HdlcPair(client=params(wtx=window, wrx=window), server=params(wtx=window, wrx=window),
                    chunker=_every(k))
    pair.connect()
    request, response = bytes(range(256)) * 40, bytes(reversed(range(256))) * 40
    pair.send(Role.CLIENT, SendData(lsdu=request))
    assert [e.lsdu for e in pair.received(Role.SERVER)] == [request]
    pair.send(Role.SERVER, SendData(lsdu=response))
    assert [e.lsdu for e in pair.received(Role.CLIENT)] == [response]
    if window == 7:
        assert len(pair.frames(Role.SERVER, FrameType.I)) >= 7


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=50), st.sampled_from([1, 3, 7]))
def test_random_chunking_of_bursts(cuts, window):
    def chunker(data: bytes) -> list[bytes]:
        out, pos, i = [], 0, 0
        while pos < len(data):
            size = cuts[i % len(cuts)]
            out.append(data[pos:pos + size])
            pos, i = pos + size, i + 1
        return out
    pair = HdlcPair(client=params(wtx=window, wrx=window), server=params(wtx=window, wrx=window),
                    chunker=chunker)
    pair.connect()
    payload = bytes(i * 7 % 251 for i in range(5000))
    pair.send(Role.CLIENT, SendData(lsdu=payload))
    assert [e.lsdu for e in pair.received(Role.SERVER)] == [payload]


def test_endless_segmented_message_is_bounded_and_dropped():
    """A peer that keeps sending segments cannot grow the receiver's memory past
    max_message_size: the message is dropped with one FrameRejected, the link stays up and
    the next message is delivered."""
    server = HdlcLink(Role.SERVER, HdlcConfig(client_address=C16, server_address=S2,
                                              max_message_size=300))
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=C16, server_address=S2))
    server.receive_data(client.send(ConnectRequest()))
    client.receive_data(server.data_to_send())
    chunk = b"\xe6\xe6\x00" + bytes(100)
    rejected = []
    for k in range(10):  # 10 segments of ~100 bytes, each polled: far more than 300 bytes
        events = server.receive_data(i_frame(k % 8, poll=True, segmented=True, info=chunk))
        rejected += [e for e in events if isinstance(e, FrameRejected)]
        assert not [e for e in events if isinstance(e, DataReceived)]
        server.data_to_send()  # the RR asking for the next segment
    assert len(rejected) == 1 and rejected[0].error.reason is Reason.TOO_LONG
    assert sum(len(s) for s in server._rx_segments) <= 300
    # the final segment ends the dropped message; the next message arrives whole
    assert server.receive_data(i_frame(10 % 8, info=b"\x02")) == []
    server.data_to_send()
    assert server.receive_data(i_frame(11 % 8)) == [DataReceived(lsdu=b"\x01")]
    assert server.state is LinkState.CONNECTED
