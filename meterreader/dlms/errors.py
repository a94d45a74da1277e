"""Typed errors of the protocol core.

Every decoder raises only members of the :class:`DlmsError` family. Errors caused by bytes from the
peer are :class:`RemoteProtocolError` and carry the offending bytes, the offset at which decoding
failed and a :class:`Reason`; errors caused by our own misuse are :class:`LocalProtocolError`
(cf. h11 ``LocalProtocolError``/``RemoteProtocolError``).
"""

from __future__ import annotations

from enum import Enum, unique


@unique
class Reason(Enum):
    """Why a piece of received data was refused."""

    TRUNCATED = "truncated"  # the data ended before the structure did
    UNKNOWN_TAG = "unknown tag"  # a tag/choice value the standard does not define
    BAD_LENGTH = "bad length"  # a length field that is impossible or inconsistent
    BAD_VALUE = "bad value"  # a field whose value is out of range
    BAD_HCS = "bad HCS"  # HDLC header check sequence mismatch
    BAD_FCS = "bad FCS"  # HDLC frame check sequence mismatch
    BAD_FLAG = "bad flag"  # HDLC frame not opened/closed by 0x7E
    BAD_FORMAT = "bad frame format"  # HDLC frame format field is not type 3
    BAD_ADDRESS = "bad address"  # HDLC address field malformed or not ours
    BAD_CONTROL = "bad control field"  # HDLC control field unknown
    SEQUENCE_ERROR = "sequence error"  # HDLC N(S)/N(R) out of sequence
    UNEXPECTED = "unexpected"  # a valid PDU that is not allowed in the current state
    TOO_LONG = "too long"  # longer than a negotiated or configured limit
    TRAILING_DATA = "trailing data"  # bytes left after a complete structure
    WRAPPER_VERSION = "bad wrapper version"  # IEC 62056-47 version is not 1


class DlmsError(Exception):
    """Base of every error raised by meterreader's protocol core."""


class LocalProtocolError(DlmsError):
    """We were asked to do something the protocol does not allow (our bug or bad input)."""


class RemoteProtocolError(DlmsError):
    """Bytes received from the peer violate the protocol.

    ``data`` is the whole offending frame/APDU/value, ``offset`` the byte index in ``data`` at which
    the problem was found, ``reason`` the kind of problem.
    """

    def __init__(self, message: str, *, data: bytes = b"", offset: int = 0,
                 reason: Reason = Reason.BAD_VALUE) -> None:
        self.message = message
        self.data = bytes(data)
        self.offset = offset
        self.reason = reason
        super().__init__(self.__str__())

    def __str__(self) -> str:
        shown = self.data[:64].hex(" ").upper()
        more = " …" if len(self.data) > 64 else ""
        return f"{self.message} (at byte {self.offset}; {self.reason.value}; data: {shown}{more})"


class DecodeError(RemoteProtocolError):
    """A value or PDU could not be decoded (a RemoteProtocolError raised by a pure codec)."""
