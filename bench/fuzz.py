"""Bounded long-run fuzzer: mutated valid frames against the decoders and a live simulator.

Run: ``.venv/bin/python bench/fuzz.py --count 100000 [--seed N]
[--target decoders|simulator|both]`` (not a test; CI does not run it).

* ``decoders``: each iteration mutates one recorded frame, packet, APDU or A-XDR value (see
  ``fuzz_corpus.py``) and hands it to every decoder and receiving state machine — A-XDR values
  and lengths, block-transfer contents, xDLMS ``decode_apdu``, ACSE, HDLC frame decode,
  ``FrameReader`` (fed in random chunks), connected client and server ``HdlcLink`` objects, the
  wrapper codec/reader, ``unprotect_apdu``, the HLS-GMAC response check and server / associated
  client ``DlmsConnection`` objects. Anything but the ``DlmsError`` family is a crash; so is one
  call running past ``--hang`` seconds.
* ``simulator``: each iteration replays one recorded client session with a step mutated, first
  into an in-memory simulator session (any exception is a crash, with the exact input) and then
  over TCP to a live ``SimulatedMeter`` (wrapper and raw HDLC). Every ``--check-every``
  iterations, and at the end, a well-behaved client must still associate, read the clock and
  release on both ports, the listener threads must be alive and the simulator must not have
  logged an internal error.

Prints the run time, rate, peak RSS and any crash (input in hex); exits 1 on any crash.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_corpus import (  # noqa: E402
    AK, CLIENT_TITLE, EK, SERVER_TITLE, Corpus, build_meter, connection_settings, fix_hdlc,
    mutate, record_corpus)

from meterreader.client import Session  # noqa: E402
from meterreader.dlms import connection_events as ev  # noqa: E402
from meterreader.dlms.connection import DlmsConnection  # noqa: E402
from meterreader.dlms.connection_settings import (  # noqa: E402
    AssociationSettings, ClientAssociationRule, ServerAssociationPolicy)
from meterreader.dlms.connection_state import Role as DlmsRole  # noqa: E402
from meterreader.dlms import acse  # noqa: E402
from meterreader.dlms.axdr import decode_data, decode_length  # noqa: E402
from meterreader.dlms.blocks import decode_results, decode_values  # noqa: E402
from meterreader.dlms.errors import DlmsError  # noqa: E402
from meterreader.dlms.hdlc import (  # noqa: E402
    ConnectRequest, FrameReader, HdlcAddress, HdlcConfig, HdlcLink, LinkState, Role,
    decode_frame, parameters_from_info)
from meterreader.dlms.security import SecurityKeys, unprotect_apdu  # noqa: E402
from meterreader.dlms.security_hls import verify_hls_response  # noqa: E402
from meterreader.dlms.wrapper import Role as WrapperRole  # noqa: E402
from meterreader.dlms.wrapper import WrapperFrame, WrapperLink, WrapperReader  # noqa: E402
from meterreader.dlms.xdlms import CipheredApdu, decode_apdu  # noqa: E402
from meterreader.simulator.server import Framing as ServerFraming  # noqa: E402
from meterreader.transport import TcpTransport  # noqa: E402

KEYS = SecurityKeys(encryption_key=EK, authentication_key=AK)
CLIENT_ADDRESS = HdlcAddress.client(32)
SERVER_ADDRESS = HdlcAddress.server(1, 256, size=4)


class Hang(Exception):
    """Raised by the interval timer inside a call that ran too long."""


@dataclass
class Report:
    """Counts and the first crashes of a run."""

    iterations: int = 0
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    crash_count: int = 0
    seconds: float = 0.0
    health_checks: int = 0

    def crash(self, where: str, data: bytes, exc: BaseException | None = None) -> None:
        self.crash_count += 1
        if len(self.crashes) < 20:
            detail = "".join(traceback.format_exception(exc)[-3:]) if exc else ""
            self.crashes.append(f"{where}: input {data.hex()}\n{detail}")


# -- decoders ------------------------------------------------------------------------------------

def _connected_links() -> tuple[HdlcLink, HdlcLink]:
    """A client and a server HdlcLink after SNRM/UA (the client holds the poll)."""
    client = HdlcLink(Role.CLIENT, HdlcConfig(client_address=CLIENT_ADDRESS,
                                              server_address=SERVER_ADDRESS))
    server = HdlcLink(Role.SERVER, HdlcConfig(server_address=SERVER_ADDRESS))
    server.receive_data(client.send(ConnectRequest()))
    client.receive_data(server.data_to_send())
    assert client.state is LinkState.CONNECTED and server.state is LinkState.CONNECTED
    return client, server


PASSWORD = b"12345678"
POLICY = ServerAssociationPolicy(clients={
    16: ClientAssociationRule(),
    32: ClientAssociationRule(mechanism=acse.MechanismName.LOW, password=PASSWORD)})


def _server_connection() -> DlmsConnection:
    return DlmsConnection(DlmsRole.SERVER, policy=POLICY, client_sap=32,
                          rng=lambda n: bytes(n))


def _associated_client() -> DlmsConnection:
    """A client DlmsConnection associated (LLS) with an in-memory server connection."""
    client = DlmsConnection(DlmsRole.CLIENT, AssociationSettings(
        client_sap=32, mechanism=acse.MechanismName.LOW, password=PASSWORD),
        rng=lambda n: bytes(n))
    server = _server_connection()
    for event in server.receive_data(client.send(ev.Associate())):
        assert isinstance(event, ev.ClientAssociated), event
    for apdu in server.data_to_send():
        client.receive_data(apdu)
    assert client.is_associated
    return client


class DecoderTargets:
    """Every decoder as ``name -> callable(bytes)``; stateful receivers persist between inputs
    and are rebuilt once they leave CONNECTED or fail."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._links = _connected_links()
        self._reader = FrameReader()
        self._wreader = WrapperReader()
        self._wlink = WrapperLink(role=WrapperRole.SERVER, local_wport=1, peer_wport=None)
        self._server = _server_connection()
        self._client = _associated_client()
        self.targets: dict[str, Callable[[bytes], object]] = {
            "axdr.decode_data": decode_data,
            "axdr.decode_length": decode_length,
            "blocks.decode_values": decode_values,
            "blocks.decode_results": decode_results,
            "xdlms.decode_apdu": decode_apdu,
            "acse.decode_acse": acse.decode_acse,
            "hdlc.decode_frame": decode_frame,
            "hdlc.parameters_from_info": parameters_from_info,
            "hdlc.FrameReader": self._feed_reader,
            "hdlc.HdlcLink(client)": lambda b: self._feed_link(0, b),
            "hdlc.HdlcLink(server)": lambda b: self._feed_link(1, b),
            "wrapper.WrapperFrame.decode": WrapperFrame.decode,
            "wrapper.WrapperReader": self._feed_wrapper,
            "ciphered.CipheredApdu.decode": CipheredApdu.decode,
            "security.unprotect_apdu(server title)": lambda b: unprotect_apdu(
                b, keys=KEYS, system_title=SERVER_TITLE),
            "security.unprotect_apdu(client title)": lambda b: unprotect_apdu(
                b, keys=KEYS, system_title=CLIENT_TITLE, required_security_control=0x30),
            "security_hls.verify_hls_response(5)": lambda b: verify_hls_response(
                5, b, challenge=b"K56iVagY", own_system_title=CLIENT_TITLE,
                peer_system_title=SERVER_TITLE, keys=KEYS),
            "connection.DlmsConnection(server)": self._feed_server,
            "connection.DlmsConnection(associated client)": self._feed_client,
        }

    def _chunks(self, data: bytes) -> list[bytes]:
        cuts = sorted(self.rng.sample(range(len(data) + 1), min(len(data) + 1, 3)))
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]

    def _feed_reader(self, data: bytes) -> None:
        for chunk in self._chunks(data):
            self._reader.feed(chunk)
        if len(self._reader.buffered) > 4096:
            raise AssertionError(f"FrameReader buffers {len(self._reader.buffered)} bytes")

    def _feed_link(self, which: int, data: bytes) -> None:
        link = self._links[which]
        try:
            for chunk in self._chunks(data):
                link.receive_data(chunk)
            link.data_to_send()
        finally:
            if link.state is not LinkState.CONNECTED:
                self._links = _connected_links()

    def _feed_server(self, data: bytes) -> None:
        try:
            self._server.receive_data(data)
            self._server.data_to_send()
        except DlmsError:
            self._server = _server_connection()
            raise

    def _feed_client(self, data: bytes) -> None:
        try:
            self._client.receive_data(data)
            self._client.data_to_send()
        except DlmsError:
            self._client = _associated_client()
            raise
        if not self._client.is_associated:
            self._client = _associated_client()

    def _feed_wrapper(self, data: bytes) -> None:
        try:
            for chunk in self._chunks(data):
                self._wreader.feed(chunk)
                self._wlink.receive_data(chunk)
        except DlmsError:
            self._wreader = WrapperReader()
            self._wlink = WrapperLink(role=WrapperRole.SERVER, local_wport=1, peer_wport=None)
            raise


