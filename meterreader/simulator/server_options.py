"""Options of the simulated meter's protocol side (:class:`ServerOptions`), used by
:mod:`.server` (which re-exports every name here) and :mod:`.media`.

Limits against a hostile or broken client (see README "Security model"):

* ``max_pdu_size`` — the server's max receive PDU size (AARE); a longer request is answered
  with ExceptionResponse pdu-too-long, and an HDLC segmented transfer longer than this (plus
  the LLC header and the ciphering overhead) is not collected: the link is dropped.
* ``max_clients`` — concurrent TCP connections over all TCP listeners of one meter; a
  connection beyond that is closed at once.
* ``idle_timeout`` — seconds without a byte after which a TCP connection is closed (the
  Green Book TCP-UDP setup inactivity time-out); ``inactivity_timeout`` is the HDLC one.
* ``replay_guard`` — remember the ciphered client's invocation counters across connections,
  so an APDU captured from an earlier connection is refused in a later one too (a client
  must then continue its counter, as with a real meter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, unique

from meterreader.dlms.hdlc import HdlcParameters
from meterreader.dlms.secret import SecretBytes

from .defects import parse_defects

__all__ = ["CipheredClient", "DEFAULT_IDENTIFICATION", "DEFAULT_IDLE_TIMEOUT",
           "DEFAULT_INACTIVITY_TIMEOUT", "DEFAULT_MAX_CLIENTS", "Framing", "ServerOptions"]

#: IEC 62056-21 identification message: manufacturer "MRD", baud character 5 (9600 Bd),
#: enhanced identification "\2" (binary mode, HDLC), then the meter's identification.
DEFAULT_IDENTIFICATION = b"/MRD5\\2@IS15959SIM\r\n"
#: Default inactivity time-out of HDLC lines (seconds).
DEFAULT_INACTIVITY_TIMEOUT = 120.0
#: Default idle time-out of TCP connections (seconds).
DEFAULT_IDLE_TIMEOUT = 300.0
#: Default number of concurrent TCP connections one meter serves.
DEFAULT_MAX_CLIENTS = 16


@unique
class Framing(Enum):
    WRAPPER = "wrapper"  # IEC 62056-47, TCP
    HDLC = "hdlc"  # IEC 62056-46, serial line or raw TCP


@dataclass(frozen=True, slots=True, kw_only=True)
class CipheredClient:
    """The optional ciphered association: HLS-GMAC (mechanism 5) and suite 0 global ciphering
    for ``client_sap``, with the rights of ``association_name``'s object list."""

    client_sap: int = 64
    encryption_key: SecretBytes
    authentication_key: SecretBytes
    system_title: bytes  # the server's (8 bytes)
    association_name: str = "US"


def _seconds(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or value <= 0):
        raise ValueError(f"{name} must be a positive number of seconds or None, not {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerOptions:
    """Addressing and limits of the simulated meter."""

    physical_address: int = 256
    ciphered: CipheredClient | None = None
    max_pdu_size: int = 0xFFFF
    hdlc_parameters: HdlcParameters = field(default_factory=lambda: HdlcParameters(
        max_info_field_length_transmit=1024, max_info_field_length_receive=1024,
        window_size_transmit=7, window_size_receive=7))
    mode_e: bool = False
    #: Mode E only: HDLC before the sign-on is ignored (implies ``mode_e``).
    mode_e_only: bool = False
    identification: bytes = DEFAULT_IDENTIFICATION
    #: Seconds without a byte from the client after which an HDLC line drops its links and,
    #: with mode E, expects a new sign-on (IEC 62056-46 inactivity time-out); None = never.
    inactivity_timeout: float | None = DEFAULT_INACTIVITY_TIMEOUT
    #: Seconds without a byte after which a TCP connection is closed; None = never.
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    #: Concurrent TCP connections (all TCP listeners together); more are closed at once.
    max_clients: int = DEFAULT_MAX_CLIENTS
    #: Ciphered client: invocation counters are checked across connections (see module doc).
    replay_guard: bool = False
    #: Defect switches of the protocol side (names of :data:`.defects.DEFECTS`).
    defects: frozenset[str] = frozenset()
    #: HDLC server address sizes (bytes) the meter answers; frames with another size: silence.
    address_sizes: tuple[int, ...] = (1, 2, 4)
    #: Wrapper port: bytes that are not a wrapper packet (an HDLC probe) are discarded without an
    #: answer and the connection stays open; default: the meter closes the connection.
    wrapper_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "defects", parse_defects(self.defects))
        if self.mode_e_only:
            object.__setattr__(self, "mode_e", True)
        sizes = tuple(self.address_sizes)
        if not sizes or any(size not in (1, 2, 4) for size in sizes):
            raise ValueError(f"address_sizes must be among 1, 2 and 4, not {sizes!r}")
        object.__setattr__(self, "address_sizes", sizes)
        _seconds("inactivity_timeout", self.inactivity_timeout)
        _seconds("idle_timeout", self.idle_timeout)
        clients = self.max_clients
        if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
            raise ValueError(f"max_clients must be a positive int, not {clients!r}")
