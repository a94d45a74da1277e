"""AssociationPair: a client and a server DlmsConnection joined in memory (cf. h11
``tests/helpers.py`` ConnectionPair), plus a minimal responder playing the meter's object model.

``pair.send(role, event)`` sends from ``role``, delivers the APDU to the peer and then keeps
delivering every APDU either side queues in ``data_to_send`` (HLS pass 3/4, datablocks, block
acknowledgements) until both are quiet; the server's request events are answered by the
responder. It returns the events each side reported, and ``pair.trace`` records every APDU on the
wire as ``(sender, bytes)``. ``pair.tamper`` may rewrite an APDU in transit.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import AARQ, ApplicationContextName, MechanismName
from meterreader.dlms.axdr import D, Data
from meterreader.dlms.connection import DlmsConnection
from meterreader.dlms.connection_settings import (AssociationSettings, ClientAssociationRule,
                                                  ServerAssociationPolicy)
from meterreader.dlms.connection_state import Role
from meterreader.dlms.initiate import Conformance, InitiateRequest
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import CipheringMode, SecurityKeys

CLIENT, SERVER = Role.CLIENT, Role.SERVER


def counting_rng(seed: int = 0) -> Callable[[int], bytes]:
    """A deterministic rng(n): successive calls return different, reproducible bytes."""
    state = {"n": seed}

    def rng(n: int) -> bytes:
        state["n"] += 1
        return bytes((state["n"] * 37 + i * 11) & 0xFF for i in range(n))
    return rng


class SimpleResponder:
    """Answers request events from a dict of attribute values and a dict of methods."""

    def __init__(self, values: dict[tuple[int, Any, int], Data] | None = None,
                 methods: dict[tuple[int, Any, int], Callable[[Data | None], Any]] | None = None
                 ) -> None:
        self.values = dict(values or {})
        self.methods = dict(methods or {})
        self.requests: list[ev.Event] = []

    @staticmethod
    def _key(d: Any) -> tuple[int, Any, int]:
        member = d.attribute_id if hasattr(d, "attribute_id") else d.method_id
        return d.class_id, d.instance_id, member

    def _get(self, d: x.CosemAttributeDescriptor) -> Data | x.DataAccessResult:
        return self.values.get(self._key(d), x.DataAccessResult.OBJECT_UNDEFINED)

    def _set(self, d: x.CosemAttributeDescriptor, value: Data) -> x.DataAccessResult:
        if self._key(d) not in self.values:
            return x.DataAccessResult.OBJECT_UNDEFINED
        self.values[self._key(d)] = value
        return x.DataAccessResult.SUCCESS

    def __call__(self, event: ev.Event) -> ev.Event | None:
        self.requests.append(event)
        if isinstance(event, ev.GetRequested):
            return ev.GetResponse(invoke_id=event.invoke_id, value=self._get(event.descriptor))
        if isinstance(event, ev.GetListRequested):
            return ev.GetListResponse(invoke_id=event.invoke_id, values=tuple(
                self._get(d.cosem_attribute_descriptor) for d in event.descriptors))
        if isinstance(event, ev.SetRequested):
            return ev.SetResponse(invoke_id=event.invoke_id,
                                  result=self._set(event.descriptor, event.value))
        if isinstance(event, ev.SetListRequested):
            return ev.SetListResponse(invoke_id=event.invoke_id, results=tuple(
                self._set(d.cosem_attribute_descriptor, v)
                for d, v in zip(event.descriptors, event.values)))
        if isinstance(event, ev.ActionRequested):
            method = self.methods.get(self._key(event.descriptor))
            if method is None:
                return ev.ActionResponse(invoke_id=event.invoke_id,
                                         result=x.ActionResult.OBJECT_UNDEFINED)
            result, value = method(event.parameters)
            return ev.ActionResponse(invoke_id=event.invoke_id, result=result,
                                     return_value=value)
        return None


class AssociationPair:
    """Client and server DlmsConnection joined by an in-memory link."""

    def __init__(self, settings: AssociationSettings, policy: ServerAssociationPolicy, *,
                 client_sap: int | None = None, responder: Callable[[ev.Event], Any] | None = None,
                 client_rng: Callable[[int], bytes] | None = None,
                 server_rng: Callable[[int], bytes] | None = None) -> None:
        self.client = DlmsConnection(Role.CLIENT, settings, rng=client_rng or counting_rng(1))
        self.server = DlmsConnection(
            Role.SERVER, policy=policy,
            client_sap=settings.client_sap if client_sap is None else client_sap,
            rng=server_rng or counting_rng(100))
        self.responder = responder if responder is not None else SimpleResponder()
        self.trace: list[tuple[Role, bytes]] = []
        self.tamper: Callable[[Role, bytes], bytes] | None = None
        self._wire: deque[tuple[Role, bytes]] = deque()

    def conn(self, role: Role) -> DlmsConnection:
        return self.client if role is CLIENT else self.server

    def send(self, role: Role, event: ev.Event) -> dict[Role, list[ev.Event]]:
        """Send ``event`` from ``role`` and run the exchange until both sides are quiet."""
        self._put(role, self.conn(role).send(event))
        return self.pump()

    def _put(self, sender: Role, apdu: bytes) -> None:
        self.trace.append((sender, apdu))
        if self.tamper is not None:
            apdu = self.tamper(sender, apdu)
        self._wire.append((sender, apdu))

    def pump(self, limit: int = 10_000) -> dict[Role, list[ev.Event]]:
        events: dict[Role, list[ev.Event]] = {CLIENT: [], SERVER: []}
        for _ in range(limit):
            for role in (CLIENT, SERVER):
                for apdu in self.conn(role).data_to_send():
                    self._put(role, apdu)
            if not self._wire:
                return events
            sender, apdu = self._wire.popleft()
            receiver = sender.peer
            received = self.conn(receiver).receive_data(apdu)
            events[receiver].extend(received)
            if receiver is SERVER:
                for event in received:
                    answer = self.responder(event)
                    if answer is not None:
                        self._put(SERVER, self.server.send(answer))
        raise AssertionError("the exchange did not settle")

    def associate(self) -> dict[Role, list[ev.Event]]:
        return self.send(CLIENT, ev.Associate())

    def request(self, event: ev.Event) -> list[ev.Event]:
        """A client request; the client's events."""
        return self.send(CLIENT, event)[CLIENT]

    def sent_by(self, role: Role, tag: int | None = None) -> list[bytes]:
        """APDUs ``role`` put on the wire (with first byte ``tag`` if given)."""
        return [a for r, a in self.trace if r is role and (tag is None or a[:1] == bytes((tag,)))]


