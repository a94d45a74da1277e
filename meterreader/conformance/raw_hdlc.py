"""A raw HDLC link for the negative-case checks: crafted frames out, every answer classified.

The normal client link (:class:`~meterreader.dlms.hdlc.HdlcLink`) never sends a bad frame, so the
HDLC checks build theirs here: :func:`craft_frame` encodes a frame format type 3 with any control
byte and, on request, a wrong HCS or FCS (IEC 62056-46: the HCS covers format, addresses and
control; the FCS everything between the flags). :class:`RawHdlcLink` writes such frames on an open
:class:`~meterreader.transport.Transport`, reads what the meter answers within a time limit and
records every frame in both directions as evidence. :class:`RxFrame` describes an answer even when
our codec cannot decode it (a REJ, an unknown control field).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from meterreader.client.trace import FrameTap, describe_frame
from meterreader.dlms.errors import DecodeError, DlmsError, Reason
from meterreader.dlms.hdlc import (
    LLC_COMMAND, FrameType, HdlcAddress, HdlcFrame, HdlcParameters, crc16, decode_frame,
    encode_parameters, parameters_from_info)
from meterreader.transport.base import CancelToken, ReadTimeout, Transport

__all__ = ["NEGOTIATION_PROPOSAL", "QUIET_TIME", "RawHdlcLink", "RxFrame", "classify",
           "craft_frame", "first_of", "i_control", "kinds", "s_control", "u_control"]

#: Longest wait (s) for an answer that should not come (a discarded frame); the response timeout
#: of the target is used when it is shorter.
QUIET_TIME = 1.5
#: The SNRM proposal of the negative-case checks: the standard's default information field
#: (128 bytes) and window 1, written out so that the meter must read it.
NEGOTIATION_PROPOSAL = HdlcParameters(
    max_info_field_length_transmit=128, max_info_field_length_receive=128,
    window_size_transmit=1, window_size_receive=1)

_FORMAT_TYPE_3 = 0xA0
_SEGMENTATION = 0x08
_POLL_FINAL = 0x10
#: IEC 62056-46 knows REJ only as ISO/IEC 13239 does; our codec refuses it, so it is named here.
_REJ = 0x09

Record = Callable[[str, str, bytes, str], None]


def craft_frame(*, destination: HdlcAddress, source: HdlcAddress, control: int,
                info: bytes = b"", segmented: bool = False, bad_hcs: bool = False,
                bad_fcs: bool = False) -> bytes:
    """One frame with both flags. ``control`` is written as given (any value 0..255).
    ``bad_hcs`` inverts the HCS (the FCS is computed over the wrong HCS, so only the HCS is
    wrong); ``bad_fcs`` inverts the FCS. A frame without info has no HCS (``bad_hcs`` then has
    nothing to spoil and raises ValueError)."""
    if not 0 <= control <= 0xFF:
        raise ValueError(f"control must be one byte, not {control!r}")
    if bad_hcs and not info:
        raise ValueError("a frame without information field has no HCS")
    addresses = destination.encode() + source.encode()
    length = 2 + len(addresses) + 1 + 2 + (len(info) + 2 if info else 0)
    if length > 0x7FF:
        raise ValueError(f"a frame of {length} bytes does not fit the 11-bit length field")
    first = _FORMAT_TYPE_3 | (_SEGMENTATION if segmented else 0) | (length >> 8)
    header = bytes((first, length & 0xFF)) + addresses + bytes((control,))
    body = header
    if info:
        hcs = crc16(header)
        if bad_hcs:
            hcs ^= 0xFFFF
        body += hcs.to_bytes(2, "little") + bytes(info)
    fcs = crc16(body)
    if bad_fcs:
        fcs ^= 0xFFFF
    return b"\x7e" + body + fcs.to_bytes(2, "little") + b"\x7e"


def i_control(n_s: int, n_r: int, poll: bool = True) -> int:
    """The control byte of an I-frame."""
    return (n_r & 7) << 5 | (_POLL_FINAL if poll else 0) | (n_s & 7) << 1


def s_control(frame_type: FrameType, n_r: int, poll: bool = True) -> int:
    """The control byte of an RR or RNR."""
    return (n_r & 7) << 5 | (_POLL_FINAL if poll else 0) | int(frame_type)


def u_control(frame_type: FrameType, poll: bool = True) -> int:
    """The control byte of an unnumbered frame (SNRM, DISC …)."""
    return int(frame_type) | (_POLL_FINAL if poll else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class RxFrame:
    """One frame the meter sent: ``raw`` bytes, ``frame`` when our codec decodes it, else
    ``control`` (when the frame is sound but its control field unknown to the codec) and
    ``error``."""

    raw: bytes
    frame: HdlcFrame | None = None
    control: int | None = None
    error: str | None = None

    @property
    def kind(self) -> str:
        """"I", "RR", "UA", "FRMR" …, "REJ", "control 0xNN" or "invalid"."""
        if self.frame is not None:
            return self.frame.frame_type.name
        if self.control is not None:
            if self.control & 0x0F == _REJ:
                return "REJ"
            return f"control 0x{self.control:02X}"
        return "invalid"

    @property
    def n_r(self) -> int | None:
        """N(R) of an I, RR, RNR or REJ frame, else None."""
        if self.frame is not None:
            return self.frame.n_r if self.frame.frame_type in (
                FrameType.I, FrameType.RR, FrameType.RNR) else None
        if self.kind == "REJ":
            return self.control >> 5  # type: ignore[operator]
        return None

    @property
    def final(self) -> bool:
        if self.frame is not None:
            return self.frame.poll_final
        return bool(self.control is not None and self.control & _POLL_FINAL)

    @property
    def info(self) -> bytes:
        return self.frame.info if self.frame is not None else b""

    def describe(self) -> str:
        if self.frame is not None:
            return describe_frame(self.raw)
        if self.control is not None:
            text = self.kind + (f" N(R)={self.n_r}" if self.n_r is not None else "")
            return text + (" P/F" if self.final else "")
        return f"bad frame: {self.error}"


def classify(raw: bytes) -> RxFrame:
    """Decode one received frame (both flags included) into an :class:`RxFrame`."""
    try:
        frame, _ = decode_frame(raw)
    except DecodeError as exc:
        control = None
        if exc.reason is Reason.BAD_CONTROL:
            at = 3 + _address_length(raw, 3)
            at += _address_length(raw, at)
            control = raw[at] if at < len(raw) - 3 else None
        return RxFrame(raw=raw, control=control, error=exc.message)
    return RxFrame(raw=raw, frame=frame)


def _address_length(raw: bytes, at: int) -> int:
    """Bytes of the self-delimiting address starting at ``at`` (last byte has LSB = 1)."""
    n = 0
    while at + n < len(raw) and n < 4:
        n += 1
        if raw[at + n - 1] & 1:
            break
    return n


class RawHdlcLink:
    """A client end that sends crafted frames on ``transport`` and collects the answers.

    ``client``/``server`` are the HDLC addresses of the frames sent (the answers are expected
    the other way round); ``record(direction, "hdlc", bytes, summary)`` receives every frame.
    ``response_timeout`` bounds the wait for an expected answer, ``quiet_time`` the wait for an
    answer that should not come.
    """

    def __init__(self, transport: Transport, *, client: HdlcAddress, server: HdlcAddress,
                 record: Record, cancel: CancelToken | None = None,
                 response_timeout: float = 5.0, quiet_time: float = QUIET_TIME) -> None:
        self.transport = transport
        self.client = client
        self.server = server
        self.record = record
        self.cancel = cancel
        self.response_timeout = response_timeout
        self.quiet_time = min(quiet_time, response_timeout)
        self._tap = FrameTap()
        self.parameters: HdlcParameters | None = None  # the UA's, from the meter's view
        self.ua_error: str | None = None

    # -- transport --------------------------------------------------------------------------------

    def open(self) -> None:
        self.transport.open(self.cancel)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RawHdlcLink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.disconnect()
        finally:
            self.close()

    # -- frames -----------------------------------------------------------------------------------

    def frame(self, control: int, info: bytes = b"", **options: bool) -> bytes:
        """A frame from our client address to the server (see :func:`craft_frame`)."""
        return craft_frame(destination=self.server, source=self.client, control=control,
                           info=info, **options)

    def send(self, data: bytes, summary: str | None = None) -> None:
        """Write one frame and record it (``summary`` defaults to its decoded description)."""
        self.record("tx", "hdlc", data, summary or describe_frame(data))
        self.transport.write(data)

    def collect(self, timeout: float, *, until_final: bool = True) -> list[RxFrame]:
        """The frames that arrive within ``timeout`` seconds; with ``until_final`` stop at the
        first one with the final bit (the meter hands the poll back)."""
        deadline = time.monotonic() + timeout
        out: list[RxFrame] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            try:
                data = self.transport.read(remaining, self.cancel)
            except ReadTimeout:
                return out
            for raw in self._tap.feed(data):
                rx = classify(raw)
                if rx.frame is not None and not (rx.frame.destination.same_station(self.client)
                                                 and rx.frame.source.same_station(self.server)):
                    self.record("rx", "hdlc", rx.raw, f"{rx.describe()} (not for us: ignored)")
                    continue
                self.record("rx", "hdlc", rx.raw, rx.describe())
                out.append(rx)
                if until_final and rx.final:
                    return out

    def exchange(self, data: bytes, summary: str | None = None, *,
                 expect_answer: bool = True) -> list[RxFrame]:
        """Send one frame and collect the answer: up to the final bit within the response
        timeout when an answer is expected, else whatever comes within the quiet time."""
        self.send(data, summary)
        return self.collect(self.response_timeout if expect_answer else self.quiet_time)

    # -- link control -----------------------------------------------------------------------------

    def connect(self, proposal: HdlcParameters = NEGOTIATION_PROPOSAL) -> list[RxFrame]:
        """Send SNRM with ``proposal`` (always written out) and return the answer; when it is a
        UA, :attr:`parameters` holds its parameters (None and :attr:`ua_error` set when they do
        not decode)."""
        self.parameters = None
        self.ua_error = None
        answer = self.exchange(self.frame(u_control(FrameType.SNRM),
                                          encode_parameters(proposal)))
        ua = first_of(answer, "UA")
        if ua is not None:
            try:
                self.parameters = parameters_from_info(ua.info)
            except DecodeError as exc:
                self.ua_error = exc.message
        return answer

    def disconnect(self) -> list[RxFrame]:
        """Send DISC (best effort: transport errors are swallowed) and return the answer."""
        if not self.transport.is_open:
            return []
        try:
            return self.exchange(self.frame(u_control(FrameType.DISC)))
        except (DlmsError, OSError):
            return []

    def poll(self, n_r: int) -> list[RxFrame]:
        """RR with the poll bit and ``n_r``: the meter must answer (RR with its V(R) when it has
        nothing to send)."""
        return self.exchange(self.frame(s_control(FrameType.RR, n_r)))

    def i_frame(self, info: bytes, *, n_s: int = 0, n_r: int = 0, **options: bool) -> bytes:
        """An I-frame with the poll bit; ``info`` gets the LLC command header in front."""
        return self.frame(i_control(n_s, n_r), LLC_COMMAND + info, **options)


def first_of(frames: list[RxFrame], kind: str) -> RxFrame | None:
    """The first frame of that kind ("UA", "FRMR" …), or None."""
    return next((f for f in frames if f.kind == kind), None)


def kinds(frames: list[RxFrame]) -> str:
    """E.g. ``"UA"``, ``"I, RR"`` or ``"nothing"``."""
    return ", ".join(f.describe() for f in frames) or "nothing"
