"""Find a meter behind a TCP port: IEC 62056-47 wrapper or raw HDLC (a serial-to-Ethernet
converter in transparent mode), and the logical device / server address.

Each probe runs on a fresh connection, so one framing's bytes never confuse the other's parser:
first a wrapper packet carrying a public-client AARQ to each logical device (wPort 1, then 0);
an HDLC meter ignores it (no 0x7E flag in it). Then an HDLC SNRM from client 16 to each common
server address; a wrapper server refuses it (wrong version) or closes. The first accepted
association (wrapper) or UA (HDLC) ends the search with :func:`identify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meterreader.client.profile import ConnectionProfile
from meterreader.dlms.acse import AssociationResult
from meterreader.dlms.errors import DlmsError
from meterreader.finder.diagnostics import aare_in, diagnose
from meterreader.finder.engine import ProgressCallback, SearchRun, associate, close_quietly
from meterreader.finder.model import AnswerKind, Diagnosis, FindResult, FoundMeter
from meterreader.finder.probe import (PUBLIC_CLIENT, SERVER_ADDRESSES, ServerCandidate,
                                      classify_answer, snrm_frame, wrapper_aarq)
from meterreader.transport.base import (Cancelled, CancelToken, ConnectionFailed,
                                        ConnectionLost, TransportError)
from meterreader.transport.tcp import TcpTransport

__all__ = ["WRAPPER_LOGICAL_DEVICES", "find_tcp"]

#: Wrapper destination ports tried with the public client: the management logical device
#: first, then 0 (a few devices answer only there).
WRAPPER_LOGICAL_DEVICES = (1, 0)


class _TcpSearch:
    def __init__(self, run: SearchRun, host: str, port: int, connect_timeout: float,
                 probe_timeout: float, identify_timeout: float) -> None:
        self.run = run
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.probe_timeout = probe_timeout
        self.identify_timeout = identify_timeout
        self.diagnosis: Diagnosis | None = None
        self.refused: FoundMeter | None = None
        self.wrapper_seen = False  # a wrapper packet came back: the framing is decided
        self.where = f"TCP {host}:{port}"

    def connect(self) -> TcpTransport:
        self.run.check()
        transport = TcpTransport(self.host, self.port,
                                 connect_timeout=max(0.1, min(self.connect_timeout,
                                                              self.run.remaining())))
        transport.open(self.run.token)
        return transport

    def profile(self, framing: str, **fields: Any) -> ConnectionProfile:
        return ConnectionProfile(name=f"Meter at {self.host}:{self.port}", medium="tcp",
                                 host=self.host, port=self.port, framing=framing,
                                 association="pc", client_sap=PUBLIC_CLIENT, mechanism=0,
                                 **fields)

    def probe(self, tx: bytes) -> tuple[bytes, float, str]:
        """One probe on a fresh connection: (rx, elapsed, note)."""
        transport = self.connect()
        try:
            rx, elapsed = self.run.exchange(transport, tx, self.probe_timeout)
            return rx, elapsed, ""
        except ConnectionLost:
            return b"", 0.0, " (the peer closed the connection)"
        finally:
            close_quietly(transport)

    # -- wrapper ----------------------------------------------------------------------------------

    def wrapper(self, logical_devices: Sequence[int]) -> FoundMeter | None:
        for logical in logical_devices:
            tx = wrapper_aarq(logical, PUBLIC_CLIENT)
            rx, elapsed, note = self.probe(tx)
            kind = classify_answer(rx)
            fields = {"server_logical": logical}
            self.run.record(f"{self.where} wrapper, logical device {logical}, public client "
                            f"{PUBLIC_CLIENT}: AARQ{note}", {"framing": "wrapper", **fields,
                                                               "client_sap": PUBLIC_CLIENT},
                            kind, tx, rx, elapsed)
            if kind is AnswerKind.WRAPPER:
                self.wrapper_seen = True
            else:
                if logical == logical_devices[0] and kind is AnswerKind.SILENCE and not note:
                    return None  # nothing speaks the wrapper here: no use asking other ports
                continue
            aare = aare_in(rx)
            if aare is not None and aare.result is AssociationResult.ACCEPTED:
                return self.identify(self.profile("wrapper", **fields), "wrapper")
            if aare is not None and self.refused is None:
                # The wrapper works but the public client is refused: the best answer so far.
                profile = self.profile("wrapper", **fields)
                self.refused = FoundMeter(profile=profile, notes=(
                    "the wrapper works but the public client's association was refused: "
                    f"{aare.result_source_diagnostic.describe()}",))
                self.diagnosis = diagnose(None, rx=rx, profile=profile)
        return None

    # -- raw HDLC ---------------------------------------------------------------------------------

    def hdlc(self, addresses: Sequence[ServerCandidate]) -> FoundMeter | None:
        transport: TcpTransport | None = None
        try:
            for candidate in addresses:
                if transport is None:
                    transport = self.connect()
                tx = snrm_frame(candidate.address, PUBLIC_CLIENT)
                note = ""
                try:
                    rx, elapsed = self.run.exchange(transport, tx, self.probe_timeout)
                except ConnectionLost:
                    rx, elapsed, note = b"", 0.0, " (the peer closed the connection)"
                    close_quietly(transport)
                    transport = None
                kind = classify_answer(rx)
                self.run.record(f"{self.where} raw HDLC, {candidate.label()}, client "
                                f"{PUBLIC_CLIENT}: SNRM{note}",
                                {"framing": "hdlc", **candidate.profile_fields(),
                                 "client_sap": PUBLIC_CLIENT}, kind, tx, rx, elapsed)
                if kind is AnswerKind.UA and transport is not None:
                    found_transport, transport = transport, None
                    return self.identify(self.profile("hdlc", **candidate.profile_fields()),
                                         "raw HDLC", found_transport)
        finally:
            close_quietly(transport)
        return None

    # -- association ------------------------------------------------------------------------------

    def identify(self, profile: ConnectionProfile, framing: str,
                 transport: TcpTransport | None = None) -> FoundMeter | None:
        if transport is None:
            transport = self.connect()
        target = (f"logical device {profile.server_logical}" if framing == "wrapper"
                  else profile.describe().split(" → ")[-1])
        found, self.diagnosis = associate(
            self.run, transport, profile, f"{self.where} {framing}, {target}: associate as "
            f"public client {PUBLIC_CLIENT}", self.identify_timeout)
        return found


def find_tcp(host: str, port: int, *, cancel: CancelToken | None = None,
             progress: ProgressCallback | None = None, budget_s: float = 30.0,
             probe_timeout: float = 1.5, connect_timeout: float = 5.0,
             identify_timeout: float = 5.0,
             logical_devices: Sequence[int] = WRAPPER_LOGICAL_DEVICES,
             addresses: Sequence[ServerCandidate] = SERVER_ADDRESSES) -> FindResult:
    """Search ``host:port`` for a meter (wrapper first, then raw HDLC; see the module docstring)
    within ``budget_s`` seconds; ``cancel`` stops it within ~0.2 s; ``progress`` sees every
    attempt. Never raises for what the network or the meter does."""
    with SearchRun("tcp", cancel=cancel, budget_s=budget_s, progress=progress) as run:
        search = _TcpSearch(run, host, port, connect_timeout, probe_timeout, identify_timeout)
        found: FoundMeter | None = None
        try:
            found = search.wrapper(tuple(logical_devices))
            if found is None and not search.wrapper_seen:
                found = search.hdlc(addresses)
            found = found or search.refused
        except Cancelled:
            found = None
        except ConnectionFailed as exc:  # refused, unreachable, no such host
            return run.result(None, diagnose(exc, profile=_TCP))
        except (TransportError, DlmsError) as exc:
            return run.result(None, diagnose(exc, profile=_TCP))
        return run.result(found, search.diagnosis)


class _Tcp:
    medium = "tcp"


_TCP = _Tcp()