_FALSE_STARTS = (b"\x7e\xa7\xff", b"\x7e\xa0", b"\x7e\xa8\x00\x02", b"\x7e")


def _pick_input(rng: random.Random, corpus: Corpus, donors: list[bytes]) -> bytes:
    """A mutated corpus item (HDLC frames re-sealed half of the time), sometimes plain noise."""
    roll = rng.random()
    if roll < 0.05:
        return rng.randbytes(rng.randint(0, 64))
    if roll < 0.07:  # false starts (flag + format byte claiming up to 2047 bytes), then a frame
        return rng.choice(_FALSE_STARTS) * rng.randint(1, 300) + rng.choice(corpus.hdlc)
    kind = rng.choice(("hdlc", "wrapper", "apdu", "ciphered", "axdr"))
    data = mutate(rng, rng.choice(getattr(corpus, kind)), donors)
    if kind == "hdlc" and rng.random() < 0.5:
        data = fix_hdlc(data)
    return data


def _call(report: Report, name: str, fn: Callable[[bytes], object], data: bytes,
          hang: float) -> None:
    signal.setitimer(signal.ITIMER_REAL, hang)
    try:
        fn(data)
        report.outcomes["ok"] += 1
    except DlmsError as exc:
        report.outcomes[type(exc).__name__] += 1
    except Hang as exc:
        report.crash(f"{name} ran longer than {hang} s", data, exc)
    except Exception as exc:  # noqa: BLE001 - that is what we are looking for
        report.crash(f"{name} raised {type(exc).__name__}", data, exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    report.calls += 1


def fuzz_decoders(corpus: Corpus, count: int, seed: int, hang: float, report: Report) -> None:
    rng = random.Random(seed)
    targets = DecoderTargets(rng)
    donors = corpus.all()
    for _ in range(count):
        data = _pick_input(rng, corpus, donors)
        for name, fn in targets.targets.items():
            _call(report, name, fn, data, hang)
        report.iterations += 1


# -- live simulator ------------------------------------------------------------------------------

class _ErrorLog(logging.Handler):
    """Collects the simulator's ERROR records (an internal error is logged, then forgotten)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def _mutated_session(rng: random.Random, transcript: list[bytes], framing: str,
                     donors: list[bytes]) -> list[bytes]:
    """The client writes of a valid session, cut after a random step, that step mutated."""
    stop = rng.randrange(len(transcript))
    steps = list(transcript[:stop + 1])
    steps[stop] = mutate(rng, steps[stop], donors)
    if framing == "hdlc" and rng.random() < 0.7:
        steps[stop] = fix_hdlc(steps[stop])
    if rng.random() < 0.3:  # carry on with the rest of the valid session
        steps += transcript[stop + 1:]
    return steps


def _healthy(port: int, framing: str) -> str | None:
    """None when a valid client can associate, read the clock and release; else why not."""
    try:
        with Session(TcpTransport("127.0.0.1", port, connect_timeout=2.0),
                     connection_settings("mr", framing)) as session:
            session.read_clock()
    except Exception as exc:  # noqa: BLE001
        return f"valid {framing} client failed: {type(exc).__name__}: {exc}"
    return None


class LiveSimulator:
    """A SimulatedMeter on two TCP ports and one client socket per framing."""

    def __init__(self) -> None:
        self.log = _ErrorLog()
        logger = logging.getLogger("fuzz.simulator")
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        logger.addHandler(self.log)
        self.meter = build_meter(logger=logger)
        self.ports = {"wrapper": self.meter.serve_tcp(), "hdlc": self.meter.serve_tcp(hdlc=True)}
        self._socks: dict[str, socket.socket | None] = {"wrapper": None, "hdlc": None}

    def send(self, framing: str, steps: list[bytes]) -> None:
        """Write ``steps`` on this framing's connection (reconnecting when the meter closed it)
        and drain whatever it answered, without waiting for answers."""
        for step in steps:
            for _attempt in range(2):
                sock = self._socks[framing]
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", self.ports[framing]), 2.0)
                    self._socks[framing] = sock
                try:
                    sock.sendall(step)
                    self._drain(sock)
                    break
                except OSError:
                    sock.close()
                    self._socks[framing] = None

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        while select.select([sock], [], [], 0)[0]:
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError("closed by the simulator")

    def reconnect(self, framing: str) -> None:
        sock = self._socks[framing]
        if sock is not None:
            sock.close()
            self._socks[framing] = None

    def check(self) -> list[str]:
        problems = [p for p in (_healthy(self.ports[f], f) for f in self.ports) if p]
        dead = [t.name for listener in self.meter.listeners for t in listener._threads
                if t.name.startswith("sim-accept") and not t.is_alive()]
        problems += [f"listener thread {name} died" for name in dead]
        problems += [f"simulator logged: {text}" for text in self.log.records]
        self.log.records.clear()
        return problems

    def stop(self) -> None:
        for framing in self._socks:
            self.reconnect(framing)
        self.meter.stop()


def fuzz_simulator(corpus: Corpus, count: int, seed: int, hang: float, check_every: int,
                   report: Report) -> None:
    rng = random.Random(seed ^ 0x5EED)
    donors = corpus.all()
    # The simulator catches a bug in a service and logs it (the client gets an error result),
    # so "ok" alone means nothing: every record it logs is a crash of the input that caused it.
    memory_log = _ErrorLog()
    memory_logger = logging.getLogger("fuzz.memory")
    memory_logger.setLevel(logging.WARNING)
    memory_logger.propagate = False
    memory_logger.addHandler(memory_log)
    memory = build_meter(logger=memory_logger)
    live = LiveSimulator()
    try:
        for i in range(count):
            framing = rng.choice(("wrapper", "hdlc"))
            steps = _mutated_session(rng, rng.choice(corpus.transcripts[framing]), framing, donors)
            session = memory.server.session(ServerFraming(framing))
            joined = b"".join(steps)
            _call(report, f"in-memory simulator session ({framing})",
                  lambda _: [session.receive_data(step) for step in steps], joined, hang)
            session.connection_lost()
            for text in memory_log.records:
                report.outcomes["logged internal error"] += 1
                report.crash(f"in-memory simulator session ({framing}) logged an internal "
                             f"error: {text}", joined)
            memory_log.records.clear()
            live.send(framing, steps)
            if rng.random() < 0.2:
                live.reconnect(framing)
            report.iterations += 1
            if (i + 1) % check_every == 0 or i + 1 == count:
                live.reconnect("wrapper")
                live.reconnect("hdlc")
                report.health_checks += 1
                for problem in live.check():
                    report.crash(f"live simulator after iteration {i + 1}: {problem}", joined)
    finally:
        live.stop()
        memory_logger.removeHandler(memory_log)
        memory.stop()


# -- main ----------------------------------------------------------------------------------------

def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="iterations per target")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--target", choices=("decoders", "simulator", "both"), default="decoders")
    parser.add_argument("--hang", type=float, default=2.0, help="seconds one call may take")
    parser.add_argument("--check-every", type=int, default=500,
                        help="simulator: iterations between valid-client checks")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    signal.signal(signal.SIGALRM, _on_alarm)
    corpus = record_corpus()
    print(f"seed {seed}; corpus: {len(corpus.hdlc)} HDLC frames, {len(corpus.wrapper)} wrapper "
          f"packets, {len(corpus.apdu)} APDUs, {len(corpus.ciphered)} ciphered APDUs, "
          f"{len(corpus.axdr)} A-XDR values")
    total = 0
    for target in (("decoders", "simulator") if args.target == "both" else (args.target,)):
        report = Report()
        start = time.perf_counter()
        if target == "decoders":
            fuzz_decoders(corpus, args.count, seed, args.hang, report)
        else:
            fuzz_simulator(corpus, args.count, seed, args.hang, args.check_every, report)
        report.seconds = time.perf_counter() - start
        _print(target, report)
        total += report.crash_count
    print(f"threads alive at exit: {threading.active_count()}")
    return 1 if total else 0


def _print(target: str, report: Report) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = report.iterations / report.seconds if report.seconds else 0.0
    print(f"[{target}] {report.iterations} inputs, {report.calls} target calls in "
          f"{report.seconds:.1f} s ({rate:.0f} inputs/s); peak RSS {rss:.0f} MiB")
    print(f"[{target}] outcomes: " + ", ".join(f"{k} {v}" for k, v in
                                              report.outcomes.most_common()))
    if report.health_checks:
        print(f"[{target}] live simulator: {report.health_checks} checks, each a valid wrapper "
              f"and HDLC client (associate, read clock, release)")
    print(f"[{target}] crashes: {report.crash_count}")
    for text in report.crashes:
        print("  " + text.replace("\n", "\n    "))


if __name__ == "__main__":
    sys.exit(main())
