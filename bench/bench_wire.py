"""Wire efficiency: a full IS 15959 category C read of the simulator over HDLC at an emulated line
speed, compared with the wire limit.

The simulator runs in a child process behind :class:`Line`, a relay that models the serial line
in both directions (10 bits a byte, each byte delivered when its last bit would have arrived).
The simulator's own ``link_baud`` is not used: it paces only what the meter sends, and writes
each 20 ms slice before waiting (bytes arrive up to a slice early). Figures printed per run:

* bytes on the wire (both directions), APDU payload bytes (both directions: every APDU the
  client sent and received, AARQ/AARE and RLRQ/RLRE included), frames, round trips (writes of the
  client: requests, RR and link frames), the negotiated info field / window, elapsed;
* ``ideal`` = payload bits ÷ line rate = APDU bytes × 10 / baud (8N1: 960 B/s at 9600 Bd), the
  time the payload alone needs on the line; ``ratio`` = elapsed / ideal (goal ≤ 1.05);
* where the rest goes: framing bytes (wire bytes − APDU bytes, as line time) and idle line time
  (elapsed − wire time of every byte: turnarounds, processing on both sides).

Elapsed runs from opening the transport (SNRM) to the end of the close (RLRQ, DISC). Runs: the
client's defaults ("best": it proposes info field 2030 / window 7, the simulator offers 1024 / 7)
and "typical default settings" (info field 128, window 1).

Run: ``.venv/bin/python bench/bench_wire.py [--baud 9600] [--days 7] [--runs best,typical,big]
[--meter-delay 0.02]``. The two default runs take ~2.5 minutes at 9600 Bd; ``--baud 96000`` takes
15 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meterreader.client import ConnectionSettings, Session  # noqa: E402
from meterreader.client.settings import Framing  # noqa: E402
from meterreader.dlms.hdlc import HdlcParameters  # noqa: E402
from meterreader.reading.plan import read_meter  # noqa: E402
from meterreader.simulator import SimulatedMeter  # noqa: E402
from meterreader.transport.tcp import TcpTransport  # noqa: E402

BITS_PER_BYTE = 10  # 8N1: start, 8 data, stop
#: Longest slice the line delivers at once, seconds of wire time.
SLICE = 0.002

TYPICAL = HdlcParameters(max_info_field_length_transmit=128, max_info_field_length_receive=128,
                         window_size_transmit=1, window_size_receive=1)


class Line:
    """A serial line between the client and the simulator, emulated as a TCP relay.

    Each direction is a 10-bits-a-byte line of ``baud`` bit/s (the optical port is full duplex;
    HDLC's normal response mode makes it half duplex in use): a byte is delivered when its last
    bit would have arrived, i.e. ``max(now, line free) + 10 / baud`` after it was written. The
    bytes go on in slices of at most :data:`SLICE` seconds of wire time, each written when its
    last byte is through. ``port`` is where the client connects."""

    def __init__(self, target_port: int, baud: int) -> None:
        self.baud = baud
        self.target_port = target_port
        self._listen = socket.create_server(("127.0.0.1", 0))
        self.port = self._listen.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._spawn(self._accept)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        try:
            client, _ = self._listen.accept()
        except OSError:
            return
        meter = socket.create_connection(("127.0.0.1", self.target_port))
        for sock in (client, meter):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets.append(sock)
        self._spawn(self._pump, client, meter)
        self._spawn(self._pump, meter, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        per_byte = BITS_PER_BYTE / self.baud
        size = max(1, int(SLICE / per_byte))
        free = 0.0  # when the line is free again
        try:
            while data := source.recv(65536):
                at = max(time.monotonic(), free)
                for start in range(0, len(data), size):
                    chunk = data[start:start + size]
                    at += len(chunk) * per_byte
                    pause = at - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    sink.sendall(chunk)
                free = at
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._listen.close()
        for sock in self._sockets:
            sock.close()
        for thread in self._threads:
            thread.join(2)


def _child(conn, baud: int | None, hdlc: bool, kwargs: dict) -> None:
    meter = SimulatedMeter(**kwargs)
    port = meter.serve_tcp(port=0, hdlc=hdlc)
    line = Line(port, baud) if baud else None
    conn.send(line.port if line else port)
    conn.recv()  # until the parent says stop (or goes away)
    if line is not None:
        line.close()
    meter.stop()


class ChildMeter:
    """A simulator (and its :class:`Line` when ``baud`` is set) in a child process, so that
    its threads share neither the GIL nor the memory of the measured process. ``port`` is where
    to connect; a context manager."""

    def __init__(self, *, baud: int | None = None, hdlc: bool = True, **kwargs: object) -> None:
        import multiprocessing
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_child, args=(child, baud, hdlc, kwargs),
                                        daemon=True)
        self._process.start()
        self.port: int = self._conn.recv()

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self._process.join(10)

    def __enter__(self) -> ChildMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Tally:
    """What the trace callback saw."""

    apdu_tx: int = 0
    apdu_rx: int = 0
    apdus: int = 0
    requests: list[tuple[float, str]] = field(default_factory=list)

    def __call__(self, direction: str, layer: str, data: bytes, description: str) -> None:
        if layer != "apdu":
            return
        self.apdus += 1
        if direction == "tx":
            self.apdu_tx += len(data)
            self.requests.append((time.monotonic(), description))
        else:
            self.apdu_rx += len(data)


@dataclass
class RunResult:
    name: str
    elapsed: float
    wire_sent: int
    wire_received: int
    apdu_bytes: int
    frames: int
    round_trips: int
    requests: int
    info_field: str
    window: str
    rows: dict[str, int]
    complete: bool
    baud: int
    delay: float = 0.0

    @property
    def ideal(self) -> float:
        return self.apdu_bytes * BITS_PER_BYTE / self.baud

    @property
    def wire_time(self) -> float:
        return (self.wire_sent + self.wire_received) * BITS_PER_BYTE / self.baud


def run(name: str, baud: int, days: int, parameters: HdlcParameters | None,
        offer: HdlcParameters | None, verbose: bool, delay: float = 0.0) -> RunResult:
    faults = (f"delay={delay}",) if delay else ()
    meter = ChildMeter(baud=baud, category="C", seed=1, hdlc_parameters=offer, faults=faults)
    tally = Tally()
    overrides = {} if parameters is None else {"hdlc_parameters": parameters}
    settings = ConnectionSettings.for_association("mr", framing=Framing.HDLC, **overrides)
    transport = TcpTransport("127.0.0.1", meter.port)
    session = Session(transport, settings, on_trace=tally)
    started = time.monotonic()
    try:
        session.connect()
        progress = (lambda p: print(f"    {p.message}", file=sys.stderr)) if verbose else None
        reading = read_meter(session, "C", days=days, progress=progress)
        negotiated = session.stats  # the link parameters, while the link is up
        session.close()
        elapsed = time.monotonic() - started
        stats = session.stats  # after the close: frames and round trips include RLRQ and DISC
    finally:
        session.close()
        meter.stop()
    if verbose:
        for when, what in tally.requests:
            print(f"    {when - started:8.3f} s  {what}", file=sys.stderr)
        for note in (*reading.errors, *reading.notes):
            print(f"    note: {note}", file=sys.stderr)
    return RunResult(
        name=name, elapsed=elapsed, wire_sent=transport.bytes_sent,
        wire_received=transport.bytes_received, apdu_bytes=tally.apdu_tx + tally.apdu_rx,
        frames=stats.frames_sent + stats.frames_received, round_trips=stats.round_trips,
        requests=sum(1 for _ in tally.requests),
        info_field=f"{negotiated.max_info_field_transmit}/{negotiated.max_info_field_receive}",
        window=f"{negotiated.window_transmit}/{negotiated.window_receive}",
        rows={k: len(t.rows) for k, t in reading.tables.items()}, complete=reading.complete,
        baud=baud, delay=delay)


def report(r: RunResult) -> None:
    wire = r.wire_sent + r.wire_received
    framing = (wire - r.apdu_bytes) * BITS_PER_BYTE / r.baud
    idle = r.elapsed - r.wire_time
    print(f"== {r.name}: {r.baud} Bd{f', meter turnaround {r.delay * 1000:g} ms' if r.delay else ''}, info field tx/rx {r.info_field}, window tx/rx {r.window}"
          f"{'' if r.complete else '  (INCOMPLETE)'}")
    print(f"   rows: {', '.join(f'{k} {v}' for k, v in r.rows.items())}")
    print(f"   wire bytes        {wire:>9,}  (sent {r.wire_sent:,}, received {r.wire_received:,})")
    print(f"   APDU payload      {r.apdu_bytes:>9,}  bytes, {r.requests} requests")
    print(f"   frames            {r.frames:>9,}")
    print(f"   round trips       {r.round_trips:>9,}  (client writes)")
    print(f"   elapsed           {r.elapsed:>9.2f} s")
    print(f"   ideal (payload)   {r.ideal:>9.2f} s  = APDU bytes x {BITS_PER_BYTE} / {r.baud}")
    print(f"   ratio             {r.elapsed / r.ideal:>9.3f}")
    print(f"   of the excess:    framing {framing:.2f} s, idle line {idle:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", default="best,typical",
                        help="comma-separated: best (client defaults), typical (128 / window 1), "
                             "big (a meter offering 2030 / 7)")
    parser.add_argument("--meter-delay", type=float, default=0.0,
                        help="seconds the meter waits before each answer (its turnaround; "
                             "the simulator's delay fault); default 0")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    print(f"# {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    largest = HdlcParameters(max_info_field_length_transmit=2030,
                             max_info_field_length_receive=2030,
                             window_size_transmit=7, window_size_receive=7)
    configs = {"best": (None, None), "typical": (TYPICAL, None), "big": (None, largest)}
    results = []
    for name in args.runs.split(","):
        parameters, offer = configs[name.strip()]
        result = run(name.strip(), args.baud, args.days, parameters, offer, args.verbose,
                     args.meter_delay)
        report(result)
        results.append(result)
    if len(results) > 1:
        base = results[0]
        for other in results[1:]:
            print(f"== {other.name} / {base.name}: elapsed x{other.elapsed / base.elapsed:.2f}")


if __name__ == "__main__":
    main()
