"""The simulator's HDLC server side beyond :class:`~meterreader.dlms.hdlc.HdlcLink`: the answer to
undefined control fields, and the HDLC defect switches of :mod:`.defects`.

* :class:`HdlcChannel` — one server link and the association on top of it.
* :class:`ServerLink` — the server link. IEC 62056-46 (after ISO/IEC 13239): a frame received
  without error whose control field is undefined or not implemented is answered with FRMR, W bit
  set (the FrameReader only reports such frames, so the session hands them to
  :meth:`ServerLink.undefined_control`); a disconnected secondary answers a poll with DM.
  Defects: accept-long-frame (no FRMR for an information field longer than negotiated),
  ignore-wrong-ns (an out-of-sequence I-frame is taken as the expected one),
  accept-unknown-control (RR instead of FRMR).
* :class:`ChecksumBlindReader` — a FrameReader front that repairs the check sequences of each
  complete frame first (ignore-bad-fcs, ignore-bad-hcs); the clean meter discards such frames
  silently, as the standard requires.
* :func:`inflate_ua` — bad-hdlc-negotiation: the UA claims more than the SNRM proposed (the link
  itself keeps to the negotiated values).

The link subclass reaches into three HdlcLink internals (V(S), V(R), the per-frame entry and the
length check); they are named here only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from typing import Any, Callable, Protocol

from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import (Connected, DataReceived, Disconnected, FrameReader,
                                   FrameRejected, FrameType, HdlcAddress, HdlcConfig, HdlcFrame,
                                   HdlcLink, HdlcParameters, LinkState, Role, SendData, crc16,
                                   decode_frame, encode_frame, encode_parameters, fcs,
                                   parameters_from_info)
from meterreader.dlms.hdlc.frame import FLAG, FrameError
from meterreader.dlms.hdlc.params import MAX_WINDOW_SIZE

from .server_log import WireLog, describe_error

__all__ = ["ChecksumBlindReader", "FRMR_UNDEFINED_CONTROL", "HdlcChannel", "ServerLink",
           "inflate_ua", "parse_header", "split_hdlc_frames"]

#: ISO/IEC 13239 FRMR information field, third byte: W = control field undefined or not
#: implemented.
FRMR_UNDEFINED_CONTROL = 0x01
_POLL = 0x10
_FORMAT_TYPE_3 = 0xA0
#: bad-hdlc-negotiation: how much longer the UA's information field lengths are than proposed.
INFLATE_BY = 128


def split_hdlc_frames(data: bytes) -> list[bytes]:
    """Cut the output of an HdlcLink (whole frames, each with both flags) into frames."""
    frames, pos = [], 0
    while pos + 3 <= len(data):
        length = ((data[pos + 1] & 0x07) << 8) | data[pos + 2]
        frames.append(data[pos:pos + length + 2])
        pos += length + 2
    return frames


def parse_header(frame: bytes) -> tuple[HdlcAddress, HdlcAddress, int] | None:
    """Destination, source and the index of the control field of a whole frame (opening flag
    at 0); None when the address fields do not parse."""
    pos, found = 3, []
    for _ in range(2):
        values: list[int] = []
        while True:
            if pos >= len(frame) - 3:
                return None
            values.append(frame[pos] >> 1)
            pos += 1
            if frame[pos - 1] & 1:
                break
            if len(values) == 4:
                return None
        if len(values) == 1:
            found.append(HdlcAddress(upper=values[0]))
        elif len(values) == 2:
            found.append(HdlcAddress(upper=values[0], lower=values[1], size=2))
        elif len(values) == 4:
            found.append(HdlcAddress(upper=(values[0] << 7) | values[1],
                                     lower=(values[2] << 7) | values[3], size=4))
        else:
            return None
    return found[0], found[1], pos


class ServerLink(HdlcLink):
    """The simulator's server link (see the module docstring)."""

    def __init__(self, config: HdlcConfig, defects: Collection[str] = ()) -> None:
        super().__init__(Role.SERVER, config)
        self.defects = frozenset(defects)

    def _info_too_long(self, frame: HdlcFrame) -> bool:
        if "accept-long-frame" in self.defects:
            return False
        return super()._info_too_long(frame)

    def _handle_frame(self, frame: HdlcFrame) -> None:
        if ("ignore-wrong-ns" in self.defects and frame.frame_type is FrameType.I
                and self.state is LinkState.CONNECTED and frame.n_s != self._v_r):
            frame = dataclasses.replace(frame, n_s=self._v_r)
        super()._handle_frame(frame)

    def undefined_control(self, control: int, source: HdlcAddress,
                          destination: HdlcAddress) -> bytes:
        """The answer to a frame from ``source`` whose control field is undefined."""
        poll = bool(control & _POLL)
        if self.state is not LinkState.CONNECTED:
            if not poll:
                return b""
            # IEC 62056-46: in disconnected mode a secondary answers a poll with DM.
            return encode_frame(HdlcFrame(destination=source, source=destination,
                                          frame_type=FrameType.DM, poll_final=True))
        peer = self.peer_address
        if peer is None or not source.same_station(peer):
            return b""
        if "accept-unknown-control" in self.defects:
            return encode_frame(HdlcFrame(destination=peer, source=destination,
                                          frame_type=FrameType.RR, n_r=self._v_r,
                                          poll_final=True)) if poll else b""
        # ISO/IEC 13239 FRMR information field: rejected control field; V(S), V(R); W bit.
        info = bytes((control, (self._v_s << 1) | (self._v_r << 5), FRMR_UNDEFINED_CONTROL))
        return encode_frame(HdlcFrame(destination=peer, source=destination,
                                      frame_type=FrameType.FRMR, poll_final=True, info=info))


