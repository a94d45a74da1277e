"""Connection settings of a client :class:`~meterreader.client.session.Session`.

One frozen object holds everything a session needs besides the transport: the framing on top of
the transport (IEC 62056-47 wrapper or IEC 62056-46 HDLC), the addresses, the association
(mechanism, secrets as :class:`SecretBytes`, system title, ciphering), the timeouts, the HDLC
parameters to propose and the named meter quirks. ``ConnectionSettings.for_association("mr",
password=...)`` gives the IS 15959 presets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum, unique
from typing import Any

from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.connection_settings import (CURRENT_ASSOCIATION_LN, DEFAULT_CONFORMANCE,
                                                  MIN_PDU_SIZE, AssociationSettings)
from meterreader.dlms.cosem_time import BLUE_BOOK
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.hdlc import HdlcAddress, HdlcConfig, HdlcParameters
from meterreader.dlms.initiate import Conformance
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import AUTHENTICATED_AND_ENCRYPTED, CipheringMode, SecurityKeys
from meterreader.india.associations import (MANAGEMENT_LOGICAL_DEVICE, SERVER_PHYSICAL_ADDRESS,
                                            get_association)

__all__ = ["ConnectionSettings", "Framing", "LARGEST_HDLC_PARAMETERS", "Quirks"]

#: IEC 62056-46: the largest information field (2030 bytes fit an 11-bit frame length with 4-byte
#: addresses) and window (7, sequence numbers modulo 8) a client can propose.
LARGEST_HDLC_PARAMETERS = HdlcParameters(
    max_info_field_length_transmit=2030, max_info_field_length_receive=2030,
    window_size_transmit=7, window_size_receive=7)


@unique
class Framing(Enum):
    """What carries the APDUs over the transport."""

    WRAPPER = "wrapper"  # IEC 62056-47 (TCP/UDP)
    HDLC = "hdlc"  # IEC 62056-46 (serial, optical probe, HDLC over TCP converters)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quirks:
    """Named meter behaviours the client copes with (see /work/shared/INTEROP.md, IS15959.md).

    ``accept_malformed_rlre`` — a malformed RLRE still means "released" (several vendors).
    ``send_calling_ap_title`` — send the client system title in every AARQ (meters that expect it).
    ``ignore_invoke_id_mismatch`` — accept responses with another invoke-id (meters that always
    answer with invoke-id 0/1).
    ``range_bounds_without_deviation`` — send read-by-range bounds with deviation "not specified"
    from the start (meters that reject bounds carrying a deviation).
    ``retry_range_without_deviation`` — when the meter answers a read-by-range with an error, try
    once more with deviation "not specified" bounds (IS15959.md).
    ``max_list_items`` — most attributes per GET-with-list request (many meters refuse long lists).
    """

    accept_malformed_rlre: bool = True
    send_calling_ap_title: bool = False
    ignore_invoke_id_mismatch: bool = False
    range_bounds_without_deviation: bool = False
    retry_range_without_deviation: bool = True
    max_list_items: int = 10

    def __post_init__(self) -> None:
        for name in ("accept_malformed_rlre", "send_calling_ap_title",
                     "ignore_invoke_id_mismatch", "range_bounds_without_deviation",
                     "retry_range_without_deviation"):
            if type(getattr(self, name)) is not bool:
                raise LocalProtocolError(f"Quirks.{name} must be a bool")
        _int("Quirks", "max_list_items", self.max_list_items, 1, 255)


def _int(owner: str, name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LocalProtocolError(f"{owner}.{name} must be an int in {low}..{high}, got {value!r}")


def _seconds(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise LocalProtocolError(f"ConnectionSettings.{name} must be a positive number of "
                                 f"seconds, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionSettings:
    """How to talk to one meter (everything but the transport). Secrets never show in ``repr``.

    Addresses: ``client_sap`` (16 public, 32/48 IS 15959), ``server_logical_address`` (1 =
    management logical device; the wrapper's destination wPort), ``server_physical_address`` and
    ``address_size`` (1, 2 or 4 bytes of the HDLC server address). ``response_timeout`` is the
    wait for each answer; HDLC repeats an unanswered frame ``retries`` times (IEC 62056-46) before
    :class:`~meterreader.client.errors.MeterNotAnswering`. ``close_timeout`` bounds the release
    and disconnect in ``Session.close``. ``keep_alive_interval``: ``Session.keep_alive`` reads the
    clock when the link was idle that long (None: never). ``deviation_sign`` interprets date-time
    deviations (Blue Book: -1, i.e. IST is -330; +1 for meters that send +330).
    """

    framing: Framing = Framing.WRAPPER
    client_sap: int = 16
    server_logical_address: int = MANAGEMENT_LOGICAL_DEVICE
    server_physical_address: int = SERVER_PHYSICAL_ADDRESS
    address_size: int = 4
    mechanism: MechanismName = MechanismName.NONE
    password: SecretBytes | None = None
    hls_secret: SecretBytes | None = None
    keys: SecurityKeys = field(default_factory=SecurityKeys)
    client_system_title: bytes | None = None
    ciphering: CipheringMode | None = None
    security_control: int = AUTHENTICATED_AND_ENCRYPTED
    association_ln: Obis = CURRENT_ASSOCIATION_LN
    proposed_conformance: Conformance = DEFAULT_CONFORMANCE
    max_pdu_size: int = 0xFFFF
    response_timeout: float = 5.0
    retries: int = 3
    close_timeout: float = 2.0
    keep_alive_interval: float | None = 60.0
    hdlc_parameters: HdlcParameters = LARGEST_HDLC_PARAMETERS
    deviation_sign: int = BLUE_BOOK
    quirks: Quirks = field(default_factory=Quirks)

    def __post_init__(self) -> None:
        owner = "ConnectionSettings"
        if isinstance(self.framing, str):
            try:
                object.__setattr__(self, "framing", Framing(self.framing.lower()))
            except ValueError:
                raise LocalProtocolError(f"{owner}.framing must be 'wrapper' or 'hdlc', got "
                                         f"{self.framing!r}") from None
        if not isinstance(self.framing, Framing):
            raise LocalProtocolError(f"{owner}.framing must be a Framing, got {self.framing!r}")
        _int(owner, "client_sap", self.client_sap, 0, 0x7F)
        if self.address_size not in (1, 2, 4):
            raise LocalProtocolError(f"{owner}.address_size must be 1, 2 or 4, got "
                                     f"{self.address_size!r}")
        high = 0x3FFF if self.address_size == 4 else 0x7F
        _int(owner, "server_logical_address", self.server_logical_address, 0, high)
        if self.address_size > 1:
            _int(owner, "server_physical_address", self.server_physical_address, 0, high)
        _int(owner, "retries", self.retries, 0, 100)
        _int(owner, "max_pdu_size", self.max_pdu_size, MIN_PDU_SIZE, 0xFFFF)
        _seconds("response_timeout", self.response_timeout)
        _seconds("close_timeout", self.close_timeout)
        _seconds("keep_alive_interval", self.keep_alive_interval, optional=True)
        if not isinstance(self.hdlc_parameters, HdlcParameters):
            raise LocalProtocolError(f"{owner}.hdlc_parameters must be HdlcParameters")
        if self.deviation_sign not in (-1, 1):
            raise LocalProtocolError(f"{owner}.deviation_sign must be -1 or +1")
        if not isinstance(self.quirks, Quirks):
            raise LocalProtocolError(f"{owner}.quirks must be Quirks")
        if not isinstance(self.association_ln, Obis):
            object.__setattr__(self, "association_ln", Obis.parse(self.association_ln))
        self.association_settings()  # validates mechanism, secrets, keys and titles

    # -- derived configurations -------------------------------------------------------------------

    def association_settings(self) -> AssociationSettings:
        """The :class:`AssociationSettings` of the DlmsConnection (validated)."""
        q = self.quirks
        return AssociationSettings(
            client_sap=self.client_sap, server_logical_address=self.server_logical_address,
            mechanism=self.mechanism, password=self.password, hls_secret=self.hls_secret,
            keys=self.keys, client_system_title=self.client_system_title,
            ciphering=self.ciphering, security_control=self.security_control,
            proposed_conformance=self.proposed_conformance,
            max_receive_pdu_size=self.max_pdu_size, association_ln=self.association_ln,
            accept_malformed_rlre=q.accept_malformed_rlre,
            send_calling_ap_title=q.send_calling_ap_title,
            ignore_invoke_id_mismatch=q.ignore_invoke_id_mismatch)

    @property
    def server_address(self) -> HdlcAddress:
        """The HDLC server address (upper = logical device, lower = physical address)."""
        if self.address_size == 1:
            return HdlcAddress.server(self.server_logical_address, size=1)
        return HdlcAddress.server(self.server_logical_address, self.server_physical_address,
                                  size=self.address_size)

    def hdlc_config(self) -> HdlcConfig:
        """The :class:`HdlcConfig` of the client link (our proposal, retries)."""
        return HdlcConfig(client_address=HdlcAddress.client(self.client_sap),
                          server_address=self.server_address, parameters=self.hdlc_parameters,
                          max_retries=self.retries)

    def replace(self, **changes: Any) -> ConnectionSettings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def target(self) -> str:
        """Human text naming the addressed server, for messages."""
        if self.framing is Framing.WRAPPER:
            return f"client {self.client_sap} → logical device {self.server_logical_address}"
        return f"client {self.client_sap} → server address {self.server_address}"

    # -- presets ----------------------------------------------------------------------------------

    @classmethod
    def for_association(cls, name: str | int, *, password: bytes | str | SecretBytes | None = None,
                        key: bytes | str | SecretBytes | None = None, **overrides: Any
                        ) -> ConnectionSettings:
        """IS 15959 preset: ``"pc"`` (public, no security), ``"mr"`` (LLS ``password``) or
        ``"us"`` (HLS mechanism 2 with ``key``); the association's default secret when omitted.
        ``overrides`` set any other field (framing, addresses, timeouts …)."""
        assoc = get_association(name)
        values: dict[str, Any] = dict(client_sap=assoc.client_sap, mechanism=assoc.mechanism)
        if assoc.mechanism is MechanismName.LOW:
            values["password"] = _secret(password if password is not None
                                         else assoc.default_secret)
        elif assoc.mechanism is not MechanismName.NONE:
            secret = key if key is not None else password
            values["hls_secret"] = _secret(secret if secret is not None
                                           else assoc.default_secret)
        values.update(overrides)
        return cls(**values)


def _secret(value: bytes | str | SecretBytes) -> SecretBytes:
    if isinstance(value, SecretBytes):
        return value
    if isinstance(value, str):
        return SecretBytes(value.encode("latin-1"))
    return SecretBytes(value)
