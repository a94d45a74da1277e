"""A small test-only DLMS client built from our sans-IO layers, for the simulator tests.

``SimClient`` drives an HdlcLink (client) or a wrapper client plus a DlmsConnection (client) over
a TCP socket or a pty file descriptor, with blocking reads and timeouts: enough to associate,
GET/SET/ACTION, release and observe what the simulator and its faults do (retransmissions,
rejected frames, timeouts, lost connections).
"""

from __future__ import annotations

import os
import select
import socket
import time
import tty
from typing import Any

from meterreader.cosem.obis import Obis
from meterreader.dlms import connection_events as ev
from meterreader.dlms import xdlms as x
from meterreader.dlms.acse import MechanismName
from meterreader.dlms.connection import DlmsConnection, Role as DlmsRole
from meterreader.dlms.connection_settings import AssociationSettings
from meterreader.dlms.hdlc import (ConnectRequest, Connected, DataReceived, DisconnectRequest,
                                   Disconnected, DmReceived, FrameRejected, HdlcAddress,
                                   HdlcConfig, HdlcLink, HdlcParameters, RetriesExhausted, Role,
                                   SendData)
from meterreader.dlms.secret import SecretBytes
from meterreader.dlms.security import CipheringMode, SecurityKeys
from meterreader.dlms.wrapper import ApduReceived, Role as WrapperRole, WrapperLink

FINAL = (ev.AssociationAccepted, ev.AssociationRejected, ev.GetResult, ev.GetListResult,
         ev.SetResult, ev.SetListResult, ev.ActionResult, ev.ServiceError, ev.Released)

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")


class LineTimeout(Exception):
    """Nothing (complete) arrived in time."""


class LineLost(Exception):
    """The peer closed or reset the connection."""


class LinkDown(Exception):
    """The HDLC server answered DM / the link went down."""


class SocketLine:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def connect(cls, port: int, host: str = "127.0.0.1") -> "SocketLine":
        return cls(socket.create_connection((host, port), timeout=5))

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            data = self.sock.recv(65536)
        except ConnectionError as exc:
            raise LineLost(str(exc)) from None
        if not data:
            raise LineLost("connection closed by the simulator")
        return data

    def close(self) -> None:
        self.sock.close()


