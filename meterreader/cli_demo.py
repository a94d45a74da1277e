"""``meterreader demo``: start the built-in IS 15959 meter simulator in-process on a free TCP port
(IEC 62056-47 wrapper), read it as the meter reader (LLS, default password) and print a short
report: name plate, clock, instantaneous values, energy and maximum demand, logical devices, the
last four block-load rows and the protocol exchange that produced them."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from typing import Any

from meterreader import __version__
from meterreader.cosem.obis import Obis
from meterreader.cli_connect import EXIT_OK, failure
from meterreader.cli_meter import read_targets
from meterreader.cli_values import Target, cell_text, display, iso

__all__ = ["run_demo"]

NAME_PLATE = (("Serial number", "0.0.96.1.0.255"), ("Manufacturer", "0.0.96.1.1.255"),
              ("Firmware", "1.0.0.2.0.255"))
REGISTERS = (("Voltage L1", "1.0.32.7.0.255"), ("Voltage L2", "1.0.52.7.0.255"),
             ("Voltage L3", "1.0.72.7.0.255"), ("Current L1", "1.0.31.7.0.255"),
             ("Current L2", "1.0.51.7.0.255"), ("Current L3", "1.0.71.7.0.255"),
             ("Frequency", "1.0.14.7.0.255"), ("Active power", "1.0.1.7.0.255"),
             ("Energy import", "1.0.1.8.0.255"), ("Apparent energy import", "1.0.9.8.0.255"),
             ("Maximum demand", "1.0.1.6.0.255"))
BLOCK_LOAD = "1.0.99.1.0.255"
_KILO = frozenset({"Wh", "W", "varh", "var", "VAh", "VA"})


def _quantity(q: Any) -> str:
    value, unit = q.value, q.unit_text
    if unit in _KILO and isinstance(value, (int, float)) and abs(value) >= 1000:
        value, unit = round(value / 1000, 3), "k" + unit
    text = f"{value:,}" if isinstance(value, (int, float)) else cell_text(value)
    when = q.capture_time
    suffix = f"  (at {iso(when, ' ')})" if isinstance(when, dt.datetime) else ""
    return f"{text} {unit}".rstrip() + suffix


def _section(title: str) -> None:
    print(f"\n{title}")


def _pairs(pairs: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        print(f"  {key.ljust(width)}  {value}")


def _report(session: Any) -> None:
    sign = session.settings.deviation_sign
    plate = session.get_many([(1, obis, 2) for _, obis in NAME_PLATE])
    _section("Name plate")
    _pairs([(title, display(v, sign) if not isinstance(v, Exception) else "—")
            for (title, _), v in zip(NAME_PLATE, plate)])
    clock = session.read_clock()
    _section(f"Clock  {iso(clock, ' ') if isinstance(clock, dt.datetime) else clock}")
    _section("Instantaneous values, energy and maximum demand")
    readings = read_targets(session, [Target(obis=Obis.parse(o), index=2) for _, o in REGISTERS])
    _pairs([(title, _quantity(r.quantity) if r.quantity is not None else
             failure(r.error)[1] if r.error is not None else display(r.data, sign))
            for (title, _), r in zip(REGISTERS, readings)])
    _section("Logical devices")
    _pairs([(f"SAP {d.sap}", d.name) for d in session.logical_devices()])
    in_use = session.get(7, BLOCK_LOAD, 7).value
    first = max(1, int(in_use) - 3)
    profile = session.read_profile(BLOCK_LOAD, entries=(first, int(in_use)))
    _section(f"Block load profile {BLOCK_LOAD}: last {len(profile.rows)} of {in_use} entries")
    times = [row[0] for row in profile.rows]
    header = [t.strftime("%d %b %H:%M") if isinstance(t, dt.datetime) else cell_text(t)
              for t in times]
    rows = [(c.title, [cell_text(row[i]) for row in profile.rows])
            for i, c in enumerate(profile.columns) if i > 0]
    width = max(len(title) for title, _ in rows)
    cols = [max(len(h), *(len(v[j]) for _, v in rows)) for j, h in enumerate(header)]
    print("  " + " " * width + "  " + "  ".join(h.rjust(w) for h, w in zip(header, cols)))
    for title, values in rows:
        print("  " + title.ljust(width) + "  " + "  ".join(v.rjust(w)
                                                         for v, w in zip(values, cols)))


def _exchange_summary(trace: list[tuple[str, str]]) -> None:
    """Counts of APDU kinds, in order of first appearance (AARQ, GetRequestNormal …)."""
    for direction, label in (("tx", "APDUs sent    "), ("rx", "APDUs received")):
        kinds = Counter(d.split(" ")[0] for dirn, d in trace if dirn == direction)
        text = ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in kinds.items())
        print(f"  {label}  {text}")


def run_demo(args: argparse.Namespace) -> int:
    """The demo (see the module docstring); 0 on success."""
    from meterreader.client import ConnectionSettings, Session
    from meterreader.simulator.facade import SimulatedMeter
    from meterreader.transport import TcpTransport

    meter = SimulatedMeter()
    try:
        port = meter.serve_tcp(port=0)
        print(f"meterreader {__version__} demo: built-in IS 15959 category C meter simulator on "
              f"127.0.0.1:{port} (IEC 62056-47 wrapper),\nread as the meter reader (client 32, "
              f"LLS password).")
        trace: list[tuple[str, str]] = []

        def on_trace(direction: str, layer: str, data: bytes, description: str) -> None:
            if layer == "apdu":
                trace.append((direction, description))

        settings = ConnectionSettings.for_association("mr", response_timeout=5.0)
        session = Session(TcpTransport("127.0.0.1", port), settings, on_trace=on_trace)
        try:
            with session:
                _report(session)
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported like every meter command
            code, message = failure(exc)
            print(f"meterreader demo: {message}", file=sys.stderr)
            return code
        stats = session.stats
        _section("Protocol exchange")
        _exchange_summary(trace)
        print(f"  {stats.frames_sent} packets sent, {stats.frames_received} received, "
              f"{stats.bytes_sent + stats.bytes_received:,} bytes, {stats.round_trips} round "
              f"trips")
        print("\nNext: meterreader simulate, then meterreader read/profile --tcp 127.0.0.1:4059 "
              "… (see meterreader --help).")
    finally:
        meter.stop()
    return EXIT_OK
