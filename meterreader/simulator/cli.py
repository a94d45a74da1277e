"""The ``simulate`` subcommand: run the built-in IS 15959 meter simulator until Ctrl+C/SIGTERM.

``add_parser(subparsers)`` adds it to the ``meterreader`` command line; ``run(args) -> int`` runs
it; ``python -m meterreader.simulator.cli ...`` runs it stand-alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import threading
from typing import Any, Sequence

from meterreader.dlms.errors import DlmsError
from meterreader.india.associations import (DEFAULT_HLS_KEY, DEFAULT_LLS_PASSWORD,
                                            MANAGEMENT_LOGICAL_DEVICE, SERVER_PHYSICAL_ADDRESS,
                                            WRAPPER_PORT)

from .defects import DEFECTS, describe_defects
from .faults import Fault, describe_kinds

#: Default of --inactivity-timeout (as server.DEFAULT_INACTIVITY_TIMEOUT, which is not imported
#: here so that --help stays fast).
DEFAULT_INACTIVITY_TIMEOUT = 120.0
#: Defaults of --idle-timeout and --max-clients (as server_options' DEFAULT_IDLE_TIMEOUT and
#: DEFAULT_MAX_CLIENTS).
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_CLIENTS = 16
#: Default and smallest --max-pdu (as ServerOptions.max_pdu_size and
#: connection_settings.MIN_PDU_SIZE).
DEFAULT_MAX_PDU = 0xFFFF
MIN_PDU = 64

__all__ = ["add_parser", "build_parser", "main", "run"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Run a simulated IS 15959 meter (category A, B or C) with live data and deterministic history,
served over the IEC 62056-47 wrapper (TCP), raw HDLC over TCP, a pseudo-terminal or a serial
port. Runs until Ctrl+C or SIGTERM.
"""

EPILOG = f"""\
associations (client SAP → security):
  16 PC  public client, no security, GET of clock and name plate
  32 MR  meter reader, LLS password (default {DEFAULT_LLS_PASSWORD.decode()})
  48 US  utility settings, HLS mechanism 2, key (default {DEFAULT_HLS_KEY.decode()},
         16 ASCII characters)
  --ciphered-client SAP adds an HLS-GMAC association with suite 0 global ciphering
  (rights of US) using --ek/--ak and the server system title --system-title.

addressing:
  wrapper: destination wPort = logical device ({MANAGEMENT_LOGICAL_DEVICE} = management, 2 = second
           device), source wPort = client SAP; default port {WRAPPER_PORT}.
  HDLC:    server upper address = logical device (1 or 2), lower = physical address
           (default {SERVER_PHYSICAL_ADDRESS}, --physical); server address sizes 1, 2 and 4 bytes
           are accepted (with 2 bytes the lower part is the low 7 bits of the physical
           address, or 17 as many IEC meters use). Frames to another address get no answer,
           like a real meter.

faults (--fault KIND[=N], repeatable): {describe_kinds()}.

defects (--defect NAME, repeatable; --defect list describes them): the meter breaks one rule on
purpose, to prove a conformance check fails: {", ".join(DEFECTS)}.

example: meterreader simulate --category C --wrapper-port 4059 --hdlc-port 4060 --pty -v
"""


def _fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _defect(text: str) -> str:
    name = text.strip().lower()
    if name != "list" and name not in DEFECTS:
        raise argparse.ArgumentTypeError(f"unknown defect {text!r}; known: "
                                         f"{', '.join(DEFECTS)} (or list)")
    return name