class FdLine:
    """The slave side of the simulator's pty."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        return os.read(self.fd, 65536) if ready else b""

    def close(self) -> None:
        os.close(self.fd)


def settings_for(association: str, *, password: bytes = b"12345678",
                 hls_key: bytes = b"1111111111111111", pdu: int = 0xFFFF,
                 ciphered_sap: int = 64) -> AssociationSettings:
    """Client settings of the IS 15959 associations ("PC", "MR", "US") or "CIPHERED"."""
    if association == "PC":
        return AssociationSettings(client_sap=16, max_receive_pdu_size=pdu)
    if association == "MR":
        return AssociationSettings(client_sap=32, mechanism=MechanismName.LOW,
                                   password=SecretBytes(password), max_receive_pdu_size=pdu)
    if association == "US":
        return AssociationSettings(client_sap=48, mechanism=MechanismName.HIGH,
                                   hls_secret=SecretBytes(hls_key), max_receive_pdu_size=pdu)
    return AssociationSettings(
        client_sap=ciphered_sap, mechanism=MechanismName.HIGH_GMAC,
        ciphering=CipheringMode.GLOBAL, client_system_title=CLIENT_TITLE,
        keys=SecurityKeys(encryption_key=SecretBytes(EK), authentication_key=SecretBytes(AK)),
        max_receive_pdu_size=pdu)


class SimClient:
    """One client association over ``line`` (see the module docstring)."""

    def __init__(self, line: Any, settings: AssociationSettings, *, hdlc: bool = False,
                 logical: int = 1, physical: int | None = 256, address_size: int | None = None,
                 parameters: HdlcParameters | None = None, timeout: float = 2.0,
                 max_retries: int = 3) -> None:
        self.line, self.settings, self.hdlc, self.timeout = line, settings, hdlc, timeout
        self.conn = DlmsConnection(DlmsRole.CLIENT, settings, rng=lambda n: bytes(
            (i * 7 + 3) & 0xFF for i in range(n)))
        self.timeouts = 0  # HDLC timeouts (each one a retransmission or poll)
        self.rejected: list[FrameRejected] = []
        self.events: list[Any] = []  # link events
        self.dlms_events: list[Any] = []  # connection events (BlockReceived progress too)
        if hdlc:
            server = HdlcAddress.server(logical, physical, size=address_size)
            self.link: Any = HdlcLink(Role.CLIENT, HdlcConfig(
                client_address=HdlcAddress.client(settings.client_sap), server_address=server,
                parameters=parameters or HdlcParameters(), max_retries=max_retries))
        else:
            self.link = WrapperLink(role=WrapperRole.CLIENT, local_wport=settings.client_sap,
                                    peer_wport=logical)
        self._apdus: list[bytes] = []

    # -- framing --

    def _send_apdu(self, apdu: bytes) -> None:
        if not self.hdlc:
            self.line.write(self.link.send(apdu))
            return
        for _ in range(self.link._config.max_retries + 1):  # wait for the poll to come back
            deadline = time.monotonic() + self.timeout
            try:
                while not self.link.can_send_data and time.monotonic() < deadline:
                    self._pump(deadline)
            except LineTimeout:
                pass
            if self.link.can_send_data:
                break
            self.timeouts += 1
            self.line.write(self.link.timeout_expired())
        self.line.write(self.link.send(SendData(lsdu=apdu)))

    def _pump(self, deadline: float) -> None:
        """Read once (until ``deadline``), turning bytes into APDUs / link events."""
        data = self.line.read(deadline - time.monotonic())
        if not data:
            if not self.hdlc or time.monotonic() < deadline:
                return
            raise LineTimeout("no answer")
        for event in self.link.receive_data(data):
            self.events.append(event)
            if isinstance(event, (DataReceived, ApduReceived)):
                self._apdus.append(event.lsdu if self.hdlc else event.data)
            elif isinstance(event, FrameRejected):
                self.rejected.append(event)
            elif isinstance(event, (DmReceived, Disconnected, RetriesExhausted)):
                raise LinkDown(type(event).__name__)
        if self.hdlc:
            out = self.link.data_to_send()
            if out:
                self.line.write(out)

    def _next_apdu(self) -> bytes:
        """Wait for one APDU; HDLC retransmits on timeout up to max_retries."""
        while not self._apdus:
            deadline = time.monotonic() + self.timeout
            try:
                while not self._apdus and time.monotonic() < deadline:
                    self._pump(deadline)
            except LineTimeout:
                pass
            if self._apdus:
                break
            if not self.hdlc:
                raise LineTimeout("no answer")
            self.timeouts += 1
            repeat = self.link.timeout_expired()
            if repeat:
                self.line.write(repeat)
            for event in self.link.receive_data(b""):
                if isinstance(event, RetriesExhausted):
                    raise LineTimeout("HDLC retries exhausted")
        return self._apdus.pop(0)

    # -- link --

    def connect(self) -> "SimClient":
        """HDLC: SNRM/UA (nothing to do on the wrapper)."""
        if self.hdlc:
            self.line.write(self.link.send(ConnectRequest()))
            deadline = time.monotonic() + self.timeout
            for _ in range(self.link._config.max_retries + 1):
                while time.monotonic() < deadline:
                    self._pump(deadline)
                    if any(isinstance(e, Connected) for e in self.events):
                        return self
                self.timeouts += 1
                self.line.write(self.link.timeout_expired())
                deadline = time.monotonic() + self.timeout
            raise LineTimeout("no UA")
        return self

    def disconnect(self) -> None:
        if self.hdlc and self.link.state.name == "CONNECTED":
            self.line.write(self.link.send(DisconnectRequest()))
            try:
                deadline = time.monotonic() + self.timeout
                while time.monotonic() < deadline:
                    self._pump(deadline)
            except (LinkDown, LineTimeout, LineLost):
                pass

    def close(self) -> None:
        try:
            self.disconnect()
        finally:
            self.line.close()

    # -- DLMS --

    def request(self, event: ev.Event) -> Any:
        """Send a connection event; return the final event that answers it."""
        self._send_apdu(self.conn.send(event))
        while True:
            events = self.conn.receive_data(self._next_apdu())
            self.dlms_events += events
            for apdu in self.conn.data_to_send():
                self._send_apdu(apdu)
            for item in events:
                if isinstance(item, FINAL):
                    return item

    def associate(self) -> Any:
        return self.request(ev.Associate())

    def release(self) -> Any:
        return self.request(ev.Release())

    def get(self, class_id: int, obis: str, attr: int,
            selection: x.SelectiveAccessDescriptor | None = None) -> Any:
        result = self.request(ev.Get(descriptor=attribute(class_id, obis, attr),
                                     selection=selection))
        return result.value if isinstance(result, ev.GetResult) else result

    def set(self, class_id: int, obis: str, attr: int, value: Any) -> Any:
        result = self.request(ev.Set(descriptor=attribute(class_id, obis, attr), value=value))
        return result.result if isinstance(result, ev.SetResult) else result

    def action(self, class_id: int, obis: str, method: int, params: Any = None) -> Any:
        return self.request(ev.Action(descriptor=x.CosemMethodDescriptor(
            class_id=class_id, instance_id=Obis.parse(obis), method_id=method),
            parameters=params))


def attribute(class_id: int, obis: str, attr: int) -> x.CosemAttributeDescriptor:
    return x.CosemAttributeDescriptor(class_id=class_id, instance_id=Obis.parse(obis),
                                      attribute_id=attr)


def open_client(kind: str, target: Any, association: str, **kw: Any) -> SimClient:
    """A connected client: ``kind`` "wrapper" (target = port), "hdlc" (port) or "pty" (path)."""
    settings = kw.pop("settings", None) or settings_for(
        association, **{k: kw.pop(k) for k in ("password", "hls_key", "pdu") if k in kw})
    line = FdLine(target) if kind == "pty" else SocketLine.connect(target)
    client = SimClient(line, settings, hdlc=kind != "wrapper", **kw)
    try:
        return client.connect()
    except BaseException:
        line.close()
        raise
