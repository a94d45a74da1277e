"""The ``detect`` subcommand: find how to talk to an unknown meter on a serial port or TCP port.

One line per attempt goes to standard error as the search runs; the result (the settings to use,
also as ``meterreader`` options, and what the meter said about itself) to standard output.
Exit status 0 when a meter was found, 3 when not (with a diagnosis on standard error), 130 when
interrupted, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import IO, Any

from meterreader.cli_connect import (EXIT_CODES_TEXT, EXIT_CONNECTION, EXIT_INTERRUPTED, EXIT_OK,
                                     seconds_type, tcp_address)

__all__ = ["add_parser", "cli_options", "result_json", "run_detect"]


_seconds = seconds_type(600)


def cli_options(profile: Any) -> str:
    """The ``meterreader`` connection options for a found profile, e.g. ``--serial /dev/ttyUSB0
    --baud 9600 --logical 1 --physical 256 --address-size 4 --client 16``."""
    if profile.medium == "tcp":
        host = f"[{profile.host}]" if ":" in profile.host else profile.host
        parts = [f"--tcp {host}:{profile.port}"] + (["--hdlc"] if profile.framing == "hdlc"
                                                    else [])
    else:
        parts = [f"--serial {profile.serial_port}", f"--baud {profile.baudrate}"]
        parts += ["--mode-e"] if profile.mode_e else []
    parts.append(f"--logical {profile.server_logical}")
    if profile.medium == "serial" or profile.framing == "hdlc":
        if profile.address_size > 1:
            parts.append(f"--physical {profile.server_physical}")
        parts.append(f"--address-size {profile.address_size}")
    parts.append(f"--client {profile.client_sap}")
    return " ".join(parts)


def _diagnosis_json(diagnosis: Any) -> dict[str, Any] | None:
    if diagnosis is None:
        return None
    return {"code": diagnosis.code, "title": diagnosis.title,
            "explanation": diagnosis.explanation, "next_steps": list(diagnosis.next_steps),
            "evidence": diagnosis.evidence}


def result_json(result: Any) -> dict[str, Any]:
    """A JSON-able description of a :class:`FindResult` (no secrets: the finder uses none)."""
    found = result.found
    meter = None
    if found is not None:
        meter = {"profile": found.profile.to_json(), "options": cli_options(found.profile),
                 "connection": found.connection_text(),
                 "serial": found.serial, "manufacturer": found.manufacturer,
                 "firmware": found.firmware,
                 "logical_devices": [{"sap": sap, "name": name}
                                     for sap, name in found.logical_devices],
                 "object_count": found.object_count, "notes": list(found.notes)}
    return {"found": found is not None, "meter": meter,
            "diagnosis": _diagnosis_json(result.diagnosis),
            "attempts": [{"description": a.description, "answer": a.answer.value,
                          "elapsed": round(a.elapsed, 3), "tx": a.tx.hex(), "rx": a.rx.hex()}
                         for a in result.attempts],
            "elapsed": round(result.elapsed, 3), "cancelled": result.cancelled,
            "budget_exhausted": result.budget_exhausted}


def _print_result(result: Any, out: IO[str], err: IO[str]) -> None:
    found = result.found
    if found is not None:
        out.write("meter found:\n")
        for line in found.summary_lines():
            out.write(f"  {line}\n")
        out.write(f"  options: {cli_options(found.profile)}\n")
    if result.diagnosis is not None:
        stream = err if found is None else out
        stream.write(("no meter found: " if found is None else "") + result.diagnosis.lines()[0]
                     + "\n")
        for line in result.diagnosis.lines()[1:]:
            stream.write(f"  {line}\n")
    state = " (cancelled)" if result.cancelled else \
        " (time budget spent)" if result.budget_exhausted else ""
    err.write(f"{len(result.attempts)} attempts in {result.elapsed:.1f} s{state}\n")


def run_detect(args: argparse.Namespace, *, out: IO[str] | None = None,
               err: IO[str] | None = None) -> int:
    """Run the search the arguments describe on a worker thread (Ctrl-C cancels it)."""
    from meterreader.finder import find_serial, find_tcp
    from meterreader.transport import CancelToken

    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    token = CancelToken()

    def progress(attempt: Any) -> None:
        err.write(f"  {attempt.line()}\n")
        err.flush()

    options: dict[str, Any] = {"cancel": token, "progress": progress}
    if args.budget is not None:
        options["budget_s"] = args.budget
    if args.probe_timeout is not None:
        options["probe_timeout"] = args.probe_timeout
    if args.tcp is not None:
        host, port = args.tcp
        err.write(f"detecting a meter at TCP {host}:{port} (wrapper, then raw HDLC)\n")
        search = lambda: find_tcp(host, port, **options)  # noqa: E731
    else:
        err.write(f"detecting a meter on {args.serial} (HDLC 9600, mode E, 19200, 38400, "
                  "115200)\n")
        search = lambda: find_serial(args.serial, **options)  # noqa: E731
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = search()
        except BaseException as exc:  # noqa: BLE001 - reported on the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="detect", daemon=True)
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(0.1)
        except KeyboardInterrupt:
            interrupted = True
            token.cancel()
    if "error" in box:
        raise box["error"]
    result = box["result"]
    if args.json:
        json.dump(result_json(result), out, indent=2, ensure_ascii=False)
        out.write("\n")
        if result.diagnosis is not None and result.found is None:
            err.write(f"no meter found: {result.diagnosis.title}\n")
    else:
        _print_result(result, out, err)
    if interrupted or (result.cancelled and result.found is None):
        return EXIT_INTERRUPTED
    return EXIT_OK if result.found is not None else EXIT_CONNECTION


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "detect", help="find the settings of an unknown meter (baud, mode E, address, framing)",
        description="Probe a serial port (direct HDLC at 9600/19200/38400/115200 8N1 and the IEC "
                    "62056-21 mode E sign-on; the common server addresses from the public "
                    "client 16) or a TCP port (IEC 62056-47 wrapper or raw HDLC), then associate "
                    "as the public client and read the logical devices, serial number, "
                    "manufacturer, firmware and object count. Stops at the first working "
                    "combination; each attempt is shown on standard error.",
        epilog="example: meterreader detect --serial /dev/ttyUSB0\n\n" + EXIT_CODES_TEXT
               + "\n(detect: 3 = no meter found)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--serial", metavar="PORT", help="serial port or optical probe")
    where.add_argument("--tcp", type=tcp_address, metavar="HOST:PORT",
                       help="meter or serial-to-Ethernet converter on TCP (port 4059 if omitted)")
    p.add_argument("--budget", type=_seconds, metavar="S",
                   help="give up after S seconds (default 60 for serial, 30 for TCP)")
    p.add_argument("--probe-timeout", type=_seconds, metavar="S",
                   help="wait for each probe's answer (default 0.5 s serial, 1.5 s TCP)")
    p.add_argument("--json", action="store_true", help="JSON output (attempts with their bytes)")
    p.set_defaults(func=run_detect)
    return p
