"""Events of the HDLC link: what the user sends (``HdlcLink.send``) and what ``receive_data``
returns.

Don't subclass these: the link dispatches on their exact type.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterreader.dlms.errors import LocalProtocolError, RemoteProtocolError
from meterreader.dlms.hdlc.params import HdlcParameters


def _require_bytes(event: object, name: str) -> None:
    value = getattr(event, name)
    if isinstance(value, bytearray | memoryview):
        object.__setattr__(event, name, bytes(value))
    elif not isinstance(value, bytes):
        raise LocalProtocolError(f"{type(event).__name__}.{name} must be bytes, not {value!r}")


# -- sent by the user ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectRequest:
    """Client: send SNRM proposing ``parameters`` (default: the configured ones)."""

    parameters: HdlcParameters | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SendData:
    """Send one LSDU (an xDLMS APDU); the link adds the LLC header and segments it."""

    lsdu: bytes

    def __post_init__(self) -> None:
        _require_bytes(self, "lsdu")


@dataclass(frozen=True, slots=True, kw_only=True)
class DisconnectRequest:
    """Client: send DISC."""


# -- returned by receive_data ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Connected:
    """The link is up (client: UA received; server: SNRM received and UA queued).

    ``parameters`` are the values in force from this station's point of view.
    """

    parameters: HdlcParameters


@dataclass(frozen=True, slots=True, kw_only=True)
class DataReceived:
    """One complete, reassembled LSDU.

    With the LLC layer enabled the LLC header has been checked and removed; ``llc_ok`` is False
    when the header was missing (the LSDU is passed on whole) or had the wrong direction (removed).
    ``unnumbered`` marks data from a UI frame.
    """

    lsdu: bytes
    llc_ok: bool = True
    unnumbered: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnected:
    """The link is down: UA or DM answered our DISC, DISC received, or DM received while up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DmReceived:
    """The peer answered DM: right address, but no link (or the SNRM was refused)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrmrReceived:
    """The peer rejected one of our frames (FRMR); the link must be set up again."""

    info: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameRejected:
    """A received frame was refused (bad check sequence, out of sequence, too long, unexpected).

    Not fatal: the link recovers by retransmission. ``error.data`` holds the frame's bytes.
    """

    error: RemoteProtocolError


@dataclass(frozen=True, slots=True, kw_only=True)
class RetriesExhausted:
    """``max_retries`` timeouts in a row without progress; the link is back to DISCONNECTED."""

    retries: int


SendEvent = ConnectRequest | SendData | DisconnectRequest
ReceiveEvent = (Connected | DataReceived | Disconnected | DmReceived | FrmrReceived | FrameRejected
                | RetriesExhausted)
