"""Find a meter on a serial port: line settings, IEC 62056-21 mode E or not, HDLC server address.

Order (most likely first, stops at the first UA): direct HDLC at 9600 8N1; the mode E sign-on at
300 baud 7E1 with the baud switch; direct HDLC at 19200, 38400 and 115200 8N1. At each line
setting an SNRM goes from the public client (16) to each common server address
(:data:`~meterreader.finder.probe.SERVER_ADDRESSES`). A UA ends the search: the link is handed
to :func:`~meterreader.finder.identify.identify` as it is (no second sign-on).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from meterreader.client.profile import ConnectionProfile
from meterreader.dlms.errors import DlmsError
from meterreader.dlms.hdlc import HdlcParameters
from meterreader.finder.diagnostics import diagnose
from meterreader.finder.engine import (ProgressCallback, SearchRun, Traffic, associate,
                                       close_quietly, late_ua)
from meterreader.finder.model import AnswerKind, FindResult, FoundMeter
from meterreader.finder.probe import (PUBLIC_CLIENT, SERVER_ADDRESSES, ServerCandidate,
                                      classify_answer, disc_frame, snrm_frame)
from meterreader.transport.base import Cancelled, CancelToken, ConnectionFailed, TransportError
from meterreader.transport.mode_e import ModeETransport
from meterreader.transport.serial_port import SerialFactory, SerialTransport

__all__ = ["DIRECT_BAUDS", "SIGN_ON_TIMEOUT", "find_serial"]

#: Direct HDLC line speeds, most common first (8N1).
DIRECT_BAUDS = (9600, 19200, 38400, 115200)
#: Wait for the IEC 62056-21 identification: the meter's reaction time may be up to 1.5 s, and
#: the identification line takes about 33 ms a character at 300 Bd.
SIGN_ON_TIMEOUT = 3.0
_MODE_E = "mode-e"


def _plan(bauds: Sequence[int], mode_e: bool) -> list[int | str]:
    """9600 first, then mode E, then the other speeds."""
    steps: list[int | str] = list(bauds[:1])
    if mode_e:
        steps.append(_MODE_E)
    steps.extend(bauds[1:])
    return steps


#: The note of a meter that answered HDLC at once only because an earlier mode E session had
#: left it in HDLC mode.
STALE_MODE_E_NOTE = ("the meter answered HDLC directly only because it was still in HDLC mode "
                     "from an earlier session: after the release it was silent, so it needs the "
                     "IEC 62056-21 mode E opening (mode E is set)")
#: The note of an identification without the mode E capability.
NO_MODE_E_CAPABILITY = ("its identification has no \\2 (binary/HDLC) capability: a mode C "
                        "meter (IEC 62056-21 readout only) cannot carry HDLC")


class _SerialSearch:
    def __init__(self, run: SearchRun, port: str, factory: SerialFactory | None,
                 addresses: Sequence[ServerCandidate], probe_timeout: float,
                 identify_timeout: float, sign_on_timeout: float) -> None:
        self.run = run
        self.sign_on_timeout = sign_on_timeout
        self.port = port
        self.factory = factory
        self.addresses = tuple(addresses)
        self.probe_timeout = probe_timeout
        self.identify_timeout = identify_timeout
        self.diagnosis = None
        self.notes: tuple[str, ...] = ()

    def serial(self, baud: int) -> SerialTransport:
        return SerialTransport(self.port, baudrate=baud, serial_factory=self.factory)

    # -- one line setting --------------------------------------------------------------------------

    def direct(self, baud: int) -> FoundMeter | None:
        settings = {"baudrate": baud, "parity": "N", "mode_e": False}
        transport = self.serial(baud)
        transport.open(self.run.token)
        try:
            found = self.addresses_at(transport, transport, f"HDLC {baud} 8N1", settings)
        finally:
            close_quietly(transport)
        if found is not None:
            found = self.check_stale_mode_e(found, baud)
        return found

    def check_stale_mode_e(self, found: FoundMeter, baud: int) -> FoundMeter:
        """After identify released the link (DISC) probe once more at the same settings: a
        mode-E-only meter left in HDLC mode by an earlier session (no DISC) answered the first
        SNRM, but is silent now that it waits for the sign-on again."""
        profile = found.profile
        candidate = next((c for c in self.addresses if c.profile_fields() == {
            "server_logical": profile.server_logical, "server_physical": profile.server_physical,
            "address_size": profile.address_size}), None)
        if candidate is None:
            return found
        with self.run.identifying():
            if self.run.remaining() < self.probe_timeout:
                return found  # no time left to check: keep what worked
            transport = self.serial(baud)
            try:
                transport.open(self.run.token)
                transport.discard_input()
                tx = snrm_frame(candidate.address, PUBLIC_CLIENT)
                rx, elapsed = self.run.exchange(transport, tx, self.probe_timeout)
                kind = classify_answer(rx, tx)
                self.run.record(f"HDLC {baud} 8N1, {candidate.label()}, client {PUBLIC_CLIENT}: "
                                "SNRM again after the release (still direct HDLC?)",
                                {"baudrate": baud, "parity": "N", "mode_e": False,
                                 **candidate.profile_fields(), "client_sap": PUBLIC_CLIENT},
                                kind, tx, rx, elapsed)
                if kind is AnswerKind.UA:  # a direct HDLC meter: leave it disconnected
                    transport.write(disc_frame(candidate.address, PUBLIC_CLIENT))
                    self.run.exchange(transport, b"", min(self.probe_timeout, 0.3))
            except (Cancelled, TransportError):
                return found
            finally:
                close_quietly(transport)
        if kind is not AnswerKind.SILENCE:
            return found
        return replace(found, profile=profile.replace(mode_e=True),
                       notes=(*found.notes, STALE_MODE_E_NOTE))

    def mode_e(self) -> FoundMeter | None:
        inner = self.serial(9600)
        # IEC 62056-21: the meter's reaction time may be up to 1.5 s, then the identification
        # takes about 33 ms a character at 300 Bd: sign_on_timeout allows both.
        transport = ModeETransport(inner, identification_timeout=max(
            0.1, min(self.sign_on_timeout, self.run.remaining())))
        traffic = Traffic()
        transport.on_traffic = traffic
        settings: dict[str, Any] = {"mode_e": True, "parity": "N"}
        self.run.check()
        started = time.monotonic()
        try:
            try:
                transport.open(self.run.token)
            except ConnectionFailed:
                tx, rx = traffic.take()
                kind = classify_answer(rx, tx)
                self.run.record("IEC 62056-21 mode E sign-on at 300 baud 7E1", settings,
                                kind if kind is not AnswerKind.MODE_E_IDENT else
                                AnswerKind.GARBAGE, tx, rx, time.monotonic() - started)
                return None
            ident = transport.identification
            assert ident is not None
            baud = inner.baudrate
            tx, rx = traffic.take()
            settings["baudrate"] = ident.baud
            warning = "" if "2" in ident.escapes else f" — {NO_MODE_E_CAPABILITY}"
            self.run.record(f"IEC 62056-21 mode E sign-on at 300 baud 7E1: {ident.manufacturer} "
                            f"{ident.ident!r}, HDLC at {baud} baud{warning}", settings,
                            AnswerKind.MODE_E_IDENT, tx, rx, time.monotonic() - started)
            if warning:
                self.notes = (NO_MODE_E_CAPABILITY,)
            return self.addresses_at(transport, inner, f"mode E, HDLC {baud} 8N1", settings)
        finally:
            close_quietly(transport)

    def addresses_at(self, transport: Any, serial: SerialTransport, line: str,
                     settings: dict[str, Any]) -> FoundMeter | None:
        """SNRM to every candidate address on an open link; identify at the first UA (also a
        UA that arrives after its probe's wait: it is folded into that probe's attempt)."""
        serial.discard_input()  # stale bytes from before this line setting answer nothing
        previous: ServerCandidate | None = None
        previous_tx = b""
        for candidate in self.addresses:
            for parameters in (None, HdlcParameters()):
                if previous is not None:
                    late = self.run.late_answer(transport)
                    if late is not None and late.answer is AnswerKind.UA:
                        return self.identify(transport, line, settings, previous)
                tx = snrm_frame(candidate.address, PUBLIC_CLIENT, parameters)
                rx, elapsed = self.run.exchange(transport, tx, self.probe_timeout)
                kind = classify_answer(rx, tx)
                with_params = ", SNRM with parameters" if parameters is not None else ""
                self.run.record(f"{line}, {candidate.label()}, client {PUBLIC_CLIENT}"
                                f"{with_params}", {**settings, **candidate.profile_fields(),
                                                   "client_sap": PUBLIC_CLIENT},
                                kind, tx, rx, elapsed)
                if kind is AnswerKind.UA:
                    return self.identify(transport, line, settings, candidate)
                if previous is not None and late_ua(rx, tx, previous_tx):
                    return self.identify(transport, line, settings, previous)
                previous, previous_tx = candidate, tx
                if kind is not AnswerKind.FRMR:
                    break  # only a FRMR is worth a second SNRM proposing the parameters
        if previous is not None:
            late = self.run.late_answer(transport)
            if late is not None and late.answer is AnswerKind.UA:
                return self.identify(transport, line, settings, previous)
        return None

    def identify(self, transport: Any, line: str, settings: dict[str, Any],
                 candidate: ServerCandidate) -> FoundMeter | None:
        profile = ConnectionProfile(
            name=f"Meter on {self.port}", medium="serial", serial_port=self.port,
            baudrate=settings["baudrate"], parity="N", mode_e=settings["mode_e"],
            association="pc", client_sap=PUBLIC_CLIENT, mechanism=0,
            **candidate.profile_fields())
        found, self.diagnosis = associate(
            self.run, transport, profile, f"{line}, {candidate.label()}: associate as public "
            f"client {PUBLIC_CLIENT}", self.identify_timeout, notes=self.notes)
        return found


def find_serial(port: str, *, cancel: CancelToken | None = None,
                progress: ProgressCallback | None = None, budget_s: float = 60.0,
                serial_factory: SerialFactory | None = None, probe_timeout: float = 0.5,
                identify_timeout: float = 3.0, sign_on_timeout: float = SIGN_ON_TIMEOUT,
                bauds: Sequence[int] = DIRECT_BAUDS,
                mode_e: bool = True,
                addresses: Sequence[ServerCandidate] = SERVER_ADDRESSES) -> FindResult:
    """Search ``port`` for a meter (see the module docstring for the order) within
    ``budget_s`` seconds; ``cancel`` stops it within ~0.2 s; ``progress`` sees every attempt as
    it completes (on the calling thread). ``serial_factory`` replaces ``serial.Serial`` (tests).
    ``probe_timeout`` is the wait for each SNRM's answer, ``sign_on_timeout`` for the mode E
    identification, ``identify_timeout`` the response timeout of the public association.

    Never raises for what the port or the meter does: the result carries the attempts, the
    meter found (or None) and a diagnosis.
    """
    with SearchRun("serial", cancel=cancel, budget_s=budget_s, progress=progress,
                   reserve_s=identify_timeout + 2.0) as run:
        search = _SerialSearch(run, port, serial_factory, addresses, probe_timeout,
                               identify_timeout, sign_on_timeout)
        found: FoundMeter | None = None
        try:
            for step in _plan(bauds, mode_e):
                found = search.mode_e() if step == _MODE_E else search.direct(int(step))
                if found is not None:
                    break
        except Cancelled:
            found = None
        except ConnectionFailed as exc:  # the port itself cannot be opened
            return run.result(None, diagnose(exc))
        except (TransportError, DlmsError) as exc:
            return run.result(None, diagnose(exc, rx=b"".join(a.rx for a in run.attempts)))
        return run.result(found, search.diagnosis)
