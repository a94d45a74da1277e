"""IEC 62056-47 wrapper (DLMS/COSEM transport over TCP/UDP), sans-IO.

Theory of operation: every APDU is preceded by an 8-byte header — version (always 1), source wPort,
destination wPort and the APDU length, each a big-endian uint16 (IEC 62056-47 §5.3). TCP delivers a
byte stream, so :class:`WrapperReader` reassembles whole packets from arbitrary read splits.
:class:`WrapperLink` adds the addressing: it is fed bytes with ``receive_data`` and returns events
(h2 style: a list, empty means "need more"); ``send(data)`` returns the bytes of one packet.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum, unique

from .errors import DecodeError, LocalProtocolError, Reason

WRAPPER_VERSION = 1
HEADER = struct.Struct(">HHHH")
HEADER_LENGTH = HEADER.size
DEFAULT_PORT = 4059  # IANA "dlms-cosem" TCP/UDP port


@dataclass(frozen=True, slots=True, kw_only=True)
class WrapperFrame:
    """One wrapper packet: header fields and the APDU it carries."""

    source_wport: int
    destination_wport: int
    data: bytes
    version: int = WRAPPER_VERSION

    def encode(self) -> bytes:
        if not 0 <= len(self.data) <= 0xFFFF:
            raise LocalProtocolError(f"APDU of {len(self.data)} bytes does not fit a wrapper packet")
        for name in ("source_wport", "destination_wport", "version"):
            if not 0 <= getattr(self, name) <= 0xFFFF:
                raise LocalProtocolError(f"wrapper {name} out of range: {getattr(self, name)}")
        return HEADER.pack(self.version, self.source_wport, self.destination_wport,
                           len(self.data)) + self.data

    @classmethod
    def decode(cls, data: bytes, offset: int = 0, *, max_length: int = 0xFFFF
               ) -> tuple["WrapperFrame", int]:
        """Decode one packet at ``offset``; returns ``(frame, new_offset)``.

        Raises DecodeError TRUNCATED when fewer bytes than the header announces are present.
        """
        buf = memoryview(data)
        if len(buf) - offset < HEADER_LENGTH:
            raise DecodeError("wrapper header needs 8 bytes", data=bytes(buf[offset:]),
                              offset=len(buf) - offset, reason=Reason.TRUNCATED)
        version, source, destination, length = HEADER.unpack_from(buf, offset)
        # IEC 62056-47 §5.3: the version field is 0x0001 for this edition.
        if version != WRAPPER_VERSION:
            raise DecodeError(f"wrapper version {version}, expected {WRAPPER_VERSION}",
                              data=bytes(buf[offset:offset + HEADER_LENGTH]), offset=0,
                              reason=Reason.WRAPPER_VERSION)
        if length > max_length:
            raise DecodeError(f"wrapper length {length} exceeds the limit of {max_length}",
                              data=bytes(buf[offset:offset + HEADER_LENGTH]), offset=6,
                              reason=Reason.TOO_LONG)
        end = offset + HEADER_LENGTH + length
        if end > len(buf):
            raise DecodeError(f"wrapper packet announces {length} bytes, "
                              f"{len(buf) - offset - HEADER_LENGTH} present",
                              data=bytes(buf[offset:]), offset=len(buf) - offset,
                              reason=Reason.TRUNCATED)
        return cls(version=version, source_wport=source, destination_wport=destination,
                   data=bytes(buf[offset + HEADER_LENGTH:end])), end


class WrapperReader:
    """Reassembles wrapper packets from a TCP byte stream.

    ``feed(data)`` returns every packet that ``data`` completed (possibly none). A header with a
    wrong version or an over-long length cannot be resynchronised on a stream, so it raises
    DecodeError and the reader refuses further input. Packets completed before the bad header
    are returned first and the error is raised by the next call, so what is delivered does not
    depend on how the stream was split.
    """

    def __init__(self, *, max_length: int = 0xFFFF) -> None:
        self.max_length = max_length
        self._buffer = bytearray()
        self._failed: DecodeError | None = None

    @property
    def pending(self) -> int:
        """Number of buffered bytes that do not yet form a packet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[WrapperFrame]:
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        frames: list[WrapperFrame] = []
        offset = 0
        buf = bytes(self._buffer)
        while len(buf) - offset >= HEADER_LENGTH:
            version, _, _, length = HEADER.unpack_from(buf, offset)
            complete = len(buf) - offset >= HEADER_LENGTH + length
            if not complete and version == WRAPPER_VERSION and length <= self.max_length:
                break  # a valid header whose APDU has not fully arrived yet
            try:
                frame, offset = WrapperFrame.decode(buf, offset, max_length=self.max_length)
            except DecodeError as exc:
                self._failed = exc
                if not frames:
                    raise
                break  # deliver the packets completed before it; the next feed raises
            frames.append(frame)
        del self._buffer[:offset]
        return frames


@unique
class Role(Enum):
    """Which end of the association this wrapper endpoint is."""

    CLIENT = "client"
    SERVER = "server"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApduReceived:
    """Event: one complete APDU arrived from the peer."""

    data: bytes
    source_wport: int
    destination_wport: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PacketIgnored:
    """Event: a packet for another wPort pair arrived and was dropped (a real meter stays silent)."""

    frame: WrapperFrame


class WrapperLink:
    """One wrapper association endpoint: our wPort and the peer's wPort (client SAP / server SAP).

    IEC 62056-47 §5.2: the client's wPort is its client SAP, the server's wPort its logical device
    address. A server endpoint built with ``peer_wport=None`` accepts any client and answers it.
    """

    def __init__(self, *, role: Role, local_wport: int, peer_wport: int | None,
                 max_length: int = 0xFFFF) -> None:
        self.role = role
        self.local_wport = local_wport
        self.peer_wport = peer_wport
        self._reader = WrapperReader(max_length=max_length)

    def send(self, apdu: bytes, *, peer_wport: int | None = None) -> bytes:
        destination = self.peer_wport if peer_wport is None else peer_wport
        if destination is None:
            raise LocalProtocolError("no destination wPort known yet")
        return WrapperFrame(source_wport=self.local_wport, destination_wport=destination,
                            data=bytes(apdu)).encode()

    def receive_data(self, data: bytes) -> list[ApduReceived | PacketIgnored]:
        events: list[ApduReceived | PacketIgnored] = []
        for frame in self._reader.feed(data):
            ours = frame.destination_wport == self.local_wport and (
                self.peer_wport is None or frame.source_wport == self.peer_wport)
            if ours:
                events.append(ApduReceived(data=frame.data, source_wport=frame.source_wport,
                                           destination_wport=frame.destination_wport))
            else:
                events.append(PacketIgnored(frame=frame))
        return events
