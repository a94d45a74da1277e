"""Configuration of a :class:`~meterreader.dlms.connection.DlmsConnection`.

* :class:`AssociationSettings` — what a client proposes (frozen, validated on construction).
* :class:`ServerAssociationPolicy` with one :class:`ClientAssociationRule` per client SAP — what a
  server (the meter simulator) accepts.

Secrets (LLS password, HLS secret, keys) are :class:`~meterreader.dlms.secret.SecretBytes`
(plain ``bytes`` are wrapped on construction), so ``repr`` of these objects never shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, unique
from types import MappingProxyType
from typing import Any, Mapping, MutableMapping, NoReturn

from meterreader.cosem.obis import Obis
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.errors import LocalProtocolError
from meterreader.dlms.initiate import VAA_NAME_LN, Conformance
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import (AUTHENTICATED_AND_ENCRYPTED, CipheringMode,
                                       SecurityControl, SecurityKeys)
from meterreader.dlms.security_counters import InvocationCounter, ReplayGuard
from meterreader.dlms.security_hls import ECDSA_UNSUPPORTED_TEXT

C = Conformance
#: The usual LN client proposal 0x007E1F: priority management, attribute0 with GET, block
#: transfer with GET/SET/ACTION, multiple references, GET, SET, selective access, event
#: notification, ACTION.
DEFAULT_CONFORMANCE = (C.PRIORITY_MGMT_SUPPORTED | C.ATTRIBUTE0_SUPPORTED_WITH_GET
                       | C.BLOCK_TRANSFER_WITH_GET_OR_READ | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE
                       | C.BLOCK_TRANSFER_WITH_ACTION | C.MULTIPLE_REFERENCES | C.GET | C.SET
                       | C.SELECTIVE_ACCESS | C.EVENT_NOTIFICATION | C.ACTION)
#: "Current association" logical name; IS 15959 meters accept it for HLS pass 3.
CURRENT_ASSOCIATION_LN = Obis(0, 0, 40, 0, 0, 255)
HLS_MECHANISMS = frozenset({MechanismName.HIGH, MechanismName.HIGH_MD5, MechanismName.HIGH_SHA1,
                            MechanismName.HIGH_GMAC, MechanismName.HIGH_SHA256})
#: Mechanisms whose HLS function uses a shared secret (5 uses the keys instead).
SECRET_MECHANISMS = HLS_MECHANISMS - {MechanismName.HIGH_GMAC}
#: Mechanisms that need both system titles (exchanged in the AARQ/AARE AP titles).
TITLE_MECHANISMS = frozenset({MechanismName.HIGH_GMAC, MechanismName.HIGH_SHA256})
SUPPORTED_MECHANISMS = HLS_MECHANISMS | {MechanismName.NONE, MechanismName.LOW}
#: Smallest max-receive-PDU-size accepted from a peer or in our settings (the fixed parts of a
#: datablock APDU plus the ciphering overhead must fit with room for data).
MIN_PDU_SIZE = 64


@unique
class Referencing(Enum):
    LN = "logical name"
    SN = "short name"


def _fail(owner: str, message: str) -> NoReturn:
    raise LocalProtocolError(f"{owner}: {message}")


def _int(owner: str, name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(owner, f"{name} must be an int in {low}..{high}, got {value!r}")


def _secret(obj: Any, name: str) -> None:
    value = getattr(obj, name)
    if isinstance(value, (bytes, bytearray)):
        object.__setattr__(obj, name, SecretBytes(value))
    elif value is not None and not isinstance(value, SecretBytes):
        _fail(type(obj).__name__, f"{name} must be SecretBytes, got {type(value).__name__}")


def _title(owner: str, name: str, value: Any) -> None:
    if value is not None and (type(value) is not bytes or len(value) != 8):
        _fail(owner, f"{name} must be 8 bytes, got {value!r}")


def _mechanism(obj: Any) -> MechanismName:
    owner = type(obj).__name__
    try:
        mechanism = MechanismName(obj.mechanism)
    except ValueError:
        _fail(owner, f"unknown authentication mechanism {obj.mechanism!r}")
    if mechanism is MechanismName.HIGH_ECDSA:
        _fail(owner, ECDSA_UNSUPPORTED_TEXT)
    if mechanism not in SUPPORTED_MECHANISMS:
        _fail(owner, f"mechanism {mechanism.value} ({mechanism.name}) is not supported")
    object.__setattr__(obj, "mechanism", mechanism)
    if mechanism is MechanismName.LOW and not obj.password:
        _fail(owner, "LLS (mechanism 1) needs a password")
    if mechanism in SECRET_MECHANISMS and not obj.hls_secret:
        _fail(owner, f"HLS mechanism {mechanism.value} needs hls_secret")
    return mechanism


def _keys_for(owner: str, keys: SecurityKeys, ciphering: bool, mechanism: MechanismName,
              security_control: int) -> None:
    if ciphering or mechanism is MechanismName.HIGH_GMAC:
        if keys.encryption_key is None:
            _fail(owner, "ciphering and HLS-GMAC need keys.encryption_key")
        if keys.authentication_key is None and (
                mechanism is MechanismName.HIGH_GMAC or security_control & 0x10):
            _fail(owner, "authenticated ciphering and HLS-GMAC need keys.authentication_key")


@dataclass(frozen=True, slots=True, kw_only=True)
class AssociationSettings:
    """What a client proposes in its AARQ, and how it protects its APDUs.

    ``ciphering`` None = no ciphering (application context LN); a CipheringMode = context
    LN-with-ciphering, the InitiateRequest is glo-ciphered (general-glo-ciphered in the GENERAL_*
    modes) and every service APDU is protected with ``security_control`` in that mode. DEDICATED
    modes send ``keys.dedicated_key`` in the InitiateRequest, which is then always authenticated
    AND encrypted (0x30) whatever ``security_control`` says, so they need both EK and AK.

    ``invocation_counter_start`` is the last counter value already used under these keys (the
    first APDU uses start + 1). The IV is system title || counter, so a counter value must never
    be used twice with one key, across sessions too: persist ``DlmsConnection.invocation_counter``
    after each session and pass it back here for the next one (a meter that remembers the last
    counter it accepted refuses a smaller one as a replay).
    ``server_logical_address`` / ``server_physical_address`` are informational (the driver
    addresses the server; 256 is a common HDLC physical address).

    Quirks (named meter behaviours, see /work/shared/INTEROP.md):
    ``accept_malformed_rlre`` — some servers send an RLRE with a wrong length byte: treat any
    APDU starting 0x63 that fails to decode as "released" (``Released.malformed`` = True).
    ``send_calling_ap_title`` — send the client system title even without ciphering or
    mechanism 5/6 (some meters expect it). ``ignore_invoke_id_mismatch`` — accept responses whose
    invoke-id differs from the request's (meters that always answer with invoke-id 0/1).
    """

    client_sap: int = 16
    server_logical_address: int = 1  # informational: the driver addresses the server
    server_physical_address: int = 256  # informational, as server_logical_address
    referencing: Referencing = Referencing.LN
    mechanism: MechanismName = MechanismName.NONE
    password: SecretBytes | None = None
    hls_secret: SecretBytes | None = None
    keys: SecurityKeys = field(default_factory=SecurityKeys)
    client_system_title: bytes | None = None
    ciphering: CipheringMode | None = None
    security_control: int = AUTHENTICATED_AND_ENCRYPTED
    proposed_conformance: Conformance = DEFAULT_CONFORMANCE
    max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = 6
    invoke_id_start: int = 1
    high_priority: bool = True
    invocation_counter_start: int = 0
    association_ln: Obis = CURRENT_ASSOCIATION_LN
    challenge_length: int = 16
    accept_malformed_rlre: bool = True
    send_calling_ap_title: bool = False
    ignore_invoke_id_mismatch: bool = False

    def __post_init__(self) -> None:
        owner = "AssociationSettings"
        if self.referencing is not Referencing.LN:
            _fail(owner, "short name (SN) referencing is not supported; use logical names (LN)")
        _int(owner, "client_sap", self.client_sap, 0, 0x7F)
        _int(owner, "server_logical_address", self.server_logical_address, 0, 0x3FFF)
        _int(owner, "server_physical_address", self.server_physical_address, 0, 0x3FFF)
        _secret(self, "password")
        _secret(self, "hls_secret")
        mechanism = _mechanism(self)
        if not isinstance(self.keys, SecurityKeys):
            _fail(owner, f"keys must be SecurityKeys, got {type(self.keys).__name__}")
        _title(owner, "client_system_title", self.client_system_title)
        if self.ciphering is not None and not isinstance(self.ciphering, CipheringMode):
            _fail(owner, f"ciphering must be a CipheringMode or None, got {self.ciphering!r}")
        _int(owner, "security_control", self.security_control, 0, 0xFF)
        control = SecurityControl.from_byte(self.security_control)
        if self.ciphering is not None and not (control.authenticated or control.encrypted):
            _fail(owner, "ciphering needs a security_control with authentication/encryption")
        if self.ciphering is not None or mechanism in TITLE_MECHANISMS \
                or self.send_calling_ap_title:
            if self.client_system_title is None:
                _fail(owner, "ciphering, mechanisms 5/6 and send_calling_ap_title need "
                             "client_system_title")
        _keys_for(owner, self.keys, self.ciphering is not None, mechanism, self.security_control)
        if self.ciphering in (CipheringMode.DEDICATED, CipheringMode.GENERAL_DEDICATED):
            if self.keys.dedicated_key is None:
                _fail(owner, "dedicated ciphering needs keys.dedicated_key")
            if self.keys.authentication_key is None:
                _fail(owner, "dedicated ciphering needs keys.authentication_key: the "
                             "InitiateRequest carrying the dedicated key is always "
                             "authenticated and encrypted")
        _int(owner, "proposed_conformance", int(self.proposed_conformance), 0, 0xFFFFFF)
        object.__setattr__(self, "proposed_conformance", Conformance(self.proposed_conformance))
        _int(owner, "max_receive_pdu_size", self.max_receive_pdu_size, 0, 0xFFFF)
        if 0 < self.max_receive_pdu_size < MIN_PDU_SIZE:
            _fail(owner, f"max_receive_pdu_size must be 0 (no limit) or >= {MIN_PDU_SIZE}")
        _int(owner, "dlms_version", self.dlms_version, 6, 255)
        _int(owner, "invoke_id_start", self.invoke_id_start, 0, 15)
        _int(owner, "invocation_counter_start", self.invocation_counter_start, 0, 0xFFFFFFFE)
        _int(owner, "challenge_length", self.challenge_length, 8, 64)
        if mechanism is MechanismName.HIGH and self.challenge_length % 16:
            _fail(owner, "HLS mechanism 2 (AES-128-ECB) needs a challenge length of 16, 32 or 48")
        if not isinstance(self.association_ln, Obis):
            _fail(owner, "association_ln must be an Obis")
        for flag in ("high_priority", "accept_malformed_rlre", "send_calling_ap_title",
                     "ignore_invoke_id_mismatch"):
            if type(getattr(self, flag)) is not bool:
                _fail(owner, f"{flag} must be a bool")

    @property
    def effective_conformance(self) -> Conformance:
        """The block actually proposed: general-protection is added for the GENERAL_* modes."""
        if self.ciphering in (CipheringMode.GENERAL_GLOBAL, CipheringMode.GENERAL_DEDICATED):
            return self.proposed_conformance | Conformance.GENERAL_PROTECTION
        return self.proposed_conformance


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientAssociationRule:
    """What a server requires from the client on one SAP.

    ``ciphered`` True = the AARQ must propose LN-with-ciphering and every service APDU must be
    protected with at least ``required_security_control``'s protection bits.
    ``conformance`` None = the policy's ``server_conformance``."""

    mechanism: MechanismName = MechanismName.NONE
    password: SecretBytes | None = None
    hls_secret: SecretBytes | None = None
    ciphered: bool = False
    required_security_control: int = AUTHENTICATED_AND_ENCRYPTED
    conformance: Conformance | None = None

    def __post_init__(self) -> None:
        _secret(self, "password")
        _secret(self, "hls_secret")
        _mechanism(self)
        if type(self.ciphered) is not bool:
            _fail("ClientAssociationRule", "ciphered must be a bool")
        _int("ClientAssociationRule", "required_security_control",
             self.required_security_control, 0, 0xFF)
        if self.conformance is not None:
            object.__setattr__(self, "conformance", Conformance(self.conformance))


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerAssociationPolicy:
    """What a server accepts: ``clients`` maps a client SAP to its rule.

    The negotiated conformance is the client's proposal AND the rule's (or server's) block; the
    server answers with ``server_max_receive_pdu_size`` and never sends an APDU longer than
    min(client's max receive PDU size, ours). ``invocation_counter_start`` as for the client.

    State shared by every connection of one meter (pass the same objects to each new
    DlmsConnection; the policy stays frozen, these objects are updated in place):
    ``replay_guards`` maps a client system title to the :class:`ReplayGuard` of its invocation
    counters, so that an AARQ or request captured from one connection and replayed into a new
    one is refused (None = each connection starts a fresh guard: replays into a new connection
    go unnoticed). ``shared_invocation_counter`` is our sending counter across connections
    (None = each connection starts from ``invocation_counter_start``)."""

    clients: Mapping[int, ClientAssociationRule]
    server_conformance: Conformance = DEFAULT_CONFORMANCE
    server_max_receive_pdu_size: int = 0xFFFF
    server_system_title: bytes | None = None
    keys: SecurityKeys = field(default_factory=SecurityKeys)
    invocation_counter_start: int = 0
    association_ln: Obis = CURRENT_ASSOCIATION_LN
    dlms_version: int = 6
    vaa_name: int = VAA_NAME_LN
    challenge_length: int = 16
    replay_guards: MutableMapping[bytes, ReplayGuard] | None = None
    shared_invocation_counter: InvocationCounter | None = None

    def __post_init__(self) -> None:
        owner = "ServerAssociationPolicy"
        if self.replay_guards is not None and not isinstance(self.replay_guards, MutableMapping):
            _fail(owner, "replay_guards must be a dict (system title → ReplayGuard) or None")
        if self.shared_invocation_counter is not None and not isinstance(
                self.shared_invocation_counter, InvocationCounter):
            _fail(owner, "shared_invocation_counter must be an InvocationCounter or None")
        if not isinstance(self.clients, Mapping) or not all(
                isinstance(k, int) and isinstance(v, ClientAssociationRule)
                for k, v in self.clients.items()):
            _fail(owner, "clients must map client SAP (int) → ClientAssociationRule")
        object.__setattr__(self, "clients", MappingProxyType(dict(self.clients)))
        object.__setattr__(self, "server_conformance", Conformance(self.server_conformance))
        _int(owner, "server_max_receive_pdu_size", self.server_max_receive_pdu_size,
             MIN_PDU_SIZE, 0xFFFF)
        _title(owner, "server_system_title", self.server_system_title)
        if not isinstance(self.keys, SecurityKeys):
            _fail(owner, "keys must be SecurityKeys")
        _int(owner, "invocation_counter_start", self.invocation_counter_start, 0, 0xFFFFFFFE)
        _int(owner, "dlms_version", self.dlms_version, 6, 255)
        _int(owner, "vaa_name", self.vaa_name, 0, 0xFFFF)
        _int(owner, "challenge_length", self.challenge_length, 8, 64)
        for sap, rule in self.clients.items():
            if rule.mechanism is MechanismName.HIGH and self.challenge_length % 16:
                _fail(owner, f"client SAP {sap}: HLS mechanism 2 (AES-128-ECB) needs a "
                             "challenge_length of 16, 32 or 48")
            needs_title = rule.ciphered or rule.mechanism in TITLE_MECHANISMS
            if needs_title and self.server_system_title is None:
                _fail(owner, f"client SAP {sap}: ciphering/mechanism 5/6 needs "
                             "server_system_title")
            _keys_for(owner, self.keys, rule.ciphered, rule.mechanism,
                      rule.required_security_control)

    def replay_guard_for(self, client_system_title: bytes) -> ReplayGuard | None:
        """The shared ReplayGuard of a client system title (created on first use), or None
        without ``replay_guards``."""
        if self.replay_guards is None:
            return None
        return self.replay_guards.setdefault(bytes(client_system_title), ReplayGuard())