# -- recognisable secrets and ready-made configurations -------------------------------------------

PASSWORD = b"PW-SECRET-7781"
HLS_SECRET = b"HLS-SECRET-16B!!"  # 16 bytes: also an AES-128 key for mechanism 2
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")  # the published suite 0 vector keys
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
DK = bytes.fromhex("A1A2A3A4A5A6A7A8A9AAABACADAEAFB0")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
KEYS = SecurityKeys(encryption_key=SecretBytes(EK), authentication_key=SecretBytes(AK))
CLIENT_KEYS = SecurityKeys(encryption_key=SecretBytes(EK), authentication_key=SecretBytes(AK),
                           dedicated_key=SecretBytes(DK))
REGISTER = x.CosemAttributeDescriptor(class_id=3, instance_id=Obis(1, 0, 1, 8, 0, 255),
                                      attribute_id=2)
BUFFER = x.CosemAttributeDescriptor(class_id=7, instance_id=Obis(1, 0, 99, 1, 0, 255),
                                    attribute_id=2)
METHOD = x.CosemMethodDescriptor(class_id=70, instance_id=Obis(0, 0, 96, 3, 10, 255),
                                 method_id=1)


def client_settings(mechanism: MechanismName = MechanismName.NONE, *,
                    ciphering: CipheringMode | None = None, **overrides: Any
                    ) -> AssociationSettings:
    """Client settings with the recognisable secrets needed by ``mechanism``/``ciphering``."""
    values: dict[str, Any] = dict(mechanism=mechanism, ciphering=ciphering)
    if mechanism is MechanismName.LOW:
        values["password"] = SecretBytes(PASSWORD)
    if mechanism not in (MechanismName.NONE, MechanismName.LOW, MechanismName.HIGH_GMAC):
        values["hls_secret"] = SecretBytes(HLS_SECRET)
    if ciphering is not None or mechanism in (MechanismName.HIGH_GMAC,
                                              MechanismName.HIGH_SHA256):
        values["client_system_title"] = CLIENT_TITLE
        values["keys"] = CLIENT_KEYS
    values.update(overrides)
    return AssociationSettings(**values)


def server_policy(mechanism: MechanismName = MechanismName.NONE, *, ciphered: bool = False,
                  sap: int = 16, rule: dict[str, Any] | None = None, **overrides: Any
                  ) -> ServerAssociationPolicy:
    """A policy accepting client ``sap`` with ``mechanism`` and the recognisable secrets."""
    rule_values: dict[str, Any] = dict(mechanism=mechanism, ciphered=ciphered)
    if mechanism is MechanismName.LOW:
        rule_values["password"] = SecretBytes(PASSWORD)
    if mechanism not in (MechanismName.NONE, MechanismName.LOW, MechanismName.HIGH_GMAC):
        rule_values["hls_secret"] = SecretBytes(HLS_SECRET)
    rule_values.update(rule or {})
    values: dict[str, Any] = dict(clients={sap: ClientAssociationRule(**rule_values)},
                                  server_system_title=SERVER_TITLE, keys=KEYS,
                                  server_conformance=Conformance(0xFFFFFF) & ~(
                                      Conformance.RESERVED_ZERO | Conformance.RESERVED_SEVEN))
    values.update(overrides)
    return ServerAssociationPolicy(**values)


# -- shorthands for the connection tests ------------------------------------------------------------

VALUE = D.double_long_unsigned(123456)


def make_pair(mechanism: MechanismName = MechanismName.NONE,
              ciphering: CipheringMode | None = None, *, client: dict | None = None,
              rule: dict | None = None, policy: dict | None = None, **kw: Any
              ) -> AssociationPair:
    """A pair whose responder knows REGISTER (= VALUE)."""
    settings = client_settings(mechanism, ciphering=ciphering, **(client or {}))
    return AssociationPair(settings, server_policy(mechanism, ciphered=ciphering is not None,
                                                   rule=rule, **(policy or {})),
                           responder=SimpleResponder({(3, REGISTER.instance_id, 2): VALUE}),
                           **kw)


def make_server(mechanism: MechanismName = MechanismName.NONE, **kw: Any) -> DlmsConnection:
    """A lone server for client SAP 16 (challenges are zero bytes)."""
    return DlmsConnection(Role.SERVER, policy=server_policy(mechanism, **kw), client_sap=16,
                          rng=lambda n: bytes(n))


def raw_aarq(**fields: Any) -> bytes:
    """An AARQ built by hand (LN, plain InitiateRequest 0x007E1F / 0x400 unless overridden)."""
    values: dict[str, Any] = dict(
        application_context_name=ApplicationContextName.LN,
        user_information=InitiateRequest(proposed_conformance=Conformance(0x007E1F),
                                          client_max_receive_pdu_size=0x400).encode())
    values.update(fields)
    return AARQ(**values).encode()