class ChecksumBlindReader:
    """FrameReader front for ignore-bad-fcs / ignore-bad-hcs (same ``feed``/``buffered``): each
    complete frame gets its wrong check sequence recomputed before the real reader sees it.

    ``fcs_blind``: a wrong FCS is replaced. ``hcs_blind``: a wrong HCS is replaced when the FCS
    (which covers the HCS as received) is right, and the FCS recomputed after it."""

    def __init__(self, *, fcs_blind: bool, hcs_blind: bool) -> None:
        self.fcs_blind, self.hcs_blind = fcs_blind, hcs_blind
        self._reader = FrameReader()
        self._buf = bytearray()

    @property
    def buffered(self) -> bytes:
        return self._reader.buffered + bytes(self._buf)

    def feed(self, data: bytes) -> list[HdlcFrame | FrameError]:
        buf = self._buf
        buf += data
        out = bytearray()
        while True:
            start = buf.find(FLAG)
            if start < 0:
                out += buf
                buf.clear()
                break
            out += buf[:start]
            del buf[:start]
            if len(buf) < 3:
                break
            if buf[1] & 0xF0 != _FORMAT_TYPE_3:
                out += buf[:1]
                del buf[:1]
                continue
            length = ((buf[1] & 0x07) << 8) | buf[2]
            if len(buf) < length + 2:
                break
            out += self._repair(bytes(buf[:length + 2]))
            del buf[:length + 1]  # the closing flag may also open the next frame
        return self._reader.feed(bytes(out))

    def _repair(self, frame: bytes) -> bytes:
        header = parse_header(frame)
        if header is None or frame[-1] != FLAG:
            return frame
        header_end = header[2] + 1
        fcs_at = len(frame) - 3
        body = bytearray(frame)

        def right(at: int, start: int = 1) -> bool:
            return crc16(body[start:at]) == body[at] | (body[at + 1] << 8)

        if self.hcs_blind and fcs_at - header_end >= 3 and right(fcs_at) \
                and not right(header_end):
            body[header_end:header_end + 2] = fcs(body[1:header_end])
            body[fcs_at:fcs_at + 2] = fcs(body[1:fcs_at])
        if self.fcs_blind and not right(fcs_at):
            body[fcs_at:fcs_at + 2] = fcs(body[1:fcs_at])
        return bytes(body)


def inflate_ua(data: bytes, snrm: HdlcFrame) -> bytes:
    """bad-hdlc-negotiation: the link's answer to ``snrm`` with its UA claiming information
    field lengths :data:`INFLATE_BY` longer and windows one larger (up to 7) than proposed."""
    try:
        proposal = parameters_from_info(snrm.info)
    except DlmsError:
        return data  # the link refused the SNRM
    offer = HdlcParameters(  # the server's point of view: our transmit = their receive
        max_info_field_length_transmit=proposal.max_info_field_length_receive + INFLATE_BY,
        max_info_field_length_receive=proposal.max_info_field_length_transmit + INFLATE_BY,
        window_size_transmit=min(MAX_WINDOW_SIZE, proposal.window_size_receive + 1),
        window_size_receive=min(MAX_WINDOW_SIZE, proposal.window_size_transmit + 1))
    out = bytearray()
    for raw in split_hdlc_frames(data):
        frame, _ = decode_frame(raw)
        if frame.frame_type is FrameType.UA:
            raw = encode_frame(dataclasses.replace(frame, info=encode_parameters(offer)))
        out += raw
    return bytes(out)


class _Association(Protocol):
    def receive(self, apdu: bytes) -> list[bytes]: ...

    def close(self) -> None: ...


class HdlcChannel:
    """One HDLC link (one server address in one address form) and its association, made by
    ``associate(client_sap)`` when the link comes up (SNRM) and dropped when it goes down."""

    def __init__(self, link: ServerLink, associate: Callable[[int], _Association],
                 log: WireLog) -> None:
        self.link, self._associate, self.log = link, associate, log
        self.association: _Association | None = None
        self._queue: list[bytes] = []
        self._down = False

    def close(self) -> None:
        if self.association is not None:
            self.association.close()
            self.association = None

    def receive(self, frame: HdlcFrame) -> tuple[bytes, bool]:
        """Bytes answering one frame, and whether the link went down."""
        self._down = False
        events = self.link.receive_data(encode_frame(frame))
        out = self.link.data_to_send()
        if frame.frame_type is FrameType.SNRM and "bad-hdlc-negotiation" in self.link.defects:
            out = inflate_ua(out, frame)
        for event in events:
            handler = _LINK_EVENTS.get(type(event))
            if handler is not None:
                handler(self, event)
        while self._queue and self.link.can_send_data:
            out += self.link.send(SendData(lsdu=self._queue.pop(0)))
        return out, self._down

    def _connected(self, event: Connected) -> None:
        self.close()
        peer = self.link.peer_address
        self.association = self._associate(peer.upper if peer is not None else 0)
        self._queue.clear()

    def _disconnected(self, event: Disconnected) -> None:
        self.close()
        self._queue.clear()
        self._down = True

    def _data(self, event: DataReceived) -> None:
        if self.association is not None:
            self._queue.extend(self.association.receive(event.lsdu))

    def _rejected(self, event: FrameRejected) -> None:
        self.log.note("HDLC frame rejected: %s", describe_error(event.error))


_LINK_EVENTS: dict[type, Callable[[HdlcChannel, Any], None]] = {
    Connected: HdlcChannel._connected, Disconnected: HdlcChannel._disconnected,
    DataReceived: HdlcChannel._data, FrameRejected: HdlcChannel._rejected,
}
