"""Find a meter behind a TCP port: IEC 62056-47 wrapper or raw HDLC (a serial-to-Ethernet
converter in transparent mode), and the logical device / server address.

Each probe runs on a fresh connection, so one framing's bytes never confuse the other's parser:
first a wrapper packet carrying a public-client AARQ to each logical device (wPort 1, then 0,
both tried even after silence); an HDLC meter ignores it (no 0x7E flag in it). A peer that
accepts the connection and closes it at once is recorded as CLOSED (busy, one-client converter,
IP filter). Then an HDLC SNRM from client 16 to each common
server address; a wrapper server refuses it (wrong version) or closes. The first accepted
association (wrapper) or UA (HDLC) ends the search with :func:`identify`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from meterreader.client.profile import ConnectionProfile
from meterreader.dlms.acse import AssociationResult
from meterreader.dlms.errors import DlmsError
from meterreader.finder.diagnostics import aare_in, diagnose
from meterreader.finder.engine import (ProgressCallback, SearchRun, associate, close_quietly,
                                       late_ua)
from meterreader.finder.model import AnswerKind, Diagnosis, FindResult, FoundMeter
from meterreader.finder.probe import (PUBLIC_CLIENT, SERVER_ADDRESSES, ServerCandidate,
                                      classify_answer, snrm_frame, wrapper_aarq)
from meterreader.transport.base import (Cancelled, CancelToken, ConnectionFailed,
                                        ConnectionLost, TransportError)
from meterreader.transport.tcp import TcpTransport, resolve

__all__ = ["WRAPPER_LOGICAL_DEVICES", "find_tcp"]

#: Wrapper destination ports tried with the public client: the management logical device
#: first, then 0 (a few devices answer only there).
WRAPPER_LOGICAL_DEVICES = (1, 0)


#: What a probe records when the peer accepted the connection, then closed it without a word.
_CLOSED_NOTE = " (the peer closed the connection)"


class _TcpSearch:
    def __init__(self, run: SearchRun, host: str, port: int, connect_timeout: float,
                 probe_timeout: float, identify_timeout: float) -> None:
        self.run = run
        self.host = host
        self.address = host  # the resolved IP address once find_tcp looked the name up
        self.port = port
        self.connect_timeout = connect_timeout
        self.probe_timeout = probe_timeout
        self.identify_timeout = identify_timeout
        self.diagnosis: Diagnosis | None = None
        self.refused: FoundMeter | None = None
        self.wrapper_seen = False  # a wrapper packet came back: the framing is decided
        self.where = f"TCP {host}:{port}"

    def resolve(self) -> None:
        """Look the host name up once, bounded by the connect timeout and cancellable (the
        system resolver cannot be interrupted); the probes then connect to the address."""
        infos = resolve(self.host, self.port, cancel=self.run.token,
                        timeout=max(0.1, min(self.connect_timeout, self.run.remaining())))
        if infos:
            self.address = str(infos[0][4][0])

    def connect(self) -> TcpTransport:
        self.run.check()
        transport = TcpTransport(self.address, self.port,
                                 connect_timeout=max(0.1, min(self.connect_timeout,
                                                              self.run.remaining())))
        transport.open(self.run.token)
        return transport

    def profile(self, framing: str, **fields: Any) -> ConnectionProfile:
        return ConnectionProfile(name=f"Meter at {self.host}:{self.port}", medium="tcp",
                                 host=self.host, port=self.port, framing=framing,
                                 association="pc", client_sap=PUBLIC_CLIENT, mechanism=0,
                                 **fields)

    def probe(self, tx: bytes) -> tuple[bytes, float, bool]:
        """One probe on a fresh connection: (rx, elapsed, closed by the peer)."""
        transport = self.connect()
        started = time.monotonic()
        try:
            rx, elapsed = self.run.exchange(transport, tx, self.probe_timeout)
            return rx, elapsed, False
        except ConnectionLost:
            return b"", time.monotonic() - started, True
        finally:
            close_quietly(transport)

    # -- wrapper ----------------------------------------------------------------------------------

    def wrapper(self, logical_devices: Sequence[int]) -> FoundMeter | None:
        """A wrapper AARQ to each logical device (both, even after silence: some devices
        answer only at wPort 0)."""
        for logical in logical_devices:
            tx = wrapper_aarq(logical, PUBLIC_CLIENT)
            rx, elapsed, closed = self.probe(tx)
            kind = AnswerKind.CLOSED if closed and not rx else classify_answer(rx, tx)
            fields = {"server_logical": logical}
            self.run.record(f"{self.where} wrapper, logical device {logical}, public client "
                            f"{PUBLIC_CLIENT}: AARQ{_CLOSED_NOTE if closed else ''}",
                            {"framing": "wrapper", **fields, "client_sap": PUBLIC_CLIENT},
                            kind, tx, rx, elapsed)
            if kind is not AnswerKind.WRAPPER:
                continue
            self.wrapper_seen = True
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
        previous: ServerCandidate | None = None
        previous_tx = b""
        try:
            for candidate in addresses:
                if transport is None:
                    transport, previous = self.connect(), None
                elif previous is not None:
                    late = self.late_answer(transport)
                    if late is not None and late.answer is AnswerKind.UA:
                        found_transport, transport = transport, None
                        return self.identify(self.profile("hdlc", **previous.profile_fields()),
                                             "raw HDLC", found_transport)
                tx = snrm_frame(candidate.address, PUBLIC_CLIENT)
                closed = False
                try:
                    rx, elapsed = self.run.exchange(transport, tx, self.probe_timeout)
                except ConnectionLost:
                    rx, elapsed, closed = b"", 0.0, True
                    close_quietly(transport)
                    transport = None
                kind = AnswerKind.CLOSED if closed and not rx else classify_answer(rx, tx)
                self.run.record(f"{self.where} raw HDLC, {candidate.label()}, client "
                                f"{PUBLIC_CLIENT}: SNRM{_CLOSED_NOTE if closed else ''}",
                                {"framing": "hdlc", **candidate.profile_fields(),
                                 "client_sap": PUBLIC_CLIENT}, kind, tx, rx, elapsed)
                answered = candidate if kind is AnswerKind.UA else previous \
                    if previous is not None and late_ua(rx, tx, previous_tx) else None
                if answered is not None and transport is not None:
                    found_transport, transport = transport, None
                    return self.identify(self.profile("hdlc", **answered.profile_fields()),
                                         "raw HDLC", found_transport)
                previous, previous_tx = candidate, tx
        finally:
            close_quietly(transport)
        return None

    def late_answer(self, transport: TcpTransport) -> Any:
        try:
            return self.run.late_answer(transport)
        except ConnectionLost:
            return None

    # -- association ------------------------------------------------------------------------------

    def identify(self, profile: ConnectionProfile, framing: str,
                 transport: TcpTransport | None = None) -> FoundMeter | None:
        if transport is None:
            try:
                with self.run.identifying():
                    transport = self.connect()
            except ConnectionFailed:
                return None
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
    within ``budget_s`` seconds; ``cancel`` stops it within ~0.2 s (also while the host name is
    being looked up: that is done once, up front, bounded by ``connect_timeout``); ``progress``
    sees every attempt. Never raises for what the network or the meter does."""
    with SearchRun("tcp", cancel=cancel, budget_s=budget_s, progress=progress,
                   reserve_s=identify_timeout) as run:
        search = _TcpSearch(run, host, port, connect_timeout, probe_timeout, identify_timeout)
        found: FoundMeter | None = None
        try:
            search.resolve()
            found = search.wrapper(tuple(logical_devices))
            if found is None and not search.wrapper_seen:
                found = search.hdlc(addresses)
            found = found or search.refused
        except Cancelled:
            found = search.refused
        except ConnectionFailed as exc:  # refused, unreachable, no such host
            return run.result(None, diagnose(exc, profile=_TCP))
        except (TransportError, DlmsError) as exc:
            return run.result(None, diagnose(exc, profile=_TCP))
        return run.result(found, search.diagnosis)


class _Tcp:
    medium = "tcp"


_TCP = _Tcp()
