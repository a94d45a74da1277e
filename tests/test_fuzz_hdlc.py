"""Fuzzing of the HDLC layer (issue 11): frame decode, the FrameReader stream reassembler and
the client/server link state machines fed mutated frames and random bytes.

Mutated frames are re-sealed half of the time (length, HCS and FCS recomputed) so that the
mutation gets past the checksums into the address, control and information fields.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from fuzz_strategies import FUZZ, fuzz_input, mutated, only_typed, remote_only
from shared_data import load_vectors

from meterreader.dlms.errors import DlmsError, RemoteProtocolError
from meterreader.dlms.hdlc import (
    MAX_FRAME_LENGTH, ConnectRequest, Connected, DisconnectRequest, FrameReader, FrameType,
    HdlcAddress, HdlcConfig, HdlcFrame, HdlcLink, HdlcParameters, LinkState, Role, SendData,
    decode_frame, encode_frame, parameters_from_info)
from meterreader.dlms.hdlc.crc import fcs

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)


def reseal(frame: bytes) -> bytes:
    """Recompute length, HCS and FCS of a (mutated) frame that still has 7E A? ... 7E around it."""
    if len(frame) < 9 or frame[0] != 0x7E or frame[-1] != 0x7E or frame[1] & 0xF0 != 0xA0:
        return frame
    body = bytearray(frame[1:-1])
    if len(body) > MAX_FRAME_LENGTH:
        return frame
    body[0] = (body[0] & 0xF8) | (len(body) >> 8)
    body[1] = len(body) & 0xFF
    pos = 2
    for _ in range(2):  # the two self-delimiting addresses
        while pos < len(body) - 3 and not body[pos] & 1:
            pos += 1
        pos += 1
    if pos + 1 + 4 < len(body):  # control, then HCS and a non-empty information field
        body[pos + 1:pos + 3] = fcs(bytes(body[:pos + 1]))
    body[-2:] = fcs(bytes(body[:-2]))
    return b"\x7e" + bytes(body) + b"\x7e"


def _pair(parameters: HdlcParameters | None = None) -> tuple[HdlcLink, HdlcLink]:
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=CLIENT, server_address=SERVER,
                                              parameters=parameters or HdlcParameters()))
    server = HdlcLink(Role.SERVER, HdlcConfig(server_address=SERVER))
    return client, server


def _recorded_frames() -> list[bytes]:
    """Every frame of a connect / segmented exchange / disconnect between two links."""
    frames: list[bytes] = []
    client, server = _pair(HdlcParameters(max_info_field_length_transmit=32,
                                          max_info_field_length_receive=32,
                                          window_size_transmit=2, window_size_receive=2))

    def carry(data: bytes, to: HdlcLink) -> None:
        frames.extend(item for item in data.split(b"\x7e") if item)
        to.receive_data(data)

    carry(client.send(ConnectRequest()), server)
    carry(server.data_to_send(), client)
    for lsdu, sender, receiver in ((bytes(range(100)), client, server),
                                   (bytes(range(70, 0, -1)), server, client)):
        carry(sender.send(SendData(lsdu=lsdu)), receiver)
        for _ in range(20):  # until both sides are quiet
            quiet = True
            for a, b in ((client, server), (server, client)):
                out = a.data_to_send()
                if out:
                    quiet = False
                    carry(out, b)
            if quiet:
                break
    carry(client.send(DisconnectRequest()), server)
    carry(server.data_to_send(), client)
    return [b"\x7e" + f + b"\x7e" for f in frames]


def _more_frames() -> list[bytes]:
    """Frame types the recorded exchange does not produce."""
    kinds = [(FrameType.UI, b"\xe6\xe6\x00\x0f"), (FrameType.RNR, b""), (FrameType.DM, b""),
             (FrameType.FRMR, b"\x13\x00\x04"), (FrameType.UA, b"")]
    out = [encode_frame(HdlcFrame(destination=SERVER, source=CLIENT, frame_type=kind,
                                  poll_final=True, info=info)) for kind, info in kinds]
    four = HdlcAddress.server(1, 0x3FFF, size=4)
    out.append(encode_frame(HdlcFrame(destination=four, source=CLIENT, frame_type=FrameType.I,
                                      poll_final=False, n_s=3, n_r=5, segmented=True,
                                      info=b"\xe6\xe6\x00" + bytes(200))))
    return out


SEEDS = tuple(dict.fromkeys([*(bytes.fromhex(v["hex"]) for v in load_vectors()["hdlc"]),
                             *_recorded_frames(), *_more_frames()]))


@st.composite
def frame_input(draw: st.DrawFn) -> bytes:
    data = draw(fuzz_input(SEEDS))
    return reseal(data) if draw(st.booleans()) else data


def test_seed_frames_are_valid() -> None:
    kinds = set()
    for seed in SEEDS:
        frame, end = decode_frame(seed)
        assert end == len(seed)
        kinds.add(frame.frame_type)
    assert kinds >= {FrameType.SNRM, FrameType.UA, FrameType.I, FrameType.RR, FrameType.DISC,
                     FrameType.UI, FrameType.DM, FrameType.FRMR, FrameType.RNR}
    assert any(decode_frame(s)[0].segmented for s in SEEDS)


@settings(FUZZ, max_examples=600)
@given(frame_input(), st.none() | st.sampled_from(Role), st.none() | st.sampled_from((1, 2, 4)))
def test_decode_frame_raises_only_typed_errors(data: bytes, sender: Role | None,
                                               size: int | None) -> None:
    result = remote_only(lambda b: decode_frame(b, sender=sender, server_address_size=size), data)
    if result is not None:
        frame, end = result
        assert end <= len(data)
        assert decode_frame(encode_frame(frame))[0] == frame


@FUZZ
@given(fuzz_input([s[6:-3] for s in SEEDS if len(s) > 12] + [bytes.fromhex(
    "818014050200800602008007040000000108040000000A")], max_random=32))
def test_hdlc_parameters_raise_only_typed_errors(info: bytes) -> None:
    remote_only(parameters_from_info, info)


def _items(reader: FrameReader, chunks: list[bytes]) -> list[object]:
    out: list[object] = []
    for chunk in chunks:
        for item in reader.feed(chunk):
            # A frame refused from its header alone is refused before its tail arrives, so the
            # error's data may be shorter when chunked; what was refused where must not change.
            out.append(item if isinstance(item, HdlcFrame) else (item.reason, item.offset))
        assert len(reader.buffered) <= MAX_FRAME_LENGTH + 2  # a partial frame at most
    return out


@settings(FUZZ, max_examples=300)
@given(st.lists(frame_input(), min_size=1, max_size=6), st.data())
def test_frame_reader_is_typed_bounded_and_chunking_invariant(frames: list[bytes],
                                                              data: st.DataObject) -> None:
    stream = b"".join(frames)
    whole = only_typed(lambda b: _items(FrameReader(), [b]), stream, ())
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    assert _items(FrameReader(), chunks) == whole


@FUZZ
@given(st.binary(max_size=200).map(lambda b: b.replace(b"\x7e", b"")), st.sampled_from(SEEDS),
       st.binary(max_size=40))
def test_frame_reader_resynchronises_after_noise(noise: bytes, frame: bytes, tail: bytes) -> None:
    items = FrameReader().feed(noise + frame + tail)
    assert decode_frame(frame)[0] in items


def _connected() -> tuple[HdlcLink, HdlcLink]:
    client, server = _pair()
    server.receive_data(client.send(ConnectRequest()))
    events = client.receive_data(server.data_to_send())
    assert any(isinstance(e, Connected) for e in events)
    return client, server


@settings(FUZZ, max_examples=300)
@given(st.lists(frame_input(), min_size=1, max_size=8), st.sampled_from(Role), st.booleans(),
       st.integers(0, 3))
def test_link_state_machines_take_any_frames(frames: list[bytes], role: Role, connect: bool,
                                             timeouts: int) -> None:
    """A client or server link, connected or not, fed mutated frames and timeouts: typed errors
    only, and the server always answers a fresh SNRM afterwards."""
    client, server = _connected() if connect else _pair()
    link = client if role is Role.CLIENT else server
    for index, frame in enumerate(frames):
        if link.state is LinkState.ERROR:
            break
        only_typed(link.receive_data, frame)
        assert isinstance(link.data_to_send(), bytes)
        if index < timeouts:
            only_typed(lambda _: link.timeout_expired(), b"")
    assert link.state in LinkState
    if role is Role.SERVER and server.state is not LinkState.ERROR:
        assert _server_accepts_a_new_client(server)


def _server_accepts_a_new_client(server: HdlcLink) -> bool:
    """A new client's SNRM, repeated on timeout, is answered. A truncated frame left by the
    fuzz input may swallow the repetitions (frames are delimited by their length, IEC 62056-46)
    until its claimed length is reached: silence on the line (here: bytes without flags, as
    long as the longest frame) ends it, after which the next SNRM must be answered."""
    fresh = HdlcLink(Role.CLIENT, HdlcConfig(client_address=CLIENT, server_address=SERVER,
                                             max_retries=8))
    data = fresh.send(ConnectRequest())
    for attempt in range(5):
        if attempt == 4:
            data = bytes(MAX_FRAME_LENGTH + 2) + fresh.timeout_expired()
        server.receive_data(data)
        if any(isinstance(e, Connected) for e in fresh.receive_data(server.data_to_send())):
            return server.state is LinkState.CONNECTED
        data = fresh.timeout_expired()
    return False


@settings(FUZZ, max_examples=100)
@given(st.lists(mutated(SEEDS), min_size=1, max_size=4))
def test_link_errors_are_remote_or_refused_after_error(frames: list[bytes]) -> None:
    """Bytes from the peer never raise LocalProtocolError except after the link already failed."""
    client, server = _connected()
    for frame in frames:
        for link in (client, server):
            before = link.state
            try:
                link.receive_data(reseal(frame))
            except RemoteProtocolError:
                pass
            except DlmsError:
                assert before is LinkState.ERROR


@FUZZ
@given(st.sampled_from((b"\x7e\xa7\xff", b"\x7e\xa0", b"\x7e\xaf\xff\x02",
                        b"\x7e\xa7\xfe\x00\x00")),
       st.integers(100, 2000), st.sampled_from(SEEDS))
def test_false_starts_do_not_copy_their_claimed_length(pattern: bytes, repeat: int,
                                                       frame: bytes) -> None:
    """Noise made of flags and format bytes claiming up to 2047 bytes: each refused false start
    keeps a few bytes, so the errors hold O(input) bytes, not O(input x claimed length); the
    valid frame after the noise is still found."""
    stream = pattern * repeat + frame
    items = FrameReader().feed(stream)
    errors = [item for item in items if not isinstance(item, HdlcFrame)]
    assert all(len(e.data) <= 64 and e.offset < len(e.data) for e in errors)
    assert sum(len(e.data) for e in errors) <= 32 * len(stream)
    assert decode_frame(frame)[0] in items