def _hex(length: int | None) -> Any:
    def parse(text: str) -> bytes:
        try:
            value = bytes.fromhex(text.replace(" ", "").replace(":", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None
        if length is not None and len(value) != length:
            raise argparse.ArgumentTypeError(f"expected {length} bytes ({2 * length} hex "
                                             f"digits), got {len(value)}")
        return value
    return parse


def _iso(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r} "
                                         "(e.g. 2024-05-01T10:00:00)") from None


def _pdu_size(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if not MIN_PDU <= value <= DEFAULT_MAX_PDU:
        raise argparse.ArgumentTypeError(f"expected a PDU size {MIN_PDU}..{DEFAULT_MAX_PDU}, "
                                         f"got {text!r}")
    return value


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    a = parser.add_argument
    a("--category", choices=("A", "B", "C"), default="C", type=str.upper,
      help="meter category (default: C)")
    a("--seed", type=int, default=1, help="seed of the generated history (default: 1)")
    a("--start", type=_iso, metavar="ISO",
      help="start the meter clock at this local time (default: real time)")
    a("--host", default="127.0.0.1", help="address the TCP listeners bind (default: 127.0.0.1)")
    a("--wrapper-port", type=int, default=WRAPPER_PORT, metavar="N",
      help=f"TCP port of the IEC 62056-47 wrapper listener (default: {WRAPPER_PORT}; 0 = any "
           "free port)")
    a("--no-wrapper", action="store_true", help="do not start the wrapper listener")
    a("--hdlc-port", type=int, metavar="N",
      help="TCP port of a raw HDLC listener, as a serial-to-Ethernet converter delivers it "
           "(0 = any free port; default: none)")
    a("--pty", action="store_true", help="serve HDLC on a pseudo-terminal and print its path")
    a("--serial", metavar="DEVICE", help="serve HDLC on this serial port")
    a("--serial-baud", type=int, default=9600, metavar="N",
      help="HDLC baud rate of --serial; with --mode-e the highest rate offered (default: 9600)")
    a("--serial-format", default="8N1", metavar="FMT",
      help="character framing of the HDLC phase on --serial, e.g. 8N1 or 7E1 (default: 8N1)")
    a("--address-sizes", default="1,2,4", metavar="LIST",
      help="HDLC server address sizes answered, e.g. 1 for a 1-byte-addressing-only meter "
           "(default: 1,2,4)")
    a("--wrapper-only", action="store_true",
      help="on the wrapper port, discard an HDLC probe silently instead of closing the "
           "connection")
    a("--physical", type=int, default=SERVER_PHYSICAL_ADDRESS, metavar="N",
      help=f"HDLC physical (lower) server address (default: {SERVER_PHYSICAL_ADDRESS})")
    a("--capture-period", type=int, choices=(900, 1800), default=900,
      help="block load capture period in seconds (default: 900)")
    a("--password", default=DEFAULT_LLS_PASSWORD.decode(),
      help=f"LLS password of MR (default: {DEFAULT_LLS_PASSWORD.decode()})")
    a("--hls-key", default=DEFAULT_HLS_KEY.decode(),
      help=f"HLS mechanism 2 key of US, 16 ASCII characters (default: "
           f"{DEFAULT_HLS_KEY.decode()})")
    a("--ciphered-client", type=int, metavar="SAP",
      help="add a ciphered association (HLS-GMAC, suite 0 global ciphering) for this client "
           "SAP, e.g. 64; needs --ek and --ak")
    a("--ek", type=_hex(16), metavar="HEX", help="global encryption key (32 hex digits)")
    a("--ak", type=_hex(16), metavar="HEX", help="authentication key (32 hex digits)")
    a("--system-title", type=_hex(8), metavar="HEX",
      help="server system title, 16 hex digits (default: 'MRD' + serial number)")
    a("--mode-e", action="store_true",
      help="expect the IEC 62056-21 mode E opening (/?! CR LF → identification → ACK) before "
           "HDLC on the serial, pty and HDLC/TCP listeners")
    a("--mode-e-only", action="store_true",
      help="like --mode-e, but HDLC sent before the sign-on is ignored")
    a("--inactivity-timeout", type=float, default=DEFAULT_INACTIVITY_TIMEOUT, metavar="S",
      help="seconds without traffic after which an HDLC line drops its links and, with "
           "--mode-e, expects a new sign-on (default: %(default)g; 0 = never)")
    a("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT, metavar="S",
      help="seconds without traffic after which a TCP connection is closed "
           "(default: %(default)g; 0 = never)")
    a("--max-pdu", type=_pdu_size, default=DEFAULT_MAX_PDU, metavar="N",
      help="the meter's max receive PDU size in bytes, %d..65535: longer requests get "
           "pdu-too-long and answers come in datablocks of at most N (default: %%(default)d; "
           "the fault matrix uses 256)" % MIN_PDU)
    a("--max-clients", type=int, default=DEFAULT_MAX_CLIENTS, metavar="N",
      help="concurrent TCP connections served; more are closed at once (default: %(default)d)")
    a("--replay-guard", action="store_true",
      help="check the ciphered client's invocation counters across connections too (a "
           "client must continue its counter, as with a real meter)")
    a("--link-baud", type=int, metavar="N",
      help="pace output to N bit/s, 10 bits a byte (default: as fast as the medium)")
    a("--fault", type=_fault, action="append", default=[], metavar="KIND[=N]",
      help="inject a fault (repeatable); see below")
    a("--defect", type=_defect, action="append", default=[], metavar="NAME",
      help="make the meter defective on purpose (repeatable); --defect list describes them")
    a("--deviation-sign", type=int, choices=(-1, 1), default=-1,
      help="clock deviation sign: -1 Blue Book (IST = -330, default), +1 (IST = +330)")
    a("-v", "--verbose", action="store_true",
      help="log every frame in and out, decoded (passwords masked), on standard error")
    parser.set_defaults(func=run)
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``simulate`` subcommand to a ``parser.add_subparsers()`` object."""
    return _configure(subparsers.add_parser(
        "simulate", help="run the built-in IS 15959 meter simulator", description=DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter))


def build_parser() -> argparse.ArgumentParser:
    return _configure(argparse.ArgumentParser(
        prog="meterreader simulate", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter))


class _VerboseLog:
    """``-v``: the simulator's logger at DEBUG on standard error, undone by ``close()``."""

    def __init__(self, verbose: bool) -> None:
        self.logger = logging.getLogger("meterreader.simulator")
        self.handler: logging.Handler | None = None
        self.level = self.logger.level
        if verbose:
            self.handler = logging.StreamHandler(sys.stderr)
            self.handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            self.logger.addHandler(self.handler)
            self.logger.setLevel(logging.DEBUG)

    def close(self) -> None:
        if self.handler is not None:
            self.logger.removeHandler(self.handler)
            self.logger.setLevel(self.level)


def _wait_for_signal(stop: threading.Event) -> None:
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Start the simulator as ``args`` says, print one line per listener, serve until Ctrl+C,
    SIGTERM or ``stop`` is set, then shut down cleanly. ``--defect list`` only prints the
    defects."""
    if "list" in args.defect:
        print(describe_defects())
        return EXIT_OK
    if args.ciphered_client is not None and (args.ek is None or args.ak is None):
        print("meterreader simulate: --ciphered-client needs --ek and --ak", file=sys.stderr)
        return EXIT_USAGE
    if args.no_wrapper and args.hdlc_port is None and not args.pty and not args.serial:
        print("meterreader simulate: no listener left to start", file=sys.stderr)
        return EXIT_USAGE
    log = _VerboseLog(args.verbose)
    try:
        return _serve(args, log.logger, stop)
    finally:
        log.close()


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--address-sizes: a comma-separated list of 1, 2, 4, not {text!r}"
                         ) from None


def _serve(args: argparse.Namespace, logger: logging.Logger, stop: threading.Event | None
           ) -> int:
    from .facade import SimulatedMeter

    try:
        meter = SimulatedMeter(
            args.category, seed=args.seed, start=args.start, capture_period=args.capture_period,
            deviation_sign=args.deviation_sign, password=args.password, hls_key=args.hls_key,
            physical_address=args.physical, ciphered_client=args.ciphered_client,
            encryption_key=args.ek, authentication_key=args.ak, system_title=args.system_title,
            mode_e=args.mode_e, mode_e_only=args.mode_e_only, serial_baud=args.serial_baud,
            serial_format=args.serial_format, address_sizes=_sizes(args.address_sizes),
            wrapper_only=args.wrapper_only, link_baud=args.link_baud, faults=args.fault,
            logger=logger,
            inactivity_timeout=args.inactivity_timeout or None, defects=args.defect,
            idle_timeout=args.idle_timeout or None, max_clients=args.max_clients,
            replay_guard=args.replay_guard, max_pdu_size=args.max_pdu)
    except (ValueError, DlmsError) as exc:  # bad option values
        print(f"meterreader simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if not args.no_wrapper:
            meter.serve_tcp(args.wrapper_port, host=args.host)
        if args.hdlc_port is not None:
            meter.serve_tcp(args.hdlc_port, hdlc=True, host=args.host)
        if args.pty:
            meter.serve_pty()
        if args.serial:
            meter.serve_serial(args.serial)
    except Exception as exc:  # noqa: BLE001 - port in use, no such device …
        meter.stop()
        print(f"meterreader simulate: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for listener in meter.listeners:
        print(listener.description, flush=True)
    print(f"meter {meter.device.serial}, category {args.category}; Ctrl+C to stop",
          file=sys.stderr, flush=True)
    if meter.defects:
        print(f"defects: {', '.join(sorted(meter.defects))}", file=sys.stderr, flush=True)
    try:
        _wait_for_signal(stop or threading.Event())
    finally:
        meter.stop()
    print("simulator stopped", file=sys.stderr, flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
